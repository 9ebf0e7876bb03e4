"""Every Fluxion conformance case gives Fluxion's outcome and exactly Fluxion's vertices;
reservation cases also Fluxion's job id and start time. The trimmed set kept in the repository
(tests/data/conformance, picked by its trim.py) always runs; the full shared set runs when it
is beside the project."""

import json
import subprocess
import sys
from pathlib import Path

import fractale
import pytest
import yaml

KEPT = Path(__file__).resolve().parents[1] / "data" / "conformance"
TRIM = KEPT / "trim.py"


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


def _folder(request, where: str, name: str) -> Path:
    """The kept copy of the conformance set ``name``, or the shared one (a fixture)."""
    if where == "kept":
        return KEPT / name
    return request.getfixturevalue(name.replace("-", "_"))


@pytest.mark.parametrize("where", ["kept", "shared"])
def test_every_fluxion_case_passes_through_the_python_api(where, request, capsys):
    folder = _folder(request, where, "fluxion")
    failures = {}
    cases = _cases(folder)
    for path in cases:
        why = _run(folder, path)
        if why:
            failures[path.name] = why
    with capsys.disabled():
        passed = len(cases) - len(failures)
        print(f"\nfluxion conformance ({where}): {passed} of {len(cases)} cases pass")
    assert cases, "the conformance folder holds no cases"
    assert not failures, failures


@pytest.mark.parametrize("where", ["kept", "shared"])
def test_every_fluxion_reservation_case_passes_through_the_python_api(where, request, capsys):
    folder = _folder(request, where, "fluxion-reserve")
    cases = _cases(folder)
    failures = {path.name: why for path in cases if (why := _run(folder, path))}
    with capsys.disabled():
        passed = len(cases) - len(failures)
        print(f"\nfluxion-reserve conformance ({where}): {passed} of {len(cases)} cases pass")
    assert cases, "the reservation conformance folder holds no cases"
    assert not failures, failures


@pytest.mark.parametrize("where", ["kept", "shared"])
@pytest.mark.parametrize("policy", ["first", "low", "high"])
def test_cases_cover_every_policy(where, request, policy):
    for name in ("fluxion", "fluxion-reserve"):
        folder = _folder(request, where, name)
        policies = {json.loads(p.read_text())["policy"] for p in _cases(folder)}
        assert policy in policies


@pytest.mark.parametrize("where", ["kept", "shared"])
def test_reservation_cases_hold_later_starts_and_cancels(where, request):
    folder = _folder(request, where, "fluxion-reserve")
    steps = [s for p in _cases(folder) for s in json.loads(p.read_text())["steps"]]
    assert any(s["op"] == "reserve" and s["expect"]["status"] == "reserved" for s in steps)
    assert any(s["op"] == "cancel" for s in steps)


def test_the_kept_cases_hold_every_step_kind_and_every_answer():
    seen = {
        (step["op"], step.get("expect", {}).get("status"))
        for name in ("fluxion", "fluxion-reserve")
        for path in _cases(KEPT / name)
        for step in json.loads(path.read_text())["steps"]
    }
    assert seen >= {
        ("satisfiability", "satisfiable"), ("satisfiability", "unsatisfiable"),
        ("allocate", "allocated"), ("allocate", "busy"), ("allocate", "unsatisfiable"),
        ("allocate", "not_allocated"), ("cancel", None),
        ("reserve", "allocated"), ("reserve", "reserved"), ("reserve", "unsatisfiable"),
    }


def test_the_kept_cases_are_copies_of_fluxions_answers_and_trim_picks_again(fluxion, tmp_path):
    """Every kept file the shared set also holds is byte for byte the shared one (so every
    kept answer is Fluxion's), and trim.py picks a set again from the shared folders."""
    shared = fluxion.parent
    kept = [p.relative_to(KEPT) for p in KEPT.glob("*/**/*") if p.is_file()]
    compared = [rel for rel in kept if (shared / rel).is_file()]
    assert compared, f"none of the kept files is in {shared}"
    for rel in compared:
        assert (KEPT / rel).read_bytes() == (shared / rel).read_bytes(), rel
    out = tmp_path / "conformance"
    out.mkdir()
    (out / "trim.py").write_bytes(TRIM.read_bytes())
    done = subprocess.run([sys.executable, str(out / "trim.py"), str(shared)],
                          capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    for name in ("fluxion", "fluxion-reserve"):
        assert _cases(out / name), done.stdout
