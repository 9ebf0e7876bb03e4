"""How a step's attempt fared (``Outcome``) and a plan's success condition on it.

A plan may ask more of a step than its agent does (a job state, text in the output, a
return code); ``Condition`` says which of those an outcome misses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fractale.errors import AgentError


@dataclass
class Outcome:
    """How one artifact fared: ``reason`` says why it failed (or what was not run)."""

    success: bool
    reason: str | None = None
    output: str = ""
    returncode: int | None = None
    command: str | None = None
    state: str | None = None
    executed: bool = False
    outputs: dict[str, Any] = field(default_factory=dict)
    # No other artifact can fix this failure (no cluster, no builder): stop the step.
    final: bool = False


class Condition:
    """A plan's success condition for a step, on top of the agent's own judgement."""

    KEYS = ("returncode", "output_contains", "output_matches", "state")

    def __init__(self, spec: dict[str, Any]) -> None:
        unknown = set(spec) - set(self.KEYS)
        if unknown:
            raise AgentError(
                f"unknown success condition {sorted(unknown)[0]!r} (known: {', '.join(self.KEYS)})"
            )
        self.spec = dict(spec)
        if "returncode" in spec and not isinstance(spec["returncode"], int):
            raise AgentError("success returncode must be an integer")
        for key in ("output_contains", "output_matches", "state"):
            if key in spec and not isinstance(spec[key], str):
                raise AgentError(f"success {key} must be a string")
        if "output_matches" in spec:
            try:
                self.pattern = re.compile(spec["output_matches"], re.MULTILINE)
            except re.error as err:
                raise AgentError(f"success output_matches is not a valid regex: {err}") from None

    def unmet(self, outcome: Outcome) -> str | None:
        """Why ``outcome`` does not meet the condition, or None when it does."""
        spec = self.spec
        if "returncode" in spec and outcome.returncode != spec["returncode"]:
            return f"return code {outcome.returncode}, the plan wants {spec['returncode']}"
        if "state" in spec and (outcome.state or "").upper() != spec["state"].upper():
            return f"state {outcome.state}, the plan wants {spec['state']}"
        if "output_contains" in spec and spec["output_contains"] not in outcome.output:
            return f"the output does not contain {spec['output_contains']!r}"
        if "output_matches" in spec and not self.pattern.search(outcome.output):
            return f"the output does not match {spec['output_matches']!r}"
        return None
