from model import Account

acct = Account(10)
acct.deposit(5)
other = acct
other.balance()
