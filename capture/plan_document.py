"""The plan document: the points of the chosen levels, with reasons and predictions; writing,
validating against the current graph, explaining.

The document (``"format"``: `astrepo.capture.points.PLAN_FORMAT`) is what
`astrepo.capture.points.plan_from_json` reads inside the traced program, plus
what people and ``astrepo plan --review`` read: the strategy, budget, estimate,
notes, one entry per function (level, reason, predicted calls and cost) and the
predicted events per node.
"""

from __future__ import annotations

import hashlib
import json
import os

from astrepo.capture.levels import BOUNDARY, COUNTED, DEEP, FULL, LEVELS, TIMED
from astrepo.capture.plan_estimate import Counts
from astrepo.capture.plan_signals import Inputs
from astrepo.capture.points import PLAN_FORMAT
from astrepo.errors import ConfigError


def emit_points(inputs: Inputs, decisions: dict, counts: Counts, full: bool) -> tuple[list, dict]:
    """The points of every function's level, and the predicted events per node."""
    points: list[dict] = []
    predictions: dict[str, dict] = {}

    rel = ""  # the file of the points being added (`astrepo.capture.points`: per-module compiled code)

    def add(node_id: str, kind: str, reason: str, capture: dict | None = None, sampling: dict | None = None) -> None:
        points.append({"node_id": node_id, "kind": kind, "file": rel, "capture": capture or {},
                       "sampling": sampling, "reason": reason})

    for fid in sorted(decisions, key=lambda f: (inputs.functions[f].file, inputs.functions[f].line, f)):
        fn, d = inputs.functions[fid], decisions[fid]
        rel = fn.file
        add(fid, "exception", "exceptions everywhere")
        for eid in fn.excepts:
            add(eid, "exception", "exceptions everywhere")
        calls = counts.calls(fid)
        if d.level == COUNTED and fn.first_stmt:
            add(fn.first_stmt, "line", f"call counter of {fn.name}: {d.reason}", {"counter": True})
            predictions[fn.first_stmt] = {"kind": "line", "events": round(calls, 1), "function": fid}
        if d.level >= TIMED:
            capture = {"args": True, "return": True} if d.level >= BOUNDARY else {}
            add(fid, "function_boundary", d.reason, capture, d.sampling)
            predictions[fid] = {"kind": "function", "calls": round(calls, 1), "events": round(2 * calls, 1)}
        if d.level >= DEEP:
            for node_id, kind, depth, _ in fn.own:
                if node_id in d.hot_loops:
                    continue
                if kind in ("branch", "variable") or d.level >= FULL:
                    add(node_id, kind, f"{LEVELS[d.level]} capture of {fn.name}")
                    n = counts.node(fid, node_id, kind, depth)
                    prev = predictions.get(node_id)
                    if prev is None or prev["kind"] != "line":
                        predictions[node_id] = {"kind": kind, "events": round(n, 1), "function": fid}
    for rel in sorted(inputs.module_nodes):  # noqa: B007 - `add` reads it
        for node_id, kind, _ in inputs.module_nodes[rel]:
            if kind == "exception" or full:
                add(node_id, kind, "exceptions everywhere" if kind == "exception" else "full_trace")
    return points, predictions


def drop_stale(points: list[dict], graph_ids: set[str]) -> tuple[list[dict], list[str]]:
    """Points whose node IDs the graph knows, and the sorted stale IDs."""
    stale = sorted({p.get("node_id") for p in points if p.get("node_id") not in graph_ids})
    if not stale:
        return points, []
    bad = set(stale)
    return [p for p in points if p.get("node_id") not in bad], stale


def validate_plan(doc: dict, graph_ids: set[str]) -> tuple[dict, list[str]]:
    """Drop points whose node IDs the current graph does not know; returns (plan, stale ids)."""
    if not isinstance(doc, dict) or doc.get("format") != PLAN_FORMAT:
        raise ConfigError(f"a plan must be a JSON object with \"format\": {PLAN_FORMAT}")
    points, stale = drop_stale(list(doc.get("points", ())), graph_ids)
    if stale:
        doc = dict(doc, points=points, stale_dropped=len(stale))
    return doc, stale


def plan_digest(doc: dict) -> str:
    return hashlib.blake2b(json.dumps(doc.get("points", []), sort_keys=True).encode(), digest_size=6).hexdigest()


def write_plan(doc: dict, path: str) -> str:
    """Write ``doc`` atomically; returns ``path``."""
    from astrepo.capture.hook import write_atomic

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_atomic(path, (json.dumps(doc, indent=1) + "\n").encode("utf-8"))
    return path


def explain_lines(doc: dict) -> list[str]:
    """Human-readable reasons: one line per function, then the notes."""
    lines = []
    for f in doc.get("functions", ()):
        lines.append(f"{f['file']}:{f['line']} {f['name']}: {f['level']} - {f['reason']}"
                     f" (calls {'known' if f['known'] else '~'}{f['calls']:g}, {f['cost_ms']:.3f} ms)")
    lines.extend(f"note: {n}" for n in doc.get("notes", ()))
    return lines


def count_points(doc: dict) -> dict[str, int]:
    """Points per kind."""
    out: dict[str, int] = {}
    for p in doc.get("points", ()):
        out[p["kind"]] = out.get(p["kind"], 0) + 1
    return dict(sorted(out.items()))
