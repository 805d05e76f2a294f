# A metaclass (as dateutil's _TzSingleton): the class statement runs its __init__, calling the
# class runs its __call__, which builds the instance through type.__call__.
class Singleton(type):
    def __init__(cls, name, bases, namespace):
        super().__init__(name, bases, namespace)
        cls._instance = None

    def __call__(cls):
        if cls._instance is None:
            cls._instance = super().__call__()
        return cls._instance


class Clock(metaclass=Singleton):
    def __init__(self):
        self.ticks = 0


Clock()
