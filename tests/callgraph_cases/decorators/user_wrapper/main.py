def logged(func):
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper


@logged
def add(a, b):
    return a + b


add(1, 2)
