"""Reading the JGF documents the generators write, for their tests: vertices by containment
path, the types below a path, and one node by name."""

from __future__ import annotations

from collections import Counter


def metadata_by_path(document: dict) -> dict[str, dict]:
    """Each vertex's metadata, keyed by its containment path."""
    vertices = document["graph"]["nodes"]
    return {v["metadata"]["paths"]["containment"]: v["metadata"] for v in vertices}


def kinds(document: dict, under: str | None = None) -> Counter:
    """How many vertices of each type the graph holds, or only those below path ``under``."""
    return Counter(
        v["metadata"]["type"]
        for v in document["graph"]["nodes"]
        if under is None or v["metadata"]["paths"]["containment"].startswith(under + "/")
    )


def node(document: dict, name: str) -> dict:
    """The metadata of the node vertex called ``name``."""
    for vertex in document["graph"]["nodes"]:
        if vertex["metadata"]["type"] == "node" and vertex["metadata"]["name"] == name:
            return vertex["metadata"]
    raise AssertionError(f"no node {name}")
