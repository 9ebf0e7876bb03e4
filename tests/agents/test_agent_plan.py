"""Plans are checked before anything runs; every problem comes with its line."""

from __future__ import annotations

from pathlib import Path

import pytest
from fractale.agents.plan import load_plan
from fractale.errors import AgentError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "plans"


def plan_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    return path


PLANS = sorted(path for path in EXAMPLES.glob("*.yaml") if not path.name.endswith(".replay.yaml"))


@pytest.mark.parametrize("path", PLANS, ids=lambda p: p.name)
def test_every_example_plan_is_valid(path):
    plan = load_plan(path, overrides={"pbs_script": "job.pbs"})
    assert plan.steps


def test_a_valid_plan_keeps_its_steps_inputs_and_failure_actions(tmp_path):
    plan = load_plan(
        plan_file(
            tmp_path,
            """\
name: two
inputs: {app: hostname}
steps:
  - name: run
    agent: batch
    inputs: {app: "${inputs.app}", scheduler: slurm}
    attempts: 2
  - name: numbers
    agent: results
    inputs: {output: "${steps.run.output}", metrics: [wall_time]}
    success: {returncode: 0}
    on_failure: {action: back, to: run, times: 2}
""",
        )
    )
    assert [step.name for step in plan.steps] == ["run", "numbers"]
    assert plan.steps[0].attempts == 2
    assert plan.steps[0].on_failure.action == "stop"
    back = plan.steps[1].on_failure
    assert (back.action, back.to, back.times) == ("back", "run", 2)


@pytest.mark.parametrize(
    "text, line, problem",
    [
        (
            "steps:\n  - name: a\n    agent: batchy\n    inputs: {app: x}\n",
            3,
            "agent 'batchy' is not one of",
        ),
        (
            "steps:\n  - name: a\n    agent: batch\n    inputs:\n      app: x\n      nodez: 2\n",
            6,
            "the batch agent has no input 'nodez'",
        ),
        (
            "steps:\n  - name: a\n    agent: build\n    inputs: {tag: x}\n",
            4,
            "the build agent needs input 'app'",
        ),
        (
            "steps:\n  - name: a\n    agent: build\n    inputs: {app: x}\n"
            "    on_failure: {action: back, to: b}\n",
            5,
            "goes back to 'b', which is not an earlier step",
        ),
        (
            "steps:\n  - name: a\n    agent: build\n    inputs:\n      app: ${steps.later.image}\n",
            5,
            "refers to 'later', which is not an earlier step",
        ),
        (
            "steps:\n  - name: a\n    agent: build\n    inputs: {app: x}\n"
            "  - name: b\n    agent: results\n    inputs:\n"
            "      output: ${steps.a.logs}\n      metrics: [m]\n",
            8,
            "the build agent has no output 'logs'",
        ),
        (
            "steps:\n  - name: a\n    agent: build\n    inputs: {app: '${inputs.missing}'}\n",
            4,
            "names no plan input",
        ),
        (
            "steps:\n  - name: a\n    agent: build\n    inputs: {app: x}\n    attempts: 0\n",
            5,
            "attempts is a positive integer",
        ),
        (
            "steps:\n  - name: a\n    agent: build\n    inputs: {app: x}\n"
            "    success: {exit: 0}\n",
            5,
            "unknown success condition 'exit'",
        ),
        (
            "steps:\n  - name: a\n    agent: build\n    inputs: {app: x}\n"
            "    on_failure: ignore\n",
            5,
            "on_failure is stop, retry, ask or a mapping",
        ),
        (
            "steps:\n  - name: a\n    agent: build\n    inputs: {app: x}\n"
            "  - name: a\n    agent: build\n    inputs: {app: y}\n",
            5,
            "two steps are named 'a'",
        ),
        (
            "steps:\n  - name: s\n    agent: scale\n"
            "    inputs: {app: x, scheduler: slurm, sizes: [4, 2]}\n",
            4,
            "step 's': sizes go up without repeats, not [4, 2]",
        ),
        (
            "steps:\n  - name: t\n    agent: optimize\n    inputs:\n      app: x\n"
            "      scheduler: slurm\n      fom: rate\n"
            "      parameters: {tasks: {kind: tasks, min: 1, max: 2}}\n"
            "      start: {tasks: 3}\n",
            4,
            "step 't': the start configuration: tasks=3 is outside 1..2",
        ),
        ("stepz: []\n", 1, "unknown key 'stepz'"),
        ("name: x\nsteps:\n  - agent: build\n   inputs: {}\n", 4, "not valid YAML"),
    ],
)
def test_invalid_plans_are_rejected_with_line_and_problem(tmp_path, text, line, problem):
    path = plan_file(tmp_path, text)
    with pytest.raises(AgentError) as caught:
        load_plan(path)
    assert f"{path}:{line}: " in str(caught.value)
    assert problem in str(caught.value)


def test_every_problem_of_a_plan_is_reported_at_once(tmp_path):
    path = plan_file(
        tmp_path,
        "steps:\n  - name: a\n    agent: nope\n  - name: b\n    agent: build\n    inputs: {}\n",
    )
    with pytest.raises(AgentError) as caught:
        load_plan(path)
    assert f"{path}:3: " in str(caught.value)
    assert f"{path}:6: step 'b': the build agent needs input 'app'" in str(caught.value)


def test_set_overrides_supply_plan_inputs(tmp_path):
    path = plan_file(
        tmp_path, "steps:\n  - name: a\n    agent: build\n    inputs: {app: '${inputs.app}'}\n"
    )
    plan = load_plan(path, overrides={"app": "lammps"})
    assert plan.inputs == {"app": "lammps"}


def test_a_success_condition_names_what_an_outcome_misses():
    from fractale.agents.conditions import Condition, Outcome

    condition = Condition({"state": "COMPLETED", "output_matches": r"^energy: -?\d+"})
    done = Outcome(True, output="energy: -42\n", state="COMPLETED", executed=True)
    assert condition.unmet(done) is None
    timed_out = Outcome(True, output="energy: -42\n", state="TIMEOUT", executed=True)
    assert condition.unmet(timed_out) == "state TIMEOUT, the plan wants COMPLETED"
    silent = Outcome(True, output="", state="COMPLETED", executed=True)
    assert condition.unmet(silent) == "the output does not match '^energy: -?\\\\d+'"
