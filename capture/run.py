"""Running a command under capture (the library side of ``astrepo trace``).

Runs in the CLI process: prepares the bootstrap folder and the environment,
runs the command with stdin/stdout/stderr inherited (so its output passes
through untouched) and returns its exit status. While the child runs, this
process ignores SIGINT/SIGTERM forwarding nothing: the terminal delivers
Ctrl-C to the whole foreground process group, so the child sees it exactly
as it would without astrepo.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass

from astrepo.capture.bootstrap import RUNMAIN_NAME, trace_environment, write_bootstrap
from astrepo.capture.hook import in_project, new_run_id, write_plan_key
from astrepo.capture.points import STRATEGIES
from astrepo.errors import CaptureError


@dataclass(frozen=True, slots=True)
class TraceResult:
    """What a traced run produced."""

    run_id: str
    exit_code: int  #: the command's; 128+N when killed by signal N
    seconds: float
    events_dir: str


def run_traced(command: list[str], root: str, db: str, plan_path: str | None = None,
               strategy: str | None = None) -> TraceResult:
    """Run ``command`` with capture on; raises CaptureError when it cannot be started."""
    if not command:
        raise CaptureError("nothing to run: give the command after --, e.g. astrepo trace -- python app.py")
    db = os.path.abspath(db)
    if plan_path:
        try:
            # Validated here, and compiled for the traced processes (which then read no JSON).
            write_plan_key(plan_path, db)
        except OSError as err:
            raise CaptureError(f"cannot read plan {plan_path}: {err.strerror or err}") from err
        except ValueError as err:
            raise CaptureError(f"{plan_path}: {err}") from err
    if strategy and strategy not in STRATEGIES:
        raise CaptureError(f"unknown strategy {strategy!r}: use one of {', '.join(STRATEGIES)}")
    bootstrap = write_bootstrap(os.path.join(db, "bootstrap"))
    run_id = new_run_id()
    env = trace_environment(dict(os.environ), bootstrap, root, db, run_id, plan_path,
                            strategy or ("balanced" if not plan_path else None))
    events_dir = os.path.join(db, "events", run_id)
    os.makedirs(events_dir, exist_ok=True)
    command = shim_command(command, bootstrap, root)
    started = time.perf_counter()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        try:
            proc = subprocess.Popen(command, env=env)
        except OSError as err:
            raise CaptureError(f"cannot run {command[0]}: {err.strerror or err}") from err
        code = proc.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
    if code < 0:
        code = 128 - code
    return TraceResult(run_id, code, time.perf_counter() - started, events_dir)


#: Options of the ``python`` command line followed by a value in the next argument.
_VALUE_OPTIONS = frozenset({"-X", "-W", "--check-hash-based-pycs"})


def shim_command(command: list[str], bootstrap_dir: str, root: str, cwd: str | None = None) -> list[str]:
    """``python [options] script.py ...`` with the bootstrap's shim before the script, when the
    script is project code: what the bootstrap would re-execute the interpreter into, done up
    front (one interpreter start-up less). Any other command is returned as it is. ``cwd``: where
    the command will run (a relative script path is read from there), if not here.
    """
    if not command or not os.path.basename(command[0]).startswith("python"):
        return command
    i = 1
    while i < len(command):
        arg = command[i]
        if arg in _VALUE_OPTIONS:
            i += 2
        elif arg.startswith("--") or arg == "-":
            return command  # --help, --version, -- ..., stdin: nothing to run as a script
        elif arg.startswith("-"):
            if arg[1] not in "XW" and ("c" in arg[1:] or "m" in arg[1:]):
                return command  # -c CODE, -m MODULE (maybe combined: -uc, -Bm)
            i += 1
        else:
            break
    if i >= len(command) or not in_project(os.path.abspath(os.path.join(cwd or "", command[i])),
                                           os.path.abspath(root)):
        return command
    return [*command[:i], os.path.join(bootstrap_dir, RUNMAIN_NAME), *command[i:]]
