"""``astrepo index``: build or update the graph of a project."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from astrepo.cli import end_program, is_program
from astrepo.cli.options import DB_OPTION, JSON_OPTION
from astrepo.cli.progress import stage_progress
from astrepo.cli.render import console, emit_json, print_table


def index(
    path: Path = typer.Argument(Path("."), help="Project root to index."),
    db: Path = DB_OPTION,
    include: list[str] = typer.Option([], "--include", help="Only index files matching this glob (repeatable)."),
    exclude: list[str] = typer.Option([], "--exclude", help="Leave out files or folders matching this glob (repeatable)."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Worker processes (default: one per core)."),
    max_bytes: int = typer.Option(2 * 1024 * 1024, "--max-bytes", help="Skip files larger than this."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Ignore the previous index and build from scratch."),
    no_embed: bool = typer.Option(False, "--no-embed", help="Do not compute embeddings."),
    model: Optional[str] = typer.Option(None, "--model", help="Sentence-transformers model name or folder "
                                                              "(default: the bundled all-MiniLM-L6-v2)."),
    as_json: bool = JSON_OPTION,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Index PATH into the graph database (incremental after the first run)."""
    from astrepo.graph.build import IndexConfig, build_index

    config = IndexConfig(root=path, db_dir=db, include=tuple(include), exclude=tuple(exclude),
                         max_bytes=max_bytes, jobs=jobs, rebuild=rebuild)
    embeddings: dict = {}
    # The run's working state is left unfreed when this process ends right after (end_program).
    garbage: list | None = [] if is_program() else None
    with stage_progress(not (as_json or quiet)) as progress:
        summary = build_index(config, progress, keep=garbage)
        if not no_embed:
            # Embed what changed (torch is imported only here, never by queries).
            from astrepo.embeddings.encode import EncoderConfig
            from astrepo.embeddings.search import refresh_embeddings
            from astrepo.layout import Layout

            started = time.perf_counter()
            embeddings = refresh_embeddings(Layout(db), EncoderConfig(model=model) if model else None, progress,
                                            root=Path(summary.root)) or {"encoded": 0, "note": "already current"}
            summary.stage_seconds["embed"] = time.perf_counter() - started
            summary.seconds += summary.stage_seconds["embed"]
    document = {
        "root": summary.root,
        "full": summary.full,
        "files": summary.files,
        "changed": summary.changed,
        "added": summary.added,
        "modified": summary.modified,
        "deleted": summary.deleted,
        "unchanged": summary.unchanged,
        "skipped": summary.skipped,
        "errors": summary.errors,
        "warnings": summary.warnings,
        "nodes": summary.nodes,
        "edges": summary.edges,
        "node_counts": summary.node_counts,
        "edge_counts": summary.edge_counts,
        "calls": summary.calls,
        "embeddings": embeddings,
        "runtime": summary.runtime,
        "seconds": round(summary.seconds, 3),
        "stage_seconds": {k: round(v, 3) for k, v in summary.stage_seconds.items()},
    }
    if as_json:
        emit_json(document)
        end_program()
        return
    rows = [
        ["files", summary.files], ["changed", f"{summary.changed} (+{summary.added} ~{summary.modified} -{summary.deleted})"],
        ["skipped", len(summary.skipped)], ["syntax errors", len(summary.errors)],
        ["nodes", f"{summary.nodes:,}"], ["edges", f"{summary.edges:,}"],
        ["calls resolved / external / unresolved",
         f"{summary.calls.get('resolved', 0):,} / {summary.calls.get('external', 0):,} / {summary.calls.get('unresolved', 0):,}"],
        ["embedded", "skipped (--no-embed)" if no_embed else
         f"{embeddings.get('encoded', 0):,} encoded / {embeddings.get('reused', 0):,} cached"],
        ["seconds", f"{summary.seconds:.2f}"],
    ]
    print_table(f"astrepo index {summary.root}", ["", "value"], rows)
    err = console(stderr=True)
    for row in summary.errors[:20]:
        err.print(f"[yellow]{row['path']}:{row['line']}: {row['message']}[/]")
    for row in summary.skipped[:20]:
        err.print(f"[dim]skipped {row['path']}: {row['message']}[/]")
    hidden = max(0, len(summary.errors) - 20) + max(0, len(summary.skipped) - 20)
    if hidden:
        err.print(f"[dim]... and {hidden} more (see --json)[/]")
    end_program()


def register(app: typer.Typer) -> None:
    app.command("index")(index)
