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

# Imported here, not on first use: ``fractale.transform`` names this function, not the
# subpackage of the same name, only when the subpackage is imported before it is bound.
from fractale.transform import JobSpec, parse, render, transform

# The store, the fleet and submitting load on first use, so that `fractale --help` stays quick.
_LAZY = {"Fleet": "fractale.fleet", "Store": "fractale.store",
         "Submission": "fractale.submission", "submit": "fractale.submission"}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'fractale' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value

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
