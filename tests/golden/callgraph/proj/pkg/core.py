import json
import os.path as osp
from collections import OrderedDict


def helper(x):
    return len(x)  # calls: <builtin>.len


class Base:
    def run(self):
        return self.step()  # calls: pkg.core.Engine.step

    def step(self):
        return helper([1])  # calls: pkg.core.helper

    @classmethod
    def make(cls):
        return cls()  # calls: pkg.core.Base


class Engine(Base):
    def __init__(self, name):
        self.name = name

    def step(self):
        data = json.dumps({})  # calls: json.dumps
        super().step()  # calls: pkg.core.Base.step <builtin>.super
        return osp.join(data, "x")  # calls: os.path.join

    def table(self):
        return OrderedDict()  # calls: collections.OrderedDict
