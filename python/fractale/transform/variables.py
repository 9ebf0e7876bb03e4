"""The job environment variables a script reads, renamed from one manager's to another's.

Each concept is one thing a running job can ask about (its id, its node list, its array
index). Which variable a manager sets for a concept lives on the manager's class
(``Manager.variables`` and ``Manager.variable_aliases``); this module only renames.
"""

from __future__ import annotations

import re

from fractale.transform import registry
from fractale.transform.report import Loss

# Every concept a manager may name in its ``variables``.
CONCEPTS = ("job_id", "job_name", "node_count", "task_count", "node_list", "node_file",
            "submit_dir", "queue", "array_index", "array_id", "cpus_per_task")


def _concepts(manager: registry.Manager) -> dict[str, str]:
    """This manager's variable -> concept."""
    names = {var: concept for concept, var in manager.variables.items()}
    names.update(manager.variable_aliases)
    return names


_REFERENCE = re.compile(r"\$(\{)?([A-Za-z_][A-Za-z0-9_]*)")


def translate_line(line: str, number: int, source: str, target: str,
                   losses: list[Loss]) -> str:
    """Rename the job variables ``line`` reads from ``source``'s names to ``target``'s."""
    concepts = _concepts(registry.get(source))
    if not concepts:
        return line
    target_vars = registry.get(target).variables

    def rename(match: re.Match[str]) -> str:
        name = match.group(2)
        concept = concepts.get(name)
        if concept is None:
            return match.group(0)
        replacement = target_vars.get(concept)
        if replacement is None:
            losses.append(Loss(f"{target} sets no variable for {concept.replace('_', ' ')}",
                               line=number, directive=f"${name}", stage="render"))
            return match.group(0)
        return "$" + (match.group(1) or "") + replacement

    return _REFERENCE.sub(rename, line)
