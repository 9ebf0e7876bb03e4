"""Every Fluxion conformance case gives Fluxion's outcome and exactly Fluxion's vertices;
reservation cases also Fluxion's job id and start time."""

import json

import fractale
import pytest
import yaml


def _cases(folder):
    return sorted((folder / "cases").glob("*.json"))


def _run(folder, case_path):
    case = json.loads(case_path.read_text())
    graph = fractale.ResourceGraph.from_jgf(str(folder / case["graph"]))
    for i, step in enumerate(case["steps"]):
        if step["op"] == "cancel":
            graph.release(step["jobid"])
            continue
        document = yaml.safe_load((folder / step["jobspec"]).read_text())
        js = fractale.Jobspec.from_dict(document, strict=False)
        if step["op"] == "allocate":
            result = graph.allocate(js, case["policy"])
        elif step["op"] == "reserve":
            result = graph.reserve(js, case["policy"])
        else:
            result = graph.satisfiable(js, case["policy"])
        expected = step["expect"]["status"]
        if expected == "not_allocated":
            ok = result.status in ("busy", "unsatisfiable")
        else:
            ok = result.status == expected
        if not ok:
            return f"step {i}: expected {expected}, got {result.status} ({result.reason})"
        if "at" in step["expect"] and result.at != step["expect"]["at"]:
            return f"step {i}: expected to start at {step['expect']['at']}, got {result.at}"
        if "jobid" in step["expect"] and result.allocation is not None:
            if result.allocation.jobid != step["expect"]["jobid"]:
                return f"step {i}: job id {result.allocation.jobid}, Fluxion gave a different one"
        if "resources" in step["expect"] and result.allocation is not None:
            got = sorted((v.path, v.exclusive, v.size) for v in result.allocation)
            want = sorted(
                (r["path"], r["exclusive"], r["size"]) for r in step["expect"]["resources"]
            )
            if got != want:
                return f"step {i}: vertices differ from Fluxion's"
    return None


def test_every_fluxion_case_passes_through_the_python_api(fluxion, capsys):
    failures = {}
    cases = _cases(fluxion)
    for path in cases:
        why = _run(fluxion, path)
        if why:
            failures[path.name] = why
    with capsys.disabled():
        print(f"\nfluxion conformance: {len(cases) - len(failures)} of {len(cases)} cases pass")
    assert cases, "the conformance folder holds no cases"
    assert not failures, failures


def test_every_fluxion_reservation_case_passes_through_the_python_api(fluxion_reserve, capsys):
    cases = _cases(fluxion_reserve)
    failures = {path.name: why for path in cases if (why := _run(fluxion_reserve, path))}
    with capsys.disabled():
        passed = len(cases) - len(failures)
        print(f"\nfluxion-reserve conformance: {passed} of {len(cases)} cases pass")
    assert cases, "the reservation conformance folder holds no cases"
    assert not failures, failures


@pytest.mark.parametrize("policy", ["first", "low", "high"])
def test_cases_cover_every_policy(fluxion, fluxion_reserve, policy):
    for folder in (fluxion, fluxion_reserve):
        policies = {json.loads(p.read_text())["policy"] for p in _cases(folder)}
        assert policy in policies


def test_reservation_cases_hold_later_starts_and_cancels(fluxion_reserve):
    steps = [s for p in _cases(fluxion_reserve) for s in json.loads(p.read_text())["steps"]]
    assert any(s["op"] == "reserve" and s["expect"]["status"] == "reserved" for s in steps)
    assert any(s["op"] == "cancel" for s in steps)
