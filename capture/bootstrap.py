"""The bootstrap folder put on ``PYTHONPATH`` so every Python process under a trace captures.

`write_bootstrap(folder)` writes two files there:

* ``sitecustomize.py``: when ``ASTREPO_TRACE=1``, installs the import hook
  (`astrepo.capture.hook.activate_from_env`); when the process runs a script
  under the project root (``python app.py``: the interpreter runs the main
  script without the import system), re-executes the same interpreter, with
  the same flags, on the shim below so the main script is instrumented too.
  Finally it runs the sitecustomize that ours shadows, if there is one.
* ``_astrepo_runmain.py``: the shim; runs the script as ``__main__`` through
  `astrepo.capture.hook.run_main_script`.

Processes started with ``-c``, ``-m`` (the module is imported, so it is
instrumented by the hook) or interactively are not re-executed.
"""

from __future__ import annotations

import os

SITECUSTOMIZE = r'''"""astrepo capture bootstrap (generated; see astrepo.capture.bootstrap)."""


def _astrepo_bootstrap():
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    if os.environ.get("ASTREPO_TRACE") == "1":
        try:
            from astrepo.capture import hook
        except Exception:  # astrepo not importable by this interpreter: run untraced
            hook = None
        config = hook.activate_from_env() if hook is not None else None
        argv0 = sys.argv[0] if sys.argv else ""
        shim = os.path.join(here, "_astrepo_runmain.py")
        orig = list(getattr(sys, "orig_argv", []))
        if (config is not None and argv0 not in ("", "-c", "-m") and argv0.endswith(".py")
                and os.path.abspath(argv0) != shim and config.wants(argv0)
                and os.environ.get("ASTREPO_NO_REEXEC") != "1"):
            try:
                i = orig.index(argv0, 1)
            except ValueError:
                i = -1
            if i > 0:
                rec = hook._recorder.active()
                if rec is not None:
                    rec.close()
                os.execv(sys.executable, [orig[0], *orig[1:i], shim, *orig[i:]])
    # Run the sitecustomize we shadow, if any.
    import importlib.util

    for entry in sys.path:
        if not entry or os.path.abspath(entry) == here:
            continue
        candidate = os.path.join(entry, "sitecustomize.py")
        if os.path.isfile(candidate):
            spec = importlib.util.spec_from_file_location("_astrepo_shadowed_sitecustomize", candidate)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            break


_astrepo_bootstrap()
del _astrepo_bootstrap
'''

RUNMAIN = r'''"""astrepo capture: run a script as __main__, instrumented (generated)."""
import os
import sys

del sys.argv[0]
sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))
from astrepo.capture.hook import run_main_script

run_main_script(sys.argv[0])
'''


def write_bootstrap(folder: str) -> str:
    """Write the bootstrap files into ``folder`` (created); returns the folder."""
    os.makedirs(folder, exist_ok=True)
    for name, text in (("sitecustomize.py", SITECUSTOMIZE), ("_astrepo_runmain.py", RUNMAIN)):
        path = os.path.join(folder, name)
        try:
            with open(path, encoding="utf-8") as handle:
                if handle.read() == text:
                    continue
        except OSError:
            pass
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    return folder


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
    env["PYTHONPATH"] = bootstrap_dir + (os.pathsep + existing if existing else "")
    return env
