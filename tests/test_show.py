"""Folded pictures and compact summaries of clusters."""

from __future__ import annotations

import json
import shutil

import pytest
from fractale.generate.slurm import slurm_graph
from fractale.generate.synthetic import synthetic_graph
from fractale.show import chain, fold, outline, render, summary, to_dot


def test_identical_subtrees_fold_into_one_box_with_a_multiplicity():
    box = fold(synthetic_graph(128, sockets=2, cores=32, gpus=8, memory=0))
    assert chain(box.children[0]) == "node × 128 → socket × 2 → core × 32, gpu × 4"


def test_a_thousand_node_cluster_folds_to_a_handful_of_boxes():
    text = outline(fold(synthetic_graph(1000, racks=4)))
    assert text.splitlines() == [
        "cluster",
        "  rack × 4",
        "    node × 250",
        "      socket × 2",
        "        core × 32",
        "        gpu × 2",
        "        memory × 4 (16 GB)",
    ]


def test_nodes_of_different_shapes_or_states_stay_apart(data):
    box = fold(slurm_graph((data / "scontrol-nodes.txt").read_text()))
    labels = [child.label for child in box.children]
    assert labels == ["node", "node", "node [down]", "node [down]"]
    assert {chain(child).split(" → ", 1)[1] for child in box.children} == {
        "socket × 2 → core × 32, gpu × 2, memory (251 GB)",
        "socket × 2 → core × 24, memory (93 GB)",
    }


def test_the_dot_picture_has_one_vertex_per_box():
    dot = to_dot(fold(synthetic_graph(64, cores=4)), "demo")
    assert dot.startswith('digraph "demo" {')
    assert dot.count("[label=") == 6  # cluster, node, socket, core, gpu, memory
    assert 'label="node × 64"' in dot


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_graphviz_draws_svg_and_png():
    dot = to_dot(fold(synthetic_graph(4, cores=2)), "demo")
    assert b"<svg" in render(dot, "svg")
    assert render(dot, "png").startswith(b"\x89PNG")


def test_the_summary_is_compact_json_with_counts_shapes_properties_and_software(fleet_store):
    described = summary(fleet_store.get("cpu"))
    assert described["counts"]["node"] == 4
    assert described["node_shapes"] == [
        {
            "count": 4,
            "shape": "node → socket × 2 → core × 8, memory (16 GB)",
            "per_node": {"core": 16, "socket": 2},
            "memory": "32 GB",
        }
    ]
    assert described["software"]["gromacs"] == ["2022.5", "2023.1"]
    assert described["cost_per_node_hour"] == 1.0
    assert len(json.dumps(described)) < 1000


def test_the_summary_of_a_large_cluster_stays_small(store):
    store.add("big", "slurm", synthetic_graph(1000))
    assert len(json.dumps(summary(store.get("big")))) < 1000
