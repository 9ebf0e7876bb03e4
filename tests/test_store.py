"""The cluster store: folders of graphs, validated first, written atomically under a lock."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time

import pytest
import yaml
from fractale import JGFError
from fractale.errors import StoreError
from fractale.generate.synthetic import synthetic_graph
from fractale.store import FLEET_CACHE, Store, default_root


def leftovers(store):
    """Anything in the store besides cluster folders, the lock file and the fleet cache."""
    hidden = [p.name for p in store.root.iterdir() if p.name.startswith(".")]
    return sorted(name for name in hidden if name not in (".lock", FLEET_CACHE))


def test_a_registered_cluster_is_a_folder_with_its_yaml_and_one_graph_per_subsystem(store, graphs):
    cluster = store.add("cpu", "slurm", graphs["cpu"], {"spack": graphs["spack"]}, cost=1.5)
    assert sorted(p.name for p in cluster.path.iterdir()) == [
        "cluster.yaml",
        "containment.json",
        "spack.json",
    ]
    config = yaml.safe_load((cluster.path / "cluster.yaml").read_text())
    assert config["scheduler"] == "slurm" and config["cost"] == 1.5
    assert json.loads((cluster.path / "containment.json").read_text()) == json.loads(
        graphs["cpu"].read_text()
    )
    assert cluster.subsystems() == ["containment", "spack"]


def test_resource_counts_come_from_the_one_fleet_cache_not_a_copy_in_the_configuration(
        store, graphs):
    cluster = store.add("cpu", "slurm", graphs["cpu"])
    assert cluster.counts()["node"] == 4
    assert cluster.counts()["core"] == 4 * 2 * 8
    assert store.counts() == {"cpu": cluster.counts()}
    assert "resources" not in yaml.safe_load((cluster.path / "cluster.yaml").read_text())


def test_names_are_sorted_and_only_count_complete_cluster_folders(store, graphs):
    store.add("zeta", "slurm", graphs["cpu"])
    store.add("alpha", "flux", graphs["gpu"])
    (store.root / "half-written").mkdir()
    assert store.names() == ["alpha", "zeta"]
    assert "alpha" in store and "half-written" not in store


def test_an_existing_cluster_is_never_replaced_without_force(store, graphs):
    store.add("cpu", "slurm", graphs["cpu"])
    with pytest.raises(StoreError, match="already exists"):
        store.add("cpu", "flux", graphs["gpu"])
    assert store.get("cpu").scheduler == "slurm"
    assert store.get("cpu").counts()["node"] == 4


def test_force_replaces_a_cluster_whole(store, graphs):
    store.add("cpu", "slurm", graphs["cpu"], {"spack": graphs["spack"]})
    replaced = store.add("cpu", "flux", graphs["gpu"], force=True)
    assert replaced.scheduler == "flux"
    assert replaced.subsystems() == ["containment"]
    assert replaced.counts()["node"] == 2
    assert leftovers(store) == []


def test_a_bad_containment_graph_is_refused_with_the_cores_error_and_nothing_is_written(
    store, graphs, tmp_path
):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"graph": {"nodes": [{"id": "0", "metadata": {}}], "edges": []}}))
    with pytest.raises(JGFError, match="bad.json"):
        store.add("cpu", "slurm", bad)
    assert store.names() == []
    assert not (store.root / "cpu").exists()


def test_a_bad_subsystem_graph_leaves_an_existing_cluster_unchanged(store, graphs, tmp_path):
    store.add("cpu", "slurm", graphs["cpu"])
    before = (store.root / "cpu" / "containment.json").read_bytes()
    bad = tmp_path / "spack.json"
    bad.write_text("{not json")
    with pytest.raises(JGFError):
        store.add("cpu", "slurm", graphs["gpu"], {"spack": bad}, force=True)
    assert (store.root / "cpu" / "containment.json").read_bytes() == before
    assert store.get("cpu").subsystems() == ["containment"]
    assert leftovers(store) == []


def test_a_containment_graph_without_nodes_is_refused(store):
    software_only = {
        "graph": {
            "nodes": [{"id": "0", "metadata": {"type": "cluster", "paths": {"containment": "/c"}}}],
            "edges": [],
        }
    }
    with pytest.raises(JGFError, match="node"):
        store.add("empty", "slurm", software_only)


def test_unknown_schedulers_and_unsafe_names_are_refused(store, graphs):
    with pytest.raises(StoreError, match="unknown scheduler"):
        store.add("cpu", "nomad", graphs["cpu"])
    for name in ("../escape", "a/b", ".hidden", "", "x" * 65):
        with pytest.raises(StoreError, match="invalid cluster name"):
            store.add(name, "slurm", graphs["cpu"])
    assert store.names() == []


def test_a_missing_graph_file_is_named_in_the_error(store, tmp_path):
    with pytest.raises(StoreError, match="no such graph file"):
        store.add("cpu", "slurm", tmp_path / "absent.json")


def test_remove_deletes_the_cluster_and_unknown_names_list_the_known_ones(store, graphs):
    store.add("cpu", "slurm", graphs["cpu"])
    store.add("gpu", "flux", graphs["gpu"])
    store.remove("cpu")
    assert store.names() == ["gpu"]
    with pytest.raises(StoreError, match=r"no cluster named 'cpu'.*known: gpu"):
        store.get("cpu")


def test_set_subsystem_adds_a_graph_and_refuses_to_replace_it_without_force(store, graphs):
    store.add("cpu", "slurm", graphs["cpu"])
    store.set_subsystem("cpu", "spack", graphs["spack"])
    assert store.get("cpu").subsystems() == ["containment", "spack"]
    with pytest.raises(StoreError, match="already has"):
        store.set_subsystem("cpu", "spack", graphs["spack"])
    store.set_subsystem("cpu", "spack", graphs["spack"], force=True)


def test_replacing_the_containment_graph_updates_the_recorded_counts(store, graphs):
    store.add("cpu", "slurm", graphs["cpu"])
    store.set_subsystem("cpu", "containment", graphs["gpu"], force=True)
    assert store.get("cpu").counts()["node"] == 2


def test_a_graph_edited_by_hand_is_counted_again(store, graphs):
    cluster = store.add("cpu", "slurm", graphs["cpu"])
    time.sleep(0.01)
    (cluster.path / "containment.json").write_text(json.dumps(synthetic_graph(7, cores=1)))
    assert store.get("cpu").counts()["node"] == 7


def test_update_changes_the_configuration_but_not_the_graphs(store, graphs):
    store.add("cpu", "slurm", graphs["cpu"], description="old")
    updated = store.update("cpu", description="new", cost=2.0)
    assert (updated.description, updated.cost) == ("new", 2.0)
    with pytest.raises(StoreError, match="cannot change"):
        store.update("cpu", resources={})


def test_the_default_store_is_fractale_home_else_dot_fractale(monkeypatch, tmp_path):
    monkeypatch.setenv("FRACTALE_HOME", str(tmp_path / "elsewhere"))
    assert Store().root == tmp_path / "elsewhere"
    monkeypatch.delenv("FRACTALE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_root() == tmp_path / ".fractale"


def test_files_get_ordinary_permissions(store, graphs):
    old = os.umask(0o022)
    try:
        cluster = store.add("cpu", "slurm", graphs["cpu"])
    finally:
        os.umask(old)
    assert cluster.path.stat().st_mode & 0o777 == 0o755
    assert (cluster.path / "cluster.yaml").stat().st_mode & 0o777 == 0o644


def test_a_writer_waits_for_the_lock_another_holds(store, graphs):
    order = []
    with store.lock():
        worker = threading.Thread(
            target=lambda: (store.add("cpu", "slurm", graphs["cpu"]), order.append("added"))
        )
        worker.start()
        time.sleep(0.3)
        order.append("released")
    worker.join(timeout=30)
    assert order == ["released", "added"]


def _register(root, name, graph, scheduler, barrier):
    barrier.wait()
    try:
        Store(root).add(name, scheduler, graph)
        return "ok"
    except StoreError as err:
        return str(err)


def test_concurrent_registrations_of_one_name_leave_one_whole_cluster(store, graphs):
    context = multiprocessing.get_context("spawn")
    barrier = context.Manager().Barrier(2)
    with context.Pool(2) as pool:
        results = pool.starmap(
            _register,
            [
                (str(store.root), "same", str(graphs["cpu"]), "slurm", barrier),
                (str(store.root), "same", str(graphs["gpu"]), "flux", barrier),
            ],
        )
    assert sorted(r == "ok" for r in results) == [False, True]
    cluster = store.get("same")
    nodes = {"slurm": 4, "flux": 2}[cluster.scheduler]
    assert cluster.counts()["node"] == nodes
    assert json.loads((cluster.path / "containment.json").read_text())["graph"]["nodes"][
        0
    ] == json.loads(graphs["cpu" if nodes == 4 else "gpu"].read_text())["graph"]["nodes"][0]
    assert leftovers(store) == []


def test_what_a_killed_writer_left_behind_is_swept_by_the_next_one(store, graphs):
    store.add("cpu", "slurm", graphs["cpu"])
    half = store.root / ".add-gpu-x1y2z3"
    half.mkdir()
    (half / "containment.json").write_text("{")
    assert store.names() == ["cpu"]
    store.add("gpu", "flux", graphs["gpu"])
    assert leftovers(store) == []
    assert store.names() == ["cpu", "gpu"]


def test_a_writer_killed_mid_registration_leaves_the_cluster_whole_or_absent(store, tmp_path):
    big = tmp_path / "big.json"
    big.write_text(json.dumps(synthetic_graph(1500)))
    code = (
        "import sys; from fractale.store import Store; "
        "Store(sys.argv[1]).add('big', 'slurm', sys.argv[2])"
    )
    for delay in (0.2, 0.6, 1.2):
        writer = subprocess.Popen([sys.executable, "-c", code, str(store.root), str(big)])
        time.sleep(delay)
        writer.kill()
        writer.wait()
        if "big" in store:
            assert store.get("big").resource_graph().summary()["node"] == 1500
            store.remove("big")
        assert store.names() == []
