"""The compiled fleet cache answers from what the graph files hold now: it is keyed on their
content, so an edit that keeps a file's size and modification time is still seen."""

from __future__ import annotations

import json
import os

from fractale._core import CompiledFleet
from fractale.fleet import Fleet, Job
from fractale.generate.synthetic import synthetic_graph
from fractale.store import FLEET_CACHE, Store

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
    cache = tmp_path / FLEET_CACHE
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
    cache = tmp_path / FLEET_CACHE
    assert CompiledFleet.open([("c", str(graph))], str(cache)).rebuilt == 1
    assert CompiledFleet.open([("c", str(graph))], str(cache)).rebuilt == 0
    # A copy back in place (new inode and change time, same bytes) is not compiled again.
    copy = tmp_path / "copy.json"
    copy.write_bytes(graph.read_bytes())
    os.replace(copy, graph)
    assert CompiledFleet.open([("c", str(graph))], str(cache)).rebuilt == 0


# The store's one cache: counts, configuration and software all answer from it, and each is
# read again when its file's content changes, whatever its size and modification time say.


def _same_size_text(path, old: str, new: str):
    """Replace ``old`` by ``new`` (as long) in ``path``, keeping its size and mtime."""
    assert len(old) == len(new)
    before = path.stat()
    path.write_text(path.read_text().replace(old, new))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_the_stores_counts_follow_a_same_size_same_mtime_graph_edit(store):
    store.add("c", "slurm", synthetic_graph(2, sockets=1, cores=16, gpus=0, memory=0))
    assert store.counts()["c"]["core"] == 32
    _write_same_size(store.root / "c" / "containment.json",
                     synthetic_graph(2, sockets=1, cores=8, gpus=0, memory=0))
    assert store.counts()["c"]["core"] == 16
    assert store.get("c").counts()["core"] == 16


def test_a_same_size_same_mtime_configuration_edit_is_seen_by_the_fleet(fleet_store):
    assert {c.name: c.cost for c in Fleet(fleet_store).clusters}["cpu"] == 1.0
    _same_size_text(fleet_store.root / "cpu" / "cluster.yaml", "cost: 1.0", "cost: 9.0")
    assert {c.name: c.cost for c in Fleet(fleet_store).clusters}["cpu"] == 9.0


def test_software_added_to_a_cluster_is_seen_by_the_fleet(fleet_store, graphs):
    job = "\n".join(["#!/bin/bash", "#SBATCH --nodes=1", "srun app", ""])
    wanted = Job.from_text(job, requires=["gromacs@2023"])
    answers = {a.cluster: a for a in Fleet(fleet_store).satisfy(wanted)}
    assert answers["cpu"].ok and not answers["gpu"].ok
    fleet_store.set_subsystem("gpu", "spack", graphs["spack"])
    answers = {a.cluster: a for a in Fleet(fleet_store).satisfy(wanted)}
    assert answers["gpu"].ok


def test_a_fleet_of_some_clusters_leaves_the_others_cached(fleet_store):
    Fleet(fleet_store)
    assert Fleet(fleet_store).compiled.rebuilt == 0
    Fleet(fleet_store, ["gpu"])
    assert Fleet(fleet_store).compiled.rebuilt == 0


def test_a_corrupted_cache_is_rebuilt_not_believed(fleet_store):
    job = json.dumps(JOB_16_CORES_ON_ONE_NODE)
    expected = [(a.cluster, a.ok) for a in Fleet(fleet_store).satisfy(job)]
    cache = fleet_store.root / FLEET_CACHE
    data = bytearray(cache.read_bytes())
    data[len(data) // 2] ^= 0xFF
    cache.write_bytes(bytes(data))
    fleet = Fleet(fleet_store)
    assert fleet.compiled.rebuilt == 3
    assert [(a.cluster, a.ok) for a in fleet.satisfy(job)] == expected
    cache.write_bytes(b"not a fleet cache")
    assert [(a.cluster, a.ok) for a in Fleet(fleet_store).satisfy(job)] == expected


def test_a_removed_cluster_leaves_the_cache(fleet_store):
    Fleet(fleet_store)
    fleet_store.remove("tiny")
    assert [c.name for c in Fleet(fleet_store).clusters] == ["cpu", "gpu"]
    assert sorted(Fleet(fleet_store).compiled.names()) == ["cpu", "gpu"]


def test_a_store_named_relatively_or_absolutely_shares_one_cache(fleet_store, monkeypatch):
    Fleet(fleet_store)
    monkeypatch.chdir(fleet_store.root.parent)
    assert Fleet(Store(fleet_store.root.name)).compiled.rebuilt == 0
    assert Fleet(fleet_store).compiled.rebuilt == 0
