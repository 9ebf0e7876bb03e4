"""Each step agent on real inputs, answered by the offline backend."""

from __future__ import annotations

import dataclasses
import json
import os
import textwrap
import time
from pathlib import Path

import pytest
from fractale.agents.steps.batch import BatchAgent
from fractale.agents.steps.build import BuildAgent
from fractale.agents.steps.kubernetes_job import KubernetesJobAgent, manifest_problems
from fractale.agents.steps.results import ResultsAgent
from fractale.agents.steps.transform import TransformAgent
from stand_ins import fake_tool

LAMMPS_LOG = """\
LAMMPS (2 Aug 2023 - Update 3)
Loop time of 1.82716 on 4 procs for 250 steps with 32000 atoms

Performance: 59108.730 tau/day, 136.826 timesteps/s, 4.378 Matom-step/s
99.4% CPU use with 4 MPI tasks x 1 OpenMP threads
Total wall time: 0:00:02
"""

SLURM_JOB = """\
#!/bin/bash
#SBATCH --job-name=lmp
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=4
#SBATCH --time=01:00:00
#SBATCH --mail-type=END
#SBATCH --mail-user=me@example.org
srun lmp -in in.lj
"""

VALID_JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: lammps-lj
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: lammps
          image: ghcr.io/example/lammps:latest
          command: ["lmp", "-in", "in.lj"]
