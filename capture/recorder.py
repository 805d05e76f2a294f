"""The runtime recorder: per-thread event buffers and a background segment writer.

Runs inside the traced program, so it imports the standard library only and
never raises into user code (failures are swallowed and counted).

Hot path. Instrumented code appends integer frames to its thread's buffer
(`astrepo.capture.codes`): ``buf.append(code)`` for a line, ``buf += (code, ts)``
for a call. Codes are constants of the instrumented code object and the other
items are ints, none of them tracked by the cyclic collector; a temporary
tuple comes from the free list and goes back at once. Everything else
(value previews, exception details) is made by the helpers of
`runtime_names` on the rare sampled executions, and goes to the buffer's
``side`` list, one item per frame that has one. A preview is
``(type name, truncated repr, len)`` or an immutable scalar, computed at once
(never a live reference).

Writer. A daemon thread wakes every ``flush_interval`` (100 ms) or, while events
come in, as soon as the buffers should hold about `BATCH_ITEMS` at the rate of the
last flush (at least ``busy_interval``, 5 ms, apart: `Recorder.next_interval`), converts
each thread's buffer in place (``array.fromlist(buf)``, in C without
releasing the GIL, so the owner cannot append meanwhile; then ``del
buf[:n]``: the owner only appends at the end) and takes its side list, and
appends one record per thread to this process's segment file with a single
``os.writev`` on an ``O_APPEND`` descriptor, straight from the array's
memory. The integers convert at a few ns per item, against ~30 ns for
marshalling objects one by one; the conversion holds the GIL, so its cost is
the traced program's. A batch may end in the middle of a frame: the reader
joins a thread's batches before decoding. The writer thread blocks
asynchronous signals (they go to the main thread, as without astrepo). A
SIGKILL loses at most what was appended since the last wake-up. At exit
(``atexit``, multiprocessing's finalizers, a fork) the rest is flushed.

Segment format (``.astrepo/events/<run>/<pid>-<n>.seg``): a sequence of
records ``<u32 little-endian length><marshal payload>``; payloads are tuples
whose first item says what they are: ``("H", header dict)``,
``("M", path, table, implied, follows)`` (a module's instrumented nodes: (id,
kind, qualname, line) rows; (line code, branch code) pairs: a branch event
left out because the line event right after it implies it; (call code, line
code) pairs: a function's first line event, implied by its call event),
``("F", thread id, thread name, n bytes, side items)`` (a batch of frames:
the n bytes of native uint64 items follow the record, unframed, so the
writer hands the kernel the array's own memory), ``("B", thread id,
thread name, items, side items)`` (a batch as a list, when an item was not
an unsigned 64-bit int) and ``("S", stats dict)``. A truncated last record
(crash mid-write) is ignored by the reader (`astrepo.capture.events`).

Known limits: a generator resumed in another thread keeps appending to the
buffer of the thread that started it; asyncio tasks sharing a thread share
its buffer (coroutine enter/exit events carry the task id).
"""

from __future__ import annotations

import _thread
import array
import atexit
import itertools
import marshal
import os
import sys
import threading
import time
from _collections import deque  # not ``collections``: a traced process imports only what it needs

from astrepo.capture.codes import FRAME_TYPECODE

#: Version of the segment format. History: 1 - first version (string codes, marshalled item lists);
#: 2 - integer frames (`astrepo.capture.codes`) written as uint64 arrays, previews in side lists;
#: 3 - a return frame carries the exit time (the reader subtracts its call's), not the duration.
SEGMENT_FORMAT = 3
#: Older segment formats the reader still decodes.
READABLE_FORMATS = (2, 3)

#: Value previews are the costly part of an event (a repr is ~1-3 us, the event itself ~50 ns):
#: a node records previews on its first SAMPLE_FIRST executions, then on every SAMPLE_EVERY-th
#: (see `sampler`); the other events use the tag without previews. Counts,
#: durations, branches and exceptions are always exact. A plan point's ``sampling``
#: (``{"first": N, "every": M}``) overrides this; ``{"every": 1}`` records every value.
SAMPLE_FIRST = 32
SAMPLE_EVERY = 1024

