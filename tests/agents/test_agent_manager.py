"""The manager follows a plan and acts on a failed step as the plan says."""

from __future__ import annotations

import json

import pytest
from fractale.agents.manager import Manager
from fractale.agents.plan import load_plan
from fractale.errors import AgentError, BudgetExceeded

JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: hello
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: hello
          image: busybox:1.36
          command: ["echo", "hello"]
"""
BROKEN_JOB = JOB.replace("restartPolicy: Never", "restartPolicy: Never\n      retries: 2")


@pytest.fixture(autouse=True)
def cluster(kube_cluster):
    """A Kubernetes cluster (a stand-in kubectl) on which every Job completes."""
    return kube_cluster()


def plan(tmp_path, text):
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    return load_plan(path)


def test_retry_gives_a_failed_step_another_round_from_the_helpers_fix(
    tmp_path, replay, context, fenced
):
    loaded = plan(
        tmp_path,
        """\
steps:
  - name: job
    agent: kubernetes-job
    inputs: {app: echo hello}
    attempts: 1
    on_failure: {action: retry, times: 1}
""",
    )
    ctx = context(
        replay(
            [
                {"agent": "kubernetes-job", "text": fenced(BROKEN_JOB)},
                {"agent": "helper", "text": fenced(JOB) + "Explanation: no retries field.\n"},
            ]
        )
    )
    run = Manager(loaded, ctx).run()
    assert run.status == "succeeded"
    record = run.records["job"]
    assert [attempt.number for attempt in record.attempts] == [1, 2]
    assert record.attempts[1].origin.startswith("helper:")
    assert [entry["status"] for entry in run.history] == ["failed", "succeeded"]


def test_stop_ends_the_plan_at_the_failed_step(tmp_path, replay, context, fenced):
    loaded = plan(
        tmp_path,
        """\
steps:
  - name: job
    agent: kubernetes-job
    inputs: {app: echo hello}
    attempts: 1
  - name: never
    agent: build
    inputs: {app: hello}
""",
    )
    ctx = context(replay([{"agent": "kubernetes-job", "text": fenced(BROKEN_JOB)}]))
    run = Manager(loaded, ctx).run()
    assert run.status == "failed"
    assert "step 'job' failed" in run.message
    assert "never" not in run.records
    summary = json.loads((tmp_path / "results" / "plan.json").read_text())
    assert summary["status"] == "failed"
    assert summary["steps"] == {"job": "failed"}


def test_going_back_reruns_the_earlier_step_told_what_failed_after_it(
    tmp_path, replay, context, fenced
):
    loaded = plan(
        tmp_path,
        """\
steps:
  - name: job
    agent: kubernetes-job
    inputs: {app: print the answer}
  - name: answer
    agent: results
    inputs:
      output: ${steps.job.artifact}
      metrics: [answer]
    attempts: 1
    on_failure: {action: back, to: job}
""",
    )
    answered = JOB.replace('["echo", "hello"]', '["echo", "answer=42"]')
    pattern = fenced(json.dumps({"metrics": {"answer": {"pattern": "answer=(\\d+)"}}}))
    ctx = context(
        replay(
            [
                {"agent": "kubernetes-job", "text": fenced(JOB)},
                {"agent": "results", "text": pattern},
                {"agent": "kubernetes-job", "expect": "Step 'answer' (results) failed after it",
                 "text": fenced(answered)},
                {"agent": "results", "text": pattern},
            ]
        )
    )
    run = Manager(loaded, ctx).run()
    assert run.status == "succeeded"
    assert [(entry["step"], entry["status"]) for entry in run.history] == [
        ("job", "succeeded"),
        ("answer", "failed"),
        ("job", "succeeded"),
        ("answer", "succeeded"),
    ]
    assert run.records["answer"].outputs["metrics"] == {"answer": "42"}


def test_going_back_is_limited_by_times(tmp_path, replay, context, fenced):
    loaded = plan(
        tmp_path,
        """\
steps:
  - name: job
    agent: kubernetes-job
    inputs: {app: print the answer}
  - name: answer
    agent: results
    inputs: {output: "${steps.job.artifact}", metrics: [answer]}
    attempts: 1
    on_failure: {action: back, to: job, times: 1}
