class Shape:
    def area(self):
        return 0

    def show(self):
        return self.area()


class Square(Shape):
    def __init__(self, side):
        self.side = side

    def area(self):
        return self.side * self.side


sq = Square(2)
sq.area()
sq.show()
