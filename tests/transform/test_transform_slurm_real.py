"""Scripts fractale writes for Slurm, judged and run by a real Slurm (tests/slurm.py).

The test cluster is one partition of four 2-CPU nodes with no GPUs, licenses, accounts or
reservations, so before rendering each corpus job is fitted to it: site-specific names are
dropped and counts are capped. Every option kind fractale writes still reaches sbatch.
"""

from __future__ import annotations

import socket

import pytest
from fractale.transform import BatchJob, read, transform, write
from transform_corpus import ident, scripts

pytestmark = pytest.mark.slurm

# .ci/slurm.sh gives four nodes shaped like this host (one real, three cloud).
NODES, MEMORY_MIB = 4, 1024
HOST = socket.gethostname().split(".")[0]


@pytest.fixture(scope="module")
def held_job(slurm):
    """A real pending job for corpus dependencies to point at."""
    slurm.settle()
    done = slurm.run("sbatch", "--parsable", "--hold", "--job-name=fractale-held",
                     "--output=/dev/null", "--wrap", "true")
    job_id = done.stdout.strip().split(";")[0]
    yield job_id
    slurm.cancel(job_id)


@pytest.fixture(scope="module")
def cpus(slurm):
    """CPUs of each node of the test cluster."""
    return int(slurm.node(HOST)["CPUTot"])


