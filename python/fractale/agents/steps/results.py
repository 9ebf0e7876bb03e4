"""The results agent: pulls named metrics (figures of merit, wall time) out of an output.

The model writes one regular expression per metric; fractale applies them itself and
writes the values as JSON, so the same patterns can be reused on the next run's output and
nothing the model wrote is ever executed. A metric that does not match goes to the helper.
The model answers through structured output, held to a schema naming every metric.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fractale.agents.base import Context, StepAgent
from fractale.agents.conditions import Outcome
from fractale.agents.execute import last_match
from fractale.agents.record import tail, write_json
from fractale.errors import AgentError

TYPES = ("float", "int", "str", "duration")
# How long one metric's pattern may search the output before it is taken for runaway
# backtracking: real patterns over real outputs answer in milliseconds.
PATTERN_SECONDS = 10.0

SYSTEM = """\
You are the results agent of fractale. From an application's output, you write one Python \
regular expression per requested metric, whose first capture group is the metric's value. \
Answer with one fenced JSON block of this shape and nothing else:

{"metrics": {"NAME": {"pattern": "REGEX", "type": "float|int|str|duration", "unit": "UNIT"}}}

Use type "duration" for times written as seconds or as [[H:]M]:S. When a metric appears \
several times, the last match is used."""


def duration_seconds(text: str) -> float:
    parts = text.strip().split(":")
    if len(parts) > 3:
        raise ValueError(text)
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + float(part)
    return seconds


def convert(value: str, kind: str) -> Any:
    if kind == "float":
        return float(value)
    if kind == "int":
        return int(value.replace(",", ""))
    if kind == "duration":
        return duration_seconds(value)
    return value.strip()


class ResultsAgent(StepAgent):
    name = "results"
    kind = "metric extraction patterns (JSON)"
    filename = "patterns.json"
    INPUTS = {
        "metrics": (True, "the metrics to extract: a list of names, or names with descriptions"),
        "output": (False, "the application's output text"),
        "output_file": (False, "a file holding the application's output"),
        "patterns": (False, "patterns from an earlier run (JSON) to apply instead of asking"),
    }
    OUTPUTS = {
        "artifact": "the patterns (JSON)",
        "path": "where the patterns were written",
        "metrics": "the extracted values by name",
        "metrics_path": "the JSON file holding them",
    }
    SYSTEM = SYSTEM

    def __init__(self, inputs: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(inputs, **kwargs)
        metrics = self.inputs["metrics"]
        if isinstance(metrics, str):
            metrics = [name.strip() for name in metrics.split(",") if name.strip()]
        if isinstance(metrics, list):
            metrics = {str(name): "" for name in metrics}
        if not isinstance(metrics, dict) or not metrics:
            raise AgentError("the results agent's metrics are a list of names or a mapping")
        self.metrics = {str(name): str(text or "") for name, text in metrics.items()}
        if "output" not in self.inputs and "output_file" not in self.inputs:
            raise AgentError("the results agent needs the output, or an output_file to read")

    def schema(self) -> dict[str, Any]:
        entry = {
            "type": "object",
            "properties": {
                "pattern": {"type": "string"},
                "type": {"type": "string", "enum": list(TYPES)},
                "unit": {"type": "string"},
            },
            "required": ["pattern", "type", "unit"],
            "additionalProperties": False,
        }
        return {
            "type": "object",
            "properties": {
                "metrics": {
                    "type": "object",
                    "properties": {name: entry for name in self.metrics},
                    "required": list(self.metrics),
                    "additionalProperties": False,
                }
            },
            "required": ["metrics"],
            "additionalProperties": False,
        }

    def given_artifact(self) -> tuple[str, str] | None:
        given = self.inputs.get("patterns")
        if not given:
            return None
        text = given if isinstance(given, str) else json.dumps(given, indent=2)
        return (text if text.endswith("\n") else f"{text}\n"), "input"

    def cache_identity(self) -> dict[str, Any]:
        # Patterns are written for the metrics, so they serve the next run's output too.
        return {"metrics": self.metrics}

    def application_output(self) -> str:
        if self.inputs.get("output") is not None:
            return str(self.inputs["output"])
        path = Path(str(self.inputs["output_file"]))
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError as err:
            raise AgentError(f"cannot read output file {path}: {err.strerror}") from None

    def goal(self) -> str:
        wanted = "\n".join(
            f"- {name}" + (f": {text}" if text else "") for name, text in self.metrics.items()
        )
        sample = tail(self.application_output(), 200, 20000)
        return (
            f"Write patterns that extract these metrics:\n{wanted}\n\n"
            f"from this application output (last lines):\n```\n{sample}\n```"
        )

    def patterns(self, artifact: str) -> dict[str, dict[str, Any]]:
        """The artifact's patterns, or AgentError saying what is wrong with them."""
        try:
            document = json.loads(artifact)
        except ValueError as err:
            raise AgentError(f"the patterns are not valid JSON: {err}") from None
        table = document.get("metrics") if isinstance(document, dict) else None
        if not isinstance(table, dict):
            raise AgentError('the patterns must be {"metrics": {NAME: {"pattern": ...}}}')
        missing = [name for name in self.metrics if name not in table]
        if missing:
            raise AgentError(f"no pattern for metric(s): {', '.join(missing)}")
        for name, entry in table.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("pattern"), str):
                raise AgentError(f"metric {name!r} needs a 'pattern' string")
            if entry.get("type", "str") not in TYPES:
                raise AgentError(
                    f"metric {name!r} has type {entry.get('type')!r}; use one of {TYPES}"
                )
            try:
                compiled = re.compile(entry["pattern"], re.MULTILINE)
            except re.error as err:
                raise AgentError(f"metric {name!r}: pattern is not a valid regex ({err})") from None
            if compiled.groups < 1:
                raise AgentError(f"metric {name!r}: pattern has no capture group for the value")
        return table

    def check(self, ctx: Context, artifact: str) -> str | None:
        try:
            self.patterns(artifact)
        except AgentError as err:
            return str(err)
        return None

    def check_command(self) -> str:
        return "fractale: check the patterns (JSON, one regex with a capture group per metric)"

    def execute(self, ctx: Context, artifact: str, path: Path) -> Outcome:
        table = self.patterns(artifact)
        text = self.application_output()
        values: dict[str, Any] = {}
        problems: list[str] = []
        for name in self.metrics:
            entry = table[name]
            try:
                found = last_match(entry["pattern"], text, PATTERN_SECONDS)
            except AgentError as err:
                problems.append(f"{name}: {err}")
                continue
            if found is None:
                problems.append(f"{name}: pattern {entry['pattern']!r} matches nothing")
                continue
            raw = found[0]
            if raw is None:
                problems.append(f"{name}: the capture group of {entry['pattern']!r} took no "
                                "part in its last match")
                continue
            try:
                values[name] = convert(raw, entry.get("type", "str"))
            except (TypeError, ValueError):
                problems.append(f"{name}: {raw!r} is not a {entry.get('type')}")
        metrics_path = path.with_name("metrics.json")
        outputs = {
            "artifact": artifact,
            "path": str(path),
            "metrics": values,
            "metrics_path": str(metrics_path),
        }
        command = "fractale: apply the patterns to the application output"
        if problems:
            report = "\n".join(problems)
            return Outcome(
                False,
                f"{len(problems)} metric(s) not extracted: " + "; ".join(problems),
                output=f"{report}\n--- application output (last lines) ---\n{tail(text)}",
                returncode=1,
                command=command,
                executed=True,
                outputs=outputs,
            )
        units = {name: table[name].get("unit") for name in self.metrics if table[name].get("unit")}
        write_json(metrics_path, {"metrics": values, "units": units})
        return Outcome(
            True,
            f"extracted {len(values)} metric(s) into {metrics_path}",
            output=json.dumps(values, indent=2),
            returncode=0,
            command=command,
            executed=True,
            outputs=outputs,
        )
