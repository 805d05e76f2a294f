class Row:
    def render(self):
        return ""


def rows(n):
    for i in range(n):
        yield Row()


def show():
    for r in rows(2):
        r.render()


show()
