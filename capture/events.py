"""The event store: reading trace segments back as typed events.

Segments are written by `astrepo.capture.recorder` (format there). Reading
feeds each (process, thread) stream's batches, in order, to a decoder of its
own (`_Decoder`), which decodes the frames by their tag
(`astrepo.capture.codes`), puts back the events the instrumented code left
out (implied by a neighbour), rebuilds the call stack to give every event
its call and parent-call IDs, and turns raw values into previews. Memory is
one batch plus each stream's open calls, whatever the size of the run. A
truncated last record (a process killed mid-write) is ignored; an incomplete
last frame of a stream likewise. Segments of formats this reader does not
know (string codes) are skipped and counted (``stats["old_segments"]``).

Two ways in: `iter_run` (every event, for ``astrepo events``) and
`aggregate_run` (counts and durations, plus the few events the join needs
one by one: ~20x faster).

Runs in the CLI process (never in the traced program).
"""

from __future__ import annotations

import array
import marshal
import os
import struct
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from astrepo.capture.codes import FRAME_TYPECODE, HAS_SIDE, TAG, TAG_BITS, TAG_MASK, TAGS, WIDTH, node_key
from astrepo.capture.recorder import READABLE_FORMATS, REDACTED, redact_text

#: Event kinds by frame tag letter.
KIND_OF_TAG = {"C0": "call", "C1": "call", "A0": "call", "A1": "call", "R0": "return", "R1": "return",
               "X": "exception", "H": "caught", "L": "line", "T": "branch", "F": "branch",
               "V0": "value", "V1": "value", "W0": "variable", "W1": "variable", "N": "line"}
EVENT_KINDS = tuple(sorted(set(KIND_OF_TAG.values())))
_KIND = {tag: KIND_OF_TAG[letter] for tag, (letter, _) in TAGS.items()}


@dataclass(frozen=True, slots=True)
class Event:
    """One recorded event."""

    run: str
    pid: int
    thread: str  #: thread name (id in ``tid``)
    tid: int
    seq: int  #: order within its (pid, tid) stream
    kind: str  #: one of EVENT_KINDS
    node_id: str
    name: str  #: qualified name of the node's scope (function for call/return/exception)
    path: str  #: repo-relative file
    line: int  #: 1-based line of the node (for exceptions: where it passed / was raised)
    call_id: str  #: "<pid>:<tid>:<n>" of the enclosing call, "" at module level
    parent_call: str
    ts_ns: int | None = None  #: wall-clock time (ns since the epoch) when known
    duration_ns: int | None = None
    data: dict = field(default_factory=dict, hash=False, compare=False)

    def to_json(self) -> dict:
        out = {"run": self.run, "pid": self.pid, "thread": self.thread, "tid": self.tid, "seq": self.seq,
               "kind": self.kind, "node_id": self.node_id, "name": self.name, "path": self.path,
               "line": self.line, "call_id": self.call_id, "parent_call": self.parent_call,
               "ts_ns": self.ts_ns, "duration_ns": self.duration_ns}
        out.update(self.data)
        return out


def preview_json(value: object) -> dict:
    """A raw recorded value (scalar or preview tuple) as ``{"type", "repr", "len"?}``."""
    if isinstance(value, tuple) and len(value) == 3:
        t, text, size = value
        out = {"type": t, "repr": text}
        if size is not None and size >= 0:
            out["len"] = size
        return out
    if value == REDACTED and isinstance(value, str):
        return {"type": "redacted", "repr": REDACTED}
    text = repr(value)
    if len(text) > 200:
        text = text[:200] + "..."
    out = {"type": type(value).__name__, "repr": redact_text(text)}
    if isinstance(value, str):
        out["len"] = len(value)
    return out


def read_records(path: str) -> Iterator[tuple]:
    """The records of one segment file, read one at a time; stops quietly at a truncated tail.
    A frame batch comes as ``("F", thread id, thread name, frame bytes, side items)``."""
    with open(path, "rb") as handle:
        while True:
            head = handle.read(4)
            if len(head) < 4:
                return
            (length,) = struct.unpack("<I", head)
            payload = handle.read(length)
            if len(payload) < length:
                return
            try:
                record = marshal.loads(payload)
            except (ValueError, EOFError, TypeError):
                return
            if record[0] == "F":
                raw = handle.read(record[3])
                if len(raw) < record[3]:
                    return
                record = ("F", record[1], record[2], raw, record[4])
            yield record


