class A:
    def hello(self):
        return "A"

    def who(self):
        return "A"


class B(A):
    def who(self):
        return "B" + super().who()


class C(A):
    def hello(self):
        return "C"

    def who(self):
        return "C" + super().who()


class D(B, C):
    pass


d = D()
d.hello()
d.who()
