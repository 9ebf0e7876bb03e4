"""Containment graphs of Grid Engine clusters from ``qhost -F -xml``, run or saved.

Each execution host becomes ``node > socket > core, gpu, memory``: ``m_socket`` sockets of
``m_core / m_socket`` cores (``num_proc`` cores on one socket when the host reports no
topology), ``mem_total`` as memory pools (GB) spread over the sockets, as many GPUs as the
host's ``gpu`` complex holds, spread over the sockets, and the host's architecture and true
boolean complexes as node properties. A host whose execd does not report (its values are
``-``) is marked down. The ``global`` pseudo-host is no host.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from fractale.errors import FractaleError
from fractale.generate.builder import DOWN, UP, GraphBuilder
from fractale.generate.synthetic import split_evenly

# The complexes sites count a host's GPUs in.
_GPU_COMPLEXES = ("gpu", "gpus", "ngpus")
_SIZE = re.compile(r"(\d+(?:\.\d+)?)([KMGT]?)")
_GB = {"": 1 / 1024 ** 3, "K": 1 / 1024 ** 2, "M": 1 / 1024, "G": 1, "T": 1024}


class GridEngineError(FractaleError):
    """``qhost`` output that does not describe Grid Engine hosts, or qhost that cannot run."""


def read_qhost(env: Mapping[str, str] | None = None) -> str:
    """``qhost -F -xml`` run here (``env`` may set ``SGE_ROOT`` and ``SGE_CELL``)."""
    program = shutil.which("qhost")
    if program is None:
        raise GridEngineError("qhost is not installed or not on PATH")
    environment = dict(os.environ)
    environment.update(env or {})
    result = subprocess.run([program, "-F", "-xml"], capture_output=True, text=True,
                            check=False, env=environment, timeout=60)
    if result.returncode != 0:
        raise GridEngineError(f"qhost -F -xml failed: {result.stderr.strip() or result.returncode}")
    return result.stdout


def _count(values: Mapping[str, str], key: str, host: str) -> int | None:
    """A whole number qhost reports (``2``, ``2.000000``), or None for ``-``."""
    text = values.get(key, "-")
    if text == "-":
        return None
    try:
        return int(float(text))
    except ValueError:
        raise GridEngineError(f"host {host}: {key}={text!r} is not a number") from None


def _gigabytes(text: str | None, host: str) -> int:
    if text in (None, "-"):
        return 0
    match = _SIZE.fullmatch(text)
    if not match:
        raise GridEngineError(f"host {host}: memory {text!r} is not a size such as 23.5G")
    return int(float(match.group(1)) * _GB[match.group(2)])


def parse_hosts(text: str, source: str = "qhost output") -> list[dict[str, Any]]:
    """Each execution host of ``qhost -F -xml``: its name, host values and resource values."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as err:
        raise GridEngineError(f"{source} is not XML: {err}") from None
    if root.tag != "qhost":
        raise GridEngineError(f"{source} is not qhost -xml output (its root is <{root.tag}>)")
    hosts = []
    for element in root.findall("host"):
        name = element.get("name", "")
        if name == "global":
            continue
        if not name or "/" in name:
            raise GridEngineError(f"{source}: a host has no usable name ({name!r})")
        hosts.append({
            "name": name,
            "values": {v.get("name"): (v.text or "").strip() for v in element.findall("hostvalue")},
            "resources": {v.get("name"): (v.text or "").strip()
                          for v in element.findall("resourcevalue")},
        })
    return hosts


def gridengine_graph(text: str, name: str = "cluster",
                     source: str = "qhost output") -> dict[str, Any]:
    """A containment graph from the text of ``qhost -F -xml``."""
    hosts = parse_hosts(text, source)
    if not hosts:
        raise GridEngineError(f"{source} lists no execution hosts")
    builder = GraphBuilder()
    root = builder.add("cluster", basename=name, name=f"{name}0")
    for rank, host in enumerate(hosts):
        values, resources, host_name = host["values"], host["resources"], host["name"]
        processors = _count(values, "num_proc", host_name)
        sockets = _count(values, "m_socket", host_name) or 1
        cores = _count(values, "m_core", host_name) or processors or 1
        gpus = next((int(float(resources[key])) for key in _GPU_COMPLEXES
                     if key in resources), 0)
        properties = {}
        if values.get("arch_string", "-") != "-":
            properties["arch"] = values["arch_string"]
        for key, value in resources.items():
            if value.lower() == "true":
                properties[key] = "true"
        node = builder.add("node", root, ident=rank, name=host_name, rank=rank,
                           properties=properties,
                           status=UP if processors is not None else DOWN)
        per_socket = split_evenly(cores, sockets)
        gpus_per_socket = split_evenly(gpus, sockets)
        memory = split_evenly(_gigabytes(values.get("mem_total"), host_name), sockets)
        core = gpu = pool = 0
        for index in range(sockets):
            socket = builder.add("socket", node, ident=index, rank=rank)
            for _ in range(per_socket[index]):
                builder.add("core", socket, ident=core, rank=rank)
                core += 1
            for _ in range(gpus_per_socket[index]):
                builder.add("gpu", socket, ident=gpu, rank=rank)
                gpu += 1
            if memory[index]:
                builder.add("memory", socket, ident=pool, rank=rank, size=memory[index],
                            unit="GB")
                pool += 1
    return builder.document()