def list_runs(events_root: str) -> list[str]:
    """Run ids under ``<db>/events``, oldest first."""
    try:
        return sorted(d for d in os.listdir(events_root) if os.path.isdir(os.path.join(events_root, d)))
    except FileNotFoundError:
        return []


@dataclass(slots=True)
class RunSummary:
    """Per-run totals from the segments' headers and stats records."""

    run: str
    processes: int = 0
    argv: list = field(default_factory=list)
    start_ns: int = 0
    end_ns: int = 0
    stats: dict = field(default_factory=dict)
    #: node id -> (path, kind, qualname, line) of every instrumented node (the segments' module tables)
    nodes: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict, repr=False)  #: segment file -> its header (readable ones)
    tables: object = field(default=None, repr=False)  #: what decoding needs (`_Tables`)


def read_run(run_dir: str) -> tuple[list[Event], RunSummary]:
    """Every event of one run (all processes), and its summary."""
    summary, events = iter_run(run_dir)
    return list(events), summary


def iter_run(run_dir: str) -> tuple[RunSummary, Iterator[Event]]:
    """The summary of one run (complete at once: headers, module tables and stats are read
    first) and an iterator over its events.

    Events come batch by batch as the segments hold them: each (process, thread) stream in
    order, streams interleaved at batch boundaries. Memory is bounded by one batch plus each
    stream's decoding state (its open calls), whatever the size of the run.
    """
    run = os.path.basename(run_dir.rstrip(os.sep))
    summary = RunSummary(run)
    tables = _Tables(summary.nodes)
    # Pass 1: headers, module tables and stats (batches are read and dropped).
    headers: dict[str, dict] = {}  # segment -> its header
    for seg in sorted(f for f in os.listdir(run_dir) if f.endswith(".seg")):
        for record in read_records(os.path.join(run_dir, seg)):
            tag = record[0]
            if tag == "H":
                header = record[1]
                if header.get("format") not in READABLE_FORMATS:
                    summary.stats["old_segments"] = summary.stats.get("old_segments", 0) + 1
                    break
                headers[seg] = header
                summary.processes += 1
                if not summary.start_ns or header.get("start_ns", 0) < summary.start_ns:
                    summary.start_ns = header.get("start_ns", 0)
                    summary.argv = header.get("argv", [])
            elif tag == "M":
                tables.add_module(record)
            elif tag == "S":
                for k, v in record[1].items():
                    if k == "end_ns":
                        summary.end_ns = max(summary.end_ns, v)
                    else:
                        summary.stats[k] = summary.stats.get(k, 0) + v
    summary.headers, summary.tables = headers, tables
    return summary, _events(run, run_dir, headers, tables)


def _events(run: str, run_dir: str, headers: dict[str, dict], tables: _Tables) -> Iterator[Event]:
    """Pass 2: decode the batches of every segment (one process each), feeding each thread's decoder."""
    for decoder, items, side in _thread_batches(run, run_dir, headers, tables):
        yield from decoder.feed(items, side)


def _thread_batches(run: str, run_dir: str, headers: dict[str, dict],
                    tables: _Tables) -> Iterator[tuple[_Decoder, list[int], object]]:
    """The batches of every segment (one process each) in order, each with its thread's decoder (made on
    the thread's first batch) and its side list."""
    for seg, header in headers.items():
        decoders: dict[int, _Decoder] = {}
        for record in read_records(os.path.join(run_dir, seg)):
            if record[0] not in ("F", "B"):
                continue
            _, tid, tname, data, side = record
            decoder = decoders.get(tid)
            if decoder is None:
                decoder = decoders[tid] = _Decoder(run, header, tid, tname, tables)
            yield decoder, _batch_items(record[0], data), side


