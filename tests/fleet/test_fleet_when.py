"""Time across the fleet: a cluster's jobs kept as a snapshot, when a job would start on each
cluster, and the choice of the cluster where it starts first."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import fractale
import pytest
from click.testing import CliRunner
from fractale.cli import cli
from fractale.fleet import Fleet, Job
from fractale.generate.synthetic import synthetic_graph
from fractale.snapshot import Snapshot, SnapshotError, parse_slurm_jobs

T0 = 1_764_000_000  # the snapshots' "now", Unix seconds

# Two whole nodes for half an hour: a batch script, so matched per node.
SCRIPT = textwrap.dedent(
    """\
    #!/bin/bash
    #SBATCH --nodes=2
    #SBATCH --ntasks-per-node=1
    #SBATCH --cpus-per-task=8
    #SBATCH --time=30:00

    srun ./simulate
    """
)


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def fractale_cli(*args):
    return subprocess.run(
        [sys.executable, "-c", "from fractale.cli import main; main()", *map(str, args)],
        capture_output=True, text=True,
    )


@pytest.fixture
def two_sites(store, tmp_path):
    """Two 2-node clusters of 8 cores a node: "busy" runs a job on both nodes for another
    hour; "waiting" runs one for 20 minutes and has one planned after it."""
    for name in ("busy", "waiting"):
        store.add(name, "slurm", synthetic_graph(2, sockets=1, cores=8, gpus=0, memory=1))
    job = tmp_path / "job.sh"
    job.write_text(SCRIPT)
    return store, job


def snapshot_file(tmp_path, name, jobs):
    path = tmp_path / f"{name}-state.json"
    path.write_text(json.dumps({"time": T0, "source": "by hand", "jobs": jobs}))
    return path


def save_states(store, tmp_path):
    busy = snapshot_file(tmp_path, "busy", [
        {"id": "7", "state": "running", "start": T0 - 600, "end": T0 + 3600,
         "nodes": {"node0": None, "node1": 4}},
    ])
    waiting = snapshot_file(tmp_path, "waiting", [
        {"id": "8", "state": "running", "start": T0 - 60, "end": T0 + 1200,
         "nodes": {"node0": 8}},
        {"id": "9", "state": "pending", "start": T0 + 1200, "end": T0 + 1800,
         "nodes": {"node1": None}},
    ])
    for name, path in (("busy", busy), ("waiting", waiting)):
        result = run("cluster", "state", name, "--file", path, "--save",
                     "--config-dir", store.root)
        assert result.exit_code == 0, result.output


def test_a_snapshot_plans_running_and_pending_jobs_in_time():
    graph = fractale.ResourceGraph.from_jgf(synthetic_graph(2, sockets=1, cores=8, gpus=0))
    snapshot = Snapshot.from_dict({"time": T0, "jobs": [
        {"id": "1", "state": "running", "start": T0 - 10, "end": T0 + 300, "nodes": {"node0": 6}},
        {"id": "2", "state": "pending", "start": T0 + 300, "end": T0 + 900,
         "nodes": {"node1": None}},
        {"id": "3", "state": "pending", "start": None, "end": None, "nodes": {}},
    ]})
    notes = snapshot.plan(graph)
    assert notes == ["job 3 (pending) has no nodes planned: it holds nothing"]
    assert graph.free()["core"] == 10  # 6 cores held now; node1 only from 300 s
    whole = {"version": 9999, "attributes": {"system": {"duration": 600}},
             "resources": [{"type": "node", "count": 1, "exclusive": True, "with": [
                 {"type": "slot", "label": "task", "count": 1,
                  "with": [{"type": "socket", "count": 1,
                            "with": [{"type": "core", "count": 8}]}]}]}],
             "tasks": [{"command": ["app"], "slot": "task", "count": {"per_slot": 1}}]}
    # node1 is free for 300 s only, node0 busy until 300: a whole node for 600 s waits.
    result = graph.reserve(whole)
    assert (result.status, result.at) == ("reserved", 300)
    assert result.allocation.nodes() == ["node0"]


def test_cluster_state_shows_saves_and_reads_back_a_snapshot(two_sites, tmp_path):
    store, _ = two_sites
    save_states(store, tmp_path)
    kept = store.get("waiting").state()
    assert [job.id for job in kept.jobs] == ["8", "9"]
    assert kept.cluster == "waiting"
    assert "state" not in store.get("waiting").subsystems()
    shown = run("cluster", "state", "busy", "--file", tmp_path / "busy-state.json", "--json",
                "--config-dir", store.root)
    document = json.loads(shown.output)
    assert document["free"]["core"] == {"free": 4, "total": 16}
    assert document["jobs"][0]["nodes"] == {"node0": None, "node1": 4}


def test_satisfy_when_gives_each_clusters_earliest_start(two_sites, tmp_path):
    store, job = two_sites
    save_states(store, tmp_path)
    answers = {a.cluster: a for a in Fleet(store).satisfy(Job.load(job), when=True)}
    # busy: both nodes are held an hour. waiting: node0 frees at 1200 s, node1 is planned
    # from 1200 to 1800 s, so two whole nodes are free together from 1800 s.
    assert answers["busy"].start.at == 3600
    assert answers["waiting"].start.at == 1800
    assert answers["waiting"].start.time == T0 + 1800
    result = run("satisfy", job, "--when", "--json", "--config-dir", store.root)
    document = json.loads(result.output)
    starts = {c["cluster"]: c["start"]["at"] for c in document["clusters"]}
    assert starts == {"busy": 3600, "waiting": 1800}
    table = run("satisfy", job, "--when", "--config-dir", store.root).output
    assert "START" in table and "+1800s" in table


def test_select_by_earliest_start_picks_where_the_job_starts_first(two_sites, tmp_path):
    store, job = two_sites
    save_states(store, tmp_path)
    chosen = run("select", job, "--by", "earliest-start", "--json", "--config-dir", store.root)
    document = json.loads(chosen.output)
    assert document["cluster"] == "waiting"
    assert document["scores"]["busy"]["at"] == 3600


def test_clusters_without_state_are_planned_idle_and_ties_go_by_name(two_sites):
    store, job = two_sites
    chosen = Fleet(store).select(Job.load(job), "earliest-start")
    assert chosen.cluster == "busy"
    assert chosen.answer.start.at == 0 and not chosen.answer.start.snapshot


def test_policy_still_works_as_a_deprecated_name_of_by(two_sites):
    store, job = two_sites
    old = fractale_cli("select", job, "--policy", "first", "--config-dir", store.root)
    assert old.returncode == 0
    assert old.stdout.splitlines()[0] == "busy"
    assert "--policy is deprecated; use --by" in old.stderr
    clash = fractale_cli("select", job, "--policy", "cost", "--by", "first",
                         "--config-dir", store.root)
    assert clash.returncode == 2 and "disagree" in clash.stderr


@pytest.mark.parametrize("document, message", [
    ({"jobs": []}, "'time' is required"),
    ({"time": T0, "jobs": [{"id": "1", "state": "done"}]}, "state must be running or pending"),
    ({"time": T0, "jobs": [{"id": "1", "start": T0, "nodes": {"node0": 0}}]},
     "must be a number of cores"),
    ({"time": T0, "jobs": [{"id": "1", "start": T0, "end": T0 - 1}]}, "ends"),
    ({"time": "yesterday", "jobs": []}, "ISO 8601"),
])
def test_bad_snapshots_are_refused_naming_the_field(document, message):
    with pytest.raises(SnapshotError, match=message):
        Snapshot.from_dict(document)


def test_a_snapshot_that_overbooks_a_node_exits_2_with_one_line(two_sites, tmp_path):
    store, _ = two_sites
    path = snapshot_file(tmp_path, "over", [
        {"id": "1", "start": T0, "end": T0 + 60, "nodes": {"node0": 6}},
        {"id": "2", "start": T0, "end": T0 + 60, "nodes": {"node0": 6}},
    ])
    result = fractale_cli("cluster", "state", "busy", "--file", path, "--config-dir", store.root)
    assert result.returncode == 2
    assert "job 2: node node0 has 2 cores free" in result.stderr
    assert "Traceback" not in result.stderr
    missing = fractale_cli("cluster", "state", "busy", "--file", tmp_path / "absent.json",
                           "--config-dir", store.root)
    assert missing.returncode == 2 and "no such snapshot file" in missing.stderr


def test_slurm_jobs_are_read_with_their_nodes_cores_and_times():
    text = (
        "JobId=5 JobState=RUNNING StartTime=2026-11-25T18:55:34 EndTime=2026-11-25T18:57:34 "
        "NodeList=n[1-2] NumNodes=2 NumCPUs=6 OverSubscribe=OK JOB_GRES=(null)   "
        "Nodes=n1 CPU_IDs=0-3 Mem=0 GRES=   Nodes=n2 CPU_IDs=0-1 Mem=0 GRES= Contiguous=0\n"
        "JobId=6 JobState=PENDING StartTime=2026-11-25T18:57:34 EndTime=2026-11-25T18:59:34 "
        "NodeList= SchedNodeList=n1 NumNodes=1 NumCPUs=1 OverSubscribe=NO Contiguous=0\n"
        "JobId=7 JobState=PENDING StartTime=Unknown EndTime=Unknown NodeList=(null) NumCPUs=1\n"
        "JobId=4 JobState=COMPLETED StartTime=2026-11-25T18:00:00 NodeList=n1\n"
    )
    jobs = {job.id: job for job in parse_slurm_jobs(text, {"n1": 2, "n2": 1})}
    assert set(jobs) == {"5", "6", "7"}
    assert jobs["5"].nodes == {"n1": 2, "n2": 2}  # 4 CPUs of 2 threads on n1 are 2 cores
    assert jobs["5"].end - jobs["5"].start == 120
    assert (jobs["6"].state, jobs["6"].nodes) == ("pending", {"n1": None})
    assert jobs["7"].nodes == {} and jobs["7"].start is None


def test_reading_the_jobs_of_a_scheduler_without_a_reader_says_to_use_a_file(store):
    store.add("fluxy", "flux", synthetic_graph(1, sockets=1, cores=2, gpus=0, memory=1))
    result = fractale_cli("cluster", "state", "fluxy", "--config-dir", store.root)
    assert result.returncode == 2
    assert "not supported yet" in result.stderr and "--file" in result.stderr
