"""Typed interface of fractale's compiled core."""

from collections.abc import Iterator
from typing import Any, Literal

__version__: str

Policy = Literal["first", "low", "high"]
Status = Literal["allocated", "busy", "unsatisfiable", "satisfiable"]

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

class Jobspec:
    """A validated canonical jobspec (RFC 14; RFC 25 rules when ``version`` is 1)."""

    @staticmethod
    def from_path(path: str) -> Jobspec: ...
    @staticmethod
    def from_str(text: str, source: str | None = None) -> Jobspec: ...
    @staticmethod
    def from_dict(document: dict[str, Any]) -> Jobspec: ...
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
    def counts(self) -> dict[str, int]:
        """The least amount of each resource type the request needs in total."""
    def to_dict(self) -> dict[str, Any]: ...

class Vertex:
    """One vertex of an allocation."""

    path: str
    type: str
    name: str
    id: int
    rank: int
    exclusive: bool
    size: int

class Allocation:
    """The vertices one successful ``allocate`` took."""

    @property
    def jobid(self) -> int: ...
    @property
    def resources(self) -> list[Vertex]: ...
    def counts(self) -> dict[str, int]:
        """Amount taken per resource type (exclusive vertices and their sizes)."""
    def nodes(self) -> list[str]:
        """Names of the ``node`` vertices the allocation touches."""
    def to_dict(self) -> dict[str, Any]: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[Vertex]: ...

class MatchResult:
    """The outcome of ``satisfiable`` or ``allocate``; truthy when it succeeded."""

    @property
    def status(self) -> Status: ...
    @property
    def reason(self) -> str | None:
        """Why it failed, naming the resource level that fell short."""
    @property
    def allocation(self) -> Allocation | None: ...
    def __bool__(self) -> bool: ...
    def to_dict(self) -> dict[str, Any]: ...

class ResourceGraph:
    """A JGF resource graph, immutable once loaded, with its allocations kept beside it."""

    @staticmethod
    def from_jgf(source: str | dict[str, Any], *, name: str | None = None) -> ResourceGraph:
        """Load from a path, a JSON string or a parsed document."""
    def satisfiable(self, jobspec: Jobspec | str | dict[str, Any]) -> MatchResult: ...
    def allocate(
        self, jobspec: Jobspec | str | dict[str, Any], policy: Policy = "first"
    ) -> MatchResult: ...
    def release(self, allocation: Allocation | int) -> None: ...
    def summary(self) -> dict[str, int]:
        """How many vertices of each type the graph holds."""
    def free(self) -> dict[str, int]:
        """How many of each type no allocation holds now."""
    def to_jgf(self) -> dict[str, Any]: ...
    def subsystems(self) -> list[str]: ...
    @property
    def vertex_count(self) -> int: ...
    @property
    def edge_count(self) -> int: ...