@dataclass(slots=True)
class Totals:
    """A run's frames counted per event code, filled while `aggregate_run`'s details are read.

    Codes are ``node key << 4 | tag`` (`astrepo.capture.codes`); events the instrumented code left
    out (implied) are counted like the others.
    """

    counts: dict = field(default_factory=lambda: defaultdict(int))  #: code -> frames
    #: node key -> [finished, total ns, max ns] of the function's calls that ended (return or exception)
    durations: dict = field(default_factory=dict)
    pairs: set = field(default_factory=set)  #: (caller node key, callee node key) seen on the stacks


def aggregate_run(run_dir: str) -> tuple[RunSummary, Totals, Iterator[Event]]:
    """Like `iter_run`, for joining a run: the summary, `Totals` (complete once the iterator is
    exhausted) and the *detail* events only: exceptions (``data["depth"]``: open calls of their
    thread after them), and the sampled calls, returns, values and variables, with previews.

    About 20x faster than decoding every event: plain frames (lines, branches, values and
    variables not sampled) are only counted, calls and returns only timed.
    """
    summary, _ = iter_run(run_dir)
    totals = Totals()
    return summary, totals, _details(summary.run, run_dir, summary, totals)


def _details(run: str, run_dir: str, summary: RunSummary, totals: Totals) -> Iterator[Event]:
    for decoder, items, side in _thread_batches(run, run_dir, summary.headers, summary.tables):
        yield from decoder.aggregate(items, side, totals)


def _batch_items(kind: str, data: object) -> list[int]:
    if kind == "F":
        frames = array.array(FRAME_TYPECODE)
        frames.frombytes(data)
        return frames.tolist()
    return [i if type(i) is int else 0 for i in data]


class _Tables:
    """What decoding needs from the module records: nodes by key, and the implied events."""

    def __init__(self, nodes: dict) -> None:
        self.nodes = nodes  #: node id -> (path, kind, qualname, line)
        self.by_key: dict[int, str] = {}  #: node key -> node id
        self.implied: dict[int, int] = {}  #: line event code -> branch event code (the event before it)
        self.follows: dict[int, int] = {}  #: call event code -> line event code (the event after it)

    def add_module(self, record: tuple) -> None:
        path, table = record[1], record[2]
        for node_id, kind, qual, line in table:
            self.nodes[node_id] = (path, kind, qual, line)
            self.by_key[node_key(node_id)] = node_id
        self.implied.update(record[3] if len(record) > 3 else ())
        self.follows.update(record[4] if len(record) > 4 else ())


_TAG_C0, _TAG_C1, _TAG_A0, _TAG_A1 = TAG["C0"], TAG["C1"], TAG["A0"], TAG["A1"]
_TAG_X, _TAG_H, _TAG_T, _TAG_F, _TAG_L, _TAG_N = TAG["X"], TAG["H"], TAG["T"], TAG["F"], TAG["L"], TAG["N"]
_CALLS = frozenset({_TAG_C0, _TAG_C1, _TAG_A0, _TAG_A1})
#: Frames that are only counted when aggregating (no items, no side item).
_COUNTED = frozenset({_TAG_L, _TAG_T, _TAG_F, TAG["V0"], TAG["W0"]})
_RETURNS, _VALUES, _VARIABLES = (TAG["R0"], TAG["R1"]), (TAG["V0"], TAG["V1"]), (TAG["W0"], TAG["W1"])


