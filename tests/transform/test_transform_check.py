"""A BatchJob that no manager could write faithfully is refused before any writer runs, naming
the field; a script read with the wrong --from is an error, not an empty job."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fractale.errors import TranslateError
from fractale.transform import BatchJob, names, read, render

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("fields, field", [
    ({"nodes": 0, "tasks": 4}, "nodes"),
    ({"array": "="}, "array"),
    ({"array": "5\n"}, "array"),
    ({"begin": "2026-01-01T10:00"}, "begin"),
    ({"begin": "next tuesday"}, "begin"),
    ({"name": ["a", "b"]}, "name"),
    ({"tasks": "4"}, "tasks"),
    ({"environment": {"A": 1}}, "environment"),
    ({"shell": "/bin/bash\n#SBATCH --nodes=99"}, "shell"),
    ({"shell": "/bin/sh -c 'rm -rf ~'"}, "shell"),
    ({"shell": "bash"}, "shell"),
    ({"shell": '/bin/bash "x'}, "shell"),
    ({"shell": "/bin/bash\\"}, "shell"),
])
@pytest.mark.parametrize("manager", names())
def test_a_spec_no_manager_can_write_is_refused_naming_the_field(fields, field, manager):
    with pytest.raises(TranslateError, match="the job cannot be written") as err:
        render(BatchJob(**fields), manager)
    assert err.value.location == field


@pytest.mark.parametrize("manager", names())
def test_a_plain_shebang_with_arguments_is_written(manager):
    assert render(BatchJob(name="x", tasks=1, shell="/usr/bin/env -S bash -l"), manager)


def test_render_refuses_what_is_not_a_jobspec():
    with pytest.raises(TranslateError, match="expected a BatchJob to write, not dict"):
        render({"name": "x"}, "slurm")


def test_reading_a_slurm_script_as_pbs_is_an_error_naming_the_real_manager():
    text = (EXAMPLES / "jobs" / "gromacs.sh").read_text()
    with pytest.raises(TranslateError, match="reads as slurm") as err:
        read(text, "pbs", file="gromacs.sh")
    assert err.value.expected.endswith("--from slurm")


def test_a_script_with_no_directives_at_all_still_reads_with_any_from():
    spec, _ = read("#!/bin/bash\nhostname\n", "pbs")
    assert spec.script.strip() == "hostname"


def _fractale(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from fractale.cli import main; main()", *args],
                          capture_output=True,
                          text=True, timeout=120)


def test_wrong_from_on_the_command_line_exits_2_with_one_line(tmp_path):
    done = _fractale("transform", "--from", "pbs", "--to", "flux",
                     str(EXAMPLES / "jobs" / "gromacs.sh"))
    assert done.returncode == 2
    assert "reads as slurm" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("command", [["transform", "--to", "slurm"],
                                     ["transform", "--from", "jobspec", "--to", "slurm"],
                                     ["satisfy", "--config-dir", str(EXAMPLES / "fleet")]])
def test_a_jobspec_nested_thousands_deep_is_a_clear_error(tmp_path, command):
    deep = tmp_path / "deep.json"
    deep.write_text('{"version": 1, "resources": ' + "[" * 5000 + "]" * 5000
                    + ', "tasks": [], "attributes": {}}')
    done = _fractale(*command, str(deep))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.startswith("Error:")
