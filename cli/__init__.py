"""The command-line interface (astrepo.cli).

Ctrl-C while the command line is still starting up (importing typer, rich
and the commands, which takes a while on a busy machine) would end in a
traceback, before `astrepo.cli.app.main` can catch it. When this package is
imported as the program itself (the `astrepo` script or
``python -m astrepo.cli.app``), such an early Ctrl-C exits as an interrupted
command does: one line on stderr and status 130. `main` puts Python's own
handler back before running the command.
"""

from __future__ import annotations

import os
import signal
import sys


def _interrupted_while_starting(signum: int, frame: object) -> None:
    sys.stderr.write("astrepo: interrupted\n")
    sys.stderr.flush()
    os._exit(130)


def restore_interrupt_handler() -> None:
    """Hand Ctrl-C back to Python (KeyboardInterrupt) once the command line has started."""
    if signal.getsignal(signal.SIGINT) is _interrupted_while_starting:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def is_program() -> bool:
    """Whether this process is the command itself (not a test or a script importing it)."""
    return _AS_PROGRAM


def end_program(status: int = 0) -> None:
    """When this process is the command itself, end it now with ``status`` without freeing anything.

    What a long command built (an index run's state: millions of objects) is
    otherwise freed one object at a time on the way out, about a second for
    Django, for nothing (mypy ends the same way). A caller importing the command
    (tests, scripts) just returns. Output is flushed first; databases and locks
    must be closed already.
    """
    if not _AS_PROGRAM:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


# sys.argv[0] is "-m" while ``python -m astrepo.cli.app`` locates the module.
_AS_PROGRAM = bool(sys.argv) and (sys.argv[0] == "-m" or os.path.basename(sys.argv[0]) == "astrepo")
if _AS_PROGRAM and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _interrupted_while_starting)
