"""Loading a large JGF file: the file is mapped and its pages handed back as the reader passes
them (`input::Mapped`), which must not change what is read, what is written back, or where an
error is found — even an error near the end of the file, after the pages before it are gone."""

import json

import fractale
import pytest
from fractale.generate.synthetic import synthetic_graph

# Nodes of 2 sockets x 16 cores, 2 GPUs and 1 memory pool take about 13 kB of JGF each: 1,400
# of them pass the 8 MiB from which a file is mapped and the first two 8 MiB runs released.
NODES = 1400


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    document = synthetic_graph(NODES, sockets=2, cores=16, gpus=2, memory=1, racks=10)
    path = tmp_path_factory.mktemp("large") / "large.json"
    path.write_text(json.dumps(document))
    assert path.stat().st_size > 16 << 20, "the file must span more than one released run"
    return path, document


def test_a_mapped_file_reads_as_its_text_does(large):
    path, document = large
    from_path = fractale.ResourceGraph.from_jgf(str(path))
    from_text = fractale.ResourceGraph.from_jgf(path.read_text())
    assert from_path.vertex_count == len(document["graph"]["nodes"])
    assert from_path.summary() == from_text.summary()
    assert from_path.totals() == from_text.totals()
    assert from_path.to_jgf() == from_text.to_jgf()


def test_a_large_graph_writes_back_the_paths_and_edges_it_was_given(large):
    path, document = large
    written = fractale.ResourceGraph.from_jgf(str(path)).to_jgf()["graph"]
    paths = [n["metadata"]["paths"]["containment"] for n in written["nodes"]]
    assert paths == [n["metadata"]["paths"]["containment"] for n in document["graph"]["nodes"]]
    edges = {(e["source"], e["target"]) for e in written["edges"]}
    assert edges == {(e["source"], e["target"]) for e in document["graph"]["edges"]}


def test_an_error_near_the_end_of_a_mapped_file_is_located(large, tmp_path):
    path, document = large
    broken = json.loads(json.dumps(document))
    last = len(broken["graph"]["nodes"]) - 1
    broken["graph"]["nodes"][last]["metadata"]["size"] = "large"
    target = tmp_path / "broken.json"
    target.write_text(json.dumps(broken))
    with pytest.raises(fractale.JGFError) as caught:
        fractale.ResourceGraph.from_jgf(str(target))
    assert f"graph.nodes[{last}].metadata.size" in str(caught.value)
    assert "expected an integer, found a string" in str(caught.value)
