from repo import Repo


def count(r: Repo) -> int:
    return r.size()


def count_quoted(r: "Repo"):
    return r.size()


def later():
    item: Repo
    item = make()
    return item.size()


def make():
    return Repo()


count(Repo())
count_quoted(Repo())
later()
