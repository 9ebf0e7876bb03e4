"""Building a Fluxion-style JGF document vertex by vertex, for the generators of real sources.

Vertices get ``uniq_id`` equal to their position, paths built from their parent's path and
their own name, and one ``contains`` edge from their parent in the builder's subsystem.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

UP, DOWN = 0, 1


class GraphBuilder:
    """Accumulates vertices and edges of one subsystem tree; ``document()`` returns the JGF."""

    def __init__(self, subsystem: str = "containment") -> None:
        self.subsystem = subsystem
        self.vertices: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []
        self._paths: list[str] = []
        self._edge_metadata = {"subsystem": subsystem, "relation": "contains"}

    def add(
        self,
        kind: str,
        parent: int | None = None,
        *,
        ident: int = 0,
        basename: str | None = None,
        name: str | None = None,
        rank: int = -1,
        size: int = 1,
        unit: str = "",
        properties: Mapping[str, str] | None = None,
        status: int = UP,
        extra: Mapping[str, Any] | None = None,
    ) -> int:
        """Add a vertex under ``parent`` (a position returned earlier) and return its position.

        ``name`` defaults to ``basename`` followed by ``ident``, as Fluxion names vertices;
        it becomes the last component of the vertex's path, so it must not hold a '/'.
        """
        basename = basename or kind
        name = name if name is not None else f"{basename}{ident}"
        if "/" in name or not name:
            raise ValueError(f"a vertex name must be non-empty and hold no '/': {name!r}")
        uniq = len(self.vertices)
        path = (self._paths[parent] if parent is not None else "") + "/" + name
        metadata: dict[str, Any] = {
            "type": kind,
            "basename": basename,
            "name": name,
            "id": ident,
            "uniq_id": uniq,
            "rank": rank,
            "exclusive": False,
            "unit": unit,
            "size": size,
            "paths": {self.subsystem: path},
        }
        if properties:
            metadata["properties"] = {str(k): str(v) for k, v in properties.items()}
        if status != UP:
            metadata["status"] = status
        if extra:
            metadata.update(extra)
        self.vertices.append({"id": str(uniq), "metadata": metadata})
        self._paths.append(path)
        if parent is not None:
            self.edges.append(
                {"source": str(parent), "target": str(uniq), "metadata": self._edge_metadata}
            )
        return uniq

    def path(self, position: int) -> str:
        return self._paths[position]

    def document(self) -> dict[str, Any]:
        return {"graph": {"nodes": self.vertices, "edges": self.edges}}
