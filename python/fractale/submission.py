"""From job to running job: submit to the chosen cluster, then follow, cancel and read it.

``submit(job)`` selects the cluster as ``Fleet.select`` does (or takes the one named), writes
the job for its scheduler with its software loads (``Fleet.script``), copies the script to
the cluster's working directory (``.fractale-jobs/`` there), submits it with the scheduler's
own command through its manager's adapter (``transform/managers/<name>.py``), and records
the job in the store (``jobs.py``). A dry run says what would run on which host and
changes nothing. The returned ``Submission`` follows the job: ``status()``, ``wait()``,
``cancel()``, ``logs()``; ``Submission.open(ref)`` finds a recorded one again.

Nothing is left half-done: a refused submission removes the copied script and records
nothing, and a job whose record cannot be written is cancelled.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any, Union

from fractale.errors import FractaleError, SubmitError
from fractale.fleet import Fleet, Job, JobSource
from fractale.jobs import JobBook, JobRecord, now
from fractale.renamed import old_keyword
from fractale.store import Store
from fractale.transform.registry import get as manager_named
from fractale.transform.submitter import Status, Submitter
from fractale.transform.transport import (
    SCRIPT_FOLDER,
    Target,
    Transport,
    login_relative,
    transport,
)

StoreSource = Union[Store, str, Path, None]
# How often ``wait`` asks the scheduler: first after this many seconds, then less often.
POLL_FIRST = 0.25
POLL_MAX = 5.0
# How many times in a row a scheduler may not know a job before ``wait`` stops asking.
UNKNOWN_ANSWERS = 3
# How long ``cancel`` waits for a cancelled job to be seen to end, in seconds.
CANCEL_SETTLE = 30.0


def adapter_for(scheduler: str) -> Submitter:
    """The submit/status/cancel adapter of a manager, from its class."""
    manager = manager_named(scheduler)
    if manager.submitter is None:
        raise SubmitError(f"fractale cannot submit to {scheduler}: it has no adapter")
    return manager.submitter()


@dataclass(frozen=True)
class Plan:
    """What a dry run of ``submit`` says would happen: the cluster, the host, the script's
    path there and text, and the command that would submit it."""

    cluster: str
    scheduler: str
    where: str
    workdir: str
    script: str
    command: str
    text: str
    loads: list[str]
    hold: bool

    def to_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "scheduler": self.scheduler, "host": self.where,
                "workdir": self.workdir, "script": self.script, "command": self.command,
                "hold": self.hold, "loads": self.loads, "text": self.text}


class Submission:
    """A job fractale submitted, followed through its record in the store."""

    def __init__(self, record: JobRecord, store: StoreSource = None) -> None:
        self.store = store if isinstance(store, Store) else Store(store)
        self.record = record

    def __repr__(self) -> str:
        return f"Submission({self.ref!r}, state={self.record.state!r})"

    @classmethod
    def open(cls, ref: str, store: StoreSource = None) -> Submission:
        """The recorded job ``ref`` names (``CLUSTER:ID``, or an ``ID`` one cluster has)."""
        store = store if isinstance(store, Store) else Store(store)
        return cls(JobBook(store).get(ref), store)

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def cluster(self) -> str:
        return self.record.cluster

    @property
    def ref(self) -> str:
        return self.record.ref

    def _reach(self) -> tuple[Submitter, Transport]:
        target = Target.parse(self.record.submit.get("url"), self.record.submit.get("workdir"),
                              self.record.submit.get("ssh_options"))
        return adapter_for(self.record.scheduler), transport(target)

    def _keep(self, status: Status) -> Status:
        self.record = JobBook(self.store).save(self.record.with_status(status))
        return status

    def status(self) -> Status:
        """The job's state now, read from its scheduler (a final state is not asked again)."""
        if self.record.final:
            return self.record.status
        adapter, reach = self._reach()
        return self._keep(adapter.status(reach, self.id, self.record.workdir))

    def wait(self, timeout: float | None = None) -> Status:
        """Block until the job ends, or ``timeout`` seconds pass, or its scheduler no longer
        knows it (``unknown`` on ``UNKNOWN_ANSWERS`` asks in a row); its last status."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = POLL_FIRST
        unknown = 0
        adapter, reach = self._reach()
        while True:
            status = self.record.status
            if not status.final:
                status = self._keep(adapter.status(reach, self.id, self.record.workdir))
            unknown = unknown + 1 if status.state == "unknown" else 0
            if status.final or unknown >= UNKNOWN_ANSWERS or (
                    deadline is not None and time.monotonic() >= deadline):
                return status
            left = POLL_MAX if deadline is None else deadline - time.monotonic()
            time.sleep(max(0.0, min(pause, left)))
            pause = min(pause * 1.5, POLL_MAX)

    def cancel(self) -> Status:
        """Cancel the job (or take a held one out of the queue); its status afterwards."""
        if self.record.final:
            raise SubmitError(f"job {self.ref} already ended ({self.record.state})")
        adapter, reach = self._reach()
        adapter.cancel(reach, self.id)
        # A running job takes a moment to be stopped: its status is read until it ends.
        deadline = time.monotonic() + CANCEL_SETTLE
        pause = POLL_FIRST
        while True:
            status = adapter.status(reach, self.id, self.record.workdir)
            if status.state == "unknown":
                # A scheduler that forgets a job the moment it is cancelled (a deleted
                # Kubernetes Job) no longer reports it: fractale saw it cancelled.
                status = Status("cancelled", "cancelled by fractale", None, status.reason)
            if status.final or time.monotonic() >= deadline:
                return self._keep(status)
            time.sleep(pause)
            pause = min(pause * 1.5, POLL_MAX)

    def logs(self) -> str:
        """What the job printed so far: its output files, or its scheduler's log command."""
        adapter, reach = self._reach()
        if not self.record.outputs:
            argv = adapter.logs_command(self.id)
            if argv is None:
                raise SubmitError(f"job {self.ref} has no output file fractale knows of")
            result = reach.run(argv)
            if not result.ok:
                raise SubmitError(f"{argv[0]} cannot show the output of job {self.ref}: "
                                  f"{result.message}")
            return result.stdout
        texts = [(path, reach.read(path)) for path in self.record.outputs]
        found = [(path, text) for path, text in texts if text is not None]
        if not found:
            raise SubmitError(f"job {self.ref} has written no output yet "
                              f"(expected {', '.join(self.record.outputs)})")
        if len(found) == 1:
            return found[0][1]
        return "".join(f"==> {path} <==\n{text}" for path, text in found)


