"""Progress bars on stderr for long work, off for --json, --quiet or a non-TTY stderr."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Callable, Iterator

STAGE_LABELS = {
    "discover": "Discovering files",
    "parse": "Parsing",
    "resolve": "Resolving names",
    "load": "Loading the graph",
    "embed": "Embedding symbols",
}


@contextmanager
def stage_progress(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """Yield a ``(stage, done, total)`` callback drawing one bar per stage, or None."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from astrepo.cli.render import console

    bars: dict[str, int] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console(stderr=True), transient=True) as progress:
        def update(stage: str, done: int, total: int) -> None:
            if stage not in bars:
                bars[stage] = progress.add_task(STAGE_LABELS.get(stage, stage), total=max(total, 1))
            progress.update(bars[stage], completed=done, total=max(total, 1))

        yield update
