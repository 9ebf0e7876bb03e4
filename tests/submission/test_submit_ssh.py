"""`fractale submit` over SSH: an OpenSSH server the suite starts on 127.0.0.1 (its own host
and user keys) in front of the same local Slurm. Submit, wait, status, logs and cancel go
through the system ssh and scp clients."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from fractale.jobs import JobBook
from fractale.store import Store
from fractale_command import run
from sshd import free_port

pytestmark = pytest.mark.slurm

HOSTNAME = "#!/bin/bash\n#SBATCH --job-name=hello\n#SBATCH --ntasks=1\nhostname\n"


@pytest.fixture
def far(tmp_path, graph, sshd) -> Path:
    """A store with one cluster, ``far``: the local Slurm reached over SSH, its jobs working
    in a remote directory that does not exist yet."""
    store = tmp_path / "store"
    done = run("cluster", "add", "far", "--scheduler", "slurm", "--containment", str(graph),
               "--submit", sshd.url, "--workdir", str(tmp_path / "remote"),
               *sshd.cli_options(), "--config-dir", str(store), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"jobs go to root@127.0.0.1:{sshd.port}" in done.stdout
    return store


def test_the_cluster_shows_how_jobs_reach_it(far, sshd, tmp_path):
    shown = json.loads(run("cluster", "show", "far", "--json", "--config-dir", str(far),
                           cwd=tmp_path).stdout)
    assert shown["submit"] == {"url": sshd.url, "workdir": str(tmp_path / "remote"),
                               "ssh_options": sshd.ssh_options()}
    text = run("cluster", "show", "far", "--config-dir", str(far), cwd=tmp_path).stdout
    assert f"url: {sshd.url}" in text


def test_a_hostname_job_runs_over_ssh_and_its_output_is_read_back(far, tmp_path):
    (tmp_path / "hello.sh").write_text(HOSTNAME)
    store = ["--config-dir", str(far)]
    # SLURM_CONF is set by the server's sessions only: the client side has none.
    submitted = run("submit", "hello.sh", *store, cwd=tmp_path)
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip()
    assert job_id.isdigit()
    waited = run("wait", f"far:{job_id}", "--timeout", "120", *store, cwd=tmp_path)
    assert (waited.returncode, waited.stdout.strip()) == (
        0, f"far:{job_id}: completed (COMPLETED, exit 0)")
    record = json.loads(run("status", job_id, "--json", *store, cwd=tmp_path).stdout)
    remote = tmp_path / "remote"
    assert record["workdir"] == str(remote)
    assert Path(record["script"]).parent == remote / ".fractale-jobs"
    assert record["outputs"] == [str(remote / f"slurm-{job_id}.out")]
    logs = run("logs", job_id, *store, cwd=tmp_path)
    assert (logs.returncode, logs.stdout) == (0, socket.gethostname() + "\n")


def test_a_held_job_over_ssh_is_pending_then_cancelled(far, tmp_path):
    (tmp_path / "hello.sh").write_text(HOSTNAME)
    store = ["--config-dir", str(far)]
    job_id = run("submit", "--hold", "hello.sh", *store, cwd=tmp_path).stdout.strip()
    status = run("status", job_id, *store, cwd=tmp_path)
    assert (status.returncode, status.stdout.strip()) == (
        0, f"far:{job_id}: pending (PENDING, JobHeldUser)")
    cancelled = run("cancel", job_id, *store, cwd=tmp_path)
    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout.startswith(f"far:{job_id}: cancelled (CANCELLED")
    assert JobBook(Store(far)).get(job_id).state == "cancelled"


def test_a_refusal_over_ssh_carries_sbatchs_words_and_leaves_nothing(far, tmp_path):
    (tmp_path / "bad.sh").write_text(HOSTNAME.replace("--ntasks=1", "--partition=nosuch"))
    refused = run("submit", "bad.sh", "--config-dir", str(far), cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr == ("Error: sbatch refused the job: sbatch: error: Batch job "
                              "submission failed: Invalid partition name specified\n")
    assert JobBook(Store(far)).all() == []
    assert list((tmp_path / "remote" / ".fractale-jobs").iterdir()) == []


def test_an_unreachable_host_is_one_line_with_sshs_message(tmp_path, graph, sshd):
    store = tmp_path / "store"
    closed = free_port()
    run("cluster", "add", "gone", "--scheduler", "slurm", "--containment", str(graph),
        "--submit", f"ssh://root@127.0.0.1:{closed}", *sshd.cli_options(),
        "--config-dir", str(store), cwd=tmp_path)
    (tmp_path / "hello.sh").write_text(HOSTNAME)
    unreachable = run("submit", "hello.sh", "--config-dir", str(store), cwd=tmp_path)
    assert unreachable.returncode == 2
    assert unreachable.stderr == (
        f"Error: cannot reach root@127.0.0.1:{closed}: ssh: connect to host 127.0.0.1 "
        f"port {closed}: Connection refused\n")
    assert JobBook(Store(store)).all() == []
    # A dry run reaches nothing, so it says what it would do all the same.
    dry = run("submit", "hello.sh", "--dry-run", "--config-dir", str(store), cwd=tmp_path)
    assert dry.returncode == 0
    assert dry.stdout.startswith(f"Would submit to gone (slurm) on root@127.0.0.1:{closed}:")


def test_a_key_the_server_does_not_accept_is_refused_without_a_prompt(tmp_path, graph, sshd):
    store = tmp_path / "store"
    # A key the server does not know, on a connection of its own: a shared one opened by
    # another test would already be logged in.
    options = [option.replace(str(sshd.identity), str(sshd.folder / "host_key"))
               for option in sshd.cli_options()]
    options += ["--ssh-option", "ControlPath=none"]
    run("cluster", "add", "nokey", "--scheduler", "slurm", "--containment", str(graph),
        "--submit", sshd.url, *options, "--config-dir", str(store), cwd=tmp_path)
    (tmp_path / "hello.sh").write_text(HOSTNAME)
    refused = run("submit", "hello.sh", "--config-dir", str(store), cwd=tmp_path, timeout=60)
    assert refused.returncode == 2
    assert refused.stderr == (f"Error: cannot reach root@127.0.0.1:{sshd.port}: "
                              "root@127.0.0.1: Permission denied (publickey).\n")
