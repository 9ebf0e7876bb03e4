"""Seed inputs for the fuzz harnesses: the project's own example graphs, jobs and corpus
scripts, the Fluxion conformance graphs and jobspecs kept in tests/data, and the shared
conformance jobspecs when they are beside the project."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEPT = ROOT / "tests" / "data" / "conformance"
SHARED = ROOT.parent / "shared" / "conformance" / "fluxion"


def core_seeds() -> list[Path]:
    """JGF graphs and canonical jobspecs."""
    found = sorted((ROOT / "examples").rglob("*.json")) + sorted(
        (ROOT / "tests" / "transform" / "corpus" / "jobspec").glob("*"))
    found += sorted(KEPT.glob("*/graphs/*.json")) + sorted(KEPT.glob("*/jobspecs/*"))
    if SHARED.is_dir():
        found += sorted((SHARED / "jobspecs").glob("*"))[:200]
    return [p for p in found if p.is_file() and p.stat().st_size < 200_000]


def transform_seeds() -> list[Path]:
    """Batch scripts, jobspecs and manifests of every manager."""
    corpus = ROOT / "tests" / "transform" / "corpus"
    return sorted(p for p in corpus.rglob("*") if p.is_file() and not p.name.endswith(".yaml")
                  or p.suffix in (".yaml", ".yml") and ".expected." not in p.name)


def fill(directory: Path, seeds: list[Path]) -> Path:
    """``directory`` holding a copy of each seed (the fuzzer adds its finds there)."""
    directory.mkdir(parents=True, exist_ok=True)
    for index, seed in enumerate(seeds):
        shutil.copyfile(seed, directory / f"seed-{index:04d}")
    return directory
