"""Old public names kept for one release after a rename.

A module that renamed something public gives itself ``__getattr__ = old_names(__name__,
{OLD: NEW})``; a function whose keyword was renamed reads it with ``old_keyword``; a class
whose attribute was renamed keeps ``OLD = old_attribute(...)``. The old name still answers,
with the new one's value, and each use warns (``DeprecationWarning``) naming the new one.
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


def old_keyword(function: str, old: str, new: str, old_value: Any, new_value: Any,
                default: Any) -> Any:
    """The value of ``function``'s keyword ``new``, which callers may still give under its
    old name ``old`` (``old_value``, None when not given), warning when they do; TypeError
    when both are given and disagree."""
    if old_value is None:
        return new_value
    warnings.warn(f"{function}({old}=...) is deprecated; use {new}=", DeprecationWarning,
                  stacklevel=3)
    if new_value not in (default, old_value):
        raise TypeError(f"{function}() got {new}={new_value!r} and its old name "
                        f"{old}={old_value!r}; give {new} only")
    return old_value


def old_attribute(owner: str, old: str, new: str) -> property:
    """A read-only property answering ``owner.old`` with ``new``'s value, warning."""

    def get(self: Any) -> Any:
        warnings.warn(f"{owner}.{old} is deprecated; use {owner}.{new}", DeprecationWarning,
                      stacklevel=2)
        return getattr(self, new)

    return property(get, doc=f"Deprecated name of ``{new}``.")
