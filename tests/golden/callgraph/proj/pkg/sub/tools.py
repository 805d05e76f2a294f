from ..core import helper as h
from .. import core


def use(engine: "core.Engine"):
    h("abc")  # calls: pkg.core.helper
    core.helper("x")  # calls: pkg.core.helper
    engine.run()  # calls: pkg.core.Base.run
    return sorted([3, 1])  # calls: <builtin>.sorted
