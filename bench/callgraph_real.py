"""Call graphs of real projects: astrepo and PyCG against the calls their own test suites make.

Usage: python bench/callgraph_real.py [--pycg-python PY] [--only NAME] [--sample N] [--seed S]
                                      [--timeout SEC] [--tool-timeout SEC] [--save FILE] [--json]

For each package (pure-Python source distributions from PyPI with their own tests, the ones
``bench/package_suites.py`` runs; downloaded once into ``bench/.cache``):

1. its test suite runs once under a ``sys.setprofile`` recorder (threads too) that keeps every
   Python-level call whose caller and callee are both code of the package (tests excluded), named
   as PyCG names things: module dotted path + qualified name without ``<locals>``, module-level
   code as the module, lambdas ``<lambdaN>`` numbered per scope, comprehensions and class bodies
   counted as the scope around them. Calls made through C code (``sorted(key=f)``, ``map(f, xs)``,
   operators calling dunders) have the calling Python function as caller. A generator's frame
   starts at its first ``next()``, not where it was created; its first resumer is taken as caller
   (usually the creator);
2. astrepo (``astrepo export callgraph --format pycg --root``, indexing included) and PyCG 0.0.7
   (``pycg --package ROOT <every file>``, ``--pycg-python`` points at an interpreter that has it)
   each analyse a copy of the package's own modules (no tests), timed (wall, CPU, peak RSS);
3. both graphs are cut down to edges between the package's definitions (callees that are
   functions, methods or lambdas defined in it) and compared with the observed edges.

Reported per package and tool: recall of the observed edges, internal edges found, time, and
how many edges each tool has that the other lacks; ``--sample`` draws that many of those edges
(and of the observed edges each tool misses) at random for reading. A test suite exercises only
part of a package, so an edge nobody observed is not thereby wrong: precision cannot come from
the run alone; the sampled edges are for checking by hand (observed ones are marked).

Limits of the observed edges: the tools see the package without its tests, so a call of a
function the tests pass in (``valmap(identity, d)`` called from a test) is observed but out of
reach of either tool (``missed_by_all`` counts them with the other common misses); a generator's
edge goes to the function that first resumes it, which is not always where it was created.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from callgraph_eval import edges_of, pycg_broken  # noqa: E402
from package_suites import PACKAGES, sdist  # noqa: E402

CACHE = HERE / ".cache"

Edges = set[tuple[str, str]]


@dataclass(frozen=True)
class Project:
    name: str           # as in package_suites.PACKAGES
    import_root: str    # folder of the sdist the package is imported from ("" = top)
    modules: tuple[str, ...]  # package folders / single modules under import_root


PROJECTS = (
    Project("six", "", ("six.py",)),
    Project("idna", "", ("idna",)),
    Project("toolz", "", ("toolz",)),
    Project("python_dateutil", "src", ("dateutil",)),
    Project("more_itertools", "", ("more_itertools",)),
)


def is_test(rel: Path) -> bool:
    """Test code shipped inside a package (``toolz/tests/...``, ``test_*.py``, ``conftest.py``)."""
    return any(part in ("tests", "test", "testing") for part in rel.parts[:-1]) or \
        rel.name.startswith("test_") or rel.name.endswith("_test.py") or rel.name == "conftest.py"


def package_files(import_root: Path, project: Project) -> list[Path]:
    """The package's own modules (relative to the import root), tests left out."""
    out: list[Path] = []
    for entry in project.modules:
        path = import_root / entry
        files = [path] if path.is_file() else sorted(path.rglob("*.py"))
        out += [f.relative_to(import_root) for f in files if not is_test(f.relative_to(import_root))]
    return out


def module_name(rel: Path) -> str:
    name = rel.with_suffix("").as_posix().replace("/", ".")
    return name.removesuffix(".__init__")


# -- what the package defines, in PyCG's naming ---------------------------------------------

def definitions(root: Path, files: list[Path]) -> tuple[set[str], dict[tuple[str, int], str]]:
    """(names of every function, method and lambda defined, lambda (module, line) -> its name)."""
    names: set[str] = set()
    lambdas: dict[tuple[str, int], str] = {}
    for rel in files:
        module = module_name(rel)
        try:
            tree = ast.parse((root / rel).read_bytes())
        except SyntaxError:
            continue

        def visit(nodes: list[ast.AST], scope: str, counter: list[int]) -> None:
            """Name the definitions among nodes (and below them) in scope; lambdas are numbered
            per scope in source order, decorators and defaults belong to the scope around."""
            for node in nodes:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    outer = [*node.decorator_list, *node.args.defaults, *node.args.kw_defaults]
                    visit([n for n in outer if n is not None], scope, counter)
                    names.add(f"{scope}.{node.name}")
                    visit(node.body, f"{scope}.{node.name}", [0])
                elif isinstance(node, ast.ClassDef):
                    visit([*node.decorator_list, *node.bases, *node.keywords], scope, counter)
                    visit(node.body, f"{scope}.{node.name}", [0])
                elif isinstance(node, ast.Lambda):
                    counter[0] += 1
                    name = f"{scope}.<lambda{counter[0]}>"
                    names.add(name)
                    lambdas.setdefault((module, node.lineno), name)
                    visit([n for n in (*node.args.defaults, *node.args.kw_defaults) if n is not None], scope, counter)
                    visit([node.body], name, [0])
                else:
                    visit(list(ast.iter_child_nodes(node)), scope, counter)

        visit(tree.body, module, [0])
    return names, lambdas


