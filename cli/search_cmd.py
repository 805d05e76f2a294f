"""``astrepo search``, ``astrepo similar``, ``astrepo clones``: semantic search over embeddings."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from astrepo.cli.options import DB_OPTION, JSON_OPTION, layout_for
from astrepo.cli.progress import stage_progress
from astrepo.cli.render import emit_json, print_table

MODEL_OPTION = typer.Option(None, "--model", help="Sentence-transformers model name or folder "
                            "(default: the one the embeddings were made with, else all-MiniLM-L6-v2).")
QUIET_OPTION = typer.Option(False, "--quiet", "-q", help="No progress bars.")


def _open(db: Path, model: Optional[str], show_progress: bool):
    from astrepo.embeddings.encode import EncoderConfig
    from astrepo.embeddings.search import SemanticIndex

    config = EncoderConfig(model=model) if model else None
    with stage_progress(show_progress) as progress:
        return SemanticIndex.open(layout_for(db), refresh=True, config=config, progress=progress)


def _rows(hits) -> list[list[object]]:
    return [[f"{h.score:.3f}", h.kind, h.name, f"{h.file}:{h.line}"] for h in hits]


def search(
    text: str = typer.Argument(..., help="What the code does, in words."),
    k: int = typer.Option(10, "-k", "--top", help="Number of results."),
    kind: Optional[str] = typer.Option(None, "--kind", help="Only function, class or module."),
    prefix: Optional[str] = typer.Option(None, "--in", help="Only names or paths starting with this prefix."),
    lexical_weight: Optional[float] = typer.Option(None, "--lexical-weight",
                                                   help="Weight of BM25 over names and identifiers in the ranking "
                                                        "(default 0.3; 0: vectors only)."),
    model: Optional[str] = MODEL_OPTION,
    db: Path = DB_OPTION,
    as_json: bool = JSON_OPTION,
    quiet: bool = QUIET_OPTION,
) -> None:
    """Find functions and classes by what they do (embeds what is missing first)."""
    from astrepo.embeddings.search import LEXICAL_WEIGHT

    index = _open(db, model, not (as_json or quiet))
    weight = LEXICAL_WEIGHT if lexical_weight is None else lexical_weight
    hits = index.search(text, k=k, kind=kind, prefix=prefix, lexical_weight=weight)
    if as_json:
        emit_json({"query": text, "results": [h.as_dict() for h in hits]})
        return
    print_table(f"search: {text}", ["score", "kind", "name", "where"], _rows(hits))


def similar(
    name: str = typer.Argument(..., help="Qualified name, unique name suffix or node ID."),
    k: int = typer.Option(10, "-k", "--top", help="Number of results."),
    kind: Optional[str] = typer.Option(None, "--kind", help="Only function, class or module."),
    prefix: Optional[str] = typer.Option(None, "--in", help="Only names or paths starting with this prefix."),
    db: Path = DB_OPTION,
    as_json: bool = JSON_OPTION,
    quiet: bool = QUIET_OPTION,
) -> None:
    """Symbols whose embedding is nearest to NAME's."""
    index = _open(db, None, not (as_json or quiet))
    target, hits = index.similar(name, k=k, kind=kind, prefix=prefix)
    if as_json:
        emit_json({"symbol": {k_: v for k_, v in target.as_dict().items() if k_ != "score"},
                   "results": [h.as_dict() for h in hits]})
        return
    print_table(f"similar to {target.name} ({target.file}:{target.line})", ["score", "kind", "name", "where"],
                _rows(hits))


def clones(
    threshold: float = typer.Option(0.95, "--threshold", "-t", help="Cosine similarity from which two functions are clones."),
    min_lines: int = typer.Option(4, "--min-lines", help="Leave out functions shorter than this."),
    prefix: Optional[str] = typer.Option(None, "--in", help="Only names or paths starting with this prefix."),
    limit: int = typer.Option(0, "--limit", help="At most this many groups (0: all)."),
    db: Path = DB_OPTION,
    as_json: bool = JSON_OPTION,
    quiet: bool = QUIET_OPTION,
) -> None:
    """Groups of near-duplicate functions."""
    index = _open(db, None, not (as_json or quiet))
    groups = index.clones(threshold=threshold, min_lines=min_lines, prefix=prefix)
    total = len(groups)
    if limit:
        groups = groups[:limit]
    if as_json:
        emit_json({"threshold": threshold, "groups_total": total,
                   "groups": [[h.as_dict() for h in g] for g in groups]})
        return
    rows = [[str(n), f"{h.score:.3f}", h.name, f"{h.file}:{h.line}"]
            for n, g in enumerate(groups, 1) for h in g]
    print_table(f"{total} clone groups (cosine >= {threshold})", ["group", "score", "name", "where"], rows)


def register(app: typer.Typer) -> None:
    app.command("search")(search)
    app.command("similar")(similar)
    app.command("clones")(clones)
