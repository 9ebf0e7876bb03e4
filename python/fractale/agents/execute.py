"""The one place agents start processes: argument lists only, never a shell, never in a dry run.

Model output reaches a process only as a file handed to a scheduler, ``kubectl`` or a
container build tool; it is never a command line and never goes through ``sh -c``.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from fractale.errors import AgentError

log = logging.getLogger("fractale.agents")


@dataclass(frozen=True)
class Completed:
    """A finished process: what ran, its exit status, its output (stdout then stderr)."""

    argv: list[str]
    returncode: int
    output: str
    duration_s: float

    @property
    def command(self) -> str:
        return " ".join(self.argv)


# Reads {"pattern": ..., "text": ...} on stdin; prints null when the pattern matches nothing,
# else [the first group of the last match] (a group that took no part is null).
_MATCH_WORKER = (
    "import json, re, sys\n"
    "job = json.load(sys.stdin)\n"
    "last = None\n"
    "for last in re.finditer(job['pattern'], job['text'], re.MULTILINE):\n"
    "    pass\n"
    "json.dump(None if last is None else [last.group(1)], sys.stdout)\n"
)


def last_match(pattern: str, text: str, timeout: float) -> list[str | None] | None:
    """``[first group]`` of ``pattern``'s last match in ``text``; None when it matches nothing.

    A model's regular expression can backtrack for longer than the universe lasts
    (``^(a+)+$``); it runs in a worker process that is killed after ``timeout`` seconds,
    and that is an ``AgentError``.
    """
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-c", _MATCH_WORKER],
            input=json.dumps({"pattern": pattern, "text": text}),
            capture_output=True, text=True, timeout=timeout, check=False,
        )
    except subprocess.TimeoutExpired:
        raise AgentError(f"pattern {pattern!r} ran for over {timeout:g} s without an answer "
                         "(catastrophic backtracking?)") from None
    if done.returncode != 0:
        last_line = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise AgentError(f"pattern {pattern!r} failed: {last_line}")
    return json.loads(done.stdout)


class Executor:
    """Runs fractale's own commands (sbatch, scontrol, flux, kubectl, docker, podman)."""

    def __init__(self, *, dry_run: bool = False) -> None:
        self.dry_run = dry_run

    def available(self, program: str) -> bool:
        return shutil.which(program) is not None

    def run(
        self,
        argv: list[str],
        *,
        cwd: Path | None = None,
        timeout: float | None = None,
        echo: Callable[[str], None] | None = None,
        stop: threading.Event | None = None,
    ) -> Completed:
        """Run ``argv`` to the end; ``echo`` sees each output line as it comes.

        The process is killed after ``timeout`` seconds (exit 124), or as soon as another
        thread sets ``stop`` (exit 143, its output kept).
        """
        if self.dry_run:
            raise AgentError(f"a dry run executes nothing, and {argv[0]} was about to run")
        if not isinstance(argv, list) or not all(isinstance(part, str) for part in argv):
            raise TypeError("commands are argument lists of strings")
        log.info("running: %s", " ".join(argv))
        started = time.monotonic()
        try:
            process = subprocess.Popen(
                argv,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                shell=False,
            )
        except FileNotFoundError:
            return Completed(argv, 127, f"{argv[0]}: command not found\n", 0.0)
        lines: list[str] = []
        stream = process.stdout
        assert stream is not None

        def drain() -> None:
            for line in stream:
                lines.append(line)
                if echo is not None:
                    echo(line.rstrip("\n"))

        # A reader thread, so that a silent process still times out.
        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        deadline = None if timeout is None else started + timeout
        while True:
            try:
                returncode = process.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                pass
            if stop is not None and stop.is_set():
                process.kill()
                process.wait()
                returncode = 143
                break
            if deadline is not None and time.monotonic() > deadline:
                process.kill()
                process.wait()
                lines.append(f"\nfractale: {argv[0]} did not finish within {timeout:g}s\n")
                returncode = 124
                break
        reader.join(timeout=5)
        stream.close()
        return Completed(argv, returncode, "".join(lines), time.monotonic() - started)
