import json
import os.path
from collections import OrderedDict as OD
from os import path as p


def save(data, folder):
    name = os.path.join(folder, "x.json")
    p.exists(name)
    return json.dumps(OD(data))


save({}, "/tmp")
