"""Typed interface of fractale's compiled core."""

import os
from collections.abc import Iterator, Sequence
from typing import Any, Literal, final

__version__: str

__all__ = [
    "__version__",
    "FractaleError",
    "JGFError",
    "JobspecError",
    "MatchError",
    "Jobspec",
    "ResourceGraph",
    "MatchResult",
    "Allocation",
    "Vertex",
    "CompiledFleet",
    "REQUIREMENT_KEYS",
    "SOFTWARE_TYPES",
    "check_jobspec",
    "load_yaml",
    "indent_json",
]

_Policy = Literal["first", "low", "high"]
_Status = Literal["allocated", "reserved", "busy", "unsatisfiable", "satisfiable"]

class FractaleError(Exception):
    """Base class of every fractale error."""

    file: str | None
    location: str | None
    expected: str | None

class JGFError(FractaleError):
    """A JSON Graph Format document that is not a valid resource graph."""

class JobspecError(FractaleError):
    """A jobspec that breaks the canonical jobspec rules."""

class MatchError(FractaleError):
    """A matching request that cannot be acted on."""

@final
class Jobspec:
    """A validated canonical jobspec (RFC 14; RFC 25 rules when ``version`` is 1)."""

    @staticmethod
    def from_path(path: str | os.PathLike[str], *, strict: bool = True) -> Jobspec:
        """Read YAML or JSON. ``strict=False`` reads version 1 as Fluxion does (RFC 14 only)."""
    @staticmethod
    def from_str(text: str, source: str | None = None, *, strict: bool = True) -> Jobspec: ...
    @staticmethod
    def from_dict(
        document: dict[str, Any], source: str | None = None, *, strict: bool = True
    ) -> Jobspec: ...
    @property
    def version(self) -> int: ...
    @property
    def duration(self) -> float | None:
        """``attributes.system.duration`` in seconds, when given."""
    @property
    def requires(self) -> list[dict[str, Any]]:
        """``attributes.system.requires``: software requirements, as given."""
    @property
    def constraints(self) -> dict[str, Any] | None: ...
    @property
    def fixed_node_count(self) -> int | None:
        """How many nodes any match takes when the node counts (and every count above them)
        are fixed; None when a range leaves it to the match or no node is named."""
    def counts(self) -> dict[str, int]:
        """The least amount of each resource type the request needs in total."""
    def to_dict(self) -> dict[str, Any]: ...

@final
class Vertex:
    """One vertex of an allocation."""

    path: str
    type: str
    name: str
    id: int
    rank: int
    exclusive: bool
    size: int
    def to_dict(self) -> dict[str, Any]: ...

@final
class Allocation:
    """The vertices one job holds, and when: over ``[at, end)`` seconds from time zero."""

    @property
    def jobid(self) -> int: ...
    @property
    def at(self) -> int:
        """When the job starts, in seconds from the graph's time zero (0: now)."""
    @property
    def end(self) -> int | None:
        """When it gives its vertices back; None for a job without a duration."""
    @property
    def resources(self) -> list[Vertex]: ...
    def counts(self) -> dict[str, int]:
        """Amount taken per resource type (exclusive vertices and their sizes)."""
    def nodes(self) -> list[str]:
        """Names of the ``node`` vertices the allocation touches."""
    def to_dict(self) -> dict[str, Any]: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[Vertex]: ...

@final
class MatchResult:
    """The outcome of ``satisfiable``, ``allocate`` or ``reserve``; truthy when it succeeded."""

    @property
    def status(self) -> _Status: ...
    @property
    def reason(self) -> str | None:
        """Why it failed, naming the resource level that fell short."""
    @property
    def allocation(self) -> Allocation | None: ...
    @property
    def at(self) -> int | None:
        """When the job starts (seconds from the graph's time zero), when it was placed."""
    def __bool__(self) -> bool: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class ResourceGraph:
    """A JGF resource graph, immutable once loaded, with its allocations kept beside it."""

    @staticmethod
    def from_jgf(
        jgf: str | os.PathLike[str] | dict[str, Any],
        /,
        *,
        source: str | None = None,
        name: str | None = None,
        forest: bool = False,
    ) -> ResourceGraph:
        """Load from a path, a JSON string or a parsed document; ``source`` names where
        text or a document came from (errors carry it, and it is the default ``name``);
        ``forest`` accepts a software graph whose trees hang off no root (compspec's)."""
    @property
    def name(self) -> str | None: ...
    def satisfiable(
        self, jobspec: Jobspec | str | dict[str, Any], policy: _Policy = "first"
    ) -> MatchResult: ...
    def allocate(
        self, jobspec: Jobspec | str | dict[str, Any], policy: _Policy = "first"
    ) -> MatchResult: ...
    def reserve(
        self, jobspec: Jobspec | str | dict[str, Any], policy: _Policy = "first"
    ) -> MatchResult:
        """Allocate now, or else reserve from the earliest time the request fits for its whole
        duration around every job planned (status ``allocated`` or ``reserved``, ``at``)."""
    def hold(
        self,
        nodes: dict[str, int | None],
        start: int = 0,
        end: int | None = None,
        policy: _Policy = "first",
    ) -> Allocation:
        """Record a job its scheduler placed: cores held per node name (None: the whole
        node) over ``[start, end)`` seconds from time zero (``end`` None: for good)."""
    def release(self, allocation: Allocation | int) -> None:
        """Give back an allocation, or cancel a reservation (its span is free at once)."""
    def jobs(self) -> list[int]:
        """Job ids of the jobs held: allocated now or reserved."""
    def summary(self) -> dict[str, int]:
        """How many vertices of each type the graph holds."""
    def totals(self) -> dict[str, int]:
        """Total size of each type (memory in its unit, for example)."""
    def free(self) -> dict[str, int]:
        """How much of each type no job holds now (time zero)."""
    def to_jgf(self) -> dict[str, Any]: ...
    def subsystems(self) -> list[str]: ...
    @property
    def vertex_count(self) -> int: ...
    @property
    def edge_count(self) -> int: ...
    def __len__(self) -> int: ...

