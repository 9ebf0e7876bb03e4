"""Numbers a user passes are checked where they are given: prices are finite and not
negative, and a synthetic cluster is never larger than fractale can read back."""

from __future__ import annotations

import math
import subprocess
import sys
import time

import pytest
from fractale.errors import StoreError
from fractale.generate.synthetic import MAX_VERTICES, synthetic_graph
from fractale.store import Store


def fractale(*args):
    return subprocess.run(
        [sys.executable, "-c", "from fractale.cli import main; main()", *map(str, args)],
        capture_output=True, text=True, check=False, timeout=120,
    )


@pytest.mark.parametrize("cost", ["nan", "inf", "-inf", "-1", "ten"])
def test_a_cost_that_is_no_price_is_refused(tmp_path, graphs, cost):
    done = fractale("cluster", "add", "c", "--scheduler", "slurm", "--containment",
                    graphs["cpu"], "--cost", cost, "--config-dir", tmp_path / "store")
    assert done.returncode == 2
    assert "--cost" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "store" / "c").exists()


@pytest.mark.parametrize("cost", [math.nan, math.inf, -0.5, True, "1"])
def test_the_store_refuses_the_same_prices_from_python(tmp_path, graphs, cost):
    store = Store(tmp_path / "store")
    with pytest.raises(StoreError, match="finite, non-negative number"):
        store.add("c", "slurm", graphs["cpu"], cost=cost)
    store.add("c", "slurm", graphs["cpu"], cost=0)
    with pytest.raises(StoreError, match="finite, non-negative number"):
        store.update("c", cost=cost)


def test_a_hand_edited_price_is_reported_with_its_file(tmp_path, graphs):
    store = Store(tmp_path / "store")
    store.add("c", "slurm", graphs["cpu"], cost=2)
    config = tmp_path / "store" / "c" / "cluster.yaml"
    config.write_text(config.read_text().replace("cost: 2", "cost: .nan"))
    with pytest.raises(StoreError, match="cluster.yaml: cost must be"):
        _ = store.get("c").cost


def test_a_synthetic_cluster_too_large_to_read_back_is_refused_at_once(tmp_path):
    started = time.monotonic()
    done = fractale("generate", "synthetic", "--nodes", 10**23, "-o", tmp_path / "g.json")
    assert done.returncode == 2 and "at most 12,000,000" in done.stderr
    assert time.monotonic() - started < 60
    assert not (tmp_path / "g.json").exists()
    with pytest.raises(ValueError, match="vertices"):
        synthetic_graph(MAX_VERTICES)