class _Decoder:
    """Turns one (process, thread) stream into events, fed one batch at a time.

    A batch may end inside a frame, or before the side item of its last frame: what is left
    waits for the next batch; at the end of the stream it is an incomplete tail and is dropped.
    """

    def __init__(self, run: str, header: dict, tid: int, tname: str, tables: _Tables) -> None:
        self.run = run
        self.pid = header.get("pid", 0)
        self.tid = tid
        self.tname = tname
        self.tables = tables
        self.offset = header.get("start_ns", 0) - header.get("clock_ns", 0)
        #: open calls: (call id, or call number when aggregating; enter ts; node key)
        self.stack: list[tuple] = []
        #: format 2 segments carry a return's duration, later ones its exit time
        self.returns_duration = header.get("format") == 2
        self.calls = 0
        self.seq = 0
        self.carry: list[int] = []  #: items of an incomplete frame
        self.side: list = []  #: side items not consumed yet

    def _batch(self, items: list[int], side: list) -> tuple[list[int], list]:
        """A batch's items after the incomplete frame carried from the previous one, and the side items
        not consumed yet (the batch's appended)."""
        if self.carry:
            items = self.carry + items
            self.carry = []
        if side:
            self.side.extend(side)
        return items, self.side

    def feed(self, items: list[int], side: list) -> Iterator[Event]:
        items, side = self._batch(items, side)
        tables = self.tables
        by_key, nodes, implied, follows = tables.by_key, tables.nodes, tables.implied, tables.follows
        run, pid, tid, tname, stack = self.run, self.pid, self.tid, self.tname, self.stack
        i, j, n, n_side = 0, 0, len(items), len(side)
        while i < n:
            code = items[i]
            tag = code & TAG_MASK
            node_id = by_key.get(code >> TAG_BITS)
            width = WIDTH.get(tag)
            if node_id is None or width is None:
                i += 1  # resynchronise after a dropped (overflowed) stretch
                continue
            has_side = tag in HAS_SIDE
            if i + 1 + width > n or (has_side and j >= n_side):
                self.carry = items[i:]  # the rest of the frame (or its side item) is in a later batch
                break
            extra = None
            if has_side:
                extra = side[j]
                j += 1
            body = items[i + 1:i + 1 + width]
            i += 1 + width
            path, _, qual, line = nodes.get(node_id, ("", "", "", 0))
            current = stack[-1][0] if stack else ""
            parent = stack[-2][0] if len(stack) > 1 else ""
            if tag == _TAG_L and code in implied:
                yield self._implied(implied[code], current, parent)
            data: dict = {}
            ts = None
            duration = None
            if tag in _CALLS:
                self.calls += 1
                call_id = f"{pid}:{tid}:{self.calls}"
                ts = body[0] + self.offset
                if tag in (_TAG_A0, _TAG_A1):
                    data["task"] = body[1]
                data["args"] = [preview_json(a) for a in extra] if isinstance(extra, tuple) else []
                parent, current = current, call_id
                stack.append((call_id, body[0], code >> TAG_BITS))
            elif tag in _RETURNS:
                entry, duration = self._end(code >> TAG_BITS, body[0], self.returns_duration)
                if not self.returns_duration:
                    ts = body[0] + self.offset
                if tag == _RETURNS[1]:
                    data["value"] = preview_json(extra)
                if entry is not None:
                    current = entry[0]
            elif tag == _TAG_X:
                ts = body[0] + self.offset
                exc_type, message, where, here = _fields(extra, _X_TYPES)
                data.update(exc_type=exc_type or "", message=preview_json(message).get("repr", ""),
                            raised_here=bool(here))
                line = where or line
                entry, duration = self._end(code >> TAG_BITS, body[0], False)
                if entry is not None:
                    current = entry[0]
            elif tag == _TAG_H:
                ts = body[0] + self.offset
                exc_type, message, origin_file, origin_line = _fields(extra, _H_TYPES)
                data.update(exc_type=exc_type or "", message=preview_json(message).get("repr", ""),
                            origin_file=origin_file or "", origin_line=origin_line or 0)
            elif tag == _TAG_T or tag == _TAG_F:
                data["taken"] = tag == _TAG_T
            elif tag in _VALUES:
                if tag == _VALUES[1]:
                    data["value"] = preview_json(extra)
            elif tag in _VARIABLES:
                pairs = extra if isinstance(extra, tuple) else ()
                data["values"] = {pairs[k]: preview_json(pairs[k + 1]) for k in range(0, len(pairs) - 1, 2)}
            elif tag == _TAG_N:
                data["count"] = body[0]  # one event standing for that many line events
            self.seq += 1
            yield Event(run, pid, tname, tid, self.seq, _KIND[tag], node_id, qual, path, line, current, parent,
                        ts, duration, data)
            if code in follows:
                yield self._implied(follows[code], current, parent)
        if j:
            del side[:j]

    def aggregate(self, items: list[int], side: list, totals: Totals) -> Iterator[Event]:
        """`feed` for joining: count and time into ``totals``, yield the detail events only
        (see `aggregate_run`). The stack holds (call number, enter ts, node key)."""
        items, side = self._batch(items, side)
        tables = self.tables
        by_key, implied, follows = tables.by_key, tables.implied, tables.follows
        counts, durations, pairs, stack = totals.counts, totals.durations, totals.pairs, self.stack
        i, j, n, n_side = 0, 0, len(items), len(side)
        while i < n:
            code = items[i]
            tag = code & TAG_MASK
            key = code >> TAG_BITS
            if key not in by_key:
                i += 1  # resynchronise after a dropped (overflowed) stretch
                continue
            if tag in _COUNTED:
                counts[code] += 1
                if tag == _TAG_L and code in implied:
                    counts[implied[code]] += 1
                i += 1
                continue
            width = WIDTH.get(tag)
            if width is None:
                i += 1
                continue
            has_side = tag in HAS_SIDE
            if i + 1 + width > n or (has_side and j >= n_side):
                self.carry = items[i:]
                break
            extra = None
            if has_side:
                extra = side[j]
                j += 1
            value = items[i + 1] if width else 0
            i += 1 + width
            if tag == _TAG_N:
                counts[(key << TAG_BITS) | _TAG_L] += value  # a counter: that many line events
                continue
            counts[code] += 1
            if tag in _CALLS:
                self.calls += 1
                if stack:
                    pairs.add((stack[-1][2], key))
                stack.append((self.calls, value, key))
                if code in follows:
                    counts[follows[code]] += 1
                if tag == _TAG_C1 or tag == _TAG_A1:
                    yield self._detail("call", key, {"args": [preview_json(a) for a in extra]
                                                     if isinstance(extra, tuple) else []})
            elif tag in _RETURNS:
                _, duration = self._end(key, value, self.returns_duration)
                if duration is not None:
                    _add_duration(durations, key, duration)
                if tag == _RETURNS[1]:
                    yield self._detail("return", key, {"value": preview_json(extra)}, duration=duration)
            elif tag == _TAG_X:
                current = self._call_id(-1)
                parent = self._call_id(-2)
                entry, duration = self._end(key, value, False)
                if entry is not None:
                    current = f"{self.pid}:{self.tid}:{entry[0]}"
                    _add_duration(durations, key, duration)
                exc_type, message, where, here = _fields(extra, _X_TYPES)
                yield self._detail("exception", key, {
                    "exc_type": exc_type or "", "message": preview_json(message).get("repr", ""),
                    "raised_here": bool(here), "depth": len(stack)},
                    ts=value + self.offset, duration=duration, call_id=current, parent=parent, line=where)
            elif tag == _TAG_H:
                exc_type, message, origin_file, origin_line = _fields(extra, _H_TYPES)
                yield self._detail("caught", key, {
                    "exc_type": exc_type or "", "message": preview_json(message).get("repr", ""),
                    "origin_file": origin_file or "", "origin_line": origin_line or 0, "depth": len(stack)},
                    ts=value + self.offset, call_id=self._call_id(-1), parent=self._call_id(-2))
            elif tag == _VALUES[1]:
                yield self._detail("value", key, {"value": preview_json(extra)})
            elif tag == _VARIABLES[1]:
                pairs_ = extra if isinstance(extra, tuple) else ()
                yield self._detail("variable", key, {
                    "values": {pairs_[k]: preview_json(pairs_[k + 1]) for k in range(0, len(pairs_) - 1, 2)}})
        if j:
            del side[:j]

    def _end(self, key: int, value: int, is_duration: bool) -> tuple[tuple | None, int | None]:
        """Close the open call of function ``key`` (the innermost one; a generator resumed from
        elsewhere may have others above it) at time ``value``: (its stack entry, duration).
        ``is_duration``: ``value`` already is the duration (segment format 2)."""
        stack = self.stack
        if stack and stack[-1][2] == key:
            entry = stack.pop()
        else:
            for k in range(len(stack) - 2, -1, -1):
                if stack[k][2] == key:
                    entry = stack.pop(k)
                    break
            else:
                return None, (value if is_duration else None)
        if is_duration:
            return entry, value
        return entry, value - entry[1]

    def _call_id(self, depth: int) -> str:
        """The call ID of an open call (``-1``: the innermost) in aggregate mode, "" if none."""
        if len(self.stack) < -depth:
            return ""
        return f"{self.pid}:{self.tid}:{self.stack[depth][0]}"

    def _detail(self, kind: str, key: int, data: dict, ts: int | None = None, duration: int | None = None,
                call_id: str = "", parent: str = "", line: int | None = None) -> Event:
        node_id = self.tables.by_key[key]
        path, _, qual, node_line = self.tables.nodes.get(node_id, ("", "", "", 0))
        return Event(self.run, self.pid, self.tname, self.tid, 0, kind, node_id, qual, path, line or node_line,
                     call_id, parent, ts, duration, data)

    def _implied(self, code: int, current: str, parent: str) -> Event:
        """An event the instrumented code left out (`astrepo.capture.codes`): a branch before a line,
        or a function's first line after its call."""
        node_id = self.tables.by_key.get(code >> TAG_BITS, "")
        path, _, qual, line = self.tables.nodes.get(node_id, ("", "", "", 0))
        tag = code & TAG_MASK
        self.seq += 1
        if tag == _TAG_L:
            return Event(self.run, self.pid, self.tname, self.tid, self.seq, "line", node_id, qual, path, line,
                         current, parent)
        return Event(self.run, self.pid, self.tname, self.tid, self.seq, "branch", node_id, qual, path, line,
                     current, parent, None, None, {"taken": tag == _TAG_T})


