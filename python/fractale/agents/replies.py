"""Reading a model's answer: the artifact in its fenced block, its one-line explanation, or
the JSON document a structured answer holds. An answer that cannot be read is a
``MalformedAnswer``, which costs the asking step one attempt rather than the whole run.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fractale.agents.llm import Reply
from fractale.errors import MalformedAnswer

FENCE = re.compile(r"^[ \t]*```[^\n`]*\n(.*?)^[ \t]*```[ \t]*$", re.DOTALL | re.MULTILINE)
EXPLANATION = re.compile(r"^\s*(?:\*\*)?explanation(?:\*\*)?\s*:\s*(?:\*\*)?\s*(.+)$", re.I | re.M)


def whole(reply: Reply, *, who: str) -> str:
    """The reply's text, refused when the model stopped at its token limit mid-answer."""
    if reply.truncated:
        raise MalformedAnswer(
            f"the {who} agent's answer was cut off at the token limit (max_tokens) and is "
            "incomplete; answer again, shorter"
        )
    return reply.text


def artifact_from(text: str, *, who: str) -> str:
    """The first fenced code block of an answer; an answer without one must be all artifact."""
    match = FENCE.search(text)
    if match:
        body = match.group(1)
    elif "```" in text:
        raise MalformedAnswer(f"the {who} agent's answer opens a code block and never closes it")
    else:
        body = text.strip("\n")
    if not body.strip():
        raise MalformedAnswer(f"the {who} agent's answer holds no artifact")
    return body if body.endswith("\n") else body + "\n"


def document_from(text: str, *, who: str) -> dict[str, Any]:
    """The JSON object of a structured answer (bare, or in a fenced block)."""
    body = artifact_from(text, who=who)
    try:
        document = json.loads(body)
    except ValueError as err:
        raise MalformedAnswer(f"the {who} agent's answer is not valid JSON: {err}") from None
    if not isinstance(document, dict):
        raise MalformedAnswer(f"the {who} agent's answer is JSON but not an object")
    return document


def explanation_from(text: str) -> str:
    """The answer's ``Explanation: ...`` line, else its first line of prose outside code."""
    match = EXPLANATION.search(FENCE.sub("", text))
    if match:
        return match.group(1).strip().strip("*").strip()
    for line in FENCE.sub("", text).splitlines():
        if line.strip():
            return line.strip()[:200]
    return "no explanation given"
