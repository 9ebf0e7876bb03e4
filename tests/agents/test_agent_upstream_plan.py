"""Upstream fractale's plans (``plan: [{agent, context}]``) read as fractale's steps."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml
from fractale.agents.plan import load_plan
from fractale.agents.prices import BUNDLED, load_prices
from fractale.agents.steps.cost import CostAgent
from fractale.errors import AgentError
from fractale_command import run

# Written the way upstream's examples are: a build, then a Job, contexts free-form.
BUILD_AND_RUN = """\
name: Build and Deploy LAMMPS
description: Build a container and run it as a Kubernetes Job.
plan:
- agent: build
  context:
    environment: "a cloud CPU instance in Kubernetes"
    application: lammps
    container: ghcr.io/example/lammps:reax
    max_attempts: 10
    details: |
      Clone the latest release of LAMMPS.
- agent: kubernetes-job
  context:
    details: Run in.reaxff.hns with lmp -in in.reaxff.hns -nocite
    no_pull: true
"""


def plan_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_upstream_agents_become_fractale_steps_with_their_context_as_inputs(tmp_path):
    plan = load_plan(plan_file(tmp_path, BUILD_AND_RUN))
    assert (plan.name, plan.description) == (
        "Build and Deploy LAMMPS", "Build a container and run it as a Kubernetes Job.")
    build, job = plan.steps
    assert (build.name, build.agent, build.attempts) == ("build", "build", 10)
    assert build.inputs == {
        "app": "lammps",
        "tag": "ghcr.io/example/lammps:reax",
        "notes": "environment: a cloud CPU instance in Kubernetes\n"
                 "details: Clone the latest release of LAMMPS.",
    }
    assert (job.agent, job.attempts) == ("kubernetes-job", None)
    assert job.inputs == {
        "app": "Run in.reaxff.hns with lmp -in in.reaxff.hns -nocite",
        "notes": "no_pull: True",
        # the image the build step makes, as upstream hands it on in its shared context
        "image": "${steps.build.image}",
    }


def test_flux_batch_is_the_batch_step_on_flux(tmp_path):
    plan = load_plan(plan_file(tmp_path, """\
        name: flux
        plan:
        - agent: flux-batch
          context:
            instruction: Run lammps on 2 nodes, 8 cores.
        """))
    (step,) = plan.steps
    assert (step.agent, step.inputs) == (
        "batch", {"scheduler": "flux", "app": "Run lammps on 2 nodes, 8 cores."})


def test_an_upstream_agent_fractale_lacks_is_named_with_its_line(tmp_path):
    text = BUILD_AND_RUN.replace("- agent: kubernetes-job", "- agent: manager")
    with pytest.raises(AgentError) as caught:
        load_plan(plan_file(tmp_path, text))
    problem = str(caught.value).splitlines()[1]
    assert problem.startswith(
        f"{tmp_path / 'plan.yaml'}:12: plan item 2: upstream agent 'manager' has no fractale "
        "step yet (upstream it orchestrates other agents as a step of a plan); fractale runs "
        "upstream's build, kubernetes-job, flux-batch, minicluster, cost and its own transform")


def test_a_plan_of_only_unknown_agents_reports_them_alone(tmp_path):
    with pytest.raises(AgentError) as caught:
        load_plan(plan_file(tmp_path, "name: c\nplan:\n- agent: autopilot\n  context: {}\n"))
    problems = str(caught.value).splitlines()[1:]
    assert len(problems) == 1 and "upstream agent 'autopilot'" in problems[0]


def test_a_minicluster_runs_the_image_the_build_made(tmp_path):
    text = BUILD_AND_RUN.replace("- agent: kubernetes-job", "- agent: minicluster")
    build, minicluster = load_plan(plan_file(tmp_path, text)).steps
    assert minicluster.agent == "minicluster"
    assert minicluster.inputs["image"] == "${steps.build.image}"


def test_what_an_upstream_context_lacks_for_a_fractale_agent_is_reported(tmp_path):
    with pytest.raises(AgentError, match="the results agent needs input 'metrics'"):
        load_plan(plan_file(tmp_path, """\
            name: metrics
            plan:
            - agent: results
              context:
                output_file: log.lammps
            """))


def test_a_context_without_anything_to_run_and_unknown_keys_are_reported(tmp_path):
    with pytest.raises(AgentError) as caught:
        load_plan(plan_file(tmp_path, """\
            name: empty
            goal: nothing
            steps_taken: 3
            plan:
            - agent: build
              context:
                max_attempts: 2
              when: now
            """))
    problems = str(caught.value).splitlines()[1:]
    assert problems == [
        f"{tmp_path / 'plan.yaml'}:3: unknown key 'steps_taken' (an upstream plan has name, "
        "description, goal, plan)",
        f"{tmp_path / 'plan.yaml'}:8: plan item 1: unknown key 'when' (an upstream step has "
        "agent and context)",
        f"{tmp_path / 'plan.yaml'}:7: plan item 1: the context needs instruction, application "
        "or details: what to run",
    ]


def test_fractales_own_steps_take_their_context_as_inputs(tmp_path):
    plan = load_plan(plan_file(tmp_path, """\
        name: metrics
        plan:
        - agent: results
          context:
            output_file: log.lammps
            metrics: [wall_time]
        """))
    assert plan.steps[0].inputs == {"output_file": "log.lammps", "metrics": ["wall_time"]}


def test_an_upstream_cost_step_given_prices_is_fractales_cost_agent(tmp_path):
    plan = load_plan(plan_file(tmp_path, """\
        name: cost
        plan:
        - agent: cost
          context:
            instruction: Find the cheapest instance type for LAMMPS.
            prices: "c7a.12xlarge: {cpus: 48, memory_gb: 96, price: 2.46}"
        """))
    assert plan.steps[0].inputs == {
        "app": "Find the cheapest instance type for LAMMPS.",
        "prices": "c7a.12xlarge: {cpus: 48, memory_gb: 96, price: 2.46}"}


# A cost step as upstream users write one: the instruction alone, the model left to know
# the clouds' prices.
COST_AS_UPSTREAM_WRITES_IT = """\
name: Cheapest clouds for two proxy apps
description: Cost estimates for AMG2023 and Kripke
plan:

