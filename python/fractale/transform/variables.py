"""The job environment variables a script reads, renamed from one manager's to another's.

Each concept is one thing a running job can ask about (its id, its node list, its array
index). Which variable a manager sets for a concept lives on the manager's class
(``Manager.variables`` and ``Manager.variable_aliases``), with the prefixes of the rest of
its documented variables (``Manager.variable_prefixes``); this module only renames. A
variable of any manager's family found in a script (a ``$SLURM_*`` in a Moab script too)
is renamed when its concept is known, kept when the target sets it, and reported otherwise.
"""

from __future__ import annotations

import re

from fractale.transform import registry
from fractale.transform.report import Loss

# Every concept a manager may name in its ``variables``.
CONCEPTS = ("job_id", "job_name", "node_count", "task_count", "tasks_per_node", "node_list",
            "node_file", "submit_dir", "queue", "account", "array_index", "array_id",
            "cpus_per_task")


def concepts(manager: registry.Manager) -> dict[str, str]:
    """This manager's variable -> concept."""
    names = {var: concept for concept, var in manager.variables.items()}
    names.update(manager.variable_aliases)
    return names


def prefixes(manager: registry.Manager) -> tuple[str, ...]:
    """The prefixes of the variables ``manager`` documents: declared on its class, or the
    prefix (``FLUX_``) its concept variables share."""
    if manager.variable_prefixes:
        return tuple(manager.variable_prefixes)
    heads = [name.split("_", 1)[0] + "_" for name in manager.variables.values() if "_" in name]
    return tuple(sorted({head for head in heads if heads.count(head) > 1}))


def family(name: str) -> registry.Manager | None:
    """The manager whose documented variables ``name`` is one of, if any, told by the
    manager's prefixes: a bare name another manager sets (Grid Engine's ``QUEUE``,
    ``JOB_NAME``) is as likely the script's own variable."""
    for manager in registry.all_managers():
        if name.startswith(prefixes(manager)):
            return manager
    return None


_REFERENCE = re.compile(r"\$(\{)?([A-Za-z_][A-Za-z0-9_]*)")


def translate_line(line: str, number: int, source: str, target: str,
                   losses: list[Loss]) -> str:
    """Rename the job variables ``line`` reads from ``source``'s (or another manager's)
    names to ``target``'s; report those ``target`` does not set."""
    origin = registry.get(source)
    goal = registry.get(target)
    own = concepts(origin)
    target_sets = concepts(goal)
    target_prefixes = prefixes(goal)

    def rename(match: re.Match[str]) -> str:
        name = match.group(2)
        if name in target_sets:
            return match.group(0)
        manager = origin if name in own else family(name)
        if manager is None:
            return match.group(0)
        concept = concepts(manager).get(name)
        replacement = goal.variables.get(concept) if concept else None
        if replacement is not None:
            return "$" + (match.group(1) or "") + replacement
        if manager is goal or (concept is None and name.startswith(target_prefixes)):
            return match.group(0)
        what = concept.replace("_", " ") if concept else f"{manager.name}'s {name}"
        losses.append(Loss(f"{target} sets no variable for {what}", line=number,
                           directive=f"${name}", stage="render"))
        return match.group(0)

    return _REFERENCE.sub(rename, line)
