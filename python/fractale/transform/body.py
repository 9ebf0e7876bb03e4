"""The script body carried across managers: launcher lines rewritten for the target's
launcher and job variables renamed to the target's, line by line, losses reported; the
commands of another manager a line runs are reported (the target has none of them).
"""

from __future__ import annotations

import re

from fractale.transform import launchers, registry, variables
from fractale.transform.report import Loss


def translate(script: str, source: str | None, target: str, losses: list[Loss]) -> str:
    """``script`` (written for ``source``) as ``target`` would run it.

    Loss line numbers count lines of the script body; ``fractale.transform.transform`` maps
    them back to the source file.
    """
    if not script or source is None or source == target:
        return script
    out: list[str] = []
    lines = script.split("\n")
    number = 0
    while number < len(lines):
        line = lines[number]
        first = number + 1
        # A launch continued with trailing backslashes is read as one line.
        while line.endswith("\\") and number + 1 < len(lines) and _launches(line):
            number += 1
            line = line[:-1].rstrip() + " " + lines[number].strip()
        number += 1
        line = launchers.translate_line(line, first, target, losses)
        report_commands(line, first, target, losses)
        out.append(variables.translate_line(line, first, source, target, losses))
    return "\n".join(out)


# Where a command starts: the line's start (after assignments), or after | ; & ( ` $( && ||.
_COMMAND = re.compile(r"(?:^|[|;&(`]|\$\()\s*(?:[A-Za-z_]\w*=\S*\s+)*([A-Za-z][\w.-]*)")


def report_commands(line: str, number: int, target: str, losses: list[Loss]) -> None:
    """Report the commands of another manager that ``line`` runs (``scontrol`` in a script
    written for PBS): ``target`` has none of them."""
    goal = registry.get(target)
    for name in dict.fromkeys(_COMMAND.findall(line.split("#", 1)[0])):
        if name in goal.commands:
            continue
        owners = [m.name for m in registry.all_managers() if name in m.commands]
        if owners:
            losses.append(Loss(f"{name} is a command of {' and '.join(owners)}; {target} "
                               "does not have it", line=number, directive=name,
                               stage="render"))


def _launches(line: str) -> bool:
    return launchers.launcher_at(line) is not None