def _add_duration(durations: dict, key: int, duration: int) -> None:
    entry = durations.get(key)
    if entry is None:
        durations[key] = [1, duration, duration]
    else:
        entry[0] += 1
        entry[1] += duration
        if duration > entry[2]:
            entry[2] = duration


#: Types of the fields of an exception frame's side item (`astrepo.capture.codes`): X is (type
#: name, message preview, line, raised here), H is (type name, message preview, origin file, line).
_X_TYPES = (str, object, int, int)
_H_TYPES = (str, object, str, int)


def _fields(extra: object, types: tuple) -> tuple:
    """A side item's fields when it has the shape ``types`` says, else empty fields: a damaged
    item, or one paired with the wrong frame (a segment written before the recorder appended a
    frame and its side item with nothing in between), decodes to nothing rather than to another
    event's details."""
    if isinstance(extra, tuple) and len(extra) == len(types) and all(
            value is None or isinstance(value, kind) for value, kind in zip(extra, types)):
        return extra
    return (None,) * len(types)


def since_events(events: Iterable[Event], since_ns: int) -> Iterator[Event]:
    """Events at or after ``since_ns`` (an untimed event takes the time of its stream's last
    timed one), as they come."""
    last: dict[tuple[int, int], int] = {}
    for e in events:
        key = (e.pid, e.tid)
        if e.ts_ns is not None:
            last[key] = e.ts_ns
        if (e.ts_ns if e.ts_ns is not None else last.get(key, 0)) >= since_ns:
            yield e


def parse_since(text: str, now_ns: int) -> int:
    """``--since`` as ns since the epoch: ``30s``/``10m``/``2h``/``1d`` ago, an ISO 8601 time
    (local time unless it has an offset or ``Z``), or epoch seconds. Raises ValueError."""
    import datetime as dt

    text = text.strip()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text and text[-1] in units and text[:-1].replace(".", "", 1).isdigit():
        return now_ns - int(float(text[:-1]) * units[text[-1]] * 1e9)
    try:
        return int(float(text) * 1e9)
    except ValueError:
        pass
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as err:
        raise ValueError(f"cannot read --since {text!r}: use e.g. 10m, 2h, 1d, 2026-01-31T12:00 or epoch seconds") from err
    return int(when.timestamp() * 1e9)


def filter_events(events: Iterable[Event], kind: str | None = None, function: str | None = None) -> Iterator[Event]:
    """Events of one kind and/or whose scope name is, or ends with, ``function``, as they come."""
    tail = "." + function if function else ""
    for e in events:
        if kind and e.kind != kind:
            continue
        if function and e.name != function and not e.name.endswith(tail):
            continue
        yield e
