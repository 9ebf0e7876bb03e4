"""Containment graphs of real machines from hwloc: ``lstopo --of xml`` run here or saved.

Each machine becomes ``node > socket > core, gpu, memory``: sockets from hwloc packages,
cores from hwloc cores (processing units when a topology has no cores), one memory pool per
NUMA node under the socket whose CPUs it serves, and GPUs from PCI display and 3D
controllers (or devices hwloc found a GPU or co-processor behind) under the socket they
hang from. Several saved topologies make a cluster of several nodes, ranked in order.
"""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fractale.errors import FractaleError
from fractale.generate.builder import GraphBuilder

_PACKAGE_TYPES = {"Package", "Socket"}
# hwloc 2 OS device types that sit behind a GPU: 1 is a GPU (DRM, NVML), 5 a co-processor
# (CUDA, OpenCL, ROCm SMI); hwloc 3 writes the type as words.
_GPU_OSDEV_TYPES = {"1", "5", "gpu", "coproc"}
# PCI vendors whose display controllers are compute GPUs rather than a server's console.
_GPU_VENDORS = {"10de", "1002"}


class HwlocError(FractaleError):
    """A topology that hwloc did not write, or lstopo that cannot run."""


def read_lstopo() -> str:
    """This machine's topology as ``lstopo --of xml`` writes it."""
    program = shutil.which("lstopo") or shutil.which("lstopo-no-graphics")
    if program is None:
        raise HwlocError("lstopo is not installed (Debian and Ubuntu: apt-get install hwloc)")
    result = subprocess.run(
        [program, "--of", "xml", "-"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise HwlocError(f"lstopo failed: {result.stderr.strip() or result.returncode}")
    return result.stdout


def hwloc_graph(
    topologies: Iterable[str], name: str = "cluster", sources: list[str] | None = None
) -> dict[str, Any]:
    """A containment graph with one node per hwloc XML topology in ``topologies``."""
    builder = GraphBuilder()
    root = builder.add("cluster", basename=name, name=f"{name}0")
    rank = 0
    for index, text in enumerate(topologies):
        source = sources[index] if sources and index < len(sources) else "lstopo output"
        try:
            tree = ElementTree.fromstring(text)
        except ElementTree.ParseError as err:
            raise HwlocError(f"{source} is not XML: {err}") from None
        if tree.tag != "topology":
            raise HwlocError(f"{source} is not an hwloc topology (root element <{tree.tag}>)")
        machines = [o for o in tree.iter("object") if o.get("type") == "Machine"]
        if not machines:
            raise HwlocError(f"{source} holds no Machine object")
        for machine in machines:
            _add_machine(builder, root, machine, rank)
            rank += 1
    if rank == 0:
        raise HwlocError("no topology given")
    return builder.document()


def hwloc_graph_from_files(paths: list[str], name: str = "cluster") -> dict[str, Any]:
    texts = []
    for path in paths:
        try:
            texts.append(Path(path).read_text(encoding="utf-8"))
        except OSError as err:
            raise HwlocError(f"cannot read {path}: {err.strerror}") from None
    return hwloc_graph(texts, name, sources=list(paths))


def _info(element: ElementTree.Element, key: str) -> str | None:
    for info in element.findall("info"):
        if info.get("name") == key:
            return info.get("value")
    return None


def _cpuset(element: ElementTree.Element) -> int:
    """An hwloc bitmap (``0xffffffff,0x00000003``: 32-bit words, most significant first)."""
    text = element.get("cpuset") or element.get("complete_cpuset") or "0x0"
    words = [word.strip().removeprefix("0x") for word in text.split(",")]
    try:
        return int("".join(word.rjust(8, "0") for word in words), 16)
    except ValueError:
        return 0


def _is_gpu(device: ElementTree.Element) -> bool:
    for osdev in device.iter("object"):
        if osdev.get("type") == "OSDev" and osdev.get("osdev_type") in _GPU_OSDEV_TYPES:
            return True
    pci_type = (device.get("pci_type") or "").split()
    if not pci_type:
        return False
    device_class = pci_type[0].lower()
    vendor = pci_type[1].strip("[]").split(":")[0].lower() if len(pci_type) > 1 else ""
    if device_class == "0302":
        return True
    return device_class in ("0300", "0380") and vendor in _GPU_VENDORS


def _ancestors(machine: ElementTree.Element) -> dict[ElementTree.Element, ElementTree.Element]:
    return {
        child: parent for parent in machine.iter("object") for child in parent.findall("object")
    }


def _add_machine(builder: GraphBuilder, root: int, machine, rank: int) -> None:
    hostname = _info(machine, "HostName") or f"node{rank}"
    hostname = hostname.replace("/", "-")
    properties = {}
    architecture = _info(machine, "Architecture")
    if architecture:
        properties[architecture] = "true"
    node = builder.add(
        "node", root, ident=rank, basename="node", name=hostname, rank=rank, properties=properties
    )
    parents = _ancestors(machine)
    packages = [o for o in machine.iter("object") if o.get("type") in _PACKAGE_TYPES]

    def package_of(element) -> int | None:
        """Index of the package holding ``element``, by ancestry or else by shared CPUs."""
        current = element
        while current is not None:
            if current.get("type") in _PACKAGE_TYPES:
                return packages.index(current)
            current = parents.get(current)
        cpus = _cpuset(element)
        for index, package in enumerate(packages):
            if cpus and _cpuset(package) & cpus:
                return index
        return None

    socket_vertices = [
        builder.add("socket", node, ident=index, rank=rank) for index in range(len(packages))
    ]
    core_elements = [o for o in machine.iter("object") if o.get("type") == "Core"]
    if not core_elements:
        core_elements = [o for o in machine.iter("object") if o.get("type") == "PU"]
    gpus = [o for o in machine.iter("object") if o.get("type") == "PCIDev" and _is_gpu(o)]
    memories = [o for o in machine.iter("object") if o.get("type") == "NUMANode"]

    by_parent: dict[int, list[tuple[str, Any]]] = {}
    for kind, elements in (("core", core_elements), ("gpu", gpus), ("memory", memories)):
        for element in elements:
            index = package_of(element)
            if index is None and len(packages) == 1:
                index = 0
            parent = socket_vertices[index] if index is not None else node
            by_parent.setdefault(parent, []).append((kind, element))

    counters = {"core": 0, "gpu": 0, "memory": 0}
    for parent in [*socket_vertices, node]:
        for kind, element in by_parent.get(parent, []):
            ident = counters[kind]
            counters[kind] += 1
            if kind == "memory":
                size = int(element.get("local_memory") or 0) // 1024**3
                if size == 0:
                    continue
                builder.add("memory", parent, ident=ident, rank=rank, size=size, unit="GB")
            else:
                builder.add(kind, parent, ident=ident, rank=rank)
