"""Pictures and summaries of a cluster that stay small however many nodes it has.

The containment tree is folded: children of one vertex that have identical subtrees (same
types, sizes, units and up/down status all the way down) become one box with a
multiplicity, so a 1,000-node cluster reads ``cluster → node × 1000 → socket × 2 → core × 32,
gpu × 2, memory × 4 (16 GB)``. ``outline`` writes that as text, ``to_dot`` as Graphviz, and
``render`` runs Graphviz for SVG or PNG. ``summary`` is a compact JSON description (counts
per type, node shapes, properties, software) small enough to put in an LLM prompt.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from fractale.errors import FractaleError
from fractale.generate.software import software_in
from fractale.store import CONTAINMENT, Cluster, acyclic

FORMATS = ("svg", "png", "dot", "text")


class ShowError(FractaleError):
    """A picture that cannot be drawn (a graph that is not a tree, Graphviz missing)."""


@dataclass
class Box:
    """``count`` identical sibling subtrees, drawn once."""

    kind: str
    count: int
    size: int
    unit: str
    down: bool
    children: list[Box] = field(default_factory=list)

    @property
    def label(self) -> str:
        text = f"{self.kind} × {self.count}" if self.count > 1 else self.kind
        if self.unit or self.size != 1:
            text += f" ({self.size} {self.unit})".replace(" )", ")")
        if self.down:
            text += " [down]"
        return text

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind, "count": self.count}
        if self.unit or self.size != 1:
            out["size"], out["unit"] = self.size, self.unit
        if self.down:
            out["down"] = True
        if self.children:
            out["children"] = [child.to_dict() for child in self.children]
        return out


def _edge_kept(metadata: dict[str, Any], subsystem: str) -> bool:
    """Whether an edge is a parent-to-child edge of ``subsystem`` (older files name the
    subsystem as ``name: {containment: contains}`` and add reverse ``in`` edges)."""
    edge_subsystem = metadata.get("subsystem")
    named = metadata.get("name")
    if edge_subsystem is None and isinstance(named, dict):
        edge_subsystem = next(iter(named), None)
    relation = metadata.get("relation") or (named or {}).get(edge_subsystem or "", "")
    return (edge_subsystem or CONTAINMENT) == subsystem and relation != "in"


def _tree(document: dict[str, Any], subsystem: str = CONTAINMENT):
    """Vertex metadata by position, children by position and the root's position."""
    graph = document.get("graph") or {}
    nodes = graph.get("nodes") or []
    if isinstance(nodes, dict):
        nodes = [dict(node, id=key) for key, node in nodes.items()]
    metadata = [node.get("metadata") or {} for node in nodes]
    index = {str(node["id"]): position for position, node in enumerate(nodes)}
    children: list[list[int]] = [[] for _ in nodes]
    has_parent = bytearray(len(nodes))
    # Edge metadata is usually one shared shape: judge each distinct one once.
    verdicts: dict[int, bool] = {}
    for edge in graph.get("edges") or []:
        meta = edge.get("metadata") or {}
        kept = verdicts.get(id(meta))
        if kept is None:
            kept = verdicts[id(meta)] = _edge_kept(meta, subsystem)
        if not kept:
            continue
        try:
            source, target = index[str(edge["source"])], index[str(edge["target"])]
        except KeyError as missing:
            raise ShowError(f"an edge names vertex {missing} that the graph lacks") from None
        if has_parent[target]:
            continue
        has_parent[target] = 1
        children[source].append(target)
    roots = [position for position in range(len(nodes)) if not has_parent[position]]
    if len(roots) != 1:
        raise ShowError(f"the {subsystem} graph has {len(roots)} roots; expected a tree")
    return metadata, children, roots[0]


def fold(document: dict[str, Any], subsystem: str = CONTAINMENT) -> Box:
    """The containment tree with identical sibling subtrees folded into counted boxes."""
    with acyclic():  # hundreds of thousands of small tuples that never form cycles
        return _fold(document, subsystem)


def _fold(document: dict[str, Any], subsystem: str) -> Box:
    metadata, children, root = _tree(document, subsystem)
    # Breadth-first order, then children before parents: no recursion however deep.
    order = [root]
    for vertex in order:
        order.extend(children[vertex])
    shape_ids: dict[tuple, int] = {}
    shape_of = [0] * len(metadata)
    shapes: list[tuple] = []
    for vertex in reversed(order):
        meta = metadata[vertex]
        below = children[vertex]
        if not below:
            counted: tuple = ()
        elif len(below) == 1:
            counted = ((shape_of[below[0]], 1),)
        else:
            counted = tuple(sorted(Counter(shape_of[child] for child in below).items()))
        shape = (
            str(meta.get("type", "")),
            int(meta.get("size", 1) or 1),
            str(meta.get("unit", "") or ""),
            bool(meta.get("status", 0)),
            counted,
        )
        known = shape_ids.get(shape)
        if known is None:
            known = shape_ids[shape] = len(shapes)
            shapes.append(shape)
        shape_of[vertex] = known

    def build(shape_id: int, count: int) -> Box:
        kind, size, unit, down, counted = shapes[shape_id]
        box = Box(kind, count, size, unit, down)
        # Sockets before cores, up before down, the largest group first.
        box.children = [build(child, n) for child, n in counted]
        box.children.sort(key=lambda b: (_ORDER.get(b.kind, len(_ORDER)), b.down, -b.count))
        return box

    return build(shape_of[root], 1)


