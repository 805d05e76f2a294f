class Greeter:
    def greet(self):
        return "hi"


def call_later(cb):
    return cb()


g = Greeter()
m = g.greet
m()
call_later(g.greet)
