"""One measurement: the application run in one configuration, and one figure read from it.

The run is the batch step (a script from a template, or written by the model for the
configuration, repaired by the helper when it fails); the figure is the results step's.
The results step's patterns are kept after the first success and applied to every later
run's output, so a study asks the model for them once.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from fractale.agents.base import Context
from fractale.agents.steps.batch import BatchAgent
from fractale.agents.steps.results import ResultsAgent


@dataclass
class Measurement:
    """What one run gave: its figure (None when it failed) and where its records are."""

    label: str
    config: dict[str, Any]
    status: str  # measured, failed or dry-run
    value: float | None = None
    message: str | None = None
    jobid: str | None = None
    steps: list[str] = field(default_factory=list)
    cost_usd: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def metric_of(value: Any, default_description: str = "") -> tuple[str, str]:
    """A metric's name and description from ``NAME``, ``NAME: DESCRIPTION`` or a mapping."""
    if isinstance(value, dict) and len(value) == 1:
        ((name, text),) = value.items()
        return str(name), str(text or default_description)
    text = str(value)
    name, _, description = text.partition(":")
    return name.strip(), (description.strip() or default_description)


class Bench:
    """Runs the application as a batch job and reads one metric from its output."""

    def __init__(self, base: dict[str, Any], metric: str, description: str) -> None:
        # The batch step's inputs every run shares (app, cluster or scheduler, time, notes).
        self.base = base
        self.metric = metric
        self.description = description
        self.patterns: str | None = None
        self.unit: str | None = None

    def measure(
        self,
        ctx: Context,
        step: str,
        label: str,
        config: dict[str, Any],
        batch: dict[str, Any],
    ) -> Measurement:
        """Run with ``batch`` (inputs on top of the shared ones) and read the metric."""
        spent = ctx.llm.ledger.totals.cost_usd
        result = Measurement(label, config, "failed")
        run_step = f"{step}-{label}-run"
        inputs = {key: value for key, value in {**self.base, **batch}.items() if value is not None}
        record = BatchAgent(inputs).run(ctx, run_step)
        result.steps.append(run_step)
        result.jobid = record.outputs.get("jobid")
        if record.status == "dry-run":
            result.status, result.message = "dry-run", "the script was written and checked"
            return self._spent(ctx, result, spent)
        if not record.succeeded:
            result.message = record.message
            return self._spent(ctx, result, spent)
        metric_step = f"{step}-{label}-{self.metric}"
        reading: dict[str, Any] = {
            "output": record.outputs.get("output", ""),
            "metrics": {self.metric: self.description},
        }
        if self.patterns is not None:
            reading["patterns"] = self.patterns
        numbers = ResultsAgent(reading).run(ctx, metric_step)
        result.steps.append(metric_step)
        if not numbers.succeeded:
            result.message = numbers.message
            return self._spent(ctx, result, spent)
        self.patterns = numbers.outputs["artifact"]
        self.unit = self._unit(self.patterns)
        value = numbers.outputs["metrics"].get(self.metric)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            result.message = f"{self.metric} is {value!r}, not a number"
            return self._spent(ctx, result, spent)
        result.status, result.value = "measured", float(value)
        return self._spent(ctx, result, spent)

    def _unit(self, patterns: str) -> str | None:
        try:
            entry = json.loads(patterns)["metrics"][self.metric]
        except (ValueError, KeyError, TypeError):
            return None
        unit = entry.get("unit") if isinstance(entry, dict) else None
        return str(unit) if unit else None

    @staticmethod
    def _spent(ctx: Context, result: Measurement, before: float) -> Measurement:
        result.cost_usd = round(ctx.llm.ledger.totals.cost_usd - before, 6)
        return result
