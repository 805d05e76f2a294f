"""Translating a free-text question into the question language with a user-configured LLM.

Only used with ``astrepo query --llm`` and only for text that does not parse.
The model's answer is shown to the user and validated by the grammar before
anything runs: it can only ever produce a question the language accepts.
"""

from __future__ import annotations

import json
import logging

from astrepo.errors import QueryError
from astrepo.llm import LlmConfig, chat_json
from astrepo.graph.query.grammar import FILTER_FORMS, SUBJECT_FORMS, Query, parse_query

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You translate questions about a Python code base into a small query language. A query is one subject "
    "followed by filters joined by 'and'. Subjects: " + "; ".join(SUBJECT_FORMS) + ". Filters: "
    + "; ".join(FILTER_FORMS) + ". X, Y, C are function or class names (short or dotted), E an exception "
    "class, P a path or module prefix, N a number. 'raising' means statically may raise; 'that raised' means "
    "observed in a traced run. Answer with one JSON object {\"query\": \"...\"} and nothing else."
)


def translate_question(text: str, config: LlmConfig) -> Query:
    """The parsed query an LLM proposes for ``text``.

    Raises:
        QueryError: the endpoint failed, or its answer is not a valid query.
    """
    try:
        answer = chat_json(config, SYSTEM_PROMPT, json.dumps({"question": text}))
    except (OSError, ValueError, TimeoutError) as err:
        raise QueryError(f"the LLM endpoint {config.base_url} failed: {err}") from err
    proposed = answer.get("query") if isinstance(answer, dict) else None
    if not isinstance(proposed, str) or not proposed.strip():
        raise QueryError("the LLM did not answer with {\"query\": \"...\"}")
    try:
        return parse_query(proposed.strip())
    except QueryError as err:
        raise QueryError(f"the LLM proposed {proposed.strip()!r}, which is not a valid query: {err}") from err
