"""The cost agent: options checked against the price table, priced by fractale, and
cross-checked against the fleet's own cost figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fractale.agents.prices import load_prices
from fractale.agents.steps.cost import CostAgent
from fractale.errors import AgentError
from fractale.generate.synthetic import synthetic_graph
from fractale.store import Store

PRICES = Path(__file__).resolve().parents[2] / "examples" / "prices" / "cloud.yaml"
JOB = "#!/bin/bash\n#SBATCH --nodes=1\n#SBATCH --ntasks=2\n#SBATCH --time=2:00:00\npython3 pi.py\n"


def option(instance, count, hours, estimate, reason="fits"):
    return {"instance": instance, "count": count, "hours": hours, "estimate_usd": estimate,
            "reason": reason}


def answer(*options, assumptions="the run scales to 64 cores"):
    return json.dumps({"options": list(options), "assumptions": assumptions})


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A fleet of two registered clusters, one of which the example table prices too."""
    monkeypatch.setenv("FRACTALE_HOME", str(tmp_path / "store"))
    store = Store()
    store.add("lab", "slurm", synthetic_graph(1, cores=2, gpus=0, memory=24), cost=0.45)
    store.add("big", "slurm", synthetic_graph(4, cores=16, gpus=0, memory=64), cost=2.0)
    return store


def test_the_example_price_table_reads():
    table = load_prices(PRICES)
    assert table.currency == "USD"
    assert table.instances["c7i.16xlarge"].cpus == 64
    assert table.instances["lab-node"].cluster == "lab"


@pytest.mark.parametrize(
    "text, message",
    [
        ("instances: [{name: a, cpus: 2, memory_gb: 4}]", "price_per_hour must be a number"),
        ("instances: [{name: a, price_per_hour: 1, cpus: 2.5, memory_gb: 4}]",
         "cpus must be a whole number"),
        ("instances:\n  - {name: a, price_per_hour: 1, cpus: 2, memory_gb: 4}\n"
         "  - {name: a, price_per_hour: 2, cpus: 2, memory_gb: 4}", "the name is used twice"),
        ("instances: [{name: a, price_per_hour: 1, cpus: 2, memory_gb: 4, disk: 9}]",
         "unknown key 'disk'"),
        ("machines: []", "a mapping with an 'instances' list"),
    ],
)
def test_a_bad_price_table_is_refused_naming_the_entry(tmp_path, text, message):
    path = tmp_path / "prices.yaml"
    path.write_text(text)
    with pytest.raises(AgentError, match=message):
        load_prices(path)


def test_an_option_that_does_not_fit_goes_to_the_helper_and_fractale_prices_the_rest(
    replay, context, fenced, store
):
    too_small = answer(option("c7i.4xlarge", 2, 3.0, 4.28), option("c7i.16xlarge", 1, 2.5, 7.14))
    fixed = answer(option("c7i.4xlarge", 4, 1.5, 4.28), option("c7i.16xlarge", 1, 1.5, 5.0))
    ctx = context(
        replay(
            [
                {"agent": "cost", "expect": "The application needs 64 CPUs in all.",
                 "text": too_small},
                {"agent": "helper",
                 "expect": "option 1: 2 x c7i.4xlarge has 32 cpus; the application needs 64",
                 "text": fenced(fixed) + "Explanation: four instances give 64 CPUs.\n"},
            ]
        )
    )
    agent = CostAgent({"app": "LAMMPS, 64 MPI ranks", "prices": str(PRICES), "cpus": 64})
    record = agent.run(ctx, "cost")
    assert record.status == "succeeded"
    cheapest, second = record.outputs["options"]
    assert (cheapest["instance"], cheapest["cost"]) == ("c7i.16xlarge", 4.284)
    assert (second["instance"], second["cost"]) == ("c7i.4xlarge", 4.284)
    # The model's arithmetic is checked: 1 x 2.856 x 1.5 is 4.28, not the 5.00 it said.
    assert "the model estimated 5.00, fractale computes 4.28 USD" in " ".join(
        record.outputs["checks"]
    )
    # The table's lab-node names a registered cluster whose own price differs.
    assert (
        "lab-node: the table prices a node-hour at 0.5, cluster 'lab' is registered at 0.45"
        in record.outputs["checks"]
    )
    estimate = json.loads(Path(record.outputs["json_path"]).read_text())
    assert estimate["assumptions"] == "the run scales to 64 cores"


def test_given_the_job_the_fleets_cost_policy_prices_it_on_each_cluster(
    replay, context, store, tmp_path
):
    job = tmp_path / "job.sh"
    job.write_text(JOB)
    ctx = context(replay([{"agent": "cost", "text": answer(option("c7i.4xlarge", 1, 2, 1.428))}]))
    agent = CostAgent({"app": "pi", "prices": str(PRICES), "cpus": 2, "job": str(job)})
    record = agent.run(ctx, "cost")
    fleet = {entry["cluster"]: entry for entry in record.outputs["fleet"]}
    assert fleet["lab"]["price"] == pytest.approx(0.9)
    assert fleet["big"]["price"] == pytest.approx(4.0)
    assert (
        "the fleet's cheapest cluster for the job, lab at 0.90, is cheaper than the cheapest "
        "option (1.43)" in record.outputs["checks"]
    )
    assert "fleet: lab: 1 node(s) x 2 h = 0.90" in record.outputs["table"]


def test_an_instance_outside_the_table_or_beyond_its_count_is_a_problem(tmp_path):
    agent = CostAgent({"app": "x", "prices": str(PRICES)})
    with pytest.raises(AgentError) as raised:
        agent.options(answer(option("m9.huge", 1, 1, 1), option("lab-node", 3, 1, 1.5)))
    assert str(raised.value).splitlines() == [
        "option 1: 'm9.huge' is not in the price table",
        "option 2: 3 x lab-node: the table allows at most 1",
    ]
