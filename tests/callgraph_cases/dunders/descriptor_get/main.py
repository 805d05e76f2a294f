# A descriptor: reading Holder().config calls Lazy.__get__, which calls a method only the
# subclass defines (self is a Config there).
class Lazy:
    def __init__(self, name):
        self.name = name

    def __get__(self, obj, owner):
        return self.load()


class Config(Lazy):
    def load(self):
        return {}


class Holder:
    pass


Holder.config = Config("config")
Holder().config
