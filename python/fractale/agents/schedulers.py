"""Submitting a batch script to a real workload manager, waiting for it, reading its output.

Job ids and cancel commands come from the managers' submit adapters (``transform/managers/``).
Slurm goes through ``sbatch`` and ``scontrol`` (``SLURM_CONF`` and the rest of the environment
pass through unchanged); Flux through ``flux batch``, ``flux job wait-event`` and ``flux jobs``.
The output path is set on the command line, which overrides a directive in the script, so
fractale always knows where to read the job's output.

A job has two limits: how long it may wait in the queue (``pending``) and how long it may
run once started (``timeout``). A job cancelled while still pending says why the scheduler
held it (Slurm's ``Reason``), so the helper can change what held it.
"""

from __future__ import annotations

import re
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from fractale.agents.execute import Completed, Executor
from fractale.errors import AgentError
from fractale.transform.managers.flux import FluxSubmitter
from fractale.transform.managers.slurm import SLURM_STATES, SlurmSubmitter
from fractale.transform.submitter import FINAL_STATES

POLL_FIRST = 0.5
POLL_MAX = 5.0


@dataclass
class JobRun:
    """A submitted job's story: the submission, the final state and exit code, its output."""

    submission: Completed
    jobid: str | None
    state: str
    exit_code: int | None
    output: str

    @property
    def succeeded(self) -> bool:
        return self.state == "COMPLETED" and self.exit_code == 0


class Scheduler(ABC):
    """A workload manager fractale can hand a batch script to."""

    name: str
    directive: str

    def __init__(self, executor: Executor) -> None:
        self.executor = executor

    @abstractmethod
    def submit_argv(self, script: Path, output: Path) -> list[str]: ...

    @abstractmethod
    def parse_jobid(self, stdout: str) -> str | None: ...

    @abstractmethod
    def cancel_argv(self, jobid: str) -> list[str]: ...

    @abstractmethod
    def wait(self, jobid: str, timeout: float, pending: float) -> tuple[str, int | None, str]:
        """Block until the job ends: (state, exit code, anything worth reporting).

        A job still queued after ``pending`` seconds is cancelled with state PENDING; one
        that runs longer than ``timeout`` seconds is cancelled with state TIMEOUT.
        """

    def run(
        self, script: Path, output: Path, timeout: float, pending: float | None = None
    ) -> JobRun:
        script, output = script.resolve(), output.resolve()
        submission = self.executor.run(self.submit_argv(script, output), cwd=script.parent)
        if submission.returncode == 127:
            raise AgentError(
                f"{submission.argv[0]} is not installed here: fractale cannot submit to "
                f"{self.name} from this machine"
            )
        jobid = self.parse_jobid(submission.output) if submission.returncode == 0 else None
        if jobid is None:
            return JobRun(submission, None, "REJECTED", None, submission.output)
        try:
            state, exit_code, note = self.wait(
                jobid, timeout, timeout if pending is None else pending
            )
        except KeyboardInterrupt:
            # Interrupted while waiting: leave no job of ours running behind the user's back.
            self.executor.run(self.cancel_argv(jobid), timeout=60)
            raise
        try:
            text = output.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        if note:
            text = f"{text}\n{note}" if text else note
        return JobRun(submission, jobid, state, exit_code, text)


