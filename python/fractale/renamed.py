"""Old public names kept for one release after a rename.

A module that renamed something public gives itself ``__getattr__ = old_names(__name__,
{OLD: NEW})``: the old name still answers, with the new one's object, and each use warns
(``DeprecationWarning``) naming the new spelling.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any


def warn_renamed(module: str, old: str, new: str) -> Any:
    """``module.new``, after warning the code that asked for ``module.old`` (the caller's
    caller: this is called from a module ``__getattr__``)."""
    warnings.warn(f"{module}.{old} is deprecated; use {module}.{new}", DeprecationWarning,
                  stacklevel=3)
    return getattr(importlib.import_module(module), new)


def old_names(module: str, renamed: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``module`` answering its old names (``renamed`` maps
    each to its new name) and refusing any other, as Python would."""

    def __getattr__(name: str) -> Any:
        if name not in renamed:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        return warn_renamed(module, name, renamed[name])

    return __getattr__
