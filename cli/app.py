"""The ``astrepo`` command: the typer app, error handling at the boundary.

Each command lives in its own module exposing ``register(app)``; they are
listed in COMMAND_MODULES and imported here. Commands are thin: options,
one library call, rendering.
"""

from __future__ import annotations

import importlib
import logging
import sys
import traceback

import typer

from astrepo.cli.exit_codes import ExitCode
from astrepo.cli.render import emit_error

#: Command modules, in help order.
COMMAND_MODULES = (
    "astrepo.cli.index_cmd",
    "astrepo.cli.stats_cmd",
    "astrepo.cli.query_cmd",
    "astrepo.cli.export_cmd",
    "astrepo.cli.search_cmd",
    "astrepo.cli.plan_cmd",
    "astrepo.cli.calibrate_cmd",
    "astrepo.cli.trace_cmd",
    "astrepo.cli.events_cmd",
    "astrepo.cli.show_cmd",
    "astrepo.cli.report_cmd",
)

app = typer.Typer(
    name="astrepo",
    help="Code-intelligence graph for Python code bases.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main(
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More logging on stderr (-v INFO, -vv DEBUG)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for every error."),
) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    _STATE["debug"] = debug


_STATE: dict[str, bool] = {"debug": False}

for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def _interrupted() -> int:
    """Ctrl-C reached the boundary (every lock and database released on the way): say so and end.
    The command itself ends at once (`end_program`): an index run interrupted midway leaves millions
    of objects whose teardown took longer than the run had left (~10 s on Django)."""
    from astrepo.cli import end_program

    sys.stderr.write("astrepo: interrupted\n")
    end_program(ExitCode.INTERRUPTED)
    return ExitCode.INTERRUPTED


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: run the app, turning errors into exit codes."""
    from astrepo.cli import restore_interrupt_handler
    from astrepo.errors import AstrepoError

    restore_interrupt_handler()

    args = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in args
    # --debug is accepted anywhere on the line, not only before the command.
    debug = "--debug" in args
    if debug:
        args = ["--debug"] + [a for a in args if a != "--debug"]
    try:
        result = app(args=args, prog_name="astrepo", standalone_mode=False)
        if result == ExitCode.INTERRUPTED:  # typer turns Ctrl-C into Exit(130)
            return _interrupted()
        if isinstance(result, int):
            return result
    except AstrepoError as err:
        if debug:
            traceback.print_exc()
        emit_error(err.__class__.__name__, str(err), as_json)
        return ExitCode.USER_ERROR
    except KeyboardInterrupt:
        return _interrupted()
    except SystemExit as exit_:
        return int(exit_.code or 0) if isinstance(exit_.code, int) else ExitCode.USER_ERROR
    except Exception as err:  # noqa: BLE001 - the boundary: report, never hide
        # typer ships its own copy of click, so recognise click's exceptions by shape.
        if type(err).__name__ == "Abort":
            return _interrupted()
        if hasattr(err, "show") and hasattr(err, "exit_code"):
            if as_json:
                emit_error(type(err).__name__, err.format_message(), True)
            else:
                err.show()
            return int(err.exit_code) or ExitCode.USAGE
        traceback.print_exc()
        emit_error("InternalError", f"{err.__class__.__name__}: {err} (this is a bug in astrepo, please report it)", as_json)
        return ExitCode.INTERNAL
    return ExitCode.OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
