"""The helper agent: reads one failure and returns a corrected artifact with a one-line why."""

from __future__ import annotations

from dataclasses import dataclass

from fractale.agents.llm import LLM, Request
from fractale.agents.record import tail
from fractale.agents.replies import artifact_from, explanation_from

SYSTEM = """\
You are the helper of fractale, a tool that writes and runs HPC and cloud jobs. A step \
agent tried an artifact and it failed. Read the artifact, the command that ran it, its \
output and the goal, find the cause, and fix it.

Answer with the complete corrected artifact in one fenced code block (the whole file, not a \
diff), then one line that starts with "Explanation:" and says in one sentence what was wrong \
and what you changed. Change only what the failure requires."""


@dataclass(frozen=True)
class Fix:
    """A corrected artifact and why it should work."""

    artifact: str
    explanation: str


class Helper:
    """Turns a failure into a fix, through the same model interface as every agent."""

    def __init__(self, llm: LLM) -> None:
        self.llm = llm

    def fix(self, *, kind: str, artifact: str, command: str | None, output: str, goal: str) -> Fix:
        prompt = (
            f"Goal: {goal}\n\n"
            f"The failing {kind}:\n```\n{artifact.rstrip()}\n```\n\n"
            f"Command: {command or '(none: the artifact was checked, not run)'}\n\n"
            f"Its output (last lines):\n```\n{tail(output).rstrip() or '(no output)'}\n```\n"
        )
        reply = self.llm.ask(Request(purpose="helper", system=SYSTEM, prompt=prompt))
        return Fix(artifact_from(reply.text, who="helper"), explanation_from(reply.text))
