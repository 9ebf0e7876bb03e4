"""The fleet's answers: whether one cluster can run a job (and when it would start there),
the cluster a selection rule chose, and the batch script written for it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fractale.fleet.requirements import RequirementCheck
from fractale.renamed import old_attribute


@dataclass
class Start:
    """When a job would start on one cluster: allocated now or reserved ``at`` seconds after
    the time of the cluster's snapshot (``planned_from``; the moment asked when the cluster
    has no snapshot and is planned as idle), or ``busy``/``unsatisfiable`` with no time."""

    status: str
    at: int | None
    planned_from: int
    snapshot: bool
    notes: list[str] = field(default_factory=list)

    @property
    def time(self) -> int | None:
        """Unix seconds at which the job would start."""
        return None if self.at is None else self.planned_from + self.at

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "at": self.at, "time": self.time,
                "planned_from": self.planned_from, "snapshot": self.snapshot,
                "notes": self.notes}


@dataclass
class ClusterAnswer:
    """Whether one cluster can run the job, and why not when it cannot; with ``when``, when
    it would start there."""

    cluster: str
    scheduler: str
    fits: bool
    reason: str | None
    software: list[RequirementCheck]
    start: Start | None = None

    @property
    def ok(self) -> bool:
        return self.fits and all(check.met for check in self.software)

    def reasons(self) -> list[str]:
        out = [] if self.fits else [self.reason or "the job's resources do not fit"]
        out += [f"{c.requirement.name}: {c.reason}" for c in self.software if not c.met]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "scheduler": self.scheduler,
            "ok": self.ok,
            "containment": {"fits": self.fits, "reason": self.reason},
            "software": [check.to_dict() for check in self.software],
            "reasons": self.reasons(),
            **({"start": self.start.to_dict()} if self.start is not None else {}),
        }


@dataclass
class Selection:
    """The cluster a rule (``by``) chose, with the score of every fitting cluster it weighed."""

    answer: ClusterAnswer
    by: str
    scores: dict[str, Any]
    policy = old_attribute("Selection", "policy", "by")

    @property
    def cluster(self) -> str:
        return self.answer.cluster

    def to_dict(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "scheduler": self.answer.scheduler,
            "by": self.by,
            # The key's old name, kept one release for readers of `select --json`.
            "policy": self.by,
            "scores": self.scores,
            "answer": self.answer.to_dict(),
        }


@dataclass
class Script:
    """A batch script for one cluster, with the software lines it loads."""

    cluster: str
    scheduler: str
    text: str
    loads: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "scheduler": self.scheduler,
            "loads": self.loads,
            "script": self.text,
        }




def answers_json(answers: Sequence[ClusterAnswer]) -> str:
    """``json.dumps([answer.to_dict() for answer in answers])``'s text, each distinct answer
    encoded once: answers with the same scheduler, fit and software checks (one list shared,
    as ``Fleet.satisfy`` makes them) and no start time differ only in their cluster's name,
    which ``to_dict`` puts first."""
    from json import dumps
    from json.encoder import encode_basestring_ascii

    rests: dict[tuple[str, bool, str | None, int], str] = {}
    parts = []
    for answer in answers:
        head = '{"cluster": ' + encode_basestring_ascii(answer.cluster)
        key = (answer.scheduler, answer.fits, answer.reason, id(answer.software))
        rest = rests.get(key) if answer.start is None else None
        if rest is None:
            rest = dumps(answer.to_dict())[len(head):]
            if answer.start is None:
                rests[key] = rest
        parts.append(head + rest)
    return "[" + ", ".join(parts) + "]"


def no_fit_message(answers: Sequence[ClusterAnswer]) -> str:
    """Why no cluster can run the job, one line per cluster."""
    lines = ["no cluster can run this job:"]
    for answer in answers:
        lines.append(f"  {answer.cluster}: {'; '.join(answer.reasons())}")
    return "\n".join(lines)
