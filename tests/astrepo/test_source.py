"""Reading source files: encodings, binaries, size cap."""

from astrepo.source import SourceText, Unreadable, decode_source


def test_utf8_passes_through_unchanged() -> None:
    raw = "x = 'é'\n".encode()
    result = decode_source(raw)
    assert isinstance(result, SourceText) and result.utf8 == raw


def test_pep263_latin1_is_reencoded_as_utf8() -> None:
    raw = "# -*- coding: latin-1 -*-\nname = 'café'\n".encode("latin-1")
    result = decode_source(raw)
    assert isinstance(result, SourceText)
    assert result.encoding == "iso-8859-1"
    assert "café".encode() in result.utf8


def test_bom_is_dropped() -> None:
    result = decode_source(b"\xef\xbb\xbfx = 1\n")
    assert isinstance(result, SourceText) and result.utf8 == b"x = 1\n"


def test_nul_bytes_mean_binary() -> None:
    result = decode_source(b"x = 1\x00\x01\x02")
    assert isinstance(result, Unreadable) and "binary" in result.reason


def test_size_cap() -> None:
    result = decode_source(b"x = 1\n" * 100, max_bytes=50)
    assert isinstance(result, Unreadable) and "size cap" in result.reason


def test_undecodable_and_bad_cookie() -> None:
    assert "decoded" in decode_source(b"x = '\xff\xfe'\n").reason  # type: ignore[union-attr]
    assert "encoding" in decode_source(b"# coding: nope-42\nx = 1\n").reason  # type: ignore[union-attr]
