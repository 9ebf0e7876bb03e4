"""Containment graphs of Slurm clusters from ``scontrol show node --oneliner``, run or saved.

Each Slurm node becomes ``node > socket > core, gpu, memory``: ``Sockets`` sockets of
``CoresPerSocket`` cores, ``RealMemory`` (MB) as memory pools spread over the sockets, the
GPUs of ``Gres=gpu:…`` under the sockets their ``(S:…)`` affinity names (spread over all
sockets when it names none), ``AvailableFeatures`` as node properties, and a node that cannot
take jobs (down, drained, failing, not responding, future) marked down.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from typing import Any

from fractale.errors import FractaleError
from fractale.generate.builder import DOWN, UP, GraphBuilder
from fractale.generate.hostlist import expand_idset, split_top_level
from fractale.generate.synthetic import split_evenly

# A field starts where a space is followed by ``Key=``; values such as OS= or Reason= hold
# spaces of their own but never a ``Key=`` after one.
_FIELD = re.compile(r"(?:^|\s)([A-Za-z][A-Za-z0-9_:/]*)=")
_UNAVAILABLE = {"DOWN", "DRAIN", "DRAINED", "DRAINING", "FAIL", "FAILING", "FUTURE",
                "NOT_RESPONDING", "UNKNOWN", "NO_RESPOND",
                "MAINTENANCE", "REBOOT_ISSUED", "INVALID_REG"}


class SlurmError(FractaleError):
    """``scontrol`` output that does not describe Slurm nodes, or scontrol that cannot run."""


def read_scontrol(env: Mapping[str, str] | None = None) -> str:
    """``scontrol show node --oneliner`` run here (``env`` may set ``SLURM_CONF``)."""
    program = shutil.which("scontrol")
    if program is None:
        raise SlurmError("scontrol is not installed or not on PATH")
    environment = dict(os.environ)
    environment.update(env or {})
    result = subprocess.run(
        [program, "show", "node", "--oneliner"],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
        timeout=60,
    )
    if result.returncode != 0:
        raise SlurmError(f"scontrol show node failed: {result.stderr.strip() or result.returncode}")
    return result.stdout


def parse_node_line(line: str) -> dict[str, str]:
    """One ``--oneliner`` line as its ``Key=value`` fields."""
    matches = list(_FIELD.finditer(line))
    fields: dict[str, str] = {}
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(line)
        fields[match.group(1)] = line[match.end() : end].strip()
    return fields


def parse_gres(text: str, sockets: int) -> list[tuple[str | None, list[int]]]:
    """GPUs of a ``Gres=`` value, one ``(model, candidate sockets)`` entry per GPU."""
    gpus: list[tuple[str | None, list[int]]] = []
    if not text or text in ("(null)", "N/A"):
        return gpus
    for item in split_top_level(text.replace("(", "[").replace(")", "]")):
        affinity = None
        match = re.search(r"\[S:([0-9,\-]+)\]", item)
        if match:
            affinity = [s for s in expand_idset(match.group(1)) if s < sockets] or None
        item = re.sub(r"\[.*?\]", "", item)
        parts = item.split(":")
        if parts[0] != "gpu":
            continue
        count_text = parts[-1] if len(parts) > 1 else "1"
        model = parts[1] if len(parts) > 2 else None
        count_match = re.fullmatch(r"(\d+)([KMG]?)", count_text)
        if not count_match:
            raise SlurmError(f"cannot read the GPU count of Gres entry {item!r}")
        count = int(count_match.group(1)) * {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}[
            count_match.group(2)
        ]
        for _ in range(count):
            gpus.append((model, affinity or list(range(sockets))))
    return gpus


def _number(fields: Mapping[str, str], key: str, default: int, node: str) -> int:
    value = fields.get(key)
    if value in (None, "", "N/A"):
        return default
    try:
        return int(value)
    except ValueError:
        raise SlurmError(f"node {node}: {key}={value!r} is not a number") from None


def _available(state: str) -> bool:
    """Whether a node in ``State=`` can take jobs: no unavailable base state or flag, and not
    marked ``*`` (not responding)."""
    for word in state.upper().split("+"):
        if word.endswith("*"):
            return False
        if word.rstrip("~#!%$@^-") in _UNAVAILABLE:
            return False
    return True


def slurm_graph(
    text: str, name: str = "cluster", source: str = "scontrol output"
) -> dict[str, Any]:
    """A containment graph from the text of ``scontrol show node --oneliner``."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise SlurmError(f"{source} lists no nodes")
    builder = GraphBuilder()
    root = builder.add("cluster", basename=name, name=f"{name}0")
    for rank, line in enumerate(lines):
        fields = parse_node_line(line)
        if "NodeName" not in fields:
            raise SlurmError(
                f"{source}, line {rank + 1}: no NodeName= field; "
                "expected the output of scontrol show node --oneliner"
            )
        node_name = fields["NodeName"]
        sockets = max(1, _number(fields, "Sockets", 1, node_name))
        per_socket = _number(fields, "CoresPerSocket", 0, node_name)
        if per_socket <= 0:
            threads = max(1, _number(fields, "ThreadsPerCore", 1, node_name))
            per_socket = max(1, _number(fields, "CPUTot", 1, node_name) // threads // sockets)
        memory_gb = _number(fields, "RealMemory", 0, node_name) // 1024
        features = fields.get("AvailableFeatures", "")
        properties = {
            feature: "true"
            for feature in features.split(",")
            if feature and feature not in ("(null)", "N/A")
        }
        status = UP if _available(fields.get("State", "IDLE")) else DOWN
        node = builder.add(
            "node",
            root,
            ident=rank,
            name=node_name,
            rank=rank,
            properties=properties,
            status=status,
        )
        socket_vertices = [
            builder.add("socket", node, ident=index, rank=rank) for index in range(sockets)
        ]
        gpus_by_socket: dict[int, list[str | None]] = {index: [] for index in range(sockets)}
        for model, candidates in parse_gres(fields.get("Gres", ""), sockets):
            # Spread over the sockets the affinity allows, least loaded first.
            chosen = min(candidates, key=lambda s: (len(gpus_by_socket[s]), s))
            gpus_by_socket[chosen].append(model)
        memory_sizes = split_evenly(memory_gb, sockets)
        core = gpu = pool = 0
        for index, socket in enumerate(socket_vertices):
            for _ in range(per_socket):
                builder.add("core", socket, ident=core, rank=rank)
                core += 1
            for model in gpus_by_socket[index]:
                model_property = {"model": model} if model else None
                builder.add("gpu", socket, ident=gpu, rank=rank, properties=model_property)
                gpu += 1
            if memory_sizes[index]:
                builder.add(
                    "memory", socket, ident=pool, rank=rank, size=memory_sizes[index], unit="GB"
                )
                pool += 1
    return builder.document()
