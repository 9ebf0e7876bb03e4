"""Containment from hwloc: this machine's lstopo, and saved topologies of other machines."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from fractale import ResourceGraph
from fractale.generate.hwloc import HwlocError, hwloc_graph, hwloc_graph_from_files, read_lstopo
from graph_reading import kinds, metadata_by_path


@pytest.fixture
def server(data):
    return hwloc_graph_from_files([str(data / "hwloc-gpu-server.xml")], name="lab")


def test_packages_become_sockets_holding_their_cores(server):
    paths = metadata_by_path(server)
    assert kinds(server)["socket"] == 2
    assert kinds(server, "/lab0/gpu-a01/socket0")["core"] == 4
    assert kinds(server, "/lab0/gpu-a01/socket1")["core"] == 4
    assert paths["/lab0/gpu-a01/socket1/core7"]["type"] == "core"


def test_the_node_is_named_by_its_host_name_and_ranked(server):
    node = metadata_by_path(server)["/lab0/gpu-a01"]
    assert (node["type"], node["rank"], node["properties"]) == ("node", 0, {"x86_64": "true"})


def test_each_numa_node_becomes_a_memory_pool_in_gb_under_its_socket(server):
    memory = metadata_by_path(server)["/lab0/gpu-a01/socket1/memory1"]
    assert (memory["size"], memory["unit"]) == (251, "GB")


def test_compute_gpus_sit_under_the_socket_they_hang_from_and_consoles_are_not_gpus(server):
    assert kinds(server)["gpu"] == 2
    assert kinds(server, "/lab0/gpu-a01/socket0")["gpu"] == 1
    assert kinds(server, "/lab0/gpu-a01/socket1")["gpu"] == 1


def test_several_topologies_make_one_node_each_in_rank_order(data):
    path = str(data / "hwloc-gpu-server.xml")
    document = hwloc_graph_from_files([path, path])
    vertices = [v["metadata"] for v in document["graph"]["nodes"]]
    ranks = [vertex["rank"] for vertex in vertices if vertex["type"] == "node"]
    assert ranks == [0, 1]


def test_the_graph_loads_in_the_core(server):
    assert ResourceGraph.from_jgf(server).summary()["core"] == 8


@pytest.mark.skipif(shutil.which("lstopo") is None, reason="hwloc's lstopo is not installed")
def test_this_machine_has_as_many_cores_as_hwloc_counts():
    document = hwloc_graph([read_lstopo()])
    counted = subprocess.run(
        ["lstopo", "--only", "core"], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    cores = len([line for line in counted if line.strip()])
    assert kinds(document)["node"] == 1
    assert ResourceGraph.from_jgf(document).summary()["core"] == cores


def test_text_that_is_not_an_hwloc_topology_is_refused():
    with pytest.raises(HwlocError, match="not XML"):
        hwloc_graph(["NodeName=a"])
    with pytest.raises(HwlocError, match="not an hwloc topology"):
        hwloc_graph(["<html/>"])
