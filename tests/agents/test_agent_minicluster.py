"""The minicluster agent: MiniCluster manifests checked offline, and run where kubectl can."""

from __future__ import annotations

import pytest
import yaml
from fractale.agents.minicluster_checks import minicluster_problems
from fractale.agents.steps.minicluster import MiniClusterAgent

LAMMPS = """\
apiVersion: flux-framework.org/v1alpha2
kind: MiniCluster
metadata:
  name: lammps
spec:
  size: 4
  tasks: 16
  logging:
    quiet: true
  containers:
    - image: ghcr.io/converged-computing/metric-lammps:latest
      workingDir: /opt/lammps/examples/reaxff/HNS
      command: lmp -v x 2 -v y 2 -v z 2 -in in.reaxc.hns -nocite
      resources:
        limits: {cpu: 4, memory: 8Gi}
      environment: {OMP_NUM_THREADS: "1"}
"""


def problems(text: str) -> list[str]:
    return minicluster_problems(yaml.safe_load(text))


def test_a_minicluster_as_the_operator_documents_it_has_no_problems():
    assert problems(LAMMPS) == []


@pytest.mark.parametrize(
    "change, problem",
    [
        (("      workingDir:", "      workdir:"),
         "spec.containers[0].workdir: unknown field (a MiniCluster has no such field here)"),
        (("  size: 4", "  size: four"), "spec.size: an integer, not 'four'"),
        (("  size: 4", "  size: 4\n  maxSize: 2"), "spec.maxSize 2 is smaller than spec.size 4"),
        (("  size: 4", "  size: 4\n  minSize: 6"), "spec.minSize 6 is larger than spec.size 4"),
        (("    quiet: true", "    quiet: yes-please"), "spec.logging.quiet: true or false"),
        (("name: lammps", "name: LAMMPS_run"), "metadata.name 'LAMMPS_run': a DNS label"),
        (("      command: lmp", "      launcher: true\n      batch: true\n      command: lmp"),
         "spec.containers[0]: launcher and batch exclude each other; choose one"),
        (("    - image: ghcr.io/converged-computing/metric-lammps:latest\n      ", "    - "),
         "spec.containers[0].image: the application's image is required"),
        (("kind: MiniCluster", "kind: Job"),
         "apiVersion/kind are flux-framework.org/v1alpha2/Job, not "
         "flux-framework.org/v1alpha2/MiniCluster"),
    ],
)
def test_each_mistake_is_named_with_its_field(change, problem):
    text = LAMMPS.replace(*change)
    assert text != LAMMPS
    assert any(found.startswith(problem) for found in problems(text)), problems(text)


def test_exactly_one_of_several_containers_runs_flux_and_the_others_are_named():
    document = yaml.safe_load(LAMMPS)
    sidecar = {"image": "redis:7", "command": "redis-server"}
    document["spec"]["containers"].append(sidecar)
    assert minicluster_problems(document) == [
        "spec.containers: exactly one container must set runFlux: true (0 do)",
        "spec.containers[0].name: a container that does not run Flux needs a name",
        "spec.containers[1].name: a container that does not run Flux needs a name",
    ]
    document["spec"]["containers"][0]["runFlux"] = True
    sidecar["name"] = "redis"
    assert minicluster_problems(document) == []


def test_services_need_names_and_take_no_pre_commands():
    document = yaml.safe_load(LAMMPS)
    document["spec"]["services"] = [{"image": "nginx", "commands": {"pre": "echo"}}]
    assert minicluster_problems(document) == [
        "spec.services[0].name: a service container needs a name",
        "spec.services[0].commands: services take no pre, brokerPre or workerPre",
    ]


def test_without_a_cluster_a_repaired_minicluster_fails_as_not_applied(
    replay, context, fenced, tmp_path, monkeypatch
):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "empty-kubeconfig"))
    broken = LAMMPS.replace("  tasks: 16", "  task: 16")
    ctx = context(
        replay(
            [
                {"agent": "minicluster", "expect": "Pods (spec.size): 4", "text": fenced(broken)},
                {"agent": "helper", "expect": "spec.task: unknown field",
                 "text": fenced(LAMMPS) + "Explanation: the field is tasks.\n"},
            ]
        )
    )
    agent = MiniClusterAgent({"app": "LAMMPS reaxff", "size": 4, "tasks": 16})
    record = agent.run(ctx, "mc")
    assert record.status == "failed"
    assert len(record.attempts) == 2
    assert "the MiniCluster is valid but was not applied" in record.message
    assert record.outputs["applied"] is False


def test_a_dry_run_only_checks_the_manifest(replay, context, fenced, no_processes):
    ctx = context(replay([{"agent": "minicluster", "text": fenced(LAMMPS)}]), dry_run=True)
    record = MiniClusterAgent({"app": "LAMMPS"}).run(ctx, "mc")
    assert record.status == "dry-run"
    assert record.outputs["minicluster"] == "lammps"


def test_with_the_operator_installed_the_old_minicluster_is_deleted_then_applied_and_followed(
    replay, context, fenced, kube_cluster
):
    calls = kube_cluster(logs="Total wall time: 0:00:31")
    ctx = context(replay([{"agent": "minicluster", "text": fenced(LAMMPS)}]))
    record = MiniClusterAgent({"app": "LAMMPS", "namespace": "hpc"}).run(ctx, "mc")
    assert record.status == "succeeded"
    assert record.outputs["condition"] == "Complete"
    assert "Total wall time: 0:00:31" in record.outputs["logs"]
    commands = calls.read_text().splitlines()
    manifest = record.attempts[0].artifact_path
    assert commands[1] == "get crd/miniclusters.flux-framework.org --output=name"
    assert commands[2].startswith("delete minicluster/lammps --ignore-not-found=true --wait=true")
    assert commands[3] == f"apply -f {manifest}"
    follow = next(line for line in commands if line.startswith("logs "))
    assert follow.endswith("--selector=job-name=lammps,batch.kubernetes.io/job-completion-index=0")


def test_without_the_operator_the_step_fails_saying_so(replay, context, fenced, kube_cluster):
    kube_cluster(crd=False)
    ctx = context(replay([{"agent": "minicluster", "text": fenced(LAMMPS)}]))
    record = MiniClusterAgent({"app": "LAMMPS"}).run(ctx, "mc")
    assert record.status == "failed"
    assert "the Flux Operator is not installed" in record.message
