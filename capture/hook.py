"""The import hook: instrument project modules as they are imported.

A meta-path finder placed first on ``sys.meta_path`` asks the normal path
finder for a spec; when the module is a ``.py`` file under the project root
(and not in a virtualenv, site-packages, ``.astrepo`` or astrepo itself) it
swaps in a loader whose ``get_code`` returns instrumented code. Compiled
results are cached under ``<db>/cache/capture/`` keyed by source hash, path,
the digest of the plan's points on that module (`Plan.module_digest`; the
whole plan's for a plan whose points do not name their files), instrumenter
version and Python version. The plan enters those keys through its compiled form
(`plan_key`: the per-module digests, marshalled beside the compiled code and checked against the
plan file's size and modification time), so a warm start-up reads no JSON; the plan's points are
parsed only when a module must be instrumented anew.

Configured from the environment (`activate_from_env`), so every Python
process started under ``astrepo trace`` (subprocesses, multiprocessing spawn
children) traces itself; see `astrepo.capture.bootstrap`.

Standard library only; a failure to instrument a module falls back to the
plain code (counted, never raised).
"""

from __future__ import annotations

import importlib.machinery
import marshal
import os
import sys

from astrepo.capture import recorder as _recorder
from astrepo.capture.codes import INSTRUMENT_VERSION, blake2b, strategy_digest

#: Environment switches (the contract with `astrepo trace` and with users enabling capture by hand).
ENV_TRACE = "ASTREPO_TRACE"  #: "1" turns capture on
ENV_ROOT = "ASTREPO_ROOT"  #: project root (default: the current directory)
ENV_DB = "ASTREPO_DB"  #: the .astrepo folder (default: <root>/.astrepo)
ENV_RUN = "ASTREPO_RUN"  #: run id shared by all processes of one trace (default: a new one)
ENV_PLAN = "ASTREPO_PLAN"  #: path of a plan JSON file
ENV_STRATEGY = "ASTREPO_STRATEGY"  #: built-in strategy when there is no plan (default balanced)

#: Folder names never instrumented, wherever they are under the root.
EXCLUDED_DIRS = frozenset({".astrepo", ".git", ".venv", "venv", "env", ".env", "site-packages",
                           "dist-packages", ".tox", ".nox", "node_modules", "__pycache__", "build"})

_OWN_DIRS = tuple(
    os.path.dirname(os.path.abspath(m.__file__)) + os.sep
    for m in (sys.modules["astrepo"], sys.modules["astrepo.capture"])
)


class PlanKey:
    """What a traced process needs of its plan to start: the digest each module's compiled code is
    keyed by (`Plan.digests`). The plan itself (its points, read from JSON) is loaded by `plan` only
    when a module must be instrumented anew: a warm run imports neither ``json`` nor the plan modules.
    """

    __slots__ = ("strategy", "digest", "files", "empty", "path", "_plan")

    def __init__(self, digests: tuple, path: str | None = None, plan: object = None) -> None:
        self.strategy, self.digest, self.files, self.empty = digests
        self.path = path  #: the plan file; None for a built-in strategy
        self._plan = plan

    def module_digest(self, rel: str) -> str:
        """`Plan.module_digest` of module ``rel``."""
        return self.digest if self.files is None else self.files.get(rel, self.empty)

    def plan(self):
        """The `astrepo.capture.points.Plan` (parsed on first use)."""
        if self._plan is None:
            from astrepo.capture.points import plan_for_strategy, plan_from_json

            if self.path is None:
                self._plan = plan_for_strategy(self.strategy)
            else:
                with open(self.path, encoding="utf-8") as handle:
                    self._plan = plan_from_json(handle.read())
                # Should the file have changed since the key was read, modules are keyed by what they get.
                self.strategy, self.digest, self.files, self.empty = self._plan.digests()
        return self._plan


#: Version of the compiled plan files (`plan_key`); part of their content.
PLAN_KEY_FORMAT = 1


