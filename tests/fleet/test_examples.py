"""The bundled example fleet and jobs do what examples/jobs/README.md says."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def fleet(tmp_path):
    """A copy of the example fleet, so that caches fractale keeps stay out of the checkout."""
    copy = tmp_path / "fleet"
    shutil.copytree(EXAMPLES / "fleet", copy, ignore=shutil.ignore_patterns(".*"))
    return copy


def fractale(*args):
    return subprocess.run(
        [sys.executable, "-c", "from fractale.cli import main; main()", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_example_job_fits_quartz_and_tioga_but_not_dev(fleet):
    job = EXAMPLES / "jobs" / "gromacs.yaml"
    result = fractale("satisfy", "--json", "--config-dir", fleet, job)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["fits"] == ["quartz", "tioga"]
    dev = answer["clusters"][0]
    assert dev["cluster"] == "dev" and len(dev["reasons"]) == 2


def test_the_example_script_loads_gromacs_with_spack_on_quartz(fleet):
    result = fractale("script", "--config-dir", fleet, EXAMPLES / "jobs" / "gromacs.yaml")
    assert result.returncode == 0, result.stderr
    assert "#SBATCH --nodes=4" in result.stdout
    assert "spack load gromacs@2023.1/q3kcqxs" in result.stdout


def test_the_example_batch_script_gets_a_flux_script_with_modules_on_tioga(fleet):
    result = fractale("script", "--config-dir", fleet, "--cluster", "tioga", "--require",
                      "gromacs>=2023", EXAMPLES / "jobs" / "gromacs.sh")
    assert result.returncode == 0, result.stderr
    assert "#FLUX: --nodes=4" in result.stdout
    assert "module load gcc/12.2.0 gromacs/2023.3" in result.stdout


def test_matching_leaves_the_example_clusters_as_they_were(fleet):
    def contents():
        return {
            p.relative_to(fleet): p.read_bytes()
            for p in fleet.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        }

    before = contents()
    fractale("satisfy", "--config-dir", fleet, EXAMPLES / "jobs" / "gromacs.yaml")
    assert contents() == before


def test_the_readme_command_writes_a_slurm_script_for_the_cheapest_cluster(fleet):
    result = fractale("script", "--config-dir", fleet, EXAMPLES / "jobs" / "gromacs.sh",
                      "--require", "gromacs>=2023", "--by", "cost")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "#SBATCH --nodes=4" in lines
    assert lines.index("spack load gromacs@2023.1/q3kcqxs") < lines.index(
        "srun gmx_mpi mdrun -s topol.tpr -ntomp $SLURM_CPUS_PER_TASK"
    )
