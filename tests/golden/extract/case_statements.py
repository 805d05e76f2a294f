import os
from . import sibling as sib


def flow(items, path):
    total = 0
    count: int = 0
    for item in items:
        if item > 10:
            continue
        elif item < 0:
            break
        else:
            total += item
    else:
        count = 1
    while total > 100:
        total -= 1
    try:
        with open(path) as fh, open(os.devnull) as null:
            data = fh.read()
    except (OSError, ValueError) as err:
        raise RuntimeError("bad") from err
    except KeyError:
        pass
    else:
        del data
    finally:
        assert total >= 0, "negative"
    match items:
        case [first, *rest]:
            return first
        case {"k": v}:
            return v
        case _:
            pass
    if (n := len(items)) > 3:
        global GLOBAL
        GLOBAL = n
    a = b = c = sib.helper()
    return a, b, c
