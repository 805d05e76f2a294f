# A property's getter runs wherever the attribute is read: assigned, returned, passed, operated on.
class Box:
    def __init__(self, width):
        self._width = width

    @property
    def width(self):
        return self._width

    @property
    def area(self):
        return self.width * self.width

    def describe(self):
        return str(self.area)


box = Box(2)
size = box.width
print(box.area + 1)
box.describe()