def submit(
    job: Job | JobSource,
    cluster: str | None = None,
    *,
    by: str = "first",
    seed: int | None = None,
    requires: Iterable[Any] = (),
    manager: str | None = None,
    store: StoreSource = None,
    hold: bool = False,
    dry_run: bool = False,
    jobspec: bool = False,
    policy: str | None = None,
) -> Submission | Plan:
    """Submit ``job`` (a path, text or ``fleet.Job``) to ``cluster``, or to the one the
    rule ``by`` selects; a ``Submission`` to follow it, or with ``dry_run`` the ``Plan``.
    With ``jobspec``, a Flux cluster is given a canonical jobspec (``flux job submit``)
    instead of a batch script (``flux batch``). ``policy``: the deprecated name of ``by``.

    ``MatchError`` when no cluster can run it; ``SubmitError`` with the scheduler's (or
    ssh's) own message when the cluster cannot be reached or refuses the job.
    """
    store = store if isinstance(store, Store) else Store(store)
    fleet = Fleet(store)
    if not isinstance(job, Job):
        job = Job.load(job, manager, requires)
    by = old_keyword("submit", "policy", "by", policy, by, "first")
    written = fleet.script(job, cluster, by, seed)
    entry = store.get(written.cluster)
    manager = written.scheduler
    if jobspec:
        if manager != "flux":
            raise SubmitError(f"only Flux takes a canonical jobspec, and {written.cluster} "
                              f"runs {manager}")
        manager = "jobspec"
    adapter = adapter_for(manager)
    spec, text = _for_adapter(written.text, written.scheduler, manager, adapter)
    text = adapter.prepare(text, hold)
    target = entry.target()
    reach = transport(target)
    filename = _script_name(spec.name or Path(job.source or "job").stem) + adapter.suffix
    workdir = _planned_workdir(target) if dry_run else reach.workdir(create=True)
    script = str(PurePosixPath(workdir) / SCRIPT_FOLDER / filename)
    if dry_run:
        command = adapter.submit_command(script, hold)
        return Plan(written.cluster, manager, target.where(), workdir, script,
                    reach.describe(command.argv, workdir, command.stdin), text,
                    written.loads, hold)
    reach.put(text, script, executable=adapter.executable)
    try:
        job_id = adapter.submit(reach, script, workdir, hold)
    except BaseException:
        with contextlib.suppress(FractaleError, OSError):
            reach.remove(script)
        raise
    record = JobRecord(
        id=job_id, cluster=written.cluster, scheduler=manager,
        submit=target.to_dict(), workdir=workdir, script=script, text=text,
        submitted=now(), name=spec.name, held=hold,
        outputs=_outputs(adapter, spec, script, workdir, job_id),
        state="pending", native="submitted", updated=now(),
    )
    try:
        JobBook(store).save(record)
    except BaseException:
        # A job fractale cannot record would run unseen: take it back.
        with contextlib.suppress(FractaleError, OSError):
            adapter.cancel(reach, job_id)
            reach.remove(script)
        raise
    return Submission(record, store)


def _for_adapter(text: str, scheduler: str, manager: str, adapter: Submitter):
    """The written job's spec, and its text for ``manager`` (the scheduler's, or a jobspec
    for Flux) with the output the adapter assigns (for a manager that would otherwise keep
    no output file) when the job names none."""
    from fractale.transform import parse, render

    spec = parse(text, scheduler)
    if adapter.assigned_output and spec.output is None:
        spec = spec.replace(output=adapter.assigned_output)
        text = render(spec, manager)
    elif manager != scheduler:
        text = render(spec, manager)
    return spec, text


def _planned_workdir(target: Target) -> str:
    """The working directory a dry run names, without reaching the cluster (over SSH, one
    relative to the login directory stays relative)."""
    if target.is_local:
        return str(Path(target.workdir or ".").expanduser().resolve())
    return login_relative(target.workdir)


def _script_name(name: str) -> str:
    """A file name for the script: the job's name, the time and a random part."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-")[:48] or "job"
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{stem}-{stamp}-{secrets.token_hex(3)}"


def _outputs(adapter: Submitter, spec, script: str, workdir: str, job_id: str) -> list[str]:
    """The job's output files with its id filled in, as absolute paths on the cluster."""
    values = adapter.placeholders(job_id)
    base = PurePosixPath(workdir) / (spec.workdir or "")
    out = []
    for template in adapter.outputs(spec, script):
        path = re.sub(r"\{\{(\w+)\}\}", lambda m: values.get(m.group(1), m.group(0)), template)
        out.append(str(base / path))
    return out


__all__ = ["Plan", "Submission", "adapter_for", "submit"]
