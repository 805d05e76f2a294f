class Temp:
    def __init__(self, c):
        self._c = c

    @property
    def fahrenheit(self):
        return self.convert(self._c)

    @staticmethod
    def convert(c):
        return c * 9 / 5 + 32

    @classmethod
    def freezing(cls):
        return cls(0)


t = Temp.freezing()
t.fahrenheit
Temp.convert(1)
