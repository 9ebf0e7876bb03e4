"""Containment of Kubernetes clusters from `kubectl get nodes -o json`."""

from __future__ import annotations

import json

import pytest
from fractale import ResourceGraph
from fractale.generate.kubernetes import KubernetesError, kubernetes_graph, quantity
from graph_reading import kinds


@pytest.fixture
def nodes(data):
    document = kubernetes_graph((data / "kubectl-nodes.json").read_text(), name="eks")
    return {
        v["metadata"]["name"]: v["metadata"]
        for v in document["graph"]["nodes"]
        if v["metadata"]["type"] == "node"
    }, document


def below(document, name):
    return kinds(document, f"/eks0/{name}")


def test_capacity_gives_cores_gpus_and_memory(nodes):
    _, document = nodes
    gpu_node = below(document, "ip-10-0-12-34.ec2.internal")
    assert (gpu_node["core"], gpu_node["gpu"], gpu_node["memory"]) == (96, 8, 1)
    memory = [
        v["metadata"]["size"]
        for v in document["graph"]["nodes"]
        if v["metadata"]["paths"]["containment"] == "/eks0/ip-10-0-12-34.ec2.internal/memory0"
    ]
    assert memory == [1176681564 * 1024 // 2**30]
    assert ResourceGraph.from_jgf(document).summary()["gpu"] == 8


def test_labels_become_node_properties(nodes):
    metadata, _ = nodes
    properties = metadata["ip-10-0-12-34.ec2.internal"]["properties"]
    assert properties["node.kubernetes.io/instance-type"] == "p4d.24xlarge"
    assert properties["nvidia.com/gpu.product"] == "NVIDIA-A100-SXM4-40GB"


def test_control_plane_and_cordoned_nodes_are_down_and_a_tainted_gpu_node_is_up(nodes):
    metadata, _ = nodes
    assert metadata["kind-control-plane"].get("status") == 1
    assert metadata["ip-10-0-40-7.ec2.internal"].get("status") == 1
    assert metadata["ip-10-0-12-34.ec2.internal"].get("status", 0) == 0


def test_quantities_in_kubernetes_units():
    assert quantity("95690m") == pytest.approx(95.69)
    assert quantity("32Gi") == 32 * 2**30
    assert quantity("1G") == 10**9
    with pytest.raises(ValueError):
        quantity("lots")


def test_documents_that_are_not_node_lists_are_refused():
    with pytest.raises(KubernetesError, match="not a Kubernetes node list"):
        kubernetes_graph('{"kind": "PodList"}')
    with pytest.raises(KubernetesError, match="lists no nodes"):
        kubernetes_graph('{"kind": "List", "items": []}')


def test_gpus_of_every_device_plugin_are_counted_with_their_vendor():
    node = {
        "kind": "Node",
        "metadata": {"name": "n1"},
        "status": {"capacity": {"cpu": "8", "amd.com/gpu": "2", "gpu.intel.com/i915": "1"}},
    }
    document = kubernetes_graph(json.dumps(node))
    vendors = sorted(
        v["metadata"]["properties"]["vendor"]
        for v in document["graph"]["nodes"]
        if v["metadata"]["type"] == "gpu"
    )
    assert vendors == ["amd", "amd", "intel"]
