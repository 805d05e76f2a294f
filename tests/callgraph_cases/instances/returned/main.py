class Conn:
    def query(self, q):
        return q

    def cursor(self):
        return Cursor()


class Cursor:
    def fetch(self):
        return []


def connect():
    return Conn()


conn = connect()
conn.query("x")
conn.cursor().fetch()
connect().query("y")
