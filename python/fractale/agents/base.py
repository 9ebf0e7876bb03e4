"""What every agent shares (its inputs and outputs), and a step agent's attempt loop.

A step agent makes an artifact (asking the model, or reusing a cached one), checks it,
executes it unless this is a dry run, and judges the outcome. On failure the helper reads
the artifact, the command, its output and the earlier attempts and proposes the next
attempt's artifact, up to the attempt limit. An answer that cannot be read costs one
attempt, and the next one tells the model what was wrong with it. Every attempt is recorded
with the tokens and dollars spent on it.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar

from fractale.agents.cache import ArtifactCache
from fractale.agents.conditions import Condition, Outcome
from fractale.agents.execute import Executor
from fractale.agents.helper import Helper
from fractale.agents.llm import LLM, Request
from fractale.agents.record import Attempt, Records, StepRecord, redact, tail
from fractale.agents.replies import artifact_from, whole
from fractale.errors import AgentError, FractaleError, MalformedAnswer

DEFAULT_ATTEMPTS = 3


@dataclass
class Context:
    """What a step runs with: the model, where files go, and the run's options."""

    llm: LLM
    workdir: Path
    records: Records = field(default_factory=lambda: Records(None))
    cache: ArtifactCache | None = None
    dry_run: bool = False
    max_attempts: int = DEFAULT_ATTEMPTS
    # Seconds a job may run (timeout), and wait in the queue before it starts.
    timeout: float = 3600.0
    pending_timeout: float = 3600.0
    echo: Callable[[str], None] = lambda message: None
    executor: Executor = field(init=False)

    def __post_init__(self) -> None:
        self.executor = Executor(dry_run=self.dry_run)
        self.helper = Helper(self.llm)


class Agent(ABC):
    """Anything a plan step can name: its inputs, its outputs, and how it runs."""

    name: ClassVar[str]
    # input name -> (required, what it is)
    INPUTS: ClassVar[dict[str, tuple[bool, str]]]
    # what later steps may refer to as ${steps.NAME.KEY}
    OUTPUTS: ClassVar[dict[str, str]]

    def __init__(self, inputs: dict[str, Any], *, success: Condition | None = None) -> None:
        unknown = set(inputs) - set(self.INPUTS)
        if unknown:
            raise AgentError(
                f"the {self.name} agent has no input {sorted(unknown)[0]!r} "
                f"(its inputs: {', '.join(self.INPUTS)})"
            )
        missing = [name for name, (required, _) in self.INPUTS.items() if required]
        missing = [name for name in missing if inputs.get(name) in (None, "")]
        if missing:
            raise AgentError(f"the {self.name} agent needs input {missing[0]!r}")
        self.inputs = dict(inputs)
        self.success = success

    @classmethod
    def input_problem(cls, inputs: dict[str, Any]) -> str | None:
        """What is wrong with a plan step's inputs, found before anything runs (or None).

        Agents whose inputs have rules of their own (bounds, sizes) check them here when no
        input waits on an earlier step's output.
        """
        return None

    @abstractmethod
    def run(
        self,
        ctx: Context,
        step: str,
        *,
        feedback: str | None = None,
        record: StepRecord | None = None,
        resume: bool = False,
    ) -> StepRecord:
        """Do the step; ``record`` is its record from an earlier round, which this continues."""