_ORDER = {kind: index for index, kind in enumerate(
    ("cluster", "rack", "node", "socket", "numanode", "core", "pu", "gpu", "memory")
)}


def outline(box: Box) -> str:
    """The folded tree as indented text, one box per line."""
    lines: list[str] = []

    def walk(current: Box, depth: int) -> None:
        lines.append("  " * depth + current.label)
        for child in current.children:
            walk(child, depth + 1)

    walk(box, 0)
    return "\n".join(lines) + "\n"


def chain(box: Box) -> str:
    """One line from the top: ``node × 128 → socket × 2 → core × 32, gpu × 4``."""
    parts = [box.label]
    current = box
    while current.children:
        if len(current.children) == 1:
            current = current.children[0]
            parts.append(current.label)
            continue
        leaves = all(not child.children for child in current.children)
        labels = [child.label if leaves else chain(child) for child in current.children]
        parts.append(", ".join(labels))
        break
    return " → ".join(parts)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(box: Box, title: str = "cluster") -> str:
    """Graphviz source for the folded tree."""
    lines = [
        f"digraph {_quote(title)} {{",
        "  rankdir=TB;",
        '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontname="Helvetica"];',
        '  edge [color="#6b7a90"];',
        f'  labelloc=t; fontname="Helvetica"; label={_quote(title)};',
    ]
    counter = [0]

    def walk(current: Box) -> str:
        name = f"b{counter[0]}"
        counter[0] += 1
        fill = ', fillcolor="#f6d5d5"' if current.down else ""
        lines.append(f"  {name} [label={_quote(current.label)}{fill}];")
        for child in current.children:
            child_name = walk(child)
            lines.append(f"  {name} -> {child_name};")
        return name

    walk(box)
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(dot: str, output_format: str) -> bytes:
    """Graphviz ``dot`` output (SVG or PNG) for DOT source."""
    program = shutil.which("dot")
    if program is None:
        raise ShowError(
            "Graphviz's dot is not installed (Debian and Ubuntu: apt-get install graphviz); "
            "use --format dot or --format text"
        )
    result = subprocess.run(
        [program, f"-T{output_format}"], input=dot.encode(), capture_output=True, check=False
    )
    if result.returncode != 0:
        raise ShowError(f"dot failed: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def node_shapes(box: Box) -> list[dict[str, Any]]:
    """Each distinct kind of node, how many there are, and what one holds."""
    shapes = []

    def walk(current: Box, multiplier: int) -> None:
        if current.kind == "node":
            totals: Counter = Counter()
            memory = 0

            def add(inner: Box, factor: int) -> None:
                nonlocal memory
                for child in inner.children:
                    totals[child.kind] += factor * child.count
                    if child.kind == "memory":
                        memory += factor * child.count * child.size
                    add(child, factor * child.count)

            add(current, 1)
            one = Box(current.kind, 1, current.size, current.unit, False, current.children)
            shape: dict[str, Any] = {"count": multiplier * current.count, "shape": chain(one)}
            # Memory is given once, as an amount, rather than as a count of pools.
            shape["per_node"] = {k: v for k, v in sorted(totals.items()) if k != "memory"}
            if memory:
                unit = next(_units(current), "")
                shape["memory"] = f"{memory} {unit}".strip()
            if current.down:
                shape["down"] = True
            shapes.append(shape)
            return
        for child in current.children:
            walk(child, multiplier * current.count)

    walk(box, 1)
    return shapes


def _units(box: Box):
    for child in box.children:
        if child.kind == "memory" and child.unit:
            yield child.unit
        yield from _units(child)


def summary(cluster: Cluster) -> dict[str, Any]:
    """A compact description of a cluster for people and LLM prompts."""
    document = cluster.document(CONTAINMENT)
    box = fold(document)
    nodes = document["graph"]["nodes"]
    nodes = nodes.values() if isinstance(nodes, dict) else nodes
    counts: Counter = Counter()
    properties: Counter = Counter()
    down = 0
    for node in nodes:
        meta = node.get("metadata") or {}
        counts[meta.get("type")] += 1
        if meta.get("type") == "node":
            properties.update(list((meta.get("properties") or {}).keys()))
            down += bool(meta.get("status", 0))
    out: dict[str, Any] = {
        "name": cluster.name,
        "scheduler": cluster.scheduler,
    }
    if cluster.description:
        out["description"] = cluster.description
    if cluster.cost is not None:
        out["cost_per_node_hour"] = cluster.cost
    out["counts"] = dict(sorted(counts.items()))
    if down:
        out["nodes_down"] = down
    out["node_shapes"] = node_shapes(box)
    if properties:
        out["node_properties"] = dict(sorted(properties.items()))
    software: dict[str, set[str]] = defaultdict(set)
    for subsystem in cluster.subsystems():
        if subsystem == CONTAINMENT:
            continue
        for item in software_in(cluster.document(subsystem), subsystem):
            # Packages and modules; the binaries and libraries inside them are details.
            if item.kind in ("package", "module"):
                software[f"{item.name}"].add(item.version or "")
    if software:
        out["software"] = {
            name: sorted(v for v in versions if v) for name, versions in sorted(software.items())
        }
    out["subsystems"] = cluster.subsystems()
    if cluster.metadata:
        out["metadata"] = cluster.metadata
    return out
