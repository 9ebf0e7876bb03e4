"""Shared inputs for the core's tests: the Fluxion conformance folder beside the project."""

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
FLUXION = SHARED / "conformance" / "fluxion"


@pytest.fixture(scope="session")
def fluxion() -> Path:
    if not FLUXION.is_dir():
        pytest.skip(f"{FLUXION} is absent: no Fluxion conformance material to test against")
    return FLUXION


@pytest.fixture
def tiny(fluxion):
    import fractale

    return fractale.ResourceGraph.from_jgf(str(fluxion / "graphs" / "tiny.json"))
