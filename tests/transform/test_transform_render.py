"""One hybrid MPI+OpenMP GPU job written for every manager, pinned line by line in
tests/transform/rendered/ (read them to see how each manager spells the same job)."""

from pathlib import Path

import pytest
from fractale.transform import BatchJob, write
from fractale.transform.registry import names

RENDERED = Path(__file__).parent / "rendered"

HYBRID = BatchJob(
    name="hybrid-sim", account="phys42", queue="batch", nodes=2, tasks_per_node=4,
    cpus_per_task=8, gpus_per_node=4, memory_per_node=65536, walltime=5400,
    output="sim-{{id}}.out", mail_user="ana@example.org", mail_events=["end", "fail"],
    script="module load sim\nsrun -N 2 -n 8 -c 8 ./sim --steps 100\n", dialect="slurm",
)

# What each manager cannot say of that job, as its renderer reports it.
LOST = {
    "slurm": set(),
    # A batch script allocates slots: 4 per node on 2 nodes, 1 GPU each.
    "flux": {"tasks", "tasks_per_node", "gpus_per_node", "gpus_per_task", "memory_per_node",
             "mail_user", "mail_events"},
    "jobspec": {"gpus_per_node", "gpus_per_task", "memory_per_node", "mail_user",
                "mail_events"},
    # PBS has no job-id placeholder for output paths.
    "pbs": {"output"},
    "lsf": {"nodes", "tasks", "memory_per_node", "memory_per_cpu", "mail_events"},
    "oar": {"tasks_per_node", "cpus_per_task", "memory_per_node"},
    "cobalt": {"tasks_per_node", "cpus_per_task", "gpus_per_node", "memory_per_node",
               "mail_events"},
    "moab": {"tasks_per_node", "cpus_per_task", "output"},
    # Grid Engine counts slots (8 tasks of 8 CPUs are 64), placed by the PE; 4 GPUs on a
    # host of 32 slots are no whole number per slot.
    "gridengine": {"nodes", "tasks", "tasks_per_node", "cpus_per_task", "memory_per_node",
                   "memory_per_cpu", "gpus_per_node"},
    "kubernetes": {"nodes", "tasks_per_node", "cpus_per_task", "output", "account", "mail_user",
                   "mail_events"},
}


@pytest.mark.parametrize("manager", names())
def test_the_hybrid_job_is_written_as_pinned(manager):
    text, _ = write(HYBRID, manager)
    assert text == (RENDERED / f"hybrid.{manager}").read_text()


@pytest.mark.parametrize("manager", names())
def test_what_each_manager_cannot_say_of_the_hybrid_job_is_reported(manager):
    _, losses = write(HYBRID, manager)
    assert {loss.field for loss in losses if loss.field} == LOST[manager]
