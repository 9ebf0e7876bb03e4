"""What a translation could not carry over: each loss names where it came from and why.

A ``Loss`` from reading points at a line of the source; one from writing names the model
field the target manager cannot express. A ``Translation`` bundles the written text with
every loss of both stages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fractale.transform.model import BatchJob


@dataclass(frozen=True)
class Loss:
    """One directive, option or field that was not translated."""

    reason: str
    line: int | None = None
    directive: str | None = None
    field: str | None = None
    stage: str = "parse"

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        what = self.directive or self.field or ""
        return f"{where}{what}: {self.reason}" if what else f"{where}{self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "line": self.line,
            "directive": self.directive,
            "field": self.field,
            "reason": self.reason,
        }


@dataclass
class Translation:
    """A job read from one manager and written for another, with what was lost on the way."""

    text: str
    spec: BatchJob
    source: str
    target: str
    losses: list[Loss] = field(default_factory=list)

    @property
    def lossless(self) -> bool:
        return not self.losses

    def __str__(self) -> str:
        return self.text

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "lossless": self.lossless,
            "losses": [loss.to_dict() for loss in self.losses],
            "spec": self.spec.to_dict(),
            "text": self.text,
        }
