# map(f, xs) yields what f returns: here closures, called by the loop.
def make_greeter(name):
    def greet():
        return name
    return greet


for greeter in map(make_greeter, ["ann", "bob"]):
    greeter()
