"""fractale's exception hierarchy: the core's errors and the Python layer's, under one base.

Every error a user can cause is a ``FractaleError``; the CLI turns it into a message and
exit status 2. Each carries ``file``, ``location`` and ``expected`` where they are known.
"""

from __future__ import annotations

from fractale._core import FractaleError, JGFError, JobspecError, MatchError


class TranslateError(FractaleError):
    """A batch script or job that cannot be read or written for a workload manager."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        location: str | None = None,
        expected: str | None = None,
    ) -> None:
        super().__init__(message)
        self.file = file
        self.location = location
        self.expected = expected


class StoreError(FractaleError):
    """The cluster store cannot do what was asked (an unknown cluster, a name taken, a lock)."""


class SubmitError(FractaleError):
    """A job that cannot be submitted, followed or cancelled: the scheduler's or ssh's own
    message says why (an unreachable host, a refused script, an unknown job)."""

    def __init__(self, message: str, *, expected: str | None = None) -> None:
        super().__init__(message)
        self.file = None
        self.location = None
        self.expected = expected


class AgentError(FractaleError):
    """An agent, its plan or its LLM backend cannot go on."""


class BudgetExceeded(AgentError):
    """The next model call could spend more than what is left of ``--budget``."""


class MalformedAnswer(AgentError):
    """A model's answer that cannot be used (no artifact, cut short, not the data asked for).

    It costs the step one attempt, and the problem is told to the model on the next one.
    """


__all__ = [
    "AgentError",
    "BudgetExceeded",
    "FractaleError",
    "JGFError",
    "JobspecError",
    "MalformedAnswer",
    "MatchError",
    "StoreError",
    "SubmitError",
    "TranslateError",
]