#: Items the writer lets a thread's buffer collect before it comes back (`Recorder.next_interval`):
#: a few hundred KB of list slots and timestamps, whatever the event rate (5 ms of events at 3M
#: items/s, where the writer used to come back every 5 ms whatever the rate). On more-itertools'
#: suite (balanced with statistics, 3 interleaved runs at load 10) 64K items and a fixed 5 ms came
#: out within noise (1.19x and 1.21x CPU): the writer's own cost per wake is 1-15 us.
BATCH_ITEMS = 1 << 14

#: Default cap of a value preview's repr, in characters.
DEFAULT_REPR_LIMIT = 200

#: Types stored as themselves (immutable, cheap, no side effects); the reader previews them.
SCALAR_TYPES = frozenset({int, float, bool, type(None), complex})

#: The regular expressions of redaction, compiled on first use (`_regex`): compiling them all cost
#: every traced process ~0.5 ms at start-up, and most never need the name or pair patterns.
_IGNORECASE = 2  # re.IGNORECASE (``re`` itself is imported by the first compilation)
_REGEX_SOURCES = {
    #: parameter and variable names whose values are never recorded
    "secret_name": (r"(pass(wd|word)?|secret|token|api[_-]?key|apikey|auth(orization)?|cookie|session|"
                    r"private[_-]?key|credential|credit[_-]?card|card[_-]?number|cvv|ssn)", _IGNORECASE),
    #: ``key=value`` / ``'key': 'value'`` inside reprs, where the key looks secret. It starts with the
    #: keyword itself (a leading ``[\w-]*`` would backtrack quadratically on long reprs); what
    #: precedes the keyword (``db_`` of ``db_password``) is simply kept.
    "secret_pair": (r"""((?:pass(?:wd|word)?|secret|token|api[_-]?key|apikey|authorization|cookie|session|"""
                    r"""private[_-]?key|credential)[\w-]*['"]?\s*[:=]\s*)('[^']*'|"[^"]*"|[^\s,}\)&;]+)""",
                    _IGNORECASE),
    "card": (r"\b(?:\d[ -]?){12,18}\d\b", 0),
    #: cheap substring test before the (slower) pair regex runs
    "secret_hint": ("pass|secret|token|key|auth|cookie|session|credential", 0),
}
_REGEXES: dict = {}


def _regex(name: str):
    """The compiled `_REGEX_SOURCES` entry ``name`` (a ``re.Pattern``)."""
    try:
        return _REGEXES[name]
    except KeyError:
        import re

        pattern = _REGEXES[name] = re.compile(*_REGEX_SOURCES[name])
        return pattern


REDACTED = "<redacted>"


def is_secret_name(name: str) -> bool:
    """True if a parameter/variable named ``name`` must not have its value recorded."""
    return _regex("secret_name").search(name) is not None


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def redact_text(text: str) -> str:
    """Mask secret-looking ``key=value`` pairs and card numbers in a repr."""
    if not text:
        return text
    if _regex("secret_hint").search(text.lower()) is not None:
        text = _regex("secret_pair").sub(lambda m: m.group(1) + REDACTED, text)
    card = _regex("card")
    if card.search(text) is not None:
        text = card.sub(
            lambda m: REDACTED if _luhn_ok("".join(c for c in m.group(0) if c.isdigit())) else m.group(0),
            text,
        )
    return text


