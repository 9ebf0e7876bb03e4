"""End to end on the real single-node Slurm, the model replaced by scripted answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fractale_command import run as fractale

pytestmark = pytest.mark.slurm

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "plans"

BAD_DIRECTIVE = """\
#!/bin/bash
#SBATCH --job-name=fractale-e2e
#SBATCH --ntasks=1
#SBATCH --time=2:00
#SBATCH --cpus-per-tsak=1
echo "hello from fractale on $(hostname)"
"""
FIXED = BAD_DIRECTIVE.replace("#SBATCH --cpus-per-tsak=1\n", "#SBATCH --cpus-per-task=1\n")


def test_rejected_script_is_repaired_by_the_helper_and_the_second_attempt_completes(
    slurm_env, replay, fenced, tmp_path
):
    answers = replay(
        [
            {"agent": "batch", "text": fenced(BAD_DIRECTIVE, "bash")},
            {
                "agent": "helper",
                "expect": "cpus-per-tsak",
                "text": fenced(FIXED, "bash") + "Explanation: --cpus-per-tsak is a typo.\n",
            },
        ]
    )
    proc = fractale(
        "agent",
        "batch",
        "--app",
        "print hello and the host name",
        "--scheduler",
        "slurm",
        "--replay",
        str(answers),
        "--results",
        "results",
        "--workdir",
        "work",
        "--timeout",
        "600",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    record = json.loads((tmp_path / "results" / "batch.json").read_text())
    assert record["status"] == "succeeded"
    first, second = record["attempts"]
    assert first["success"] is False
    assert first["state"] == "REJECTED"
    assert first["command"].startswith("sbatch ")
    assert "cpus-per-tsak" in first["output_tail"]
    assert first["artifact"] == BAD_DIRECTIVE
    assert second["success"] is True
    assert second["origin"] == "helper: --cpus-per-tsak is a typo."
    assert second["artifact"] == FIXED
    assert second["state"] == "COMPLETED" and second["returncode"] == 0
    assert "hello from fractale on" in second["output_tail"]
    assert record["outputs"]["jobid"].isdigit()


def test_job_that_fails_at_run_time_is_repaired_from_its_output(
    slurm_env, replay, fenced, tmp_path
):
    failing = "#!/bin/bash\n#SBATCH --ntasks=1\n#SBATCH --time=2:00\nls /no/such/input\n"
    working = "#!/bin/bash\n#SBATCH --ntasks=1\n#SBATCH --time=2:00\nls /\n"
    answers = replay(
        [
            {"agent": "batch", "text": fenced(failing)},
            {
                "agent": "helper",
                "expect": "No such file or directory",
                "text": fenced(working) + "Explanation: the input path does not exist.\n",
            },
        ]
    )
    proc = fractale(
        "agent",
        "batch",
        "--app",
        "list the input",
        "--scheduler",
        "slurm",
        "--replay",
        str(answers),
        "--results",
        "results",
        "--workdir",
        "work",
        "--timeout",
        "600",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    first, second = json.loads((tmp_path / "results" / "batch.json").read_text())["attempts"]
    assert first["state"] == "FAILED" and first["returncode"] == 2
    assert "No such file or directory" in first["output_tail"]
    assert second["state"] == "COMPLETED"


def test_example_plan_rehearses_on_slurm_with_its_replay_file(slurm_env, tmp_path):
    proc = fractale(
        "agent",
        "run",
        str(EXAMPLES / "hello-slurm.yaml"),
        "--replay",
        str(EXAMPLES / "hello-slurm.replay.yaml"),
        "--results",
        "results",
        "--workdir",
        "work",
        "--timeout",
        "600",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((tmp_path / "results" / "plan.json").read_text())
    assert summary["steps"] == {"run": "succeeded", "metrics": "succeeded"}
    metrics = json.loads((tmp_path / "results" / "metrics.json").read_text())
    assert metrics["outputs"]["metrics"]["wall_time"] >= 0


def test_manager_goes_back_to_the_job_when_its_output_lacks_a_metric(
    slurm_env, replay, fenced, tmp_path
):
    silent = "#!/bin/bash\n#SBATCH --ntasks=1\n#SBATCH --time=2:00\necho done\n"
    timed = (
        "#!/bin/bash\n#SBATCH --ntasks=1\n#SBATCH --time=2:00\n"
        'start=$SECONDS\necho done\necho "elapsed: $((SECONDS - start))"\n'
    )
    pattern = fenced(
        json.dumps({"metrics": {"elapsed": {"pattern": r"elapsed: (\d+)", "type": "int"}}})
    )
    answers = replay(
        [
            {"agent": "batch", "text": fenced(silent)},
            {"agent": "results", "text": pattern},
            {
                "agent": "batch",
                "expect": "Step 'numbers' (results) failed after it",
                "text": fenced(timed),
            },
            {"agent": "results", "text": pattern},
        ]
    )
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        """\
name: back-on-slurm
steps:
  - name: job
    agent: batch
    inputs: {app: say done and how long it took, scheduler: slurm}
    success: {state: COMPLETED}
  - name: numbers
    agent: results
    inputs:
      output: ${steps.job.output}
      metrics: {elapsed: seconds the job took}
    attempts: 1
    on_failure: {action: back, to: job, times: 1}
