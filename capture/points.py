"""Instrumentation points: reading plans, and the built-in per-strategy defaults.

A plan (``astrepo plan`` writes them; see issue 7) is JSON::

    {"format": 1, "strategy": "balanced",
     "points": [{"node_id": "...", "kind": "function_boundary", "file": "pkg/mod.py",
                 "capture": {"args": true, "return": true}, "sampling": null, "reason": "..."}]}

``file`` (the module's path relative to the root, optional) lets a traced process key each
module's compiled code by that module's points alone (a new plan recompiles the modules whose
points changed); it is used only when every point has one.

Point kinds and what the instrumenter does for them:

* ``function_boundary`` (a function's node ID): entry (timestamp, argument
  previews if ``capture.args``), exit (duration, return preview if
  ``capture.return``);
* ``exception`` (a function's ID: exceptions leaving it, with the line they
  passed and whether they were raised there; an ``except`` clause's ID: the
  exception caught there and where it was raised);
* ``branch`` (an ``if``/``while``/``for``/``case`` ID): which way it went;
* ``line`` (any statement's ID): that it ran (``capture.counter`` on a function's first
  statement: counted by a C-level counter written when the process ends, not by events);
* ``variable`` (an ``assign``/``annassign``/``augassign`` ID): previews of the
  plain names it bound (never re-reads attributes or subscripts: that could run
  user code);
* ``expression`` (a ``call`` ID): a preview of the value.

``sampling`` (``{"first": N, "every": M}``, default null) says which executions carry value
previews (argument/return/expression/variable values): the first N, then one in every M; null means the recorder's default (`SAMPLE_FIRST`, `SAMPLE_EVERY` in
astrepo.capture.recorder). Every execution is still counted and timed. Expression points always
use the default.

A plan with no points and a ``strategy`` means the built-in default below
(`astrepo.capture.strategies`), computed per module from its source alone (so
it also works for modules the index has never seen):

* ``full_trace``: everything above at every node;
* ``balanced``: boundaries with argument/return previews of every function,
  exceptions everywhere, branches and variables in "complex" functions
  (at least `COMPLEX_DECISIONS` decision points, or containing ``raise``);
* ``minimal``: exceptions everywhere (free until an exception happens: the
  wrapper is a zero-cost ``try``) and bare boundaries (count, duration) of
  entry points (functions named like `ENTRY_NAMES`, ``test_*``).

Standard library only: this runs inside the traced program.
"""

from __future__ import annotations

from collections import namedtuple

from astrepo.capture.codes import blake2b, strategy_digest

#: Version of the plan document. History: 1 - first version.
PLAN_FORMAT = 1

STRATEGIES = ("minimal", "balanced", "full_trace")
POINT_KINDS = ("function_boundary", "expression", "variable", "branch", "line", "exception")

#: Decision points (if/for/while/try/except/case/bool ops) making a function "complex" for `balanced`.
COMPLEX_DECISIONS = 6

#: Function names treated as entry points by `minimal`.
ENTRY_NAMES = frozenset({"main", "run", "cli", "handle", "handler", "entry", "entrypoint", "app"})


# Records are named tuples, not dataclasses: this module is imported by every traced process at
# start-up, and ``dataclasses`` (with ``inspect``) would cost it ~5 ms.


class Point(namedtuple("Point", "node_id kind capture sampling reason")):
    """What to record at one node: ``kind`` is one of POINT_KINDS, ``capture`` a dict of options
    (``args``, ``return``), ``sampling`` ``{"first": N, "every": M}`` or None."""

    __slots__ = ()

    def __new__(cls, node_id: str, kind: str, capture: dict | None = None, sampling: object = None,
                reason: str = "") -> Point:
        return super().__new__(cls, node_id, kind, {} if capture is None else capture, sampling, reason)