class Recorder:
    """Process-wide recorder state: thread buffers, the segment file, counters."""

    def __init__(self, directory: str, run_id: str, flush_interval: float = 0.1,
                 repr_limit: int = DEFAULT_REPR_LIMIT, max_pending_items: int = 4_000_000,
                 busy_interval: float = 0.005, batch_items: int = BATCH_ITEMS) -> None:
        self.directory = directory
        self.run_id = run_id
        self.flush_interval = flush_interval
        self.repr_limit = repr_limit
        self.max_pending_items = max_pending_items
        self.busy_interval = busy_interval  #: least seconds between flushes (while events pour in)
        self.batch_items = batch_items  #: items a batch should hold (`next_interval`)
        #: registration number -> (buffer, thread ident, thread name, thread); idents are reused, numbers not
        self.buffers: dict[int, tuple[Buffer, int, str, object]] = {}
        self._thread_no = itertools.count()
        self.modules: list[tuple] = []
        #: call counters of counted functions: (N event code, the module's ``_ar_q``, slot), written at the end
        self.counters: list[tuple[int, list, int]] = []
        self.stats = {"items": 0, "batches": 0, "overflow_items": 0, "errors": 0,
                      "preview_errors": 0, "bytes": 0}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = False
        self._closing = False
        self._fd = -1
        self._segment_no = 0
        self._pid = -1
        self._writer: int | None = None  #: the writer thread's ident
        self._preview_depth = _thread._local()
        #: ``local.b``: the calling thread's `Buffer`, set by `thread_buffer` on the thread's first event
        self.local = _thread._local()

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> None:
        """Open this process's segment and start the writer thread."""
        self._open_segment()
        self._start_writer()
        atexit.register(self.close)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._after_fork_child)

    def _open_segment(self) -> None:
        try:
            os.makedirs(self.directory, exist_ok=True)
            self._pid = os.getpid()
            while True:
                name = os.path.join(self.directory, f"{self._pid}-{self._segment_no}.seg")
                try:
                    self._fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
                    break
                except FileExistsError:
                    self._segment_no += 1
            header = {"format": SEGMENT_FORMAT, "run": self.run_id, "pid": self._pid, "ppid": os.getppid(),
                      "argv": [str(a) for a in sys.argv], "executable": sys.executable,
                      "start_ns": time.time_ns(), "clock_ns": time.perf_counter_ns(),
                      "python": sys.version.split()[0]}
            self._write_record(("H", header))
            for module in self.modules:
                self._write_record(module)
        except Exception:  # noqa: BLE001 - never raise into the host program
            self.stats["errors"] += 1
            self._fd = -1

    def _start_writer(self) -> None:
        self._stop = False
        # A bare thread, not a threading.Thread: the program's threading.enumerate() and
        # active_count() stay what they are untraced, and starting it does not wait for the thread
        # to run (the handshake of Thread.start cost a traced process two context switches).
        # Like a daemon thread, it does not keep the process alive.
        self._writer = _thread.start_new_thread(self._run_writer, ())

    def _after_fork_child(self) -> None:
        # The child inherited the parent's unflushed events and counts: they are the parent's to write.
        try:
            for buf, *_ in self.buffers.values():
                del buf[:]
                del buf.side[:]
            for _, q, slot in self.counters:
                q[slot] = itertools.count()
            self._lock = threading.Lock()
            self._wake = threading.Event()
            self._segment_no = 0
            self._closing = False
            self._open_segment()
            self._start_writer()
            mp_util = sys.modules.get("multiprocessing.util")
            if mp_util is not None:
                # A forked multiprocessing child clears its finalizers, runs its after-fork
                # hooks, and leaves through os._exit (no atexit): register a finalizer then.
                mp_util.register_after_fork(self, Recorder._register_mp_finalizer)
                # Pool.terminate() ends workers with SIGTERM: flush first, then die as before.
                import signal

                if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
                    signal.signal(signal.SIGTERM, self._on_sigterm)
        except Exception:  # noqa: BLE001
            self.stats["errors"] += 1

    def _on_sigterm(self, signum: int, frame: object) -> None:
        import signal

        try:
            if not self._closing and not self._lock.locked():
                self.close()
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

    def _register_mp_finalizer(self) -> None:
        try:
            sys.modules["multiprocessing.util"].Finalize(None, self.close, exitpriority=-1000)
        except Exception:  # noqa: BLE001
            self.stats["errors"] += 1

    def close(self) -> None:
        """Flush everything and write the final stats record (idempotent per process)."""
        if self._pid != os.getpid() or self._fd < 0 or self._closing:
            return
        self._closing = True
        self._stop = True
        self._wake.set()
        try:
            self._write_counts()
            self.flush()
            # cpu_ns: this process's CPU time so far (a forked child's starts at the fork), summed
            # over the run's processes by the reader: the planner's baseline, steadier than wall time.
            self._write_record(("S", dict(self.stats, end_ns=time.time_ns(), cpu_ns=time.process_time_ns())))
            os.close(self._fd)
        except Exception:  # noqa: BLE001
            self.stats["errors"] += 1
        self._fd = -1

    def _write_counts(self) -> None:
        """One ``N`` frame (code, count) per call counter that counted, in the calling thread's buffer."""
        try:
            buf = self.thread_buffer()
            for code, q, slot in self.counters:
                n = _count_of(q[slot])
                if n:
                    buf.append(code)
                    buf.append(n)
        except Exception:  # noqa: BLE001
            self.stats["errors"] += 1

    # -- buffers -----------------------------------------------------------
    def thread_buffer(self) -> Buffer:
        """The calling thread's buffer, registered on first use (instrumented code calls this when
        ``local.b`` is not set yet)."""
        buf = getattr(self.local, "b", None)
        if buf is not None:
            return buf
        buf = Buffer()
        try:
            thread = threading.current_thread()
            self.buffers[next(self._thread_no)] = (buf, _thread.get_ident(), thread.name, thread)
        except Exception:  # noqa: BLE001
            self.stats["errors"] += 1
        self.local.b = buf
        return buf

    def register_module(self, path: str, table: tuple, implied: tuple = (), follows: tuple = ()) -> None:
        """Record which nodes a module was instrumented with, and which events the instrumented
        code leaves out because a neighbour implies them (written once per segment)."""
        record = ("M", path, table, implied, follows)
        self.modules.append(record)
        try:
            self._write_record(record)
        except Exception:  # noqa: BLE001
            self.stats["errors"] += 1

    # -- writer ------------------------------------------------------------
    def _run_writer(self) -> None:
        _block_async_signals()
        interval = self.flush_interval
        last = time.perf_counter()
        while not self._stop:
            self._wake.wait(interval)
            self._wake.clear()
            try:
                taken = self.flush()
            except Exception:  # noqa: BLE001
                self.stats["errors"] += 1
                taken = 0
            now = time.perf_counter()
            interval = self.next_interval(taken, now - last)
            last = now

    def next_interval(self, taken: int, elapsed: float) -> float:
        """Seconds until the next flush, after one that moved ``taken`` items ``elapsed`` s after
        the one before: the time the program takes, at that rate, to append `batch_items` items,
        between `busy_interval` and `flush_interval`."""
        if taken <= 0 or elapsed <= 0:
            return self.flush_interval
        return min(self.flush_interval, max(self.busy_interval, self.batch_items * elapsed / taken))

    def flush(self) -> int:
        """Move every thread's events to the segment file; returns how many items moved."""
        total = 0
        with self._lock:
            for key, (buf, tid, name, thread) in list(self.buffers.items()):
                n = len(buf)
                if not n:
                    if not thread.is_alive():
                        del self.buffers[key]
                    continue
                frames = array.array(FRAME_TYPECODE)
                items = None
                try:
                    # Converts the list in place, in C without releasing the GIL (so the owner thread
                    # cannot append meanwhile): no temporary copy of the list.
                    frames.fromlist(buf)
                    n = len(frames)
                except (TypeError, OverflowError, ValueError, RuntimeError):
                    n = len(buf)
                    items = buf[:n]
                del buf[:n]
                total += n
                # A frame and its side item may land in different batches (the owner thread runs
                # between the two slices): the reader joins each thread's batches in order.
                side = buf.side
                m = len(side)
                extras = side[:m]
                del side[:m]
                if n > self.max_pending_items:
                    # The stream loses a stretch: the reader resynchronises on the next known code.
                    self.stats["overflow_items"] += n
                    continue
                try:
                    if items is not None:
                        self.stats["errors"] += 1
                        self._write_record(("B", tid, name, [i if type(i) is int else 0 for i in items],
                                            [_marshal_safe(x) for x in extras]))
                    else:
                        try:
                            self._write_record(("F", tid, name, len(frames) * frames.itemsize, extras), frames)
                        except (ValueError, TypeError):
                            # An unmarshallable preview slipped in: keep the rest of the batch.
                            self.stats["errors"] += 1
                            self._write_record(("F", tid, name, len(frames) * frames.itemsize,
                                                [_marshal_safe(x) for x in extras]), frames)
                    self.stats["items"] += n
                    self.stats["batches"] += 1
                except Exception:  # noqa: BLE001
                    self.stats["errors"] += 1
                    self.stats["overflow_items"] += n
        return total

    def _write_record(self, payload: tuple, raw: object = None) -> None:
        """Append one record (and the raw bytes following an ``F`` record) with one write."""
        if self._fd < 0:
            return
        data = marshal.dumps(payload)
        parts = [len(data).to_bytes(4, "little"), data]
        if raw is not None:
            parts.append(raw)  # an array: written from its own memory, never copied
        written = os.writev(self._fd, parts)
        self.stats["bytes"] += written

    # -- previews ----------------------------------------------------------
    def preview(self, value: object) -> object:
        """A recordable stand-in for ``value``: the value itself if an immutable scalar, else
        ``(type name, truncated repr, len or -1)``; never raises."""
        t = type(value)
        if t in SCALAR_TYPES:
            if t is int and not -10**12 < value < 10**12 and _regex("card").fullmatch(str(value)):
                return (t.__name__, redact_text(str(value)), -1)
            return value
        if t is str or t is bytes:
            if t is str and len(value) <= 64 and value.isidentifier():
                return value
            # repr of str/bytes runs no user code: no re-entrancy guard needed.
            text = repr(value[:self.repr_limit + 1])
            if len(text) > self.repr_limit:
                text = text[:self.repr_limit] + "..."
            return (t.__name__, redact_text(text), len(value))
        try:
            if t.__repr__ is object.__repr__:
                # The default repr says nothing but the type and an address: skip the call.
                return (_type_name(t), f"<{t.__qualname__} object>", -1)
        except Exception:  # noqa: BLE001
            pass
        depth = getattr(self._preview_depth, "n", 0)
        if depth:
            # A repr that runs instrumented code which wants a preview: do not recurse.
            return (_type_name(t), "<preview in progress>", -1)
        self._preview_depth.n = 1
        local = self.local
        saved = None
        try:
            # Events of code run by repr() go to a scratch buffer, not the real one.
            saved = self.thread_buffer()
            local.b = Buffer()
            try:
                text = _bounded_repr(value, t)
            except Exception as err:  # noqa: BLE001 - a failing repr is data, not an error
                text = f"<repr raised {type(err).__name__}>"
                self.stats["preview_errors"] += 1
            limit = self.repr_limit
            if len(text) > limit:
                text = text[:limit] + "..."
            text = redact_text(text)
            try:
                size = len(value) if t in _SIZED_TYPES or t is str else -1
            except Exception:  # noqa: BLE001
                size = -1
            return (_type_name(t), text, size)
        except BaseException:  # noqa: BLE001 - e.g. RecursionError deep in user recursion
            self.stats["preview_errors"] += 1
            return (_type_name(t), "<no preview>", -1)
        finally:
            if saved is not None:
                local.b = saved
            self._preview_depth.n = 0


