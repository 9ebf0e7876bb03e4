"""The fleet commands: cluster, generate, satisfy, select, script and show."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner
from fractale.cli import cli
from fractale.store import Store

SCRIPT = textwrap.dedent(
    """\
    #!/bin/bash
    #SBATCH --nodes=2
    #SBATCH --ntasks-per-node=1
    #SBATCH --cpus-per-task=12
    #SBATCH --time=30:00

    srun ./simulate
    """
)


def run(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)


def fractale(*args, env=None):
    """The installed entry point in a child process, for exit statuses set by main()."""
    return subprocess.run(
        [sys.executable, "-c", "from fractale.cli import main; main()", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


@pytest.fixture
def job(tmp_path):
    path = tmp_path / "job.sh"
    path.write_text(SCRIPT)
    return path


def test_cluster_add_list_show_and_remove(store, graphs):
    root = store.root
    added = run("cluster", "add", "cpu", "--scheduler", "slurm", "--containment", graphs["cpu"],
                "--subsystem", f"spack={graphs['spack']}", "--cost", "1.5",
                "--meta", "site=lab", "--config-dir", root)
    assert added.exit_code == 0, added.output
    assert "Registered cpu (slurm): 4 nodes, 64 cores, 0 GPUs" in added.output
    listed = run("cluster", "list", "--config-dir", root)
    assert listed.output.splitlines() == [
        "NAME  SCHEDULER  NODES  CORES  GPUS  SUBSYSTEMS",
        "cpu   slurm      4      64     0     containment,spack",
    ]
    shown = json.loads(run("cluster", "show", "cpu", "--json", "--config-dir", root).output)
    assert shown["metadata"] == {"site": "lab"} and shown["cost"] == 1.5
    assert run("cluster", "remove", "cpu", "--config-dir", root).exit_code == 0
    assert "No clusters" in run("cluster", "list", "--config-dir", root).output


def test_fractale_home_locates_the_store(store, graphs):
    store.add("cpu", "slurm", graphs["cpu"])
    listed = run("cluster", "list", "--json", env={"FRACTALE_HOME": str(store.root)})
    assert [row["name"] for row in json.loads(listed.output)] == ["cpu"]


def test_registering_over_a_cluster_or_a_bad_graph_exits_2_and_changes_nothing(
    fleet_store, graphs, tmp_path
):
    again = fractale("cluster", "add", "cpu", "--scheduler", "flux", "--containment",
                     graphs["gpu"], "--config-dir", fleet_store.root)
    assert again.returncode == 2 and "already exists" in again.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('{"graph": {"nodes": [], "edges": 3}}')
    refused = fractale("cluster", "add", "new", "--scheduler", "slurm", "--containment", bad,
                       "--config-dir", fleet_store.root)
    assert refused.returncode == 2 and refused.stderr.startswith("Error: ")
    assert "Traceback" not in refused.stderr
    assert fleet_store.names() == ["cpu", "gpu", "tiny"]
    assert fleet_store.get("cpu").scheduler == "slurm"


def test_satisfy_prints_a_table_and_the_reasons_and_exits_0_when_one_fits(fleet_store, job):
    result = fractale("satisfy", job, "--require", "gromacs>=2023",
                      "--config-dir", fleet_store.root)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["CLUSTER", "SCHEDULER", "RESOURCES", "GROMACS", ">=2023", "RESULT"]
    assert lines[1].split() == ["cpu", "slurm", "fits", "gromacs@2023.1", "(spack)", "yes"]
    assert lines[2].split() == ["gpu", "flux", "fits", "no", "no"]
    assert "  gpu: gromacs: no software subsystem graph" in lines
    assert any(line.startswith("  tiny: ") for line in lines)


def test_satisfy_exits_1_when_no_cluster_fits_and_2_on_bad_input(fleet_store, job, tmp_path):
    none = fractale("satisfy", job, "--require", "vasp", "--config-dir", fleet_store.root)
    assert none.returncode == 1
    garbage = tmp_path / "notes.txt"
    garbage.write_text("remember to buy milk\n")
    bad = fractale("satisfy", garbage, "--config-dir", fleet_store.root)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    missing = fractale("satisfy", tmp_path / "absent.sh", "--config-dir", fleet_store.root)
    assert missing.returncode == 2 and "no such job file" in missing.stderr


def test_satisfy_json_lists_every_cluster_and_those_that_fit(fleet_store, job):
    result = fractale("satisfy", job, "--json", "--config-dir", fleet_store.root)
    document = json.loads(result.stdout)
    assert document["fits"] == ["cpu", "gpu"]
    assert [c["cluster"] for c in document["clusters"]] == ["cpu", "gpu", "tiny"]
    assert document["clusters"][2]["containment"]["reason"]


def test_select_prints_the_chosen_cluster(fleet_store, job):
    assert run("select", job, "--by", "cost", "--config-dir", fleet_store.root).output.split(
        "\n"
    )[0] == "cpu"
    first = run("select", job, "--by", "random", "--seed", "3", "--config-dir",
                fleet_store.root).output
    again = run("select", job, "--by", "random", "--seed", "3", "--config-dir",
                fleet_store.root).output
    assert first == again


def test_script_writes_the_file_and_never_overwrites_without_force(fleet_store, job, tmp_path):
    target = tmp_path / "out.sh"
    written = run("script", job, "--cluster", "gpu", "-o", target, "--config-dir",
                  fleet_store.root)
    assert written.exit_code == 0
    assert "#FLUX: --nodes=2" in target.read_text()
    target.write_text("mine\n")
    refused = fractale("script", job, "-o", target, "--config-dir", fleet_store.root)
    assert refused.returncode == 2 and "exists" in refused.stderr
    assert target.read_text() == "mine\n"


def test_script_adds_the_extra_directives_given_for_the_clusters_scheduler(fleet_store, job):
    written = fractale("script", job, "--cluster", "gpu", "--extra", "flux:--setattr=foo=bar",
                       "--extra", "slurm:--constraint=haswell", "--config-dir",
                       fleet_store.root)
    assert written.returncode == 0
    assert "#FLUX: --setattr=foo=bar\n" in written.stdout
    assert "haswell" not in written.stdout
    bad = fractale("script", job, "--cluster", "gpu", "--extra", "flux:--a=1\n#FLUX: -N 9",
                   "--config-dir", fleet_store.root)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_script_exits_1_when_the_named_cluster_cannot_run_the_job(fleet_store, job):
    result = fractale("script", job, "--cluster", "tiny", "--config-dir", fleet_store.root)
    assert result.returncode == 1 and "tiny:" in result.stderr


def test_generate_synthetic_writes_a_graph_the_store_accepts(tmp_path):
    target = tmp_path / "synthetic.json"
    result = run("generate", "synthetic", "--nodes", "3", "--cores", "4", "-o", target)
    assert result.exit_code == 0
    root = tmp_path / "store"
    added = run("cluster", "add", "s", "--scheduler", "slurm", "--containment", target,
                "--config-dir", root)
    assert added.exit_code == 0
    assert Store(root).get("s").counts()["core"] == 3 * 2 * 4


def test_generate_into_the_store_creates_a_cluster_then_adds_subsystems(tmp_path, data):
    root = tmp_path / "store"
    created = run("generate", "slurm", data / "scontrol-nodes.txt", "--store", "hpc",
                  "--config-dir", root)
    assert created.exit_code == 0, created.output
    added = run("generate", "spack", data / "spack", "--store", "hpc", "--config-dir", root)
    assert added.exit_code == 0, added.output
    cluster = Store(root).get("hpc")
    assert (cluster.scheduler, cluster.subsystems()) == ("slurm", ["containment", "spack"])
    again = fractale("generate", "spack", data / "spack", "--store", "hpc", "--config-dir", root)
    assert again.returncode == 2 and "--force" in again.stderr


def test_generate_progress_is_printed_when_asked_for(tmp_path):
    result = fractale("generate", "synthetic", "--nodes", "50", "--progress",
                      "-o", tmp_path / "g.json")
    assert result.returncode == 0
    assert "Generating nodes: 50/50" in result.stderr


def test_show_text_dot_svg_and_summary(fleet_store, tmp_path):
    root = fleet_store.root
    text = run("show", "gpu", "--config-dir", root).output
    assert "node × 2" in text and "gpu × 2" in text
    assert run("show", "gpu", "--format", "dot", "--config-dir", root).output.startswith("digraph")
    picture = tmp_path / "gpu.svg"
    assert run("show", "gpu", "-o", picture, "--config-dir", root).exit_code == 0
    assert "<svg" in picture.read_text()
    summary = json.loads(run("show", "cpu", "--summary", "--config-dir", root).output)
    assert summary["counts"]["node"] == 4 and "gromacs" in summary["software"]


def test_show_draws_a_graph_file_that_is_not_registered(graphs, tmp_path):
    result = run("show", graphs["gpu"], "--config-dir", tmp_path / "store")
    assert result.output.splitlines()[1] == "  node × 2"