""",
    )
    pattern = fenced(json.dumps({"metrics": {"answer": {"pattern": "answer=(\\d+)"}}}))
    ctx = context(
        replay(
            [
                {"agent": "kubernetes-job", "text": fenced(JOB)},
                {"agent": "results", "text": pattern},
                {"agent": "kubernetes-job", "text": fenced(JOB)},
                {"agent": "results", "text": pattern},
            ]
        )
    )
    run = Manager(loaded, ctx).run()
    assert run.status == "failed"
    assert "on_failure back used 1 of 1 times" in run.message


def test_budget_stops_the_plan_before_the_call_that_could_exceed_it(
    tmp_path, replay, context, fenced
):
    loaded = plan(
        tmp_path,
        "steps:\n  - name: job\n    agent: kubernetes-job\n    inputs: {app: echo hello}\n",
    )
    ctx = context(replay([{"agent": "kubernetes-job", "text": fenced(JOB)}]), budget=0.001)
    with pytest.raises(BudgetExceeded):
        Manager(loaded, ctx).run()
    assert ctx.llm.ledger.totals.calls == 0
    record = json.loads((tmp_path / "results" / "job.json").read_text())
    assert record["status"] == "stopped"
    assert "budget" in record["message"]


ASK_PLAN = """\
steps:
  - name: job
    agent: kubernetes-job
    inputs: {app: print the answer}
  - name: answer
    agent: results
    inputs: {output: "${steps.job.logs}", metrics: [answer]}
    attempts: 1
    on_failure: {action: ask, times: 2}
"""


def test_ask_lets_the_model_choose_to_go_back_and_records_why(
    tmp_path, replay, context, fenced, kube_cluster
):
    kube_cluster(logs="answer=42")
    loaded = plan(tmp_path, ASK_PLAN)
    wrong = fenced(json.dumps({"metrics": {"answer": {"pattern": "reply=(\\d+)"}}}))
    right = fenced(json.dumps({"metrics": {"answer": {"pattern": "answer=(\\d+)"}}}))
    decision = {"action": "back", "to": "job", "reason": "the Job printed no answer"}
    ctx = context(
        replay(
            [
                {"agent": "kubernetes-job", "text": fenced(JOB)},
                {"agent": "results", "text": wrong},
                {"agent": "manager", "expect": "Step 'answer' (results) failed",
                 "text": json.dumps({**decision, "to": "nowhere"})},
                {"agent": "manager", "expect": "going back needs 'to', one of the earlier",
                 "text": json.dumps(decision)},
                {"agent": "kubernetes-job", "expect": "Step 'answer' (results) failed after it",
                 "text": fenced(JOB)},
                {"agent": "results", "text": right},
            ]
        )
    )
    run = Manager(loaded, ctx).run()
    assert run.status == "succeeded"
    assert run.decisions[0]["action"] == "back" and run.decisions[0]["to"] == "job"
    assert run.decisions[0]["reason"] == "the Job printed no answer"
    assert run.records["answer"].outputs["metrics"] == {"answer": "42"}
    summary = json.loads((tmp_path / "results" / "plan.json").read_text())
    assert summary["decisions"][0]["action"] == "back"


def test_ask_lets_the_model_stop_the_plan(tmp_path, replay, context, fenced):
    loaded = plan(tmp_path, ASK_PLAN)
    wrong = fenced(json.dumps({"metrics": {"answer": {"pattern": "reply=(\\d+)"}}}))
    ctx = context(
        replay(
            [
                {"agent": "kubernetes-job", "text": fenced(JOB)},
                {"agent": "results", "text": wrong},
                {"agent": "manager",
                 "text": json.dumps({"action": "stop", "to": "", "reason": "no answer exists"})},
            ]
        )
    )
    run = Manager(loaded, ctx).run()
    assert run.status == "failed"
    assert run.message.endswith("(the model chose to stop: no answer exists)")


def test_plans_may_ask_but_not_name_a_step_when_asking(tmp_path):
    assert plan(tmp_path, ASK_PLAN).steps[1].on_failure.action == "ask"
    with pytest.raises(AgentError, match="on_failure ask takes no 'to'"):
        plan(tmp_path, ASK_PLAN.replace("{action: ask, times: 2}", "{action: ask, to: job}"))


def test_plans_can_use_the_research_agents(tmp_path):
    loaded = plan(
        tmp_path,
        """\
steps:
  - name: price
    agent: cost
    inputs: {app: pi, prices: prices.yaml}
  - name: tune
    agent: optimize
    inputs:
      app: pi
      scheduler: slurm
      parameters: {tasks: {kind: tasks, min: 1, max: 2}}
      fom: rate
  - name: study
    agent: scale
    inputs: {app: "pi at ${steps.tune.best}", scheduler: slurm, sizes: [1, 2]}
  - name: cluster
    agent: minicluster
    inputs: {app: "pi, ${steps.price.cheapest}", size: 2}
""",
    )
    assert [step.agent for step in loaded.steps] == ["cost", "optimize", "scale", "minicluster"]
    with pytest.raises(AgentError, match="the scale agent has no output 'best'"):
        plan(
            tmp_path,
            "steps:\n  - name: s\n    agent: scale\n    inputs: {app: x, sizes: [1, 2]}\n"
            "  - name: t\n    agent: build\n    inputs: {app: '${steps.s.best}'}\n",
        )
