"""The local Slurm that fractale's tests submit to: it runs real jobs and judges multi-node ones."""

from __future__ import annotations

import socket
import subprocess
import textwrap
import time

import pytest
from slurm import LocalSlurm, parse_oneliner

pytestmark = pytest.mark.slurm

HOST = socket.gethostname().split(".")[0]


def batch_script(path, body: str):
    path.write_text("#!/bin/bash\n" + textwrap.dedent(body).lstrip())
    return path


def wait_until_idle(slurm: LocalSlurm, node: str, timeout: float = 120) -> None:
    """Wait for jobs of other tests to leave the node, so that placement is predictable."""
    deadline = time.monotonic() + timeout
    while slurm.node(node).get("CPUAlloc") != "0":
        if time.monotonic() > deadline:
            pytest.fail(f"node {node} stayed busy for {timeout}s")
        time.sleep(1)


def test_a_submitted_job_runs_and_its_output_file_holds_what_it_printed(slurm, tmp_path):
    script = batch_script(
        tmp_path / "hello.sh",
        """
        #SBATCH --job-name=fractale-hello
        #SBATCH --output=hello-%j.out
        #SBATCH --ntasks=1
        echo "hello from job $SLURM_JOB_ID"
        echo "second line"
        """,
    )
    job_id = slurm.sbatch(script)
    result = slurm.wait(job_id, timeout=120)
    assert result.state == "COMPLETED"
    assert result.exit_code == 0
    assert result.stdout_path == tmp_path / f"hello-{job_id}.out"
    assert result.stdout() == f"hello from job {job_id}\nsecond line\n"


def test_a_failing_job_reports_its_nonzero_exit_code(slurm, tmp_path):
    script = batch_script(
        tmp_path / "fails.sh",
        """
        #SBATCH --output=fails-%j.out
        echo "about to fail"
        exit 3
        """,
    )
    result = slurm.wait(slurm.sbatch(script), timeout=120)
    assert result.state == "FAILED"
    assert result.exit_code == 3
    assert not result.succeeded
    assert result.stdout() == "about to fail\n"


def test_a_job_runs_on_the_real_node_when_it_is_free(slurm, tmp_path):
    wait_until_idle(slurm, HOST)
    script = batch_script(
        tmp_path / "where.sh",
        """
        #SBATCH --output=where.out
        echo "$SLURMD_NODENAME"
        """,
    )
    result = slurm.wait(slurm.sbatch(script), timeout=120)
    assert result.fields["BatchHost"] == HOST
    assert result.stdout() == f"{HOST}\n"


def test_test_only_accepts_a_two_node_job_thanks_to_the_cloud_nodes(slurm, tmp_path):
    script = batch_script(
        tmp_path / "two-nodes.sh",
        """
        #SBATCH --nodes=2
        #SBATCH --ntasks-per-node=1
        srun hostname
        """,
    )
    accepted, message = slurm.test_only(script)
    assert accepted, message
    assert "to start at" in message


def test_test_only_rejects_a_job_no_configuration_could_hold_with_slurms_message(
    slurm, tmp_path
):
    script = batch_script(
        tmp_path / "huge.sh",
        """
        #SBATCH --nodes=1000
        srun hostname
        """,
    )
    accepted, message = slurm.test_only(script)
    assert not accepted
    assert "Requested node configuration is not available" in message


def test_a_held_job_may_ask_for_more_nodes_than_this_host(slurm, tmp_path):
    script = batch_script(
        tmp_path / "held.sh",
        """
        #SBATCH --nodes=3
        srun hostname
        """,
    )
    job_id = slurm.sbatch(script, "--hold")
    try:
        job = slurm.job(job_id)
        assert job["JobState"] == "PENDING"
        assert job["Reason"] == "JobHeldUser"
        assert job["NumNodes"].startswith("3")
    finally:
        slurm.cancel(job_id)


def test_scontrol_show_node_lists_the_real_node_with_its_hardware(slurm):
    nodes = [parse_oneliner(line) for line in slurm.nodes().splitlines() if line.strip()]
    real = [node for node in nodes if node["NodeName"] == HOST]
    assert len(real) == 1, slurm.nodes()
    detected = parse_oneliner(
        subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True)
        .stdout.splitlines()[0]
    )
    node = real[0]
    assert node["CPUTot"] == detected["CPUs"]
    assert node["CoresPerSocket"] == detected["CoresPerSocket"]
    assert node["ThreadsPerCore"] == detected["ThreadsPerCore"]
    assert node["RealMemory"] == detected["RealMemory"]
    assert node["Partitions"] == "debug"
    assert node["State"].split("+")[0] in {"IDLE", "MIXED", "ALLOCATED"}


def test_a_job_placed_on_a_cloud_node_still_runs_on_this_host(slurm, tmp_path):
    script = batch_script(
        tmp_path / "cloud.sh",
        """
        #SBATCH --nodelist=future3
        #SBATCH --output=cloud.out
        echo "$SLURMD_NODENAME on $(hostname -s)"
        """,
    )
    try:
        result = slurm.wait(slurm.sbatch(script), timeout=150)
        assert result.state == "COMPLETED"
        assert result.stdout() == f"future3 on {HOST}\n"
    finally:
        # Power it down once idle rather than after half a minute, so that other tests
        # reading the node list soon see only the real node again, and wait until it is
        # down: while it powers down, Slurm counts it out of multi-node requests.
        slurm.run("scontrol", "update", "nodename=future3", "state=power_down", check=False)
        wait_until_powered_down(slurm, "future3")


def wait_until_powered_down(slurm, node: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = slurm.run("sinfo", "-h", "-a", "-N", "-n", node, "-o", "%T", check=False)
        if state.stdout.strip().endswith("~"):
            return
        time.sleep(1)
    pytest.fail(f"{node} did not power down within {timeout:.0f} s")


def test_a_job_in_a_folder_whose_name_holds_spaces_reports_its_output_file(slurm, tmp_path):
    folder = tmp_path / "my jobs" / "run 1"
    folder.mkdir(parents=True)
    script = batch_script(
        folder / "spaced.sh",
        """
        #SBATCH --output="out file.txt"
        pwd
        """,
    )
    result = slurm.wait(slurm.sbatch(script), timeout=120)
    assert result.succeeded
    assert result.stdout_path == folder / "out file.txt"
    assert result.stdout() == f"{folder}\n"


def test_waiting_for_a_job_that_cannot_start_gives_up_with_its_state_and_reason(slurm, tmp_path):
    script = batch_script(tmp_path / "held.sh", "echo never\n")
    job_id = slurm.sbatch(script, "--hold")
    try:
        with pytest.raises(TimeoutError, match=r"still PENDING \(reason JobHeldUser\)"):
            slurm.wait(job_id, timeout=1)
    finally:
        slurm.cancel(job_id)
