"""Synthetic containment graphs: clusters of identical nodes for tests, demos and benchmarks.

The document follows the conventions of Fluxion's own JGF files: vertices in depth-first order
with ``uniq_id`` equal to the vertex's position, ``cluster > [rack >] node > socket > core/gpu/
memory``, node ids and ranks counted across the whole cluster, core, GPU and memory ids counted
within their node, every vertex below a node carrying the node's rank, memory as pools with a
``size`` in GB, and ``contains`` edges from parent to child in the containment subsystem.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fractale.store import acyclic

# Past this a graph's JGF text outgrows what the reader takes (``MAX_GRAPH_BYTES``, 4 GiB,
# at about 300 bytes a vertex).
MAX_VERTICES = 12_000_000

EDGE_METADATA = {"subsystem": "containment", "relation": "contains"}


def split_evenly(total: int, parts: int) -> list[int]:
    """Spread ``total`` items over ``parts`` holders, earlier holders taking any remainder."""
    base, extra = divmod(total, parts)
    return [base + (1 if index < extra else 0) for index in range(parts)]


def _node_template(
    sockets: int, cores: int, gpus: int, memory: int, memory_size: int
) -> list[tuple[str, str, int, str, int, str, int]]:
    """One node's subtree below the node: (type, name, id, path below the node, size, unit,
    position of the parent in the subtree, 0 being the node itself)."""
    template: list[tuple[str, str, int, str, int, str, int]] = []
    core = gpu = pool = 0
    gpus_per_socket = split_evenly(gpus, sockets)
    memory_per_socket = split_evenly(memory, sockets)
    for socket in range(sockets):
        template.append(("socket", f"socket{socket}", socket, f"/socket{socket}", 1, "", 0))
        parent = len(template)
        for _ in range(cores):
            path = f"/socket{socket}/core{core}"
            template.append(("core", f"core{core}", core, path, 1, "", parent))
            core += 1
        for _ in range(gpus_per_socket[socket]):
            template.append(("gpu", f"gpu{gpu}", gpu, f"/socket{socket}/gpu{gpu}", 1, "", parent))
            gpu += 1
        for _ in range(memory_per_socket[socket]):
            path = f"/socket{socket}/memory{pool}"
            template.append(("memory", f"memory{pool}", pool, path, memory_size, "GB", parent))
            pool += 1
    return template


def _check(nodes, sockets, cores, gpus, memory, memory_size, racks, name) -> None:
    for label, value, least in (
        ("nodes", nodes, 1),
        ("sockets", sockets, 1),
        ("cores", cores, 0),
        ("gpus", gpus, 0),
        ("memory", memory, 0),
        ("memory_size", memory_size, 1),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ValueError(f"{label} must be an integer of at least {least}, not {value!r}")
    if racks is not None and (
        not isinstance(racks, int) or isinstance(racks, bool) or not 1 <= racks <= nodes
    ):
        raise ValueError(f"racks must be between 1 and the number of nodes, not {racks!r}")
    if not isinstance(name, str) or not name or "/" in name or name.strip() != name:
        raise ValueError(f"a cluster name must be non-empty, without '/' or spaces: {name!r}")
    racks_and_root = 1 + (racks or 0)
    vertices = racks_and_root + nodes * (1 + sockets + sockets * cores + gpus + memory)
    if vertices > MAX_VERTICES:
        raise ValueError(
            f"{nodes} nodes of that shape make {vertices:,} vertices; a synthetic graph holds "
            f"at most {MAX_VERTICES:,} (about the 4 GiB of JGF fractale reads back)")


def synthetic_graph(
    nodes: int,
    sockets: int = 2,
    cores: int = 32,
    gpus: int = 4,
    memory: int = 8,
    memory_size: int = 16,
    racks: int | None = None,
    name: str = "cluster",
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """A JGF document for a cluster of ``nodes`` identical nodes.

    ``sockets`` is per node and ``cores`` per socket; ``gpus`` and ``memory`` (pools of
    ``memory_size`` GB each) are per node, spread over its sockets with the first sockets
    taking any remainder. With ``racks`` the nodes are spread the same way over that many
    racks. ``progress``, when given, is called with the number of nodes built since its last
    call. Raises ``ValueError`` for a shape that is not a cluster.
    """
    _check(nodes, sockets, cores, gpus, memory, memory_size, racks, name)
    template = _node_template(sockets, cores, gpus, memory, memory_size)
    width = len(template) + 1
    vertices: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    add_vertex = vertices.append
    add_edge = edges.append
    edge_metadata = EDGE_METADATA
    step = max(1, nodes // 200)

    def structural(kind: str, basename: str, ident: int, path: str) -> str:
        uniq = len(vertices)
        add_vertex(
            {
                "id": str(uniq),
                "metadata": {
                    "type": kind,
                    "basename": basename,
                    "name": f"{basename}{ident}",
                    "id": ident,
                    "uniq_id": uniq,
                    "rank": -1,
                    "exclusive": False,
                    "unit": "",
                    "size": 1,
                    "paths": {"containment": path},
                },
            }
        )
        return str(uniq)

    # Millions of small dicts that never form cycles: the cyclic collector would only rescan
    # them over and over, which triples the time a 10,000-node cluster takes to build.
    with acyclic():
        cluster_path = f"/{name}0"
        cluster_id = structural("cluster", name, 0, cluster_path)
        if racks is None:
            groups = [(cluster_id, cluster_path, nodes)]
        else:
            groups = []
            for rack, count in enumerate(split_evenly(nodes, racks)):
                rack_path = f"{cluster_path}/rack{rack}"
                rack_id = structural("rack", "rack", rack, rack_path)
                add_edge({"source": cluster_id, "target": rack_id, "metadata": edge_metadata})
                groups.append((rack_id, rack_path, count))

        rank = 0
        for parent_id, parent_path, count in groups:
            for _ in range(count):
                base = len(vertices)
                ids = [str(base + offset) for offset in range(width)]
                node_path = f"{parent_path}/node{rank}"
                add_vertex(
                    {
                        "id": ids[0],
                        "metadata": {
                            "type": "node",
                            "basename": "node",
                            "name": f"node{rank}",
                            "id": rank,
                            "uniq_id": base,
                            "rank": rank,
                            "exclusive": False,
                            "unit": "",
                            "size": 1,
                            "paths": {"containment": node_path},
                        },
                    }
                )
                add_edge({"source": parent_id, "target": ids[0], "metadata": edge_metadata})
                for offset, (kind, vname, ident, below, size, unit, parent) in enumerate(
                    template, 1
                ):
                    add_vertex(
                        {
                            "id": ids[offset],
                            "metadata": {
                                "type": kind,
                                "basename": kind,
                                "name": vname,
                                "id": ident,
                                "uniq_id": base + offset,
                                "rank": rank,
                                "exclusive": False,
                                "unit": unit,
                                "size": size,
                                "paths": {"containment": node_path + below},
                            },
                        }
                    )
                    add_edge(
                        {"source": ids[parent], "target": ids[offset], "metadata": edge_metadata}
                    )
                rank += 1
                if progress is not None and rank % step == 0:
                    progress(step)
        if progress is not None and rank % step:
            progress(rank % step)
    return {"graph": {"nodes": vertices, "edges": edges}}