# -- the run: observed calls ----------------------------------------------------------------

_RECORDER = r'''
import dis, json, os, sys, threading
out, import_root = sys.argv[1], sys.argv[2]
package = set(json.loads(sys.argv[3]))
sys.argv = ["pytest", *sys.argv[4:]]
edges, known = set(), {}
GENERATOR = 0x20 | 0x80 | 0x200  # CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR
SCOPELESS = ("<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>")
first_resume = {}

def ours(code):
    hit = known.get(code)
    if hit is None:
        hit = known[code] = os.path.abspath(code.co_filename) in package
    return hit

def starts(frame):
    """False for a generator resumed after its first step."""
    code = frame.f_code
    if not code.co_flags & GENERATOR:
        return True
    at = first_resume.get(code)
    if at is None:
        at = first_resume[code] = next((i.offset for i in dis.get_instructions(code) if i.opname == "RESUME"), 0)
    return frame.f_lasti <= at

def scope(frame):
    """The frame whose name a call in this frame goes under (comprehensions and class bodies
    belong to the scope around them)."""
    while frame is not None and (frame.f_code.co_name in SCOPELESS or not frame.f_code.co_flags & 0x2
                                 and frame.f_code.co_name != "<module>"):
        frame = frame.f_back
    return frame

def profile(frame, event, arg):
    if event != "call":
        return
    code = frame.f_code
    if not ours(code) or code.co_name in SCOPELESS or code.co_name == "<module>" or not code.co_flags & 0x2:
        return
    caller = scope(frame.f_back)
    if caller is not None and ours(caller.f_code) and starts(frame):
        edges.add((caller.f_code, code))

def save():
    def name(code):
        return [os.path.relpath(os.path.abspath(code.co_filename), import_root), code.co_firstlineno,
                code.co_name, code.co_qualname, bool(code.co_flags & GENERATOR)]
    json.dump([[name(a), name(b)] for a, b in edges], open(out, "w"))

import pytest
threading.setprofile(profile)
sys.setprofile(profile)
try:
    status = pytest.main(sys.argv[1:])
finally:
    sys.setprofile(None)
    threading.setprofile(None)
    save()
sys.exit(0 if status in (0, 1) else status)
'''


def code_name(raw: list, lambdas: dict[tuple[str, int], str]) -> str:
    """PyCG's name of a code object recorded as [file, first line, co_name, co_qualname]."""
    rel, line, co_name, qualname = raw[:4]
    module = module_name(Path(rel))
    if co_name == "<module>":
        return module
    if co_name == "<lambda>":
        return lambdas.get((module, line), f"{module}.<lambda?>")
    return f"{module}.{qualname.replace('.<locals>', '')}"


def observe(src: Path, test_args: list[str], path: str, import_root: Path, files: list[Path],
            lambdas: dict[tuple[str, int], str], timeout: int) -> tuple[Edges, Edges, float, str]:
    """Edges the test suite makes (between package functions), those of them whose callee is a
    generator (credited to its first resumer), seconds, pytest's last line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASTREPO_")}
    env["PYTHONHASHSEED"] = "0"
    if path:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(src / path), env.get("PYTHONPATH")) if p)
    package = [str((import_root / f).resolve()) for f in files]
    with tempfile.TemporaryDirectory(prefix="cgreal-") as tmp:
        out = Path(tmp) / "edges.json"
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _RECORDER, str(out), str(import_root.resolve()),
                               json.dumps(package), "-q", "-p", "no:cacheprovider", *test_args],
                              cwd=src, env=env, capture_output=True, text=True, timeout=timeout)
        seconds = time.perf_counter() - started
        if not out.exists():
            raise RuntimeError(f"the recorded test run failed: {proc.stderr.strip()[-600:]}")
        raw = json.loads(out.read_text())
    tail = (proc.stdout.strip().splitlines() or [""])[-1]
    edges = {(code_name(a, lambdas), code_name(b, lambdas)) for a, b in raw}
    generators = {(code_name(a, lambdas), code_name(b, lambdas)) for a, b in raw if b[4]}
    return edges, generators, seconds, tail


# -- the static tools -----------------------------------------------------------------------

@dataclass
class ToolRun:
    graph: dict[str, list[str]] = field(default_factory=dict)
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_mb: int = 0
    error: str = ""


def run_timed(cmd: list[str], out: Path, timeout: int, cwd: Path) -> ToolRun:
    """Run cmd (it writes a PyCG-format graph to out): the graph, wall and CPU seconds and peak RSS
    of that one child (``os.wait4``); killed after ``timeout`` seconds."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        run = ToolRun(wall_s=time.perf_counter() - started, cpu_s=usage.ru_utime + usage.ru_stime,
                      peak_mb=round(usage.ru_maxrss / 1024))
        if run.wall_s >= timeout:
            run.error = f"killed after {timeout} s"
        elif proc.returncode or not out.exists():
            err.seek(0)
            lines = err.read().decode(errors="replace").strip().splitlines()
            run.error = (lines or [f"exit status {proc.returncode}"])[-1]
        else:
            run.graph = json.loads(out.read_text())
    return run


