"""Shared inputs for the core's tests: the smallest Fluxion graph, loaded (the conformance
folders themselves are fixtures of tests/conftest.py)."""

import pytest


@pytest.fixture
def tiny(fluxion):
    import fractale

    return fractale.ResourceGraph.from_jgf(str(fluxion / "graphs" / "tiny.json"))