#: Containers longer than this are previewed from their first items only.
_PREVIEW_ITEMS = 24


def _bounded_repr(value: object, t: type) -> str:
    """repr() that does not walk a whole big builtin container."""
    if t in (list, tuple) and len(value) > _PREVIEW_ITEMS:
        inner = repr(value[:_PREVIEW_ITEMS])
        return inner[:-1] + ", ...]" if t is list else inner[:-1] + ", ...)"
    if t is dict and len(value) > _PREVIEW_ITEMS:
        return repr(dict(itertools.islice(value.items(), _PREVIEW_ITEMS)))[:-1] + ", ...}"
    if t in (set, frozenset) and len(value) > _PREVIEW_ITEMS:
        return "{" + ", ".join(repr(v) for v in itertools.islice(value, _PREVIEW_ITEMS)) + ", ...}"
    return repr(value)


_SIZED_TYPES = frozenset({list, tuple, dict, set, frozenset, bytes, bytearray, str, range})


def _type_name(t: type) -> str:
    try:
        module = t.__module__
        name = t.__qualname__
        return name if module == "builtins" else f"{module}.{name}"
    except Exception:  # noqa: BLE001
        return "?"


def _marshal_safe(item: object) -> object:
    try:
        marshal.dumps(item)
        return item
    except Exception:  # noqa: BLE001
        return ("?", "<unrecordable>", -1)


