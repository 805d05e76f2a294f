"""The bootstrap folder whose zip goes on ``PYTHONPATH`` so every Python process under a trace captures.

`write_bootstrap(folder)` writes there:

* ``sitecustomize.py``, and `SITE_ZIP` holding it and its bytecode (the entry `trace_environment`
  puts on ``PYTHONPATH``). It first takes its own entry off ``sys.path``. Then, when
  ``ASTREPO_TRACE=1`` and the process runs a script under the project root (``python app.py``:
  the interpreter runs the main script without the import system), re-executes the same
  interpreter, with the same flags, on the shim below so the main script is instrumented
  too; that decision imports nothing of astrepo. Otherwise it installs the
  import hook (`astrepo.capture.hook.activate_from_env`), importing astrepo's
  modules from a bytecode cache in the bootstrap folder (``pycache/``). Finally it runs the
  sitecustomize that ours shadows, if there is one.
* ``_astrepo_runmain.py``: the shim; runs the script as ``__main__`` through
  `astrepo.capture.hook.run_main_script`.

Processes started with ``-c``, ``-m`` (the module is imported, so it is
instrumented by the hook) or interactively are not re-executed.
"""

from __future__ import annotations

import inspect
import marshal
import os

from astrepo.capture.hook import EXCLUDED_DIRS, in_project, write_atomic

_SITECUSTOMIZE = r'''"""astrepo capture bootstrap (generated; see astrepo.capture.bootstrap)."""


def _astrepo_bootstrap():
    import os
    import sys

    # Imported from the bootstrap's zip (what `astrepo trace` puts on PYTHONPATH) or from the folder.
    entry = os.path.dirname(os.path.abspath(__file__))
    here = os.path.dirname(entry) if entry.endswith(".zip") else entry
    # Off sys.path once we run (children still find us through PYTHONPATH): every later top-level
    # import searched it too, and the program sees the sys.path it has untraced.
    sys.path[:] = [p for p in sys.path if not p or os.path.abspath(p) != entry]
    env = os.environ
    if env.get("ASTREPO_TRACE") == "1":
        root = os.path.abspath(env.get("ASTREPO_ROOT") or os.getcwd())
        argv0 = sys.argv[0] if sys.argv else ""
        shim = os.path.join(here, "_astrepo_runmain.py")
        if (argv0 not in ("", "-c", "-m") and os.path.abspath(argv0) != shim and env.get("ASTREPO_NO_REEXEC") != "1"
                and in_project(os.path.abspath(argv0), root) and _astrepo_importable()):
            # The interpreter runs a main script without the import system: run it again through
            # the shim, which runs it instrumented. Decided before importing anything of astrepo,
            # so this process costs an interpreter start-up and nothing more.
            orig = list(getattr(sys, "orig_argv", []))
            try:
                i = orig.index(argv0, 1)
            except ValueError:
                i = -1
            if i > 0:
                os.execv(sys.executable, [orig[0], *orig[1:i], shim, *orig[i:]])
        _astrepo_activate(here)
    # Run the sitecustomize we shadow, if any.
    for path in sys.path:
        if not path or os.path.abspath(path) == here:
            continue
        candidate = os.path.join(path, "sitecustomize.py")
        if os.path.isfile(candidate):
            import importlib.util

            spec = importlib.util.spec_from_file_location("_astrepo_shadowed_sitecustomize", candidate)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            break


def _astrepo_importable():
    import importlib.util

    try:
        return importlib.util.find_spec("astrepo") is not None
    except Exception:
        return False


def _astrepo_activate(here):
    import os
    import sys

    # astrepo's modules load from a bytecode cache in the bootstrap folder whatever
    # PYTHONDONTWRITEBYTECODE says: compiling them anew cost every traced process ~50 ms.
    saved = sys.dont_write_bytecode, sys.pycache_prefix
    sys.dont_write_bytecode = False
    sys.pycache_prefix = os.path.join(here, "pycache")
    try:
        from astrepo.capture import hook
    except Exception:  # astrepo not importable by this interpreter: run untraced
        return None
    finally:
        sys.dont_write_bytecode, sys.pycache_prefix = saved
    return hook.activate_from_env()


import os  # noqa: E402 (for in_project)

EXCLUDED_DIRS = <<EXCLUDED_DIRS>>


<<IN_PROJECT>>

_astrepo_bootstrap()
del _astrepo_bootstrap
'''

