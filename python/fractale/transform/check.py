"""What a ``BatchJob`` must hold before any manager writes it.

A spec read from a script is right by construction; one built in Python (or edited) may hold
a list where a name goes, a node count of zero, a begin time no manager reads or a shebang
that would put a line of its own into the script. Each is refused here, naming the field,
before any writer sees it.
"""

from __future__ import annotations

import dataclasses
import re

from fractale.errors import TranslateError
from fractale.transform import units
from fractale.transform.model import BatchJob, type_problems, value_problems

# One absolute interpreter path and plain arguments: what a "#!" line and a container
# command both take without quoting.
_SHELL = re.compile(r"/[A-Za-z0-9_./+-]*(?: +[A-Za-z0-9_./+=:,-]+)*")


def problems(spec: BatchJob) -> list[tuple[str, str]]:
    """(field, reason) for every field of ``spec`` that cannot be written; empty when none."""
    values = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)}
    wrong = [(name, reason) for name, value in values.items()
             for reason in type_problems({name: value})]
    if wrong:
        # The checks below read values as their types: wrong types are reported alone.
        return wrong
    found = [(name, reason) for name, value in values.items()
             for reason in value_problems({name: value})]
    if not _SHELL.fullmatch(spec.shell):
        found.append(("shell", f"shell must be an absolute path with plain arguments, "
                               f"not {spec.shell!r}"))
    for name, normalize, form in (
            ("array", units.read_array, "indexes such as 1-100:2%10 or 1,3,5-7"),
            ("begin", units.read_begin, "an ISO time YYYY-MM-DDTHH:MM:SS, or +SECONDS")):
        value = values[name]
        if value is None:
            continue
        try:
            normalized = normalize(value)
        except ValueError as err:
            found.append((name, f"{name}: {err} ({form})"))
            continue
        if normalized != value:
            found.append((name, f"{name} {value!r} is not in the model's form: write "
                                f"{normalized!r}"))
    return found


def check(spec: BatchJob) -> None:
    """Raise ``TranslateError`` naming every field of ``spec`` no manager could write."""
    if not isinstance(spec, BatchJob):
        raise TranslateError(f"expected a BatchJob to write, not {type(spec).__name__}",
                             expected="a fractale.BatchJob")
    found = problems(spec)
    if found:
        raise TranslateError("the job cannot be written: " + "; ".join(r for _, r in found),
                             location=", ".join(dict.fromkeys(name for name, _ in found)),
                             expected="values of the types and ranges BatchJob documents")
