"""graph/generation.py: the thread that begins a generation, waited for across Ctrl-C."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest

from astrepo.graph.generation import Preload
from astrepo.graph.store import GraphStore
from astrepo.layout import Layout


def test_waiting_for_the_preload_outlasts_a_ctrl_c(tmp_path: Path) -> None:
    """Ctrl-C while the main thread waits for the thread must not end the wait before the thread is
    done with the database (it is closed and deleted next). In CPython 3.11 an interrupted
    `Thread.join` can mark a running thread as stopped: a wait built on it returned early, and the
    generation was deleted under a running COPY (a segmentation fault)."""
    busy = {"done": False}

    def rows():  # the thread's first step: busy for a while, then it gives up
        time.sleep(1.0)
        busy["done"] = True
        raise RuntimeError("no rows")

    preload = Preload(GraphStore(Layout(tmp_path / "db")), True, rows, [])
    main = threading.main_thread().ident
    threading.Timer(0.2, signal.pthread_kill, (main, signal.SIGINT)).start()
    with pytest.raises(KeyboardInterrupt):
        preload.wait()
    assert busy["done"], "the wait ended while the thread was still running"
