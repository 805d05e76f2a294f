from tools import compute as calc
import tools as t


def go():
    calc(1)
    t.compute(2)
    t.other()


go()
