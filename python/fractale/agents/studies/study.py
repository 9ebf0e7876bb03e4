"""What every study shares: its record, its files and its checks of plan values.

A study is one plan step. Its record holds no attempts of its own (the runs it made are
steps with their own records, named STEP-LABEL-run and STEP-LABEL-METRIC); its outputs
hold the table, and the paths of the JSON and text files written into the step's folder.
"""

from __future__ import annotations

import json
import time
from abc import abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fractale.agents.base import Agent, Context
from fractale.agents.record import StepRecord, write_json
from fractale.errors import AgentError, FractaleError


@dataclass
class Finding:
    """How a study ended: its status (succeeded, failed, dry-run), why, and its outputs."""

    status: str
    message: str
    outputs: dict[str, Any] = field(default_factory=dict)


def number(value: Any, name: str, *, positive: bool = False) -> float:
    """A plan value that must be a number."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise AgentError(f"{name} is a number, not {value!r}") from None
    if positive and result <= 0:
        raise AgentError(f"{name} must be greater than 0")
    return result


def whole_number(value: Any, name: str, *, least: int = 1) -> int:
    try:
        result = int(str(value))
    except ValueError:
        raise AgentError(f"{name} is a whole number, not {value!r}") from None
    if result < least:
        raise AgentError(f"{name} must be at least {least}")
    return result


class StudyAgent(Agent):
    """A step that runs the application many times; subclasses say what to run and learn."""

    @classmethod
    def input_problem(cls, inputs: dict[str, Any]) -> str | None:
        # A study's rules (bounds, sizes, templates) are checked by building it, unless an
        # input is still a reference that only running the plan resolves.
        if "${" in json.dumps(inputs, default=str):
            return None
        try:
            cls(inputs)
        except AgentError as err:
            return str(err)
        return None

    @abstractmethod
    def study(self, ctx: Context, step: str, folder: Path, feedback: str | None) -> Finding:
        """Run the study; files go into ``folder``."""

    def run(
        self,
        ctx: Context,
        step: str,
        *,
        feedback: str | None = None,
        record: StepRecord | None = None,
        resume: bool = False,
    ) -> StepRecord:
        record = StepRecord(step, self.name, ctx.llm.model, self.inputs)
        ledger = ctx.llm.ledger
        before = (ledger.totals.input_tokens, ledger.totals.output_tokens, ledger.totals.cost_usd)
        began = time.monotonic()
        folder = ctx.workdir / step
        folder.mkdir(parents=True, exist_ok=True)
        try:
            finding = self.study(ctx, step, folder, feedback)
        except FractaleError as err:
            record.status, record.message = "stopped", str(err)
            self._close(ctx, record, before, began)
            raise
        record.status, record.message, record.outputs = (
            finding.status,
            finding.message,
            finding.outputs,
        )
        self._close(ctx, record, before, began)
        return record

    @staticmethod
    def _close(
        ctx: Context, record: StepRecord, before: tuple[int, int, float], began: float
    ) -> None:
        totals = ctx.llm.ledger.totals
        record.input_tokens = totals.input_tokens - before[0]
        record.output_tokens = totals.output_tokens - before[1]
        record.cost_usd = totals.cost_usd - before[2]
        record.duration_s = round(time.monotonic() - began, 3)
        ctx.records.step_done(record)

    @staticmethod
    def write(folder: Path, name: str, document: dict[str, Any], table: str) -> dict[str, str]:
        """The study's JSON and text files; their paths, for the outputs."""
        json_path, table_path = folder / f"{name}.json", folder / f"{name}.txt"
        write_json(json_path, document)
        table_path.write_text(table + "\n", encoding="utf-8")
        return {"json_path": str(json_path), "table_path": str(table_path)}
