"""Benchmark of matching one job across fleets of registered clusters.

It registers synthetic fleets of 10, 100 and 1,000 clusters of 100 nodes each (2 sockets,
cores per socket and GPUs varying from cluster to cluster so that the job fits some and not
others, every cluster with a spack software graph) in a temporary store, and prints for
each fleet:

- the time registering it took;
- the wall time of ``fractale satisfy`` run as a command, cold (the first run after the
  fleet was registered) and warm (the runs after it);
- the latency of ``Fleet.satisfy`` called in a process that already opened the store.

Targets: a warm ``fractale satisfy`` against 1,000 clusters in under 0.5 s, the in-process
call in under 20 ms.

    python benches/bench_fleet.py [--fleets 10,100,1000] [--nodes 100] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fractale import Fleet, Store
from fractale.fleet import Job
from fractale.generate.software import software_graph, spack_software
from fractale.generate.synthetic import synthetic_graph
from fractale.store import dump_json

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# (cores per socket, GPUs per node) of the cluster shapes the fleet cycles through.
SHAPES = [(16, 0), (24, 0), (32, 4), (48, 8), (8, 0), (32, 0), (64, 4), (12, 2)]
SCHEDULERS = ["slurm", "flux", "pbs", "lsf"]

JOB = {
    "version": 9999,
    "resources": [
        {
            "type": "node",
            "count": 64,
            "with": [
                {
                    "type": "socket",
                    "count": 2,
                    "with": [
                        {
                            "type": "slot",
                            "count": 1,
                            "label": "task",
                            "with": [{"type": "core", "count": 20}, {"type": "gpu", "count": 1}],
                        }
                    ],
                }
            ],
        }
    ],
    "tasks": [{"command": ["gmx_mpi", "mdrun"], "slot": "task", "count": {"per_slot": 1}}],
    "attributes": {
        "system": {
            "duration": 3600,
            "requires": {"software": [{"name": "gromacs", "version": ">=2023"}]},
        }
    },
}


def shape_files(folder: Path, nodes: int) -> list[Path]:
    paths = []
    for index, (cores, gpus) in enumerate(SHAPES):
        path = folder / f"shape{index}.json"
        path.write_text(dump_json(synthetic_graph(nodes, cores=cores, gpus=gpus)))
        paths.append(path)
    return paths


def register(root: Path, count: int, shapes: list[Path], spack: Path) -> float:
    store = Store(root)
    start = time.perf_counter()
    for index in range(count):
        store.add(
            f"cluster{index:04d}",
            SCHEDULERS[index % len(SCHEDULERS)],
            shapes[index % len(shapes)],
            {"spack": spack},
            cost=1.0 + (index % 7) / 2,
        )
    return time.perf_counter() - start


def command_seconds(root: Path, job: Path) -> tuple[float, int]:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", "from fractale.cli import main; main()", "satisfy", str(job),
         "--json", "--config-dir", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):
        raise SystemExit(f"fractale satisfy failed: {result.stderr}")
    return elapsed, len(json.loads(result.stdout)["fits"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fleets", default="10,100,1000", help="Fleet sizes, comma-separated.")
    parser.add_argument("--nodes", type=int, default=100, help="Nodes per cluster.")
    parser.add_argument("--repeat", type=int, default=3, help="Warm runs of each measurement.")
    parser.add_argument("--keep", type=Path, help="Build the fleets here and keep them.")
    arguments = parser.parse_args()
    sizes = [int(size) for size in arguments.fleets.split(",")]

    work = arguments.keep or Path(tempfile.mkdtemp(prefix="fractale-bench-fleet-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        shapes = shape_files(work, arguments.nodes)
        spack = work / "spack.json"
        index = (EXAMPLES / "sources" / "quartz" / ".spack-db" / "index.json").read_text()
        spack.write_text(dump_json(software_graph(spack_software(index), "spack")))
        job = work / "job.json"
        job.write_text(json.dumps(JOB))
        vertices = len(json.loads(shapes[0].read_text())["graph"]["nodes"])
        print(f"clusters of {arguments.nodes} nodes (~{vertices} vertices each); job: "
              "64 nodes x 2 sockets x (20 cores + 1 GPU), gromacs>=2023")
        print(f"{'clusters':>8} {'register':>10} {'fits':>5} {'cli cold':>9} "
              f"{'cli warm':>9} {'in-process':>11}")
        for size in sizes:
            root = work / f"fleet{size}"
            registered = register(root, size, shapes, spack)
            cold, fits = command_seconds(root, job)
            warm = statistics.median(
                command_seconds(root, job)[0] for _ in range(arguments.repeat)
            )
            fleet = Fleet(Store(root))
            parsed = Job.from_text(job.read_text())
            fleet.satisfy(parsed)
            latencies = []
            for _ in range(arguments.repeat):
                start = time.perf_counter()
                answers = fleet.satisfy(parsed)
                latencies.append(time.perf_counter() - start)
            assert sum(answer.ok for answer in answers) == fits
            print(f"{size:>8} {registered:>9.1f}s {fits:>5} {cold:>8.2f}s {warm:>8.2f}s "
                  f"{statistics.median(latencies) * 1000:>9.1f}ms")
            if arguments.keep is None:
                shutil.rmtree(root)
    finally:
        if arguments.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
