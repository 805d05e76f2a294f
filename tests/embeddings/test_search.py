"""The embedding stage and the search API on a real graph of a small project.

The incremental tests use a fake encoder (it records what it encodes) and the
real model; both index the project with the real pipeline and Kuzu.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from astrepo.embeddings.encode import Encoder, EncoderConfig
from astrepo.embeddings.search import SemanticIndex, source_terms, update_embeddings
from astrepo.embeddings.vector_index import FORMAT_VERSION, current_version, load_vector_index
from astrepo.graph.build import IndexConfig, build_index
from astrepo.graph.symbols import published_symbols
from astrepo.layout import Layout

pytestmark = pytest.mark.integration


def _index(root: Path, db: Path) -> Layout:
    build_index(IndexConfig(root=root, db_dir=db, jobs=1))
    return Layout(db)


def _embed(layout: Layout, root: Path, encoder) -> dict:
    published = published_symbols(layout, root)
    return update_embeddings(layout, root, published.symbols, generation=published.generation, encoder=encoder,
                             file_hashes=published.file_hashes)


def _encoded_names(texts: list[str]) -> set[str]:
    return {t.split("\n", 1)[0] for t in texts}


def test_reembedding_encodes_only_changed_symbols(project, tmp_path, fake_encoder):
    layout = _index(project, tmp_path / "db")
    first = _embed(layout, project, fake_encoder)
    assert first["encoded"] == first["symbols"] == len(fake_encoder.encoded)
    # Lines inserted above a function move it (no text change); one body changes.
    http = project / "shop/http.py"
    http.write_text(http.read_text().replace('"""HTTP helpers."""', '"""HTTP helpers."""\n\nCRLF = "\\r\\n"\n')
                    .replace("return name.strip().lower(), value.strip()", "return name.strip(), value"))
    fake_encoder.calls.clear()
    _index(project, layout.root)
    second = _embed(layout, project, fake_encoder)
    assert second["encoded"] == 1 and second["reused"] == second["symbols"] - 1
    assert _encoded_names(fake_encoder.encoded) == {"parse http header (http): parse_http_header(line)"}
    # Unchanged project: nothing is encoded and the encoder is not even needed.
    fake_encoder.calls.clear()
    third = update_embeddings(layout, project, published_symbols(layout, project).symbols, fake_encoder.config,
                              load_encoder=_never_load)
    assert third["encoded"] == 0 and fake_encoder.calls == []


def _never_load(config):
    raise AssertionError("nothing should be encoded")


def _edit(project: Path) -> None:
    """Edits of every kind: a body changed and lines inserted above functions (http), a method added
    (cart: the class's member list changes), a file added and one deleted."""
    http = project / "shop/http.py"
    http.write_text(http.read_text().replace('"""HTTP helpers."""', '"""HTTP helpers."""\n\nCRLF = "\\r\\n"\n')
                    .replace("value.strip()", "value.strip().casefold()"))
    cart = project / "shop/cart.py"
    cart.write_text(cart.read_text().replace("    def total_price(self):", "    def clear(self):\n"
                                             "        self.items.clear()\n\n    def total_price(self):"))
    (project / "shop/extra.py").write_text("def shipping_cost(weight):\n    return 5 + weight * 2\n")
    (project / "shop/storage.py").unlink()


def test_incremental_embeddings_equal_a_full_build(project, tmp_path, fake_encoder):
    layout = _index(project, tmp_path / "db")
    _embed(layout, project, fake_encoder)
    _edit(project)
    _index(project, layout.root)
    fake_encoder.calls.clear()
    summary = _embed(layout, project, fake_encoder)
    full = _index(project, tmp_path / "full")
    _embed(full, project, type(fake_encoder)())
    got, expected = load_vector_index(layout.embeddings_dir), load_vector_index(full.embeddings_dir)
    assert got.rows == expected.rows and np.array_equal(got.vectors, expected.vectors)
    assert _same_terms(got.terms, expected.terms) and got.meta.count == expected.meta.count
    # Only the symbols of the files changed had their texts made again (the modules of those files too).
    changed = {"shop/http.py", "shop/cart.py", "shop/extra.py"}
    assert summary["texts"] == sum(r.file in changed for r in got.rows) < len(got.rows)
    assert _encoded_names(fake_encoder.encoded) >= {"parse http header (http): parse_http_header(line)",
                                                    "clear (cart): clear(self)"}


def test_a_file_changed_after_indexing_is_read_as_it_is_now(project, tmp_path, fake_encoder):
    layout = _index(project, tmp_path / "db")
    _embed(layout, project, fake_encoder)
    http = project / "shop/http.py"
    http.write_text(http.read_text().replace("value.strip()", "value.strip().casefold()"))
    _index(project, layout.root)
    http.write_text(http.read_text().replace("casefold", "upper"))  # after the graph, before the embeddings
    _embed(layout, project, fake_encoder)
    index = load_vector_index(layout.embeddings_dir)
    parse = index.position(next(r.id for r in index.rows if r.name == "shop.http.parse_http_header"))
    assert "upper" in index.terms.counts(parse)
    # Keyed by the hash of what was read, the texts of that file are made again when the graph
    # indexes another content, and not when it catches up with the one read.
    _index(project, layout.root)
    assert _embed(layout, project, fake_encoder)["texts"] == 0
    http.write_text(http.read_text().replace("upper", "casefold"))
    _index(project, layout.root)
    assert _embed(layout, project, fake_encoder)["texts"] == sum(r.file == "shop/http.py" for r in index.rows)


def test_deleted_symbols_leave_the_index(project, tmp_path, fake_encoder):
    layout = _index(project, tmp_path / "db")
    _embed(layout, project, fake_encoder)
    (project / "shop/storage.py").unlink()
    _index(project, layout.root)
    summary = _embed(layout, project, fake_encoder)
    assert summary["removed"] == 2 and summary["encoded"] == 0
    names = {r.name for r in load_vector_index(layout.embeddings_dir).rows}
    assert "shop.storage.readConfig" not in names and "shop.http.parse_http_header" in names


def test_model_change_reembeds_everything(project, tmp_path, fake_encoder):
    layout = _index(project, tmp_path / "db")
    _embed(layout, project, fake_encoder)
    other = type(fake_encoder)(dim=8)
    other.config = EncoderConfig(model="other", max_tokens=64, quantize=False)
    summary = _embed(layout, project, other)
    assert summary["encoded"] == summary["symbols"]
    assert load_vector_index(layout.embeddings_dir).meta.dim == 8


def _same_terms(a, b) -> bool:
    return a.terms == b.terms and all(np.array_equal(getattr(a, f), getattr(b, f))
                                      for f in ("at", "docs", "freqs", "lengths"))


def test_term_counts_stored_with_the_vectors_follow_the_source(project, tmp_path, fake_encoder):
    layout = _index(project, tmp_path / "db")
    _embed(layout, project, fake_encoder)
    before = load_vector_index(layout.embeddings_dir)
    http = project / "shop/http.py"
    http.write_text(http.read_text().replace("value.strip()", "value.strip().casefold()"))
    _index(project, layout.root)
    _embed(layout, project, fake_encoder)
    index = load_vector_index(layout.embeddings_dir)
    assert _same_terms(index.terms, source_terms(index)) and not _same_terms(index.terms, before.terms)
    parse = next(r.id for r in index.rows if r.name == "shop.http.parse_http_header")
    old, new = before.terms.counts(before.position(parse)), index.terms.counts(index.position(parse))
    assert new - old == {"casefold": 1} and not old - new


def _as_format(layout: Layout, number: int) -> None:
    """Turn the published embeddings into the layout of format 1 (vectors, no term counts) or 2 (one
    vectors.npy, term counts, rows without inputs digests)."""
    path = current_version(layout.embeddings_dir)
    meta = json.loads((path / "meta.json").read_text())
    vectors = load_vector_index(layout.embeddings_dir).vectors
    (path / "meta.json").write_text(json.dumps({**meta, "format": number}))
    for name in json.loads((path / "vectors.json").read_text())["segments"]:
        (path / name).unlink()
    (path / "vectors.json").unlink()
    (path / "at.npy").unlink()
    np.save(path / "vectors.npy", vectors)
    rows = json.loads((path / "rows.json").read_text())
    del rows["inputs"]
    (path / "rows.json").write_text(json.dumps(rows))
    if number == 1:
        (path / "terms.json").unlink()
        (path / "terms.npz").unlink()


@pytest.mark.parametrize("number", [1, 2])
def test_older_formats_are_migrated_without_encoding(project, tmp_path, fake_encoder, number):
    layout = _index(project, tmp_path / "db")
    _embed(layout, project, fake_encoder)
    current = load_vector_index(layout.embeddings_dir)
    _as_format(layout, number)
    old = load_vector_index(layout.embeddings_dir)
    assert old.meta.format == number and np.array_equal(old.vectors, current.vectors)
    assert (old.terms is None) == (number == 1) and all(r.inputs == "" for r in old.rows)
    # Searched without a refresh, the term counts come from the source files.
    unrefreshed = SemanticIndex.open(layout, refresh=False, encoder=fake_encoder)
    assert _same_terms(unrefreshed.vectors.terms, current.terms)
    # A refresh publishes the current format, reusing every vector.
    fake_encoder.calls.clear()
    index = SemanticIndex.open(layout, encoder=fake_encoder)
    assert fake_encoder.calls == [] and index.vectors.meta.format == FORMAT_VERSION
    assert _same_terms(index.vectors.terms, current.terms) and np.array_equal(index.vectors.vectors, current.vectors)
    assert load_vector_index(layout.embeddings_dir).rows == current.rows


# -- the real model -------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_encoder():
    return Encoder.load(EncoderConfig())


class CountingEncoder:
    def __init__(self, inner: Encoder) -> None:
        self.inner, self.config, self.dim, self.texts = inner, inner.config, inner.dim, []

    def encode(self, texts, progress=None):
        self.texts.extend(texts)
        return self.inner.encode(texts, progress)


@pytest.mark.slow
def test_real_model_incremental_search_similar_and_clones(project, tmp_path, real_encoder):
    layout = _index(project, tmp_path / "db")
    counting = CountingEncoder(real_encoder)
    _embed(layout, project, counting)
    index = SemanticIndex.open(layout, refresh=False, encoder=real_encoder)
    assert index.search("split a header line into name and value", k=3)[0].name == "shop.http.parse_http_header"
    assert index.search("load settings from a json file", k=1, kind="function")[0].name == "shop.storage.readConfig"
    assert all(h.kind == "class" for h in index.search("shopping basket", k=3, kind="class"))
    assert all(h.file.startswith("shop/cart") for h in index.search("header", k=3, prefix="shop.cart"))
    target, near = index.similar("compute_total", k=3)
    assert target.name == "shop.cart.compute_total" and target.id not in {h.id for h in near}
    assert {"shop.cart.compute_sum", "shop.cart.Cart.total_price"} & {h.name for h in near[:2]}
    groups = index.clones(threshold=0.8)
    assert any({h.name for h in g} >= {"shop.cart.compute_total", "shop.cart.Cart.total_price"} for g in groups)
    assert not any("shop.http.parse_http_header" in {h.name for h in g} for g in groups)
    # Change one function: only it is encoded again, as it is alone; every other vector is kept as it was.
    before = load_vector_index(layout.embeddings_dir)
    cart = project / "shop/cart.py"
    cart.write_text(cart.read_text().replace("total += entry.price * count", "total += entry.cost * count"))
    counting.texts.clear()
    _index(project, layout.root)
    summary = _embed(layout, project, counting)
    assert summary["encoded"] == 1 and _encoded_names(counting.texts) == {"compute sum (cart): compute_sum(entries)"}
    after = load_vector_index(layout.embeddings_dir)
    changed = after.position(next(r.id for r in after.rows if r.name == "shop.cart.compute_sum"))
    assert np.array_equal(after.vectors[changed], real_encoder.encode(counting.texts)[0])
    same = [i for i in range(len(after.rows)) if i != changed]
    assert np.array_equal(after.vectors[same], before.vectors[[before.position(after.rows[i].id) for i in same]])


@pytest.mark.slow
def test_cli_search_similar_clones_json(project, tmp_path, capsys):
    from astrepo.cli.app import main

    db = tmp_path / "db"
    build_index(IndexConfig(root=project, db_dir=db, jobs=1))
    assert main(["search", "split a header line into name and value", "--db", str(db), "-k", "2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["format"] == 1 and doc["results"][0]["name"] == "shop.http.parse_http_header"
    assert set(doc["results"][0]) == {"id", "name", "kind", "file", "line", "score"}
    assert main(["similar", "shop.cart.compute_total", "--db", str(db), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["symbol"]["name"] == "shop.cart.compute_total"
    assert main(["clones", "--db", str(db), "--threshold", "0.8", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["groups_total"] >= 1
    assert main(["similar", "no_such_thing", "--db", str(db)]) == 1
    assert "no symbol named" in capsys.readouterr().err
