"""The Grid Engine adapter on the suite's real Grid Engine: a job submitted with qsub runs to
completion and is read back as completed (from qacct once it has left qstat); a held job
reads as pending and qdel takes it away."""

from __future__ import annotations

import time

import pytest
from fractale.transform.managers.gridengine import GridEngineSubmitter
from fractale.transform.transport import Local, Target

pytestmark = pytest.mark.gridengine


@pytest.fixture
def transport(gridengine, monkeypatch):
    for name, value in gridengine.env.items():
        if name.startswith("SGE_"):
            monkeypatch.setenv(name, value)
    return Local(Target())


def _script(folder, body):
    path = folder / "job.sh"
    path.write_text(f"#!/bin/bash\n#$ -N fractale-ge\n#$ -cwd\n#$ -S /bin/bash\n{body}\n")
    return str(path)


def _until_final(submitter, transport, job_id, limit=120.0):
    started = time.monotonic()
    while time.monotonic() - started < limit:
        status = submitter.status(transport, job_id)
        if status.final:
            return status
        time.sleep(1)
    raise AssertionError(f"job {job_id} did not end within {limit} s: {status}")


def test_a_job_runs_to_completion_and_reads_as_completed(transport, tmp_path):
    submitter = GridEngineSubmitter()
    job_id = submitter.submit(transport, _script(tmp_path, "hostname"), str(tmp_path), False)
    assert job_id.isdigit()
    status = _until_final(submitter, transport, job_id)
    assert (status.state, status.exit_code) == ("completed", 0)
    assert (tmp_path / f"fractale-ge.o{job_id}").read_text().strip()


def test_a_failing_job_reads_as_failed_with_its_exit_code(transport, tmp_path):
    submitter = GridEngineSubmitter()
    job_id = submitter.submit(transport, _script(tmp_path, "exit 3"), str(tmp_path), False)
    status = _until_final(submitter, transport, job_id)
    assert (status.state, status.exit_code) == ("failed", 3)


def test_a_held_job_is_pending_until_qdel_takes_it_away(transport, tmp_path):
    submitter = GridEngineSubmitter()
    job_id = submitter.submit(transport, _script(tmp_path, "hostname"), str(tmp_path), True)
    status = submitter.status(transport, job_id)
    assert status.state == "pending" and "h" in status.native
    done = transport.run(submitter.cancel_command(job_id))
    assert done.ok, done.message
    assert submitter.status(transport, job_id).state == "unknown"