#: Signals the kernel raises in the thread that caused them: never blocked.
_SYNCHRONOUS_SIGNALS = ("SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGTRAP", "SIGSYS", "SIGKILL", "SIGSTOP")


def _block_async_signals() -> None:
    """Keep the calling (writer) thread from receiving signals sent to the process.

    Only the main thread runs Python signal handlers. A SIGTERM the kernel hands to the writer
    thread while the main thread sleeps in an uninterruptible wait (a multiprocessing worker
    blocked on its queue's semaphore, when ``Pool.terminate`` signals it) would never reach the
    handler: the process hung. With the signals blocked here they go to the main thread, as in
    the program without astrepo.
    """
    import _signal  # the C module: ``signal`` builds its enums at import, ~0.7 ms of every traced process

    if not hasattr(_signal, "pthread_sigmask"):
        return
    try:
        keep = {getattr(_signal, name) for name in _SYNCHRONOUS_SIGNALS if hasattr(_signal, name)}
        _signal.pthread_sigmask(_signal.SIG_BLOCK, set(_signal.valid_signals()) - keep)
    except (OSError, ValueError):
        pass


def _append_pair(buf: Buffer, side_item: tuple, frame: tuple) -> None:
    """Append a frame and its side item (``side_item`` is a 1-tuple holding it) with nothing of the
    program able to run in between.

    Code that runs between the two appends and records events of its own (a ``__del__`` or weakref
    callback run by the cyclic collector, a signal handler, a generator's finalisation) would put
    its frames and side items between ours: side items and frames then pair up wrongly for the rest
    of the stream (an exception frame read with another frame's details: python-dateutil's suite
    under ``full_trace`` did it). Both objects are made by the caller, so no allocation here can
    start the collector, and two in-place concatenations are no call: CPython 3.11 runs pending
    signal handlers and switches threads only at calls and backward jumps.
    """
    side = buf.side
    side += side_item
    buf += frame