def run_astrepo(root: Path, work: Path, timeout: int) -> ToolRun:
    out = work / "astrepo.json"
    return run_timed([sys.executable, "-m", "astrepo.cli.app", "export", "callgraph", "--format", "pycg",
                      "--root", str(root), "--db", str(work / "astrepo-db"), "-o", str(out)], out, timeout, work)


def run_pycg(python: str, root: Path, files: list[Path], work: Path, timeout: int) -> ToolRun:
    out = work / "pycg.json"
    return run_timed([python, "-m", "pycg", "--package", str(root), *(str(root / f) for f in files),
                      "-o", str(out)], out, timeout, work)


# -- comparing ------------------------------------------------------------------------------

def internal(edges: Edges, defined: set[str], modules: set[str]) -> Edges:
    """Edges from a package scope (module or definition) to a function defined in the package."""
    return {(a, b) for a, b in edges if b in defined and (a in defined or a in modules)}


def compare(observed: Edges, found: dict[str, Edges], rng: random.Random, sample: int) -> dict:
    tools = list(found)
    row: dict = {"observed": len(observed), "tools": {},
                 "missed_by_all": len(observed - set().union(*found.values())) if found else len(observed)}
    for tool in tools:
        edges = found[tool]
        hit = edges & observed
        others = set().union(*(found[t] for t in tools if t != tool)) if len(tools) > 1 else set()
        only = edges - others if len(tools) > 1 else set()
        missed = observed - edges
        row["tools"][tool] = {
            "edges": len(edges), "observed_found": len(hit),
            "recall": round(len(hit) / len(observed), 3) if observed else None,
            "only_this_tool": len(only), "only_this_tool_observed": len(only & observed),
            "sample_only": [[a, b, (a, b) in observed] for a, b in rng.sample(sorted(only), min(sample, len(only)))],
            "sample_missed": [[a, b] for a, b in rng.sample(sorted(missed), min(sample, len(missed)))],
        }
    return row


