"""The compiled fleet cache answers from what the graph files hold now: it is keyed on their
content, so an edit that keeps a file's size and modification time is still seen."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
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


# Stamps as git's index keeps them: a file is read again only when its status changed, or
# when its status was taken too soon after it changed to be trusted ("racy" files).

SETTLING_SECONDS = 2.1  # a little over the core's two seconds


def _fits(store, job=JOB_16_CORES_ON_ONE_NODE) -> dict[str, bool]:
    return {answer.cluster: answer.ok for answer in Fleet(store).satisfy(json.dumps(job))}


def _two_clusters(store):
    """``big`` (16 cores a node) and ``small`` (8): their containment graphs' paths."""
    store.add("big", "slurm", synthetic_graph(2, sockets=1, cores=16, gpus=0, memory=0))
    store.add("small", "slurm", synthetic_graph(2, sockets=1, cores=8, gpus=0, memory=0))
    return store.root / "big" / "containment.json", store.root / "small" / "containment.json"


def test_an_in_place_edit_keeping_size_and_mtime_changes_the_stores_answer(store):
    big, _ = _two_clusters(store)
    assert _fits(store) == {"big": True, "small": False}
    _write_same_size(big, synthetic_graph(2, sockets=1, cores=8, gpus=0, memory=0))
    assert _fits(store) == {"big": False, "small": False}


def test_a_graph_copied_over_with_cp_p_changes_the_stores_answer(store):
    big, small = _two_clusters(store)
    assert _fits(store) == {"big": True, "small": False}
    # cp -p: the other cluster's bytes, with its modification time.
    subprocess.run(["cp", "-p", str(small), str(big)], check=True)
    assert big.stat().st_mtime_ns == small.stat().st_mtime_ns
    assert _fits(store) == {"big": False, "small": False}


def test_a_settled_file_is_not_read_a_touched_one_is_hashed_and_an_edited_one_compiled(store):
    big, _ = _two_clusters(store)
    Fleet(store)
    time.sleep(SETTLING_SECONDS)
    # Every stamp was taken within two seconds of its file's change: each file is hashed
    # again once, and its stamp, now settled, is kept.
    settling = Fleet(store).compiled
    assert settling.rebuilt == 0 and settling.rehashed == 4  # 2 x (cluster.yaml, graph)
    cache = store.root / FLEET_CACHE
    before = (cache.stat().st_ino, cache.read_bytes())
    settled = Fleet(store).compiled
    assert (settled.rebuilt, settled.rehashed) == (0, 0)
    assert (cache.stat().st_ino, cache.read_bytes()) == before  # not even written again

    os.utime(big)  # touched: a new status, the same content
    touched = Fleet(store).compiled
    assert touched.rebuilt == 0 and touched.rehashed == 1
    assert _fits(store) == {"big": True, "small": False}

    # Settled stamps still see edits that keep the size and the modification time: the
    # change time moves.
    time.sleep(SETTLING_SECONDS)
    Fleet(store)
    _write_same_size(big, synthetic_graph(2, sockets=1, cores=8, gpus=0, memory=0))
    edited = Fleet(store)
    assert (edited.compiled.rebuilt, edited.compiled.rehashed) == (1, 1)
    assert {a.cluster: a.ok for a in edited.satisfy(json.dumps(JOB_16_CORES_ON_ONE_NODE))} == {
        "big": False, "small": False}


def test_a_file_changed_just_after_the_cache_was_written_is_not_trusted(store):
    """Within a timestamp's granularity of the check, a file's status may not change with
    its content: such a stamp is never trusted, the file is hashed again on the next load."""
    start = time.time()
    _two_clusters(store)
    Fleet(store)
    again = Fleet(store).compiled
    if time.time() - start > 1.5:
        pytest.skip("the machine took too long to load the fleet twice within two seconds")
    assert again.rebuilt == 0 and again.rehashed == 4


def test_a_subsystem_graph_removed_from_a_cluster_folder_is_noticed(fleet_store):
    wanted = Job.from_text("#!/bin/bash\n#SBATCH --nodes=1\nsrun app\n",
                           requires=["gromacs@2023"])
    assert {a.cluster: a.ok for a in Fleet(fleet_store).satisfy(wanted)}["cpu"]
    (fleet_store.root / "cpu" / "spack.json").unlink()
    assert not {a.cluster: a.ok for a in Fleet(fleet_store).satisfy(wanted)}["cpu"]
