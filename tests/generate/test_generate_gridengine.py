"""Containment of Grid Engine clusters from `qhost -F -xml`, saved and live."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from fractale import ResourceGraph
from fractale.cli import cli
from fractale.generate.gridengine import (
    GridEngineError,
    gridengine_graph,
    parse_hosts,
    read_qhost,
)
from graph_reading import kinds, node


@pytest.fixture
def saved(data):
    return gridengine_graph((data / "qhost-F.xml").read_text(), name="sge")


def test_every_execution_host_becomes_a_node_and_global_none(saved):
    graph = ResourceGraph.from_jgf(saved)
    assert graph.summary()["node"] == 3
    assert [v["metadata"]["name"] for v in saved["graph"]["nodes"]
            if v["metadata"]["type"] == "node"] == ["compute-0-1", "gpu-0-1", "compute-0-2"]


def test_sockets_hold_the_cores_qhost_reports(saved):
    assert kinds(saved, "/sge0/compute-0-1")["socket"] == 2
    assert kinds(saved, "/sge0/compute-0-1/socket0")["core"] == 24
    # m_core counts cores, not the hardware threads of num_proc.
    assert kinds(saved, "/sge0/gpu-0-1")["core"] == 32


def test_the_gpu_complex_gives_the_gpus_spread_over_sockets(saved):
    assert kinds(saved, "/sge0/gpu-0-1/socket0")["gpu"] == 2
    assert kinds(saved, "/sge0/gpu-0-1/socket1")["gpu"] == 2
    assert kinds(saved, "/sge0/compute-0-1")["gpu"] == 0


def test_total_memory_is_spread_over_the_sockets_in_gb(saved):
    sizes = [v["metadata"]["size"] for v in saved["graph"]["nodes"]
             if v["metadata"]["type"] == "memory"
             and v["metadata"]["paths"]["containment"].startswith("/sge0/gpu-0-1/")]
    assert sizes == [252, 251]


def test_architecture_and_true_boolean_complexes_are_properties(saved):
    assert node(saved, "compute-0-1")["properties"] == {"arch": "lx-amd64", "infiniband": "true"}


def test_a_host_whose_execd_does_not_report_is_down(saved):
    assert node(saved, "compute-0-2")["status"] == 1
    assert "status" not in node(saved, "gpu-0-1")


@pytest.mark.parametrize(("text", "message"), [
    ("", "not XML"),
    ("<qstat/>", "not qhost -xml output"),
    ("<qhost><host name='global'/></qhost>", "lists no execution hosts"),
    ("<qhost><host name='a'><hostvalue name='num_proc'>many</hostvalue></host></qhost>",
     "not a number"),
    ("<qhost><host name='a'><hostvalue name='num_proc'>2</hostvalue>"
     "<hostvalue name='mem_total'>lots</hostvalue></host></qhost>", "not a size"),
])
def test_output_that_is_not_qhost_hosts_is_refused(text, message):
    with pytest.raises(GridEngineError, match=message):
        gridengine_graph(text)


@pytest.mark.gridengine
def test_the_local_grid_engine_hosts_are_described_as_qhost_reports_them(gridengine):
    text = read_qhost(gridengine.env)
    document = gridengine_graph(text, name="local")
    graph = ResourceGraph.from_jgf(document)
    hosts = parse_hosts(text)
    assert [host["name"] for host in hosts] == [gridengine.host]
    assert graph.summary()["node"] == 1
    values = hosts[0]["values"]
    path = f"/local0/{gridengine.host}"
    assert kinds(document, path)["socket"] == int(values["m_socket"])
    assert kinds(document, path)["core"] == int(values["m_core"])
    assert node(document, gridengine.host)["properties"]["arch"] == values["arch_string"]


@pytest.mark.gridengine
def test_a_cluster_generated_from_the_local_grid_engine_gets_scripts_qsub_takes(
        gridengine, tmp_path):
    store = tmp_path / "store"
    generated = CliRunner().invoke(
        cli, ["generate", "gridengine", "--store", "local", "--scheduler", "gridengine",
              "--config-dir", str(store)], env=gridengine.env, catch_exceptions=False)
    assert generated.exit_code == 0, generated.output
    job = tmp_path / "job.sbatch"
    job.write_text("#!/bin/bash\n#SBATCH --job-name=from-store\n#SBATCH --ntasks=2\n"
                   "#SBATCH --time=10:00\n\nsrun ./simulate\n")
    script = tmp_path / "job.sh"
    written = CliRunner().invoke(cli, ["script", str(job), "--cluster", "local", "-o",
                                       str(script), "--config-dir", str(store)],
                                 catch_exceptions=False)
    assert written.exit_code == 0, written.output
    assert "#$ -pe mpi 2\n" in script.read_text()
    job_id, message = gridengine.submit_held(script)
    assert job_id, message
    try:
        held = gridengine.held(job_id)
        assert (held.name, held.pe, held.slots) == ("from-store", "mpi", 2)
    finally:
        gridengine.delete(job_id)
