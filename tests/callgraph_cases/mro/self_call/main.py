class Counter:
    def __init__(self):
        self.reset()

    def reset(self):
        self.n = 0

    def bump(self):
        self.reset()
        return self.n


Counter().bump()
