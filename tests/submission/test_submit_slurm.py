"""`fractale submit` end to end on the real local Slurm: submit, wait, status, logs, cancel a
held job, and what a user sees when a submission cannot go through."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import fractale
import pytest
from fractale.jobs import JobBook, JobRecord, now
from fractale.store import Store
from fractale.submission import Plan, Submission
from fractale_command import run

pytestmark = pytest.mark.slurm

HOSTNAME = "#!/bin/bash\n#SBATCH --job-name=hello\n#SBATCH --ntasks=1\nhostname\n"


def job(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def records(store: Path) -> list:
    return JobBook(Store(store)).all()


def test_a_hostname_job_is_submitted_waited_for_read_and_listed(here, tmp_path):
    script = job(tmp_path, "hello.sh", HOSTNAME)
    store = ["--config-dir", str(here)]
    submitted = run("submit", str(script), *store, cwd=tmp_path)
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip()
    assert job_id.isdigit()
    assert f"Submitted here:{job_id} (slurm) on local" in submitted.stderr

    waited = run("wait", job_id, "--timeout", "120", *store, cwd=tmp_path)
    assert (waited.returncode, waited.stdout.strip()) == (
        0, f"here:{job_id}: completed (COMPLETED, exit 0)")
    status = run("status", f"here:{job_id}", "--json", *store, cwd=tmp_path)
    assert status.returncode == 0
    record = json.loads(status.stdout)
    assert (record["state"], record["native"], record["exit_code"]) == ("completed",
                                                                         "COMPLETED", 0)
    assert record["workdir"] == str(tmp_path)
    # The script copied to the cluster is the one Slurm ran, beside the job's output.
    assert Path(record["script"]).parent == tmp_path / ".fractale-jobs"
    assert Path(record["script"]).read_text() == record["text"]
    assert record["outputs"] == [str(tmp_path / f"slurm-{job_id}.out")]

    logs = run("logs", job_id, *store, cwd=tmp_path)
    assert (logs.returncode, logs.stdout) == (0, socket.gethostname() + "\n")
    listed = run("jobs", "--json", *store, cwd=tmp_path)
    assert [entry["ref"] for entry in json.loads(listed.stdout)] == [f"here:{job_id}"]
    table = run("jobs", *store, cwd=tmp_path).stdout.splitlines()
    assert table[0].split() == ["JOB", "SCHEDULER", "STATE", "NATIVE", "SUBMITTED", "NAME"]
    assert table[1].split()[:4] == [f"here:{job_id}", "slurm", "completed", "COMPLETED"]


def test_a_held_job_stays_pending_until_it_is_cancelled(here, tmp_path):
    script = job(tmp_path, "held.sh", HOSTNAME)
    store = ["--config-dir", str(here)]
    submitted = run("submit", "--hold", str(script), *store, cwd=tmp_path)
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip()
    status = run("status", job_id, *store, cwd=tmp_path)
    assert (status.returncode, status.stdout.strip()) == (
        0, f"here:{job_id}: pending (PENDING, JobHeldUser)")
    still = run("wait", job_id, "--timeout", "1", *store, cwd=tmp_path)
    assert still.returncode == 1
    assert "Still pending after 1 s" in still.stderr

    cancelled = run("cancel", job_id, "--json", *store, cwd=tmp_path)
    assert cancelled.returncode == 0, cancelled.stderr
    assert json.loads(cancelled.stdout)["state"] == "cancelled"
    assert json.loads(cancelled.stdout)["native"] == "CANCELLED"
    after = run("status", job_id, *store, cwd=tmp_path)
    assert after.returncode == 1
    assert after.stdout.startswith(f"here:{job_id}: cancelled (CANCELLED")
    again = run("cancel", job_id, *store, cwd=tmp_path)
    assert (again.returncode, again.stderr) == (
        2, f"Error: job here:{job_id} already ended (cancelled)\n")


def test_a_failing_job_is_failed_with_its_exit_code(here, tmp_path):
    script = job(tmp_path, "fails.sh", "#!/bin/bash\n#SBATCH --ntasks=1\necho oops\nexit 3\n")
    store = ["--config-dir", str(here)]
    job_id = run("submit", str(script), *store, cwd=tmp_path).stdout.strip()
    waited = run("wait", job_id, "--json", *store, cwd=tmp_path)
    assert waited.returncode == 1
    record = json.loads(waited.stdout)
    assert (record["state"], record["exit_code"]) == ("failed", 3)
    assert run("logs", job_id, *store, cwd=tmp_path).stdout == "oops\n"


def test_a_refused_submission_says_why_in_sbatchs_words_and_leaves_nothing(here, tmp_path):
    script = job(tmp_path, "bad.sh", HOSTNAME.replace("--ntasks=1", "--partition=nosuch"))
    refused = run("submit", str(script), "--config-dir", str(here), cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stdout == ""
    assert refused.stderr.count("\n") == 1
    assert refused.stderr.startswith("Error: sbatch refused the job: sbatch: error: ")
    assert refused.stderr.endswith(
        "Batch job submission failed: Invalid partition name specified\n")
    assert records(here) == []
    assert list((tmp_path / ".fractale-jobs").iterdir()) == []


def test_a_scheduler_that_cannot_answer_is_one_line_with_its_own_message(here, tmp_path):
    script = job(tmp_path, "hello.sh", HOSTNAME)
    # A configuration the Slurm commands cannot read: sbatch fails at once, in its words.
    broken_conf = job(tmp_path, "broken.conf", "this is not slurm.conf\n")
    environment = {**os.environ, "SLURM_CONF": str(broken_conf)}
    broken = subprocess.run(
        [sys.executable, "-c", "from fractale.cli import main; main()", "submit",
         str(script), "--config-dir", str(here)],
        capture_output=True, text=True, cwd=tmp_path, env=environment, timeout=120,
    )
    assert broken.returncode == 2
    assert broken.stderr.count("\n") == 1
    assert broken.stderr.startswith("Error: sbatch refused the job: ")
    assert broken.stderr.endswith("sbatch: fatal: Unable to process configuration file\n")
    assert records(here) == []


def test_unknown_clusters_and_jobs_are_one_line_errors(here, tmp_path):
    script = job(tmp_path, "hello.sh", HOSTNAME)
    store = ["--config-dir", str(here)]
    unknown = run("submit", str(script), "--cluster", "nosuch", *store, cwd=tmp_path)
    assert (unknown.returncode, unknown.stderr) == (
        2, f"Error: no cluster named 'nosuch' in {here} (known: here)\n")
    for command in ("status", "wait", "cancel", "logs"):
        missing = run(command, "999999", *store, cwd=tmp_path)
        assert (missing.returncode, missing.stderr) == (
            2, "Error: fractale submitted no job '999999' (see `fractale jobs`)\n"), command
    assert records(here) == []


def test_a_job_its_scheduler_does_not_know_is_unknown_and_wait_stops_asking(here, tmp_path):
    book = JobBook(Store(here))
    (tmp_path / "ghost.sh").write_text(HOSTNAME)
    # A record of a job this Slurm never had (its id far beyond any it gave).
    book.save(JobRecord(id="99999990", cluster="here", scheduler="slurm",
                        submit={"url": "local"}, workdir=str(tmp_path),
                        script=str(tmp_path / "ghost.sh"), text=HOSTNAME, submitted=now()))
    store = ["--config-dir", str(here)]
    status = run("status", "99999990", *store, cwd=tmp_path)
    assert status.returncode == 1
    assert status.stdout.startswith("here:99999990: unknown (")
    waited = run("wait", "99999990", "--timeout", "120", *store, cwd=tmp_path)
    assert waited.returncode == 1
    assert waited.stdout.startswith("here:99999990: unknown (")


def test_the_record_survives_a_killed_fractale(here, tmp_path):
    script = job(tmp_path, "long.sh", "#!/bin/bash\n#SBATCH --ntasks=1\nsleep 60\n")
    store = ["--config-dir", str(here)]
    job_id = run("submit", str(script), *store, cwd=tmp_path).stdout.strip()
    waiting = subprocess.Popen(
        [sys.executable, "-c", "from fractale.cli import main; main()", "wait", job_id, *store],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    # Killed while it polls and rewrites the record.
    time.sleep(3)
    waiting.send_signal(signal.SIGKILL)
    waiting.wait()
    (record,) = records(here)
    assert record.id == job_id and record.state in ("pending", "running")
    assert run("status", job_id, *store, cwd=tmp_path).returncode == 0
    assert run("cancel", job_id, *store, cwd=tmp_path).returncode == 0
    assert records(here)[0].state == "cancelled"


def test_the_python_api_submits_and_follows_a_job(here, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    script = job(tmp_path, "hello.sh", HOSTNAME)
    plan = fractale.submit(script, store=here, dry_run=True)
    assert isinstance(plan, Plan)
    assert (plan.cluster, plan.where) == ("here", "localhost")
    assert plan.command.startswith(f"cd {tmp_path} && sbatch --parsable {tmp_path}/.fractale-jobs/")
    assert not (tmp_path / ".fractale-jobs").exists() and records(here) == []

    handle = fractale.submit(script, "here", store=here)
    assert handle.ref == f"here:{handle.id}"
    assert handle.wait(timeout=120).state == "completed"
    again = Submission.open(handle.id, here)
    assert again.status().exit_code == 0
    assert again.logs() == socket.gethostname() + "\n"

    held = fractale.submit(script, store=here, hold=True)
    assert held.status().state == "pending"
    assert held.cancel().state == "cancelled"
