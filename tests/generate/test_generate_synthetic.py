"""Synthetic clusters: the shape asked for, in the conventions of Fluxion's own JGF files."""

from collections import Counter

import pytest
from fractale.generate.synthetic import synthetic_graph
from graph_reading import kinds, metadata_by_path


def test_counts_follow_nodes_sockets_cores_gpus_and_memory():
    document = synthetic_graph(3, sockets=2, cores=4, gpus=2, memory=4, memory_size=8)
    assert kinds(document) == {
        "cluster": 1,
        "node": 3,
        "socket": 6,
        "core": 24,
        "gpu": 6,
        "memory": 12,
    }


def test_every_vertex_but_the_root_has_exactly_one_containment_parent():
    document = synthetic_graph(4, racks=2, cores=2)
    vertices = document["graph"]["nodes"]
    targets = Counter(edge["target"] for edge in document["graph"]["edges"])
    assert len(document["graph"]["edges"]) == len(vertices) - 1
    assert all(count == 1 for count in targets.values())
    assert "0" not in targets
    assert {e["metadata"]["subsystem"] for e in document["graph"]["edges"]} == {"containment"}


def test_edges_join_a_parent_path_to_its_child_path():
    document = synthetic_graph(2, cores=2, racks=1)
    paths = {v["id"]: v["metadata"]["paths"]["containment"] for v in document["graph"]["nodes"]}
    for edge in document["graph"]["edges"]:
        parent, child = paths[edge["source"]], paths[edge["target"]]
        assert child.rsplit("/", 1)[0] == parent


def test_vertices_carry_fluxion_metadata_with_uniq_id_equal_to_position():
    document = synthetic_graph(2, cores=1, gpus=0, memory=0)
    for position, vertex in enumerate(document["graph"]["nodes"]):
        metadata = vertex["metadata"]
        assert vertex["id"] == str(position)
        assert metadata["uniq_id"] == position
        assert metadata["name"] == f"{metadata['basename']}{metadata['id']}"
        assert metadata["exclusive"] is False
        assert set(metadata) >= {"type", "basename", "rank", "unit", "size", "paths"}


def test_gpus_and_memory_sit_under_sockets_with_ids_counted_per_node():
    document = synthetic_graph(2, sockets=2, cores=1, gpus=4, memory=2, memory_size=32)
    paths = metadata_by_path(document)
    assert "/cluster0/node1/socket0/gpu1" in paths
    assert "/cluster0/node1/socket1/gpu3" in paths
    memory = paths["/cluster0/node1/socket1/memory1"]
    assert (memory["size"], memory["unit"]) == (32, "GB")


def test_nodes_are_numbered_across_racks_and_ranked_in_order():
    paths = metadata_by_path(synthetic_graph(5, racks=2, cores=1))
    assert paths["/cluster0/rack0/node2"]["rank"] == 2
    assert paths["/cluster0/rack1/node3"]["rank"] == 3
    assert paths["/cluster0/rack1/node4/socket1/core1"]["rank"] == 4


def test_the_cluster_vertex_is_named_after_the_cluster():
    root = synthetic_graph(1, name="quartz")["graph"]["nodes"][0]["metadata"]
    assert (root["type"], root["name"], root["paths"]["containment"]) == (
        "cluster",
        "quartz0",
        "/quartz0",
    )


def test_progress_reports_every_node_once():
    seen = []
    synthetic_graph(1001, cores=1, gpus=0, memory=0, progress=seen.append)
    assert sum(seen) == 1001


@pytest.mark.parametrize(
    "arguments",
    [
        {"nodes": 0},
        {"nodes": 2, "sockets": 0},
        {"nodes": 2, "racks": 3},
        {"nodes": 1, "name": "a/b"},
    ],
)
def test_shapes_that_are_not_clusters_are_refused(arguments):
    with pytest.raises(ValueError):
        synthetic_graph(**arguments)