"""


# --- results --------------------------------------------------------------------------


def test_results_extracts_named_metrics_into_json(fenced, replay, context, tmp_path):
    patterns = {
        "metrics": {
            "timesteps_per_s": {"pattern": r"([0-9.]+) timesteps/s", "type": "float"},
            "wall_time": {"pattern": r"Total wall time: (\S+)", "type": "duration", "unit": "s"},
        }
    }
    ctx = context(replay([{"agent": "results", "text": fenced(json.dumps(patterns), "json")}]))
    agent = ResultsAgent({"output": LAMMPS_LOG, "metrics": ["timesteps_per_s", "wall_time"]})
    record = agent.run(ctx, "metrics")
    assert record.status == "succeeded"
    assert record.outputs["metrics"] == {"timesteps_per_s": 136.826, "wall_time": 2.0}
    written = json.loads(Path(record.outputs["metrics_path"]).read_text())
    assert written == {
        "metrics": {"timesteps_per_s": 136.826, "wall_time": 2.0},
        "units": {"wall_time": "s"},
    }


def test_results_asks_the_helper_when_a_pattern_matches_nothing(fenced, replay, context):
    wrong = {"metrics": {"atoms": {"pattern": r"with (\d+) particles", "type": "int"}}}
    right = {"metrics": {"atoms": {"pattern": r"with (\d+) atoms", "type": "int"}}}
    ctx = context(
        replay(
            [
                {"agent": "results", "text": fenced(json.dumps(wrong))},
                {
                    "agent": "helper",
                    "expect": "32000 atoms",
                    "text": fenced(json.dumps(right)) + "Explanation: the log says atoms.\n",
                },
            ]
        )
    )
    record = ResultsAgent({"output": LAMMPS_LOG, "metrics": {"atoms": "atom count"}}).run(ctx, "m")
    assert record.status == "succeeded"
    assert [attempt.success for attempt in record.attempts] == [False, True]
    assert "matches nothing" in record.attempts[0].reason
    assert record.attempts[1].origin == "helper: the log says atoms."
    assert record.outputs["metrics"] == {"atoms": 32000}


def test_results_rejects_patterns_without_a_capture_group_before_applying_them(
    fenced, replay, context
):
    bad = {"metrics": {"atoms": {"pattern": r"\d+ atoms"}}}
    ctx = context(replay([{"agent": "results", "text": fenced(json.dumps(bad))}]), max_attempts=1)
    record = ResultsAgent({"output": LAMMPS_LOG, "metrics": ["atoms"]}).run(ctx, "m")
    assert record.status == "failed"
    assert "no capture group" in record.message


def test_results_gives_up_after_the_attempt_limit(fenced, replay, context):
    wrong = fenced(json.dumps({"metrics": {"atoms": {"pattern": "(nothing here)"}}}))
    ctx = context(
        replay([{"agent": "results", "text": wrong}, {"agent": "helper", "text": wrong}]),
        max_attempts=2,
    )
    record = ResultsAgent({"output": LAMMPS_LOG, "metrics": ["atoms"]}).run(ctx, "m")
    assert record.status == "failed"
    assert len(record.attempts) == 2
    assert record.message.startswith("results failed after 2 attempts")


# --- transform ------------------------------------------------------------------------


def test_transform_without_unmapped_directives_asks_no_model(replay, context):
    ctx = context(replay([]))
    script = ("#!/bin/bash\n#SBATCH --job-name=lmp\n#SBATCH --nodes=2\n#SBATCH --ntasks=8\n"
              "srun lmp -in in.lj\n")
    record = TransformAgent({"script": script, "to": "flux"}).run(ctx, "translate")
    assert record.status == "succeeded"
    assert "#FLUX: --nodes=2" in record.outputs["artifact"]
    assert ctx.llm.ledger.totals.calls == 0


def test_transform_retries_with_the_parsers_error_until_the_output_reads_cleanly(
    fenced, replay, context
):
    first = textwrap.dedent(
        """\
        #!/bin/bash
        #FLUX: --job-name=lmp
        #FLUX: --nodes=2
        #FLUX: --nslots=8
        #FLUX: --time-limit=1h
        #FLUX: --mail-user=me@example.org
        flux run lmp -in in.lj
        """
    )
    fixed = first.replace(
        "#FLUX: --mail-user=me@example.org\n",
        "# fractale: Flux has no mail directive; was --mail-type=END --mail-user=me@example.org\n",
    )
    ctx = context(
        replay(
            [
                {"agent": "transform", "expect": "mail", "text": fenced(first, "bash")},
                {
                    "agent": "helper",
                    "expect": "--mail-user=me@example.org",
                    "text": fenced(fixed, "bash") + "Explanation: Flux has no mail option.\n",
                },
            ]
        )
    )
    record = TransformAgent({"script": SLURM_JOB, "to": "flux"}).run(ctx, "translate")
    assert record.status == "succeeded"
    assert len(record.attempts) == 2
    # flux batch refuses an option it does not have: so does fractale's Flux parser.
    assert "--mail-user is not an option of flux batch" in record.attempts[0].reason
    assert record.outputs["artifact"] == fixed
    assert any("mail" in loss for loss in record.outputs["unmapped"])


# --- kubernetes-job -------------------------------------------------------------------


def test_a_valid_job_manifest_has_no_problems():
    manifest, problems = manifest_problems(VALID_JOB)
    assert problems == []
    assert manifest["metadata"]["name"] == "lammps-lj"


def test_schema_problems_name_the_field_path():
    broken = VALID_JOB.replace("command:", "comand:")
    broken = broken.replace("backoffLimit: 1", "backoffLimit: one")
    _, problems = manifest_problems(broken)
    assert any(p.startswith("spec.backoffLimit: 'one' is not of type") for p in problems)
    assert any("spec.template.spec.containers.0" in p and "'comand'" in p for p in problems)


def test_only_a_batch_v1_job_is_accepted():
    _, problems = manifest_problems(VALID_JOB.replace("kind: Job", "kind: Deployment"))
    assert problems == ["apiVersion/kind are batch/v1/Deployment, not batch/v1/Job"]


@pytest.fixture
def no_kube_cluster(tmp_path, monkeypatch):
    """kubectl (when installed) with an empty configuration: no cluster, no context."""
    config = tmp_path / "kubeconfig"
    config.write_text("")
    monkeypatch.setenv("KUBECONFIG", str(config))


def test_kubernetes_job_without_a_cluster_fails_after_validation_without_retrying(
    fenced, replay, context, no_kube_cluster
):
    broken = VALID_JOB.replace("restartPolicy: Never", "restartPolicy: Never\n      retries: 2")
    ctx = context(
        replay(
            [
                {"agent": "kubernetes-job", "text": fenced(broken, "yaml")},
                {
                    "agent": "helper",
                    "expect": "'retries' was unexpected",
                    "text": fenced(VALID_JOB, "yaml")
                    + "Explanation: pods have no retries field.\n",
                },
            ]
        )
    )
    agent = KubernetesJobAgent({"app": "LAMMPS in.lj", "image": "ghcr.io/example/lammps:latest"})
    record = agent.run(ctx, "job")
    # A Job that was not applied did not run: the step fails, and no fix is asked for.
    assert record.status == "failed"
    assert [attempt.success for attempt in record.attempts] == [False, False]
    assert record.outputs["applied"] is False
    assert "was not applied" in record.message
    assert ctx.llm.remaining() == 0


def test_kubernetes_job_in_a_dry_run_is_only_validated(fenced, replay, context, no_processes):
    ctx = context(replay([{"agent": "kubernetes-job", "text": fenced(VALID_JOB)}]), dry_run=True)
    record = KubernetesJobAgent({"app": "LAMMPS in.lj"}).run(ctx, "job")
    assert record.status == "dry-run"
    assert record.outputs["applied"] is False


def test_kubernetes_job_deletes_the_old_job_before_applying_and_reads_condition_and_events(
    fenced, replay, context, kube_cluster
):
    calls = kube_cluster(
        logs="Total wall time: 0:00:02",
        events=[
            {
                "type": "Normal",
                "reason": "Pulled",
                "message": "image pulled",
                "lastTimestamp": "2026-11-25T10:00:00Z",
                "involvedObject": {"kind": "Pod", "name": "lammps-lj-x7k2p"},
            },
            {
                "type": "Warning",
                "reason": "FailedMount",
                "message": "not ours",
                "involvedObject": {"kind": "Pod", "name": "other-job-abc"},
            },
        ],
    )
    ctx = context(replay([{"agent": "kubernetes-job", "text": fenced(VALID_JOB, "yaml")}]))
    record = KubernetesJobAgent({"app": "LAMMPS in.lj"}).run(ctx, "job")
    assert record.status == "succeeded"
    assert record.outputs["applied"] is True
    assert record.outputs["condition"] == "Complete"
    assert "Total wall time: 0:00:02" in record.outputs["logs"]
    assert record.outputs["events"] == "Normal Pulled Pod/lammps-lj-x7k2p: image pulled"
    commands = calls.read_text().splitlines()
    manifest = record.attempts[0].artifact_path
    assert commands[0] == "config current-context"
    assert commands[1].startswith("delete job/lammps-lj --ignore-not-found=true --wait=true")
    assert commands[2] == f"apply -f {manifest}"
    following = next(line for line in commands if line.startswith("logs "))
    assert "--follow" in following and "--limit-bytes=" in following
    assert "get events --output=json" in commands


def test_a_failed_job_gives_the_helper_its_pod_events(fenced, replay, context, kube_cluster):
    kube_cluster(
        condition="Failed",
        message="BackoffLimitExceeded",
        logs="",
        events=[
            {
                "type": "Warning",
                "reason": "ErrImagePull",
                "message": "manifest unknown: ghcr.io/example/lammps:latest",
                "involvedObject": {"kind": "Pod", "name": "lammps-lj-q8w"},
            }
        ],
    )
    fixed = VALID_JOB.replace(":latest", ":2023")
    ctx = context(
        replay(
            [
                {"agent": "kubernetes-job", "text": fenced(VALID_JOB)},
                {
                    "agent": "helper",
                    "expect": "ErrImagePull Pod/lammps-lj-q8w: manifest unknown",
                    "text": fenced(fixed) + "Explanation: the tag does not exist.\n",
                },
            ]
        ),
        max_attempts=2,
    )
    record = KubernetesJobAgent({"app": "LAMMPS"}).run(ctx, "job", record=None)
    first = record.attempts[0]
    assert first.state == "Failed"
    assert "BackoffLimitExceeded" in first.reason
    assert ctx.llm.remaining() == 0


def test_log_following_is_bounded_when_the_job_never_starts(
    fenced, replay, context, tmp_path, monkeypatch
):
    calls = tmp_path / "calls.log"
    fake_tool(
        tmp_path / "bin",
        "kubectl",
        f"""\
        import json, sys, time
        args = sys.argv[1:]
        open({str(calls)!r}, "a").write(" ".join(args) + "\\n")
        if args[:2] == ["config", "current-context"]:
            print("lab")
        elif args[0] == "logs":
            time.sleep(3600)
        elif args[:2] == ["get", "pods"]:
            print(json.dumps({{"items": [{{"status": {{"phase": "Pending"}}}}]}}))
        elif args[:2] == ["get", "events"]:
            print(json.dumps({{"items": []}}))
        elif args[0] == "get":
            print(json.dumps({{"status": {{}}}}))
        """,
    )
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    ctx = context(
        replay([{"agent": "kubernetes-job", "text": fenced(VALID_JOB)}]),
        max_attempts=1,
        timeout=3600,
        pending_timeout=1,
    )
    started = time.monotonic()
    record = KubernetesJobAgent({"app": "LAMMPS"}).run(ctx, "job")
    assert time.monotonic() - started < 60
    assert record.attempts[0].state == "Pending"
    assert "no pod of job/lammps-lj started within 1s" in record.attempts[0].reason


# --- build ----------------------------------------------------------------------------

DOCKERFILE = """\
FROM ubuntu:24.04
RUN apt-get update && apt-get install -y --no-install-recommends lammps
CMD ["lmp", "-in", "in.lj"]
"""


def test_build_without_docker_or_podman_writes_the_files_and_fails_saying_it_did_not_build(
    fenced, replay, context, tmp_path, monkeypatch
):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    ctx = context(replay([{"agent": "build", "text": fenced(DOCKERFILE, "dockerfile")}]))
    record = BuildAgent({"app": "LAMMPS"}).run(ctx, "image")
    assert record.status == "failed"
    assert len(record.attempts) == 1
    assert record.outputs["built"] is False
    assert "did not build it: no working docker or podman" in record.message
    assert Path(record.outputs["path"]).read_text() == DOCKERFILE
    assert record.outputs["image"] == "fractale/lammps:latest"


def test_build_repairs_a_dockerfile_that_does_not_start_with_from(
    fenced, replay, context, tmp_path, monkeypatch
):
    monkeypatch.setenv("PATH", str(tmp_path))
    ctx = context(
        replay(
            [
                {"agent": "build", "text": fenced("RUN echo hi\n" + DOCKERFILE)},
                {
                    "agent": "helper",
                    "expect": "must start with FROM",
                    "text": fenced(DOCKERFILE) + "Explanation: FROM must come first.\n",
                },
            ]
        )
    )
    record = BuildAgent({"app": "LAMMPS"}).run(ctx, "image")
    # The check failed, the fix passed it; no builder here, so the fixed one was not built.
    assert [attempt.reason.split(":")[0] for attempt in record.attempts] == [
        "a Dockerfile must start with FROM (or ARG before FROM)",
        f"wrote {record.attempts[1].artifact_path} but did not build it",
    ]


def test_build_runs_the_builder_on_the_written_dockerfile(
    fenced, replay, context, tmp_path, monkeypatch
):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.log"
    fake_tool(
        bin_dir,
        "podman",
        f"""\
        import sys
        open({str(calls)!r}, "a").write(" ".join(sys.argv[1:]) + "\\n")
        print("STEP 1/3: FROM ubuntu:24.04")
        """,
    )
    monkeypatch.setenv("PATH", str(bin_dir))
    ctx = context(replay([{"agent": "build", "text": fenced(DOCKERFILE)}]))
    record = BuildAgent({"app": "LAMMPS", "tag": "lab/lammps:1"}).run(ctx, "image")
    assert record.status == "succeeded"
    assert record.outputs["built"] is True
    dockerfile = record.attempts[0].artifact_path
    assert calls.read_text().splitlines() == [
        "info",
        f"build --tag lab/lammps:1 --file {dockerfile} {Path(dockerfile).parent}",
    ]
    assert record.outputs["pushed"] is False


def test_build_pushes_an_image_whose_tag_names_a_registry(
    fenced, replay, context, tmp_path, monkeypatch
):
    calls = tmp_path / "calls.log"
    fake_tool(
        tmp_path / "bin",
        "docker",
        f"""\
        import sys
        open({str(calls)!r}, "a").write(" ".join(sys.argv[1:]) + "\\n")
        sys.exit(1 if sys.argv[1] == "push" and "denied" in sys.argv[2] else 0)
        """,
    )
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    ctx = context(replay([{"agent": "build", "text": fenced(DOCKERFILE)}] * 2))
    record = BuildAgent({"app": "LAMMPS", "tag": "ghcr.io/lab/lammps:1"}).run(ctx, "image")
    assert record.status == "succeeded"
    assert record.outputs["pushed"] is True
    assert calls.read_text().splitlines()[-1] == "push ghcr.io/lab/lammps:1"
    refused = BuildAgent({"app": "LAMMPS", "tag": "localhost:5000/denied:1"})
    record = refused.run(dataclasses.replace(ctx, max_attempts=1), "again")
    assert record.status == "failed"
    assert "push exited 1" in record.message


# --- batch on Flux ----------------------------------------------------------------------


def test_batch_on_flux_submits_waits_for_clean_and_reads_result_and_exit_code(
    replay, context, fenced, tmp_path, monkeypatch
):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.log"
    fake_tool(
        bin_dir,
        "flux",
        f"""\
        import sys
        args = sys.argv[1:]
        open({str(calls)!r}, "a").write(" ".join(args) + "\\n")
        if args[0] == "batch":
            output = next(a for a in args if a.startswith("--output="))[len("--output="):]
            open(output, "w").write("hello from flux\\n")
            print("\\u0192ABC123")
        elif args[:2] == ["job", "wait-event"]:
            print("1700000000.0 clean")
        elif args[0] == "jobs":
            print("COMPLETED 0")
        """,
    )
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    script = "#!/bin/bash\n#flux: -N 1\nflux run echo hello from flux\n"
    ctx = context(replay([{"agent": "batch", "text": fenced(script, "bash")}]))
    record = BatchAgent({"app": "echo hello", "scheduler": "flux"}).run(ctx, "run")
    assert record.status == "succeeded"
    assert record.outputs["jobid"] == "\u0192ABC123"
    assert record.outputs["state"] == "COMPLETED"
    assert record.outputs["output"] == "hello from flux\n"
    path = Path(record.attempts[0].artifact_path)
    assert calls.read_text().splitlines() == [
        f"batch --output={path.with_name('job.out')} --cwd={path.parent} {path}",
        f"job wait-event --timeout={ctx.pending_timeout:g} \u0192ABC123 start",
        f"job wait-event --timeout={ctx.timeout:g} \u0192ABC123 clean",
        "jobs --suppress-header --format={result} {returncode} \u0192ABC123",
    ]


def test_sbatch_parsable_output_gives_the_job_id():
    from fractale.agents.execute import Executor
    from fractale.agents.schedulers import Slurm

    slurm = Slurm(Executor())
    assert slurm.parse_jobid("42\n") == "42"
    assert slurm.parse_jobid("42;lab\n") == "42"
    assert slurm.parse_jobid("sbatch: warning: can't honor --ntasks-per-node\n43\n") == "43"
    assert slurm.parse_jobid("sbatch: error: Batch job submission failed\n") is None


def test_a_given_script_is_used_as_it_is_without_asking_the_model(replay, context, no_processes):
    script = "#!/bin/bash\n#SBATCH --ntasks=1\nhostname\n"
    ctx = context(replay([]), dry_run=True)
    record = BatchAgent({"app": "hostname", "scheduler": "slurm", "script": script}).run(ctx, "r")
    assert record.attempts[0].origin == "input"
    assert record.outputs["artifact"] == script
    assert ctx.llm.ledger.totals.calls == 0


def test_batch_without_the_schedulers_commands_stops_with_a_clear_error(
    replay, context, fenced, tmp_path, monkeypatch
):
    from fractale.errors import AgentError

    monkeypatch.setenv("PATH", str(tmp_path))
    ctx = context(replay([{"agent": "batch", "text": fenced("#!/bin/bash\nhostname\n")}]))
    with pytest.raises(AgentError, match="sbatch is not installed here"):
        BatchAgent({"app": "hostname", "scheduler": "slurm"}).run(ctx, "run")
    record = json.loads((tmp_path / "results" / "run.json").read_text())
    assert record["status"] == "stopped"


def test_a_job_name_that_is_not_a_dns_label_is_a_problem():
    _, problems = manifest_problems(VALID_JOB.replace("name: lammps-lj", "name: --all"))
    assert problems and "must be a DNS label" in problems[0]