def fit(spec: BatchJob, held: str, cpus_per_node: int) -> BatchJob:
    """The same job, asking only for what the test cluster has."""
    nodes = min(spec.nodes, 2) if spec.nodes else spec.nodes
    per_node = spec.tasks_per_node
    if per_node:
        per_node = min(per_node, cpus_per_node)
    cpus = spec.cpus_per_task
    if cpus:
        cpus = max(1, min(cpus, cpus_per_node // (per_node or 1)))
    tasks = spec.tasks
    if tasks:
        tasks = max(1, min(tasks, (nodes or NODES) * cpus_per_node // (cpus or 1)))
        if nodes:
            tasks = max(tasks, nodes)
        if per_node and nodes:
            tasks = nodes * per_node
    return spec.replace(
        queue=None, account=None, qos=None, reservation=None, licenses={}, nodelist=[],
        exclude=[], constraints=[], gpus_per_node=None, gpus_per_task=None, gpu_type=None,
        nodes=nodes, tasks_per_node=per_node, cpus_per_task=cpus, tasks=tasks,
        memory_per_node=min(spec.memory_per_node, MEMORY_MIB) if spec.memory_per_node else None,
        memory_per_cpu=min(spec.memory_per_cpu, MEMORY_MIB // 2) if spec.memory_per_cpu else None,
        dependencies=[dep.split(":")[0] + ":" + held if ":" in dep else dep
                      for dep in spec.dependencies],
        workdir=None, container_image=None,
        components=[fit_component(component, cpus_per_node) for component in spec.components],
    )


def fit_component(component: dict, cpus_per_node: int) -> dict:
    """A heterogeneous job's further component, asking only for what the cluster has."""
    fitted = fit(BatchJob(**component), "", cpus_per_node)
    return {name: value for name, value in fitted.to_dict().items()
            if name in component and value is not None and name not in ("queue", "nodelist")}


@pytest.mark.parametrize("path", scripts(), ids=ident)
def test_sbatch_accepts_the_slurm_script_rendered_from_each_corpus_job(
        path, slurm, held_job, cpus, tmp_path):
    spec, _ = read(path.read_text(), path.parent.name)
    text, _ = write(fit(spec, held_job, cpus), "slurm")
    script = tmp_path / "job.sbatch"
    script.write_text(text)
    accepted, message = slurm.test_only(script)
    assert accepted, f"sbatch refused:\n{text}\n{message}"


# One small job per other manager, as its users write it: it prints its job id through
# that manager's variable and launches one task with that manager's launcher.
RUNNABLE = {
    "flux": ("""#!/bin/bash
#FLUX: --job-name=flux-hello
#FLUX: -n 1
#FLUX: -t 5m
#FLUX: --output=flux-hello-{{id}}.out

echo "hello from job $FLUX_JOB_ID"
flux run -n 1 echo "task launched"
""", "flux-hello-{id}.out"),
    "jobspec": ("""version: 1
resources:
  - type: slot
    count: 1
    label: task
    with:
      - type: core
        count: 1
tasks:
  - command: ["flux", "broker", "{{tmpdir}}/script"]
    slot: task
    count:
      per_slot: 1
attributes:
  system:
    duration: 300
    job:
      name: jobspec-hello
    shell:
      options:
        output:
          stdout:
            type: file
            path: jobspec-hello-{{id}}.out
    files:
      script:
        mode: 493
        encoding: utf-8
        data: |
          #!/bin/bash
          echo "hello from job $FLUX_JOB_ID"
          flux run -n 1 echo "task launched"
""", "jobspec-hello-{id}.out"),
    "pbs": ("""#!/bin/bash
#PBS -N pbs-hello
#PBS -l select=1:ncpus=1:mpiprocs=1
#PBS -l walltime=00:05:00
#PBS -j oe
#PBS -o pbs-hello.out

cd $PBS_O_WORKDIR
echo "hello from job $PBS_JOBID"
mpiexec -n 1 echo "task launched"
""", "pbs-hello.out"),
    "lsf": ("""#!/bin/bash
#BSUB -J lsf-hello
#BSUB -n 1
#BSUB -W 5
#BSUB -o lsf-hello.%J.out

echo "hello from job $LSB_JOBID"
jsrun -n 1 -a 1 -c 1 echo "task launched"
""", "lsf-hello.{id}.out"),
    "oar": ("""#!/bin/bash
#OAR -n oar-hello
#OAR -l /core=1,walltime=00:05:00
#OAR -O oar-hello.%jobid%.out

echo "hello from job $OAR_JOB_ID"
mpirun -np 1 echo "task launched"
""", "oar-hello.{id}.out"),
    "cobalt": ("""#!/bin/bash
#COBALT -n 1
#COBALT -t 5
#COBALT --jobname=cobalt-hello
#COBALT -o cobalt-hello.$jobid.out

echo "hello from job $COBALT_JOBID"
aprun -n 1 echo "task launched"
""", "cobalt-hello.{id}.out"),
    "moab": ("""#!/bin/bash
#MSUB -N moab-hello
#MSUB -l nodes=1:ppn=1,walltime=00:05:00
#MSUB -o moab-hello.out

echo "hello from job $MOAB_JOBID"
mpirun -np 1 echo "task launched"
""", "moab-hello.out"),
    "kubernetes": ("""apiVersion: batch/v1
kind: Job
metadata:
  name: k8s-hello
spec:
  activeDeadlineSeconds: 300
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: hello
          image: busybox:1.36
          command: ["/bin/bash", "-c", "echo hello from a translated Job; echo task launched"]
""", None),
}


@pytest.mark.parametrize("manager", sorted(RUNNABLE))
def test_a_job_translated_from_each_manager_runs_on_slurm(manager, slurm, tmp_path):
    source, output = RUNNABLE[manager]
    result = transform(source, to="slurm", source=manager)
    script = tmp_path / "job.sbatch"
    script.write_text(result.text)
    job_id = slurm.sbatch(script)
    ran = slurm.wait(job_id, timeout=180)
    assert ran.succeeded, f"{ran.state} exit {ran.exit_code}:\n{result.text}"
    if output is not None:
        assert ran.stdout_path == tmp_path / output.format(id=job_id)
    printed = ran.stdout()
    if manager == "kubernetes":
        assert printed == "hello from a translated Job\ntask launched\n"
    else:
        assert printed == f"hello from job {job_id}\ntask launched\n"
