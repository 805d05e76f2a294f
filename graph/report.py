"""Sources with a run's recordings overlaid: per line, how often it ran and the last values.

`build_overlay` reads an ingested run's rows (graph/join.py) and the project's
sources and returns, per file, one `LineView` per source line; `render_text`
(for ``astrepo show``) and `render_html` (for ``--html``, one self-contained
page per run) draw it.

A line *ran* when any node on it has a non-zero counter (calls, hits,
branch counts); it *never ran* when every instrumented node on it has zero
counters; lines without instrumented nodes are unknown (blank). What is
known depends on the strategy: ``full_trace`` has every statement,
``balanced`` only function boundaries and the insides of complex functions.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path

from astrepo.errors import ConfigError
from astrepo.graph.join import list_ingested, read_run_table

#: Values longer than this are cut in the text rendering (the HTML hover shows the whole preview).
TEXT_VALUE_CHARS = 60


@dataclass(slots=True)
class Marker:
    """One recorded fact on a line."""

    kind: str  #: function | call | variable | branch | except | line
    label: str  #: short text shown inline
    detail: str  #: longer text (hover)


@dataclass(slots=True)
class LineView:
    """One source line and what the run recorded on it."""

    number: int  #: 1-based
    text: str
    count: int | None = None  #: times it ran; None when nothing on it was instrumented
    markers: list[Marker] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)  #: Event ids raised here

    @property
    def ran(self) -> bool | None:
        return None if self.count is None else self.count > 0


@dataclass(slots=True)
class FileView:
    path: str
    lines: list[LineView]
    missing: bool = False  #: the source file is gone


@dataclass(slots=True)
class Overlay:
    """A run's recordings over its files."""

    run: dict
    files: list[FileView]
    events: list[dict]  #: Event rows, in time order


def build_overlay(db_dir: Path, run: str, only_file: str | None = None, root: str | None = None) -> Overlay:
    """The overlay of ingested run ``run`` (all its files, or ``only_file``)."""
    info = next((r for r in list_ingested(Path(db_dir)) if r["id"] == run), None)
    if info is None:
        raise ConfigError(f"no ingested run {run!r} under {db_dir}")
    stats_table = read_run_table(Path(db_dir), run, "RuntimeStat")
    events_table = read_run_table(Path(db_dir), run, "Event")
    stats = stats_table.to_pylist() if stats_table is not None else []
    events = sorted(events_table.to_pylist() if events_table is not None else [], key=lambda e: e["ts_ns"])
    base = root or info.get("root") or "."
    by_file: dict[str, list[dict]] = {}
    for s in stats:
        by_file.setdefault(s["file"], []).append(s)
    paths = sorted(by_file)
    if only_file is not None:
        if only_file not in by_file:
            known = ", ".join(paths[:8]) or "none"
            raise ConfigError(f"run {run} recorded nothing in {only_file} (files: {known})")
        paths = [only_file]
    files = []
    for path in paths:
        try:
            text = Path(base, path).read_text(encoding="utf-8", errors="replace")
            missing = False
        except OSError:
            text, missing = "", True
        lines = [LineView(i + 1, t) for i, t in enumerate(text.splitlines())]
        _overlay_stats(lines, by_file[path])
        for e in events:
            if e["file"] == path and 0 < e["line"] <= len(lines):
                lines[e["line"] - 1].exceptions.append(e["id"])
        files.append(FileView(path, lines, missing))
    return Overlay(info, files, events)


