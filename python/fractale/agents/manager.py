"""The manager agent: follows a plan step by step and decides what to do after a failure.

When a step has used all its attempts, the step's ``on_failure`` says what happens: stop
the plan, retry the step for another round starting from the helper's fix of its last
attempt, go back to an earlier step, which runs again told what failed after it, or ask
the model to choose among these (``ask``), shown the plan, the failure and its output.
An unusable decision costs one of the step's attempts' worth of asking and is told back.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

from fractale.agents.base import Context
from fractale.agents.llm import Request
from fractale.agents.plan import REFERENCE, Plan, Step
from fractale.agents.record import StepRecord, now, tail
from fractale.agents.replies import document_from, whole
from fractale.agents.steps import agent_class
from fractale.errors import AgentError, FractaleError, MalformedAnswer

DECIDE = """\
You are the manager of fractale, which follows a plan of steps to run HPC and cloud jobs. \
A step has failed after all its attempts. Decide what happens next: "retry" the step for \
another round (starting from the helper's fix of its last attempt) when one more try can \
fix it; go "back" to an earlier step whose output caused the failure (it runs again, told \
what failed after it); or "stop" the plan when no step can fix it. Answer with one JSON \
object and nothing else: {"action": "retry|back|stop", "to": "EARLIER_STEP or empty", \
"reason": "one sentence"}"""


class _NotYetKnown(Exception):
    """A reference to an output that a dry run did not produce."""

    def __init__(self, reference: str) -> None:
        super().__init__(reference)
        self.reference = reference


@dataclass
class PlanRun:
    """What following a plan did: each step's record, in the order steps ran."""

    plan: Plan
    status: str = "running"
    message: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    records: dict[str, StepRecord] = field(default_factory=dict)
    # What the model chose when a step's on_failure asked it.
    decisions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.status in ("succeeded", "dry-run")


class Manager:
    """Runs a plan's steps in order and acts on failures as the plan says."""

    def __init__(self, plan: Plan, ctx: Context) -> None:
        self.plan = plan
        self.ctx = ctx

    def resolve(self, value: Any, records: dict[str, StepRecord]) -> Any:
        if isinstance(value, dict):
            return {key: self.resolve(item, records) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item, records) for item in value]
        if not isinstance(value, str):
            return value
        whole = REFERENCE.fullmatch(value.strip())
        if whole:
            return self._lookup(whole.group(1), records)
        return REFERENCE.sub(lambda match: str(self._lookup(match.group(1), records)), value)

    def _lookup(self, reference: str, records: dict[str, StepRecord]) -> Any:
        parts = reference.strip().split(".")
        if parts[0] == "inputs":
            return self.plan.inputs[parts[1]]
        record = records.get(parts[1])
        if record is None or parts[2] not in record.outputs:
            raise _NotYetKnown(reference)
        return record.outputs[parts[2]]

    def run(self) -> PlanRun:
        run = PlanRun(self.plan)
        started = time.monotonic()
        rounds: dict[str, int] = {}
        feedback: dict[str, str] = {}
        resume: set[str] = set()
        index = 0
        while index < len(self.plan.steps):
            step = self.plan.steps[index]
            try:
                record = self._run_step(
                    step, run, feedback.pop(step.name, None), step.name in resume
                )
            except FractaleError as err:
                run.status, run.message = "stopped", f"step {step.name!r}: {err}"
                self.ctx.records.plan_done(self.summary(run, time.monotonic() - started))
                raise
            resume.discard(step.name)
            run.history.append({"step": step.name, "status": record.status, "at": now()})
            if record.succeeded or record.status == "skipped":
                index += 1
                continue
            action = step.on_failure
            used = rounds.get(step.name, 0)
            if action.action == "stop" or used >= action.times:
                run.status = "failed"
                run.message = f"step {step.name!r} failed: {record.message}"
                if action.action != "stop":
                    run.message += (
                        f" (on_failure {action.action} used {used} of {action.times} times)"
                    )
                break
            rounds[step.name] = used + 1
            kind, target = action.action, action.to
            if kind == "ask":
                kind, target, why = self._decide(step, record, run)
                run.decisions.append(
                    {"step": step.name, "action": kind, "to": target, "reason": why, "at": now()}
                )
                self.ctx.echo(
                    f"manager: the model chose {kind}{f' to {target!r}' if target else ''}: {why}"
                )
                if kind == "stop":
                    run.status = "failed"
                    run.message = (
                        f"step {step.name!r} failed: {record.message} (the model chose to stop: "
                        f"{why})"
                    )
                    break
            if kind == "retry":
                self.ctx.echo(
                    f"manager: step {step.name!r} failed; another round with the helper's fix"
                )
                resume.add(step.name)
                continue
            assert target is not None
            self.ctx.echo(f"manager: step {step.name!r} failed; going back to step {target!r}")
            last = record.last()
            feedback[target] = (
                f"Step {step.name!r} ({step.agent}) failed after it: {record.message}\n"
                f"Its last output:\n{tail(last.output_tail if last else '', 30)}"
            )
            index = self.plan.index(target)
        else:
            run.status = "dry-run" if self.ctx.dry_run else "succeeded"
        summary = self.summary(run, time.monotonic() - started)
        self.ctx.records.plan_done(summary)
        return run

    def _decide(self, step: Step, record: StepRecord, run: PlanRun) -> tuple[str, str | None, str]:
        """Ask the model what to do about ``step``'s failure: (action, earlier step, why)."""
        earlier = [other.name for other in self.plan.steps[: self.plan.index(step.name)]]
        actions = ["retry", "back", "stop"] if earlier else ["retry", "stop"]
        schema = {
            "type": "object",
            "properties": {
                "action": {"enum": actions},
                "to": {"enum": [*earlier, ""]},
                "reason": {"type": "string"},
            },
            "required": ["action", "to", "reason"],
            "additionalProperties": False,
        }
        lines = [f"Plan {self.plan.name!r}: {self.plan.description}".rstrip(": "), "Steps:"]
        for other in self.plan.steps:
            done = run.records.get(other.name)
            lines.append(
                f"- {other.name} ({other.agent}): {done.status if done else 'not run yet'}"
            )
        last = record.last()
        lines += [
            f"Step {step.name!r} ({step.agent}) failed: {record.message}",
            f"Its last output:\n```\n{tail(last.output_tail if last else '', 30)}\n```",
            "Earlier steps you may go back to: " + (", ".join(earlier) or "none"),
        ]
        note = None
        for _ in range(self.ctx.max_attempts):
            prompt = "\n".join(lines)
            if note:
                prompt += f"\n\nYour previous answer could not be used: {note}. Answer again."
            reply = self.ctx.llm.ask(
                Request(purpose="manager", system=DECIDE, prompt=prompt, schema=schema)
            )
            try:
                document = document_from(whole(reply, who="manager"), who="manager")
                action, target = document.get("action"), document.get("to") or None
                if action not in actions:
                    raise MalformedAnswer(f"action must be one of {', '.join(actions)}")
                if action == "back" and target not in earlier:
                    raise MalformedAnswer(
                        f"going back needs 'to', one of the earlier steps: {', '.join(earlier)}"
                    )
                return (
                    action,
                    target if action == "back" else None,
                    str(document.get("reason") or "no reason given"),
                )
            except MalformedAnswer as err:
                note = str(err)
                self.ctx.echo(f"manager: unusable decision: {note}")
        return "stop", None, f"the model gave no usable decision ({note})"

    def _run_step(self, step: Step, run: PlanRun, feedback: str | None, resume: bool) -> StepRecord:
        try:
            inputs = self.resolve(step.inputs, run.records)
        except _NotYetKnown as missing:
            if not self.ctx.dry_run:
                source = run.records.get(missing.reference.split(".")[1])
                why = f" ({source.message})" if source is not None and source.message else ""
                raise AgentError(
                    f"step {step.name!r}: ${{{missing.reference}}} has no value: the step it "
                    f"names did not produce it{why}"
                ) from None
            record = StepRecord(step.name, step.agent, self.ctx.llm.model, step.inputs)
            record.status = "skipped"
            record.message = (
                f"dry run: input ${{{missing.reference}}} comes from an execution that did not run"
            )
            self.ctx.echo(f"[{step.name}] skipped: {record.message}")
            run.records[step.name] = record
            self.ctx.records.step_done(record)
            return record
        agent = agent_class(step.agent)(inputs, success=step.success)
        ctx = dataclasses.replace(self.ctx, max_attempts=step.attempts or self.ctx.max_attempts)
        # A step that runs again keeps one record; a retry round starts from the helper's fix.
        record = agent.run(
            ctx, step.name, feedback=feedback, record=run.records.get(step.name), resume=resume
        )
        run.records[step.name] = record
        return record

    def summary(self, run: PlanRun, seconds: float) -> dict[str, Any]:
        totals = self.ctx.llm.ledger.totals
        return {
            "plan": self.plan.name,
            "path": str(self.plan.path),
            "status": run.status,
            "message": run.message,
            "model": self.ctx.llm.model,
            "dry_run": self.ctx.dry_run,
            "history": run.history,
            "decisions": run.decisions,
            "steps": {name: record.status for name, record in run.records.items()},
            "duration_s": round(seconds, 3),
            "usage": totals.to_dict(),
        }
