"""Directives passed through to the target verbatim (``--extra 'slurm:--constraint=x'``),
as PSI/J, Parsl and dask-jobqueue let their users add what no common model holds.

Each entry names its manager; only the target's are written, after the job's own
directives (before a heterogeneous job's second component, so they apply to the whole
job). An entry is checked before anything is written: one option of the manager's own
syntax (``-x``, ``--name=value`` or an option and one value), balanced quotes, and no
newline, control character, backslash or ``#`` that could end the directive or open
another one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from fractale.errors import TranslateError
from fractale.transform.directives import Context, DirectiveManager
from fractale.transform.registry import get, names

_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\\#`]")


def parse(entries: Iterable[str]) -> dict[str, list[str]]:
    """``MANAGER:DIRECTIVE`` entries checked and grouped by manager."""
    out: dict[str, list[str]] = {}
    for entry in entries:
        manager, colon, directive = entry.partition(":")
        if not colon or not manager.strip():
            raise TranslateError(f"--extra {entry!r} names no manager",
                                 expected="MANAGER:DIRECTIVE, e.g. slurm:--constraint=haswell")
        target = get(manager.strip())
        out.setdefault(target.name, []).append(check(target.name, directive.strip()))
    return out


def check(manager: str, directive: str) -> str:
    """``directive`` when it is one option in ``manager``'s directive syntax."""
    target = get(manager)
    if not isinstance(target, DirectiveManager):
        raise TranslateError(f"--extra for {manager}: a {target.description} has no "
                             "directives to add", expected="a manager with batch directives, "
                             "one of " + ", ".join(n for n in names()
                                                  if isinstance(get(n), DirectiveManager)))
    expected = f"one {manager} option, e.g. -x, --name=value or --name value"
    if not directive or _FORBIDDEN.search(directive):
        raise TranslateError(f"--extra {manager}:{directive!r}: empty, or holds a newline, "
                             "control character, backslash, backquote or #",
                             expected=expected)
    try:
        words = target.tokenize(directive, Context(target))
    except TranslateError:
        raise TranslateError(f"--extra {manager}:{directive}: unbalanced quotes",
                             expected=expected) from None
    first = words[0] if words else ""
    name, value, option = target.match_option(first)
    takes = 0 if value is not None else int(option is None or option.codec.takes_value)
    if (not re.fullmatch(r"--?[A-Za-z][\w.-]*(=.*)?", first) or len(words) > 1 + takes
            or any(word.startswith("-") for word in words[1:])):
        raise TranslateError(f"--extra {manager}:{directive}: not one {manager} option",
                             expected=expected)
    if option is not None and option.codec.takes_value and value is None and len(words) < 2:
        raise TranslateError(f"--extra {manager}:{directive}: {name} needs a value",
                             expected=expected)
    return directive


def add(text: str, manager: str, directives: list[str]) -> str:
    """``text`` (a batch script written for ``manager``) with ``directives`` added after
    its own, before a heterogeneous job's next component."""
    if not directives:
        return text
    target = get(manager)
    assert isinstance(target, DirectiveManager)
    lines = text.split("\n")
    at = 1 if lines and lines[0].startswith("#!") else 0
    while at < len(lines) and target.directive_text(lines[at]) is not None and not (
            target.starts_component(lines[at])):
        at += 1
    lines[at:at] = [f"{target.prefix} {directive}" for directive in directives]
    return "\n".join(lines)
