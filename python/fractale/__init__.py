"""fractale: translate jobs between workload managers and match them to clusters.

The resource-graph and matching core is compiled Rust (``fractale._core``); this package
re-exports it beside the Python translation layer, the cluster store and the agents.
"""

from fractale._core import (
    FractaleError,
    JGFError,
    JobspecError,
    MatchError,
    __version__,
)
from fractale.transform import JobSpec, parse, render, transform

__all__ = [
    "FractaleError",
    "JGFError",
    "JobspecError",
    "MatchError",
    "__version__",
    "JobSpec",
    "parse",
    "render",
    "transform",
]
