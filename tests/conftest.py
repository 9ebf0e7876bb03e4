"""Fixtures shared by every test folder; each block below is owned by the part it serves."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from fractale.agents.base import Context
from fractale.agents.llm import open_backend
from fractale.agents.record import Records
from fractale.agents.usage import Ledger
from fractale.generate.software import software_graph, spack_software
from fractale.generate.synthetic import synthetic_graph
from fractale.store import Store
from gridengine import GridEngineUnavailable, LocalGridEngine
from slurm import LocalSlurm, SlurmUnavailable

# ---- Local Slurm: the real single-node Slurm of .ci/slurm.sh (see tests/slurm.py) ----


@pytest.fixture(scope="session")
def slurm() -> LocalSlurm:
    """A started LocalSlurm, shared by the whole session.

    Where Slurm cannot start (no root, packages missing and not installable, a failed start)
    the tests using it are skipped with the reason; in CI (CI=true) they fail instead.
    """
    try:
        return LocalSlurm().start()
    except SlurmUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the Slurm tests, but Slurm did not start: {exc}")
        pytest.skip(f"no local Slurm: {exc}")


# ---- end of Local Slurm ----


# ---- Local Grid Engine: the real single-host Grid Engine of .ci/gridengine.sh ----


@pytest.fixture(scope="session")
def gridengine() -> LocalGridEngine:
    """A started LocalGridEngine, shared by the whole session; skipped where it cannot start
    (no root, packages missing and not installable), failed instead in CI (CI=true)."""
    try:
        return LocalGridEngine().start()
    except GridEngineUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the Grid Engine tests, but it did not start: {exc}")
        pytest.skip(f"no local Grid Engine: {exc}")


# ---- end of Local Grid Engine ----


# ---- Fluxion conformance: the shared folder beside the project (tests/core, tests/cli) ----

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FLUXION = SHARED / "conformance" / "fluxion"
FLUXION_RESERVE = SHARED / "conformance" / "fluxion-reserve"


def _material(folder: Path, what: str) -> Path:
    """The folder; a skip when it is absent, a failure under CI=true, where it never is."""
    if not folder.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{folder} is absent under CI=true: no {what} to test against")
        pytest.skip(f"{folder} is absent: no {what} to test against")
    return folder


@pytest.fixture(scope="session")
def fluxion() -> Path:
    return _material(FLUXION, "Fluxion conformance material")


@pytest.fixture(scope="session")
def fluxion_reserve() -> Path:
    return _material(FLUXION_RESERVE, "Fluxion reservation cases")


# ---- end of Fluxion conformance ----


# ---- Clusters: generator inputs, a temporary store, small clusters (generate, fleet, cli) ----

DATA = Path(__file__).parent / "data" / "generate"


@pytest.fixture
def data() -> Path:
    """What the generators read: saved scheduler and hwloc output, a spack tree, modulefiles."""
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


# ---- end of Clusters ----


# ---- Offline model answers: replay files for the agents (tests/agents, tests/cli) ----


def write_replay(path: Path, responses: list[dict], model: str = "claude-sonnet-5-5") -> Path:
    path.write_text(yaml.safe_dump({"model": model, "responses": responses}), encoding="utf-8")
    return path


def fence(text: str, language: str = "") -> str:
    return f"```{language}\n{text.rstrip()}\n```\n"


@pytest.fixture
def fenced():
    """Wrap an artifact in a fenced code block, as a model answers."""
    return fence


@pytest.fixture
def replay(tmp_path):
    """Write a replay file of the given responses and return its path."""

    def make(responses: list[dict], model: str = "claude-sonnet-5-5") -> Path:
        return write_replay(tmp_path / "replay.yaml", responses, model)

    return make


@pytest.fixture
def context(tmp_path):
    """A Context answering from a replay file, with records in tmp_path/results."""

    def make(replay_path: Path, **options) -> Context:
        budget = options.pop("budget", None)
        llm = open_backend(replay=replay_path, ledger=Ledger(budget_usd=budget))
        records = Records(tmp_path / "results", incremental=options.pop("incremental", False))
        return Context(llm=llm, workdir=tmp_path / "work", records=records, **options)

    return make


# ---- end of Offline model answers ----
