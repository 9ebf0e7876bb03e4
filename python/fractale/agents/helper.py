"""The helper agent: reads a failure, and the attempts before it, and returns a fix.

The helper sees the failing artifact, the command and its output, the goal, and the
history of the step's earlier attempts: how each came about, what it changed from the one
before and why it failed, so that it does not propose a fix that has already failed.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from fractale.agents.llm import LLM, Request
from fractale.agents.record import Attempt, tail
from fractale.agents.replies import artifact_from, explanation_from, whole

SYSTEM = """\
You are the helper of fractale, a tool that writes and runs HPC and cloud jobs. A step \
agent tried an artifact and it failed. Read the artifact, the command that ran it, its \
output, the goal and the earlier attempts, find the cause, and fix it. Never propose a \
change that an earlier attempt already tried and that failed.

Answer with the complete corrected artifact in one fenced code block (the whole file, not a \
diff), then one line that starts with "Explanation:" and says in one sentence what was wrong \
and what you changed. Change only what the failure requires."""

DIFF_LINES = 40


@dataclass(frozen=True)
class Fix:
    """A corrected artifact and why it should work."""

    artifact: str
    explanation: str


def changes(before: str, after: str) -> str:
    """What changed between two artifacts, as a short unified diff."""
    lines = list(
        difflib.unified_diff(
            before.splitlines(), after.splitlines(), "before", "after", lineterm="", n=1
        )
    )[2:]
    if not lines:
        return "(no change)"
    if len(lines) > DIFF_LINES:
        lines = lines[:DIFF_LINES] + [f"... ({len(lines) - DIFF_LINES} more diff lines)"]
    return "\n".join(lines)


def history(attempts: Sequence[Attempt]) -> str:
    """Each earlier attempt: where it came from, what it changed and how it ended."""
    parts = []
    previous: str | None = None
    for attempt in attempts:
        if attempt.malformed:
            parts.append(f"Attempt {attempt.number}: the answer was unusable: {attempt.reason}")
            continue
        entry = f"Attempt {attempt.number} ({attempt.origin}): "
        entry += "succeeded" if attempt.success else f"failed: {attempt.reason}"
        if previous is not None:
            entry += f"\nIt changed:\n```diff\n{changes(previous, attempt.artifact)}\n```"
        parts.append(entry)
        previous = attempt.artifact
    return "\n\n".join(parts)


class Helper:
    """Turns a failure into a fix, through the same model interface as every agent."""

    def __init__(self, llm: LLM) -> None:
        self.llm = llm

    def fix(
        self,
        *,
        kind: str,
        artifact: str,
        command: str | None,
        output: str,
        goal: str,
        earlier: Sequence[Attempt] = (),
        note: str | None = None,
    ) -> Fix:
        """A fix of the failing ``artifact``; ``earlier`` are the step's attempts before it,
        ``note`` what was wrong with the helper's own previous answer, if it was unusable."""
        prompt = f"Goal: {goal}\n\n"
        if earlier:
            prompt += f"Earlier attempts of this step, oldest first:\n\n{history(earlier)}\n\n"
        prompt += (
            f"The failing {kind}:\n```\n{artifact.rstrip()}\n```\n\n"
            f"Command: {command or '(none: the artifact was checked, not run)'}\n\n"
            f"Its output (last lines):\n```\n{tail(output).rstrip() or '(no output)'}\n```\n"
        )
        if note:
            prompt += f"\nYour previous answer could not be used: {note}\n"
        reply = self.llm.ask(Request(purpose="helper", system=SYSTEM, prompt=prompt))
        text = whole(reply, who="helper")
        return Fix(artifact_from(text, who="helper"), explanation_from(text))