- agent: cost
  context:
    instruction: |
       For AMG2023 and for Kripke, pick the instance type that runs each well at the least
       cost, on Amazon Web Services and on Google Cloud.
"""


def test_an_upstream_cost_step_without_prices_is_priced_from_fractales_own_table(tmp_path):
    (step,) = load_plan(plan_file(tmp_path, COST_AS_UPSTREAM_WRITES_IT)).steps
    assert step.agent == "cost" and "prices" not in step.inputs
    assert step.inputs["app"].startswith("For AMG2023 and for Kripke")
    agent = CostAgent(step.inputs)
    assert agent.table.path == BUNDLED
    # The clouds upstream's cost plans name, CPU and GPU instances of each.
    table = load_prices(BUNDLED).instances.values()
    assert {(i.provider, i.gpus > 0) for i in table} == {
        ("aws", False), ("aws", True), ("gcp", False), ("gcp", True)}
    assert "fractale's bundled table" in agent.goal()


def test_fractale_agent_check_accepts_the_upstream_cost_plan_as_written(tmp_path):
    plan = plan_file(tmp_path, COST_AS_UPSTREAM_WRITES_IT)
    done = run("agent", "check", str(plan), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "valid plan 'Cheapest clouds for two proxy apps' with 1 step(s)" in done.stdout


def test_the_upstream_cost_plan_runs_offline_and_fractale_prices_the_answer(tmp_path):
    plan = plan_file(tmp_path, COST_AS_UPSTREAM_WRITES_IT)
    options = [
        {"instance": "hpc6a.48xlarge", "count": 2, "hours": 1.5, "estimate_usd": 8.64,
         "reason": "AMG2023 is memory-bandwidth bound; EFA for its MPI"},
        {"instance": "h3-standard-88", "count": 2, "hours": 1.5, "estimate_usd": 14.76,
         "reason": "Kripke on Google Cloud's HPC machine"},
    ]
    replay = tmp_path / "replay.yaml"
    replay.write_text(yaml.safe_dump({"model": "claude-sonnet-5-5", "responses": [
        {"agent": "cost", "expect": "hpc7a.96xlarge",
         "text": json.dumps({"options": options, "assumptions": "about 1.5 h each"})}]}))
    done = run("agent", "run", str(plan), "--replay", str(replay), "--dry-run",
               "--results", str(tmp_path / "results"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (estimate,) = tmp_path.rglob("estimate.json")
    document = json.loads(estimate.read_text())
    assert document["prices"] == str(BUNDLED)
    assert [(o["instance"], o["cost"]) for o in document["options"]] == [
        ("hpc6a.48xlarge", 8.64), ("h3-standard-88", 14.76)]
