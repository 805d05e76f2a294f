"""Read the embeddable symbols (modules, classes, functions) out of a graph."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from astrepo.errors import StoreError
from astrepo.layout import Layout
from astrepo.embeddings.text import Symbol, SymbolKind
from astrepo.graph.db import GraphDB
from astrepo.graph.store import GraphStore


@dataclass(frozen=True, slots=True)
class PublishedSymbols:
    """The symbols of the published graph and where they come from."""

    generation: str  #: folder name of the graph generation
    root: Path  #: project root the graph was built from
    symbols: list[Symbol]
    file_hashes: dict[str, str]  #: repo-relative path -> content hash of the file as indexed


def read_symbols(db: GraphDB) -> list[Symbol]:
    """Every module, class and non-lambda function of ``db``, sorted by ID."""
    placed: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    _, funcs = db.execute(
        "MATCH (f:Function) WHERE f.kind <> 'lambda' RETURN f.id, f.name, f.file, f.start_line, f.end_line, "
        "f.short_name, f.signature, f.docstring, f.kind, f.scope")
    _, classes = db.execute(
        "MATCH (c:Class) RETURN c.id, c.name, c.file, c.start_line, c.end_line, c.short_name, c.docstring, "
        "c.bases, c.scope")
    _, modules = db.execute(
        "MATCH (m:Module) RETURN m.id, m.name, m.file, m.start_line, m.end_line, m.short_name, m.docstring")
    # Members in source order (functions, then classes), not in the order of the rows in the
    # database, which differs between an incremental and a full index of the same code.
    for row in funcs:
        placed[row[9]].append((0, row[3] or 0, row[5]))
    for row in classes:
        placed[row[8]].append((1, row[3] or 0, row[5]))
    members = {scope: [short for _, _, short in sorted(found)] for scope, found in placed.items()}
    out: list[Symbol] = []
    for fid, name, file, start, end, short, sig, doc, kind, _scope in funcs:
        out.append(Symbol(fid, SymbolKind.FUNCTION, name, file, start or 0, end or 0, short or "", sig or "",
                          doc or "", kind or ""))
    for cid, name, file, start, end, short, doc, bases, _scope in classes:
        out.append(Symbol(cid, SymbolKind.CLASS, name, file, start or 0, end or 0, short or "", "", doc or "",
                          ", ".join(bases or ()), tuple(members.get(cid, ()))))
    for mid, name, file, start, end, short, doc in modules:
        out.append(Symbol(mid, SymbolKind.MODULE, name, file, start or 0, end or 0, short or "", "", doc or "",
                          "", tuple(members.get(mid, ()))))
    out.sort(key=lambda s: s.id)
    return out


def published_symbols(layout: Layout, root: Path | None = None) -> PublishedSymbols:
    """The symbols of the published graph, with its generation name and project root.

    The root comes from the index state beside the graph unless given.

    Raises:
        IndexNotFound: nothing was indexed at ``layout``.
        StoreError: the root is not given and the index state cannot be read.
    """
    store = GraphStore(layout)
    db = store.open_read()
    try:
        path = store.current_path()
        symbols = read_symbols(db)
        _, files = db.execute("MATCH (f:File) RETURN f.file, f.hash")
    finally:
        db.close()
    if root is None:
        root = _state_root(store, path)
    return PublishedSymbols(path.name if path else "", root, symbols, {file: digest for file, digest in files if digest})


def _state_root(store: GraphStore, path: Path | None) -> Path:
    try:
        state = store.read_state(path)
    except Exception as err:  # noqa: BLE001 - a state pickled by another astrepo version fails in many ways
        raise StoreError(f"cannot read the index state beside {path} ({err.__class__.__name__}): "
                         "run `astrepo index` again") from err
    root = getattr(state[0] if isinstance(state, tuple) else state, "root", "")
    if not root:
        raise StoreError(f"the index at {store.layout.root} does not record its project root: run `astrepo index` again")
    return Path(root)


def current_generation(layout: Layout) -> str:
    """Folder name of the published graph generation ('' if none); does not open the database."""
    path = GraphStore(layout).current_path()
    return path.name if path else ""
