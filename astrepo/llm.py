"""A small client for OpenAI-compatible chat-completion endpoints, configured by the user.

Nothing here runs unless the user configured an endpoint (environment or
``.astrepo/planner.json``); the planner and the query language's ``--llm``
both go through it. Standard library only.
"""

from __future__ import annotations

import json
import os
import urllib.request
from dataclasses import dataclass

from astrepo.errors import ConfigError

ENV_BASE_URL = "ASTREPO_LLM_BASE_URL"  #: e.g. https://api.openai.com/v1 or http://127.0.0.1:8000/v1
ENV_MODEL = "ASTREPO_LLM_MODEL"
ENV_API_KEY = "ASTREPO_LLM_API_KEY"  #: falls back to OPENAI_API_KEY
ENV_TIMEOUT = "ASTREPO_LLM_TIMEOUT"  #: seconds, default DEFAULT_TIMEOUT
ENV_SEND_SOURCE = "ASTREPO_LLM_SEND_SOURCE"  #: "1": requests may include source code
CONFIG_FILE = "planner.json"  #: under the database folder; keys base_url, model, api_key_env, timeout, send_source

DEFAULT_TIMEOUT = 20.0


@dataclass(frozen=True, slots=True)
class LlmConfig:
    """Where to send chat requests, and what may be sent."""

    base_url: str
    model: str
    api_key: str = ""
    timeout: float = DEFAULT_TIMEOUT  #: seconds
    send_source: bool = False


def read_config_file(db_dir: str) -> dict:
    """The user's ``planner.json`` beside the graph, {} when absent or unreadable."""
    try:
        with open(os.path.join(db_dir, CONFIG_FILE), encoding="utf-8") as handle:
            conf = json.load(handle)
    except (OSError, ValueError):
        return {}
    return conf if isinstance(conf, dict) else {}


def llm_config(db_dir: str, environ: dict | None = None, required: bool = True) -> LlmConfig | None:
    """The configured endpoint (environment first, then the config file).

    Raises:
        ConfigError: ``required`` and no base URL/model is configured, or a bad timeout.
    """
    env = os.environ if environ is None else environ
    conf = read_config_file(db_dir)
    base_url = env.get(ENV_BASE_URL) or conf.get("base_url")
    model = env.get(ENV_MODEL) or conf.get("model")
    if not base_url or not model:
        if not required:
            return None
        raise ConfigError(f"no LLM endpoint configured: set {ENV_BASE_URL} and {ENV_MODEL} "
                          f"(or base_url/model in {os.path.join(db_dir, CONFIG_FILE)})")
    key_env = conf.get("api_key_env") or ENV_API_KEY
    api_key = env.get(key_env) or env.get(ENV_API_KEY) or env.get("OPENAI_API_KEY") or ""
    try:
        timeout = float(env.get(ENV_TIMEOUT) or conf.get("timeout") or DEFAULT_TIMEOUT)
    except ValueError as err:
        raise ConfigError(f"{ENV_TIMEOUT} must be a number of seconds") from err
    send_source = (env.get(ENV_SEND_SOURCE) or str(conf.get("send_source", ""))).lower() in ("1", "true", "yes")
    return LlmConfig(base_url, model, api_key, timeout, send_source)


def chat_json(config: LlmConfig, system: str, user: str) -> object:
    """One chat completion whose answer is a JSON document; returns it parsed.

    Raises:
        OSError / urllib.error.URLError / TimeoutError: the endpoint could not be reached in time.
        ValueError: the answer is not the expected JSON.
    """
    body = json.dumps({
        "model": config.model,
        "temperature": 0,
        "response_format": {"type": "json_object"},
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
    }).encode()
    url = config.base_url.rstrip("/") + "/chat/completions"
    headers = {"Content-Type": "application/json"}
    if config.api_key:
        headers["Authorization"] = f"Bearer {config.api_key}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=config.timeout) as response:  # noqa: S310 - user-configured
        doc = json.loads(response.read().decode("utf-8"))
    try:
        content = doc["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as err:
        raise ValueError("the provider's answer has no choices[0].message.content") from err
    return json.loads(content) if isinstance(content, str) else content
