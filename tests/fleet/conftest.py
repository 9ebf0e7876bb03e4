"""Fixtures of the fleet tests: the fixture files, a temporary store, small clusters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fractale.generate.software import software_graph, spack_software
from fractale.generate.synthetic import synthetic_graph
from fractale.store import Store

DATA = Path(__file__).parent / "data"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def data() -> Path:
    return DATA


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "store")


def write_json(path: Path, document) -> Path:
    path.write_text(json.dumps(document))
    return path


@pytest.fixture
def graphs(tmp_path) -> dict[str, Path]:
    """Graph files: a 4-node CPU cluster, a 2-node GPU cluster, and a spack software graph."""
    folder = tmp_path / "graphs"
    folder.mkdir()
    spack = spack_software((DATA / "spack" / ".spack-db" / "index.json").read_text())
    return {
        "cpu": write_json(folder / "cpu.json", synthetic_graph(4, cores=8, gpus=0, memory=2)),
        "gpu": write_json(folder / "gpu.json", synthetic_graph(2, cores=16, gpus=4, memory=4)),
        "spack": write_json(folder / "spack.json", software_graph(spack, "spack")),
    }


@pytest.fixture
def fleet_store(store, graphs) -> Store:
    """Three clusters: cpu (slurm, cheap, spack), gpu (flux, dear, no software), tiny (pbs)."""
    store.add("cpu", "slurm", graphs["cpu"], {"spack": graphs["spack"]}, cost=1.0)
    store.add("gpu", "flux", graphs["gpu"], cost=4.0)
    store.add("tiny", "pbs", synthetic_graph(1, cores=2, gpus=0, memory=1), cost=0.1)
    return store
