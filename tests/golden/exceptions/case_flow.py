"""Explicit, re-raised, caught and implicit exceptions; user classes deriving from builtins."""


class NotFound(KeyError):
    pass


class Fatal(BaseException):
    pass


def lookup(table, key):
    if key not in table:
        raise NotFound(key)
    return table[key]


def safe_lookup(table, key):
    try:
        return lookup(table, key)
    except LookupError:
        return None


def convert(text):
    try:
        value = int(text)
    except ValueError as err:
        raise TypeError(text) from err
    except (OverflowError, ZeroDivisionError):
        raise
    return 1 / value


def rethrow(obj):
    try:
        obj.run()
    except Exception as exc:
        log = exc
        raise exc
    finally:
        obj.close()


def fatal():
    try:
        raise Fatal()
    except Exception:
        pass


def caller(table):
    try:
        convert("1")
    except TypeError:
        pass
    return lookup(table, "k"), fatal(), next(iter(table))