def _overlay_stats(lines: list[LineView], stats: list[dict]) -> None:
    for s in sorted(stats, key=lambda s: (s["line"], s["node_kind"])):
        if not 0 < s["line"] <= len(lines):
            continue
        view = lines[s["line"] - 1]
        kind = s["node_kind"]
        if kind in ("function", "lambda"):
            count = s["calls"]
            if count:
                detail = (f"{s['name']}: {count} calls, {s['exceptions']} raised, mean {s['mean_ns'] / 1e3:.1f} us, "
                          f"max {s['max_ns'] / 1e3:.1f} us; args {', '.join(s['arg_types']) or '-'}; "
                          f"returns {' | '.join(s['return_types']) or '-'}")
                view.markers.append(Marker("function", f"{count} calls, {s['mean_ns'] / 1e3:.1f} us", detail))
        elif kind == "call":
            count = s["hits"]
            if count:
                view.markers.append(Marker("call", f"-> {s['last_value']}",
                                           f"call returned {count}x; types {' | '.join(s['value_types'])}; "
                                           f"last {s['last_value']}"))
        elif kind == "except":
            count = s["hits"]
            if count:
                view.markers.append(Marker("except", f"caught {count}x", f"except clause caught {count} exceptions"))
        else:
            count = max(s["hits"], s["taken"] + s["not_taken"])
            if s["taken"] or s["not_taken"]:
                view.markers.append(Marker("branch", f"T{s['taken']}/F{s['not_taken']}",
                                           f"branch taken {s['taken']}x, not taken {s['not_taken']}x"))
            if s["last_value"]:
                view.markers.append(Marker("variable", s["last_value"],
                                           f"assigned {s['hits']}x; types {' | '.join(s['value_types'])}; "
                                           f"last {s['last_value']}"))
        view.count = max(view.count or 0, count)


def select_lines(view: FileView, first: int, last: int) -> FileView:
    """Only lines ``first..last`` (1-based, inclusive) of a file view."""
    return FileView(view.path, view.lines[max(first, 1) - 1:last], view.missing)


# -- text ---------------------------------------------------------------------------------------

def render_text(overlay: Overlay) -> list[str]:
    """Plain-text lines: ``number count | source  # markers``; ``!`` marks lines that never ran."""
    out = [f"run {overlay.run['id']}: {overlay.run.get('command', '')} (exit {overlay.run.get('exit_code')})"]
    for f in overlay.files:
        out.append(f"--- {f.path}" + (" (source missing)" if f.missing else ""))
        for line in f.lines:
            if line.count is None:
                count = ""
            elif line.count == 0:
                count = "!"
            else:
                count = f"{line.count}x"
            notes = [_cut(m.label) for m in line.markers]
            if line.ran is False:
                notes.insert(0, "never ran")
            if line.exceptions:
                notes.append(f"raised {len(line.exceptions)}x")
            suffix = f"  # {'; '.join(notes)}" if notes else ""
            out.append(f"{line.number:>5} {count:>6} | {line.text}{suffix}")
    return out


def _cut(text: str) -> str:
    return text if len(text) <= TEXT_VALUE_CHARS else text[:TEXT_VALUE_CHARS] + "..."


def overlay_json(overlay: Overlay) -> dict:
    """The overlay as one JSON-able document (``"format": 1``)."""
    return {
        "format": 1, "run": overlay.run["id"],
        "files": [{"path": f.path, "missing": f.missing, "lines": [
            {"line": ln.number, "text": ln.text, "count": ln.count, "ran": ln.ran,
             "markers": [{"kind": m.kind, "label": m.label, "detail": m.detail} for m in ln.markers],
             "exceptions": ln.exceptions} for ln in f.lines]} for f in overlay.files],
        "events": overlay.events,
    }