class Buffer(list):
    """A thread's main buffer (integer frames) with its ``side`` list (previews, exception details)."""

    __slots__ = ("side",)

    def __init__(self) -> None:
        super().__init__()
        self.side: list = []


# -- the process-wide recorder and the names instrumented code uses -------------------

_ACTIVE: list[Recorder] = []


def active() -> Recorder | None:
    """The recorder of this process, if capture is on."""
    return _ACTIVE[0] if _ACTIVE else None


def start(directory: str, run_id: str, **options: object) -> Recorder:
    """Create and start this process's recorder (once)."""
    if _ACTIVE:
        return _ACTIVE[0]
    recorder = Recorder(directory, run_id, **options)
    _ACTIVE.append(recorder)
    recorder.start()
    return recorder


class _Sink(deque):
    """Where instrumented code appends when its thread's buffer could not be had: nowhere."""

    __slots__ = ("side",)

    def __init__(self) -> None:
        super().__init__((), 0)
        self.side = deque((), 0)


#: Stands for a value that must not be recorded (a secret-looking name); previews as `REDACTED`.
_SECRET = object()

#: (first, every) -> (tuple of ``first`` ones, ``every``-long period starting with a one), shared.
_PATTERNS: dict[tuple[int, int], tuple[tuple, tuple]] = {}


