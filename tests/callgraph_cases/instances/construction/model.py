class Account:
    def __init__(self, amount):
        self.amount = amount

    def deposit(self, n):
        self.amount += n

    def balance(self):
        return self.amount
