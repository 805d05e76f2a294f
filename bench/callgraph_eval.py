"""Call-graph accuracy: edge-level precision and recall against expected PyCG-format graphs.

Usage: python bench/callgraph_eval.py [CASES_DIR] [--no-pycg] [--details] [--json] [--verify-runtime]

CASES_DIR (default: tests/callgraph_cases) holds ``<category>/<case>/`` folders,
each with the case's ``*.py`` files and a ``callgraph.json``: the expected
call graph in PyCG's output format (caller -> list of callees, PyCG's naming).
Any directory with that layout works, e.g. a checkout of PyCG's public
micro-benchmark.

For every case it runs ``astrepo export callgraph --format pycg --root CASE``
(the real CLI, in a subprocess, with a throw-away ``--db``) and, when PyCG is
importable by this interpreter (``pip install pycg==0.0.7``; ``--pycg-python``
points at another interpreter), ``python -m pycg --package CASE <files>`` in
the same run. Edges are (caller, callee) pairs; precision = |found and
expected| / |found|, recall = |found and expected| / |expected|, summed over
the cases of a category (micro average) and over all cases.

A case may also hold ``known_misses.json`` (``{"why": ..., "missing": [[caller, callee], ...],
"unexpected": [...]}``): expected edges astrepo is known not to find yet (and, rarely, edges it is
known to report wrongly). They still count against recall (the scores
stay honest); the report lists them apart, as expected failures, and says when one is found
after all (the file should then shrink) or when astrepo misses an edge nobody wrote down.

``--verify-runtime`` checks the expected graphs themselves: it runs each case's
``main.py`` under ``sys.setprofile`` and compares the project-internal edges
(caller and callee both defined in the case) with the expected ones, so the
ground truth says what really happens at run time. Cases whose graphs
contain calls that never run (e.g. both branches of an ``if``) need an
exception list; ours have none.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CASES = HERE.parent / "tests" / "callgraph_cases"

Edges = set[tuple[str, str]]


def find_cases(root: Path) -> list[tuple[str, Path]]:
    """(category, case dir) for every ``<category>/<case>/callgraph.json`` under root, sorted."""
    return sorted((p.parent.parent.name, p.parent) for p in root.glob("*/*/callgraph.json"))


def edges_of(graph: dict[str, list[str]]) -> Edges:
    """The (caller, callee) pairs of a PyCG-format graph."""
    return {(src, dst) for src, dsts in graph.items() for dst in dsts}


def run_astrepo(case: Path, work: Path) -> dict[str, list[str]]:
    """The case's call graph as ``astrepo export callgraph --format pycg --root CASE`` writes it."""
    out = work / "astrepo.json"
    cmd = [sys.executable, "-m", "astrepo.cli.app", "export", "callgraph", "--format", "pycg",
           "--root", str(case), "--db", str(work / "db"), "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"astrepo failed on {case}: {proc.stderr.strip()[-400:]}")
    return json.loads(out.read_text())


def run_pycg(python: str, case: Path, work: Path) -> dict[str, list[str]]:
    """The case's call graph as PyCG computes it (every file of the case an entry point)."""
    out = work / "pycg.json"
    files = sorted(str(p) for p in case.rglob("*.py"))
    proc = subprocess.run([python, "-m", "pycg", "--package", str(case), *files, "-o", str(out)],
                          capture_output=True, text=True)
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(f"pycg failed on {case}: {proc.stderr.strip()[-400:]}")
    return json.loads(out.read_text())


def pycg_broken(python: str) -> str:
    """Why PyCG cannot start under ``python`` ("" when it can): e.g. PyCG 0.0.7 imports
    ``pkg_resources``, which setuptools 81 and later no longer have."""
    proc = subprocess.run([python, "-c", "import pycg.__main__"], capture_output=True, text=True)
    return (proc.stderr.strip().splitlines() or ["exit status %d" % proc.returncode])[-1] if proc.returncode else ""


def known_misses(case: Path) -> tuple[Edges, Edges, str]:
    """The edges astrepo is known to miss in a case and those it is known to report wrongly
    (its ``known_misses.json``), and why."""
    path = case / "known_misses.json"
    if not path.exists():
        return set(), set(), ""
    data = json.loads(path.read_text())
    return ({(a, b) for a, b in data.get("missing", [])}, {(a, b) for a, b in data.get("unexpected", [])},
            data.get("why", ""))


def score(found: Edges, expected: Edges) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives)."""
    tp = len(found & expected)
    return tp, len(found - expected), len(expected - found)


def ratio(a: int, b: int) -> float:
    return a / b if b else 1.0


def evaluate(cases: list[tuple[str, Path]], tools: dict[str, object], jobs: int) -> dict:
    """Per case and tool: the score and the differing edges."""

    def one(item: tuple[str, Path]) -> tuple[str, str, dict]:
        category, case = item
        expected = edges_of(json.loads((case / "callgraph.json").read_text()))
        row: dict[str, dict] = {}
        for tool, run in tools.items():
            with tempfile.TemporaryDirectory(prefix="cgeval-") as tmp:
                try:
                    found = edges_of(run(case, Path(tmp)))  # type: ignore[operator]
                    error = ""
                except (RuntimeError, json.JSONDecodeError, OSError) as err:
                    found, error = set(), str(err)
            tp, fp, fn = score(found, expected)
            row[tool] = {"tp": tp, "fp": fp, "fn": fn, "error": error,
                         "missing": sorted(expected - found), "unexpected": sorted(found - expected)}
        known, wrong, why = known_misses(case)
        if (known or wrong) and "astrepo" in row:
            missing = set(map(tuple, row["astrepo"]["missing"]))
            unexpected = set(map(tuple, row["astrepo"]["unexpected"]))
            row["astrepo"]["known_missing"] = sorted(known & missing) + sorted(wrong & unexpected)
            row["astrepo"]["known_found"] = sorted(known - missing) + sorted(wrong - unexpected)
            row["astrepo"]["known_why"] = why
        return category, case.name, row

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(one, cases))
    return {"cases": [{"category": c, "case": n, "tools": r} for c, n, r in results]}


def summarize(report: dict, tools: list[str]) -> dict:
    """Micro-averaged precision/recall per category and overall, per tool."""
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for entry in report["cases"]:
        for tool in tools:
            r = entry["tools"][tool]
            for key in (entry["category"], "overall"):
                s = sums[(key, tool)]
                s[0] += r["tp"]
                s[1] += r["fp"]
                s[2] += r["fn"]
                s[3] += 1
    out: dict[str, dict] = {}
    for (key, tool), (tp, fp, fn, n) in sorted(sums.items()):
        out.setdefault(key, {})[tool] = {"cases": n, "precision": round(ratio(tp, tp + fp), 3),
                                         "recall": round(ratio(tp, tp + fn), 3), "tp": tp, "fp": fp, "fn": fn}
    return out


# -- checking the ground truth against a real run ------------------------------------------

_TRACER = r'''
import json, os, sys, builtins
root, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, root)
edges = set()
BUILTIN_TYPES = {str: "PyStr", list: "PyList", dict: "PyDict", set: "PySet", tuple: "PyTuple", bytes: "PyBytes"}

def frame_name(f):
    while f is not None and f.f_code.co_name in ("<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>"):
        f = f.f_back
    if f is None:
        return None
    path = os.path.abspath(f.f_code.co_filename)
    if not path.startswith(root + os.sep):
        return None
    rel = os.path.relpath(path, root)[:-3].replace(os.sep, ".")
    module = rel[: -len(".__init__")] if rel.endswith(".__init__") else rel
    if f.f_code.co_name == "<module>":
        return module
    q = f.f_code.co_qualname.replace(".<locals>", "")
    if "<lambda>" in q:
        q = q.replace("<lambda>", "<lambda@%d>" % f.f_code.co_firstlineno)
    return module + "." + q

def profile(frame, event, arg):
    if event == "call":
        callee = frame_name(frame)
        class_body = not frame.f_code.co_flags & 0x2  # CO_NEWLOCALS: functions, not class bodies
        if callee is not None and not class_body and frame.f_code.co_name not in (
                "<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>"):
            caller = frame_name(frame.f_back)
            if caller is not None and frame.f_code.co_name != "<module>":
                edges.add((caller, callee))
    elif event == "c_call":
        caller = frame_name(frame)
        owner = getattr(arg, "__self__", None)
        if caller is not None:
            if owner is builtins and arg.__name__ != "__build_class__":
                edges.add((caller, "<builtin>." + arg.__name__))
            elif type(owner) in BUILTIN_TYPES:
                edges.add((caller, "<**%s**>.%s" % (BUILTIN_TYPES[type(owner)], arg.__name__)))

sys.argv = [os.path.join(root, "main.py")]
sys.setprofile(profile)
try:
    exec(compile(open(sys.argv[0]).read(), sys.argv[0], "exec"), {"__name__": "__main__"})
finally:
    sys.setprofile(None)
    json.dump(sorted(edges), open(out, "w"))
'''


def _lambda_names(case: Path) -> dict[tuple[str, int], str]:
    """(module, line) of each lambda -> its PyCG number (per enclosing scope, source order)."""
    names: dict[tuple[str, int], str] = {}
    for path in case.rglob("*.py"):
        rel = path.relative_to(case).with_suffix("").as_posix().replace("/", ".")
        module = rel.removesuffix(".__init__")
        tree = ast.parse(path.read_text())

        def visit(node: ast.AST, counter: list[int]) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.Lambda):
                    counter[0] += 1
                    names[(module, child.lineno)] = f"<lambda{counter[0]}>"
                    visit(child, [0])
                elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    visit(child, [0])
                else:
                    visit(child, counter)

        visit(tree, [0])
    return names


def runtime_edges(case: Path) -> tuple[Edges, str]:
    """Edges observed running ``main.py`` (project-internal ones, plus builtin functions and methods),
    and the error that stopped the run early ("" when it ran to the end), e.g. a missing external module."""
    with tempfile.TemporaryDirectory(prefix="cgtrace-") as tmp:
        out = Path(tmp) / "edges.json"
        proc = subprocess.run([sys.executable, "-c", _TRACER, str(case.resolve()), str(out)],
                              capture_output=True, text=True, cwd=tmp)
        error = (proc.stderr.strip().splitlines() or ["exit status %d" % proc.returncode])[-1] \
            if proc.returncode else ""
        raw = json.loads(out.read_text()) if out.exists() else []
    lambdas = _lambda_names(case)
    edges: Edges = set()
    for caller, callee in raw:
        fixed = []
        for name in (caller, callee):
            if "<lambda@" in name:
                head, _, rest = name.partition("<lambda@")
                line = int(rest.split(">", 1)[0])
                module = next((m for (m, ln) in lambdas if ln == line and head.startswith(m + ".")), "")
                name = head + lambdas.get((module, line), "<lambda?>")
            fixed.append(name)
        edges.add((fixed[0], fixed[1]))
    return edges, error


def verify_runtime(cases: list[tuple[str, Path]]) -> int:
    """Compare expected graphs with real runs; return how many cases disagree.

    A case that cannot run to its end (it imports a module that is not there, as the cases
    about external libraries do) is reported and not compared."""
    bad = compared = 0
    for category, case in cases:
        if not (case / "main.py").exists():
            continue
        expected = edges_of(json.loads((case / "callgraph.json").read_text()))
        observed, error = runtime_edges(case)
        if error:
            print(f"{category}/{case.name}: not compared, the run stopped: {error}")
            continue
        compared += 1
        internal = {(a, b) for a, b in expected if not b.startswith("<") and (
            (case / (b.split(".")[0] + ".py")).exists() or (case / b.split(".")[0]).is_dir())}
        missing = {e for e in observed if e not in expected}
        never = {e for e in internal if e not in observed}
        if missing or never:
            bad += 1
            print(f"{category}/{case.name}:")
            for a, b in sorted(missing):
                print(f"  runs but not expected: {a} -> {b}")
            for a, b in sorted(never):
                print(f"  expected but never runs: {a} -> {b}")
    print(f"{compared - bad}/{compared} cases agree with a real run ({len(cases) - compared} not compared)")
    return bad


# -- output --------------------------------------------------------------------------------

def print_table(summary: dict, tools: list[str]) -> None:
    header = f"{'category':<16}{'cases':>6}" + "".join(f"{t + ' P':>12}{t + ' R':>10}" for t in tools)
    print(header)
    keys = sorted(k for k in summary if k != "overall") + ["overall"]
    for key in keys:
        row = summary[key]
        first = row[tools[0]]
        line = f"{key:<16}{first['cases']:>6}"
        for tool in tools:
            line += f"{row[tool]['precision']:>12.3f}{row[tool]['recall']:>10.3f}"
        print(line)


def known_summary(report: dict) -> dict:
    """astrepo's misses split into expected failures (listed in known_misses.json), known misses
    it now finds, and misses nobody wrote down; edges as "category/case: caller -> callee"."""
    out: dict[str, list[str]] = {"known_missing": [], "known_found": [], "unlisted_missing": []}
    for entry in report["cases"]:
        r = entry["tools"].get("astrepo")
        if r is None:
            continue
        where = f"{entry['category']}/{entry['case']}"
        known = set(map(tuple, r.get("known_missing", [])))
        for key in ("known_missing", "known_found"):
            out[key] += [f"{where}: {a} -> {b}" for a, b in r.get(key, [])]
        out["unlisted_missing"] += [f"{where}: {a} -> {b}" for a, b in r["missing"] if (a, b) not in known]
        out["unlisted_missing"] += [f"{where}: {a} -> {b} (unexpected)" for a, b in r["unexpected"]
                                    if (a, b) not in known]
    return out


def print_known(known: dict) -> None:
    if not (known["known_missing"] or known["known_found"]):
        return
    print(f"astrepo expected failures (known_misses.json): {len(known['known_missing'])} edges still missing, "
          f"{len(known['known_found'])} now found, {len(known['unlisted_missing'])} missing edges not listed")
    for line in known["known_found"]:
        print(f"  now found, drop from known_misses.json: {line}")
    for line in known["unlisted_missing"]:
        print(f"  missing and not listed: {line}")


def print_details(report: dict, tools: list[str]) -> None:
    for entry in report["cases"]:
        for tool in tools:
            r = entry["tools"][tool]
            if r["error"] or r["missing"] or r["unexpected"]:
                print(f"{tool} {entry['category']}/{entry['case']}: {r['error']}")
                known = set(map(tuple, r.get("known_missing", [])))
                if known:
                    print(f"  known miss: {r['known_why']}")
                for a, b in r["missing"]:
                    print(f"  missing     {a} -> {b}{'  (known)' if (a, b) in known else ''}")
                for a, b in r["unexpected"]:
                    print(f"  unexpected  {a} -> {b}{'  (known)' if (a, b) in known else ''}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="?", type=Path, default=DEFAULT_CASES,
                    help="folder of <category>/<case>/{*.py, callgraph.json} (default: our own cases)")
    ap.add_argument("--no-pycg", action="store_true", help="do not run PyCG even when it is installed")
    ap.add_argument("--pycg-python", default="", help="interpreter that has pycg installed (default: this one)")
    ap.add_argument("--details", action="store_true", help="list missing and unexpected edges per case")
    ap.add_argument("--json", action="store_true", help="print the full report as JSON")
    ap.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2)))
    ap.add_argument("--verify-runtime", action="store_true",
                    help="check the expected graphs against real runs of each case's main.py instead")
    args = ap.parse_args(argv)
    cases = find_cases(args.cases)
    if not cases:
        print(f"no <category>/<case>/callgraph.json under {args.cases}", file=sys.stderr)
        return 1
    if args.verify_runtime:
        return 1 if verify_runtime(cases) else 0
    tools: dict[str, object] = {"astrepo": run_astrepo}
    pycg_python = args.pycg_python or (sys.executable if importlib.util.find_spec("pycg") else "")
    broken = pycg_broken(pycg_python) if pycg_python and not args.no_pycg else ""
    if broken:
        print(f"PyCG cannot run under {pycg_python} ({broken}); showing astrepo only "
              "(--pycg-python points at an interpreter where it runs)", file=sys.stderr)
    elif not args.no_pycg and pycg_python:
        tools["pycg"] = lambda case, work: run_pycg(pycg_python, case, work)
    elif not args.no_pycg:
        print("PyCG is not installed (pip install pycg==0.0.7); showing astrepo only", file=sys.stderr)
    names = list(tools)
    report = evaluate(cases, tools, args.jobs)
    summary = summarize(report, names)
    known = known_summary(report)
    if args.json:
        print(json.dumps({"format": 1, "summary": summary, "known_misses": known, **report}, indent=2))
        return 0
    if args.details:
        print_details(report, names)
    print_table(summary, names)
    print_known(known)
    return 0


if __name__ == "__main__":
    sys.exit(main())
