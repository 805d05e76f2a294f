"""``astrepo calibrate``: measure capture's per-event costs on this machine for the planner's cost model."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import typer

from astrepo.cli.options import DB_OPTION, JSON_OPTION


def calibrate(
    repeats: int = typer.Option(9, "--repeats", help="Timing rounds over the probe's variants (the least counts)."),
    calls: int = typer.Option(50_000, "--calls", help="Calls per timing loop."),
    db: Path = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Measure per-event capture costs (stored in .astrepo/calibration.json; run again to re-measure)."""
    import sys

    from dataclasses import replace

    from astrepo.capture.cost import load_costs, measure_costs, save_costs
    from astrepo.cli.render import emit_json, print_table
    from astrepo.errors import CaptureError

    if not as_json:
        sys.stderr.write("astrepo: measuring capture costs (a few seconds)...\n")
    try:
        costs = measure_costs(repeats, calls)
    except (RuntimeError, OSError) as err:
        raise CaptureError(f"calibration failed: {err}") from err
    previous = load_costs(str(db))
    if previous.factor_source != "default":  # a factor learnt from a run (plan --review --learn) stays
        costs = replace(costs, factor=previous.factor, factor_source=previous.factor_source)
    path = save_costs(str(db), costs)
    values = asdict(costs)
    if as_json:
        emit_json({"calibration": path, "costs": values})
        return
    print_table(f"capture costs on {costs.machine} (ns)", ["what", "ns"],
                [[k, f"{v:,.1f}"] for k, v in values.items() if isinstance(v, float)])
    typer.echo(f"saved to {path}")


def register(app: typer.Typer) -> None:
    app.command("calibrate")(calibrate)
