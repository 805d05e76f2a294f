"""``astrepo plan``: an instrumentation plan from the graph and earlier runs; ``--review`` after a trace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from astrepo.cli.options import DB_OPTION, JSON_OPTION


def plan(
    strategy: str = typer.Option("balanced", "--strategy", "-s", help="minimal | balanced | full_trace."),
    budget: Optional[float] = typer.Option(None, "--budget", help="Cap of the estimated capture overhead, percent "
                                           "(default: minimal 20/10, balanced 100/30 without/with run statistics)."),
    target: Optional[List[str]] = typer.Option(None, "--target", help="Deepen capture around a function NAME or PATH "
                                               "(repeatable)."),
    radius: int = typer.Option(2, "--radius", help="Call-graph hops around --target."),
    diff: Optional[str] = typer.Option(None, "--diff", help="Deepen capture on lines changed since git REV and "
                                       "their callers."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the plan here (default "
                                          ".astrepo/plans/)."),
    explain: bool = typer.Option(False, "--explain", help="Show the level and reason of every function."),
    review: bool = typer.Option(False, "--review", help="Compare a traced run with its plan's predictions."),
    run: Optional[str] = typer.Option(None, "--run", help="Run to review / take statistics from (default: latest)."),
    plan_file: Optional[Path] = typer.Option(None, "--plan-file", help="With --review: the plan (default: the run's)."),
    baseline: Optional[float] = typer.Option(None, "--baseline-seconds", help="Untraced run time, seconds."),
    rerun: int = typer.Option(0, "--rerun", help="With --review: run the command untraced N times for a baseline."),
    learn: bool = typer.Option(False, "--learn", help="With --review and a baseline: keep the measured in-program "
                               "cost factor in the calibration."),
    check: Optional[Path] = typer.Option(None, "--check", help="Validate a plan file against the current graph."),
    provider: Optional[str] = typer.Option(None, "--provider", help="offline (default) | openai (configured by env)."),
    no_stats: bool = typer.Option(False, "--no-stats", help="Ignore earlier runs' statistics."),
    root: Path = typer.Option(Path("."), "--root", help="Project root (where the indexed files are)."),
    db: Path = DB_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Plan what `astrepo trace` instruments, and why."""
    from astrepo.cli.render import emit_json, print_table

    if review:
        from astrepo.capture.review import review_run

        doc = review_run(str(db), run, str(plan_file) if plan_file else None, baseline, rerun, learn=learn)
        if as_json:
            emit_json({"review": doc})
            return
        _print_review(doc, print_table)
        return
    from astrepo.capture.plan_document import count_points, explain_lines, plan_digest, validate_plan, write_plan
    from astrepo.capture.plan_signals import load_inputs, read_graph_ids

    if check is not None:
        from astrepo.errors import ConfigError

        try:
            raw = json.loads(check.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ConfigError(f"cannot read plan {check}: {err}") from err
        cleaned, stale = validate_plan(raw, read_graph_ids(str(db)))
        if stale and output is not None:
            write_plan(cleaned, str(output))
        if as_json:
            emit_json({"plan": str(check), "points": len(cleaned.get("points", ())), "stale_dropped": len(stale),
                       "stale": stale, "written": str(output) if stale and output else None})
        else:
            typer.echo(f"{check}: {len(cleaned.get('points', ()))} points valid, {len(stale)} stale dropped"
                       + (f" (clean plan written to {output})" if stale and output else ""))
        return
    from astrepo.capture.cost import load_costs
    from astrepo.capture.plan import PlanOptions, make_plan
    from astrepo.capture.providers import provider_from_config

    inputs = load_inputs(str(db), str(root), run, use_stats=not no_stats)
    options = PlanOptions(strategy=strategy, budget_pct=budget, targets=tuple(target or ()), diff=diff,
                          radius=radius, baseline_s=baseline)
    doc = make_plan(inputs, options, load_costs(str(db)), provider_from_config(provider, str(db)))
    path = str(output) if output else str(Path(db) / "plans" / f"{strategy}-{plan_digest(doc)}.json")
    write_plan(doc, path)
    if as_json:
        emit_json({"plan": path, "strategy": doc["strategy"], "points": len(doc["points"]),
                   "point_kinds": count_points(doc), "budget_pct": doc["budget_pct"], "estimate": doc["estimate"],
                   "provider": doc["provider"], "stale_dropped": doc.get("stale_dropped", 0), "notes": doc["notes"],
                   **({"functions": doc["functions"]} if explain else {})})
        return
    if explain:
        for line in explain_lines(doc):
            typer.echo(line)
    est = doc["estimate"]
    kinds = ", ".join(f"{k} {v}" for k, v in count_points(doc).items())
    pct = "?" if est["overhead_pct"] is None else f"{est['overhead_pct']}%"
    typer.echo(f"{doc['strategy']}: {len(doc['points'])} points ({kinds}); estimated capture overhead {pct} "
               f"of {est['baseline_ms']:.1f} ms (budget {doc['budget_pct']}%), fixed {est['fixed_ms']:.0f} ms per "
               f"process; basis: {est['basis']}; provider {doc['provider']}")
    typer.echo(f"plan written to {path}; run it with: astrepo trace --plan {path} -- COMMAND")


def _print_review(doc: dict, print_table) -> None:
    t = doc["time"]
    typer.echo(f"run {doc['run']} ({doc['strategy']}, plan {doc['plan']})")
    n = doc["nodes"]
    typer.echo(f"events: predicted {doc['events']['predicted']}, measured {doc['events']['measured']}; "
               f"{n['within_10pct']}/{n['compared']} nodes within 10%, {n['within_4x']} within 4x, rank "
               f"correlation {n['rank_correlation']}"
               + (f" ({n['modelled']} modelled counts scaled by {n['scale']:g})" if n["modelled"] else ""))
    line = (f"time: traced {t['traced_s']} s; predicted extra {t['predicted_extra_ms']} ms "
            f"(capture {t['predicted_capture_ms']} ms, fixed {t['predicted_fixed_ms']} ms)")
    if "plain_s" in t:
        line += (f"; plain {t['plain_s']} s, measured extra {t['measured_extra_ms']} ms, ratio {t['measured_ratio']}x, "
                 f"capture beyond fixed costs {t['measured_capture_pct']}%")
        if t.get("in_program_factor") is not None:
            line += (f"; in-program factor {t['in_program_factor']} (in use: {t['factor_used']}"
                     + (", now learnt" if t.get("learnt") else "") + ")")
    typer.echo(line)
    print_table("largest differences", ["node", "kind", "function", "predicted", "expected", "measured"],
                [[n["node"], n["kind"], n["function"], f"{n['predicted']:g}", f"{n['expected']:g}",
                  f"{n['measured']:g}"] for n in doc["worst"]])


def register(app: typer.Typer) -> None:
    app.command("plan")(plan)
