"""Kubernetes Jobs: validated offline against the official batch/v1 schema (bundled by
kubernetes-validate), and the model's fields where a Job keeps them."""

import copy

import kubernetes_validate
import pytest
import yaml
from fractale.transform import BatchJob, parse, transform, write

VERSION = kubernetes_validate.latest_version()


def manifest(**fields):
    text, losses = write(BatchJob(script="echo hi\n", **fields), "kubernetes")
    return yaml.safe_load(text), losses


def validate(document):
    kubernetes_validate.validate(document, VERSION, strict=True)


def test_a_rendered_job_validates_against_the_official_schema():
    document, _ = manifest(name="sim", cpus_per_task=4, memory_per_node=8192, walltime=600)
    validate(document)


@pytest.mark.parametrize("breakage", ["command-not-a-list", "unknown-field", "no-containers",
                                      "deadline-a-string"])
def test_the_schema_check_rejects_a_broken_manifest(breakage):
    document, _ = manifest(name="sim", walltime=600)
    broken = copy.deepcopy(document)
    pod = broken["spec"]["template"]["spec"]
    if breakage == "command-not-a-list":
        pod["containers"][0]["command"] = "echo hi"
    elif breakage == "unknown-field":
        pod["containers"][0]["gpus"] = 4
    elif breakage == "no-containers":
        del pod["containers"]
    else:
        broken["spec"]["activeDeadlineSeconds"] = "ten minutes"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(broken)


def test_resources_become_requests_and_limits():
    document, _ = manifest(cpus_per_task=16, memory_per_node=131072, gpus_per_node=4,
                           gpu_type="NVIDIA-A100-SXM4-80GB")
    pod = document["spec"]["template"]["spec"]
    limits = pod["containers"][0]["resources"]["limits"]
    assert limits == {"cpu": "16", "memory": "128Gi", "nvidia.com/gpu": "4"}
    assert pod["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"}


def test_an_array_from_zero_becomes_an_indexed_job():
    document, _ = manifest(array="0-99%10")
    job = document["spec"]
    assert (job["completionMode"], job["completions"], job["parallelism"]) == ("Indexed", 100, 10)
    validate(document)


def test_an_array_not_starting_at_zero_is_reported():
    document, losses = manifest(array="1-100")
    assert "completionMode" not in document["spec"]
    assert any(loss.field == "array" for loss in losses)


