"""The fleet: which registered clusters can run a job, which one to pick, and its batch script.

``Fleet(store).satisfy(job)`` answers for every cluster whether the job's resources fit its
containment graph (with the core's reason when they do not) and whether each software
requirement (``attributes.system.requires``) is met by its software subsystems, comparing
versions. ``select`` picks one fitting cluster by a rule (``rules``); ``script`` writes
the job for the chosen cluster's scheduler with the ``spack load``/``module load`` lines its
software needs. ``satisfy(job, when=True)`` also answers when the job would start on each
cluster that can run it, planned around the jobs of the cluster's saved snapshot
(``cluster state --save``); ``select(job, "earliest-start")`` picks the cluster where it
starts first.

The package's rooms: ``requirements`` (software requirements and versions), ``job`` (reading
a job from a path or text), ``rules`` (the selection rules and their registry),
``answers`` (what the fleet answers), ``clusters`` (the fleet itself).
"""

from fractale.fleet.answers import ClusterAnswer, Script, Selection, Start, no_fit_message
from fractale.fleet.clusters import Fleet, cluster_software, render_script
from fractale.fleet.job import Job, JobSource, fixed_node_count
from fractale.fleet.requirements import (
    Requirement,
    RequirementCheck,
    VersionSpec,
    check_requirement,
    requirements_of,
    version_key,
)
from fractale.fleet.rules import CAPACITY_TYPES, RULE_NAMES, RULES, Rule
from fractale.renamed import old_names

# Old names kept for one release.
__getattr__ = old_names(__name__, {"POLICIES": "RULE_NAMES"})

__all__ = [
    "CAPACITY_TYPES",
    "RULE_NAMES",
    "RULES",
    "ClusterAnswer",
    "Fleet",
    "Job",
    "JobSource",
    "Requirement",
    "RequirementCheck",
    "Rule",
    "Script",
    "Selection",
    "Start",
    "VersionSpec",
    "check_requirement",
    "cluster_software",
    "fixed_node_count",
    "no_fit_message",
    "render_script",
    "requirements_of",
    "version_key",
]
