"""The script body carried across managers: launcher lines rewritten for the target's
launcher and job variables renamed to the target's, line by line, losses reported.
"""

from __future__ import annotations

from fractale.transform import launchers, variables
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
        out.append(variables.translate_line(line, first, source, target, losses))
    return "\n".join(out)


def _launches(line: str) -> bool:
    return launchers.launcher_at(line) is not None
