"""``fractale cluster import``: many clusters registered at once from cluster folders, folders
of JGF files or lists of them; every entry validated first, and nothing registered (nor
overwritten) when one is bad."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from fractale.generate.synthetic import synthetic_graph
from fractale.store import Store
from fractale_command import run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def fractale(*args):
    """``fractale ARGS...`` as a user runs it, for the exit status main() sets."""
    return run(*map(str, args), cwd=Path.cwd())


def graph_files(folder, **sizes):
    """One synthetic JGF file per name, of that many nodes."""
    folder.mkdir(exist_ok=True)
    for name, nodes in sizes.items():
        (folder / f"{name}.json").write_text(json.dumps(synthetic_graph(nodes, cores=4)))
    return folder


def test_a_folder_of_cluster_folders_is_registered_as_the_store_keeps_them(tmp_path):
    store = tmp_path / "store"
    result = fractale("cluster", "import", EXAMPLES / "fleet", "--config-dir", store)
    assert result.returncode == 0, result.stderr
    assert "Imported 3 clusters" in result.stdout
    imported, example = Store(store), Store(EXAMPLES / "fleet")
    assert imported.names() == example.names() == ["dev", "quartz", "tioga"]
    for name in example.names():
        mine, theirs = imported.get(name), example.get(name)
        assert (mine.scheduler, mine.cost, mine.description) == (
            theirs.scheduler, theirs.cost, theirs.description)
        assert mine.subsystems() == theirs.subsystems()
        assert mine.counts() == theirs.counts()


def test_a_folder_of_graph_files_and_a_list_register_one_cluster_per_file(tmp_path):
    folder = graph_files(tmp_path / "graphs", small=2, large=6)
    store = tmp_path / "store"
    result = fractale("cluster", "import", folder, "--scheduler", "slurm", "--cost", "1.5",
                      "--config-dir", store)
    assert result.returncode == 0, result.stderr
    assert {name: Store(store).get(name).counts()["node"] for name in ("small", "large")} == {
        "small": 2, "large": 6}
    assert Store(store).get("large").cost == 1.5

    more = graph_files(tmp_path / "more", extra=3)
    listing = tmp_path / "clusters.txt"
    listing.write_text(f"# one graph and one cluster folder\n\nmore/extra.json\n"
                       f"{EXAMPLES / 'fleet' / 'dev'}\n")
    result = fractale("cluster", "import", listing, "--scheduler", "flux", "--config-dir", store)
    assert result.returncode == 0, result.stderr
    assert Store(store).names() == ["dev", "extra", "large", "small"]
    assert Store(store).get("extra").scheduler == "flux"
    assert Store(store).get("dev").scheduler == "pbs"
    assert more.is_dir()


def test_a_bad_entry_is_named_and_nothing_is_registered(tmp_path):
    folder = graph_files(tmp_path / "graphs", good=2, also_good=3)
    (folder / "broken.json").write_text('{"graph": {"nodes": [{"id": "0"}]')
    (folder / "empty.json").write_text("not json at all")
    store = tmp_path / "store"
    result = fractale("cluster", "import", folder, "--scheduler", "slurm", "--config-dir", store)
    assert result.returncode == 2
    assert "2 of the 4 clusters cannot be imported, so none was" in result.stderr
    assert "broken.json" in result.stderr and "empty.json" in result.stderr
    assert "Traceback" not in result.stderr
    assert Store(store).names() == []


def test_graph_files_need_a_scheduler_and_names_must_be_distinct(tmp_path):
    first = graph_files(tmp_path / "a", same=2)
    second = graph_files(tmp_path / "b", same=3)
    store = tmp_path / "store"
    result = fractale("cluster", "import", first, "--config-dir", store)
    assert result.returncode == 2 and "no scheduler" in result.stderr
    result = fractale("cluster", "import", first, second, "--scheduler", "slurm",
                      "--config-dir", store)
    assert result.returncode == 2 and "'same' is also given by" in result.stderr
    assert Store(store).names() == []


def test_an_existing_cluster_is_replaced_only_with_force(tmp_path):
    folder = graph_files(tmp_path / "graphs", one=2)
    store = tmp_path / "store"
    assert fractale("cluster", "import", folder, "--scheduler", "slurm",
                    "--config-dir", store).returncode == 0
    before = (store / "one" / "containment.json").read_bytes()
    graph_files(folder, one=5)
    result = fractale("cluster", "import", folder, "--scheduler", "flux", "--config-dir", store)
    assert result.returncode == 2 and "already exists" in result.stderr
    assert (store / "one" / "containment.json").read_bytes() == before
    assert Store(store).get("one").scheduler == "slurm"

    result = fractale("cluster", "import", folder, "--scheduler", "flux", "--force",
                      "--config-dir", store)
    assert result.returncode == 0, result.stderr
    assert Store(store).get("one").scheduler == "flux"
    assert Store(store).get("one").counts()["node"] == 5
    assert sorted(p.name for p in store.iterdir() if p.name.startswith(".add-")) == []


def test_a_missing_path_is_a_one_line_error(tmp_path):
    result = fractale("cluster", "import", tmp_path / "absent", "--config-dir", tmp_path / "s")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"Error: no such cluster folder, graph or list: {tmp_path / 'absent'}"]
    shutil.rmtree(tmp_path / "s", ignore_errors=True)
