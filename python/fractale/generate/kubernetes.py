"""Containment graphs of Kubernetes clusters from ``kubectl get nodes -o json``.

Each node becomes ``node > core, gpu, memory`` from its ``status.capacity``: whole cores of
``cpu`` (``8`` or ``7500m``), GPUs of the device plugins' resources (``nvidia.com/gpu``,
``amd.com/gpu``, ``gpu.intel.com/*``), and ``memory`` as one pool in GB. Labels become node
properties. A node that is not Ready, is cordoned, or is a tainted control-plane node is
marked down: the scheduler would place no job there.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fractale.errors import FractaleError
from fractale.generate.builder import DOWN, UP, GraphBuilder

_QUANTITY = re.compile(r"^([0-9.]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_FACTORS = {
    None: 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}
_CONTROL_PLANE_TAINTS = {"node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"}


class KubernetesError(FractaleError):
    """A document that is not the node list ``kubectl get nodes -o json`` writes."""


def quantity(text: Any) -> float:
    """A Kubernetes resource quantity (``7500m``, ``32Gi``, ``4``) as a plain number."""
    match = _QUANTITY.match(str(text).strip())
    if not match:
        raise ValueError(f"not a Kubernetes quantity: {text!r}")
    return float(match.group(1)) * _FACTORS[match.group(2)]


_GPU_VENDORS = {"nvidia.com": "nvidia", "amd.com": "amd", "gpu.intel.com": "intel"}


def _gpus(capacity: dict[str, Any]) -> list[tuple[str, int]]:
    """(vendor, count) of each device plugin's GPUs: ``nvidia.com/gpu``, ``amd.com/gpu``,
    ``gpu.intel.com/i915`` and the like."""
    found = []
    for key, value in sorted(capacity.items()):
        domain, _, resource = key.partition("/")
        vendor = _GPU_VENDORS.get(domain)
        if vendor and (resource == "gpu" or domain == "gpu.intel.com"):
            found.append((vendor, int(quantity(value))))
    return found


def _schedulable(item: dict[str, Any]) -> bool:
    spec = item.get("spec") or {}
    if spec.get("unschedulable"):
        return False
    for taint in spec.get("taints") or []:
        if taint.get("key") in _CONTROL_PLANE_TAINTS and taint.get("effect") == "NoSchedule":
            return False
    conditions = (item.get("status") or {}).get("conditions") or []
    ready = [c for c in conditions if c.get("type") == "Ready"]
    return not ready or ready[0].get("status") == "True"


def kubernetes_graph(text: str, name: str = "cluster", source: str = "node list") -> dict[str, Any]:
    """A containment graph from the JSON text of ``kubectl get nodes -o json``."""
    try:
        document = json.loads(text)
    except ValueError as err:
        raise KubernetesError(f"{source} is not JSON: {err}") from None
    if isinstance(document, dict) and document.get("kind") == "Node":
        items = [document]
    elif isinstance(document, dict) and isinstance(document.get("items"), list):
        items = document["items"]
    else:
        raise KubernetesError(
            f"{source} is not a Kubernetes node list (expected \"kind\": \"List\" with items)"
        )
    if not items:
        raise KubernetesError(f"{source} lists no nodes")
    builder = GraphBuilder()
    root = builder.add("cluster", basename=name, name=f"{name}0")
    for rank, item in enumerate(items):
        metadata = item.get("metadata") or {}
        node_name = metadata.get("name")
        if item.get("kind", "Node") != "Node" or not node_name:
            raise KubernetesError(f"{source}: items[{rank}] is not a named Node")
        capacity = (item.get("status") or {}).get("capacity") or {}
        try:
            cores = int(quantity(capacity.get("cpu", 0)))
            memory_gb = int(quantity(capacity.get("memory", 0)) // 2**30)
            gpus = _gpus(capacity)
        except ValueError as err:
            raise KubernetesError(f"{source}: node {node_name}: {err}") from None
        labels = {str(k): str(v) for k, v in (metadata.get("labels") or {}).items()}
        node = builder.add(
            "node",
            root,
            ident=rank,
            name=node_name.replace("/", "-"),
            rank=rank,
            properties=labels,
            status=UP if _schedulable(item) else DOWN,
        )
        for ident in range(cores):
            builder.add("core", node, ident=ident, rank=rank)
        ident = 0
        for vendor, count in gpus:
            for _ in range(count):
                builder.add("gpu", node, ident=ident, rank=rank, properties={"vendor": vendor})
                ident += 1
        if memory_gb:
            builder.add("memory", node, ident=0, rank=rank, size=memory_gb, unit="GB")
    return builder.document()
