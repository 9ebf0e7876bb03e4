"""Reading a model's answer: the artifact in its fenced block and its one-line explanation."""

from __future__ import annotations

import re

from fractale.errors import AgentError

FENCE = re.compile(r"^[ \t]*```[^\n`]*\n(.*?)^[ \t]*```[ \t]*$", re.DOTALL | re.MULTILINE)
EXPLANATION = re.compile(r"^\s*(?:\*\*)?explanation(?:\*\*)?\s*:\s*(?:\*\*)?\s*(.+)$", re.I | re.M)


def artifact_from(text: str, *, who: str) -> str:
    """The first fenced code block of an answer; an answer without one must be all artifact."""
    match = FENCE.search(text)
    if match:
        body = match.group(1)
    elif "```" in text:
        raise AgentError(f"the {who} agent's answer opens a code block and never closes it")
    else:
        body = text.strip("\n")
    if not body.strip():
        raise AgentError(f"the {who} agent's answer holds no artifact")
    return body if body.endswith("\n") else body + "\n"


def explanation_from(text: str) -> str:
    """The answer's ``Explanation: ...`` line, else its first line of prose outside code."""
    match = EXPLANATION.search(FENCE.sub("", text))
    if match:
        return match.group(1).strip().strip("*").strip()
    for line in FENCE.sub("", text).splitlines():
        if line.strip():
            return line.strip()[:200]
    return "no explanation given"
