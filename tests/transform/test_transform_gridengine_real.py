"""Scripts fractale writes for Grid Engine, read and run by a real Grid Engine
(tests/gridengine.py, .ci/gridengine.sh).

Every corpus job of every manager, written for Grid Engine, is submitted held (``qsub -h``)
and read back with ``qstat -j ID -xml``: Grid Engine must see the job fractale says it wrote
(its slots, run time, queue, name, array, project, memory, GPUs, dependencies). The test
cluster is one host; projects and queues the corpus names are created for it as a site would
(queues without hosts), host names become this host's, and dependencies point at a real held
job. Then a parallel job and an array job translated from Slurm really run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fractale.transform import BatchJob, read, transform, units, write
from fractale.transform.managers.gridengine import read_memory
from transform_corpus import ident, scripts

pytestmark = pytest.mark.gridengine


@pytest.fixture(scope="module")
def held_job(gridengine, tmp_path_factory):
    """A real held job for corpus dependencies to wait on."""
    folder = tmp_path_factory.mktemp("held")
    script = folder / "held.sh"
    script.write_text("#!/bin/sh\ntrue\n")
    job_id = gridengine.submit(script, "-h", "-N", "fractale-held", "-o", "/dev/null", "-j", "y")
    yield job_id
    gridengine.delete(job_id)


def fit(spec: BatchJob, held: str, host: str) -> BatchJob:
    """The same job, naming what the one-host test cluster has."""
    return spec.replace(
        nodelist=[host] if spec.nodelist else [],
        dependencies=[f"{dep.partition(':')[0]}:{held}" if ":" in dep else dep
                      for dep in spec.dependencies],
        # The cluster holds no advance reservation.
        reservation=None,
    )


def expected_queues(spec: BatchJob) -> tuple[str, ...]:
    queues = spec.queue.split(",") if spec.queue else []
    if not spec.nodelist:
        return tuple(queues)
    return tuple(f"{queue}@{host}" for queue in queues or ["*"] for host in spec.nodelist)


def expected_slots(spec: BatchJob) -> tuple[str | None, int]:
    if spec.tasks is not None:
        return "mpi", spec.tasks
    if spec.cpus_per_task is not None:
        return "smp", spec.cpus_per_task
    return None, 1


@pytest.mark.parametrize("path", scripts(), ids=ident)
def test_grid_engine_holds_each_corpus_job_as_fractale_wrote_it(
        path, gridengine, held_job, tmp_path):
    spec, _ = read(path.read_text(), path.parent.name)
    text, _ = write(fit(spec, held_job, gridengine.host), "gridengine")
    # What fractale says the text asks for; Grid Engine must read the same.
    wrote, losses = read(text, "gridengine")
    assert losses == []
    if wrote.account:
        gridengine.ensure_project(wrote.account, tmp_path)
    for queue in (wrote.queue or "").split(","):
        if queue and queue != "all.q":
            gridengine.ensure_queue(queue, tmp_path)
    script = tmp_path / "job.sh"
    script.write_text(text)
    job_id, message = gridengine.submit_held(script)
    assert job_id, f"qsub -h refused:\n{text}\n{message}"
    try:
        job = gridengine.held(job_id)
        assert job.name == (wrote.name or script.name)
        assert (job.pe, job.slots) == expected_slots(wrote)
        assert job.queues == expected_queues(wrote)
        assert job.project == wrote.account
        if wrote.walltime is not None:
            assert int(float(job.resources["h_rt"])) == wrote.walltime
        else:
            assert "h_rt" not in job.resources
        memory = job.resources.get("h_vmem")
        assert (read_memory(memory) if memory else None) == wrote.memory_per_cpu
        gpus = job.resources.get("gpu")
        per_task = wrote.cpus_per_task if job.pe == "smp" else 1
        assert (int(gpus) * per_task if gpus else None) == wrote.gpus_per_task
        assert ("exclusive" in job.resources) == wrote.exclusive
        if wrote.array is None:
            assert (job.tasks, job.concurrency) == ((1, 1, 1), 0)
        else:
            ranges, limit = units.array_parts(wrote.array)
            assert (job.tasks, job.concurrency) == (ranges[0], limit or 0)
        assert job.predecessors == ((held_job,) if wrote.dependencies else ())
        assert job.merge_stderr == wrote.join_output
        assert job.restart == {None: 0, True: 1, False: 2}[wrote.requeue]
    finally:
        gridengine.delete(job_id)


PARALLEL = """#!/bin/bash
#SBATCH --job-name=pe-check
#SBATCH --ntasks=2
#SBATCH --time=00:05:00
#SBATCH --output=pe-%j.out
#SBATCH --export=ALL,OMPI_ALLOW_RUN_AS_ROOT=1,OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

echo "job $SLURM_JOB_ID named $SLURM_JOB_NAME: $SLURM_NTASKS tasks on $SLURM_JOB_NUM_NODES node"
srun hostname
"""

ARRAY = """#!/bin/bash
#SBATCH --job-name=array-check
#SBATCH --array=1-3%2
#SBATCH --time=00:05:00
#SBATCH --output=array-%A_%a.out

echo "task $SLURM_ARRAY_TASK_ID of array $SLURM_ARRAY_JOB_ID"
"""


def run(gridengine, tmp_path: Path, slurm_script: str) -> tuple[str, str]:
    """Translate a Slurm script, submit it and wait for it to finish: (text, job id)."""
    translation = transform(slurm_script, to="gridengine", source="slurm")
    script = tmp_path / "job.sh"
    script.write_text(translation.text)
    job_id = gridengine.submit(script)
    try:
        gridengine.wait(job_id)
    finally:
        gridengine.delete(job_id)
    return translation.text, job_id


def test_a_parallel_job_translated_from_slurm_runs_under_the_mpi_pe(gridengine, tmp_path):
    text, job_id = run(gridengine, tmp_path, PARALLEL)
    assert "#$ -pe mpi 2\n" in text
    # srun without a count starts a task per slot, as mpirun does under a PE.
    assert "\nmpirun hostname\n" in text
    out = (tmp_path / f"pe-{job_id}.out").read_text()
    host = gridengine.host
    assert out == (f"job {job_id} named pe-check: 2 tasks on 1 node\n"
                   + f"{host}\n" * 2), out


def test_an_array_job_translated_from_slurm_runs_every_task(gridengine, tmp_path):
    text, job_id = run(gridengine, tmp_path, ARRAY)
    assert "#$ -t 1-3\n#$ -tc 2\n" in text
    for task in (1, 2, 3):
        out = tmp_path / f"array-{job_id}_{task}.out"
        assert out.read_text() == f"task {task} of array {job_id}\n"


def test_mpirun_is_there_to_run_under_the_pe():
    # The parallel job launches with Open MPI's mpirun, as CI installs it.
    assert shutil.which("mpirun"), "mpirun is missing: .ci/run installs openmpi-bin"
