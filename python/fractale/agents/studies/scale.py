"""The scale agent: a strong or weak scaling study over a list of sizes (tasks or nodes).

Each size runs the application through the batch step and reads one metric with the
results step: by default the run's wall time (lower is better); a rate (``better:
higher``) works too. Against the first size s0 with figure v0, a size s with figure v has

    ratio   = v0 / v for a time, v / v0 for a rate
    ideal   = s / s0
    strong: speedup = ratio, efficiency = ratio / ideal
    weak:   a time: efficiency = ratio, speedup = ratio * ideal (scaled speedup);
            a rate: speedup = ratio, efficiency = ratio / ideal

The study stops after the first size whose efficiency falls below ``threshold``, or that
cannot be measured. It writes the table as JSON and text, and a plot of speedup and
efficiency against size with the ideal lines (SVG).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fractale.agents.base import Context
from fractale.agents.conditions import Condition
from fractale.agents.studies.measure import Bench, Measurement, metric_of
from fractale.agents.studies.parameters import render, unknown_placeholders
from fractale.agents.studies.plot import Series, scaling_svg
from fractale.agents.studies.study import Finding, StudyAgent, number
from fractale.agents.tables import text_table
from fractale.errors import AgentError

MODES = ("strong", "weak")
DIMENSIONS = ("tasks", "nodes")
DEFAULT_METRIC = "time: the run's wall time in seconds"
DEFAULT_THRESHOLD = 0.5


@dataclass
class Row:
    size: int
    status: str
    value: float | None = None
    ideal: float | None = None
    speedup: float | None = None
    efficiency: float | None = None
    message: str | None = None
    jobid: str | None = None


def sizes_of(value: Any) -> list[int]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or len(items) < 2:
        raise AgentError("sizes is a list of at least two sizes, e.g. [1, 2, 4, 8]")
    sizes = []
    for item in items:
        try:
            size = int(str(item).strip())
        except ValueError:
            raise AgentError(f"sizes are whole numbers, not {item!r}") from None
        if size < 1:
            raise AgentError(f"sizes are at least 1, not {size}")
        sizes.append(size)
    if sizes != sorted(set(sizes)):
        raise AgentError(f"sizes go up without repeats, not {sizes}")
    return sizes


def scaling(mode: str, lower_better: bool, s0: int, v0: float, size: int, value: float) -> Row:
    """Speedup and efficiency of ``value`` at ``size`` against ``v0`` at ``s0``."""
    ratio = v0 / value if lower_better else value / v0
    ideal = size / s0
    if mode == "strong" or not lower_better:
        speedup, efficiency = ratio, ratio / ideal
    else:
        speedup, efficiency = ratio * ideal, ratio
    return Row(size, "measured", value, ideal, speedup, efficiency)


class ScaleAgent(StudyAgent):
    name = "scale"
    INPUTS = {
        "app": (True, "the application, its command line and what it needs"),
        "sizes": (True, "the sizes to run, going up: [1, 2, 4, 8] or '1,2,4,8'"),
        "mode": (False, "strong (default: the same problem on every size) or weak"),
        "dimension": (False, "tasks (default) or nodes: what a size counts"),
        "metric": (False, f"what to measure: NAME or 'NAME: what it is' ({DEFAULT_METRIC})"),
        "better": (False, "lower (default: a time) or higher (a rate)"),
        "threshold": (False, f"stop once efficiency falls below this ({DEFAULT_THRESHOLD})"),
        "cluster": (False, "a cluster registered with `fractale cluster add`"),
        "scheduler": (False, "slurm or flux, when no cluster is named"),
        "time": (False, "each run's wall-time limit, e.g. 10m"),
        "script": (False, "a batch script template: {{size}}, {{tasks}} or {{nodes}}, {{ratio}}"),
        "notes": (False, "anything else each run's script must do"),
    }
    OUTPUTS = {
        "rows": "each size: its figure, speedup, efficiency and ideal",
        "stop_reason": "why the study stopped",
        "table": "the rows as a text table",
        "json_path": "the JSON file of the study",
        "table_path": "the text table's file",
        "plot_path": "the SVG plot of speedup and efficiency against size",
    }

    def __init__(self, inputs: dict[str, Any], *, success: Condition | None = None) -> None:
        super().__init__(inputs, success=success)
        self.sizes = sizes_of(self.inputs["sizes"])
        self.mode = str(self.inputs.get("mode") or "strong").lower()
        if self.mode not in MODES:
            raise AgentError(f"mode is strong or weak, not {self.mode!r}")
        self.dimension = str(self.inputs.get("dimension") or "tasks").lower()
        if self.dimension not in DIMENSIONS:
            raise AgentError(f"dimension is tasks or nodes, not {self.dimension!r}")
        better = str(self.inputs.get("better") or "lower").lower()
        if better not in ("lower", "higher"):
            raise AgentError(f"better is lower or higher, not {better!r}")
        self.lower_better = better == "lower"
        self.threshold = number(self.inputs.get("threshold", DEFAULT_THRESHOLD), "threshold")
        if not 0 <= self.threshold <= 1:
            raise AgentError("threshold is an efficiency between 0 and 1")
        metric, description = metric_of(self.inputs.get("metric") or DEFAULT_METRIC)
        self.template = self.inputs.get("script")
        if self.template:
            unknown = unknown_placeholders(str(self.template), {"size", "ratio", self.dimension})
            if unknown:
                raise AgentError(
                    f"the script template has {{{{{unknown[0]}}}}}; a scaling template may use "
                    f"{{{{size}}}}, {{{{{self.dimension}}}}} and {{{{ratio}}}}"
                )
        shared = ("app", "cluster", "scheduler", "time", "notes")
        self.bench = Bench(
            {key: self.inputs.get(key) for key in shared}, metric, description or metric
        )

    def batch_inputs(self, size: int) -> dict[str, Any]:
        s0 = self.sizes[0]
        ratio = size / s0
        unit = self.dimension[:-1]
        if self.mode == "strong":
            what = f"Strong scaling: run the same total problem on {size} {self.dimension}."
        else:
            what = (
                f"Weak scaling: run on {size} {self.dimension} with the problem grown to "
                f"{ratio:g} times that of the {s0}-{unit} run, so each {unit} has the same work."
            )
        inputs: dict[str, Any] = {"app": f"{self.inputs['app']}\n{what}", self.dimension: size}
        if self.template:
            values = {"size": size, self.dimension: size, "ratio": f"{ratio:g}"}
            inputs["script"] = render(str(self.template), values)
        return inputs

    def study(self, ctx: Context, step: str, folder: Path, feedback: str | None) -> Finding:
        rows: list[Row] = []
        stop_reason = "every size was measured"
        for size in self.sizes:
            measured: Measurement = self.bench.measure(
                ctx, step, f"size-{size}", {self.dimension: size}, self.batch_inputs(size)
            )
            if measured.status == "dry-run":
                rows.append(Row(size, "dry-run"))
                return self._finding(
                    folder,
                    rows,
                    "dry-run",
                    "dry run: the first size's script was written and checked; nothing measured",
                    "dry run",
                )
            if measured.value is None or measured.value <= 0:
                why = measured.message or f"{self.bench.metric} is {measured.value}"
                rows.append(Row(size, "failed", message=why, jobid=measured.jobid))
                stop_reason = f"size {size} could not be measured: {why}"
                break
            if not rows:
                row = Row(size, "measured", measured.value, 1.0, 1.0, 1.0)
            else:
                first = rows[0]
                assert first.value is not None
                row = scaling(
                    self.mode, self.lower_better, first.size, first.value, size, measured.value
                )
            row.jobid = measured.jobid
            rows.append(row)
            ctx.echo(
                f"[{step}] {size} {self.dimension}: {self.bench.metric} {row.value:g}, "
                f"speedup {row.speedup:.2f}, efficiency {row.efficiency:.2f}"
            )
            assert row.efficiency is not None
            if row.efficiency < self.threshold:
                stop_reason = (
                    f"efficiency {row.efficiency:.2f} at {size} {self.dimension} fell below "
                    f"{self.threshold:g}"
                )
                break
        measured_rows = [row for row in rows if row.status == "measured"]
        if len(measured_rows) < 2:
            return self._finding(
                folder, rows, "failed", f"fewer than two sizes measured: {stop_reason}", stop_reason
            )
        return self._finding(folder, rows, "succeeded", f"stopped: {stop_reason}", stop_reason)

    def table(self, rows: list[Row]) -> str:
        unit = f" ({self.bench.unit})" if self.bench.unit else ""
        headers = [
            self.dimension,
            f"{self.bench.metric}{unit}",
            "ideal",
            "speedup",
            "efficiency",
            "note",
        ]
        body = []
        for row in rows:
            if row.status != "measured":
                note = f"{row.status}: {row.message}" if row.message else row.status
                body.append([str(row.size), "-", "-", "-", "-", note[:70]])
                continue
            assert row.value is not None and row.speedup is not None and row.efficiency is not None
            body.append(
                [
                    str(row.size),
                    f"{row.value:.4g}",
                    f"{row.ideal:.2f}",
                    f"{row.speedup:.2f}",
                    f"{row.efficiency:.2f}",
                    "below threshold" if row.efficiency < self.threshold else "",
                ]
            )
        done = {row.size for row in rows}
        body += [
            [str(size), "-", "-", "-", "-", "not run"] for size in self.sizes if size not in done
        ]
        return text_table(headers, body)

    def _finding(
        self, folder: Path, rows: list[Row], status: str, message: str, stop_reason: str
    ) -> Finding:
        table = f"{self.mode} scaling over {self.dimension}\n{self.table(rows)}\n{message}"
        document = {
            "mode": self.mode,
            "dimension": self.dimension,
            "metric": self.bench.metric,
            "unit": self.bench.unit,
            "better": "lower" if self.lower_better else "higher",
            "threshold": self.threshold,
            "sizes": self.sizes,
            "rows": [asdict(row) for row in rows],
            "stop_reason": stop_reason,
            "status": status,
        }
        outputs: dict[str, Any] = {
            "rows": document["rows"],
            "stop_reason": stop_reason,
            "table": table,
            "plot_path": None,
            **self.write(folder, "scale", document, table),
        }
        measured = [row for row in rows if row.status == "measured"]
        if len(measured) >= 2:
            plot = folder / "scale.svg"
            title = f"{self.mode.capitalize()} scaling: {str(self.inputs['app']).splitlines()[0]}"
            plot.write_text(
                scaling_svg(
                    title[:90],
                    self.dimension,
                    Series(
                        [row.size for row in measured], [row.speedup or 0.0 for row in measured]
                    ),
                    Series(
                        [row.size for row in measured], [row.efficiency or 0.0 for row in measured]
                    ),
                    self.threshold,
                ),
                encoding="utf-8",
            )
            outputs["plot_path"] = str(plot)
        return Finding(status, message, outputs)
