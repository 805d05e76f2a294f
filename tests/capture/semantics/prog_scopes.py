import functools


def deco(fn):
    @functools.wraps(fn)
    def wrapper(*a, **k):
        return fn(*a, **k)
    return wrapper


class Meta(type):
    def __new__(mcs, name, bases, ns):
        ns["made_by"] = "Meta"
        return super().__new__(mcs, name, bases, ns)


class Plugin(metaclass=Meta):
    registry = []
    values = [i * 2 for i in range(3)]

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        Plugin.registry.append(cls.__name__)

    @deco
    def run(self, x=len("abc")):
        match x:
            case 0:
                return "zero"
            case int(n) if n > 2:
                return f"big {n}"
            case _:
                return "other"


class A(Plugin):
    pass


class B(A):
    total = sum(v for v in Plugin.values)


if (n := len(Plugin.registry)) > 1:
    print("registered", n, Plugin.registry, B.total, B.made_by)
print(A().run(), A().run(0), A().run(1), A.run.__name__, A.run.__wrapped__.__qualname__)
x, *rest = [1, 2, 3]
password = "hunter2"
a = b = {"k": [x, rest]}
a["k"].append(4)
print(a, b is a, password)
lam = lambda q, r=2: q * r
print(lam(3), (lambda: lam(1))())
for i in range(3):
    if i == 1:
        continue
    print("i", i)
else:
    print("loop done")
while True:
    break
global_counter = 0


def bump():
    global global_counter
    global_counter += 1
    return global_counter


print(bump(), bump(), vars().get("global_counter"))
