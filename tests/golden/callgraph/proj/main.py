import pkg
import pkg.sub.tools as t
from pkg import Engine, tooling


def go():
    e = Engine("n")  # calls: pkg.core.Engine
    e.run()  # calls: pkg.core.Base.run
    e.step()  # calls: pkg.core.Engine.step
    t.use(e)  # calls: pkg.sub.tools.use
    tooling.use(e)  # calls: pkg.sub.tools.use
    pkg.core.helper([])  # calls: pkg.core.helper
    unknown_thing()
    return e


if __name__ == "__main__":
    go()  # calls: main.go