#: The generated sitecustomize: the template with `astrepo.capture.hook.in_project` (one rule for
#: what is project code, in the hook and before the re-exec decision) and its folder list.
SITECUSTOMIZE = (_SITECUSTOMIZE.replace("<<EXCLUDED_DIRS>>",
                                        "frozenset({" + ", ".join(map(repr, sorted(EXCLUDED_DIRS))) + "})")
                 .replace("<<IN_PROJECT>>", inspect.getsource(in_project)))

RUNMAIN = r'''"""astrepo capture: run a script as __main__, instrumented (generated)."""
import os
import sys

del sys.argv[0]
sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))
try:
    from astrepo.capture.hook import run_main_script
except Exception:  # astrepo not importable after all: run the script as python would
    import runpy

    runpy.run_path(sys.argv[0], run_name="__main__")
else:
    run_main_script(sys.argv[0])
'''


#: The shim's file name in the bootstrap folder.
RUNMAIN_NAME = "_astrepo_runmain.py"


#: The zip holding the compiled sitecustomize, the entry `trace_environment` puts on ``PYTHONPATH``:
#: every import before ours runs (the interpreter's own, ``.pth`` files') searches it, and a zip's
#: lookups cost less than a folder's.
SITE_ZIP = "_astrepo_site.zip"


def write_bootstrap(folder: str) -> str:
    """Write the bootstrap files into ``folder`` (created): the sitecustomize (also compiled, in
    `SITE_ZIP`, so traced processes do not compile it at every start-up under
    ``PYTHONDONTWRITEBYTECODE``) and the shim; returns the folder. The folder itself on
    ``PYTHONPATH`` works too (the source sitecustomize is imported then)."""
    os.makedirs(folder, exist_ok=True)
    changed = False
    for name, text in (("sitecustomize.py", SITECUSTOMIZE), (RUNMAIN_NAME, RUNMAIN)):
        path = os.path.join(folder, name)
        try:
            with open(path, encoding="utf-8") as handle:
                if handle.read() == text:
                    continue
        except OSError:
            pass
        changed = True
        write_atomic(path, text.encode("utf-8"))
    site_zip = os.path.join(folder, SITE_ZIP)
    if changed or not os.path.exists(site_zip):
        write_atomic(site_zip, _site_zip_bytes())
    return folder


def _site_zip_bytes() -> bytes:
    """A zip of the sitecustomize as source and as bytecode that is never checked against the source
    (an interpreter of another version, whose magic number differs, compiles the source)."""
    import importlib.util
    import io
    import zipfile

    code = compile(SITECUSTOMIZE, "sitecustomize.py", "exec", dont_inherit=True)
    pyc = importlib.util.MAGIC_NUMBER + (0b01).to_bytes(4, "little") + importlib.util.source_hash(
        SITECUSTOMIZE.encode("utf-8")) + marshal.dumps(code)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("sitecustomize.py", SITECUSTOMIZE)
        archive.writestr("sitecustomize.pyc", pyc)
    return out.getvalue()


def trace_environment(base: dict, bootstrap_dir: str, root: str, db: str, run_id: str,
                      plan_path: str | None, strategy: str | None) -> dict:
    """The environment of a traced command."""
    env = dict(base)
    env["ASTREPO_TRACE"] = "1"
    env["ASTREPO_ROOT"] = os.path.abspath(root)
    env["ASTREPO_DB"] = os.path.abspath(db)
    env["ASTREPO_RUN"] = run_id
    if plan_path:
        env["ASTREPO_PLAN"] = os.path.abspath(plan_path)
    if strategy:
        env["ASTREPO_STRATEGY"] = strategy
    existing = env.get("PYTHONPATH")
    env["PYTHONPATH"] = os.path.join(bootstrap_dir, SITE_ZIP) + (os.pathsep + existing if existing else "")
    return env
