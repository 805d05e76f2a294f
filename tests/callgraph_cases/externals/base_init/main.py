import argparse
import json


class ListDecoder(json.JSONDecoder):
    def decode_all(self, texts):
        return [self.decode(t) for t in texts]


class Options(argparse.Namespace):
    def __init__(self, **values):
        super().__init__(**values)


class VerboseOptions(Options):
    def describe(self):
        return vars(self)


def main():
    ListDecoder().decode_all(["1", "[2]"])
    VerboseOptions(level=2).describe()


main()
