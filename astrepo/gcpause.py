"""Keeping Python's cyclic garbage collector out of allocation-heavy batch work.

Resolution and loading build millions of small, long-lived objects (value
sets, memo entries, rows). Every few hundred allocations the collector walks
the young generation, and now and then the whole heap: measured on Django's
call graph, half of the resolver's CPU time was collection that found
almost nothing to free. Inside `gc_paused` the collector is off; on leaving
it, it is switched back on (if it was on) and one collection frees whatever
cyclic garbage the work left behind.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused(collect: bool = True) -> Iterator[None]:
    """Run the body with the cyclic collector off; restore it (and collect once) afterwards.

    While the collector is off nothing is promoted, so the one collection of
    the youngest generation afterwards examines just what the body allocated.
    Nesting is fine: only the outermost block switches the collector back on.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    ended = False
    try:
        yield
        ended = True
    finally:
        if was_enabled:
            gc.enable()
            if collect and ended:  # not on the way out of an error or Ctrl-C: seconds after a big batch
                gc.collect(0)


def free_in_background(scrap: list) -> threading.Thread:
    """Free what ``scrap`` holds (the caller's last references to it) on a daemon thread.

    Freeing the working state of a large batch (Django's name resolution: millions of memo
    entries and value sets) takes CPU time of its own, about half a second. Deallocation holds
    the GIL from start to end, so start this right before waiting in code that lets go of it
    for a while (Kuzu's COMMIT does): the freeing then costs the caller nothing, and at worst
    (a shorter wait) what it would have cost in the caller's own thread. Join the thread to be
    sure it is done.
    """
    thread = threading.Thread(target=_free, args=(scrap,), daemon=True, name="astrepo-free")
    thread.start()
    return thread


#: How long the freeing thread lets the caller go first (to enter its wait) before it takes the GIL.
FREE_DELAY = 0.02


def _free(scrap: list) -> None:
    # Started, a thread takes the GIL at once, and deallocation never hands it back: the caller
    # could not even reach the call it meant to wait in before everything was freed.
    time.sleep(FREE_DELAY)
    scrap.clear()
