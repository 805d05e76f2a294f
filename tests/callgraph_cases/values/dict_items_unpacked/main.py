# dict.items() pairs unpacked in a for loop; the values are called.
def on_open():
    pass


def on_close():
    pass


def on_reset():
    pass


HANDLERS = {"open": on_open, "close": on_close}
for event, handler in HANDLERS.items():
    handler()

for event, handler in {"reset": on_reset}.items():
    handler()