def sampler(first: int = SAMPLE_FIRST, every: int = SAMPLE_EVERY):
    """An endless iterator giving True on the executions whose values are previewed, else False: the
    first ``first``, then one in every ``every`` (C-level: ``next()`` costs ~20 ns; no per-node
    memory beyond the iterator, as the patterns are shared)."""
    key = (max(0, int(first)), max(1, int(every)))
    pattern = _PATTERNS.get(key)
    if pattern is None:
        # Booleans: a jump on True/False is a pointer test, on an int it calls PyObject_IsTrue.
        pattern = _PATTERNS[key] = ((True,) * key[0], (True,) + (False,) * (key[1] - 1))
    return itertools.chain.from_iterable(itertools.chain((pattern[0],), itertools.repeat(pattern[1])))


def samplers(spec: tuple) -> list:
    """One `sampler` per ``(first, every)`` of ``spec``, and a call counter (``itertools.count``) per
    ``(-1, N event code)``; never raises (never samples on failure)."""
    try:
        return [itertools.count() if first < 0 else sampler(first, every) for first, every in spec]
    except Exception:  # noqa: BLE001
        return [itertools.count() if isinstance(s, tuple) and s and s[0] < 0 else itertools.repeat(False)
                for s in spec]


def _count_of(counter: object) -> int:
    """How often ``next()`` was called on an ``itertools.count()``: its repr, ``count(N)``, reads
    the state without advancing it (pickling itertools objects is deprecated from 3.12)."""
    text = repr(counter)
    return int(text[6:-1]) if text.startswith("count(") else 0


