"""Containment graphs of Flux instances from their resource set R (RFC 20, version 1).

When R carries a ``scheduling`` key, that is the instance's own JGF and is used as it is.
Otherwise each execution target of ``R_lite`` becomes ``node > core, gpu`` the way Fluxion's
own R reader builds it (R says nothing about sockets or memory), named by ``nodelist`` in
rank order, with ``properties`` (property -> idset of ranks) as node properties.
"""

from __future__ import annotations

import json
from typing import Any

from fractale.errors import FractaleError
from fractale.generate.builder import GraphBuilder
from fractale.generate.hostlist import expand_hostlist, expand_idset


class FluxError(FractaleError):
    """A resource set that is not Flux's R version 1."""


def flux_graph(text: str, name: str = "cluster", source: str = "R") -> dict[str, Any]:
    """A containment graph from the JSON text of a Flux resource set R."""
    try:
        document = json.loads(text)
    except ValueError as err:
        raise FluxError(f"{source} is not JSON: {err}") from None
    if not isinstance(document, dict) or document.get("version") != 1:
        raise FluxError(f"{source} is not a Flux resource set R version 1 (no \"version\": 1)")
    scheduling = document.get("scheduling")
    if isinstance(scheduling, dict) and scheduling.get("graph"):
        return scheduling
    execution = document.get("execution")
    if not isinstance(execution, dict) or not isinstance(execution.get("R_lite"), list):
        raise FluxError(f"{source}: execution.R_lite must be a list")
    try:
        targets: dict[int, dict[str, list[int]]] = {}
        for index, entry in enumerate(execution["R_lite"]):
            if not isinstance(entry, dict) or "rank" not in entry:
                raise FluxError(f"{source}: execution.R_lite[{index}] has no rank")
            children = entry.get("children") or {}
            for rank in expand_idset(entry["rank"]):
                slot = targets.setdefault(rank, {})
                for kind, ids in children.items():
                    slot.setdefault(kind, []).extend(expand_idset(ids))
        hosts: list[str] = []
        for item in execution.get("nodelist") or []:
            hosts.extend(expand_hostlist(item))
        properties: dict[int, dict[str, str]] = {}
        for key, ranks in (execution.get("properties") or {}).items():
            for rank in expand_idset(ranks):
                properties.setdefault(rank, {})[key] = "true"
    except ValueError as err:
        raise FluxError(f"{source}: {err}") from None
    if not targets:
        raise FluxError(f"{source}: R_lite lists no execution targets")
    ordered = sorted(targets)
    if hosts and len(hosts) != len(ordered):
        raise FluxError(
            f"{source}: nodelist names {len(hosts)} hosts for {len(ordered)} ranks in R_lite"
        )
    builder = GraphBuilder()
    root = builder.add("cluster", basename=name, name=f"{name}0")
    for position, rank in enumerate(ordered):
        host = hosts[position] if hosts else f"node{rank}"
        node = builder.add(
            "node", root, ident=rank, name=host, rank=rank, properties=properties.get(rank)
        )
        for kind in ("core", "gpu"):
            for ident in sorted(set(targets[rank].get(kind, []))):
                builder.add(kind, node, ident=ident, rank=rank)
    return builder.document()