class Slurm(Scheduler):
    """Slurm through sbatch and scontrol."""

    name = "slurm"
    directive = "#SBATCH"
    # Slurm's states after which a job never runs again, from the Slurm adapter's table.
    TERMINAL = frozenset(
        native for native, state in SLURM_STATES.items() if state in FINAL_STATES
    )
    adapter = SlurmSubmitter()

    def submit_argv(self, script: Path, output: Path) -> list[str]:
        return [
            "sbatch",
            "--parsable",
            f"--output={output}",
            f"--chdir={script.parent}",
            str(script),
        ]

    def cancel_argv(self, jobid: str) -> list[str]:
        return self.adapter.cancel_command(jobid)

    def parse_jobid(self, stdout: str) -> str | None:
        return self.adapter.job_id(stdout)

    def _query(self, jobid: str) -> tuple[str | None, int | None, str | None]:
        """The job's state, exit code and, while it waits, Slurm's reason for holding it."""
        shown = self.executor.run(["scontrol", "show", "job", "--oneliner", jobid])
        if shown.returncode == 0:
            state = re.search(r"\bJobState=(\S+)", shown.output)
            code = re.search(r"\bExitCode=(\d+):(\d+)", shown.output)
            reason = re.search(r"\bReason=(\S+)", shown.output)
            exit_code = None
            if code:
                # A signal-killed job reports its signal; 128+signal, as a shell would.
                status, signal = int(code.group(1)), int(code.group(2))
                exit_code = 128 + signal if signal and not status else status
            return (
                (state.group(1) if state else None),
                exit_code,
                (reason.group(1) if reason else None),
            )
        if self.executor.available("sacct"):
            accounted = self.executor.run(
                [
                    "sacct",
                    "--noheader",
                    "--parsable2",
                    "--allocations",
                    "--jobs",
                    jobid,
                    "--format=State,ExitCode",
                ]
            )
            line = accounted.output.strip().splitlines()[:1]
            if accounted.returncode == 0 and line and "|" in line[0]:
                state_text, code_text = line[0].split("|", 1)
                code_match = re.match(r"(\d+):(\d+)", code_text)
                exit_code = None
                if code_match:
                    status, signal = int(code_match.group(1)), int(code_match.group(2))
                    exit_code = 128 + signal if signal and not status else status
                return state_text.split()[0], exit_code, None
        return "UNKNOWN", None, None

    def wait(self, jobid: str, timeout: float, pending: float) -> tuple[str, int | None, str]:
        submitted = time.monotonic()
        started: float | None = None
        pause = POLL_FIRST
        while True:
            state, exit_code, reason = self._query(jobid)
            if state in self.TERMINAL or state == "UNKNOWN":
                note = "" if state != "UNKNOWN" else f"fractale: Slurm no longer knows job {jobid}"
                return state or "UNKNOWN", exit_code, note
            moment = time.monotonic()
            if state == "PENDING":
                if moment - submitted > pending:
                    self.executor.run(self.cancel_argv(jobid))
                    return (
                        "PENDING",
                        None,
                        f"fractale: cancelled job {jobid}: still pending after {pending:g}s "
                        f"(Slurm's reason: {reason or 'none given'})",
                    )
            else:
                started = moment if started is None else started
                if moment - started > timeout:
                    self.executor.run(self.cancel_argv(jobid))
                    return (
                        "TIMEOUT",
                        None,
                        f"fractale: cancelled job {jobid} after it ran for {timeout:g}s",
                    )
            time.sleep(pause)
            pause = min(pause * 1.5, POLL_MAX)


class Flux(Scheduler):
    """Flux through flux batch, flux job wait-event and flux jobs."""

    name = "flux"
    directive = "#flux:"

    def submit_argv(self, script: Path, output: Path) -> list[str]:
        return [
            "flux",
            "batch",
            f"--output={output}",
            f"--cwd={script.parent}",
            str(script),
        ]

    adapter = FluxSubmitter()

    def cancel_argv(self, jobid: str) -> list[str]:
        return self.adapter.cancel_command(jobid)

    def parse_jobid(self, stdout: str) -> str | None:
        return self.adapter.job_id(stdout)

    def wait(self, jobid: str, timeout: float, pending: float) -> tuple[str, int | None, str]:
        began = self.executor.run(
            ["flux", "job", "wait-event", f"--timeout={pending:g}", jobid, "start"],
            timeout=pending + 30,
        )
        if began.returncode != 0:
            listed = self.executor.run(
                ["flux", "jobs", "--suppress-header", "--format={state}", jobid]
            )
            self.executor.run(self.cancel_argv(jobid))
            return (
                "PENDING",
                None,
                f"fractale: cancelled job {jobid}: not started after {pending:g}s "
                f"(Flux state: {listed.output.strip() or 'unknown'}): {began.output.strip()}",
            )
        waited = self.executor.run(
            ["flux", "job", "wait-event", f"--timeout={timeout:g}", jobid, "clean"],
            timeout=timeout + 30,
        )
        if waited.returncode != 0:
            self.executor.run(self.cancel_argv(jobid))
            return "TIMEOUT", None, f"fractale: gave up on job {jobid}: {waited.output.strip()}"
        listed = self.executor.run(
            ["flux", "jobs", "--suppress-header", "--format={result} {returncode}", jobid]
        )
        fields = listed.output.split()
        if listed.returncode != 0 or not fields:
            return "UNKNOWN", None, listed.output.strip()
        result = fields[0].upper()
        exit_code = int(fields[1]) if len(fields) > 1 and fields[1].lstrip("-").isdigit() else None
        return result, exit_code, ""


SCHEDULERS: dict[str, type[Scheduler]] = {"slurm": Slurm, "flux": Flux}
