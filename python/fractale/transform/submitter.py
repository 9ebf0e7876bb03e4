"""Handing a written job to its workload manager: one state set, and the adapter base class.

Every scheduler's own job states map onto ``STATES`` (the native state is kept beside it).
A manager's adapter, a small ``Submitter`` subclass at the end of its module in ``managers/``
and attached to the manager class as ``submitter``, only builds the scheduler's command lines
and reads their output; a ``Transport`` (``transport.py``) runs them here or over SSH.
Reading is kept apart from running so that each adapter's parsing is tested on recorded
scheduler output.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from fractale.errors import SubmitError
from fractale.transform.model import BatchJob
from fractale.transform.transport import Result, Transport

STATES = ("pending", "running", "completed", "failed", "cancelled", "timeout", "unknown")
# States after which a job never changes again.
FINAL_STATES = frozenset({"completed", "failed", "cancelled", "timeout"})


@dataclass(frozen=True)
class Status:
    """Where a job is: one of ``STATES``, the scheduler's own word, its exit code and why."""

    state: str
    native: str
    exit_code: int | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"{self.state!r} is not one of {', '.join(STATES)}")

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "native": self.native, "exit_code": self.exit_code,
                "reason": self.reason}


@dataclass(frozen=True)
class Command:
    """A scheduler command line, with a file on the cluster as its standard input."""

    argv: list[str]
    stdin: str | None = None


class Submitter(ABC):
    """One workload manager's submit, status and cancel commands, and how to read them."""

    # The scheduler's own state words (upper case) -> one of STATES.
    native_states: ClassVar[dict[str, str]] = {}
    # The file name suffix of a script written for this manager.
    suffix: ClassVar[str] = ".sh"
    # Whether the scheduler runs the script file itself, so it must be executable.
    executable: ClassVar[bool] = False
    # Where the job's output goes when it names none (neutral placeholders, relative to the
    # working directory), or None when it only goes where the job says.
    default_outputs: ClassVar[tuple[str, ...]] = ()
    # An output the job is given when it names none, so that its logs can be found.
    assigned_output: ClassVar[str | None] = None

    # ---- commands

    @abstractmethod
    def submit_command(self, script: str, hold: bool) -> Command:
        """The command that submits the script at path ``script`` (held, when ``hold``)."""

    @abstractmethod
    def job_id(self, output: str) -> str | None:
        """The job id in the submit command's standard output; None when there is none."""

    @abstractmethod
    def status_commands(self, job_id: str, workdir: str | None = None) -> list[list[str]]:
        """Commands that report the job (whose working directory is ``workdir``), tried in
        order until one knows it."""

    @abstractmethod
    def read_status(self, job_id: str, result: Result) -> Status | None:
        """The job's status from one status command's result; None when it does not know
        the job (the next command is then tried)."""

    @abstractmethod
    def cancel_command(self, job_id: str) -> list[str]:
        """The command that cancels the job (or takes a held one out of the queue)."""

    def logs_command(self, job_id: str) -> list[str] | None:
        """A command printing the job's output, for managers that keep no output file."""
        return None

    def prepare(self, text: str, hold: bool) -> str:
        """The job text as the submit command takes it (most take the script as written)."""
        return text

    def state(self, native: str) -> str:
        """One of ``STATES`` for the scheduler's state word."""
        return self.native_states.get(native.strip().upper(), "unknown")

    def outputs(self, spec: BatchJob, script: str) -> list[str]:
        """The job's output files, relative to its working directory, with neutral
        placeholders (``{{id}}``) left for ``output_paths`` to fill once the id is known."""
        named = [path for path in (spec.output, spec.error) if path]
        if named:
            return list(dict.fromkeys(named))
        stem = script.rsplit("/", 1)[-1]
        name = spec.name or stem
        return [path.replace("{{name}}", name) for path in self.default_outputs]

    def placeholders(self, job_id: str) -> dict[str, str]:
        """Values of the placeholders an output path may still hold once the job has an id."""
        return {"id": job_id}

    # ---- running them

    def submit(self, transport: Transport, script: str, cwd: str, hold: bool) -> str:
        """Submit the script; the job id, or SubmitError with the scheduler's own words."""
        command = self.submit_command(script, hold)
        result = transport.run(command.argv, cwd=cwd, stdin=command.stdin)
        program = command.argv[0]
        if result.returncode == 127:
            raise SubmitError(f"{program} is not installed on {transport.target.where()}")
        if not result.ok:
            raise SubmitError(f"{program} refused the job: {result.message}")
        job_id = self.job_id(result.stdout)
        if job_id is None:
            raise SubmitError(f"{program} printed no job id: {result.message}")
        return job_id

    def status(self, transport: Transport, job_id: str, workdir: str | None = None) -> Status:
        """The job's status from the first command that knows it; ``unknown``, with the
        scheduler's words, when none does."""
        missing: list[str] = []
        last: Result | None = None
        for argv in self.status_commands(job_id, workdir):
            result = transport.run(argv)
            if result.returncode == 127:
                missing.append(argv[0])
                continue
            status = self.read_status(job_id, result)
            if status is not None:
                return status
            last = result
        if last is None:
            raise SubmitError(f"{' and '.join(missing)} not installed on "
                              f"{transport.target.where()}")
        return Status("unknown", "", None, last.message)

    def cancel(self, transport: Transport, job_id: str) -> None:
        argv = self.cancel_command(job_id)
        result = transport.run(argv)
        if result.returncode == 127:
            raise SubmitError(f"{argv[0]} is not installed on {transport.target.where()}")
        if not result.ok:
            raise SubmitError(f"{argv[0]} could not cancel job {job_id}: {result.message}")


# Helpers the adapters share ----------------------------------------------------------------


def last_line(text: str) -> str | None:
    """The last non-blank line of a command's output, stripped."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else None


def first_match(pattern: str, text: str, flags: int = 0) -> str | None:
    """Group 1 of ``pattern``'s first match in ``text``."""
    match = re.search(pattern, text, flags)
    return match.group(1) if match else None


def integer(text: str | None) -> int | None:
    """``text`` as an integer, or None when it is not one."""
    if text is None or not re.fullmatch(r"\s*-?\d+\s*", text):
        return None
    return int(text)


def key_values(text: str, separator: str = "=") -> dict[str, str]:
    """``key = value`` lines (``qstat -f``, ``checkjob``) as a mapping; continuation lines
    (indented by a tab, as qstat wraps long values) are joined to their value."""
    out: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if line.startswith("\t") and key is not None:
            out[key] += line.strip()
            continue
        name, sep, value = line.partition(separator)
        if sep and name.strip():
            key = name.strip()
            out[key] = value.strip()
        else:
            key = None
    return out


__all__ = [
    "FINAL_STATES",
    "STATES",
    "Command",
    "Status",
    "Submitter",
    "first_match",
    "integer",
    "key_values",
    "last_line",
]
