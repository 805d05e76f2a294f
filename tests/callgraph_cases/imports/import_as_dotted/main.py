import store.backends.memory as mem
import store.backends


def run():
    db = mem.open_db()
    store.backends.memory.close_db(db)


run()
