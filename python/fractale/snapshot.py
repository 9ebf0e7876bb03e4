"""A cluster's current load: the jobs running and pending on it, read live from its scheduler
or from a file, kept in the store, and planned onto its containment graph in time.

A snapshot is JSON (``fractale cluster state NAME --save`` writes it beside the cluster's
graphs; ``--file`` reads one written by hand)::

    {
      "cluster": "tioga",              optional: the cluster it describes
      "time": 1764097200,              its "now": Unix seconds, or ISO 8601 text
      "source": "slurm",               optional: where it was read
      "jobs": [
        {"id": "12", "state": "running",
         "start": 1764096000, "end": 1764099600,
         "nodes": {"node1": 4, "node2": null}},
        {"id": "13", "state": "pending",
         "start": 1764099600, "end": 1764103200, "nodes": {"node1": null}}
      ]
    }

Each job holds, on each node it names, that many cores (``null``: the whole node) over
``[start, end)``; ``end`` null (no time limit) holds them for good. Times are Unix seconds or
ISO 8601 (text without a zone is local time, as Slurm prints it). ``state`` is ``running`` or
``pending``: a pending job is held from the start its scheduler planned for it on the nodes it
planned; one with no planned start or nodes (``"nodes": {}``) is listed but holds nothing.

``plan`` puts every job on a fresh ``ResourceGraph`` with the snapshot's time as time zero, so
``graph.reserve(job)`` answers when the job would start there.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fractale.errors import FractaleError

STATES = ("running", "pending")
# Slurm job states whose jobs hold nodes now, and the one that waits.
_SLURM_HOLDING = {"RUNNING", "COMPLETING", "SUSPENDED", "CONFIGURING", "STAGE_OUT", "SIGNALING"}
_SLURM_WAITING = {"PENDING", "REQUEUED", "RESIZING"}
# The detail fields of `scontrol show job -d`: one " Nodes=… CPU_IDs=…" per group of nodes.
_CPU_IDS = re.compile(r"\sNodes=(\S+)\s+CPU_IDs=(\S+)")


class SnapshotError(FractaleError):
    """A snapshot that cannot be read or planned: the message names the job and field."""


@dataclass(frozen=True)
class Job:
    """One job of a snapshot: what it holds, where and over which span of time."""

    id: str
    state: str
    start: int | None
    end: int | None
    nodes: dict[str, int | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "start": self.start, "end": self.end,
                "nodes": dict(self.nodes)}


@dataclass(frozen=True)
class Snapshot:
    """The jobs of one cluster at one time."""

    time: int
    jobs: list[Job]
    cluster: str | None = None
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "time": self.time, "source": self.source,
                "jobs": [job.to_dict() for job in self.jobs]}

    @classmethod
    def from_dict(cls, document: Any, where: str = "snapshot") -> Snapshot:
        """Read and check a snapshot document; SnapshotError naming the bad field."""
        if not isinstance(document, Mapping):
            raise SnapshotError(f"{where}: a snapshot is a JSON object with 'time' and 'jobs'")
        unknown = sorted(set(document) - {"cluster", "time", "source", "jobs"})
        if unknown:
            raise SnapshotError(f"{where}: unknown keys {', '.join(unknown)}; "
                                "expected cluster, time, source, jobs")
        if "time" not in document:
            raise SnapshotError(f"{where}: 'time' is required (Unix seconds or ISO 8601)")
        time = _instant(document["time"], f"{where}: time")
        jobs = document.get("jobs", [])
        if not isinstance(jobs, list):
            raise SnapshotError(f"{where}: 'jobs' must be a list")
        parsed = [_job(entry, f"{where}: jobs[{i}]") for i, entry in enumerate(jobs)]
        cluster, source = document.get("cluster"), document.get("source")
        for key, value in (("cluster", cluster), ("source", source)):
            if value is not None and not isinstance(value, str):
                raise SnapshotError(f"{where}: '{key}' must be text")
        return cls(time or 0, parsed, cluster, source)

    def plan(self, graph: Any, policy: str = "first") -> list[str]:
        """Hold every job on ``graph`` (a fresh ``ResourceGraph``) with this snapshot's time
        as time zero. Returns a note for each job left out: one that holds nothing, or that
        names a node the graph lacks. SnapshotError when a node cannot give what a job holds."""
        from fractale._core import MatchError

        known = _node_names(graph)
        notes = []
        # Running jobs first: they hold now, whatever a pending one was planned for.
        for job in sorted(self.jobs, key=lambda j: (j.state != "running", j.start or 0)):
            if not job.nodes:
                notes.append(f"job {job.id} ({job.state}) has no nodes planned: it holds nothing")
                continue
            missing = sorted(set(job.nodes) - known)
            if missing:
                notes.append(f"job {job.id} runs on {', '.join(missing)}, which the graph "
                             "does not have: left out")
                continue
            start = 0 if job.start is None else max(0, job.start - self.time)
            end = None if job.end is None else job.end - self.time
            if end is not None and end <= start:
                continue  # over by the snapshot's time
            try:
                graph.hold(job.nodes, start, end, policy)
            except MatchError as err:
                raise SnapshotError(f"job {job.id}: {err}") from None
        return notes


def _instant(value: Any, where: str) -> int | None:
    """Unix seconds from a number or ISO 8601 text (local time when it has no zone)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise SnapshotError(f"{where}: expected Unix seconds or ISO 8601 text, not {value!r}")
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value < 0:
            raise SnapshotError(f"{where}: {value!r} is not a time")
        return int(value)
    if isinstance(value, str):
        try:
            return int(datetime.fromisoformat(value.strip().replace("Z", "+00:00")).timestamp())
        except ValueError:
            pass
    raise SnapshotError(f"{where}: expected Unix seconds or ISO 8601 text, not {value!r}")