def runtime_names() -> dict[str, object]:
    """The ``_ar_*`` names the instrumented code refers to (made builtins by `bind_module`).

    Frames and side items follow `astrepo.capture.codes`; every helper swallows its own errors.
    """
    recorder = active()
    if recorder is None:
        recorder = Recorder(os.devnull, "inactive")
        recorder._fd = -1
    pv = recorder.preview
    clock = time.perf_counter_ns
    thread_buffer = recorder.thread_buffer
    stats = recorder.stats

    def preview(v: object) -> object:
        return REDACTED if v is _SECRET else pv(v)

    def side_values(buf: Buffer, values: tuple) -> None:
        """Side item of a sampled call enter: the arguments' previews."""
        try:
            buf.side.append(tuple([preview(v) for v in values]))
        except Exception:  # noqa: BLE001
            stats["errors"] += 1
            buf.side.append(())

    def side_one(buf: Buffer, v: object) -> None:
        """Side item of a sampled return: the value's preview."""
        try:
            buf.side.append(preview(v))
        except Exception:  # noqa: BLE001
            stats["errors"] += 1
            buf.side.append(None)

    def side_names(buf: Buffer, names: tuple, values: tuple) -> None:
        """Side item of a sampled variables event: names and previews, interleaved."""
        try:
            out = []
            for name, v in zip(names, values):
                out.append(name)
                out.append(preview(v))
            buf.side.append(tuple(out))
        except Exception:  # noqa: BLE001
            stats["errors"] += 1
            buf.side.append(())

    def value_sampled(buf: Buffer, code: int, v: object) -> object:
        """A sampled expression value (``code`` is the V1 code); returns the value."""
        try:
            buf.side.append(pv(v))
        except Exception:  # noqa: BLE001
            stats["errors"] += 1
            buf.side.append(None)
        buf.append(code)
        return v

    def value(code: int, sampled: int, v: object) -> object:
        """An expression value where no local buffer is at hand (``code`` is the V0 code)."""
        try:
            buf = thread_buffer()
            if sampled:
                buf.side.append(pv(v))
                buf.append(code + 1)
            else:
                buf.append(code)
        except Exception:  # noqa: BLE001
            stats["errors"] += 1
        return v

    def exc(code: int, e: BaseException, buf: Buffer | None = None) -> None:
        try:
            if buf is None:
                buf = thread_buffer()
            frame = (code, clock())
            tb = e.__traceback__
            line = tb.tb_lineno if tb is not None else 0
            here = tb is not None and tb.tb_next is None
            _append_pair(buf, ((_type_name(type(e)), pv(_exc_text(e)), line, here),), frame)
        except Exception:  # noqa: BLE001
            stats["errors"] += 1

    def handler(code: int) -> None:
        try:
            buf = thread_buffer()
            e = sys.exc_info()[1]
            tb = e.__traceback__ if e is not None else None
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            origin = (tb.tb_frame.f_code.co_filename, tb.tb_lineno) if tb is not None else ("", 0)
            frame = (code, clock())
            _append_pair(buf, ((_type_name(type(e)), pv(_exc_text(e)), origin[0], origin[1]),), frame)
        except Exception:  # noqa: BLE001
            stats["errors"] += 1

    def task_id() -> int:
        try:
            aio = sys.modules.get("asyncio")
            task = aio.current_task() if aio is not None else None
            return id(task) if task is not None else 0
        except Exception:  # noqa: BLE001
            return 0

    return {
        "_ar_tl": recorder.local,
        "_ar_nb": thread_buffer,
        "_ar_clock": clock,
        "_ar_next": next,
        "_ar_sv": side_values,
        "_ar_s1": side_one,
        "_ar_sw": side_names,
        "_ar_vs": value_sampled,
        "_ar_v": value,
        "_ar_x": exc,
        "_ar_h": handler,
        "_ar_task": task_id,
        "_ar_SECRET": _SECRET,
        "_ar_D": _Sink(),
    }


def bind_module(path: str, table: tuple, sampling: tuple = (), implied: tuple = (), follows: tuple = ()) -> list:
    """Called by an instrumented module first thing: make sure the ``_ar_*`` helpers are builtins
    (bound to this process's recorder), register the module (``implied``: (line code, branch
    code) pairs, ``follows``: (call code, line code) pairs, see `Recorder.register_module`), and
    return its samplers (one per ``(first, every)`` of ``sampling``; a ``(-1, N code)`` is a call
    counter, whose count the recorder writes when the process ends).

    Builtins rather than module globals: a module's namespace stays the program's own (code that
    lists it, like toolz's tests of its curried namespace, sees no difference); the instrumented
    code reaches builtins as fast (``LOAD_GLOBAL`` specializes for them).
    """
    import builtins

    try:
        recorder = active()
        if getattr(builtins, "_ar_tl", None) is not getattr(recorder, "local", False):
            builtins.__dict__.update(runtime_names())
        if recorder is not None:
            recorder.register_module(path, table, implied, follows)
    except Exception:  # noqa: BLE001
        recorder = None
        if not hasattr(builtins, "_ar_tl"):
            builtins.__dict__.update(runtime_names())
    q = samplers(sampling)
    if recorder is not None:
        recorder.counters.extend((code, q, slot) for slot, (first, code) in enumerate(sampling) if first < 0)
    return q


def _exc_text(e: BaseException) -> str:
    try:
        return str(e)
    except Exception:  # noqa: BLE001
        return "<str raised>"
