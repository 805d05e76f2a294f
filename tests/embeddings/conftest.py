"""Fixtures for the embeddings tests: a small project and a fake encoder."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import numpy as np
import pytest

from astrepo.embeddings.encode import EncoderConfig

PROJECT = {
    "shop/__init__.py": '"""A tiny shop."""\n',
    "shop/http.py": '''
        """HTTP helpers."""


        def parse_http_header(line):
            """Split one HTTP header line into a name and a value."""
            name, _, value = line.partition(":")
            return name.strip().lower(), value.strip()


        def format_http_header(name, value):
            """Render a header name and value as one line."""
            return f"{name.title()}: {value}"
        ''',
    "shop/cart.py": '''
        """The shopping cart."""


        class Cart:
            """Items a customer is about to buy."""

            def __init__(self):
                self.items = []

            def add_item(self, item, quantity=1):
                """Put an item in the cart."""
                self.items.append((item, quantity))

            def total_price(self):
                """Sum of the prices of all items."""
                total = 0
                for item, quantity in self.items:
                    total += item.price * quantity
                return total


        def compute_total(items):
            total = 0
            for item, quantity in items:
                total += item.price * quantity
            return total


        def compute_sum(entries):
            total = 0
            for entry, count in entries:
                total += entry.price * count
            return total
        ''',
    "shop/storage.py": '''
        """Reading and writing files."""
        import json


        def readConfig(path):
            """Load the JSON configuration file at path."""
            with open(path) as handle:
                return json.load(handle)
        ''',
}


def write_project(root: Path) -> Path:
    for rel, text in PROJECT.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "proj")


class FakeEncoder:
    """Deterministic vectors from text hashes; records what it was asked to encode."""

    def __init__(self, dim: int = 16) -> None:
        self.config = EncoderConfig(model="fake", max_tokens=64, quantize=False)
        self.dim = dim
        self.calls: list[list[str]] = []

    def encode(self, texts, progress=None):
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "little")
            out[i] = np.random.default_rng(seed).standard_normal(self.dim)
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        if progress:
            progress(len(texts), len(texts))
        return out

    @property
    def encoded(self) -> list[str]:
        return [t for call in self.calls for t in call]


@pytest.fixture
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()
