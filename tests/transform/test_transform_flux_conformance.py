"""Flux, proved against Flux: every case of ../shared/conformance/flux (answered by flux-core
0.88.0 with ``flux batch --dry-run`` / ``flux run --dry-run``) is read by fractale as Flux
read it, and every corpus job of every manager translates to a batch script whose
directives are all options of ``flux batch`` and which names its slots or nodes."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from fractale.cli import cli
from fractale.errors import TranslateError
from fractale.transform import read, transform
from transform_corpus import ident, scripts

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "conformance" / "flux"
CASES = sorted((SHARED / "cases").glob("*.json")) if SHARED.is_dir() else []


def test_the_flux_cases_are_there():
    if not CASES:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{SHARED} is absent: the Flux conformance cases are required in CI")
        pytest.skip(f"{SHARED} is absent: no Flux-answered cases to test against")
    assert len(CASES) >= 240


def _task_count(jobspec: dict) -> int:
    """How many tasks a V1 jobspec starts: a total, or one per slot."""
    count = jobspec["tasks"][0]["count"]
    if "total" in count:
        return count["total"]
    slots, vertex = 1, jobspec["resources"][0]
    while vertex["type"] != "slot":
        slots *= vertex["count"]
        vertex = vertex["with"][0]
    return slots * vertex["count"] * count["per_slot"]


def _fractale_jobspec(case: dict, where: Path) -> tuple[dict | None, str]:
    """What ``fractale transform --from flux --to jobspec`` writes for the case (None and
    the error when fractale refuses it)."""
    name = "job.sh" if case["kind"] == "batch" else "command.txt"
    (where / name).write_text(case["script"] if case["kind"] == "batch" else case["command"])
    cwd = os.getcwd()
    os.chdir(where)
    try:
        result = CliRunner().invoke(cli, ["transform", "--from", "flux", "--to", "jobspec", name])
    finally:
        os.chdir(cwd)
    if result.exception is not None:
        if not isinstance(result.exception, TranslateError):
            raise result.exception
        return None, str(result.exception)
    assert result.exit_code == 0, result.output
    return yaml.safe_load(result.stdout), ""


def disagreement(path: Path, where: Path) -> str | None:
    """How fractale differs from Flux on one case; None when it agrees."""
    case = json.loads(path.read_text())
    expect = case["expect"]
    ours, error = _fractale_jobspec(case, where)
    if not expect["ok"]:
        return None if ours is None else f"Flux refuses ({expect['error']}); fractale accepts"
    if ours is None:
        return f"Flux accepts; fractale refuses: {error}"
    flux = expect["jobspec"]
    differences = []
    if ours["resources"] != flux["resources"]:
        differences.append(f"resources {ours['resources']} != {flux['resources']}")
    if case["kind"] == "batch":
        if _task_count(ours) != _task_count(flux):
            differences.append(f"tasks {_task_count(ours)} != {_task_count(flux)}")
        system, expected = ours["attributes"]["system"], flux["attributes"]["system"]
        if float(system.get("duration", 0)) != float(expected["duration"]):
            differences.append(f"duration {system.get('duration')} != {expected['duration']}")
        for key in ("job", "queue", "bank"):
            if system.get(key) != expected.get(key):
                differences.append(f"{key} {system.get(key)!r} != {expected.get(key)!r}")
    return "; ".join(differences) or None


@pytest.mark.parametrize("path", CASES, ids=lambda path: path.stem)
def test_fractale_reads_the_case_as_flux_did(path, tmp_path):
    assert disagreement(path, tmp_path) is None


def test_count_of_flux_cases_fractale_agrees_with(tmp_path):
    if not CASES:
        pytest.skip("no Flux-answered cases")
    failures = {path.stem: disagreement(path, tmp_path) for path in CASES}
    failures = {stem: why for stem, why in failures.items() if why}
    kinds: dict[str, list[int]] = {}
    for path in CASES:
        case = json.loads(path.read_text())
        key = f"{case['kind']} {'accepted' if case['expect']['ok'] else 'refused'}"
        kinds.setdefault(key, [0, 0])
        kinds[key][0] += path.stem not in failures
        kinds[key][1] += 1
    print(f"\nFlux conformance: fractale agrees with Flux on {len(CASES) - len(failures)} of "
          f"{len(CASES)} cases (" + ", ".join(f"{key} {agree}/{total}" for key, (agree, total)
                                              in sorted(kinds.items())) + ")")
    assert failures == {}


# ---------------------------------------------------------------- every corpus job to Flux

# The options of flux batch, from flux-core's flux-batch(1) (job-param-batch,
# job-param-additional, job-standard-io, job-constraints, job-dependencies,
# job-environment, job-process-resource-limits, job-other-options, job-other-batch):
# True when the option takes a value.
FLUX_BATCH = {
    "-n": True, "--nslots": True, "-c": True, "--cores-per-slot": True, "-g": True,
    "--gpus-per-slot": True, "-N": True, "--nodes": True, "-x": False, "--exclusive": False,
    "-q": True, "--queue": True, "-B": True, "--bank": True, "-t": True, "--time-limit": True,
    "--job-name": True, "--flags": True, "--input": True, "--output": True, "--error": True,
    "-u": False, "--unbuffered": False, "-l": False, "--label-io": False, "--requires": True,
    "--dependency": True, "--env": True, "--env-remove": True, "--env-file": True,
    "--rlimit": True, "--cwd": True, "--urgency": True, "-o": True, "--setopt": True,
    "-S": True, "--setattr": True, "--add-file": True, "--begin-time": True, "--signal": True,
    "--dry-run": False, "--conf": True, "--broker-opts": True, "--wrap": False,
    "--dump": True, "--quiet": False,
}

CORPUS = scripts()


def flux_batch_problems(text: str) -> list[str]:
    """Every ``#FLUX:`` word that is not a flux batch option (or lacks its value), and a
    missing slot or node count."""
    problems, sized = [], False
    for line in text.splitlines():
        if not line.startswith("#FLUX:"):
            continue
        words = shlex.split(line[len("#FLUX:"):])
        while words:
            word = words.pop(0)
            name, eq, _ = word.partition("=") if word.startswith("--") else (word, "", "")
            if name not in FLUX_BATCH:
                problems.append(f"{line}: {name} is not a flux batch option")
            elif FLUX_BATCH[name] and not eq and not (words and words.pop(0)):
                problems.append(f"{line}: {name} needs a value")
            sized = sized or name in ("-n", "--nslots", "-N", "--nodes")
    if not sized:
        problems.append("neither -n nor -N is given: flux batch refuses the script")
    return problems


@pytest.mark.parametrize("path", CORPUS, ids=ident)
def test_every_corpus_job_becomes_a_script_flux_batch_accepts(path):
    result = transform(path.read_text(), to="flux", source=path.parent.name)
    assert flux_batch_problems(result.text) == []
    # And fractale reads it back as Flux would, without refusing it.
    read(result.text, "flux")


def test_count_of_corpus_jobs_written_for_flux_batch():
    clean, lines = 0, 0
    for path in CORPUS:
        text = transform(path.read_text(), to="flux", source=path.parent.name).text
        lines += sum(line.startswith("#FLUX:") for line in text.splitlines())
        clean += not flux_batch_problems(text)
    managers = sorted({path.parent.name for path in CORPUS})
    print(f"\nCorpus to Flux: {clean} of {len(CORPUS)} jobs from {len(managers)} managers "
          f"({', '.join(managers)}) written with only flux batch options and a slot or node "
          f"count; {lines} #FLUX: lines checked")
    assert clean == len(CORPUS)
