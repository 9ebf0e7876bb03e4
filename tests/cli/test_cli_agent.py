"""``fractale agent``: plans and single steps from the command line, offline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

KEY = "sk-ant-api03-secretsecretsecretsecret"
LOG = "Performance: 136.826 timesteps/s\nTotal wall time: 0:00:02\n"
PATTERNS = {"metrics": {"wall_time": {"pattern": r"Total wall time: (\S+)", "type": "duration"}}}


@pytest.fixture
def log_file(tmp_path):
    path = tmp_path / "log.lammps"
    path.write_text(LOG)
    return path


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("FRACTALE_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)


class Ran:
    """A finished ``fractale agent`` process."""

    def __init__(self, proc: subprocess.CompletedProcess) -> None:
        self.exit_code = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.output = proc.stdout + proc.stderr


def invoke(*args: str) -> Ran:
    """Run ``fractale agent ARGS`` as a user would (exit codes and streams included)."""
    proc = subprocess.run(
        [sys.executable, "-c", "from fractale.cli import main; main()", "agent", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    return Ran(proc)


def test_importing_the_cli_does_not_import_the_anthropic_sdk():
    code = "import sys, fractale.cli; print('anthropic' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "False"


def test_a_single_step_prints_its_outcome_and_usage(replay, fenced, log_file, tmp_path):
    answers = replay([{"agent": "results", "text": fenced(json.dumps(PATTERNS))}])
    result = invoke(
        "results",
        str(log_file),
        "--metric",
        "wall_time=seconds",
        "--replay",
        str(answers),
        "--workdir",
        str(tmp_path / "w"),
    )
    assert result.exit_code == 0, result.output
    assert "results (results): succeeded, 1 attempt(s)" in result.output
    assert "succeeded: 1 model call(s)" in result.output


def test_results_dir_holds_one_record_per_step_with_attempts_and_costs(
    replay, fenced, log_file, tmp_path
):
    wrong = {"metrics": {"wall_time": {"pattern": "Wall: (\\S+)"}}}
    answers = replay(
        [
            {"agent": "results", "text": fenced(json.dumps(wrong))},
            {"agent": "helper", "text": fenced(json.dumps(PATTERNS)) + "Explanation: case.\n"},
        ]
    )
    result = invoke(
        "results",
        str(log_file),
        "--metric",
        "wall_time",
        "--replay",
        str(answers),
        "--results",
        "out",
        "--workdir",
        "w",
    )
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "out" / "results.json").read_text())
    assert record["status"] == "succeeded"
    first, second = record["attempts"]
    assert (first["success"], second["success"]) == (False, True)
    for attempt in (first, second):
        assert attempt["artifact"] and attempt["command"]
        assert attempt["returncode"] is not None
        assert attempt["output_tail"]
        assert attempt["duration_s"] >= 0
        assert attempt["input_tokens"] > 0 and attempt["output_tokens"] > 0
        assert attempt["cost_usd"] > 0
    assert record["cost_usd"] == pytest.approx(first["cost_usd"] + second["cost_usd"], abs=1e-6)


def test_incremental_writes_the_record_before_the_next_attempt(
    replay, context, fenced, log_file, tmp_path, monkeypatch
):
    from fractale.agents.steps.results import ResultsAgent

    wrong = {"metrics": {"wall_time": {"pattern": "Wall: (\\S+)"}}}
    answers = replay(
        [
            {"agent": "results", "text": fenced(json.dumps(wrong))},
            {"agent": "helper", "text": fenced(json.dumps(PATTERNS))},
        ]
    )
    ctx = context(answers, incremental=True)
    seen_on_disk = []
    real_fix = ctx.helper.fix

    def fix(**kwargs):
        record = json.loads((tmp_path / "results" / "wall.json").read_text())
        seen_on_disk.append(len(record["attempts"]))
        return real_fix(**kwargs)

    monkeypatch.setattr(ctx.helper, "fix", fix)
    ResultsAgent({"output_file": str(log_file), "metrics": ["wall_time"]}).run(ctx, "wall")
    assert seen_on_disk == [1]


def test_incremental_needs_a_results_directory(replay, log_file):
    result = invoke(
        "results", str(log_file), "--metric", "x", "--replay", str(replay([])), "--incremental"
    )
    assert result.exit_code == 2
    assert "--incremental" in result.output and "--results" in result.output


def test_use_cache_reuses_a_successful_artifact_without_asking_the_model(
    replay, fenced, log_file, tmp_path
):
    first = replay([{"agent": "results", "text": fenced(json.dumps(PATTERNS))}])
    args = ["results", str(log_file), "--metric", "wall_time", "--use-cache", "--json"]
    assert invoke(*args, "--replay", str(first)).exit_code == 0
    empty = tmp_path / "empty.yaml"
    empty.write_text("responses: []\n")
    result = invoke(*args, "--replay", str(empty))
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    assert outcome["usage"]["calls"] == 0
    assert outcome["steps"][0]["attempts"][0]["origin"] == "cache"


def test_budget_too_small_stops_with_exit_2_and_no_traceback(replay, fenced, log_file):
    answers = replay([{"agent": "results", "text": fenced(json.dumps(PATTERNS))}])
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from fractale.cli import main; main()",
            "agent",
            "results",
            str(log_file),
            "--metric",
            "wall_time",
            "--replay",
            str(answers),
            "--budget",
            "0.0001",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Error: stopping before the next model call" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_failed_step_exits_1(replay, fenced, log_file):
    wrong = fenced(json.dumps({"metrics": {"wall_time": {"pattern": "(nope)"}}}))
    answers = replay([{"agent": "results", "text": wrong}])
    result = invoke(
        "results",
        str(log_file),
        "--metric",
        "wall_time",
        "--replay",
        str(answers),
        "--max-attempts",
        "1",
    )
    assert result.exit_code == 1
    assert "results failed after 1 attempts" in result.output


def test_invalid_plan_exits_2_naming_the_line(tmp_path, replay):
    plan = tmp_path / "plan.yaml"
    plan.write_text("steps:\n  - name: a\n    agent: bach\n    inputs: {app: x}\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from fractale.cli import main; main()",
            "agent",
            "run",
            str(plan),
            "--replay",
            str(replay([])),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert f"{plan}:3: step 'a': agent 'bach' is not one of" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_check_validates_a_plan_without_running_it(tmp_path):
    plan = Path(__file__).resolve().parents[2] / "examples" / "plans" / "hello-slurm.yaml"
    result = invoke("check", str(plan))
    assert result.exit_code == 0
    assert "valid plan 'hello-slurm' with 2 step(s)" in result.output


def test_transform_output_file_is_never_overwritten(tmp_path, replay):
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/bash\n#SBATCH --nodes=1\nhostname\n")
    taken = tmp_path / "job.flux"
    taken.write_text("mine\n")
    result = invoke(
        "transform", str(script), "--to", "flux", "-o", str(taken), "--replay", str(replay([]))
    )
    assert result.exit_code == 2
    assert taken.read_text() == "mine\n"


def test_transform_writes_the_finished_translation(tmp_path, replay):
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/bash\n#SBATCH --nodes=1\n#SBATCH --ntasks=1\nhostname\n")
    result = invoke(
        "transform", str(script), "--to", "flux", "-o", "job.flux", "--replay", str(replay([]))
    )
    assert result.exit_code == 0, result.output
    assert "#FLUX: --nodes=1" in (tmp_path / "job.flux").read_text()


def test_the_api_key_never_appears_in_results_records(replay, fenced, tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    leaky = tmp_path / "leaky.log"
    leaky.write_text(f"key was {KEY}\nTotal wall time: 0:00:02\n")
    answers = replay([{"agent": "results", "text": fenced(json.dumps(PATTERNS))}])
    result = invoke(
        "results",
        str(leaky),
        "--metric",
        "wall_time",
        "--replay",
        str(answers),
        "--results",
        "out",
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert KEY not in (tmp_path / "out" / "results.json").read_text()
    assert KEY not in result.output


def test_batch_needs_a_cluster_or_a_scheduler(replay):
    result = invoke("batch", "--app", "hostname", "--replay", str(replay([])))
    assert result.exit_code == 2
    assert "--cluster NAME or --scheduler" in result.output


def test_batch_takes_the_scheduler_from_the_cluster_registry(replay, fenced, tmp_path):
    from fractale.store import Store

    fleet = Path(__file__).resolve().parents[2] / "examples" / "fleet"
    Store(tmp_path / "home").add("lab", "flux", fleet / "tioga" / "containment.json")
    answers = replay(
        [
            {
                "agent": "batch",
                "expect": "Cluster: lab (flux); resources: ",
                "text": fenced("#!/bin/bash\n#FLUX: -N 1\nflux run hostname\n"),
            }
        ]
    )
    result = invoke(
        "batch",
        "--app",
        "hostname",
        "--cluster",
        "lab",
        "--replay",
        str(answers),
        "--dry-run",
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "dry-run"


def test_batch_with_an_unknown_cluster_exits_2(replay):
    result = invoke(
        "batch", "--app", "hostname", "--cluster", "nowhere", "--replay", str(replay([]))
    )
    assert result.exit_code == 2
    assert "no cluster named 'nowhere'" in result.output


def test_container_example_rehearses_offline_as_a_dry_run_and_fails_without_a_builder(
    tmp_path, monkeypatch
):
    examples = Path(__file__).resolve().parents[2] / "examples" / "plans"
    empty = tmp_path / "no-tools"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    plan = str(examples / "container-to-kubernetes.yaml")
    answers = str(examples / "container-to-kubernetes.replay.yaml")
    result = invoke("run", plan, "--replay", answers, "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    image, job = json.loads(result.stdout)["steps"]
    assert (image["status"], job["status"]) == ("dry-run", "dry-run")
    assert image["outputs"]["built"] is False
    assert job["outputs"]["applied"] is False
    # Not a dry run: an image that was not built is a failure, and the plan stops there.
    result = invoke("run", plan, "--replay", answers, "--json")
    assert result.exit_code == 1, result.output
    (image,) = json.loads(result.stdout)["steps"]
    assert image["status"] == "failed"
    assert "did not build it: no working docker or podman" in image["message"]


def test_cached_patterns_serve_the_next_runs_output(replay, fenced, log_file, tmp_path):
    first = replay([{"agent": "results", "text": fenced(json.dumps(PATTERNS))}])
    assert (
        invoke(
            "results", str(log_file), "--metric", "wall_time", "--use-cache", "--replay", str(first)
        ).exit_code
        == 0
    )
    next_log = tmp_path / "next.log"
    next_log.write_text("Performance: 140.1 timesteps/s\nTotal wall time: 0:01:05\n")
    empty = tmp_path / "empty.yaml"
    empty.write_text("responses: []\n")
    result = invoke(
        "results",
        str(next_log),
        "--metric",
        "wall_time",
        "--use-cache",
        "--replay",
        str(empty),
        "--json",
    )
    assert result.exit_code == 0, result.output
    step = json.loads(result.stdout)["steps"][0]
    assert step["attempts"][0]["origin"] == "cache"
    assert step["outputs"]["metrics"] == {"wall_time": 65.0}


@pytest.mark.parametrize("command", ["optimize", "scale", "cost", "minicluster"])
def test_the_research_agents_have_help(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0, result.output
    assert "--replay" in result.stdout and "--pending-timeout" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["optimize", "--app", "x", "--scheduler", "slurm", "--fom", "r", "--param", "tasks"],
         "--param takes NAME[:KIND]=MIN..MAX"),
        (["optimize", "--app", "x", "--scheduler", "slurm", "--fom", "r",
          "--param", "t:cores=1..2"], "kind is one of nodes, tasks, env, flag"),
        (["scale", "--app", "x", "--scheduler", "slurm", "--sizes", "4,2"],
         "sizes go up without repeats"),
        (["scale", "--app", "x", "--sizes", "1,2"], "give --cluster NAME or --scheduler"),
    ],
)
def test_bad_study_options_exit_2_with_one_line(args, message, tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("responses: []\n")
    result = invoke(*args, "--replay", str(empty))
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_the_cost_and_minicluster_example_rehearses_as_a_dry_run(tmp_path):
    root = Path(__file__).resolve().parents[2] / "examples"
    result = invoke(
        "run",
        str(root / "plans" / "cost-and-minicluster.yaml"),
        "--set",
        f"prices={root / 'prices' / 'cloud.yaml'}",
        "--replay",
        str(root / "plans" / "cost-and-minicluster.replay.yaml"),
        "--dry-run",
        "--json",
    )
    assert result.exit_code == 0, result.output
    price, cluster = json.loads(result.stdout)["steps"]
    # Pricing runs nothing, so a dry run prices; the MiniCluster is checked, not applied.
    assert price["status"] == "dry-run" and cluster["status"] == "dry-run"
    assert price["outputs"]["cheapest"]["instance"] == "c7i.16xlarge"
    assert cluster["outputs"]["applied"] is False
    assert cluster["outputs"]["minicluster"] == "lammps-reaxff"


def test_the_cost_command_prints_the_priced_table(tmp_path):
    root = Path(__file__).resolve().parents[2] / "examples"
    answers = root / "plans" / "cost-and-minicluster.replay.yaml"
    result = invoke(
        "cost", "--app", "LAMMPS, 64 ranks", "--prices", str(root / "prices" / "cloud.yaml"),
        "--cpus", "64", "--replay", str(answers),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:6] == ["#", "instance", "count", "hours", "per", "hour"]
    assert lines[2].split()[:6] == ["1", "c7i.16xlarge", "1", "2", "2.856", "5.71"]
    assert lines[3].split()[:6] == ["2", "c7i.4xlarge", "4", "2.2", "0.714", "6.28"]


class Handed(Exception):
    """What a step command handed its agent, raised before any model is asked."""

    def __init__(self, name: str, inputs: dict) -> None:
        super().__init__(name)
        self.name, self.inputs = name, inputs


def handed(monkeypatch, *args: str) -> Handed:
    """The agent and inputs ``fractale agent ARGS`` builds."""
    from click.testing import CliRunner
    from fractale.agents import steps
    from fractale.cli import cli

    def agent_class(name):
        def build(inputs):
            raise Handed(name, inputs)
        return build

    monkeypatch.setattr(steps, "agent_class", agent_class)
    result = CliRunner().invoke(cli, ["agent", *args])
    assert isinstance(result.exception, Handed), result.output
    return result.exception


def test_a_step_commands_options_are_its_agents_inputs(monkeypatch, tmp_path):
    script = tmp_path / "start.sh"
    script.write_text("#!/bin/bash\nsrun hostname\n")
    got = handed(monkeypatch, "batch", "--app", "hostname", "--scheduler", "slurm", "--nodes",
                 "2", "--tasks", "4", "--time", "10m", "--script", str(script), "--notes", "n")
    assert (got.name, got.inputs) == ("batch", {
        "app": "hostname", "scheduler": "slurm", "nodes": 2, "tasks": 4, "time": "10m",
        "script": "#!/bin/bash\nsrun hostname\n", "notes": "n"})
    got = handed(monkeypatch, "kubernetes-job", "--app", "x", "--context", "kind-a",
                 "--namespace", "ns")
    assert got.inputs == {"app": "x", "context": "kind-a", "namespace": "ns"}
    got = handed(monkeypatch, "build", "--app", "x", "--context", str(tmp_path))
    assert got.inputs == {"app": "x", "context": str(tmp_path)}
    got = handed(monkeypatch, "results", str(script), "--metric", "rate=per second",
                 "--metric", "time")
    assert got.inputs == {"output_file": str(script),
                          "metrics": {"rate": "per second", "time": ""}}
    got = handed(monkeypatch, "transform", str(script), "--to", "flux", "--from", "slurm")
    assert got.inputs == {"script_file": str(script), "to": "flux", "source": "slurm"}


def test_the_study_and_cost_commands_name_their_inputs_apart_from_the_run_options(
        monkeypatch, tmp_path):
    got = handed(monkeypatch, "optimize", "--app", "x", "--cluster", "a", "--param",
                 "tasks:tasks=1..2", "--start", "tasks=1", "--fom", "rate", "--study-budget",
                 "0.5", "--budget", "2")
    assert got.inputs == {
        "app": "x", "cluster": "a", "parameters": {"tasks": {"kind": "tasks", "min": 1, "max": 2}},
        "start": {"tasks": 1}, "fom": {"rate": ""}, "goal": "maximize", "patience": 3,
        "rounds": 8, "budget": 0.5}
    prices = tmp_path / "prices.yaml"
    prices.write_text("{}\n")
    got = handed(monkeypatch, "cost", "--app", "x", "--prices", str(prices), "--options", "5",
                 "--gpus", "0")
    assert got.inputs == {"app": "x", "prices": str(prices), "gpus": 0.0, "options": 5}


def test_a_script_that_is_not_text_is_refused_in_one_line(tmp_path):
    binary = tmp_path / "a.out"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00\xff\xfe")
    result = invoke("batch", "--app", "x", "--scheduler", "slurm", "--script", str(binary))
    assert result.exit_code == 2, result.output
    assert f"{binary}: byte 8 is not UTF-8 text" in result.stderr
    assert "Traceback" not in result.output