def _job(entry: Any, where: str) -> Job:
    if not isinstance(entry, Mapping):
        raise SnapshotError(f"{where}: a job is an object with id, state, start, end and nodes")
    unknown = sorted(set(entry) - {"id", "state", "start", "end", "nodes"})
    if unknown:
        raise SnapshotError(f"{where}: unknown keys {', '.join(unknown)}")
    if "id" not in entry:
        raise SnapshotError(f"{where}: 'id' is required")
    state = entry.get("state", "running")
    if state not in STATES:
        raise SnapshotError(f"{where}: state must be running or pending, not {state!r}")
    nodes = entry.get("nodes", {})
    if not isinstance(nodes, Mapping):
        raise SnapshotError(f"{where}: 'nodes' maps node names to cores held (null: whole node)")
    for name, cores in nodes.items():
        whole_or_count = cores is None or (isinstance(cores, int) and not isinstance(cores, bool))
        if not whole_or_count or (cores is not None and cores < 1):
            raise SnapshotError(f"{where}: nodes.{name} must be a number of cores (1 or more) "
                                f"or null for the whole node, not {cores!r}")
    start, end = _instant(entry.get("start"), f"{where}: start"), _instant(
        entry.get("end"), f"{where}: end")
    if state == "running" and start is None:
        raise SnapshotError(f"{where}: a running job needs its start")
    if start is not None and end is not None and end < start:
        raise SnapshotError(f"{where}: it ends ({end}) before it starts ({start})")
    return Job(str(entry["id"]), state, start, end, dict(nodes))


def _node_names(graph: Any) -> set[str]:
    document = graph.to_jgf()["graph"]["nodes"]
    nodes = document.values() if isinstance(document, Mapping) else document
    names = set()
    for node in nodes:
        metadata = node.get("metadata") or {}
        if metadata.get("type") == "node" and isinstance(metadata.get("name"), str):
            names.add(metadata["name"])
    return names


# Slurm -------------------------------------------------------------------------------------


