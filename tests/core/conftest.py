"""Shared inputs for the core's tests: the Fluxion conformance folder beside the project."""

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
FLUXION = SHARED / "conformance" / "fluxion"
FLUXION_RESERVE = SHARED / "conformance" / "fluxion-reserve"


@pytest.fixture(scope="session")
def fluxion() -> Path:
    if not FLUXION.is_dir():
        pytest.skip(f"{FLUXION} is absent: no Fluxion conformance material to test against")
    return FLUXION


@pytest.fixture(scope="session")
def fluxion_reserve() -> Path:
    if not FLUXION_RESERVE.is_dir():
        pytest.skip(f"{FLUXION_RESERVE} is absent: no Fluxion reservation cases to test against")
    return FLUXION_RESERVE


@pytest.fixture
def tiny(fluxion):
    import fractale

    return fractale.ResourceGraph.from_jgf(str(fluxion / "graphs" / "tiny.json"))
