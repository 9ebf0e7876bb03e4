"""Containment of Slurm clusters from `scontrol show node --oneliner`, saved and live."""

from __future__ import annotations

import pytest
from fractale import ResourceGraph
from fractale.generate.slurm import (
    SlurmError,
    parse_gres,
    parse_node_line,
    read_scontrol,
    slurm_graph,
)
from graph_reading import kinds, node


@pytest.fixture
def saved(data):
    return slurm_graph((data / "scontrol-nodes.txt").read_text(), name="hpc")


def test_every_slurm_node_becomes_a_node_with_sockets_of_cores(saved):
    assert kinds(saved, "/hpc0/gpu001") ["socket"] == 2
    assert kinds(saved, "/hpc0/gpu001/socket1")["core"] == 32
    assert kinds(saved, "/hpc0/cpu001")["core"] == 48


def test_gres_gpus_follow_their_socket_affinity(saved):
    assert kinds(saved, "/hpc0/gpu001/socket0")["gpu"] == 2
    assert kinds(saved, "/hpc0/gpu001/socket1")["gpu"] == 2
    assert kinds(saved, "/hpc0/gpu002/socket1")["gpu"] == 2
    assert kinds(saved, "/hpc0/cpu001")["gpu"] == 0


def test_real_memory_is_spread_over_the_sockets_in_gb(saved):
    sizes = [
        v["metadata"]["size"]
        for v in saved["graph"]["nodes"]
        if v["metadata"]["paths"]["containment"].startswith("/hpc0/cpu001/")
        and v["metadata"]["type"] == "memory"
    ]
    assert sum(sizes) == 191000 // 1024 and len(sizes) == 2


def test_features_become_node_properties(saved):
    assert node(saved, "gpu001")["properties"] == {"amd": "true", "a100": "true", "ib": "true"}


def test_drained_and_not_responding_nodes_are_down_and_busy_ones_up(saved):
    assert node(saved, "gpu002").get("status") == 1
    assert node(saved, "cpu002").get("status") == 1
    assert node(saved, "gpu001").get("status", 0) == 0
    assert node(saved, "cpu001").get("status", 0) == 0


def test_fields_with_spaces_are_read_whole():
    fields = parse_node_line(
        "NodeName=a OS=Linux 5.14 #1 SMP PREEMPT_DYNAMIC Tue Oct 3  RealMemory=10 "
        "Reason=Not responding [slurm@2024-02-18T04:15:02]"
    )
    assert fields["OS"] == "Linux 5.14 #1 SMP PREEMPT_DYNAMIC Tue Oct 3"
    assert fields["Reason"] == "Not responding [slurm@2024-02-18T04:15:02]"


def test_gres_forms():
    assert parse_gres("(null)", 2) == []
    assert parse_gres("gpu:2", 2) == [(None, [0, 1]), (None, [0, 1])]
    assert parse_gres("gpu:v100:1(S:1)", 2) == [("v100", [1])]
    assert len(parse_gres("gpu:a100:2(S:0),gpu:a100:2(S:1),shard:8", 2)) == 4


def test_output_that_lists_no_nodes_is_refused():
    with pytest.raises(SlurmError, match="lists no nodes"):
        slurm_graph("\n")
    with pytest.raises(SlurmError, match="NodeName"):
        slurm_graph("JobId=1 JobName=x")


@pytest.mark.slurm
def test_the_local_slurm_nodes_are_described_as_scontrol_reports_them(slurm):
    text = read_scontrol(slurm.env)
    document = slurm_graph(text, name="local")
    graph = ResourceGraph.from_jgf(document)
    lines = [parse_node_line(line) for line in text.splitlines() if line.strip()]
    assert graph.summary()["node"] == len(lines)
    for fields in lines:
        path = f"/local0/{fields['NodeName']}"
        cores = int(fields["Sockets"]) * int(fields["CoresPerSocket"])
        assert kinds(document, path)["core"] == cores
        assert kinds(document, path)["socket"] == int(fields["Sockets"])