def write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (readers see all or nothing)."""
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def strategy_key(strategy: str) -> PlanKey:
    """The key of a built-in strategy's plan (`astrepo.capture.points.plan_for_strategy`; an unknown
    name fails there, when a module is instrumented: counted, the module runs plain)."""
    digest = strategy_digest(strategy)
    return PlanKey((strategy, digest, None, digest))


def compiled_plan_path(db: str, plan_path: str) -> str:
    """Where the compiled form of plan file ``plan_path`` is kept for database ``db``."""
    name = blake2b(os.path.abspath(plan_path).encode(), digest_size=8).hexdigest()
    return os.path.join(os.path.abspath(db), "cache", "capture", f"plan-{name}.marshal")


def plan_key(plan_path: str, db: str) -> PlanKey:
    """The key of the plan in file ``plan_path``: read from its compiled form (marshal, beside the
    compiled code) when that was made from the file as it is now (same size and modification time,
    as for ``.pyc`` files), else parsed from the JSON, and its compiled form (re)written. Raises
    OSError/ValueError on an unreadable or invalid plan."""
    st = os.stat(plan_path)
    compiled = compiled_plan_path(db, plan_path)
    try:
        with open(compiled, "rb") as handle:
            fmt, size, mtime_ns, digests = marshal.loads(handle.read())
        if (fmt, size, mtime_ns) == (PLAN_KEY_FORMAT, st.st_size, st.st_mtime_ns):
            return PlanKey(digests, plan_path)
    except (OSError, ValueError, EOFError, TypeError):
        pass
    return write_plan_key(plan_path, db)


def write_plan_key(plan_path: str, db: str) -> PlanKey:
    """Parse plan file ``plan_path`` and write its compiled form for `plan_key` (best effort);
    ``astrepo trace`` does it before the traced command starts."""
    from astrepo.capture.points import plan_from_json

    st = os.stat(plan_path)  # before reading: a plan rewritten meanwhile is parsed again next time
    with open(plan_path, encoding="utf-8") as handle:
        plan = plan_from_json(handle.read())
    digests = plan.digests()
    compiled = compiled_plan_path(db, plan_path)
    try:
        os.makedirs(os.path.dirname(compiled), exist_ok=True)
        write_atomic(compiled, marshal.dumps((PLAN_KEY_FORMAT, st.st_size, st.st_mtime_ns, digests)))
    except OSError:
        pass
    return PlanKey(digests, plan_path, plan)


class Config:
    """What one process traces and where it writes."""

    def __init__(self, root: str, db: str, run_id: str, plan: PlanKey) -> None:
        self.root = os.path.abspath(root)
        self.db = os.path.abspath(db)
        self.run_id = run_id
        self.plan = plan
        self.cache_dir = os.path.join(self.db, "cache", "capture")
        self.events_dir = os.path.join(self.db, "events", run_id)

    def wants(self, filename: str) -> bool:
        """Whether a source file is project code to instrument."""
        path = os.path.abspath(filename)
        return in_project(path, self.root) and not path.startswith(_OWN_DIRS)

    def relpath(self, filename: str) -> str:
        return os.path.relpath(os.path.abspath(filename), self.root).replace(os.sep, "/")


def in_project(path: str, root: str, excluded: frozenset = EXCLUDED_DIRS) -> bool:
    """Whether ``path`` (absolute) is a ``.py`` file under ``root`` outside the excluded folders.

    Self-contained (``os`` only): the bootstrap's sitecustomize carries a copy of this function,
    to decide on re-executing a main script before importing anything of astrepo.
    """
    if not path.endswith(".py") or not path.startswith(root + os.sep):
        return False
    return not any(part in excluded for part in path[len(root) + 1:].split(os.sep)[:-1])


def config_from_env(environ: dict | None = None) -> Config | None:
    """The configuration the environment asks for, or None when capture is off."""
    env = os.environ if environ is None else environ
    if env.get(ENV_TRACE) != "1":
        return None
    root = env.get(ENV_ROOT) or os.getcwd()
    db = env.get(ENV_DB) or os.path.join(root, ".astrepo")
    run_id = env.get(ENV_RUN) or new_run_id()
    plan_path = env.get(ENV_PLAN)
    if plan_path:
        plan = plan_key(plan_path, db)
    else:
        plan = strategy_key(env.get(ENV_STRATEGY) or "balanced")
    return Config(root, db, run_id, plan)


def new_run_id() -> str:
    """A sortable, unique run id."""
    import time
    import uuid

    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


def _source_key(source: bytes, rel: str):
    """The running hash of the part of a compiled-code cache key that is the module's own: its
    source and path (`_cache_file` adds the plan's part, possibly twice: the source is hashed once)."""
    key = blake2b(digest_size=16)
    for part in (source, rel.encode()):
        key.update(part)
        key.update(b"\0")
    return key


def _cache_file(source_key, rel: str, config: Config) -> str:
    """The compiled-code cache file of module ``rel`` (``source_key``: its `_source_key`) under the plan
    ``config`` has now."""
    key = source_key.copy()
    for part in (config.plan.module_digest(rel).encode(), str(INSTRUMENT_VERSION).encode(), sys.version.encode()):
        key.update(part)
        key.update(b"\0")
    return os.path.join(config.cache_dir, key.hexdigest() + ".code")


def compile_instrumented(source: bytes, filename: str, config: Config):
    """Instrumented code object for one file (cached); None when the file cannot be instrumented."""
    rel = config.relpath(filename)
    source_key = _source_key(source, rel)
    cache_file = _cache_file(source_key, rel, config)
    try:
        with open(cache_file, "rb") as handle:
            return marshal.loads(handle.read())
    except (OSError, ValueError, EOFError, TypeError):
        pass
    # Only a cache miss needs the plan's points and the instrumenter (and ``ast``): imported here.
    from astrepo.capture.instrument import instrument_source
    from astrepo.capture.strategies import points_for_module

    plan = config.plan.plan()
    cache_file = _cache_file(source_key, rel, config)  # the same unless the plan file changed meanwhile
    result = instrument_source(source, rel, lambda tree, ids: points_for_module(plan, tree, ids, rel))
    code = compile(result.tree, filename, "exec", dont_inherit=True)
    try:
        os.makedirs(config.cache_dir, exist_ok=True)
        write_atomic(cache_file, marshal.dumps(code))
    except OSError:
        pass
    return code


class _InstrumentingLoader(importlib.machinery.SourceFileLoader):
    """A source loader whose code is instrumented (and never written as .pyc)."""

    config: Config

    def get_code(self, fullname: str):
        try:
            source = self.get_data(self.path)
            return compile_instrumented(source, self.path, self.config)
        except SyntaxError:
            raise
        except Exception:  # noqa: BLE001 - fall back to the plain code
            rec = _recorder.active()
            if rec is not None:
                rec.stats["errors"] += 1
            return super().get_code(fullname)


class _Finder:
    """The meta-path finder (a plain class: ``importlib.abc`` cost every traced process its import)."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def find_spec(self, fullname, path, target=None):
        if fullname == "astrepo" or fullname.startswith("astrepo."):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or not spec.origin or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return spec
        if not self.config.wants(spec.origin):
            return spec
        loader = _InstrumentingLoader(fullname, spec.origin)
        loader.config = self.config
        spec.loader = loader
        return spec

    def invalidate_caches(self) -> None:
        pass


_INSTALLED: list[Config] = []


def installed() -> Config | None:
    return _INSTALLED[0] if _INSTALLED else None


def install(config: Config) -> None:
    """Start the recorder and put the finder first on sys.meta_path (once per process)."""
    if _INSTALLED:
        return
    _INSTALLED.append(config)
    _recorder.start(config.events_dir, config.run_id)
    sys.meta_path.insert(0, _Finder(config))


def activate_from_env() -> Config | None:
    """Install the hook if the environment asks for capture; never raises."""
    try:
        config = config_from_env()
        if config is None:
            return None
        os.environ.setdefault(ENV_RUN, config.run_id)  # children join the same run
        install(config)
        return config
    except Exception:  # noqa: BLE001 - capture must never break the program
        return None


def run_main_script(script: str) -> None:
    """Run ``script`` as ``__main__`` the way ``python script.py`` does, instrumented.

    Called by the bootstrap's re-exec shim; never returns normally (exits like
    the interpreter would, with the user's frames only in tracebacks).
    """
    config = installed()
    path = os.path.abspath(script)
    with open(path, "rb") as handle:
        source = handle.read()
    code = None
    if config is not None and config.wants(path):
        try:
            code = compile_instrumented(source, path, config)
        except SyntaxError:
            code = None
        except Exception:  # noqa: BLE001
            code = None
    if code is None:
        code = compile(source, path, "exec", dont_inherit=True)
    main = sys.modules["__main__"]
    namespace = main.__dict__
    builtins = namespace.get("__builtins__")
    namespace.clear()
    namespace.update({
        "__name__": "__main__", "__doc__": None, "__package__": None,
        "__loader__": importlib.machinery.SourceFileLoader("__main__", path), "__spec__": None,
        "__annotations__": {}, "__builtins__": builtins, "__file__": path, "__cached__": None,
    })
    try:
        exec(code, namespace)
    except SystemExit:
        raise
    except BaseException as err:  # noqa: BLE001 - report as the interpreter would
        tb = err.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != path:
            tb = tb.tb_next
        err.__traceback__ = tb if tb is not None else err.__traceback__
        sys.excepthook(type(err), err, err.__traceback__)
        if isinstance(err, KeyboardInterrupt):
            import atexit
            import signal

            atexit._run_exitfuncs()
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        sys.exit(1)
