"""Event codes: the integers instrumented code appends to its thread's buffer.

An event is a *frame* of integers in the thread's main buffer: its code, then
zero to two integer items (a timestamp, a duration, a task id). The code is
``node_key(node id) << 4 | tag``: a 56-bit key of the node ID and a 4-bit tag
saying what happened (`TAGS`). Everything that is not an integer (value
previews, exception details) goes to the thread's *side* list, one item per
frame whose tag `HAS_SIDE`, in the same order. Integer-only main buffers are
what makes the writer cheap: a batch is ``array('L', items).tobytes()``, a
C-speed conversion, instead of marshalling one object per item.

The tags of a frame with and without previews differ by one (``C1 == C0 + 1``),
so generated code picks the sampled variant by adding 1 to a constant.

Standard library only: this runs inside the traced program.
"""

from __future__ import annotations

import array

try:  # hashlib's blake2b itself, without loading OpenSSL as ``import hashlib`` does (~2 ms at start-up)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python built without it
    from hashlib import blake2b


def strategy_digest(strategy: str) -> str:
    """The digest of a built-in strategy's plan (the same for every module)."""
    return blake2b(f"default:{strategy}".encode(), digest_size=8).hexdigest()

#: Version of the instrumented code (the rewrite of `astrepo.capture.instrument` and the frames it
#: appends): part of the compiled-code cache key (`astrepo.capture.hook`). Declared here so that a
#: cache hit imports neither the instrumenter nor ``ast``. History: 1 - first version; 2 - no line
#: points on docstrings and ``__future__`` imports; 3 - sampled value previews (per-node counters,
#: `SAMPLE_FIRST`/`SAMPLE_EVERY`); 4 - integer frames and side lists, C-level samplers ``_ar_q``,
#: inline expression events in function bodies, events implied by their neighbours (not appended);
#: 5 - returns carry the exit time, not the duration; 6 - call counters (``N``): a counted
#: function's first statement advances a C-level counter instead of appending a line event.
INSTRUMENT_VERSION = 6

#: tag -> (letter, meaning). Letters are the event kinds' short names in docs and tests.
TAGS = {
    0: ("L", "line (statement) about to run"),
    1: ("T", "branch taken (if body, loop iteration, case)"),
    2: ("F", "branch not taken (if else, loop exhausted)"),
    3: ("C0", "call enter: timestamp"),
    4: ("C1", "call enter: timestamp; side: tuple of argument previews"),
    5: ("A0", "coroutine/async generator enter: timestamp, task id"),
    6: ("A1", "coroutine/async generator enter: timestamp, task id; side: argument previews"),
    7: ("R0", "return: exit timestamp (a duration in segment format 2)"),
    8: ("R1", "return: exit timestamp; side: return preview"),
    9: ("X", "exception leaving a function: timestamp; side: (type, message preview, line, raised here)"),
    10: ("H", "exception caught by an except clause: timestamp; side: (type, message preview, file, line)"),
    11: ("V0", "expression value, not sampled"),
    12: ("V1", "expression value; side: preview"),
    13: ("W0", "variables written, not sampled"),
    14: ("W1", "variables written; side: (name, preview, name, preview, ...)"),
    15: ("N", "line hits counted in the process (a call counter, written at its end): the count"),
}
TAG = {letter: tag for tag, (letter, _) in TAGS.items()}

#: Integer items after the code, per tag.
WIDTH = {0: 0, 1: 0, 2: 0, 3: 1, 4: 1, 5: 2, 6: 2, 7: 1, 8: 1, 9: 1, 10: 1, 11: 0, 12: 0, 13: 0, 14: 0, 15: 1}
#: Tags whose frame has one item in the side list.
HAS_SIDE = frozenset({4, 6, 8, 9, 10, 12, 14})

#: ``array`` type code of the writer's unsigned 64-bit items: ``L`` converts an int with a plain
#: digit loop (``q`` goes through ``PyArg_Parse`` and ``_PyLong_AsByteArray``: ~10x the cost).
FRAME_TYPECODE = "L" if array.array("L").itemsize == 8 else "Q"

TAG_BITS = 4
TAG_MASK = (1 << TAG_BITS) - 1
#: Bytes of the node key (56 bits: a code stays below 2**60).
KEY_BYTES = 7


def node_key(node_id: str) -> int:
    """The integer standing for ``node_id`` in event codes (the same at instrument and read time)."""
    return int.from_bytes(blake2b(node_id.encode("utf-8"), digest_size=KEY_BYTES).digest(), "little")


def event_code(node_id: str, letter: str) -> int:
    """The code of event ``letter`` (see `TAGS`) at ``node_id``."""
    return node_key(node_id) << TAG_BITS | TAG[letter]
