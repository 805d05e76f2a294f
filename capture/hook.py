"""The import hook: instrument project modules as they are imported.

A meta-path finder placed first on ``sys.meta_path`` asks the normal path
finder for a spec; when the module is a ``.py`` file under the project root
(and not in a virtualenv, site-packages, ``.astrepo`` or astrepo itself) it
swaps in a loader whose ``get_code`` returns instrumented code. Compiled
results are cached under ``<db>/cache/capture/`` keyed by source hash, path,
the digest of the plan's points on that module (`Plan.module_digest`; the
whole plan's for a plan whose points do not name their files), instrumenter
version and Python version.

Configured from the environment (`activate_from_env`), so every Python
process started under ``astrepo trace`` (subprocesses, multiprocessing spawn
children) traces itself; see `astrepo.capture.bootstrap`.

Standard library only; a failure to instrument a module falls back to the
plain code (counted, never raised).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import marshal
import os
import sys

from astrepo.capture import recorder as _recorder
from astrepo.capture.codes import INSTRUMENT_VERSION, blake2b
from astrepo.capture.points import Plan, plan_for_strategy, plan_from_json

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


class Config:
    """What one process traces and where it writes."""

    def __init__(self, root: str, db: str, run_id: str, plan: Plan) -> None:
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
        with open(plan_path, encoding="utf-8") as handle:
            plan = plan_from_json(handle.read())
    else:
        plan = plan_for_strategy(env.get(ENV_STRATEGY) or "balanced")
    return Config(root, db, run_id, plan)


def new_run_id() -> str:
    """A sortable, unique run id."""
    import time
    import uuid

    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


def compile_instrumented(source: bytes, filename: str, config: Config):
    """Instrumented code object for one file (cached); None when the file cannot be instrumented."""
    rel = config.relpath(filename)
    key = blake2b(digest_size=16)
    for part in (source, rel.encode(), config.plan.module_digest(rel).encode(), str(INSTRUMENT_VERSION).encode(),
                 sys.version.encode()):
        key.update(part)
        key.update(b"\0")
    cache_file = os.path.join(config.cache_dir, key.hexdigest() + ".code")
    try:
        with open(cache_file, "rb") as handle:
            return marshal.loads(handle.read())
    except (OSError, ValueError, EOFError, TypeError):
        pass
    # Only a cache miss needs the instrumenter (and ``ast``): imported here, not at start-up.
    from astrepo.capture.instrument import instrument_source
    from astrepo.capture.strategies import points_for_module

    plan = config.plan
    result = instrument_source(source, rel, lambda tree, ids: points_for_module(plan, tree, ids, rel))
    code = compile(result.tree, filename, "exec", dont_inherit=True)
    try:
        os.makedirs(config.cache_dir, exist_ok=True)
        tmp = f"{cache_file}.{os.getpid()}.tmp"
        with open(tmp, "wb") as handle:
            handle.write(marshal.dumps(code))
        os.replace(tmp, cache_file)
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


class _Finder(importlib.abc.MetaPathFinder):
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
    import atexit
    import signal

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
            atexit._run_exitfuncs()
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        sys.exit(1)
