"""fractale: translate jobs between workload managers and match them to clusters.

The resource-graph and matching core is compiled Rust (``fractale._core``); this package
re-exports it beside the Python translation layer, the cluster store and the agents.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

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
from fractale.renamed import warn_renamed

if TYPE_CHECKING:
    from fractale.fleet import Fleet
    from fractale.store import Store
    from fractale.submission import Submission, submit
    from fractale.transform import BatchJob, parse, render, transform

# The Python layers load on first use, so that `import fractale` (and `fractale --help`)
# stays quick: name -> the module defining it.
_LAZY = {
    "BatchJob": "fractale.transform",
    "parse": "fractale.transform",
    "render": "fractale.transform",
    "transform": "fractale.transform",
    "Fleet": "fractale.fleet",
    "Store": "fractale.store",
    "Submission": "fractale.submission",
    "submit": "fractale.submission",
}

# Old names kept for one release: old -> new.
_RENAMED = {"JobSpec": "BatchJob"}


def __getattr__(name: str) -> Any:
    if name in _RENAMED:
        return warn_renamed(__name__, name, _RENAMED[name])
    if name not in _LAZY:
        raise AttributeError(f"module 'fractale' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


class _Package(types.ModuleType):
    """``fractale.transform`` names the function, not the subpackage of the same name:
    importing the subpackage, which binds it on this package, leaves the name to the
    function (found by ``__getattr__``)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "transform" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

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
    "BatchJob",
    "parse",
    "render",
    "transform",
    "Fleet",
    "Store",
    "Submission",
    "submit",
]
