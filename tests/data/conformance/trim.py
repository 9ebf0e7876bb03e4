"""Picks the trimmed Fluxion conformance set kept in the repository (tests/data/conformance/).

The full sets live beside the project in ../shared/conformance/{fluxion,fluxion-reserve}
(hundreds of cases, tens of MB). This script describes every case by what it exercises (its
policy, its source family, each step kind and expected answer, the shape of its graph, and the
jobspec features it uses), then picks cases greedily, most new features per new byte first,
until every feature of the cases whose graphs fit the size cap is covered. The chosen cases,
graphs and jobspecs are copied unchanged, so every answer is still Fluxion's.

    python tests/data/conformance/trim.py [SHARED_CONFORMANCE_DIR]

Features only found on graphs above the cap are listed as left out (say, Fluxion's 2 MB
``power.json``); the full set still runs them where ../shared is present.
"""

from __future__ import annotations

import json
import shutil
import sys
from functools import cache
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[2].parent / "shared" / "conformance"
FOLDERS = ("fluxion", "fluxion-reserve")
# A graph larger than this is never copied: the whole set stays a few hundred KB.
GRAPH_CAP = 80_000


@cache
def graph_features(path: Path) -> frozenset[str]:
    """The graph's shape: its parent>child type pairs, and whether it has pools (size > 1),
    down vertices, node properties, or edges of a subsystem other than containment."""
    graph = json.loads(path.read_text())["graph"]
    nodes = graph["nodes"]
    items = nodes.values() if isinstance(nodes, dict) else nodes
    types = {}
    features = set()
    for node in items:
        meta = node["metadata"]
        containment = meta.get("paths", {}).get("containment")
        if containment:
            types[containment] = meta["type"]
        if meta.get("size", 1) > 1:
            features.add(f"graph:pool:{meta['type']}")
        if meta.get("status", 0) != 0:
            features.add("graph:down")
        if meta.get("properties"):
            features.add(f"graph:properties:{meta['type']}")
    for path_, kind in types.items():
        parent = path_.rsplit("/", 1)[0]
        if parent in types:
            features.add(f"graph:edge:{types[parent]}>{kind}")
    for edge in graph["edges"]:
        meta = edge.get("metadata", {})
        subsystem = meta.get("subsystem") or next(iter(meta.get("name", {})), "containment")
        if subsystem != "containment":
            features.add(f"graph:subsystem:{subsystem}")
    return frozenset(features)


@cache
def jobspec_features(path: Path) -> frozenset[str]:
    """What a jobspec asks for: its top resource type, each parent>child request, ranges,
    explicit exclusivity, and each kind of RFC 31 constraint."""
    document = yaml.safe_load(path.read_text())
    features = {f"jobspec:top:{r['type']}" for r in document.get("resources", [])}

    def walk(resources: list, parent: str) -> None:
        for resource in resources:
            features.add(f"jobspec:request:{parent}>{resource['type']}")
            if isinstance(resource.get("count"), dict):
                features.add("jobspec:range")
            if resource.get("exclusive"):
                features.add(f"jobspec:exclusive:{resource['type']}")
            walk(resource.get("with", []), resource["type"])

    walk(document.get("resources", []), "top")

    def constraints(term) -> None:
        if isinstance(term, dict):
            for key, value in term.items():
                features.add(f"jobspec:constraint:{key}")
                constraints(value)
        elif isinstance(term, list):
            for value in term:
                constraints(value)

    system = (document.get("attributes") or {}).get("system") or {}
    constraints(system.get("constraints"))
    return frozenset(features)


def case_features(folder: Path, case_path: Path) -> tuple[set[str], set[str]]:
    """A case's features, and the files it needs (relative to its folder)."""
    case = json.loads(case_path.read_text())
    # The source family: random (s11), random with constraints and down vertices (s37),
    # with reservations (r53), or flux-sched's own regression tests (t-*).
    family = case_path.stem.split("-")[0]
    policy = case["policy"]
    features = {f"policy:{policy}", f"family:{folder.name}:{family}"}
    files = {case["graph"]}
    features |= graph_features(folder / case["graph"])
    for step in case["steps"]:
        op = step["op"]
        features.add(f"op:{policy}:{op}")
        if "expect" in step:
            features.add(f"answer:{op}:{step['expect']['status']}")
        if "jobspec" in step:
            files.add(step["jobspec"])
            features |= jobspec_features(folder / step["jobspec"])
    return features, files


def pick(shared: Path) -> tuple[dict[str, list[Path]], set[str], set[str]]:
    """The chosen cases per folder, the features they cover, and the features left out."""
    candidates = []  # (folder, case path, features, files)
    everything: set[str] = set()
    for name in FOLDERS:
        folder = shared / name
        for case_path in sorted((folder / "cases").glob("*.json")):
            features, files = case_features(folder, case_path)
            everything |= features
            if (folder / json.loads(case_path.read_text())["graph"]).stat().st_size <= GRAPH_CAP:
                candidates.append((folder, case_path, features, files))
    covered: set[str] = set()
    copied: set[Path] = set()
    chosen: dict[str, list[Path]] = {name: [] for name in FOLDERS}
    while True:
        best, best_score = None, 0.0
        for folder, case_path, features, files in candidates:
            new = len(features - covered)
            if not new:
                continue
            cost = case_path.stat().st_size + sum(
                (folder / f).stat().st_size for f in files if folder / f not in copied
            )
            score = new / cost
            if score > best_score:
                best, best_score = (folder, case_path, features, files), score
        if best is None:
            break
        folder, case_path, features, files = best
        covered |= features
        copied |= {folder / f for f in files}
        chosen[folder.name].append(case_path)
    return chosen, covered, everything - covered


def write(shared: Path, chosen: dict[str, list[Path]]) -> int:
    """Copy the chosen cases, what they name and each folder's README into
    tests/data/conformance; the total bytes of cases, graphs and jobspecs."""
    total = 0
    for name, cases in chosen.items():
        source, target = shared / name, HERE / name
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        shutil.copyfile(source / "README.md", target / "README.md")
        for case_path in cases:
            case = json.loads(case_path.read_text())
            needed = {case["graph"], f"cases/{case_path.name}"}
            needed |= {step["jobspec"] for step in case["steps"] if "jobspec" in step}
            for rel in sorted(needed):
                (target / rel).parent.mkdir(parents=True, exist_ok=True)
                if not (target / rel).exists():
                    shutil.copyfile(source / rel, target / rel)
                    total += (target / rel).stat().st_size
    return total


def main() -> None:
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else SHARED
    if not all((shared / name / "cases").is_dir() for name in FOLDERS):
        sys.exit(f"trim.py: {shared} does not hold {' and '.join(FOLDERS)} conformance cases")
    chosen, covered, left_out = pick(shared)
    total = write(shared, chosen)
    counts = ", ".join(f"{len(cases)} {name}" for name, cases in chosen.items())
    print(f"{counts} cases, {total // 1024} KB, covering {len(covered)} features")
    for feature in sorted(left_out):
        print(f"left out (only on graphs over {GRAPH_CAP // 1000} KB): {feature}")


if __name__ == "__main__":
    main()
