"""The compiled fleet cache answers from what the graph files hold now: it is keyed on their
content, so an edit that keeps a file's size and modification time is still seen."""

from __future__ import annotations

import json
import os

from fractale._core import CompiledFleet
from fractale.generate.synthetic import synthetic_graph

JOB_16_CORES_ON_ONE_NODE = {
    "version": 1,
    "resources": [{"type": "slot", "count": 1, "label": "task",
                   "with": [{"type": "core", "count": 16}]}],
    "tasks": [{"command": ["app"], "slot": "task", "count": {"per_slot": 1}}],
    "attributes": {"system": {"duration": 3600}},
}


def _write_same_size(path, document):
    """Rewrite ``path`` with ``document`` at the same length, then put its mtime back."""
    before = path.stat()
    text = json.dumps(document)
    old = path.read_text()
    assert len(text) <= len(old)
    path.write_text(text + " " * (len(old) - len(text)))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_a_same_size_edit_with_its_mtime_kept_is_compiled_again(tmp_path):
    graph = tmp_path / "cluster.json"
    graph.write_text(json.dumps(synthetic_graph(2, sockets=1, cores=16, gpus=0, memory=0)))
    cache = tmp_path / ".fleet-cache.json"
    first = CompiledFleet.open([("c", str(graph))], str(cache))
    assert first.satisfiable(JOB_16_CORES_ON_ONE_NODE) == [("c", True, None)]

    # Eight cores a node now: a shorter document, padded with spaces to the old length.
    _write_same_size(graph, synthetic_graph(2, sockets=1, cores=8, gpus=0, memory=0))
    second = CompiledFleet.open([("c", str(graph))], str(cache))
    assert second.rebuilt == 1
    [(name, fits, reason)] = second.satisfiable(JOB_16_CORES_ON_ONE_NODE)
    assert (name, fits) == ("c", False) and reason


def test_an_untouched_graph_is_not_read_again_and_a_copied_one_is_only_rehashed(tmp_path):
    graph = tmp_path / "cluster.json"
    graph.write_text(json.dumps(synthetic_graph(2, sockets=1, cores=16, gpus=0, memory=0)))
    cache = tmp_path / ".fleet-cache.json"
    assert CompiledFleet.open([("c", str(graph))], str(cache)).rebuilt == 1
    assert CompiledFleet.open([("c", str(graph))], str(cache)).rebuilt == 0
    # A copy back in place (new inode and change time, same bytes) is not compiled again.
    copy = tmp_path / "copy.json"
    copy.write_bytes(graph.read_bytes())
    os.replace(copy, graph)
    assert CompiledFleet.open([("c", str(graph))], str(cache)).rebuilt == 0
