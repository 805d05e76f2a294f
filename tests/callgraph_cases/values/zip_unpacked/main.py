# Functions travel through zip() and a tuple target of a for loop.
def start():
    pass


def stop():
    pass


for label, action in zip(["start", "stop"], [start, stop]):
    action()
