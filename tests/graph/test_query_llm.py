"""`astrepo query --llm` against a local fake OpenAI-compatible server (the only mocked part)."""

from __future__ import annotations

import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from astrepo.graph.build import IndexConfig, build_index

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).parents[2] / "examples" / "shop"


class FakeLLM(BaseHTTPRequestHandler):
    """Answers every chat completion with the configured query text."""

    answer = "callers of place_order"
    seen: list = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeLLM.seen.append(body)
        content = json.dumps({"query": FakeLLM.answer})
        out = json.dumps({"choices": [{"message": {"content": content}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    httpd = HTTPServer(("127.0.0.1", 0), FakeLLM)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    FakeLLM.seen = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("llm") / "shop"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__", ".astrepo"))
    build_index(IndexConfig(root=root, db_dir=root.parent / "db"))
    return root.parent / "db"


def test_free_text_is_translated_shown_validated_and_run(db: Path, server: str, astrepo_cli) -> None:
    env = {"ASTREPO_LLM_BASE_URL": server, "ASTREPO_LLM_MODEL": "fake"}
    FakeLLM.answer = "callers of place_order"
    result = astrepo_cli("query", "who ends up placing orders?", "--llm", "--db", str(db), "--json", env=env)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["query"] == "callers of place_order" and doc["translated_from"] == "who ends up placing orders?"
    assert {r["name"] for r in doc["rows"]} >= {"app.main", "shop.orders.try_order"}
    request = FakeLLM.seen[0]
    assert request["model"] == "fake" and "who ends up placing orders?" in request["messages"][1]["content"]
    # Human output says what the question became.
    shown = astrepo_cli("query", "who ends up placing orders?", "--llm", "--db", str(db), env=env)
    assert "translated to: callers of place_order" in shown.stderr


def test_an_invalid_translation_never_runs(db: Path, server: str, astrepo_cli) -> None:
    FakeLLM.answer = "MATCH (n) DETACH DELETE n"
    env = {"ASTREPO_LLM_BASE_URL": server, "ASTREPO_LLM_MODEL": "fake"}
    result = astrepo_cli("query", "delete everything please", "--llm", "--db", str(db), env=env)
    assert result.returncode == 1 and "not a valid query" in result.stderr and "Traceback" not in result.stderr


def test_parsable_questions_and_no_flag_never_call_the_llm(db: Path, server: str, astrepo_cli) -> None:
    env = {"ASTREPO_LLM_BASE_URL": server, "ASTREPO_LLM_MODEL": "fake"}
    assert astrepo_cli("query", "callers of place_order", "--llm", "--db", str(db), env=env).returncode == 0
    without = astrepo_cli("query", "who ends up placing orders?", "--db", str(db), env=env)
    assert without.returncode == 1 and "unknown question" in without.stderr
    assert FakeLLM.seen == []


def test_llm_without_configuration_says_what_to_set(db: Path, astrepo_cli) -> None:
    env = {"ASTREPO_LLM_BASE_URL": "", "ASTREPO_LLM_MODEL": ""}
    result = astrepo_cli("query", "who ends up placing orders?", "--llm", "--db", str(db), env=env)
    assert result.returncode == 1 and "ASTREPO_LLM_BASE_URL" in result.stderr
