"""Symbol texts: identifier splitting, body extraction, the token budget."""

from __future__ import annotations

import textwrap

import pytest

from astrepo.embeddings.text import (CHARS_PER_TOKEN, SourceLines, Symbol, SymbolKind, body_start, first_paragraph,
                                     split_identifier, symbol_text, symbol_texts, text_hash)


@pytest.mark.parametrize("name, words", [
    ("parse_http_header", ["parse", "http", "header"]),
    ("readConfig", ["read", "config"]),
    ("HTTPResponse", ["http", "response"]),
    ("__init__", ["init"]),
    ("get2ndItem", ["get", "2", "nd", "item"]),
    ("URLPattern404", ["url", "pattern", "404"]),
])
def test_split_identifier(name, words):
    assert split_identifier(name) == words


def _function(source: str, **kw) -> tuple[Symbol, list[str]]:
    lines = textwrap.dedent(source).strip("\n").splitlines()
    sym = Symbol("f1", SymbolKind.FUNCTION, kw.pop("name", "pkg.mod.Reader.read_config"), "pkg/mod.py", 1,
                 len(lines), kw.pop("short", "read_config"), kw.pop("signature", "(self, path)"), **kw)
    return sym, lines


def test_body_start_skips_decorators_header_and_docstring():
    sym, lines = _function('''
        @cached
        def read_config(
            self, path,
        ):
            """Load it.

            More.
            """
            # a comment
            with open(path) as handle:
                return json.load(handle)
        ''')
    assert body_start(lines, sym) == "with open(path) as handle: return json.load(handle)"


def test_body_start_of_one_line_docstring_function():
    sym, lines = _function('''
        def read_config(self, path):
            """Load it."""
            return load(path)
        ''')
    assert body_start(lines, sym) == "return load(path)"


def test_symbol_text_has_words_signature_docstring_and_body():
    sym, lines = _function('''
        def read_config(self, path):
            return json.load(open(path))
        ''', docstring="Load the JSON configuration.\n\nDetails nobody reads.")
    text = symbol_text(sym, lines, 64)
    first, doc, words, body = text.split("\n")
    assert first == "read config (reader): read_config(self, path)"
    assert doc == "Load the JSON configuration."
    assert words == "json load open path"
    assert body == "return json.load(open(path))"


def test_symbol_text_is_cut_to_the_token_budget():
    sym, lines = _function("def read_config(self, path):\n" + "    x = 1\n" * 500)
    assert len(symbol_text(sym, lines, 32)) <= 32 * CHARS_PER_TOKEN


def test_class_text_lists_members():
    sym = Symbol("c1", SymbolKind.CLASS, "shop.cart.Cart", "shop/cart.py", 1, 1, "Cart", detail="Base",
                 members=("add_item", "total_price"))
    assert symbol_text(sym, None, 64).splitlines() == ["class cart: Cart(Base)", "members: add item, total price"]


def test_first_paragraph():
    assert first_paragraph("  One\n  line.\n\n  Two.") == "One line."


def test_text_hash_depends_on_model_and_text():
    assert text_hash("a", "m1") == text_hash("a", "m1")
    assert text_hash("a", "m1") != text_hash("a", "m2")
    assert text_hash("a", "m1") != text_hash("b", "m1")


def test_source_lines_reads_each_file_once(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_bytes(b"def read_config(self, path):\n    return open(path)\n\xff\n")
    files = SourceLines(tmp_path)
    sym, lines = _function("""
        def read_config(self, path):
            return open(path)
        """)
    assert files("pkg/mod.py") == lines + ["\ufffd"]  # undecodable bytes replaced
    (tmp_path / "pkg" / "mod.py").write_text("changed\n")
    assert files("pkg/mod.py") == lines + ["\ufffd"]  # read once
    assert files("pkg/missing.py") is None and files("") is None
    assert symbol_texts([sym], files, 32) == [symbol_text(sym, lines + ["\ufffd"], 32)]
