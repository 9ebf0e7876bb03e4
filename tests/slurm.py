"""The local Slurm that tests submit real jobs to: starting it, submitting, waiting, reading.

`.ci/slurm.sh` runs the daemons; this module drives the client commands against them. There is
no slurmdbd (so no sacct): finished jobs are read from `scontrol show job`, which keeps them for
an hour (MinJobAge in the script's configuration).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

START_SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "slurm.sh"

# Job states after which a job never runs again (squeue's long names).
FINAL_STATES = frozenset(
    {
        "BOOT_FAIL",
        "CANCELLED",
        "COMPLETED",
        "DEADLINE",
        "FAILED",
        "NODE_FAIL",
        "OUT_OF_MEMORY",
        "PREEMPTED",
        "TIMEOUT",
    }
)

# A field of `scontrol show ... --oneliner` starts where a key such as "JobId",
# "AllocNode:Sid" or "Socks/Node" is followed by "=".
_FIELD_START = re.compile(r"(?:^|\s)([A-Za-z][A-Za-z0-9_:/]*)=")

StrPath = Union[str, "os.PathLike[str]"]


class SlurmUnavailable(RuntimeError):
    """Slurm cannot be started on this machine; the message says why."""


class SlurmCommandError(RuntimeError):
    """A Slurm client command failed; the message holds its command line and stderr."""


def parse_oneliner(line: str) -> dict[str, str]:
    """The key=value fields of one `scontrol show ... --oneliner` line (values may hold spaces)."""
    starts = list(_FIELD_START.finditer(line))
    fields = {}
    for match, following in zip(starts, starts[1:] + [None]):
        end = following.start() if following else len(line)
        fields[match.group(1)] = line[match.end() : end].strip()
    return fields


@dataclass(frozen=True)
class JobResult:
    """How a job ended, as `scontrol show job` reports it once it is final."""

    job_id: str
    state: str
    exit_code: int
    signal: int
    stdout_path: Path | None
    stderr_path: Path | None
    fields: dict[str, str] = field(repr=False)

    @property
    def succeeded(self) -> bool:
        return self.state == "COMPLETED" and self.exit_code == 0

    def stdout(self) -> str:
        """What the job printed to its output file."""
        if self.stdout_path is None:
            raise FileNotFoundError(f"job {self.job_id} has no output file")
        return self.stdout_path.read_text()

    def stderr(self) -> str:
        if self.stderr_path is None:
            raise FileNotFoundError(f"job {self.job_id} has no error file")
        return self.stderr_path.read_text()


class LocalSlurm:
    """The single-node Slurm of `.ci/slurm.sh` (one real node, cloud nodes future[1-3])."""

    def __init__(self, start_script: Path = START_SCRIPT):
        self.start_script = start_script
        self.conf: Path | None = None
        self.startup_seconds: float | None = None

    def start(self, timeout: float = 180) -> LocalSlurm:
        """Start Slurm (or find it running) and remember its configuration file.

        Raises SlurmUnavailable with the script's own explanation when it cannot start.
        """
        began = time.monotonic()
        try:
            done = subprocess.run(
                ["bash", str(self.start_script)],
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as exc:
            raise SlurmUnavailable(f"{self.start_script} did not finish in {timeout}s") from exc
        except OSError as exc:
            raise SlurmUnavailable(f"cannot run {self.start_script}: {exc}") from exc
        if done.returncode != 0:
            raise SlurmUnavailable(
                f"{self.start_script} exited {done.returncode}:\n{done.stderr.strip()}"
            )
        lines = done.stdout.strip().splitlines()
        conf = Path(lines[-1]) if lines else None
        if conf is None or not conf.is_file():
            raise SlurmUnavailable(
                f"{self.start_script} printed no configuration path: {done.stdout!r}"
            )
        self.conf = conf
        self.startup_seconds = time.monotonic() - began
        return self

    @property
    def env(self) -> dict[str, str]:
        """os.environ plus SLURM_CONF, for running Slurm's client commands."""
        if self.conf is None:
            raise SlurmUnavailable("LocalSlurm.start() has not been called")
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def run(
        self, *argv: StrPath, check: bool = True, cwd: StrPath | None = None, timeout=60
    ) -> subprocess.CompletedProcess:
        """Run a Slurm client command (sbatch, scontrol, squeue, scancel...) against this Slurm."""
        command = [os.fspath(arg) for arg in argv]
        done = subprocess.run(
            command, env=self.env, cwd=cwd, capture_output=True, text=True, timeout=timeout
        )
        if check and done.returncode != 0:
            raise SlurmCommandError(
                f"{' '.join(command)} exited {done.returncode}: {done.stderr.strip()}"
            )
        return done

    def sbatch(self, script_path: StrPath, *args: StrPath, cwd: StrPath | None = None) -> str:
        """Submit a batch script (extra sbatch options before it); return the job id.

        Relative output paths in the script resolve against `cwd`, by default the script's folder.
        """
        script = Path(script_path).resolve()
        done = self.run("sbatch", "--parsable", *args, script, cwd=cwd or script.parent)
        # --parsable prints "jobid" or "jobid;cluster".
        return done.stdout.strip().split(";")[0]

    def test_only(self, script_path: StrPath, *args: StrPath) -> tuple[bool, str]:
        """Ask Slurm whether it would accept the script, without submitting it.

        Returns (accepted, Slurm's message): "Job N to start at ..." or the reason it refuses.
        """
        script = Path(script_path).resolve()
        done = self.run("sbatch", "--test-only", *args, script, check=False, cwd=script.parent)
        message = "\n".join(part for part in (done.stdout.strip(), done.stderr.strip()) if part)
        return done.returncode == 0, message

    def job(self, job_id: str) -> dict[str, str]:
        """The fields of `scontrol show job` for one job."""
        done = self.run("scontrol", "show", "job", "--oneliner", job_id)
        return parse_oneliner(done.stdout.strip().splitlines()[0])

    def wait(self, job_id: str, timeout: float = 120) -> JobResult:
        """Wait until the job reaches a final state and return how it ended."""
        deadline = time.monotonic() + timeout
        while True:
            fields = self.job(job_id)
            state = fields.get("JobState", "")
            if state in FINAL_STATES:
                return _result(job_id, fields)
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"job {job_id} still {state} (reason {fields.get('Reason')}) after {timeout}s"
                )
            time.sleep(0.5)

    def cancel(self, job_id: str) -> None:
        self.run("scancel", job_id)

    def settle(self, timeout: float = 120.0) -> None:
        """Wait until no node is powering up or down. A cloud node a job powered up goes
        down half a minute after it idles, and while it does, Slurm counts it out of
        multi-node requests, ``--test-only`` ones included."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = self.run("sinfo", "-h", "-a", "-N", "-o", "%T", check=False).stdout.split()
            if not any(s.endswith(("%", "#")) or "POWER" in s.upper() for s in states):
                return
            time.sleep(1)
        raise TimeoutError(f"Slurm nodes still changing power state after {timeout:.0f} s")

    def nodes(self) -> str:
        """`scontrol show node --oneliner`: one line per node that is not powered down."""
        return self.run("scontrol", "show", "node", "--oneliner").stdout

    def node(self, name: str) -> dict[str, str]:
        return parse_oneliner(self.run("scontrol", "show", "node", "--oneliner", name).stdout)


def _result(job_id: str, fields: dict[str, str]) -> JobResult:
    exit_code, _, signal = fields.get("ExitCode", "0:0").partition(":")

    def path(key: str) -> Path | None:
        value = fields.get(key, "")
        return Path(value) if value and value != "(null)" else None

    return JobResult(
        job_id=job_id,
        state=fields["JobState"],
        exit_code=int(exit_code),
        signal=int(signal or 0),
        stdout_path=path("StdOut"),
        stderr_path=path("StdErr"),
        fields=fields,
    )
