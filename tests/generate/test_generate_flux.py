"""Containment of Flux instances from their resource set R."""

from __future__ import annotations

import json

import pytest
from fractale import ResourceGraph
from fractale.generate.flux import FluxError, flux_graph
from fractale.generate.hostlist import expand_hostlist, expand_idset
from graph_reading import metadata_by_path


def test_each_rank_becomes_a_node_named_from_the_nodelist_with_its_cores_and_gpus(data):
    document = flux_graph((data / "flux-R.json").read_text(), name="tioga")
    paths = metadata_by_path(document)
    assert [p for p in paths if p.count("/") == 2] == [
        "/tioga0/tioga10",
        "/tioga0/tioga11",
        "/tioga0/tioga20",
        "/tioga0/tioga21",
    ]
    assert paths["/tioga0/tioga21"]["rank"] == 3
    assert "/tioga0/tioga11/gpu1" in paths and "/tioga0/tioga20/gpu0" not in paths
    assert ResourceGraph.from_jgf(document).summary() == {
        "cluster": 1,
        "node": 4,
        "core": 64,
        "gpu": 4,
    }


def test_r_properties_become_properties_of_the_ranks_they_name(data):
    paths = metadata_by_path(flux_graph((data / "flux-R.json").read_text(), name="tioga"))
    assert paths["/tioga0/tioga10"]["properties"] == {"pbatch": "true", "gpu": "true"}
    assert paths["/tioga0/tioga20"]["properties"] == {"pbatch": "true"}


def test_the_scheduling_jgf_is_used_as_it_is_when_r_carries_one(data):
    text = (data / "flux-R-scheduling.json").read_text()
    assert flux_graph(text) == json.loads(text)["scheduling"]


def test_documents_that_are_not_r_version_1_are_refused():
    with pytest.raises(FluxError, match="version 1"):
        flux_graph('{"version": 2}')
    with pytest.raises(FluxError, match="not JSON"):
        flux_graph("R_lite")
    with pytest.raises(FluxError, match="nodelist names 1 hosts for 2 ranks"):
        flux_graph(
            json.dumps(
                {
                    "version": 1,
                    "execution": {
                        "R_lite": [{"rank": "0-1", "children": {"core": "0"}}],
                        "nodelist": ["a"],
                    },
                }
            )
        )


def test_host_lists_and_idsets_expand_in_order_keeping_zero_padding():
    expanded = expand_hostlist("nid[001-003,7],login1")
    assert expanded == ["nid001", "nid002", "nid003", "nid7", "login1"]
    assert expand_hostlist("rack[1-2]n[0-1]") == ["rack1n0", "rack1n1", "rack2n0", "rack2n1"]
    assert expand_idset("0-2,5") == [0, 1, 2, 5]
    with pytest.raises(ValueError):
        expand_hostlist("node[3-1]")