"""
    )
    proc = fractale(
        "agent",
        "run",
        str(plan),
        "--replay",
        str(answers),
        "--results",
        "results",
        "--workdir",
        "work",
        "--timeout",
        "600",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "going back to step 'job'" in proc.stderr
    summary = json.loads((tmp_path / "results" / "plan.json").read_text())
    assert [(h["step"], h["status"]) for h in summary["history"]] == [
        ("job", "succeeded"),
        ("numbers", "failed"),
        ("job", "succeeded"),
        ("numbers", "succeeded"),
    ]
    numbers = json.loads((tmp_path / "results" / "numbers.json").read_text())
    assert numbers["outputs"]["metrics"] == {"elapsed": 0}
    assert [a["success"] for a in numbers["attempts"]] == [False, True]
    job = json.loads((tmp_path / "results" / "job.json").read_text())
    assert [a["origin"] for a in job["attempts"]] == ["generated", "generated"]
    assert "elapsed" in job["attempts"][1]["artifact"]


def test_translated_pbs_job_is_completed_by_the_model_and_runs_on_slurm(slurm_env, tmp_path):
    proc = fractale(
        "agent",
        "run",
        str(EXAMPLES / "translate-and-run.yaml"),
        "--set",
        f"pbs_script={EXAMPLES / 'job.pbs'}",
        "--replay",
        str(EXAMPLES / "translate-and-run.replay.yaml"),
        "--results",
        "results",
        "--workdir",
        "work",
        "--timeout",
        "600",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    translate = json.loads((tmp_path / "results" / "translate.json").read_text())
    assert "umask" in " ".join(translate["outputs"]["unmapped"])
    assert "fractale's slurm parser" in translate["attempts"][0]["reason"]
    run = json.loads((tmp_path / "results" / "run.json").read_text())
    assert run["attempts"][0]["origin"] == "input"
    assert run["outputs"]["state"] == "COMPLETED"
    assert "hello from" in run["outputs"]["output"]


def test_a_job_that_outlives_the_timeout_is_cancelled_and_the_attempt_fails(
    slurm_env, replay, fenced, tmp_path
):
    sleeper = "#!/bin/bash\n#SBATCH --ntasks=1\n#SBATCH --time=5:00\nsleep 300\n"
    answers = replay([{"agent": "batch", "text": fenced(sleeper)}])
    proc = fractale(
        "agent",
        "batch",
        "--app",
        "sleep",
        "--scheduler",
        "slurm",
        "--replay",
        str(answers),
        "--results",
        "results",
        "--workdir",
        "work",
        "--timeout",
        "3",
        "--max-attempts",
        "1",
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    record = json.loads((tmp_path / "results" / "batch.json").read_text())
    (attempt,) = record["attempts"]
    assert attempt["state"] == "TIMEOUT"
    assert "cancelled job" in attempt["output_tail"]
    ended = slurm_env.wait(record["outputs"]["jobid"], timeout=60)
    assert ended.state == "CANCELLED"