def read_slurm(env: Mapping[str, str] | None = None, now: int | None = None) -> Snapshot:
    """The jobs running and pending on the Slurm this process reaches (``SLURM_CONF`` in
    ``env`` or the environment), from ``scontrol show job -d`` and ``scontrol show node``."""
    from fractale.generate.slurm import parse_node_line, read_scontrol

    environment = {**os.environ, **(env or {})}
    threads = {}
    for line in read_scontrol(env).splitlines():
        if line.strip():
            fields = parse_node_line(line)
            threads[fields.get("NodeName", "")] = max(1, _int(fields.get("ThreadsPerCore"), 1))
    text = _scontrol(["show", "job", "-d", "--oneliner"], environment)
    time = int(datetime.now().timestamp()) if now is None else now
    return Snapshot(time, parse_slurm_jobs(text, threads), source="slurm")


def parse_slurm_jobs(text: str, threads: Mapping[str, int] | None = None) -> list[Job]:
    """The jobs of ``scontrol show job -d --oneliner`` that hold or wait for nodes: cores per
    node from the ``CPU_IDs`` Slurm gave (CPUs over the node's threads per core), the whole
    node for a job that does not share (``OverSubscribe=NO``); a pending job on the nodes and
    from the start Slurm planned for it."""
    from fractale.generate.hostlist import expand_hostlist, expand_idset
    from fractale.generate.slurm import parse_node_line

    jobs = []
    for line in text.splitlines():
        if not line.startswith("JobId="):
            continue
        fields = parse_node_line(line)
        state = fields.get("JobState", "")
        if state not in _SLURM_HOLDING | _SLURM_WAITING:
            continue
        waiting = state in _SLURM_WAITING
        start, end = _slurm_time(fields.get("StartTime")), _slurm_time(fields.get("EndTime"))
        whole = fields.get("OverSubscribe") == "NO"
        nodes: dict[str, int | None] = {}
        if waiting:
            planned = fields.get("SchedNodeList") or ""
            if start is not None and planned not in ("", "(null)"):
                cpus = _int(fields.get("NumCPUs"), 1)
                names = expand_hostlist(planned)
                for name in names:
                    share = max(1, math.ceil(cpus / len(names)))
                    nodes[name] = None if whole else _cores(share, name, threads)
            else:
                start = end = None
        else:
            for group, ids in _CPU_IDS.findall(line):
                count = len(expand_idset(ids))
                for name in expand_hostlist(group):
                    nodes[name] = None if whole else _cores(count, name, threads)
            if not nodes:
                for name in expand_hostlist(fields.get("NodeList") or ""):
                    nodes[name] = None
        jobs.append(Job(fields.get("JobId", "?"), "pending" if waiting else "running",
                        start, end, nodes))
    return jobs


def _cores(cpus: int, node: str, threads: Mapping[str, int] | None) -> int:
    per_core = (threads or {}).get(node, 1)
    return max(1, math.ceil(cpus / per_core))


def _slurm_time(text: str | None) -> int | None:
    if not text or text in ("Unknown", "None", "N/A", "(null)"):
        return None
    try:
        return int(datetime.fromisoformat(text).timestamp())
    except ValueError:
        return None


def _int(text: str | None, default: int) -> int:
    try:
        return int(str(text).split("(")[0])
    except ValueError:
        return default


def _scontrol(args: list[str], env: Mapping[str, str]) -> str:
    program = shutil.which("scontrol", path=env.get("PATH"))
    if program is None:
        raise SnapshotError("scontrol is not installed or not on PATH: cannot read Slurm's jobs")
    done = subprocess.run([program, *args], capture_output=True, text=True, env=dict(env),
                          timeout=60, check=False)
    if done.returncode != 0:
        message = done.stderr.strip() or f"exit status {done.returncode}"
        raise SnapshotError(f"scontrol {' '.join(args)} failed: {message}")
    return done.stdout


READERS = {"slurm": read_slurm}


def read_live(scheduler: str, env: Mapping[str, str] | None = None) -> Snapshot:
    """The current load of a cluster run by ``scheduler``, read from its status commands."""
    reader = READERS.get(scheduler)
    if reader is None:
        raise SnapshotError(f"reading the jobs of a {scheduler} cluster is not supported yet "
                            f"(supported: {', '.join(sorted(READERS))}); write a snapshot file "
                            "and load it with --file")
    return reader(env)
