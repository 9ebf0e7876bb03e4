"""``fractale transform``: files and stdin in, translation out, losses on stderr, exit codes."""

import json
import subprocess
import sys

import pytest

SCRIPT = """#!/bin/bash
#SBATCH --job-name=blast
#SBATCH --nodes=1
#SBATCH --cpus-per-task=16
#SBATCH --mem=64G
#SBATCH --time=12:00:00
#SBATCH --signal=B:USR1@60

blastn -num_threads $SLURM_CPUS_PER_TASK -query q.fa -db nt > out.txt
"""


def run(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-c", "from fractale.cli import main; main()", "transform", *args],
        input=stdin, capture_output=True, text=True, check=False,
    )


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "blast.sbatch"
    path.write_text(SCRIPT)
    return path


def test_translates_a_file_to_stdout_and_lists_losses_on_stderr(script):
    proc = run("--to", "flux", str(script))
    assert proc.returncode == 0, proc.stderr
    assert "#FLUX: --cores-per-slot=16" in proc.stdout
    assert "line 7: --signal=B:USR1@60" in proc.stderr
    assert "memory_per_node" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_reads_standard_input_when_given_dash():
    proc = run("--from", "slurm", "--to", "slurm", "-", stdin=SCRIPT)
    assert proc.returncode == 0
    assert "#SBATCH --cpus-per-task=16" in proc.stdout


def test_strict_exits_3_when_anything_is_lost(script):
    proc = run("--to", "flux", "--strict", str(script))
    assert proc.returncode == 3
    assert "not translated (--strict)" in proc.stderr


def test_strict_exits_0_when_nothing_is_lost(tmp_path):
    path = tmp_path / "clean.sh"
    path.write_text("#!/bin/bash\n#SBATCH -N 2\n#SBATCH -n 8\n#SBATCH -t 30\nhostname\n")
    proc = run("--to", "flux", "--strict", str(path))
    assert proc.returncode == 0, proc.stderr


def test_json_report_lists_each_loss_with_line_and_reason(script):
    proc = run("--to", "flux", "--report", "json", str(script))
    report = json.loads(proc.stderr)
    assert report["source"] == "slurm" and report["target"] == "flux"
    signal = [loss for loss in report["losses"] if loss["line"] == 7]
    assert signal[0]["directive"] == "--signal=B:USR1@60"
    assert signal[0]["reason"]
    assert report["spec"]["cpus_per_task"] == 16


def test_writes_output_file_and_refuses_to_overwrite_it(script, tmp_path):
    out = tmp_path / "blast.flux"
    assert run("--to", "flux", "-o", str(out), str(script)).returncode == 0
    assert out.read_text().startswith("#!/bin/bash\n#FLUX:")
    out.write_text("mine")
    proc = run("--to", "flux", "-o", str(out), str(script))
    assert proc.returncode == 2
    assert "exists" in proc.stderr
    assert out.read_text() == "mine"


def test_missing_file_exits_2_with_a_message(tmp_path):
    proc = run("--to", "flux", str(tmp_path / "nope.sh"))
    assert proc.returncode == 2
    assert "no such file" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_undetectable_input_exits_2_with_a_message(tmp_path):
    path = tmp_path / "plain.sh"
    path.write_text("#!/bin/bash\necho hi\n")
    proc = run("--to", "flux", str(path))
    assert proc.returncode == 2
    assert "cannot tell which workload manager" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_malformed_directive_exits_2_naming_the_line(tmp_path):
    path = tmp_path / "bad.sh"
    path.write_text("#!/bin/bash\n#SBATCH --nodes=many\nhostname\n")
    proc = run("--to", "flux", str(path))
    assert proc.returncode == 2
    assert "bad.sh:2" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_binary_input_exits_2(tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(b"\xff\xfe\x00\x01")
    proc = run("--to", "flux", str(path))
    assert proc.returncode == 2
    assert "not UTF-8" in proc.stderr


def test_unknown_target_is_a_usage_error(script):
    proc = run("--to", "sge", str(script))
    assert proc.returncode == 2
    assert "Invalid value for '--to'" in proc.stderr


def test_a_directory_is_refused_with_a_message(tmp_path):
    proc = run("--to", "flux", str(tmp_path))
    assert proc.returncode == 2
    assert "is a directory" in proc.stderr
