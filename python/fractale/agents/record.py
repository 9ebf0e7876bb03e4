"""Results records: one JSON file per step with every attempt, written to ``--results DIR``.

An attempt keeps its artifact, the command that ran it, the return code, the tail of its
output, how long it took and the tokens and dollars spent producing it. Secrets never reach
a record: the Anthropic key, and anything shaped like one, is replaced before writing.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

TAIL_LINES = 60
TAIL_CHARS = 6000
KEY_SHAPE = re.compile(r"sk-ant-[A-Za-z0-9_\-]{8,}")
REDACTED = "[redacted]"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def tail(text: str, lines: int = TAIL_LINES, chars: int = TAIL_CHARS) -> str:
    """The last ``lines`` lines of ``text``, and at most ``chars`` characters of them."""
    kept = "\n".join(text.rstrip("\n").splitlines()[-lines:])
    return kept[-chars:]


def redact(value: Any) -> Any:
    """``value`` with the API key (and anything shaped like an Anthropic key) blanked out."""
    if isinstance(value, str):
        key = os.environ.get("ANTHROPIC_API_KEY")
        if key and len(key) >= 8:
            value = value.replace(key, REDACTED)
        return KEY_SHAPE.sub(REDACTED, value)
    if isinstance(value, dict):
        return {name: redact(item) for name, item in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


@dataclass
class Attempt:
    """One try of a step: the artifact, how it ran and what it cost."""

    number: int
    origin: str
    artifact: str
    artifact_path: str | None = None
    command: str | None = None
    returncode: int | None = None
    state: str | None = None
    output_tail: str = ""
    executed: bool = False
    success: bool = False
    reason: str | None = None
    # The model's answer could not be read (no artifact, cut off, not the data asked for).
    malformed: bool = False
    started: str = field(default_factory=now)
    duration_s: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


@dataclass
class StepRecord:
    """Everything one step did: its attempts, its outcome and its outputs for later steps."""

    step: str
    agent: str
    model: str | None
    inputs: dict[str, Any]
    status: str = "running"
    message: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    started: str = field(default_factory=now)
    duration_s: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def succeeded(self) -> bool:
        return self.status in ("succeeded", "dry-run")

    def last(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None

    def to_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document["cost_usd"] = round(self.cost_usd, 6)
        for attempt in document["attempts"]:
            attempt["cost_usd"] = round(attempt["cost_usd"], 6)
        return redact(document)


def write_json(path: Path, document: dict[str, Any]) -> None:
    """Write atomically, so a reader never sees half a record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(redact(document), stream, indent=2, default=str)
        stream.write("\n")
    os.replace(temporary, path)


class Records:
    """Where records go: ``DIR/<step>.json``; with ``incremental`` after every attempt."""

    def __init__(self, directory: Path | None, *, incremental: bool = False) -> None:
        self.directory = directory
        self.incremental = incremental

    def path_for(self, step: str) -> Path | None:
        if self.directory is None:
            return None
        return self.directory / f"{step}.json"

    def attempt_done(self, record: StepRecord) -> None:
        if self.incremental:
            self.step_done(record)

    def step_done(self, record: StepRecord) -> None:
        path = self.path_for(record.step)
        if path is not None:
            write_json(path, record.to_dict())

    def plan_done(self, summary: dict[str, Any]) -> None:
        if self.directory is not None:
            write_json(self.directory / "plan.json", summary)
