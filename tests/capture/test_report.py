"""What a user sees of a traced run: `astrepo show`, `events --run/--since`, the HTML report in Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def traced_shop(shop: Path, astrepo_cli) -> Path:
    assert astrepo_cli("index", ".", "--no-embed", cwd=shop).returncode == 0
    proc = astrepo_cli("trace", "--strategy", "full_trace", "--html", "report.html", "--",
                       sys.executable, "app.py", cwd=shop)
    assert proc.returncode == 0, proc.stderr
    return shop


def test_show_file_and_function(traced_shop: Path, astrepo_cli) -> None:
    proc = astrepo_cli("show", "shop/orders.py", cwd=traced_shop)
    assert proc.returncode == 0, proc.stderr
    lines = {int(line.split()[0]): line for line in proc.stdout.splitlines() if line[:5].strip().isdigit()}
    assert "3x |" in lines[12] and "3 calls" in lines[12]  # def place_order
    assert "taken=[]" in lines[14]
    assert "T4/F2" in lines[16]
    assert "! |" in lines[21] and "never ran" in lines[21]  # inventory.add in the rollback loop
    assert "-> Decimal('1.89')" in lines[24]
    proc = astrepo_cli("show", "Inventory.take", "--json", cwd=traced_shop)
    doc = json.loads(proc.stdout)
    (f,) = doc["files"]
    assert f["path"] == "shop/inventory.py" and f["lines"][0]["text"].lstrip().startswith("def take")
    raised = [ln for ln in f["lines"] if ln["exceptions"]]
    assert [ln["line"] for ln in raised] == [27]
    assert astrepo_cli("show", "no_such_function", cwd=traced_shop).returncode == 1


def test_events_run_and_since(traced_shop: Path, astrepo_cli) -> None:
    run = json.loads(astrepo_cli("report", "--json", cwd=traced_shop).stdout)["runs"][-1]["id"]
    doc = json.loads(astrepo_cli("events", "--run", run[:15], "--kind", "exception", "--json", cwd=traced_shop).stdout)
    assert doc["runs"] == [run] and doc["count"] == 2  # left take, left place_order
    future = str(time.time() + 3600)
    doc = json.loads(astrepo_cli("events", "--since", future, "--count", "--json", cwd=traced_shop).stdout)
    assert doc["count"] == 0
    doc = json.loads(astrepo_cli("events", "--since", "1h", "--count", "--json", cwd=traced_shop).stdout)
    assert doc["count"] > 100 and doc["runs"] == [run]
    assert astrepo_cli("events", "--since", "yesterday-ish", cwd=traced_shop).returncode == 1


@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (apt-get install -y chromium)")
def test_html_report_in_headless_chromium(traced_shop: Path, tmp_path: Path) -> None:
    page = traced_shop / "report.html"
    assert page.exists()
    text = page.read_text()
    assert "http://" not in text and "https://" not in text and "<link" not in text  # self-contained
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'chromium'}",
         "--dump-dom", page.as_uri() + "#selfcheck"],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    start = proc.stdout.index('<pre id="selfcheck">') + len('<pre id="selfcheck">')
    raw = proc.stdout[start:proc.stdout.index("</pre>", start)]
    check = json.loads(raw.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&"))
    assert check["files"] == 6  # every imported project file
    assert check["never"] > 0 and check["never_visible"] == check["never"]
    assert check["never_bg"] == "rgb(255, 215, 215)"  # unexecuted lines are highlighted
    assert check["markers"] > 20 and check["markers_visible"] == check["markers"]
    assert check["tips_hidden"] == check["markers"]  # hover details stay hidden until hovered
    assert check["exceptions"] == 1 and check["exception_targets_visible"] == 1
    assert "-> Decimal('1.89')" in check["marker_text"] and "taken=[]" in check["marker_text"]