def evaluate(project: Project, args: argparse.Namespace, rng: random.Random) -> dict:
    name, version, test_args, path = next(p for p in PACKAGES if p[0] == project.name)
    with tempfile.TemporaryDirectory(prefix=f"cgreal-{name}-") as tmp:
        work = Path(tmp)
        with tarfile.open(sdist(str(CACHE), name, version)) as archive:
            archive.extractall(work / "sdist", filter="data")
        (src,) = (work / "sdist").iterdir()
        import_root = src / project.import_root
        files = package_files(import_root, project)
        static = work / "static"
        for rel in files:
            (static / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(import_root / rel, static / rel)
        defined, lambdas = definitions(static, files)
        modules = {module_name(f) for f in files}
        observed_all, generators, test_s, tail = observe(src, test_args, path, import_root, files, lambdas,
                                                         args.timeout)
        observed = internal(observed_all, defined, modules)
        plain = observed - generators
        runs = {"astrepo": run_astrepo(static, work, args.tool_timeout)}
        if args.pycg_python:
            runs["pycg"] = run_pycg(args.pycg_python, static, files, work, args.tool_timeout)
        found = {tool: internal(edges_of(run.graph), defined, modules) for tool, run in runs.items()}
        row = {"package": f"{name} {version}", "files": len(files),
               "lines": sum(len((static / f).read_bytes().splitlines()) for f in files),
               "definitions": len(defined), "tests": tail, "test_run_s": round(test_s, 1),
               "observed_unnamed": len(observed_all - observed), "observed_generator": len(observed & generators),
               **compare(observed, found, rng, args.sample)}
        for tool, edges in found.items():  # recall without the edges to generators (see the docstring)
            row["tools"][tool]["recall_no_generators"] = round(len(edges & plain) / len(plain), 3) if plain else None
            row["tools"][tool]["observed_found_no_generators"] = len(edges & plain)
        row["observed_no_generators"] = len(plain)
        for tool, run in runs.items():
            row["tools"][tool].update(wall_s=round(run.wall_s, 2), cpu_s=round(run.cpu_s, 2), error=run.error,
                                      all_edges=len(edges_of(run.graph)))
        return row


def print_rows(rows: list[dict]) -> None:
    """One line per package and tool columns: recall of the observed edges (and without the edges
    to generators), internal edges found, edges no other tool has, CPU seconds; then the packages
    every tool finished, summed."""
    tools = list(rows[0]["tools"]) if rows else []
    head = f"{'package':<24}{'observed':>9}{'no gen':>7}"
    for tool in tools:
        head += f"  {tool + ' R':>10}{'R no gen':>9}{'edges':>7}{'only':>6}{'cpu s':>7}"
    print(head)
    done = [r for r in rows if not any(t["error"] for t in r["tools"].values())]
    total = {"package": f"all {len(done)} both ran" if len(tools) > 1 else "all",
             "observed": sum(r["observed"] for r in done),
             "observed_no_generators": sum(r.get("observed_no_generators", 0) for r in done), "tools": {}}
    for tool in tools:
        hit = sum(r["tools"][tool]["observed_found"] for r in done)
        hit_plain = sum(r["tools"][tool].get("observed_found_no_generators", 0) for r in done)
        total["tools"][tool] = {
            "error": "", "recall": hit / total["observed"] if total["observed"] else 0.0,
            "recall_no_generators": hit_plain / total["observed_no_generators"] if total["observed_no_generators"] else 0.0,
            **{key: sum(r["tools"][tool][key] for r in done) for key in ("edges", "only_this_tool", "cpu_s")}}
    for row in rows + ([total] if len(rows) > 1 else []):
        line = f"{row['package']:<24}{row['observed']:>9}{row.get('observed_no_generators', 0):>7}"
        for tool in tools:
            t = row["tools"][tool]
            recall = "error" if t["error"] else f"{t['recall']:.3f}"
            plain = "" if t["error"] or t.get("recall_no_generators") is None else f"{t['recall_no_generators']:.3f}"
            line += f"  {recall:>10}{plain:>9}{t['edges']:>7}{t['only_this_tool']:>6}{t['cpu_s']:>7.1f}"
        print(line)
    for row in rows:
        for tool, t in row["tools"].items():
            if t["error"]:
                print(f"{row['package']}: {tool} failed: {t['error']}")


def print_samples(rows: list[dict]) -> None:
    for row in rows:
        for tool, t in row["tools"].items():
            if t["sample_only"]:
                print(f"\n{row['package']}: edges only {tool} has ({t['only_this_tool']}, "
                      f"{t['only_this_tool_observed']} of them observed), a sample:")
                for a, b, seen in t["sample_only"]:
                    print(f"  {'observed' if seen else '        '}  {a} -> {b}")
            if t["sample_missed"]:
                print(f"{row['package']}: observed edges {tool} misses, a sample:")
                for a, b in t["sample_missed"]:
                    print(f"            {a} -> {b}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pycg-python", default="", help="interpreter that has pycg 0.0.7 (default: none, astrepo only)")
    ap.add_argument("--only", action="append", metavar="NAME", help="only this package (repeatable)")
    ap.add_argument("--sample", type=int, default=5, help="edges drawn per package and tool for reading")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--timeout", type=int, default=1800, help="seconds allowed per test run")
    ap.add_argument("--tool-timeout", type=int, default=900,
                    help="wall seconds allowed per tool run (PyCG 0.0.7 runs for many minutes on more-itertools)")
    ap.add_argument("--save", type=Path, help="write the JSON report here after each package (partial results kept)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.pycg_python:
        broken = pycg_broken(args.pycg_python)
        if broken:
            print(f"PyCG cannot run under {args.pycg_python} ({broken})", file=sys.stderr)
            return 1
    rng = random.Random(args.seed)
    rows = []
    for project in PROJECTS:
        if args.only and project.name not in args.only:
            continue
        rows.append(evaluate(project, args, rng))
        if args.save:
            args.save.write_text(json.dumps({"format": 1, "rows": rows}, indent=1))
        if not args.json:
            print(f"{rows[-1]['package']}: tests {rows[-1]['tests']!r} in {rows[-1]['test_run_s']} s recorded",
                  file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps({"format": 1, "rows": rows}, indent=1))
        return 0
    print_rows(rows)
    print_samples(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
