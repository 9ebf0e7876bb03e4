"""The optimize agent: a figure-of-merit search over the parameters a plan bounds.

Each round runs the application in one configuration (batch step), reads the figure of
merit (results step), and asks the model for the next configuration, showing it every
round so far. The model's proposal must be within the bounds and not tried before; one
that is not costs an attempt and the model is told why. The study stops when the target
is reached, when ``patience`` rounds bring no improvement, at the round limit, when its
dollar budget for the model is spent, or when the model judges that nothing will improve.
Every round is recorded, and the best configuration reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fractale.agents.base import Context
from fractale.agents.conditions import Condition
from fractale.agents.llm import Request
from fractale.agents.replies import document_from, whole
from fractale.agents.studies.measure import Bench, Measurement, metric_of
from fractale.agents.studies.parameters import (
    Parameter,
    configuration_problems,
    describe,
    geometry,
    label,
    parameters,
    render,
    unknown_placeholders,
)
from fractale.agents.studies.study import Finding, StudyAgent, number, whole_number
from fractale.agents.tables import text_table
from fractale.errors import AgentError, MalformedAnswer

GOALS = ("maximize", "minimize")
DEFAULT_ROUNDS = 8
DEFAULT_PATIENCE = 3

SYSTEM = """\
You are the optimizer of fractale, which runs HPC applications on real clusters. You tune \
an application's parameters (job geometry, environment, application flags) to improve a \
figure of merit. Each turn you see every configuration measured so far and propose the next \
one to run: within the bounds, not tried before, chosen to learn the most or to improve on \
the best. When you judge that no untried configuration is likely to beat the best, say stop.

