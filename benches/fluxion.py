"""Fluxion's ``resource-query`` driven from the benchmarks: one process on one JGF file and
policy, fed one command at a time through its stdin, its answers and timings read back.

``bench_core.py`` and ``bench_reserve.py`` both compare fractale with Fluxion through it.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


def hostnames(nodelist: list[str]) -> set[str]:
    """The names in Flux hostlists such as ``node[0-3,7]``."""
    names = set()
    for entry in nodelist:
        for prefix, ranges, plain in re.findall(r"([^\[,]+)\[([^\]]*)\]|([^\[,]+)", entry):
            if plain:
                names.add(plain)
                continue
            for part in ranges.split(","):
                low, _, high = part.partition("-")
                names.update(f"{prefix}{n}" for n in range(int(low), int(high or low) + 1))
    return names


@dataclass
class Answer:
    """One ``match`` as resource-query gave it."""

    status: str  # allocated, reserved, busy or unsatisfiable
    jobid: int
    at: int | None  # the start, in seconds from the run's start (0: now)
    nodes: set[str] = field(default_factory=set)  # host names (with ``rv1_nosched``)
    paths: set[str] = field(default_factory=set)  # containment paths (with ``jgf``)
    own: float = 0.0  # resource-query's own ELAPSE, seconds
    wall: float = 0.0  # the round trip, seconds


class Fluxion:
    """resource-query on a JGF file with one policy (``-P``), writing matches as ``writer``
    (``rv1_nosched`` for host names, ``jgf`` for every vertex's path)."""

    def __init__(
        self, program: str, graph_file: str, workdir: str, policy: str = "first",
        writer: str = "rv1_nosched",
    ) -> None:
        self.workdir = workdir
        self.writer = writer
        self.files: dict[str, str] = {}
        began = time.perf_counter()
        self.process = subprocess.Popen(
            [program, "-L", graph_file, "-f", "jgf", "-P", policy, "-F", writer, "-e", "-d"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.send("stat")  # its reply comes once the graph is loaded
        self.load_reported = 0.0
        for line in self._until("INFO: Avg. Match Time"):
            if line.startswith("INFO: Graph Load Time:"):
                self.load_reported = float(line.split(":")[-1])
        self.load_wall = time.perf_counter() - began
        self.jobs = 0

    def _lines(self):
        assert self.process.stdout is not None
        while line := self.process.stdout.readline():
            yield line.rstrip("\n")
        raise RuntimeError(f"resource-query ended: exit {self.process.wait()}")

    def _until(self, prefix: str) -> list[str]:
        seen = []
        for line in self._lines():
            seen.append(line)
            if line.startswith(prefix):
                return seen
        return seen

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def resident_bytes(self) -> int:
        """resource-query's resident memory now."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("resource-query's VmRSS is not in /proc")

    def match(self, request: dict, op: str = "allocate_orelse_reserve") -> Answer:
        """Match ``request`` (a jobspec) with ``op``: ``allocate_orelse_reserve`` or
        ``allocate_with_satisfiability``. Every match takes a job id, as in resource-query."""
        text = json.dumps(request, sort_keys=True)
        path = self.files.get(text)
        if path is None:
            path = self.files[text] = f"{self.workdir}/job{len(self.files)}.json"
            Path(path).write_text(text)
        began = time.perf_counter()
        self.jobs += 1
        self.send(f"match {op} {path}")
        # The answer (after the matched vertices, if any) is framed by two lines of "=".
        lines = self._until("INFO: ======")
        lines += self._until("INFO: ======")
        wall = time.perf_counter() - began
        fields = dict(line[6:].split("=", 1) for line in lines
                      if line.startswith("INFO: ") and "=" in line and "====" not in line)
        answer = Answer(status="busy", jobid=self.jobs, at=None, wall=wall)
        if "ELAPSE" in fields:
            answer.own = float(fields["ELAPSE"])
        for line in lines:
            if not line.startswith("{"):
                continue
            document = json.loads(line)
            if "execution" in document:
                answer.nodes = hostnames(document["execution"]["nodelist"])
            elif "graph" in document:
                answer.paths = {
                    node["metadata"]["paths"]["containment"]
                    for node in document["graph"]["nodes"]
                }
        resources = fields.get("RESOURCES", "")
        if resources in ("ALLOCATED", "RESERVED"):
            answer.status = resources.lower()
            at = fields.get("SCHEDULED AT")
            answer.at = None if at is None else 0 if at == "Now" else int(at)
        elif any("Unsatisfiable request" in line for line in lines):
            answer.status = "unsatisfiable"
        return answer

    def cancel(self, jobid: int) -> None:
        self.send(f"cancel {jobid}")

    def cancel_last(self) -> None:
        self.cancel(self.jobs)

    def close(self) -> None:
        self.send("quit")
        self.process.communicate(timeout=60)
