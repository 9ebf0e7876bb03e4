"""Fixtures shared by every test folder; each block below is owned by the part it serves."""

from __future__ import annotations

import os

import pytest
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
