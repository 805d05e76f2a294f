"""The event store: reading trace segments back as typed events.

Segments are written by `astrepo.capture.recorder` (format there). Reading
concatenates each (process, thread) stream's batches in order, decodes the
frames by their tag (`astrepo.capture.instrument.EVENT_TAGS`), rebuilds the
call stack per thread to give every event its call and parent-call IDs, and
turns raw values into previews. A truncated last record (a process killed
mid-write) is ignored; an incomplete last frame of a stream likewise.

Runs in the CLI process (never in the traced program).
"""

from __future__ import annotations

import marshal
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from astrepo.capture.recorder import REDACTED, redact_text

#: Event kinds by frame tag.
KIND_OF_TAG = {"C": "call", "A": "call", "R": "return", "X": "exception", "H": "caught", "L": "line",
               "T": "branch", "F": "branch", "V": "value", "W": "variable"}
EVENT_KINDS = tuple(sorted(set(KIND_OF_TAG.values())))
_FIXED_ITEMS = {"R": 2, "X": 5, "H": 5, "L": 0, "T": 0, "F": 0, "V": 1}


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
    """The records of one segment file; stops quietly at a truncated tail."""
    with open(path, "rb") as handle:
        data = handle.read()
    pos, end = 0, len(data)
    while pos + 4 <= end:
        (length,) = struct.unpack_from("<I", data, pos)
        if pos + 4 + length > end:
            return
        try:
            record = marshal.loads(data[pos + 4:pos + 4 + length])
        except (ValueError, EOFError, TypeError):
            return
        pos += 4 + length
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


def read_run(run_dir: str) -> tuple[list[Event], RunSummary]:
    """Every event of one run (all processes), and its summary."""
    run = os.path.basename(run_dir.rstrip(os.sep))
    summary = RunSummary(run)
    events: list[Event] = []
    segments = sorted(f for f in os.listdir(run_dir) if f.endswith(".seg"))
    nodes: dict[str, tuple] = {}
    streams: dict[tuple[int, int], list] = {}
    headers: dict[int, dict] = {}
    names: dict[tuple[int, int], str] = {}
    order: list[tuple[int, int]] = []
    for seg in segments:
        pid = 0
        for record in read_records(os.path.join(run_dir, seg)):
            tag = record[0]
            if tag == "H":
                header = record[1]
                pid = header.get("pid", 0)
                headers[pid] = header
                summary.processes += 1
                if not summary.start_ns or header.get("start_ns", 0) < summary.start_ns:
                    summary.start_ns = header.get("start_ns", 0)
                    summary.argv = header.get("argv", [])
            elif tag == "M":
                _, path, table = record
                for node_id, kind, qual, line in table:
                    nodes[node_id] = (path, kind, qual, line)
            elif tag == "B":
                _, tid, tname, items = record
                key = (pid, tid)
                if key not in streams:
                    streams[key] = []
                    order.append(key)
                streams[key].extend(items)
                names[key] = tname
            elif tag == "S":
                for k, v in record[1].items():
                    if k == "end_ns":
                        summary.end_ns = max(summary.end_ns, v)
                    else:
                        summary.stats[k] = summary.stats.get(k, 0) + v
    for key in order:
        header = headers.get(key[0], {})
        events.extend(_decode_stream(run, key, names[key], streams[key], nodes, header))
    return events, summary


def _decode_stream(run: str, key: tuple[int, int], tname: str, items: list, nodes: dict,
                   header: dict) -> Iterator[Event]:
    pid, tid = key
    offset = header.get("start_ns", 0) - header.get("clock_ns", 0)
    stack: list[tuple[str, int | None]] = []  # (call id, enter ts)
    calls = 0
    i, n, seq = 0, len(items), 0
    while i < n:
        code = items[i]
        if not isinstance(code, str) or ":" not in code:
            i += 1  # resynchronise on garbage (should not happen)
            continue
        tag = code[0]
        head, node_id = code.split(":", 1)
        if tag in _FIXED_ITEMS:
            width = _FIXED_ITEMS[tag]
        elif tag == "C":
            width = 1 + int(head[1:] or 0)
        elif tag == "A":
            width = 2 + int(head[1:] or 0)
        elif tag == "W":
            width = 2 * int(head[1:] or 0)
        else:
            i += 1
            continue
        if i + 1 + width > n:
            break  # incomplete last frame
        body = items[i + 1:i + 1 + width]
        i += 1 + width
        path, nkind, qual, line = nodes.get(node_id, ("", "", "", 0))
        current = stack[-1][0] if stack else ""
        parent = stack[-2][0] if len(stack) > 1 else ""
        data: dict = {}
        ts = None
        duration = None
        kind = KIND_OF_TAG[tag]
        if tag in ("C", "A"):
            calls += 1
            call_id = f"{pid}:{tid}:{calls}"
            ts = body[0] + offset
            args = body[2:] if tag == "A" else body[1:]
            if tag == "A":
                data["task"] = body[1]
            data["args"] = [preview_json(a) for a in args]
            parent, current = current, call_id
            stack.append((call_id, body[0]))
        elif tag == "R":
            duration = body[0]
            if body[1] is not ...:  # Ellipsis: not sampled
                data["value"] = preview_json(body[1])
            if stack:
                stack.pop()
        elif tag == "X":
            ts = body[0] + offset
            data.update(exc_type=body[1], message=preview_json(body[2]).get("repr", ""), raised_here=bool(body[4]))
            line = body[3] or line
            if stack:
                _, t0 = stack.pop()
                if t0 is not None:
                    duration = body[0] - t0
        elif tag == "H":
            ts = body[0] + offset
            data.update(exc_type=body[1], message=preview_json(body[2]).get("repr", ""),
                        origin_file=body[3], origin_line=body[4])
        elif tag in ("T", "F"):
            data["taken"] = tag == "T"
        elif tag == "V":
            if body[0] is not ...:
                data["value"] = preview_json(body[0])
        elif tag == "W":
            data["values"] = {body[j]: preview_json(body[j + 1]) for j in range(0, len(body), 2)}
        seq += 1
        yield Event(run, pid, tname, tid, seq, kind, node_id, qual, path, line, current, parent, ts, duration, data)


def event_times(events: list[Event]) -> list[int]:
    """Each event's time (ns since the epoch): its own, else that of the last timed event of its stream."""
    last: dict[tuple[int, int], int] = {}
    out = []
    for e in events:
        key = (e.pid, e.tid)
        if e.ts_ns is not None:
            last[key] = e.ts_ns
        out.append(e.ts_ns if e.ts_ns is not None else last.get(key, 0))
    return out


def since_events(events: list[Event], since_ns: int) -> list[Event]:
    """Events at or after ``since_ns`` (untimed events take their stream's last time)."""
    return [e for e, t in zip(events, event_times(events)) if t >= since_ns]


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


def filter_events(events: list[Event], kind: str | None = None, function: str | None = None) -> list[Event]:
    """Events of one kind and/or whose scope name is, or ends with, ``function``."""
    out = events
    if kind:
        out = [e for e in out if e.kind == kind]
    if function:
        out = [e for e in out if e.name == function or e.name.endswith("." + function)]
    return out
