"""Every kind of definition the reaching-definitions analysis knows."""
import json
from os import path as osp

CONFIG = {}


def kinds(items, name="x", *rest, **opts):
    import re
    total = 0
    for i, item in enumerate(items):
        total += item
    with open(name) as fh, osp.dirname(name) as (d, e):
        text = fh.read()
    try:
        value = json.loads(text)
    except ValueError as err:
        value = str(err)
    if (n := len(value)) > 3:
        total = n
    squares = [i * i for i in range(total)]
    match value:
        case {"k": found}:
            total = found
        case [first, *others]:
            total = first + len(others)
    def helper(a):
        return a + total
    return helper(total), squares, re, rest, opts, d, e


def loop_carried(n):
    acc = 0
    while n:
        acc = acc + n
        n -= 1
    else:
        acc = -acc
    return acc


def shadowing(flag):
    global CONFIG
    CONFIG = {"flag": flag}
    x = 1
    if flag:
        x = 2
    del x
    return CONFIG


class Shape:
    def area(self, scale=2):
        side = self.side * scale
        return side * side

    @staticmethod
    def unit():
        return Shape()


def caller():
    s = Shape()
    s.area(3)
    s.area(scale=4)
    return kinds([1], "n", 5, 6, verbose=True)
