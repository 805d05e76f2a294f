"""Plan providers: offline default, the OpenAI-compatible HTTP provider against a local fake server, mock."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from astrepo.capture.plan import PlanOptions, make_plan
from astrepo.capture.plan_signals import Function, Inputs
from astrepo.capture.providers import (Candidate, HttpConfig, MockProvider, OfflineProvider, OpenAIProvider,
                                       PlanRequest, provider_from_config, select_with_fallback)
from astrepo.errors import ConfigError


def _inputs() -> Inputs:
    def fn(i: int, name: str, **facts) -> Function:
        f = Function(f"f{i:015d}", name, "m.py", 10 * i + 1, {"statements": 5, "cyclomatic": 2, "fan_in": 1,
                                                               "fan_out": 1, "pagerank": 0.1, **facts}, params=1)
        f.first_stmt = f"s{i:015d}"
        f.own = [(f"b{i:015d}", "branch", 0, 0), (f"v{i:015d}", "variable", 0, 1), (f"l{i:015d}", "line", 0, 0)]
        return f

    funcs = {f.id: f for f in (fn(1, "m.main"), fn(2, "m.helper"), fn(3, "m.parse", may_raise=["ValueError"]))}
    ids = set(funcs) | {x for f in funcs.values() for x in [f.first_stmt] + [o[0] for o in f.own]}
    return Inputs("/nowhere", funcs, [("f000000000000001", "f000000000000002")], {}, ids,
                  sources={"m.py": "\n" * 10 + "def main():\n    return helper()\n"})


class _FakeLLM(BaseHTTPRequestHandler):
    answers: list = []
    requests: list = []
    delay = 0.0

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"body": body, "auth": self.headers.get("Authorization")})
        time.sleep(type(self).delay)
        answer = type(self).answers[0]
        payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": answer}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def fake_llm():
    _FakeLLM.answers, _FakeLLM.requests, _FakeLLM.delay = [], [], 0.0
    server = HTTPServer(("127.0.0.1", 0), _FakeLLM)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", _FakeLLM
    server.shutdown()
    server.server_close()


def test_http_provider_selection_validated_and_applied(fake_llm) -> None:
    url, handler = fake_llm
    handler.answers = [json.dumps({"selection": [
        {"id": "f000000000000003", "level": "full", "reason": "parses untrusted input"},
        {"id": "f000000000000002", "level": "counted", "reason": "hot helper"},
        {"id": "nope", "level": "full", "reason": "unknown id"},
        {"id": "f000000000000001", "level": "bogus"},
    ]})]
    provider = OpenAIProvider(HttpConfig(url, "test-model", "sekret", timeout=5))
    doc = make_plan(_inputs(), PlanOptions("balanced", budget_pct=1e9), provider=provider)
    funcs = {f["name"]: f for f in doc["functions"]}
    assert funcs["m.parse"]["level"] == "full" and funcs["m.parse"]["reason"] == "openai: parses untrusted input"
    assert funcs["m.helper"]["level"] == "counted"
    assert doc["provider"] == "openai" and doc["provider_dropped"] == 2
    sent = handler.requests[0]
    assert sent["auth"] == "Bearer sekret" and sent["body"]["model"] == "test-model"
    summary = json.loads(sent["body"]["messages"][1]["content"])
    assert {c["id"] for c in summary["candidates"]} == {"f000000000000001", "f000000000000002", "f000000000000003"}
    assert all("source" not in c for c in summary["candidates"])  # no source unless allowed


def test_http_provider_sends_source_only_when_allowed(fake_llm) -> None:
    url, handler = fake_llm
    handler.answers = [json.dumps({"selection": []})]
    make_plan(_inputs(), PlanOptions("balanced"), provider=OpenAIProvider(HttpConfig(url, "m", send_source=True)))
    summary = json.loads(handler.requests[0]["body"]["messages"][1]["content"])
    assert any("def main" in c.get("source", "") for c in summary["candidates"])


@pytest.mark.parametrize("answer", ["not json at all", json.dumps({"choices": "x"}), json.dumps([1, 2])])
def test_http_provider_bad_answer_falls_back(fake_llm, answer) -> None:
    url, handler = fake_llm
    handler.answers = [answer]
    doc = make_plan(_inputs(), PlanOptions("balanced"), provider=OpenAIProvider(HttpConfig(url, "m", timeout=5)))
    assert doc["provider"].startswith("offline (fallback: openai failed")
    assert {f["level"] for f in doc["functions"]} <= {"boundary", "deep", "counted", "timed", "exceptions"}


def test_http_provider_timeout_falls_back(fake_llm) -> None:
    url, handler = fake_llm
    handler.answers = [json.dumps({"selection": []})]
    handler.delay = 2.0
    doc = make_plan(_inputs(), PlanOptions("balanced"), provider=OpenAIProvider(HttpConfig(url, "m", timeout=0.3)))
    assert "fallback" in doc["provider"] and ("Timeout" in doc["provider"] or "timed out" in doc["provider"])


def test_unreachable_provider_falls_back() -> None:
    doc = make_plan(_inputs(), PlanOptions("minimal"),
                    provider=OpenAIProvider(HttpConfig("http://127.0.0.1:9/v1", "m", timeout=1)))
    assert "fallback" in doc["provider"]


def test_mock_and_offline() -> None:
    mock = MockProvider([{"id": "f000000000000001", "level": "exceptions", "reason": "boring"}])
    doc = make_plan(_inputs(), PlanOptions("balanced"), provider=mock)
    assert next(f for f in doc["functions"] if f["name"] == "m.main")["level"] == "exceptions"
    assert len(mock.requests) == 1 and mock.requests[0].strategy == "balanced"
    request = PlanRequest("minimal", None, (Candidate("a", "a", "m.py", 1, {}, "timed", "entry"),))
    assert select_with_fallback(OfflineProvider(), request).choices[0].level == "timed"
    failing = select_with_fallback(MockProvider(error=ValueError("boom")), request)
    assert failing.provider == "offline" and "boom" in failing.fallback


def test_provider_config(tmp_path) -> None:
    assert provider_from_config(None, str(tmp_path), {}).name == "offline"  # nothing leaves the machine by default
    with pytest.raises(ConfigError):
        provider_from_config("openai", str(tmp_path), {})
    p = provider_from_config(None, str(tmp_path), {"ASTREPO_PLAN_PROVIDER": "openai",
                                                   "ASTREPO_LLM_BASE_URL": "http://127.0.0.1:1/v1",
                                                   "ASTREPO_LLM_MODEL": "m", "OPENAI_API_KEY": "k"})
    assert isinstance(p, OpenAIProvider) and p.config.api_key == "k" and not p.config.send_source
    (tmp_path / "planner.json").write_text(json.dumps({"provider": "openai", "base_url": "http://x/v1", "model": "y",
                                                       "timeout": 3}))
    p = provider_from_config(None, str(tmp_path), {})
    assert p.config.base_url == "http://x/v1" and p.config.timeout == 3.0
