"""Kubernetes Jobs: validated offline against the official batch/v1 schema (bundled by
kubernetes-validate), and the model's fields where a Job keeps them."""

import copy

import kubernetes_validate
import pytest
import yaml
from fractale.transform import JobSpec, parse, write

VERSION = kubernetes_validate.latest_version()


def manifest(**fields):
    text, losses = write(JobSpec(script="echo hi\n", **fields), "kubernetes")
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
    assert parse(write(JobSpec(requeue=True, script="x\n"), "kubernetes")[0]).requeue is True


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
