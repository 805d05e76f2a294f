class QuotaError(Exception):
    def describe(self):
        return "quota: " + str(self.args[0])


class AuthError(Exception):
    def describe(self):
        return "auth"


def charge(amount):
    if amount > 10:
        raise QuotaError(amount)
    raise AuthError()


def attempt(amount):
    try:
        charge(amount)
    except (QuotaError, AuthError) as problem:
        return problem.describe()


attempt(50)
attempt(1)
