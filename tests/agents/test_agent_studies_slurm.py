"""The research agents end to end on the real Slurm: the pi kernel is run, timed and tuned.

The model's answers are recorded (replay files), so the runs are offline and follow the
same path every time; the jobs, their output and every figure are real. Figures differ
from run to run, so the tests check the studies' arithmetic and stop rules against the
figures the jobs printed, never against numbers written here.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
import yaml
from fractale_command import run as fractale

pytestmark = pytest.mark.slurm

ROOT = Path(__file__).resolve().parents[2]
KERNEL = ROOT / "examples" / "apps" / "pi_kernel.py"
PLANS = ROOT / "examples" / "plans"
SVG = "{http://www.w3.org/2000/svg}"
RATE = {"metrics": {"rate": {"pattern": r"^rate: ([0-9.]+) Mintervals/s", "type": "float",
                             "unit": "Mintervals/s"}}}
ELAPSED = {"metrics": {"time": {"pattern": r"^elapsed: ([0-9.]+) s", "type": "float",
                                "unit": "s"}}}


def script(tasks: int, arguments: str) -> str:
    return (
        "```bash\n#!/bin/bash\n#SBATCH --job-name=pi-kernel\n"
        f"#SBATCH --ntasks={tasks}\n#SBATCH --time=5:00\n"
        f"python3 {KERNEL} {arguments}\n```\n"
    )


def answers(path: Path, responses: list[dict]) -> Path:
    path.write_text(yaml.safe_dump({"model": "claude-sonnet-5-5", "responses": responses}))
    return path


def printed(record_dir: Path, step: str, name: str) -> float:
    """The figure the job of ``step`` printed, read from its own output."""
    run = json.loads((record_dir / f"{step}.json").read_text())
    match = re.search(rf"^{name}: ([0-9.]+)", run["outputs"]["output"], re.MULTILINE)
    assert match, run["outputs"]["output"]
    return float(match.group(1))


def test_optimize_tunes_the_kernel_round_by_round_and_reports_the_best(slurm_env, tmp_path):
    proposal = '{{"parameters": {{"tasks": {}, "chunk": {}}}, "stop": {}, "reason": "{}"}}'
    replay = answers(
        tmp_path / "replay.yaml",
        [
            {"agent": "optimize", "expect": "Nothing has been measured yet",
             "text": proposal.format(1, 2000000, "false", "a baseline: one task")},
            {"agent": "batch", "expect": "application flag --chunk 2000000",
             "text": script(1, "--intervals 1000000 --chunk 2000000")},
            {"agent": "results", "expect": "rate:", "text": json.dumps(RATE)},
            {"agent": "optimize", "expect": "round 1: tasks=1 chunk=2000000 -> rate = ",
             "text": proposal.format(3, 500000, "false", "three tasks")},
            {"agent": "optimize", "expect": "tasks=3 is outside 1..2",
             "text": proposal.format(1, 2000000, "false", "back to the baseline")},
            {"agent": "optimize", "expect": "was already measured in round 1",
             "text": proposal.format(2, 500000, "false", "two tasks")},
            {"agent": "batch", "expect": "Run exactly this configuration: 2 tasks",
             "text": script(2, "--intervals 1000000 --tasks 2 --chunk 500000")},
            {"agent": "optimize", "expect": "round 2: tasks=2 chunk=500000",
             "text": proposal.format(2, 500000, "true", "both CPUs are in use")},
        ],
    )
    proc = fractale(
        "agent", "optimize",
        "--app", f"the pi kernel, {KERNEL}",
        "--scheduler", "slurm",
        "--param", "tasks:tasks=1..2",
        "--param", "chunk=20000..2000000",
        "--fom", "rate=intervals integrated per second",
        "--patience", "5",
        "--replay", str(replay), "--results", "results", "--workdir", "work",
        "--timeout", "600",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    study = json.loads((tmp_path / "work" / "optimize" / "optimize.json").read_text())
    rounds = study["rounds"]
    assert [r["config"] for r in rounds] == [
        {"tasks": 1, "chunk": 2000000},
        {"tasks": 2, "chunk": 500000},
    ]
    # Each round's figure is the rate its own job printed, read by the results step.
    results = tmp_path / "results"
    for number, measured in enumerate(rounds, start=1):
        assert measured["status"] == "measured"
        assert measured["value"] == printed(results, f"optimize-round-{number}-run", "rate")
        assert measured["jobid"].isdigit()
    best = max(range(2), key=lambda i: (rounds[i]["value"], -i))
    assert study["best_round"] == best + 1
    assert study["best"] == rounds[best]["config"]
    assert study["stop_reason"] == (
        "the model judged that nothing will improve: both CPUs are in use"
    )
    # The two unusable proposals each cost an attempt and were told back to the model.
    assert study["rejected_answers"] == [
        "the proposal breaks the bounds: tasks=3 is outside 1..2",
        "tasks=1 chunk=2000000 was already measured in round 1; propose a configuration "
        "not tried yet, or stop",
    ]
    # The patterns were asked for once and applied to the second round's output.
    second = json.loads((results / "optimize-round-2-rate.json").read_text())
    assert second["attempts"][0]["origin"] == "input"
    assert "#SBATCH --ntasks=2" in json.loads(
        (results / "optimize-round-2-run.json").read_text()
    )["attempts"][0]["artifact"]
    table = (tmp_path / "work" / "optimize" / "optimize.txt").read_text()
    assert f"best: round {best + 1}: " in table
    assert table.splitlines()[0].split() == ["round", "tasks", "chunk", "status", "rate",
                                             "(Mintervals/s)", "note"]
    assert table in proc.stdout + "\n"


def test_the_optimize_example_plan_stops_by_its_rules(slurm_env, tmp_path):
    proc = fractale(
        "agent", "run", str(PLANS / "optimize-pi.yaml"),
        "--set", f"kernel={KERNEL}",
        "--replay", str(PLANS / "optimize-pi.replay.yaml"),
        "--results", "results", "--workdir", "work", "--timeout", "600",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    record = json.loads((tmp_path / "results" / "tune.json").read_text())
    assert record["status"] == "succeeded"
    values = [r["value"] for r in record["outputs"]["rounds"]]
    assert record["outputs"]["rounds"][0]["config"] == {"tasks": 1, "chunk": 2000000}
    best = max(range(len(values)), key=lambda i: (values[i], -i))
    assert record["outputs"]["best_round"] == best + 1
    # patience 2, at most 4 rounds: whichever rule the measured rates met first.
    since = len(values) - (best + 1)
    if since >= 2:
        assert record["outputs"]["stop_reason"] == "no improvement in the last 2 round(s)"
        assert since == 2
    else:
        assert record["outputs"]["stop_reason"] == "the round limit (4) was reached"
        assert len(values) == 4
    for number in range(1, len(values) + 1):
        run = json.loads((tmp_path / "results" / f"tune-round-{number}-run.json").read_text())
        config = record["outputs"]["rounds"][number - 1]["config"]
        assert run["attempts"][0]["origin"] == "input"
        assert f"--tasks {config['tasks']} --chunk {config['chunk']}" in run["inputs"]["script"]


def test_scale_measures_strong_scaling_and_plots_it(slurm_env, tmp_path):
    replay = answers(
        tmp_path / "replay.yaml",
        [
            {"agent": "batch", "expect": "the same total problem on 1 tasks",
             "text": script(1, "--intervals 2000000 --tasks 1")},
            {"agent": "results", "expect": "elapsed:", "text": json.dumps(ELAPSED)},
            {"agent": "batch", "expect": "the same total problem on 2 tasks",
             "text": script(2, "--intervals 2000000 --tasks 2")},
        ],
    )
    proc = fractale(
        "agent", "scale",
        "--app", f"the pi kernel, {KERNEL}",
        "--scheduler", "slurm", "--sizes", "1,2", "--threshold", "0",
        "--metric", "time=elapsed seconds",
        "--replay", str(replay), "--results", "results", "--workdir", "work",
        "--timeout", "600",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    study = json.loads((tmp_path / "work" / "scale" / "scale.json").read_text())
    one, two = study["rows"]
    results = tmp_path / "results"
    assert one["value"] == printed(results, "scale-size-1-run", "elapsed")
    assert two["value"] == printed(results, "scale-size-2-run", "elapsed")
    assert (one["speedup"], one["efficiency"], one["ideal"]) == (1.0, 1.0, 1.0)
    assert two["ideal"] == 2.0
    assert two["speedup"] == pytest.approx(one["value"] / two["value"])
    assert two["efficiency"] == pytest.approx(two["speedup"] / 2)
    assert study["stop_reason"] == "every size was measured"
    table = (tmp_path / "work" / "scale" / "scale.txt").read_text().splitlines()
    assert table[0] == "strong scaling over tasks"
    assert table[4].split()[:5] == ["2", f"{two['value']:.4g}", "2.00", f"{two['speedup']:.2f}",
                                    f"{two['efficiency']:.2f}"]
    plot = tmp_path / "work" / "scale" / "scale.svg"
    assert f"plot: {plot}" in proc.stdout
    svg = ElementTree.parse(plot).getroot()
    assert svg.tag == f"{SVG}svg"
    # Two panels, each with the two measured points, a measured line and a dashed ideal.
    assert len(svg.findall(f"{SVG}circle")) == 4
    dashed = [line for line in svg.findall(f"{SVG}polyline") if line.get("stroke-dasharray")]
    assert len(dashed) == 3  # the ideal speedup, the ideal efficiency, the threshold
    texts = [text.text for text in svg.iter(f"{SVG}text")]
    assert {"speedup", "parallel efficiency", "ideal (linear)"} <= set(texts)


def test_the_weak_scaling_example_plan_writes_table_and_plot(slurm_env, tmp_path):
    proc = fractale(
        "agent", "run", str(PLANS / "scale-pi.yaml"),
        "--set", f"kernel={KERNEL}",
        "--replay", str(PLANS / "scale-pi.replay.yaml"),
        "--results", "results", "--workdir", "work", "--timeout", "600",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    outputs = json.loads((tmp_path / "results" / "weak.json").read_text())["outputs"]
    one, two = outputs["rows"]
    # Weak scaling of a time: efficiency t1/t2, scaled speedup efficiency x 2.
    assert two["efficiency"] == pytest.approx(one["value"] / two["value"])
    assert two["speedup"] == pytest.approx(2 * two["efficiency"])
    expected = (
        "every size was measured"
        if two["efficiency"] >= 0.3
        else f"efficiency {two['efficiency']:.2f} at 2 tasks fell below 0.3"
    )
    assert outputs["stop_reason"] == expected
    assert Path(outputs["plot_path"]).read_text().startswith("<svg")
    # Each task had the same work: the second job integrated twice the intervals.
    second = json.loads((tmp_path / "results" / "weak-size-2-run.json").read_text())
    assert "intervals=3000000 tasks=2" in second["outputs"]["output"]


def test_a_job_held_in_the_queue_is_cancelled_and_the_helper_reads_slurms_reason(
    slurm_env, tmp_path
):
    held = "#!/bin/bash\n#SBATCH --ntasks=1\n#SBATCH --time=2:00\n#SBATCH --begin=now+1hour\n"
    held += "echo started\n"
    replay = answers(
        tmp_path / "replay.yaml",
        [
            {"agent": "batch", "text": f"```bash\n{held}```\n"},
            {"agent": "helper", "expect": "Slurm's reason: BeginTime",
             "text": "```bash\n" + held.replace("#SBATCH --begin=now+1hour\n", "") + "```\n"
             "Explanation: --begin held the job for an hour.\n"},
        ],
    )
    proc = fractale(
        "agent", "batch", "--app", "say started", "--scheduler", "slurm",
        "--replay", str(replay), "--results", "results", "--workdir", "work",
        "--pending-timeout", "3", "--timeout", "600",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    first, second = json.loads((tmp_path / "results" / "batch.json").read_text())["attempts"]
    assert first["state"] == "PENDING"
    assert "never started" in first["reason"] and "BeginTime" in first["reason"]
    jobid = re.search(r"job (\d+)", first["reason"]).group(1)
    assert slurm_env.wait(jobid, timeout=60).state == "CANCELLED"
    assert second["state"] == "COMPLETED"
    assert "started" in second["output_tail"]


def test_a_job_killed_by_a_signal_reports_128_plus_the_signal(slurm_env, replay, tmp_path):
    killed = "```bash\n#!/bin/bash\n#SBATCH --ntasks=1\n#SBATCH --time=2:00\nkill -9 $$\n```\n"
    proc = fractale(
        "agent", "batch", "--app", "x", "--scheduler", "slurm",
        "--replay", str(replay([{"agent": "batch", "text": killed}])),
        "--results", "results", "--workdir", "work", "--max-attempts", "1",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (attempt,) = json.loads((tmp_path / "results" / "batch.json").read_text())["attempts"]
    assert attempt["returncode"] == 128 + 9
    assert attempt["state"] == "FAILED"


def test_cost_prices_the_job_on_the_registered_real_slurm_and_the_plan_runs_it_there(
    slurm_env, tmp_path, monkeypatch
):
    monkeypatch.setenv("FRACTALE_HOME", str(tmp_path / "store"))
    graph = fractale("generate", "slurm", "-o", "local.json", cwd=tmp_path)
    assert graph.returncode == 0, graph.stderr
    added = fractale(
        "cluster", "add", "local", "--scheduler", "slurm", "--containment", "local.json",
        "--cost", "0.5", cwd=tmp_path,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    (tmp_path / "prices.yaml").write_text(
        "instances:\n"
        "  - {name: local-node, cluster: local, price_per_hour: 0.5, cpus: 2, memory_gb: 16,"
        " max_count: 1}\n"
        "  - {name: c7i.large, price_per_hour: 0.089, cpus: 2, memory_gb: 4}\n"
    )
    job = "#!/bin/bash\n#SBATCH --nodes=1\n#SBATCH --ntasks=2\n#SBATCH --time=1:00:00\n"
    job += f"python3 {KERNEL} --intervals 500000\n"
    (tmp_path / "job.sh").write_text(job)
    plan = {
        "steps": [
            {"name": "price", "agent": "cost",
             "inputs": {"app": "the pi kernel", "prices": "prices.yaml", "cpus": 2,
                        "job": "job.sh"}},
            {"name": "run", "agent": "batch",
             "inputs": {"app": "the pi kernel, on ${steps.price.cheapest}", "cluster": "local",
                        "script": job}},
        ]
    }
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(plan))
    replay = answers(
        tmp_path / "replay.yaml",
        [
            {"agent": "cost", "text": json.dumps({"options": [
                {"instance": "local-node", "count": 1, "hours": 1, "estimate_usd": 0.5,
                 "reason": "the lab's own node"},
                {"instance": "c7i.large", "count": 1, "hours": 1, "estimate_usd": 0.089,
                 "reason": "two vCPUs on demand"}], "assumptions": "an hour at most"})},
        ],
    )
    proc = fractale(
        "agent", "run", "plan.yaml", "--replay", str(replay), "--results", "results",
        "--workdir", "work", "--timeout", "600", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    price = json.loads((tmp_path / "results" / "price.json").read_text())["outputs"]
    assert price["cheapest"]["instance"] == "c7i.large"
    (local,) = price["fleet"]
    assert (local["cluster"], local["nodes"], local["hours"], local["price"]) == (
        "local", 1, 1.0, 0.5
    )
    # The table agrees with the registered cost, so the only check is the fleet comparison.
    assert price["checks"] == [
        "the fleet's cheapest cluster for the job, local at 0.50, is no cheaper than the "
        "cheapest option (0.09)"
    ]
    run = json.loads((tmp_path / "results" / "run.json").read_text())
    assert run["outputs"]["state"] == "COMPLETED"
    assert "intervals=500000 tasks=2" in run["outputs"]["output"]
