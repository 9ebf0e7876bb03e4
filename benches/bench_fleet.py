"""Benchmark of a fleet of registered clusters: registering them, and matching one job across
all of them.

It writes N synthetic cluster folders (default 10,000 clusters of 16 nodes: 2 sockets, cores
per socket and GPUs varying from cluster to cluster so that the job fits some and not others,
each with a spack software graph), registers them with ``fractale cluster import`` and prints:

- the time importing the first 1,000 took, then the rest;
- the wall time of ``fractale satisfy`` run as a command: cold (the first run, which builds
  the store's fleet cache: every graph compiled, on every core) and warm (the runs after);
- the latency of ``Fleet.satisfy`` in a process that already opened the store;
- the old path, as the in-process baseline: each cluster's configuration, software graph
  and containment graph read and the job matched on the graph itself (``ResourceGraph``),
  measured on ``--baseline`` clusters and scaled to the fleet.

Targets (issue 13): warm ``fractale satisfy`` over 10,000 clusters under 0.5 s, in process
under 20 ms; 1,000 clusters imported in under 20 s.

    python benches/bench_fleet.py [--clusters 10000] [--nodes 16] [--baseline 300] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fractale import Fleet, ResourceGraph, Store
from fractale.fleet import Job, check_requirement, cluster_software
from fractale.generate.software import software_graph, spack_software
from fractale.generate.synthetic import synthetic_graph
from fractale.store import dump_json

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# (cores per socket, GPUs per node) of the cluster shapes the fleet cycles through.
SHAPES = [(16, 0), (24, 0), (32, 4), (48, 8), (8, 0), (32, 0), (64, 4), (12, 2)]
SCHEDULERS = ["slurm", "flux", "pbs", "lsf"]
FIRST_IMPORT = 1000


def job(nodes: int) -> dict:
    """Half the nodes of a cluster, each 2 sockets of (20 cores + 1 GPU), gromacs>=2023."""
    slot = {"type": "slot", "count": 1, "label": "task",
            "with": [{"type": "core", "count": 20}, {"type": "gpu", "count": 1}]}
    return {
        "version": 9999,
        "resources": [{"type": "node", "count": max(1, nodes // 2),
                       "with": [{"type": "socket", "count": 2, "with": [slot]}]}],
        "tasks": [{"command": ["gmx_mpi", "mdrun"], "slot": "task", "count": {"per_slot": 1}}],
        "attributes": {"system": {
            "duration": 3600,
            "requires": {"software": [{"name": "gromacs", "version": ">=2023"}]}}},
    }


def write_sources(folder: Path, count: int, nodes: int) -> list[Path]:
    """``count`` cluster folders in batches (the first of FIRST_IMPORT clusters); their
    graphs are hard links to one file per shape."""
    shapes = []
    for index, (cores, gpus) in enumerate(SHAPES):
        path = folder / f"shape{index}.json"
        path.write_text(dump_json(synthetic_graph(nodes, cores=cores, gpus=gpus)))
        shapes.append(path)
    spack = folder / "spack.json"
    index_text = (EXAMPLES / "sources" / "quartz" / ".spack-db" / "index.json").read_text()
    spack.write_text(dump_json(software_graph(spack_software(index_text), "spack")))
    batches = [folder / "first", folder / "rest"]
    for batch in batches:
        batch.mkdir()
    for number in range(count):
        cluster = batches[number >= FIRST_IMPORT] / f"cluster{number:05d}"
        cluster.mkdir()
        os.link(shapes[number % len(shapes)], cluster / "containment.json")
        os.link(spack, cluster / "spack.json")
        (cluster / "cluster.yaml").write_text(
            f"scheduler: {SCHEDULERS[number % len(SCHEDULERS)]}\ncost: {1.0 + (number % 7) / 2}\n")
    return [batch for batch in batches if any(batch.iterdir())]


def fractale(*args: object) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", "from fractale.cli import main; main()", *map(str, args)],
        capture_output=True, text=True, check=False,
    )
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):
        raise SystemExit(f"fractale {args[0]} failed: {result.stderr}")
    return elapsed, result


def satisfy_seconds(root: Path, job_path: Path) -> tuple[float, int]:
    elapsed, result = fractale("satisfy", job_path, "--json", "--config-dir", root)
    return elapsed, len(json.loads(result.stdout)["fits"])


def old_path_seconds(store: Store, names: list[str], parsed: Job) -> tuple[float, int]:
    """The job matched cluster by cluster without the fleet cache: configuration read,
    software listed, graph loaded and matched."""
    start = time.perf_counter()
    fits = 0
    for name in names:
        cluster = store.get(name)
        installed = cluster_software(cluster)
        met = all(check_requirement(r, installed).met for r in parsed.requires)
        graph = ResourceGraph.from_jgf(str(cluster.graph_path()))
        fits += bool(met and graph.satisfiable(parsed.jobspec))
    return time.perf_counter() - start, fits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clusters", type=int, default=10000, help="Clusters in the fleet.")
    parser.add_argument("--nodes", type=int, default=16, help="Nodes per cluster.")
    parser.add_argument("--repeat", type=int, default=5, help="Warm runs of each measurement.")
    parser.add_argument("--baseline", type=int, default=300,
                        help="Clusters the old path is measured on (then scaled).")
    parser.add_argument("--keep", type=Path, help="Build the fleet here and keep it.")
    arguments = parser.parse_args()

    work = arguments.keep or Path(tempfile.mkdtemp(prefix="fractale-bench-fleet-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        batches = write_sources(work, arguments.clusters, arguments.nodes)
        job_path = work / "job.json"
        job_path.write_text(json.dumps(job(arguments.nodes)))
        vertices = len(json.loads((work / "shape0.json").read_text())["graph"]["nodes"])
        print(f"{arguments.clusters} clusters of {arguments.nodes} nodes (~{vertices} vertices "
              f"each, {os.cpu_count()} cores); job: {max(1, arguments.nodes // 2)} nodes x 2 "
              "sockets x (20 cores + 1 GPU), gromacs>=2023")
        root = work / "store"
        for batch in batches:
            count = sum(1 for _ in batch.iterdir())
            seconds, _ = fractale("cluster", "import", batch, "--config-dir", root)
            print(f"import of {count:,} clusters: {seconds:.1f} s "
                  f"({seconds / count * 1000:.1f} ms each)")
        cold, fits = satisfy_seconds(root, job_path)
        warm = statistics.median(
            satisfy_seconds(root, job_path)[0] for _ in range(arguments.repeat))
        store = Store(root)
        start = time.perf_counter()
        fleet = Fleet(store)
        opened = time.perf_counter() - start
        parsed = Job.from_path(job_path)
        latencies = []
        for _ in range(arguments.repeat + 1):
            start = time.perf_counter()
            answers = fleet.satisfy(parsed)
            latencies.append(time.perf_counter() - start)
        assert sum(answer.ok for answer in answers) == fits
        names = store.names()[: arguments.baseline]
        old, old_fits = old_path_seconds(store, names, parsed)
        assert old_fits == sum(answer.ok for answer in answers[: len(names)])
        scaled = old * arguments.clusters / len(names)
        print(f"fits: {fits} of {arguments.clusters}")
        print(f"fractale satisfy, cold (cache built on every core): {cold:.2f} s")
        print(f"fractale satisfy, warm: {warm:.2f} s (median of {arguments.repeat})")
        print(f"Fleet(store) opened warm in process: {opened * 1000:.0f} ms")
        print(f"Fleet.satisfy in process: {statistics.median(latencies[1:]) * 1000:.1f} ms "
              f"(median of {arguments.repeat})")
        print(f"old path in process (no fleet cache): {old / len(names) * 1000:.2f} ms a "
              f"cluster on {len(names)}, ~{scaled:.1f} s for {arguments.clusters}")
    finally:
        if arguments.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
