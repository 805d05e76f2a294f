"""Who decides how deep to capture each function: the provider interface and its implementations.

The planner (`astrepo.capture.plan`) hands a provider a `PlanRequest`: the
strategy, the budget and a compact summary of each candidate function (its
static facts and runtime signals, and the level the offline rules chose; its
source only when the user allows it). The provider answers with a ranked
selection of `Choice`s (function, level, reason). The planner validates the
answer (unknown IDs and levels are dropped and counted), applies it over the
offline levels, and enforces the budget (a higher rank is downgraded last).

Providers:

* `OfflineProvider` (the default): deterministic rules, no I/O;
* `OpenAIProvider`: an OpenAI-compatible ``/chat/completions`` endpoint the
  user configured (base URL, model, key from the environment or
  ``.astrepo/planner.json``); on any failure (network, timeout, bad answer)
  the planner falls back to the offline levels and says so;
* `MockProvider`: a fixed answer, for tests.

Nothing leaves the machine unless a provider other than ``offline`` is configured.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
from dataclasses import dataclass, field
from typing import Protocol

from astrepo.capture.levels import LEVELS
from astrepo.errors import ConfigError
from astrepo.llm import CONFIG_FILE, LlmConfig, chat_json, llm_config, read_config_file

log = logging.getLogger(__name__)


#: Environment variables configuring the HTTP provider.
ENV_PROVIDER = "ASTREPO_PLAN_PROVIDER"  #: offline | openai
PROVIDER_CONFIG_FILE = CONFIG_FILE

#: Candidates sent to a remote provider at most (the most important first).
MAX_REMOTE_CANDIDATES = 400


@dataclass(frozen=True, slots=True)
class Candidate:
    """What a provider sees of one function."""

    id: str
    name: str
    file: str
    line: int
    signals: dict  #: static facts and runtime signals (see astrepo.capture.plan.candidate_signals)
    offline_level: str  #: what the offline rules chose
    offline_reason: str
    source: str = ""  #: only when the user allows sending sources


@dataclass(frozen=True, slots=True)
class PlanRequest:
    strategy: str
    budget_pct: float | None
    candidates: tuple[Candidate, ...]


@dataclass(frozen=True, slots=True)
class Choice:
    """A provider's decision for one function; ``rank`` 0 is the most important."""

    node_id: str
    level: str
    reason: str
    rank: int


@dataclass(slots=True)
class Selection:
    """A provider's validated answer."""

    provider: str
    choices: list[Choice] = field(default_factory=list)
    dropped: int = 0  #: answer items with unknown IDs or levels
    fallback: str = ""  #: why the offline levels were used instead, if they were


class PlanProvider(Protocol):
    """Ranks candidate functions and picks a capture level for each."""

    name: str

    def select(self, request: PlanRequest) -> Selection: ...


class OfflineProvider:
    """The default: keep the offline rules' levels, ranked by the planner's importance order."""

    name = "offline"

    def select(self, request: PlanRequest) -> Selection:
        return Selection(self.name, [Choice(c.id, c.offline_level, c.offline_reason, i)
                                     for i, c in enumerate(request.candidates)])


class MockProvider:
    """A fixed answer (raw items as a remote provider would send them), validated like one."""

    name = "mock"

    def __init__(self, items: list[dict] | None = None, error: Exception | None = None) -> None:
        self.items = items or []
        self.error = error
        self.requests: list[PlanRequest] = []

    def select(self, request: PlanRequest) -> Selection:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        return validate_answer(self.name, {"selection": self.items}, request)


#: The endpoint configuration (shared with the query language's ``--llm``).
HttpConfig = LlmConfig


class OpenAIProvider:
    """An OpenAI-compatible chat-completions endpoint; sends signals, not source (unless allowed)."""

    name = "openai"

    def __init__(self, config: LlmConfig) -> None:
        self.config = config

    def select(self, request: PlanRequest) -> Selection:
        answer = chat_json(self.config, SYSTEM_PROMPT, json.dumps(request_summary(request, self.config.send_source)))
        return validate_answer(self.name, answer, request)


SYSTEM_PROMPT = (
    "You plan runtime instrumentation of a Python program. You get a strategy, an overhead budget "
    "(percent) and candidate functions with static facts (cyclomatic, statements, fan_in, fan_out, "
    "pagerank, may_raise, roles) and runtime signals (calls, mean_ns, exceptions, never_executed), plus "
    "the level an offline rule chose. Levels, shallow to deep: " + ", ".join(LEVELS) + ". "
    "Answer with one JSON object {\"selection\": [{\"id\": ..., \"level\": ..., \"reason\": ...}]}, the "
    "most important functions first. Prefer deep capture where failures are likely and shallow capture "
    "for hot, cheap functions. Only use the given ids."
)


def request_summary(request: PlanRequest, send_source: bool) -> dict:
    """The compact document sent to a remote provider (no source unless ``send_source``)."""
    out = []
    for c in request.candidates[:MAX_REMOTE_CANDIDATES]:
        item = {"id": c.id, "name": c.name, "file": c.file, "line": c.line, **c.signals,
                "offline_level": c.offline_level}
        if send_source and c.source:
            item["source"] = c.source
        out.append(item)
    return {"strategy": request.strategy, "budget_pct": request.budget_pct, "levels": list(LEVELS),
            "candidates": out}


def validate_answer(provider: str, answer: object, request: PlanRequest) -> Selection:
    """Turn a raw answer into a `Selection`; raises ValueError when it is not one at all."""
    if not isinstance(answer, dict) or not isinstance(answer.get("selection"), list):
        raise ValueError("the answer must be a JSON object with a \"selection\" list")
    known = {c.id for c in request.candidates}
    selection = Selection(provider)
    seen: set[str] = set()
    for item in answer["selection"]:
        if (not isinstance(item, dict) or item.get("id") not in known or item.get("level") not in LEVELS
                or item["id"] in seen):
            selection.dropped += 1
            continue
        seen.add(item["id"])
        reason = str(item.get("reason") or "")[:200]
        selection.choices.append(Choice(item["id"], item["level"], reason, len(selection.choices)))
    return selection


def provider_from_config(name: str | None, db_dir: str, environ: dict | None = None) -> PlanProvider:
    """The provider the user asked for (``--provider``, ``ASTREPO_PLAN_PROVIDER``, ``.astrepo/planner.json``),
    offline by default."""
    env = os.environ if environ is None else environ
    name = name or env.get(ENV_PROVIDER) or read_config_file(db_dir).get("provider") or "offline"
    if name == "offline":
        return OfflineProvider()
    if name == "mock":
        return MockProvider()
    if name != "openai":
        raise ConfigError(f"unknown plan provider {name!r}: use offline or openai")
    return OpenAIProvider(llm_config(db_dir, env))  # type: ignore[arg-type]


def select_with_fallback(provider: PlanProvider, request: PlanRequest) -> Selection:
    """Ask ``provider``; on any failure use the offline levels and record why."""
    if isinstance(provider, OfflineProvider):
        return provider.select(request)
    try:
        return provider.select(request)
    except (OSError, urllib.error.URLError, TimeoutError, ValueError, KeyError, TypeError) as err:
        log.warning("plan provider %s failed (%s); using the offline planner", provider.name, err)
        selection = OfflineProvider().select(request)
        selection.fallback = f"{provider.name} failed: {type(err).__name__}: {str(err)[:160]}"
        return selection