class StepAgent(Agent):
    """One expert task; subclasses say how to ask for, check and execute their artifact."""

    kind: ClassVar[str]
    filename: str
    SYSTEM: str

    @abstractmethod
    def goal(self) -> str:
        """One paragraph saying what the artifact must achieve (shown to model and helper)."""

    @abstractmethod
    def execute(self, ctx: Context, artifact: str, path: Path) -> Outcome:
        """Run the artifact for real and judge the result."""

    def prompt(self, feedback: str | None) -> str:
        text = self.goal()
        if feedback:
            text += (
                "\n\nAn earlier version of this step led to a failure later on; write a new "
                f"artifact that avoids it:\n{feedback}"
            )
        return text

    def check(self, ctx: Context, artifact: str) -> str | None:
        """A problem found without executing anything, or None."""
        return None

    def check_command(self) -> str | None:
        """How ``check`` is described in records (there is no process behind it)."""
        return None

    def dry_outputs(self, artifact: str, path: Path) -> dict[str, Any]:
        return {"artifact": artifact, "path": str(path)}

    def cache_identity(self) -> dict[str, Any]:
        """The inputs that decide the artifact: a cached one is reused when they are equal."""
        return self.inputs

    def given_artifact(self) -> tuple[str, str] | None:
        """An artifact the step already has without asking the model, and where it came from."""
        return None

    def schema(self) -> dict[str, Any] | None:
        """The JSON Schema of the artifact, for a step whose artifact is data (else None)."""
        return None

    def generate(self, ctx: Context, feedback: str | None, note: str | None = None) -> str:
        prompt = self.prompt(feedback)
        if note:
            prompt += f"\n\nYour previous answer could not be used: {note}. Answer again as asked."
        reply = ctx.llm.ask(
            Request(purpose=self.name, system=self.SYSTEM, prompt=prompt, schema=self.schema())
        )
        return artifact_from(whole(reply, who=self.name), who=self.name)

    def run(
        self,
        ctx: Context,
        step: str,
        *,
        feedback: str | None = None,
        record: StepRecord | None = None,
        resume: bool = False,
    ) -> StepRecord:
        """Attempt the step up to ``ctx.max_attempts`` times.

        ``record`` is this step's record from an earlier run, which the new attempts
        continue; with ``resume`` the first new attempt is the helper's fix of its last one.
        """
        if record is None:
            record = StepRecord(step, self.name, ctx.llm.model, self.inputs)
        record.status = "running"
        record.inputs = self.inputs
        record.outputs = {}
        began = time.monotonic()
        cache_key = None
        if ctx.cache is not None:
            cache_key = ctx.cache.key(self.name, self.cache_identity(), ctx.llm.model)
        try:
            self._attempts(ctx, step, record, feedback, cache_key, resume)
        except FractaleError as err:
            # The model, the budget, a replay file or bad input stopped the step: keep its record.
            record.status = "stopped"
            record.message = str(err)
            record.duration_s = max(record.duration_s, round(time.monotonic() - began, 3))
            ctx.records.step_done(record)
            raise
        record.duration_s = max(record.duration_s, round(time.monotonic() - began, 3))
        ctx.records.step_done(record)
        return record

    def _attempts(
        self,
        ctx: Context,
        step: str,
        record: StepRecord,
        feedback: str | None,
        cache_key: str | None,
        resume: bool,
    ) -> None:
        ledger = ctx.llm.ledger
        # The attempt the helper fixes next: the last one that produced an artifact.
        failed = _last_real(record.attempts) if resume else None
        note: str | None = None
        last_reason: str | None = None
        for _ in range(ctx.max_attempts):
            number = len(record.attempts) + 1
            spent_before = (
                ledger.totals.input_tokens,
                ledger.totals.output_tokens,
                ledger.totals.cost_usd,
            )
            started = time.monotonic()
            try:
                artifact, origin = self._next_artifact(
                    ctx, record, failed, feedback, cache_key, note
                )
            except MalformedAnswer as err:
                # An unusable answer costs this attempt; the next one is told why.
                note = str(err)
                attempt = Attempt(
                    number=number,
                    origin="helper" if failed is not None else "generated",
                    artifact="",
                    command="fractale: read the model's answer",
                    reason=note,
                    malformed=True,
                )
                self._account(record, attempt, ledger, spent_before, started)
                ctx.echo(f"[{step}] attempt {number} failed: {note}")
                ctx.records.attempt_done(record)
                last_reason = note
                continue
            note = None
            path = ctx.workdir / step / f"attempt-{number}" / self.filename
            path.parent.mkdir(parents=True, exist_ok=True)
            # The file is what runs and what stays on disk: never with the API key in it.
            artifact = redact(artifact)
            path.write_text(artifact, encoding="utf-8")
            ctx.echo(f"[{step}] attempt {number} ({origin.split(':')[0]}): {path}")
            outcome = self._judge(ctx, artifact, path)
            attempt = Attempt(
                number=number,
                origin=origin,
                artifact=artifact,
                artifact_path=str(path),
                command=outcome.command,
                returncode=outcome.returncode,
                state=outcome.state,
                output_tail=tail(outcome.output),
                executed=outcome.executed,
                success=outcome.success,
                reason=outcome.reason,
            )
            self._account(record, attempt, ledger, spent_before, started)
            verdict = "ok" if outcome.success else f"failed: {outcome.reason}"
            ctx.echo(f"[{step}] attempt {number} {verdict}")
            # The last attempt's outputs, so a failed step's record still names its job.
            record.outputs = outcome.outputs
            if outcome.success:
                record.status = "dry-run" if ctx.dry_run else "succeeded"
                record.message = outcome.reason
                if cache_key is not None and not ctx.dry_run and ctx.cache is not None:
                    ctx.cache.put(cache_key, self.name, artifact)
                ctx.records.attempt_done(record)
                return
            ctx.records.attempt_done(record)
            last_reason = outcome.reason
            if outcome.final:
                # Nothing in the artifact can fix this (no cluster, no builder): stop here.
                record.status = "failed"
                record.message = f"{self.name} failed: {outcome.reason}"
                return
            failed = attempt
        record.status = "failed"
        record.message = (
            f"{self.name} failed after {len(record.attempts)} attempts: "
            f"{last_reason or 'no attempt made'}"
        )

    @staticmethod
    def _account(
        record: StepRecord,
        attempt: Attempt,
        ledger: Any,
        spent_before: tuple[int, int, float],
        started: float,
    ) -> None:
        attempt.duration_s = round(time.monotonic() - started, 3)
        attempt.input_tokens = ledger.totals.input_tokens - spent_before[0]
        attempt.output_tokens = ledger.totals.output_tokens - spent_before[1]
        attempt.cost_usd = ledger.totals.cost_usd - spent_before[2]
        record.attempts.append(attempt)
        record.input_tokens += attempt.input_tokens
        record.output_tokens += attempt.output_tokens
        record.cost_usd += attempt.cost_usd
        record.duration_s = round(record.duration_s + attempt.duration_s, 3)

    def _next_artifact(
        self,
        ctx: Context,
        record: StepRecord,
        failed: Attempt | None,
        feedback: str | None,
        cache_key: str | None,
        note: str | None,
    ) -> tuple[str, str]:
        if failed is not None:
            fix = ctx.helper.fix(
                kind=self.kind,
                artifact=failed.artifact,
                command=failed.command,
                output="\n".join(
                    part for part in (failed.output_tail, f"fractale: {failed.reason}") if part
                ),
                goal=self.goal(),
                earlier=[attempt for attempt in record.attempts if attempt.number < failed.number],
                note=note,
            )
            ctx.echo(f"helper: {fix.explanation}")
            return fix.artifact, f"helper: {fix.explanation}"
        if feedback is None and note is None:
            given = self.given_artifact()
            if given is not None:
                return given
            if ctx.cache is not None and cache_key is not None:
                cached = ctx.cache.get(cache_key)
                if cached is not None:
                    return cached, "cache"
        return self.generate(ctx, feedback, note), "generated"

    def _judge(self, ctx: Context, artifact: str, path: Path) -> Outcome:
        problem = self.check(ctx, artifact)
        if problem is not None:
            return Outcome(False, problem, output=problem, command=self.check_command())
        if ctx.dry_run:
            return Outcome(
                True,
                "dry run: the artifact was written and checked, nothing was executed",
                outputs=self.dry_outputs(artifact, path),
            )
        outcome = self.execute(ctx, artifact, path)
        if outcome.success and self.success is not None:
            if not outcome.executed:
                # No cluster or builder ran it, so there is no output to judge.
                outcome.reason = f"{outcome.reason} (the plan's success condition was not checked)"
                return outcome
            unmet = self.success.unmet(outcome)
            if unmet is not None:
                outcome.success = False
                outcome.reason = unmet
        return outcome


def _last_real(attempts: list[Attempt]) -> Attempt | None:
    """The last attempt that produced an artifact (not an unusable answer)."""
    real = [attempt for attempt in attempts if not attempt.malformed]
    return real[-1] if real else None
