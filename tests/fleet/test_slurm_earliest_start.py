"""Earliest start on the real Slurm: a running job holds the node, `fractale cluster state`
reads it live, and the start fractale plans for the next job is the one Slurm plans for it."""

from __future__ import annotations

import json
import socket
import textwrap
import time
from datetime import datetime

import pytest
from click.testing import CliRunner
from fractale.cli import cli
from fractale.fleet import Fleet, Job
from fractale.generate.slurm import slurm_graph
from fractale.store import Store
from slurm import parse_oneliner

pytestmark = pytest.mark.slurm

HOST = socket.gethostname().split(".")[0]


def unix(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def script(path, body: str):
    path.write_text("#!/bin/bash\n" + textwrap.dedent(body).lstrip())
    return path


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout:.0f} s")
        time.sleep(1)


def test_the_planned_start_is_when_slurm_starts_the_job(slurm, tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_CONF", str(slurm.conf))
    node = slurm.node(HOST)
    cpus = int(node["CPUTot"])
    # The cluster as fractale knows it: this host's node, read from scontrol.
    line = next(li for li in slurm.nodes().splitlines() if li.startswith(f"NodeName={HOST} "))
    store = Store(tmp_path / "store")
    store.add("local", "slurm", slurm_graph(line, name="local"))

    wait_for(lambda: slurm.node(HOST).get("CPUAlloc") == "0", 180, f"{HOST} did not go idle")
    holder = script(tmp_path / "holder.sh", f"""
        #SBATCH --nodelist={HOST}
        #SBATCH --exclusive
        #SBATCH --time=3
        #SBATCH --output=/dev/null
        sleep 600
        """)
    # The job to place: the whole node, for two minutes.
    whole = script(tmp_path / "whole.sh", f"""
        #SBATCH --nodes=1
        #SBATCH --ntasks=1
        #SBATCH --cpus-per-task={cpus}
        #SBATCH --time=2
        #SBATCH --output=/dev/null
        hostname
        """)
    jobs = [slurm.sbatch(holder)]
    try:
        wait_for(lambda: slurm.job(jobs[0])["JobState"] == "RUNNING", 120, "the holder never ran")
        ends = unix(slurm.job(jobs[0])["EndTime"])

        shown = CliRunner().invoke(cli, ["cluster", "state", "local", "--save", "--json",
                                         "--config-dir", str(store.root)])
        assert shown.exit_code == 0, shown.output
        state = json.loads(shown.output)
        held = [job for job in state["jobs"] if job["id"] == jobs[0]]
        assert held and held[0]["nodes"] == {HOST: None} and held[0]["end"] == ends
        assert state["free"]["core"]["free"] == 0

        answer = Fleet(store).satisfy(Job.load(whole), when=True)[0]
        assert answer.ok and answer.start.status == "reserved"
        planned = answer.start.time
        assert planned == ends

        # Slurm's own plan for the same job on the same node.
        jobs.append(slurm.sbatch(whole, f"--nodelist={HOST}"))

        def slurm_start():
            fields = slurm.job(jobs[1])
            if fields["JobState"] == "RUNNING":
                return unix(fields["StartTime"])
            out = slurm.run("squeue", "--start", "-h", "-j", jobs[1], "-o", "%S").stdout.strip()
            return unix(out) if out and out[0].isdigit() else None

        expected = wait_for(slurm_start, 90, "Slurm planned no start for the job")
        assert abs(expected - planned) <= 1, (expected, planned)
    finally:
        for job in jobs:
            slurm.cancel(job)


def test_cluster_state_reads_slurm_live_onto_the_nodes_graph(slurm, tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_CONF", str(slurm.conf))
    line = next(li for li in slurm.nodes().splitlines() if li.startswith(f"NodeName={HOST} "))
    fields = parse_oneliner(line)
    store = Store(tmp_path / "store")
    store.add("local", "slurm", slurm_graph(line, name="local"))
    shown = CliRunner().invoke(cli, ["cluster", "state", "local", "--json",
                                     "--config-dir", str(store.root)])
    assert shown.exit_code == 0, shown.output
    state = json.loads(shown.output)
    cores = int(fields["Sockets"]) * int(fields["CoresPerSocket"])
    assert state["free"]["core"]["total"] == cores
    assert state["source"] == "slurm" and abs(state["time"] - time.time()) < 60