Answer with one JSON object and nothing else:
{"parameters": {NAME: VALUE, ...}, "stop": false, "reason": "why this configuration"}"""


@dataclass(frozen=True)
class Proposal:
    config: dict[str, Any]
    stop: bool
    reason: str


class OptimizeAgent(StudyAgent):
    name = "optimize"
    INPUTS = {
        "app": (True, "the application, its command line and what it needs"),
        "parameters": (True, "NAME: {kind: nodes|tasks|env|flag, min, max} or {choices: [...]}"),
        "fom": (True, "the figure of merit: NAME, 'NAME: what it is', or {NAME: what it is}"),
        "goal": (False, "maximize (default) or minimize the figure of merit"),
        "start": (False, "the first configuration (default: the model proposes one)"),
        "target": (False, "stop once the figure of merit reaches this value"),
        "patience": (
            False,
            f"stop after this many rounds without improvement ({DEFAULT_PATIENCE})",
        ),
        "rounds": (False, f"the most rounds to run ({DEFAULT_ROUNDS})"),
        "budget": (False, "dollars of model tokens the study may spend"),
        "cluster": (False, "a cluster registered with `fractale cluster add`"),
        "scheduler": (False, "slurm or flux, when no cluster is named"),
        "time": (False, "each run's wall-time limit, e.g. 10m"),
        "script": (False, "a batch script template; {{NAME}} stands for a parameter's value"),
        "notes": (False, "anything else each run's script must do"),
    }
    OUTPUTS = {
        "best": "the best configuration (parameter values)",
        "best_value": "its figure of merit",
        "best_round": "the round that measured it",
        "rounds": "every round: configuration, status, figure, why it was proposed",
        "stop_reason": "why the study stopped",
        "unit": "the figure of merit's unit, as the results step read it",
        "table": "the rounds as a text table",
        "json_path": "the JSON file of the study",
        "table_path": "the text table's file",
    }

    def __init__(self, inputs: dict[str, Any], *, success: Condition | None = None) -> None:
        super().__init__(inputs, success=success)
        self.space: dict[str, Parameter] = parameters(self.inputs["parameters"])
        self.fom, description = metric_of(self.inputs["fom"])
        if not self.fom:
            raise AgentError("the optimize agent's fom needs a name")
        self.goal_name = str(self.inputs.get("goal") or "maximize").lower()
        if self.goal_name not in GOALS:
            raise AgentError(f"goal is maximize or minimize, not {self.goal_name!r}")
        given = self.inputs.get("target")
        self.target = None if given in (None, "") else number(given, "target")
        self.patience = whole_number(self.inputs.get("patience", DEFAULT_PATIENCE), "patience")
        self.rounds = whole_number(self.inputs.get("rounds", DEFAULT_ROUNDS), "rounds")
        budget = self.inputs.get("budget")
        self.budget = None if budget in (None, "") else number(budget, "budget", positive=True)
        self.start = self.inputs.get("start")
        if self.start is not None:
            problems = configuration_problems(self.space, self.start)
            if problems:
                raise AgentError(f"the start configuration: {'; '.join(problems)}")
            self.start = {name: self.space[name].value(self.start[name]) for name in self.space}
        self.template = self.inputs.get("script")
        if self.template:
            unknown = unknown_placeholders(str(self.template), set(self.space))
            if unknown:
                raise AgentError(
                    f"the script template has {{{{{unknown[0]}}}}}, which names no parameter "
                    f"(parameters: {', '.join(self.space)})"
                )
        shared = ("app", "cluster", "scheduler", "time", "notes")
        self.bench = Bench(
            {key: self.inputs.get(key) for key in shared},
            self.fom,
            description or "the figure of merit",
        )

    # --- the study -------------------------------------------------------------------

    def better(self, value: float, than: float) -> bool:
        return value > than if self.goal_name == "maximize" else value < than

    def best(self, rounds: list[Measurement]) -> int | None:
        """The index of the best measured round (the earliest among equals)."""
        found = None
        for index, measured in enumerate(rounds):
            if measured.value is None:
                continue
            if found is None or self.better(measured.value, rounds[found].value or 0.0):
                found = index
        return found

    def batch_inputs(self, config: dict[str, Any]) -> dict[str, Any]:
        inputs: dict[str, Any] = {
            "app": f"{self.inputs['app']}\n{describe(self.space, config)}",
            **geometry(self.space, config),
        }
        if self.template:
            inputs["script"] = render(str(self.template), config)
        return inputs

    def study(self, ctx: Context, step: str, folder: Path, feedback: str | None) -> Finding:
        began = ctx.llm.ledger.totals.cost_usd
        rounds: list[Measurement] = []
        rejected: list[str] = []
        if self.start is not None:
            proposal: Proposal | None = Proposal(self.start, False, "the plan's start")
        else:
            proposal = self.propose(ctx, rounds, feedback, rejected)
        stop_reason = None
        while True:
            if proposal is None:
                stop_reason = f"the model gave no usable proposal in {ctx.max_attempts} answers"
                break
            if proposal.stop:
                stop_reason = f"the model judged that nothing will improve: {proposal.reason}"
                break
            measured = self.bench.measure(
                ctx,
                step,
                f"round-{len(rounds) + 1}",
                proposal.config,
                self.batch_inputs(proposal.config),
            )
            rounds.append(measured)
            self._echo(ctx, step, measured, proposal.reason)
            if measured.status == "dry-run":
                return self._finding(
                    folder,
                    rounds,
                    "dry-run",
                    "dry run: the first round's script "
                    "was written and checked; nothing was measured",
                    rejected,
                )
            stop_reason = self.stop_rule(ctx, rounds, began)
            if stop_reason is not None:
                break
            proposal = self.propose(ctx, rounds, feedback, rejected)
        status = "succeeded" if self.best(rounds) is not None else "failed"
        message = f"stopped: {stop_reason}"
        if status == "failed":
            last = next((r.message for r in reversed(rounds) if r.message), None)
            message = f"no configuration could be measured ({stop_reason})" + (
                f"; last: {last}" if last else ""
            )
        return self._finding(folder, rounds, status, message, rejected, stop_reason)

    def stop_rule(self, ctx: Context, rounds: list[Measurement], began: float) -> str | None:
        best = self.best(rounds)
        if best is not None and self.target is not None:
            value = rounds[best].value
            assert value is not None
            if value == self.target or self.better(value, self.target):
                return f"the target {self.target:g} was reached in round {best + 1}"
        since = len(rounds) - (best + 1 if best is not None else 0)
        if since >= self.patience:
            return f"no improvement in the last {self.patience} round(s)"
        if len(rounds) >= self.rounds:
            return f"the round limit ({self.rounds}) was reached"
        spent = ctx.llm.ledger.totals.cost_usd - began
        if self.budget is not None and spent >= self.budget:
            return f"the study's model budget (${self.budget:.2f}) is spent (${spent:.4f})"
        return None

    # --- asking the model ------------------------------------------------------------

    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "parameters": {
                    "type": "object",
                    "properties": {name: item.schema() for name, item in self.space.items()},
                    "required": list(self.space),
                    "additionalProperties": False,
                },
                "stop": {"type": "boolean"},
                "reason": {"type": "string"},
            },
            "required": ["parameters", "stop", "reason"],
            "additionalProperties": False,
        }

    def prompt(self, rounds: list[Measurement], feedback: str | None, note: str | None) -> str:
        lines = [
            f"Application: {self.inputs['app']}",
            f"Goal: {self.goal_name} the figure of merit {self.fom!r} ({self.bench.description}).",
            "",
            "Parameters and their bounds:",
            *(f"- {item.describe()}" for item in self.space.values()),
            "",
        ]
        if rounds:
            unit = f" {self.bench.unit}" if self.bench.unit else ""
            lines.append("Rounds so far, oldest first:")
            for index, measured in enumerate(rounds, start=1):
                what = (
                    f"{self.fom} = {measured.value:g}{unit}"
                    if measured.value is not None
                    else f"failed: {measured.message}"
                )
                lines.append(f"- round {index}: {label(measured.config)} -> {what}")
            best = self.best(rounds)
            if best is not None:
                lines.append(f"Best so far: round {best + 1} ({rounds[best].value:g}{unit}).")
            lines.append(f"Rounds left: {self.rounds - len(rounds)}.")
        else:
            lines.append("Nothing has been measured yet: propose the first configuration.")
        if self.target is not None:
            lines.append(f"The study stops once {self.fom} reaches {self.target:g}.")
        if feedback:
            lines += ["", f"A later step failed after an earlier run of this study:\n{feedback}"]
        if note:
            lines += ["", f"Your previous answer could not be used: {note}. Answer again as asked."]
        return "\n".join(lines)

    def propose(
        self,
        ctx: Context,
        rounds: list[Measurement],
        feedback: str | None,
        rejected: list[str],
    ) -> Proposal | None:
        """The model's next configuration; a bad answer costs an attempt and is told back."""
        note = None
        for _ in range(ctx.max_attempts):
            reply = ctx.llm.ask(
                Request(
                    purpose=self.name,
                    system=SYSTEM,
                    prompt=self.prompt(rounds, feedback, note),
                    schema=self.schema(),
                )
            )
            try:
                return self.proposal(
                    document_from(whole(reply, who=self.name), who=self.name), rounds
                )
            except MalformedAnswer as err:
                note = str(err)
                rejected.append(note)
                ctx.echo(f"[{self.name}] unusable proposal: {note}")
        return None

    def proposal(self, document: dict[str, Any], rounds: list[Measurement]) -> Proposal:
        config = document.get("parameters")
        stop = document.get("stop", False)
        reason = str(document.get("reason") or "").strip()
        if not isinstance(stop, bool):
            raise MalformedAnswer("'stop' must be true or false")
        if stop:
            return Proposal({}, True, reason or "no reason given")
        problems = configuration_problems(self.space, config)
        if problems:
            raise MalformedAnswer("the proposal breaks the bounds: " + "; ".join(problems))
        assert isinstance(config, dict)
        config = {name: self.space[name].value(config[name]) for name in self.space}
        for index, measured in enumerate(rounds, start=1):
            if measured.config == config:
                raise MalformedAnswer(
                    f"{label(config)} was already measured in round {index}; propose a "
                    "configuration not tried yet, or stop"
                )
        return Proposal(config, False, reason or "no reason given")

    # --- reporting -------------------------------------------------------------------

    def _echo(self, ctx: Context, step: str, measured: Measurement, reason: str) -> None:
        what = f"{measured.value:g}" if measured.value is not None else measured.status
        ctx.echo(
            f"[{step}] {measured.label}: {label(measured.config)} -> {self.fom} {what} ({reason})"
        )

    def table(self, rounds: list[Measurement], best: int | None) -> str:
        unit = f" ({self.bench.unit})" if self.bench.unit else ""
        headers = ["round", *self.space, "status", f"{self.fom}{unit}", "note"]
        rows = []
        for index, measured in enumerate(rounds):
            note = "best" if index == best else (measured.message or "")[:60]
            rows.append(
                [
                    str(index + 1),
                    *(str(measured.config[name]) for name in self.space),
                    measured.status,
                    f"{measured.value:.4g}" if measured.value is not None else "-",
                    note,
                ]
            )
        return text_table(headers, rows)

    def _finding(
        self,
        folder: Path,
        rounds: list[Measurement],
        status: str,
        message: str,
        rejected: list[str],
        stop_reason: str | None = None,
    ) -> Finding:
        best = self.best(rounds)
        table = self.table(rounds, best)
        if best is not None:
            table += (
                f"\nbest: round {best + 1}: {label(rounds[best].config)} -> {self.fom} "
                f"{rounds[best].value:.4g}{' ' + self.bench.unit if self.bench.unit else ''}"
            )
        table += f"\n{message}"
        document = {
            "fom": self.fom,
            "goal": self.goal_name,
            "unit": self.bench.unit,
            "parameters": {name: item.describe() for name, item in self.space.items()},
            "rounds": [measured.to_dict() for measured in rounds],
            "rejected_answers": rejected,
            "best_round": best + 1 if best is not None else None,
            "best": rounds[best].config if best is not None else None,
            "best_value": rounds[best].value if best is not None else None,
            "stop_reason": stop_reason,
            "status": status,
        }
        outputs = {
            "best": document["best"],
            "best_value": document["best_value"],
            "best_round": document["best_round"],
            "rounds": document["rounds"],
            "stop_reason": stop_reason,
            "unit": self.bench.unit,
            "table": table,
            **self.write(folder, "optimize", json.loads(json.dumps(document, default=str)), table),
        }
        return Finding(status, message, outputs)