@final
class CompiledFleet:
    """A cluster store's containment graphs compiled for matching across the fleet."""

    @staticmethod
    def open(
        clusters: Sequence[tuple[str, str | os.PathLike[str]]],
        cache: str | os.PathLike[str] | None = None,
    ) -> CompiledFleet:
        """Compile ``(name, containment graph path)`` pairs, reusing ``cache`` for every
        cluster whose graph file has not changed since it was written."""
    @staticmethod
    def open_store(
        root: str | os.PathLike[str],
        names: Sequence[str] | None,
        cache: str | os.PathLike[str] | None,
        *,
        config: str,
        containment: str,
        skip: Sequence[str],
    ) -> CompiledFleet:
        """The clusters of the store at ``root`` (``names``, or every folder holding a
        ``config`` file), compiled through ``cache``, which also keeps each cluster's
        record of its ``config`` and other graph files while they are unchanged."""
    def records(self) -> list[tuple[str, tuple[bytes, ...] | None]]:
        """``(name, lines of its record)`` per cluster, equal lines one object; None when its
        files changed since it was kept."""
    def keep_records(self, records: Sequence[tuple[str, bytes]]) -> None:
        """Keep records for the clusters whose files are as this fleet found them."""
    def counts(self) -> dict[str, dict[str, int]]:
        """Vertices per type of every cluster's containment graph."""
    def satisfiable(
        self, jobspec: Jobspec | str | dict[str, Any], per_node: bool = False
    ) -> list[tuple[str, bool, str | None]]:
        """``(name, fits, reason)`` per cluster, with every resource free."""
    def taken(
        self, jobspec: Jobspec | str | dict[str, Any], per_node: bool = False
    ) -> list[tuple[str, dict[str, int] | None, int, str | None]]:
        """``(name, held, nodes, reason)``: what allocating on each idle cluster would hold
        per type, and how many nodes it would touch."""
    def graph(self, name: str, per_node: bool = False) -> ResourceGraph:
        """Cluster ``name``'s full containment graph; ``per_node`` removes the levels
        between each node and its resources (sockets, NUMA nodes, caches)."""
    def totals(self) -> dict[str, dict[str, int]]:
        """Size totals per type of every cluster's containment graph."""
    @property
    def rebuilt(self) -> int: ...
    @property
    def shape_count(self) -> int: ...
    @property
    def rehashed(self) -> int:
        """How many files were read and hashed when this fleet was opened: those whose
        status changed, or was taken too soon after they changed to be trusted."""
    def names(self) -> list[str]: ...
    def __len__(self) -> int: ...

# The keys a software requirement may have, and the software vertex types `type` may name.
REQUIREMENT_KEYS: list[str]
SOFTWARE_TYPES: list[str]

def load_yaml(text: str, source: str | None = None) -> Any:
    """YAML read as the core reads a jobspec's: PyYAML's safe loader's values, or a
    ``JobspecError`` at the line and column where it stops being what JSON can hold."""

def indent_json(text: str, indent: int = 2) -> str:
    """``text``, written by ``json.dumps(value)``, as ``json.dumps(value, indent=indent)``
    writes it (the same bytes, laid out in the core)."""

def check_jobspec(
    text: str, source: str | None = None, *, lenient: bool = False
) -> tuple[int, dict[str, tuple[int, int | None]]]:
    """Validate jobspec text by RFC 14/25 (or, ``lenient``, as flux-core accepts it); its
    version and, per type (slots included), the least and most it asks for."""
