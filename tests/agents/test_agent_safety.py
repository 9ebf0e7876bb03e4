"""Model output runs only as a file handed to a scheduler or build tool, never in a dry run."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fractale.agents.execute import Executor
from fractale.agents.manager import Manager
from fractale.agents.plan import load_plan
from fractale.agents.steps import results
from fractale.agents.steps.batch import BatchAgent
from fractale.agents.steps.build import BuildAgent
from fractale.agents.steps.results import ResultsAgent
from fractale.errors import AgentError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "plans"


def test_dry_run_batch_writes_the_script_and_starts_no_process(
    replay, context, tmp_path, fenced, no_processes
):
    marker = tmp_path / "ran"
    script = f"#!/bin/bash\n#SBATCH --ntasks=1\ntouch {marker}\n"
    ctx = context(replay([{"agent": "batch", "text": fenced(script, "bash")}]), dry_run=True)
    record = BatchAgent({"app": "touch a file", "scheduler": "slurm"}).run(ctx, "run")
    assert record.status == "dry-run"
    assert Path(record.outputs["path"]).read_text() == script
    assert record.attempts[0].executed is False
    assert not marker.exists()
    assert no_processes == []


def test_dry_run_plan_generates_what_it_can_and_skips_steps_that_need_execution(
    context, no_processes
):
    plan = load_plan(EXAMPLES / "hello-slurm.yaml")
    ctx = context(EXAMPLES / "hello-slurm.replay.yaml", dry_run=True)
    run = Manager(plan, ctx).run()
    assert run.status == "dry-run"
    assert run.records["run"].status == "dry-run"
    assert run.records["metrics"].status == "skipped"
    assert "${steps.run.output}" in run.records["metrics"].message
    assert no_processes == []


def test_the_executor_refuses_to_run_anything_in_a_dry_run():
    with pytest.raises(AgentError, match="a dry run executes nothing"):
        Executor(dry_run=True).run(["true"])


def test_the_results_agent_applies_model_patterns_in_a_worker_that_never_sees_them_as_code(
    replay, context, fenced, monkeypatch
):
    started: list[list[str]] = []
    real_run = subprocess.run

    def watch(argv, **kwargs):
        started.append(argv)
        return real_run(argv, **kwargs)

    monkeypatch.setattr(subprocess, "run", watch)
    hostile = r"x=(\d+)$(touch /tmp/fractale-pwned)?"
    patterns = {"metrics": {"x": {"pattern": hostile}}}
    ctx = context(replay([{"agent": "results", "text": fenced(json.dumps(patterns))}]))
    record = ResultsAgent({"output": "x=3\n", "metrics": ["x"]}).run(ctx, "m")
    assert record.outputs["metrics"] == {"x": "3"}
    # One worker of fractale's own: this Python, isolated, with the pattern on its stdin only.
    assert [argv[:3] for argv in started] == [[sys.executable, "-I", "-c"]]
    assert not any(hostile in part for argv in started for part in argv)


def test_a_pattern_that_backtracks_forever_fails_the_step_instead_of_hanging(
    replay, context, fenced, monkeypatch
):
    monkeypatch.setattr(results, "PATTERN_SECONDS", 1.0)
    patterns = {"metrics": {"x": {"pattern": r"^(a+)+$"}}}
    ctx = context(replay([{"agent": "results", "text": fenced(json.dumps(patterns))}]),
                  max_attempts=1)
    started = time.monotonic()
    record = ResultsAgent({"output": "a" * 35 + "!", "metrics": ["x"]}).run(ctx, "m")
    assert time.monotonic() - started < 20
    assert record.status == "failed"
    assert "ran for over 1 s without an answer (catastrophic backtracking?)" in record.message


def test_commands_are_argument_lists_without_a_shell_and_model_text_stays_in_files(
    replay, context, tmp_path, fenced, monkeypatch
):
    started: list[tuple[list[str], dict]] = []
    real_popen = subprocess.Popen

    def watch(argv, **kwargs):
        started.append((argv, kwargs))
        return real_popen(argv, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", watch)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text("#!/bin/sh\nexit 0\n")
    docker.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    hostile = 'FROM alpine\nRUN echo "$(id)"; rm -rf "$HOME/nothing"\n'
    ctx = context(replay([{"agent": "build", "text": fenced(hostile)}]))
    BuildAgent({"app": "x; touch /tmp/fractale-pwned", "builder": "docker"}).run(ctx, "image")
    assert [argv[:2] for argv, _ in started] == [["docker", "info"], ["docker", "build"]]
    for argv, kwargs in started:
        assert isinstance(argv, list)
        assert kwargs.get("shell", False) is False
        assert not any("rm -rf" in part or "touch /tmp" in part for part in argv)

