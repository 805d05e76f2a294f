def real():
    return 1


alias = real
again = alias


def use():
    fn = again
    return fn()


use()
