"""Whatever a caller hands the core, the answer is a fractale error naming the place: no crash,
no endless read, no number that silently wraps, no megabytes of input echoed back."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from fractale import FractaleError, JGFError, Jobspec, JobspecError, MatchError, ResourceGraph
from fractale._core import CompiledFleet

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_GRAPH = EXAMPLES / "fleet" / "dev" / "containment.json"


def _in_child(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter: a crash there is this test's failure, not pytest's."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("call, error", [
    ("Jobspec.from_dict({'version': 1, 'resources': [deep('with', 5000)], 'tasks': []})",
     "JobspecError"),
    ("Jobspec.from_dict({'version': 1, 'resources': nest(10000)})", "JobspecError"),
    ("ResourceGraph.from_jgf({'graph': {'nodes': nest(10000), 'edges': []}})", "JGFError"),
    ("ResourceGraph.from_jgf(str(EXAMPLE)).satisfiable({'version': 1, 'resources': nest(20000)})",
     "JobspecError"),
])
def test_documents_nested_thousands_deep_are_refused_not_a_crash(call, error):
    done = _in_child(f"""
        import fractale
        from fractale import Jobspec, ResourceGraph
        EXAMPLE = {str(EXAMPLE_GRAPH)!r}
        def nest(n):
            x = 1
            for _ in range(n):
                x = [x]
            return x
        def deep(key, n):
            x = {{'type': 'core', 'count': 1}}
            for _ in range(n):
                x = {{'type': 'socket', 'count': 1, key: [x]}}
            return x
        try:
            {call}
        except fractale.FractaleError as err:
            print(type(err).__name__, err)
        """)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(error)
    assert "nested at most 128 levels deep" in done.stdout
    assert len(done.stdout) < 400  # the place is shortened, not 10,000 steps long


@pytest.mark.parametrize("count, expected", [
    (2**64, "expected an integer between -2**63 and 2**64-1"),
    (math.nan, "expected a finite number, found NaN"),
    (math.inf, "expected a finite number, found inf"),
])
def test_numbers_no_json_document_holds_are_located_errors(count, expected):
    document = {"version": 1, "resources": [{"type": "node", "count": count}], "tasks": []}
    place = r"resources\[0\]\.count: "
    with pytest.raises(JobspecError, match=place + expected.replace("*", r"\*")):
        Jobspec.from_dict(document)
    graph = {"graph": {"nodes": [{"id": "0", "metadata": {"type": "cluster", "size": count}}],
                       "edges": []}}
    with pytest.raises(JGFError, match=r"graph\.nodes\[0\]\.metadata\.size"):
        ResourceGraph.from_jgf(graph)


@pytest.mark.parametrize("jobid", [-1, 2**64, 2**100])
def test_releasing_a_job_id_no_allocation_can_have_is_a_match_error(jobid):
    graph = ResourceGraph.from_jgf(str(EXAMPLE_GRAPH))
    with pytest.raises(MatchError, match=f"no allocation with job id {jobid} is held"):
        graph.release(jobid)


def test_a_huge_string_that_is_neither_jgf_nor_a_path_is_not_echoed():
    with pytest.raises(JGFError) as err:
        ResourceGraph.from_jgf("x" * 10_000_000)
    assert "found 10000000 characters of other text" in str(err.value)
    assert len(str(err.value)) < 200


def test_an_endless_device_is_refused_at_once():
    started = time.monotonic()
    with pytest.raises(JGFError, match="/dev/zero"):
        ResourceGraph.from_jgf("/dev/zero")
    with pytest.raises(FractaleError, match="goes on past the 67108864 bytes"):
        Jobspec.from_path("/dev/zero")
    assert time.monotonic() - started < 30


def test_a_fleet_cache_that_never_ends_is_ignored_and_never_replaced(tmp_path):
    before = Path("/dev/null").stat()
    fleet = CompiledFleet.open([("dev", str(EXAMPLE_GRAPH))], "/dev/zero")
    assert fleet.names() == ["dev"]
    CompiledFleet.open([("dev", str(EXAMPLE_GRAPH))], "/dev/null")
    assert Path("/dev/null").is_char_device() and Path("/dev/null").stat().st_rdev == before.st_rdev
    assert Path("/dev/zero").is_char_device()


def test_size_totals_past_64_bits_are_refused_instead_of_wrapping():
    nodes = [{"id": "0", "metadata": {"type": "cluster", "size": 1}}] + [
        {"id": str(i), "metadata": {"type": "memory", "size": 2**63 - 1}} for i in range(1, 6)]
    edges = [{"source": "0", "target": str(i), "metadata": {"subsystem": "containment"}}
             for i in range(1, 6)]
    with pytest.raises(JGFError, match="sizes of all memory vertices to add up to at most"):
        ResourceGraph.from_jgf({"graph": {"nodes": nodes, "edges": edges}})
    two = {"graph": {"nodes": nodes[:3], "edges": edges[:2]}}
    assert ResourceGraph.from_jgf(two).summary()["memory"] == 2
    assert json.dumps(two)  # the accepted graph is a plain document
