"""Shared inputs for the core's tests: the Fluxion conformance folder beside the project."""

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
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


@pytest.fixture
def tiny(fluxion):
    import fractale

    return fractale.ResourceGraph.from_jgf(str(fluxion / "graphs" / "tiny.json"))