# -- HTML ---------------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{padding:12px 20px;background:#263238;color:#fff}
header h1{font-size:18px;margin:0 0 4px}
main{padding:12px 20px}
table.src{border-collapse:collapse;font:13px/1.35 ui-monospace,monospace;background:#fff;width:100%}
table.src td{padding:0 6px;vertical-align:top;white-space:pre}
td.no{color:#999;text-align:right;user-select:none;width:4em}
td.ct{color:#555;text-align:right;width:5em}
tr.never{background:#ffd7d7}
tr.never td.ct{color:#b00020;font-weight:bold}
tr.ran td.ct{color:#1b5e20}
tr.raised{outline:2px solid #e65100}
tr:target{background:#fff59d}
span.mk{display:inline-block;margin-left:10px;padding:0 5px;border-radius:3px;background:#e3f2fd;
 color:#0d47a1;font-size:12px;position:relative;cursor:help}
span.mk.branch{background:#ede7f6;color:#4527a0}
span.mk.function{background:#e8f5e9;color:#1b5e20}
span.mk.except{background:#fff3e0;color:#e65100}
span.mk .tip{display:none;position:absolute;left:0;top:1.5em;z-index:5;background:#333;color:#fff;
 padding:4px 8px;border-radius:4px;white-space:pre-wrap;width:max-content;max-width:60ch}
span.mk:hover .tip{display:block}
ol.exc li{margin:2px 0}
section.file{margin:18px 0}
section.file h2{font:bold 15px ui-monospace,monospace;margin:6px 0}
"""

_SELFCHECK = """
(function(){if(location.hash!=='#selfcheck')return;
function vis(e){var r=e.getBoundingClientRect(),s=getComputedStyle(e);
return r.width>0&&r.height>0&&s.visibility!=='hidden'&&s.display!=='none';}
var q=function(s){return Array.prototype.slice.call(document.querySelectorAll(s));};
var never=q('tr.never'),mk=q('span.mk'),ex=q('ol.exc a'),tips=q('span.mk .tip');
var bg=never.length?getComputedStyle(never[0]).backgroundColor:'';
var ok=ex.filter(function(a){var t=document.getElementById(a.getAttribute('href').slice(1));return t&&vis(t);});
var out={files:q('section.file').length,lines:q('table.src tr').length,never:never.length,
never_visible:never.filter(vis).length,never_bg:bg,markers:mk.length,markers_visible:mk.filter(vis).length,
tips_hidden:tips.filter(function(t){return !vis(t);}).length,exceptions:ex.length,exception_targets_visible:ok.length,
marker_text:mk.slice(0,50).map(function(m){return m.firstChild.textContent;})};
var pre=document.createElement('pre');pre.id='selfcheck';pre.textContent=JSON.stringify(out);
document.body.appendChild(pre);})();
"""


def render_html(overlay: Overlay) -> str:
    """One self-contained page: run summary, exception list linked to lines, annotated sources."""
    esc = html.escape
    run = overlay.run
    anchors: dict[tuple[str, int], str] = {}
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
             f"<title>astrepo run {esc(run['id'])}</title><style>{_CSS}</style></head><body>",
             f"<header><h1>astrepo run {esc(run['id'])}</h1><div>{esc(run.get('command', ''))} &middot; "
             f"exit {run.get('exit_code')} &middot; {run.get('duration_s', 0):.2f} s &middot; "
             f"{run.get('events', 0):,} events &middot; {run.get('calls', 0):,} calls &middot; "
             f"{run.get('exceptions', 0):,} exceptions &middot; strategy {esc(str(run.get('strategy', '')))}"
             "</div></header><main>"]
    for i, f in enumerate(overlay.files):
        for line in f.lines:
            anchors[(f.path, line.number)] = f"f{i}-L{line.number}"
    parts.append(f"<h2>Exceptions ({len(overlay.events)})</h2><ol class='exc'>")
    for e in overlay.events:
        target = anchors.get((e["file"], e["line"]))
        where = f"{e['file']}:{e['line']}"
        link = f"<a href='#{target}'>{esc(where)}</a>" if target else esc(where)
        parts.append(f"<li>{link} <b>{esc(e['exc_type'])}</b>: {esc(e['message'])} "
                     f"<i>({esc(e['outcome'])}, {e['frames']} frames, in {esc(e['name'])})</i></li>")
    parts.append("</ol>")
    for i, f in enumerate(overlay.files):
        parts.append(f"<section class='file' id='f{i}'><h2>{esc(f.path)}</h2><table class='src'>")
        for line in f.lines:
            cls = [] if line.ran is None else ["ran" if line.ran else "never"]
            if line.exceptions:
                cls.append("raised")
            count = "" if line.count is None else (f"{line.count}x" if line.count else "never")
            marks = "".join(
                f"<span class='mk {esc(m.kind)}'>{esc(m.label)}<span class='tip'>{esc(m.detail)}</span></span>"
                for m in line.markers)
            if line.exceptions:
                marks += (f"<span class='mk except'>raised {len(line.exceptions)}x"
                          f"<span class='tip'>{esc(', '.join(line.exceptions))}</span></span>")
            parts.append(f"<tr id='f{i}-L{line.number}' class='{' '.join(cls)}'><td class='no'>{line.number}</td>"
                         f"<td class='ct'>{count}</td><td>{esc(line.text)}{marks}</td></tr>")
        parts.append("</table></section>")
    parts.append(f"</main><script>{_SELFCHECK}</script></body></html>")
    return "".join(parts)


def write_html_report(db_dir: Path, run: str, out: Path, root: str | None = None) -> Path:
    """Write the HTML page of one ingested run to ``out`` (atomically)."""
    page = render_html(build_overlay(Path(db_dir), run, root=root))
    out = Path(out)
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, out)
    return out
