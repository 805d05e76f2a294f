class Base:
    def __init__(self, name):
        self.name = name

    def describe(self):
        return self.name


class Child(Base):
    def __init__(self, name):
        super().__init__(name)

    def describe(self):
        return "child " + super().describe()


Child("c").describe()
