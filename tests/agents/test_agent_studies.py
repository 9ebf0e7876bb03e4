"""The optimize and scale studies' rules, offline: the runs replaced by a known landscape.

``Bench.measure`` (one job and one metric reading) is replaced by a function of the
configuration, so the search, the stop rules and the scaling arithmetic are checked on
figures known in advance; the real jobs are in test_agent_studies_slurm.py.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from fractale.agents.studies.measure import Bench, Measurement
from fractale.agents.studies.optimize import OptimizeAgent
from fractale.agents.studies.scale import ScaleAgent, scaling, sizes_of
from fractale.errors import AgentError

PARAMETERS = {
    "tasks": {"kind": "tasks", "min": 1, "max": 4},
    "chunk": {"kind": "flag", "min": 1000, "max": 100000},
}


@pytest.fixture
def landscape(monkeypatch):
    """Replace each run by ``figure(config)`` (None: the run failed); returns the runs made."""
    runs: list[dict] = []

    def install(figure, unit="units"):
        def measure(self, ctx, step, label, config, batch):
            runs.append({"label": label, "config": dict(config), "batch": batch})
            value = figure(config)
            self.unit = unit
            if value is None:
                return Measurement(label, config, "failed", message="job 7 ended FAILED")
            return Measurement(label, config, "measured", float(value), jobid=str(len(runs)))

        monkeypatch.setattr(Bench, "measure", measure)
        return runs

    return install


def propose(tasks, chunk, stop=False, reason="next"):
    return json.dumps(
        {"parameters": {"tasks": tasks, "chunk": chunk}, "stop": stop, "reason": reason}
    )


def optimizer(**inputs):
    base = {
        "app": "the pi kernel",
        "scheduler": "slurm",
        "parameters": PARAMETERS,
        "fom": "rate: intervals per second",
    }
    return OptimizeAgent({**base, **inputs})


def test_optimize_stops_when_the_target_is_reached(landscape, replay, context):
    runs = landscape(lambda c: c["tasks"] * 10)
    ctx = context(
        replay(
            [
                {"agent": "optimize", "expect": "round 1: tasks=1 chunk=1000 -> rate = 10 units",
                 "text": propose(2, 1000)},
                {"agent": "optimize", "text": propose(4, 1000)},
            ]
        )
    )
    record = optimizer(start={"tasks": 1, "chunk": 1000}, target=40).run(ctx, "tune")
    assert record.status == "succeeded"
    assert [run["config"]["tasks"] for run in runs] == [1, 2, 4]
    assert record.outputs["stop_reason"] == "the target 40 was reached in round 3"
    assert record.outputs["best"] == {"tasks": 4, "chunk": 1000}
    assert record.outputs["best_value"] == 40
    # Job geometry reaches the batch step as its own input; flags are described.
    assert runs[2]["batch"]["tasks"] == 4
    assert "application flag --chunk 1000" in runs[2]["batch"]["app"]


def test_optimize_stops_after_patience_rounds_without_improvement(landscape, replay, context):
    landscape(lambda c: 100 - c["tasks"])
    ctx = context(replay([{"agent": "optimize", "text": propose(t, 1000)} for t in (2, 3, 4)]))
    record = optimizer(start={"tasks": 1, "chunk": 1000}, patience=2).run(ctx, "tune")
    assert len(record.outputs["rounds"]) == 3
    assert record.outputs["stop_reason"] == "no improvement in the last 2 round(s)"
    assert record.outputs["best_round"] == 1


def test_minimize_keeps_the_lowest_and_the_round_limit_ends_the_search(
    landscape, replay, context
):
    landscape(lambda c: abs(c["chunk"] - 20000))
    ctx = context(
        replay([{"agent": "optimize", "text": propose(1, chunk)} for chunk in (10000, 20000)])
    )
    record = optimizer(start={"tasks": 1, "chunk": 50000}, goal="minimize", rounds=3).run(
        ctx, "tune"
    )
    assert record.outputs["stop_reason"] == "the round limit (3) was reached"
    assert record.outputs["best"] == {"tasks": 1, "chunk": 20000}
    assert record.outputs["best_value"] == 0


def test_the_study_budget_stops_the_search_and_keeps_the_best(landscape, replay, context):
    landscape(lambda c: c["tasks"])
    # Each proposal costs 100,000 input tokens at $2 per million: $0.20.
    costly = {"input_tokens": 100_000, "output_tokens": 0}
    ctx = context(
        replay(
            [{"agent": "optimize", "text": propose(t, 1000), "usage": costly} for t in (1, 2, 3)]
        )
    )
    record = optimizer(budget=0.3).run(ctx, "tune")
    assert [r["config"]["tasks"] for r in record.outputs["rounds"]] == [1, 2]
    assert record.outputs["stop_reason"] == "the study's model budget ($0.30) is spent ($0.4000)"
    assert record.outputs["best_value"] == 2


def test_a_failed_round_is_shown_to_the_model_and_the_model_may_stop(landscape, replay, context):
    landscape(lambda c: None if c["tasks"] == 4 else c["tasks"])
    ctx = context(
        replay(
            [
                {"agent": "optimize", "text": propose(4, 1000)},
                {"agent": "optimize", "expect": "round 2: tasks=4 chunk=1000 -> failed: job 7",
                 "text": propose(1, 1000, stop=True, reason="more tasks fail")},
            ]
        )
    )
    record = optimizer(start={"tasks": 2, "chunk": 1000}).run(ctx, "tune")
    assert record.status == "succeeded"
    assert [r["status"] for r in record.outputs["rounds"]] == ["measured", "failed"]
    assert record.outputs["stop_reason"] == (
        "the model judged that nothing will improve: more tasks fail"
    )
    assert "job 7 ended FAILED" in record.outputs["table"]


def test_unusable_proposals_use_the_attempts_and_end_the_search(landscape, replay, context):
    landscape(lambda c: c["tasks"])
    ctx = context(
        replay(
            [
                {"agent": "optimize", "text": "tasks two please"},
                {"agent": "optimize", "expect": "not valid JSON",
                 "text": propose(2, 500)},
                {"agent": "optimize", "expect": "chunk=500 is outside 1000..100000",
                 "text": propose(2, 1000), "truncated": True},
            ]
        ),
        max_attempts=3,
    )
    record = optimizer(start={"tasks": 1, "chunk": 1000}).run(ctx, "tune")
    assert record.status == "succeeded"
    assert record.outputs["stop_reason"] == "the model gave no usable proposal in 3 answers"
    rejected = json.loads(Path(record.outputs["json_path"]).read_text())["rejected_answers"]
    assert len(rejected) == 3
    assert "cut off at the token limit" in rejected[2]


def test_when_no_round_can_be_measured_the_study_fails(landscape, replay, context):
    landscape(lambda c: None)
    ctx = context(replay([]))
    record = optimizer(start={"tasks": 1, "chunk": 1000}, patience=1).run(ctx, "tune")
    assert record.status == "failed"
    assert record.message.startswith("no configuration could be measured")
    assert record.outputs["best"] is None


def test_the_proposal_request_carries_a_schema_of_the_parameters(landscape, tmp_path):
    from fractale.agents.base import Context
    from test_agent_sturdy import Scripted

    landscape(lambda c: 1)
    llm = Scripted(propose(1, 1000), propose(1, 1000, stop=True))
    record = optimizer().run(Context(llm=llm, workdir=tmp_path), "tune")
    assert record.status == "succeeded"
    schema = llm.requests[0].schema
    assert schema["properties"]["parameters"]["required"] == ["tasks", "chunk"]
    assert schema["properties"]["parameters"]["properties"]["tasks"] == {"type": "integer"}


def test_a_template_is_filled_with_the_configuration(landscape, replay, context):
    runs = landscape(lambda c: 1)
    template = "#!/bin/bash\n#SBATCH --ntasks={{tasks}}\npi --chunk {{ chunk }}\n"
    ctx = context(replay([]))
    optimizer(start={"tasks": 3, "chunk": 4000}, script=template, rounds=1).run(ctx, "tune")
    assert runs[0]["batch"]["script"] == "#!/bin/bash\n#SBATCH --ntasks=3\npi --chunk 4000\n"


@pytest.mark.parametrize(
    "inputs, message",
    [
        ({"parameters": {"t": {"kind": "cores", "min": 1, "max": 2}}},
         "kind is one of nodes, tasks, env, flag"),
        ({"parameters": {"t": {"min": 4, "max": 2}}}, "needs numbers min <= max"),
        ({"parameters": {"t": {"kind": "tasks", "min": 0, "max": 2}}},
         "tasks are whole numbers of at least 1"),
        ({"start": {"tasks": 9, "chunk": 1000}}, "tasks=9 is outside 1..4"),
        ({"script": "run --x {{threads}}"}, "{{threads}}, which names no parameter"),
        ({"goal": "fastest"}, "goal is maximize or minimize"),
        ({"patience": 0}, "patience must be at least 1"),
    ],
)
def test_bad_optimize_inputs_are_refused_before_anything_runs(inputs, message):
    with pytest.raises(AgentError, match=message.replace("{", r"\{").replace("(", r"\(")):
        optimizer(**inputs)


# --- scale ---------------------------------------------------------------------------


def test_strong_and_weak_scaling_arithmetic():
    strong = scaling("strong", True, 1, 10.0, 4, 4.0)
    assert (strong.ideal, strong.speedup, strong.efficiency) == (4.0, 2.5, 0.625)
    weak = scaling("weak", True, 2, 10.0, 8, 12.5)
    assert (weak.ideal, weak.efficiency, weak.speedup) == (4.0, 0.8, 3.2)
    rate = scaling("strong", False, 1, 100.0, 2, 180.0)
    assert (rate.speedup, rate.efficiency) == (1.8, 0.9)


def scaler(**inputs):
    return ScaleAgent({"app": "the pi kernel", "scheduler": "slurm", **inputs})


def test_scaling_stops_after_the_first_size_below_the_threshold(landscape, replay, context):
    times = {1: 10.0, 2: 6.0, 4: 5.0, 8: 4.0, 16: 3.9}
    runs = landscape(lambda c: times[c["tasks"]], unit="s")
    record = scaler(sizes=[1, 2, 4, 8, 16], threshold=0.5).run(context(replay([])), "strong")
    assert [run["config"]["tasks"] for run in runs] == [1, 2, 4, 8]
    rows = record.outputs["rows"]
    assert [row["efficiency"] for row in rows] == [1.0, pytest.approx(10 / 6 / 2), 0.5, 0.3125]
    assert record.outputs["stop_reason"] == "efficiency 0.31 at 8 tasks fell below 0.5"
    table = record.outputs["table"].splitlines()
    assert table[1].split() == ["tasks", "time", "(s)", "ideal", "speedup", "efficiency", "note"]
    assert table[6].split() == ["8", "4", "8.00", "2.50", "0.31", "below", "threshold"]
    assert table[7].split() == ["16", "-", "-", "-", "-", "not", "run"]
    # Sizes spanning 16x are plotted on log2 axes, every measured size a tick.
    svg = ElementTree.parse(record.outputs["plot_path"]).getroot()
    labels = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert labels.count("8") >= 2 and "16" not in labels


def test_a_size_that_cannot_be_measured_ends_the_study(landscape, replay, context):
    runs = landscape(lambda c: {1: 8.0, 2: 4.4}.get(c["nodes"]))
    record = scaler(sizes="1,2,4,8", dimension="nodes").run(context(replay([])), "s")
    assert record.status == "succeeded"
    assert len(runs) == 3
    assert runs[1]["batch"]["nodes"] == 2
    assert record.outputs["stop_reason"] == "size 4 could not be measured: job 7 ended FAILED"


def test_a_study_whose_first_size_fails_has_no_plot_and_fails(landscape, replay, context):
    landscape(lambda c: None)
    record = scaler(sizes=[1, 2]).run(context(replay([])), "s")
    assert record.status == "failed"
    assert record.outputs["plot_path"] is None


def test_weak_scaling_tells_the_model_how_the_problem_grows(landscape, replay, context):
    runs = landscape(lambda c: 5.0)
    scaler(sizes=[2, 8], mode="weak").run(context(replay([])), "w")
    assert "grown to 4 times that of the 2-task run" in runs[1]["batch"]["app"]


def test_a_dry_run_study_writes_the_first_script_and_runs_nothing(
    replay, context, fenced, no_processes
):
    script = "#!/bin/bash\n#SBATCH --ntasks=1\npython3 pi.py\n"
    ctx = context(replay([{"agent": "batch", "text": fenced(script)}]), dry_run=True)
    record = scaler(sizes=[1, 2]).run(ctx, "s")
    assert record.status == "dry-run"
    assert record.outputs["rows"][0]["status"] == "dry-run"


@pytest.mark.parametrize(
    "sizes, message",
    [([4], "at least two sizes"), ([2, 1], "go up without repeats"), ("1,x", "whole numbers")],
)
def test_bad_sizes_are_refused(sizes, message):
    with pytest.raises(AgentError, match=message):
        sizes_of(sizes)


def test_environment_and_choice_parameters_reach_the_run_and_the_schema(landscape, replay, context):
    runs = landscape(lambda c: c["threads"])
    agent = optimizer(
        parameters={
            "threads": {"kind": "env", "choices": [1, 2, 4]},
            "mode": {"choices": ["fast", "safe"], "flag": "--mode"},
        },
        start={"threads": 4, "mode": "fast"},
        rounds=1,
    )
    assert agent.schema()["properties"]["parameters"]["properties"]["threads"] == {
        "enum": [1, 2, 4]
    }
    agent.run(context(replay([])), "tune")
    assert runs[0]["batch"]["app"].endswith(
        "Run exactly this configuration: environment variable threads=4; "
        "application flag --mode fast."
    )
    with pytest.raises(AgentError, match="threads=3 is not one of"):
        optimizer(parameters={"threads": {"kind": "env", "choices": [1, 2]}}, start={"threads": 3})
