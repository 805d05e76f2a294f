class Parser:
    def __init__(self):
        self.buf = []

    def feed(self, data):
        self.buf.append(data)
