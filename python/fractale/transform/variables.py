"""The job environment variables a script reads, as one table of concepts by manager.

Each row is one thing a running job can ask about (its id, its node list, its array index);
each column the variable a manager sets for it, or ``None`` where it sets none. Adding a
manager or a concept is one edit to ``VARIABLES``.
"""

from __future__ import annotations

import re

from fractale.transform.report import Loss

_MANAGERS = ("slurm", "flux", "pbs", "lsf", "oar", "cobalt", "moab", "kubernetes")

# concept -> variable per manager, in _MANAGERS order.
_TABLE: dict[str, tuple[str | None, ...]] = {
    #                 slurm                  flux              pbs              lsf
    #                 oar                    cobalt            moab             kubernetes
    "job_id": ("SLURM_JOB_ID", "FLUX_JOB_ID", "PBS_JOBID", "LSB_JOBID",
               "OAR_JOB_ID", "COBALT_JOBID", "MOAB_JOBID", None),
    "job_name": ("SLURM_JOB_NAME", None, "PBS_JOBNAME", "LSB_JOBNAME",
                 "OAR_JOB_NAME", None, "MOAB_JOBNAME", None),
    "node_count": ("SLURM_JOB_NUM_NODES", "FLUX_JOB_NNODES", "PBS_NUM_NODES", None,
                   None, "COBALT_PARTSIZE", "MOAB_NODECOUNT", None),
    "task_count": ("SLURM_NTASKS", "FLUX_JOB_SIZE", "PBS_NP", "LSB_DJOB_NUMPROC",
                   None, None, "MOAB_PROCCOUNT", None),
    "node_list": ("SLURM_JOB_NODELIST", None, None, "LSB_HOSTS",
                  None, None, "MOAB_NODELIST", None),
    "node_file": (None, None, "PBS_NODEFILE", "LSB_DJOB_HOSTFILE",
                  "OAR_NODE_FILE", "COBALT_NODEFILE", None, None),
    "submit_dir": ("SLURM_SUBMIT_DIR", None, "PBS_O_WORKDIR", "LS_SUBCWD",
                   "OAR_WORKDIR", None, None, None),
    "queue": ("SLURM_JOB_PARTITION", None, "PBS_QUEUE", "LSB_QUEUE",
              "OAR_JOB_QUEUE", None, "MOAB_CLASS", None),
    "array_index": ("SLURM_ARRAY_TASK_ID", None, "PBS_ARRAY_INDEX", "LSB_JOBINDEX",
                    "OAR_ARRAY_INDEX", None, "MOAB_JOBARRAYINDEX", "JOB_COMPLETION_INDEX"),
    "array_id": ("SLURM_ARRAY_JOB_ID", None, "PBS_ARRAY_ID", None,
                 "OAR_ARRAY_ID", None, None, None),
    "cpus_per_task": ("SLURM_CPUS_PER_TASK", None, "NCPUS", None,
                      None, None, None, None),
}

# Other spellings a manager also sets for a concept (read, never written).
_ALIASES: dict[str, dict[str, str]] = {
    "slurm": {"SLURM_JOBID": "job_id", "SLURM_NNODES": "node_count",
              "SLURM_NPROCS": "task_count", "SLURM_NODELIST": "node_list"},
    "pbs": {"PBS_ARRAYID": "array_index", "PBS_TASKNUM": "task_count"},
    "oar": {"OAR_JOBID": "job_id", "OAR_NODEFILE": "node_file", "OAR_O_WORKDIR": "submit_dir"},
    "moab": {"PBS_JOBID": "job_id", "PBS_O_WORKDIR": "submit_dir", "PBS_NODEFILE": "node_file"},
}

VARIABLES: dict[str, dict[str, str | None]] = {
    manager: {concept: row[i] for concept, row in _TABLE.items()}
    for i, manager in enumerate(_MANAGERS)
}


def _concepts(manager: str) -> dict[str, str]:
    """This manager's variable -> concept."""
    names = {var: concept for concept, var in VARIABLES.get(manager, {}).items() if var}
    names.update(_ALIASES.get(manager, {}))
    return names


_REFERENCE = re.compile(r"\$(\{)?([A-Za-z_][A-Za-z0-9_]*)")


def translate_line(line: str, number: int, source: str, target: str,
                   losses: list[Loss]) -> str:
    """Rename the job variables ``line`` reads from ``source``'s names to ``target``'s."""
    concepts = _concepts(source)
    if not concepts:
        return line
    target_vars = VARIABLES.get(target, {})

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
