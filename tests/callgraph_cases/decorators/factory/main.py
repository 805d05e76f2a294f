def repeat(times):
    def deco(func):
        def run(*args):
            for _ in range(times):
                func(*args)
        return run
    return deco


@repeat(2)
def hello(name):
    return name


hello("x")