class Plan(namedtuple("Plan", "strategy points digest files", defaults=((), "", None))):
    """A strategy and, when the planner made it, explicit points; ``digest`` identifies the plan;
    ``files`` (relative path -> that module's points) when every point names its file, else None."""

    __slots__ = ()

    @property
    def explicit(self) -> bool:
        return bool(self.points)

    def module_points(self, rel: str) -> tuple | None:
        """The points that can fall on module ``rel``: its own when the plan says which file each
        point is in, else None (any point of the plan may)."""
        if self.files is None:
            return None
        return self.files.get(rel, ())

    def module_digest(self, rel: str) -> str:
        """What module ``rel``'s instrumented code depends on in this plan, for the compiled-code
        cache: the digest of its own points (node, kind, capture, sampling: not the reasons) when
        the plan says which file each point is in, so a new plan recompiles only the modules whose
        points changed; else the whole plan's digest."""
        own = self.module_points(rel)
        if own is None:
            return self.digest
        import json

        rows = sorted(json.dumps([p.node_id, p.kind, p.capture, p.sampling], sort_keys=True, default=str)
                      for p in own)
        text = json.dumps([self.strategy, rows])
        return blake2b(text.encode(), digest_size=8).hexdigest()

    def digests(self) -> tuple:
        """What a traced process needs of this plan to find its modules' compiled code, and nothing
        more (`astrepo.capture.hook.PlanKey`): ``(strategy, digest, {module: module_digest} or None,
        the module_digest of a module without points)``. Plain data (marshal can store it)."""
        if self.files is None:
            return (self.strategy, self.digest, None, self.digest)
        return (self.strategy, self.digest, {rel: self.module_digest(rel) for rel in self.files},
                self.module_digest("\0"))


def plan_for_strategy(strategy: str) -> Plan:
    """A plan meaning "the built-in default of ``strategy``"."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")
    return Plan(strategy, (), strategy_digest(strategy))


def plan_from_json(text: str) -> Plan:
    """Parse a plan document; raises ValueError with a clear message on a bad one."""
    import json

    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"plan is not valid JSON: {err}") from err
    if not isinstance(doc, dict) or doc.get("format") != PLAN_FORMAT:
        raise ValueError(f"plan must be a JSON object with \"format\": {PLAN_FORMAT}")
    strategy = doc.get("strategy", "balanced")
    points = []
    files: dict | None = {}
    for raw in doc.get("points") or ():
        if not isinstance(raw, dict) or "node_id" not in raw or raw.get("kind") not in POINT_KINDS:
            raise ValueError(f"bad plan point {raw!r}: needs node_id and kind in {', '.join(POINT_KINDS)}")
        point = Point(str(raw["node_id"]), raw["kind"], dict(raw.get("capture") or {}),
                      raw.get("sampling"), str(raw.get("reason", "")))
        points.append(point)
        if files is not None:
            rel = raw.get("file")
            if isinstance(rel, str) and rel:
                files.setdefault(rel, []).append(point)
            else:
                files = None  # a point without its file: any module may hold it
    if not points:
        return plan_for_strategy(strategy)
    # The text as read (not a canonical dump: that cost a traced process ~30 ms on a 3,000-point plan).
    digest = blake2b(text.encode() if isinstance(text, str) else text, digest_size=8).hexdigest()
    return Plan(strategy, tuple(points), digest, None if files is None else {k: tuple(v) for k, v in files.items()})


def plan_to_json(plan: Plan) -> str:
    """Serialize a plan (the inverse of `plan_from_json`)."""
    import json

    return json.dumps({
        "format": PLAN_FORMAT, "strategy": plan.strategy,
        "points": [{"node_id": p.node_id, "kind": p.kind, "capture": p.capture, "sampling": p.sampling,
                    "reason": p.reason} for p in plan.points],
    }, indent=1)


#: node ID -> {point kind -> Point}
PointTable = dict[str, dict[str, Point]]


def __getattr__(name: str):
    """`points_for_module` and `default_points` live in `astrepo.capture.strategies` (they need
    ``ast``); importing them from here still works, at the cost of that import only then."""
    if name in ("points_for_module", "default_points"):
        from astrepo.capture import strategies

        return getattr(strategies, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
