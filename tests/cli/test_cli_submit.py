"""The submit commands without a scheduler: how a cluster is reached, dry runs on the bundled
fleet, and the answers to input that cannot be used."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fractale.store import Store
from fractale.transform.transport import Target, login_relative, transport
from fractale_command import run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
README_JOB = [str(EXAMPLES / "jobs" / "gromacs.sh"), "--require", "gromacs>=2023",
              "--by", "cost"]


@pytest.fixture
def fleet(tmp_path) -> Path:
    """A copy of the bundled example fleet (dev: pbs, quartz: slurm, tioga: flux)."""
    copy = tmp_path / "fleet"
    shutil.copytree(EXAMPLES / "fleet", copy, ignore=shutil.ignore_patterns(".*"))
    return copy


def test_the_readme_example_goes_one_step_further_with_a_dry_run(fleet, tmp_path):
    dry = run("submit", "--dry-run", "--config-dir", str(fleet), *README_JOB, cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    assert lines[0] == "Would submit to quartz (slurm) on localhost:"
    assert lines[1].startswith(f"  write  {tmp_path}/.fractale-jobs/lysozyme-md-")
    assert lines[2].startswith(f"  run    cd {tmp_path} && sbatch --parsable {tmp_path}/")
    assert lines[3] == "--- script ---"
    assert "spack load gromacs@2023.1/q3kcqxs" in lines
    assert "#SBATCH --output=lysozyme-%j.out" in lines
    # It changed nothing: no script written, no job recorded.
    assert not (tmp_path / ".fractale-jobs").exists()
    assert not (fleet / ".jobs").exists()


def test_the_python_api_chooses_by_a_rule_and_takes_policy_for_one_release(fleet, tmp_path,
                                                                            monkeypatch):
    import fractale

    monkeypatch.chdir(tmp_path)
    job = README_JOB[0]
    plan = fractale.submit(job, by="cost", requires=["gromacs>=2023"], store=fleet,
                           dry_run=True)
    assert plan.cluster == "quartz"
    with pytest.warns(DeprecationWarning, match=r"submit\(policy=...\) is deprecated; use by="):
        old = fractale.submit(job, policy="cost", requires=["gromacs>=2023"], store=fleet,
                              dry_run=True)
    # The same cluster and script (its file name is new each time).
    assert (old.cluster, old.text) == (plan.cluster, plan.text)


def test_a_dry_run_to_a_named_cluster_in_json(fleet, tmp_path):
    dry = run("submit", "--dry-run", "--json", "--hold", "--cluster", "tioga",
              "--config-dir", str(fleet), *README_JOB[:3], cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)
    assert (plan["dry_run"], plan["cluster"], plan["scheduler"], plan["host"], plan["hold"]) == (
        True, "tioga", "flux", "localhost", True)
    assert plan["command"].startswith(f"cd {tmp_path} && flux batch --urgency=hold ")
    assert "module load gcc/12.2.0 gromacs/2023.3" in plan["text"]


def test_a_named_cluster_and_a_rule_are_not_both_given(fleet, tmp_path):
    both = run("submit", "--dry-run", "--cluster", "tioga", "--by", "cost",
               "--config-dir", str(fleet), *README_JOB[:3], cwd=tmp_path)
    assert (both.returncode, both.stderr) == (2, "Error: give --cluster or --by, not both\n")


def test_a_job_no_cluster_can_run_exits_1(fleet, tmp_path):
    dry = run("submit", "--dry-run", "--cluster", "dev", "--config-dir", str(fleet),
              *README_JOB[:3], cwd=tmp_path)
    assert dry.returncode == 1
    assert dry.stderr.startswith("no cluster can run this job:\n  dev: ")


def test_a_cluster_reached_over_ssh_is_stored_and_shown(fleet, tmp_path):
    graph = fleet / "dev" / "containment.json"
    added = run("cluster", "add", "remote", "--scheduler", "pbs", "--containment", str(graph),
                "--submit", "ssh://alice@login.example.org:2222", "--workdir", "/scratch/alice",
                "--ssh-option", "ProxyJump=gateway", "--config-dir", str(fleet), cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert "jobs go to alice@login.example.org:2222" in added.stdout
    target = Store(fleet).get("remote").target()
    assert (target.user, target.host, target.port, target.workdir, target.ssh_options) == (
        "alice", "login.example.org", 2222, "/scratch/alice", {"ProxyJump": "gateway"})
    shown = run("cluster", "show", "remote", "--config-dir", str(fleet), cwd=tmp_path).stdout
    assert "submit:\n  url: ssh://alice@login.example.org:2222\n  workdir: /scratch/alice\n" in (
        shown)
    # A cluster that names none is reached here.
    local = json.loads(run("cluster", "show", "quartz", "--json", "--config-dir", str(fleet),
                           cwd=tmp_path).stdout)
    assert local["submit"] == {"url": "local"}
    # A dry run over SSH names the host and the remote directory, and reaches neither.
    (tmp_path / "small.sh").write_text("#!/bin/bash\n#SBATCH --ntasks=1\nhostname\n")
    dry = run("submit", "--dry-run", "--cluster", "remote", "--config-dir", str(fleet),
              "small.sh", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    assert lines[0] == "Would submit to remote (pbs) on alice@login.example.org:2222:"
    assert lines[1].startswith("  write  /scratch/alice/.fractale-jobs/small-")
    assert lines[2].startswith("  run    cd /scratch/alice && qsub /scratch/alice/.fractale-jobs/")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--submit", "ftp://login"],
         "Error: cannot read the submit address 'ftp://login' "
         "(expected local or ssh://[user@]host[:port])\n"),
        (["--submit", "ssh://alice@login:99999"],
         "Error: port 99999 in 'ssh://alice@login:99999' is not between 1 and 65535\n"),
        (["--ssh-option", "IdentityFile=~/.ssh/key"],
         "Error: ssh options need --submit ssh://user@host\n"),
        (["--submit", "ssh://login", "--ssh-option", "Identity File=x"],
         "Error: invalid ssh option Identity File='x' (expected an ssh_config keyword and a "
         "value, e.g. IdentityFile=~/.ssh/id_ed25519)\n"),
    ],
)
def test_a_submit_address_that_cannot_be_used_is_refused(fleet, tmp_path, options, message):
    graph = fleet / "dev" / "containment.json"
    refused = run("cluster", "add", "bad", "--scheduler", "pbs", "--containment", str(graph),
                  *options, "--config-dir", str(fleet), cwd=tmp_path)
    assert (refused.returncode, refused.stderr) == (2, message)
    assert "bad" not in Store(fleet)


def test_no_jobs_yet(fleet, tmp_path):
    listed = run("jobs", "--config-dir", str(fleet), cwd=tmp_path)
    assert (listed.returncode, listed.stdout) == (
        0, f"No jobs submitted from {fleet}. Submit one with `fractale submit`.\n")
    assert json.loads(run("jobs", "--json", "--config-dir", str(fleet), cwd=tmp_path).stdout) == []


def test_a_missing_scheduler_command_is_named(tmp_path):
    reach = transport(Target.parse("local", str(tmp_path)))
    result = reach.run(["no-such-scheduler-command", "--version"])
    assert (result.returncode, result.message) == (
        127, "no-such-scheduler-command: command not found")
    assert reach.read(str(tmp_path / "missing.out")) is None


def test_a_flux_cluster_can_be_given_a_canonical_jobspec(fleet, tmp_path):
    dry = run("submit", "--dry-run", "--json", "--jobspec", "--cluster", "tioga",
              "--config-dir", str(fleet), *README_JOB[:3], cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)
    assert plan["scheduler"] == "jobspec"
    assert plan["script"].endswith(".json")
    assert plan["command"].startswith(f"cd {tmp_path} && flux job submit {tmp_path}/")
    jobspec = json.loads(plan["text"])
    assert jobspec["attributes"]["system"]["duration"] == 7200
    assert "module load gcc/12.2.0 gromacs/2023.3" in (
        jobspec["attributes"]["system"]["files"]["script"]["data"])
    refused = run("submit", "--dry-run", "--jobspec", "--cluster", "quartz",
                  "--config-dir", str(fleet), *README_JOB[:3], cwd=tmp_path)
    assert (refused.returncode, refused.stderr) == (
        2, "Error: only Flux takes a canonical jobspec, and quartz runs slurm\n")


def test_a_remote_working_directory_is_taken_from_the_login_directory():
    assert (login_relative(None), login_relative("~"), login_relative("~/runs"),
            login_relative("/scratch/me")) == (".", ".", "./runs", "/scratch/me")
    reach = transport(Target.parse("ssh://me@login.example.org", "~/runs"))
    assert reach.describe(["sbatch", "my job.sh"], "./runs") == "cd ./runs && sbatch 'my job.sh'"
    assert reach.describe(["bsub"], ".", stdin="a.lsf") == "bsub < a.lsf"
