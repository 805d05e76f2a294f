"""Roles, complexity and side effects."""
import abc
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import requests
from celery import shared_task
from flask import Flask

app = Flask(__name__)
CACHE = {}
COUNT = 0


@app.route("/")
def index():
    return "hi"


@shared_task
def crunch(items):
    items.append(1)
    return sum(items)


def complex_one(xs, flag):
    total = 0
    for x in xs:
        if x > 0 and flag:
            total += x
        elif x < 0 or not flag:
            total -= x
        else:
            continue
    try:
        total = 1 / total
    except ZeroDivisionError:
        total = 0
    return [y for y in xs if y] if total else None


def pure_add(a, b):
    return a + b


def effects(path, url):
    global COUNT
    COUNT += 1
    CACHE[path] = open(path).read()
    subprocess.run(["ls"])
    print(requests.get(url))


async def fetch():
    yield 1


@contextmanager
def managed():
    yield


@dataclass
class Point:
    x: int = 0

    def move(self, dx):
        self.x += dx


class AppError(ValueError):
    pass


class Base(abc.ABC):
    @abc.abstractmethod
    def run(self):
        ...


class Readable(Protocol):
    def read(self) -> bytes:
        ...


class Session:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def main():
    complex_one([1], True)


if __name__ == "__main__":
    main()
