"""fractale: translate jobs between workload managers and match them to clusters.

The resource-graph and matching core is compiled Rust (``fractale._core``); this package
re-exports it beside the Python translation layer, the cluster store and the agents.
"""

from fractale._core import (
    Allocation,
    FractaleError,
    JGFError,
    Jobspec,
    JobspecError,
    MatchError,
    MatchResult,
    ResourceGraph,
    Vertex,
    __version__,
)
from fractale.fleet import Fleet
from fractale.store import Store
from fractale.submission import Submission, submit
from fractale.transform import JobSpec, parse, render, transform

__all__ = [
    "Allocation",
    "Jobspec",
    "MatchResult",
    "ResourceGraph",
    "Vertex",
    "FractaleError",
    "JGFError",
    "JobspecError",
    "MatchError",
    "__version__",
    "JobSpec",
    "parse",
    "render",
    "transform",
    "Fleet",
    "Store",
    "Submission",
    "submit",
]
