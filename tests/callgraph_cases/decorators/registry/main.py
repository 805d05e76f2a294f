HANDLERS = {}


def register(func):
    HANDLERS[func.__name__] = func
    return func


@register
def on_start():
    return "started"


on_start()