def test_the_queue_is_a_kueue_label_and_hosts_are_node_affinity():
    document, _ = manifest(queue="team-a", nodelist=["n1", "n2"], exclude=["n9"])
    assert document["metadata"]["labels"] == {"kueue.x-k8s.io/queue-name": "team-a"}
    terms = document["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
    assert terms["matchExpressions"] == [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": ["n1", "n2"]},
        {"key": "kubernetes.io/hostname", "operator": "NotIn", "values": ["n9"]}]
    validate(document)


def test_requeue_is_the_retry_limit():
    assert manifest(requeue=False)[0]["spec"]["backoffLimit"] == 0
    assert parse(write(BatchJob(requeue=True, script="x\n"), "kubernetes")[0]).requeue is True


def test_what_a_job_cannot_hold_is_reported():
    _, losses = manifest(nodes=4, tasks=64, mail_user="a@b.org", dependencies=["afterok:1"],
                         output="out.txt")
    assert {"nodes", "tasks", "mail_user", "dependencies", "output"} <= {
        loss.field for loss in losses}


def test_a_command_without_a_shell_becomes_the_script():
    spec = parse("""apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - {name: pi, image: "perl:5.34", command: [perl, -wle], args: ["print 1+1"]}
""")
    assert spec.script == "perl -wle 'print 1+1'\n"
    assert spec.container_image == "perl:5.34"


def test_a_manifest_without_a_job_is_an_error():
    from fractale.errors import TranslateError

    with pytest.raises(TranslateError, match="no batch/v1 Job"):
        parse("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n", "kubernetes")


UPSTREAM_FLUX = """\
#!/bin/bash
#FLUX: -N 1
#FLUX: -n 64
#FLUX: -t 100s
#FLUX: --queue=pbatch
#FLUX: --setattr=container_image=ghcr.io/converged-computing/lammps-reax:ubuntu22.04
#FLUX: --job-name=lammps

lmp -v x 8 -v y 8 -v z 8 -in in.reaxc.hns -nocite
"""


def container_of(text, source=None):
    translation = transform(text, "kubernetes", source)
    document = yaml.safe_load(translation.text)
    validate(document)
    return document["spec"]["template"]["spec"]["containers"][0], translation


def test_a_flux_container_image_attribute_is_the_jobs_image_and_its_tasks_its_cpus():
    container, translation = container_of(UPSTREAM_FLUX)
    assert container["image"] == "ghcr.io/converged-computing/lammps-reax:ubuntu22.04"
    assert container["resources"]["requests"] == {"cpu": "64"}
    assert not any("setattr" in (loss.directive or "") for loss in translation.losses)


def test_the_image_attribute_survives_flux_and_the_jobspec():
    assert "--setattr=container_image=ghcr.io/x/y:1" in transform(
        UPSTREAM_FLUX.replace("ghcr.io/converged-computing/lammps-reax:ubuntu22.04",
                              "ghcr.io/x/y:1"), "flux").text
    jobspec = transform(UPSTREAM_FLUX, "jobspec").text
    assert yaml.safe_load(jobspec)["attributes"]["system"]["container_image"] == (
        "ghcr.io/converged-computing/lammps-reax:ubuntu22.04")
    container, _ = container_of(jobspec, "jobspec")
    assert container["image"] == "ghcr.io/converged-computing/lammps-reax:ubuntu22.04"


def test_slurm_container_image_and_one_nodes_share_of_the_geometry():
    container, _ = container_of("#!/bin/bash\n#SBATCH --container-image=ghcr.io/c/d:2\n"
                                "#SBATCH -N 2\n#SBATCH --ntasks-per-node=4\n#SBATCH -c 2\n"
                                "#SBATCH --mem-per-cpu=2G\n#SBATCH --gpus-per-task=1\n"
                                "srun ./app\n")
    assert container["image"] == "ghcr.io/c/d:2"
    assert container["resources"]["requests"] == {
        "cpu": "8", "memory": "16Gi", "nvidia.com/gpu": "4"}


@pytest.mark.parametrize("line, options", [
    ("singularity exec --nv -B /data:/data docker://ghcr.io/a/b:1 python run.py --n 3",
     "--nv -B /data:/data"),
    ("apptainer exec docker://ghcr.io/a/b:1 python run.py --n 3", None),
    ("podman run --rm -e A=1 ghcr.io/a/b:1 python run.py --n 3", "--rm -e A=1"),
])
def test_a_command_run_in_a_container_runs_in_the_pod_of_that_image(line, options):
    container, translation = container_of(f"#!/bin/bash\n#SBATCH -n 1\nmodule load x\n{line}\n")
    assert container["image"] == "ghcr.io/a/b:1"
    assert container["command"][-1] == "module load x\npython run.py --n 3\n"
    reported = [loss.reason for loss in translation.losses if "container options" in loss.reason]
    assert reported == ([f"container options {options} are not carried into the pod"]
                        if options else [])


def test_images_a_pod_cannot_pull_stay_in_the_script():
    script = "#!/bin/bash\n#SBATCH -n 1\napptainer exec lammps.sif lmp -in in.lj\n"
    container, _ = container_of(script)
    assert container["image"] == "ubuntu:24.04"
    assert "apptainer exec lammps.sif lmp -in in.lj" in container["command"][-1]


def test_a_continued_container_line_is_read_whole():
    script = ("#!/bin/bash\n#SBATCH -n 1\nsingularity exec docker://ghcr.io/a/b:1 \\\n"
              "  lmp -in in.lj\n")
    container, _ = container_of(script)
    assert container["image"] == "ghcr.io/a/b:1"
    assert container["command"][-1] == "lmp -in in.lj\n"
