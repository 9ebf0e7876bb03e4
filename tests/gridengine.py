"""The local Grid Engine that tests submit real jobs to: starting it, submitting held jobs,
reading them back as Grid Engine sees them (`qstat -j ID -xml`), and waiting for jobs to end.

`.ci/gridengine.sh` runs the daemons; this module drives the client commands against them.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

START_SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "gridengine.sh"


class GridEngineUnavailable(RuntimeError):
    """Grid Engine cannot be started on this machine; the message says why."""


class GridEngineCommandError(RuntimeError):
    """A Grid Engine client command failed; the message holds its command line and output."""


@dataclass(frozen=True)
class HeldJob:
    """What Grid Engine holds of a submitted job, read from `qstat -j ID -xml`."""

    job_id: str
    name: str
    project: str | None
    account: str | None
    pe: str | None
    slots: int
    queues: tuple[str, ...]
    # Hard resource requests: name -> value as qstat prints it (h_rt in seconds).
    resources: dict[str, str]
    # (first, last, step) task ids, and how many run at once (0: no limit).
    tasks: tuple[int, int, int]
    concurrency: int
    predecessors: tuple[str, ...]
    merge_stderr: bool
    restart: int


class LocalGridEngine:
    """The single-host Grid Engine of `.ci/gridengine.sh` (queue all.q, PEs mpi and smp)."""

    def __init__(self, start_script: Path = START_SCRIPT):
        self.start_script = start_script
        self.root: Path | None = None
        self._host: str | None = None
        self._made: set[tuple[str, str]] = set()

    def start(self, timeout: float = 300) -> LocalGridEngine:
        """Start Grid Engine (or find it running); GridEngineUnavailable says why it cannot."""
        try:
            done = subprocess.run(["bash", str(self.start_script)], capture_output=True,
                                  text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise GridEngineUnavailable(f"{self.start_script} did not finish in {timeout}s") \
                from exc
        except OSError as exc:
            raise GridEngineUnavailable(f"cannot run {self.start_script}: {exc}") from exc
        if done.returncode != 0:
            raise GridEngineUnavailable(
                f"{self.start_script} exited {done.returncode}:\n{done.stderr.strip()}")
        lines = done.stdout.strip().splitlines()
        root = Path(lines[-1]) if lines else None
        if root is None or not (root / "default" / "common" / "act_qmaster").is_file():
            raise GridEngineUnavailable(f"{self.start_script} printed no SGE_ROOT: "
                                        f"{done.stdout!r}")
        self.root = root
        return self

    @property
    def env(self) -> dict[str, str]:
        if self.root is None:
            raise GridEngineUnavailable("LocalGridEngine.start() has not been called")
        return {**os.environ, "SGE_ROOT": str(self.root), "SGE_CELL": "default"}

    def run(self, *argv: str | os.PathLike[str], check: bool = True,
            cwd: str | os.PathLike[str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
        command = [os.fspath(arg) for arg in argv]
        done = subprocess.run(command, env=self.env, cwd=cwd, capture_output=True, text=True,
                              timeout=timeout)
        if check and done.returncode != 0:
            raise GridEngineCommandError(f"{' '.join(command)} exited {done.returncode}: "
                                         f"{(done.stderr or done.stdout).strip()}")
        return done

    @property
    def host(self) -> str:
        """The one execution host."""
        if self._host is None:
            self._host = self.run("qconf", "-sel").stdout.split()[0]
        return self._host

    def submit(self, script: Path, *args: str) -> str:
        """Submit ``script`` (qsub options before it) from its folder; the job id."""
        done = self.run("qsub", "-terse", *args, script.name, cwd=script.parent)
        # "12" for a job, "12.1-10:1" for an array.
        return done.stdout.strip().split(".")[0]

    def submit_held(self, script: Path) -> tuple[str | None, str]:
        """``qsub -h``: (the job id, or None when qsub refused the job; qsub's message)."""
        done = self.run("qsub", "-terse", "-h", script.name, cwd=script.parent, check=False)
        message = (done.stdout + done.stderr).strip()
        if done.returncode != 0:
            return None, message
        return done.stdout.strip().split(".")[0], message

    def held(self, job_id: str) -> HeldJob:
        """The job as Grid Engine reads it."""
        root = ET.fromstring(self.run("qstat", "-j", job_id, "-xml").stdout)
        job = root.find("djob_info/element")
        if job is None:
            raise GridEngineCommandError(f"qstat -j {job_id} knows no such job")

        def text(path: str) -> str | None:
            node = job.find(path)
            return node.text if node is not None else None

        ranges = job.find("JB_pe_range/ranges/RN_min")
        task = job.find("JB_ja_structure/task_id_range")
        resources = {}
        for request in job.findall("JB_hard_resource_list/qstat_l_requests"):
            resources[request.findtext("CE_name")] = request.findtext("CE_stringval")
        return HeldJob(
            job_id=job_id,
            name=text("JB_job_name") or "",
            project=text("JB_project"),
            account=text("JB_account"),
            pe=text("JB_pe"),
            slots=int(ranges.text) if ranges is not None else 1,
            queues=tuple(q.text or "" for q in job.findall(
                "JB_hard_queue_list/destin_ident_list/QR_name")),
            resources=resources,
            tasks=tuple(int(task.findtext(key)) for key in ("RN_min", "RN_max", "RN_step"))
            if task is not None else (1, 1, 1),
            concurrency=int(text("JB_ja_task_concurrency") or 0),
            predecessors=tuple(p.text or "" for p in job.findall(
                "JB_jid_predecessor_list/job_predecessors/JRE_job_number")),
            merge_stderr=text("JB_merge_stderr") == "true",
            restart=int(text("JB_restart") or 0),
        )

    def delete(self, job_id: str) -> None:
        self.run("qdel", job_id, check=False)

    def exists(self, job_id: str) -> bool:
        return self.run("qstat", "-j", job_id, check=False).returncode == 0

    def wait(self, job_id: str, timeout: float = 120) -> None:
        """Wait until the job (every task of an array) has left the queue."""
        deadline = time.monotonic() + timeout
        while self.exists(job_id):
            if time.monotonic() > deadline:
                state = self.run("qstat", "-j", job_id, check=False).stdout
                raise TimeoutError(f"job {job_id} still queued after {timeout}s:\n{state}")
            time.sleep(0.5)

    def ensure_project(self, name: str, folder: Path) -> None:
        """A project ``name`` for -P to name (qconf -Aprj)."""
        if ("project", name) in self._made:
            return
        if self.run("qconf", "-sprj", name, check=False).returncode != 0:
            spec = folder / name
            spec.write_text(f"name {name}\noticket 0\nfshare 0\nacl NONE\nxacl NONE\n")
            self.run("qconf", "-Aprj", spec)
        self._made.add(("project", name))

    def ensure_queue(self, name: str, folder: Path) -> None:
        """A cluster queue ``name`` for -q to name: on this host (qsub refuses a queue with
        no instance), disabled so that no job runs in it."""
        if ("queue", name) in self._made:
            return
        if self.run("qconf", "-sq", name, check=False).returncode != 0:
            settings = {"qname": name, "hostlist": self.host, "initial_state": "disabled"}
            text = self.run("qconf", "-sq").stdout
            for key, value in settings.items():
                text = re.sub(rf"(?m)^{key} .*$", f"{key} {value}", text)
            spec = folder / name
            spec.write_text(text)
            self.run("qconf", "-Aq", spec)
        self._made.add(("queue", name))
