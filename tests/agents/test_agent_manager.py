"""The manager follows a plan and acts on a failed step as the plan says."""

from __future__ import annotations

import json

import pytest
from fractale.agents.manager import Manager
from fractale.agents.plan import load_plan
from fractale.errors import BudgetExceeded

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
