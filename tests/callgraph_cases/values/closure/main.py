def make_adder(n):
    def add(x):
        return helper(x) + n
    return add


def helper(x):
    return x


adder = make_adder(1)
adder(2)
make_adder(3)(4)
