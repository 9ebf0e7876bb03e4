"""Benchmark of fractale's core against a pure-Python matcher run in the same process.

For synthetic clusters of 1, 100, 1,000 and 10,000 nodes (2 sockets x 32 cores, 4 GPUs and
8 memory pools each) it prints JGF load time and throughput, resident memory per vertex (steady
and at the load's peak), and the latency of ``satisfiable`` and ``allocate`` for four requests,
each beside the baseline.

    python benches/bench_core.py [--sizes 1,100,1000,10000] [--policy first]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fractale  # noqa: E402
from fractale.generate.synthetic import synthetic_graph  # noqa: E402
from python_matcher import PythonGraph  # noqa: E402


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def reset_peak() -> None:
    """Start the resident peak (VmHWM) afresh from the current resident size."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def peak_bytes() -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def jobspec(resources: list) -> dict:
    return {
        "version": 9999,
        "resources": resources,
        "attributes": {"system": {"duration": 3600}},
        "tasks": [{"command": ["app"], "slot": "task", "count": {"per_slot": 1}}],
    }


def slot(with_):
    return {"type": "slot", "label": "task", "count": 1, "with": with_}


def requests(nodes: int) -> dict[str, dict]:
    wide = min(128, nodes)
    out = {
        "1 core": jobspec(
            [slot([{"type": "socket", "count": 1, "with": [{"type": "core", "count": 1}]}])]
        ),
        "whole node, exclusive": jobspec(
            [
                {
                    "type": "node",
                    "count": 1,
                    "exclusive": True,
                    "with": [
                        slot(
                            [
                                {
                                    "type": "socket",
                                    "count": 2,
                                    "with": [{"type": "core", "count": 32}],
                                }
                            ]
                        )
                    ],
                }
            ]
        ),
        f"{wide} nodes x socket x 16 cores": jobspec(
            [
                {
                    "type": "node",
                    "count": wide,
                    "with": [
                        slot(
                            [
                                {
                                    "type": "socket",
                                    "count": 1,
                                    "with": [{"type": "core", "count": 16}],
                                }
                            ]
                        )
                    ],
                }
            ]
        ),
        "unsatisfiable (64 cores/socket)": jobspec(
            [
                {
                    "type": "node",
                    "count": 1,
                    "with": [
                        slot(
                            [
                                {
                                    "type": "socket",
                                    "count": 1,
                                    "with": [{"type": "core", "count": 64}],
                                }
                            ]
                        )
                    ],
                }
            ]
        ),
    }
    if nodes >= 1000:
        out["1000 nodes x socket x 16 cores"] = jobspec(
            [
                {
                    "type": "node",
                    "count": 1000,
                    "with": [
                        slot(
                            [
                                {
                                    "type": "socket",
                                    "count": 1,
                                    "with": [{"type": "core", "count": 16}],
                                }
                            ]
                        )
                    ],
                }
            ]
        )
    return out


def timed(fn, repeat: int) -> float:
    """Median seconds of ``repeat`` calls."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds:8.2f} s "


def measure_core(graph, js, policy: str, repeat: int) -> tuple[float, float]:
    """Median satisfiable and allocate-then-release times of the core."""

    def allocate_release():
        result = graph.allocate(js, policy)
        if result.allocation is not None:
            graph.release(result.allocation)

    return timed(lambda: graph.satisfiable(js, policy), repeat), timed(allocate_release, repeat)


def measure_python(baseline: PythonGraph, document: dict, repeat: int) -> tuple[float, float]:
    """The same two measurements on the pure-Python matcher."""

    def allocate_release():
        jobid = baseline.allocate(document)
        if jobid is not None:
            baseline.release(jobid)

    return timed(lambda: baseline.satisfiable(document), repeat), timed(allocate_release, repeat)


def bench_size(nodes: int, folder: Path, policy: str, baseline_limit: int) -> None:
    path = folder / f"synthetic-{nodes}.json"
    if not path.exists():
        document = synthetic_graph(nodes, sockets=2, cores=32, gpus=4, memory=8)
        with open(path, "w") as handle:
            json.dump(document, handle)
        del document
        gc.collect()
    megabytes = path.stat().st_size / 1e6

    before = rss_bytes()
    reset_peak()
    start = time.perf_counter()
    graph = fractale.ResourceGraph.from_jgf(str(path))
    load = time.perf_counter() - start
    vertices = graph.vertex_count
    per_vertex = (rss_bytes() - before) / vertices
    peak_per_vertex = (peak_bytes() - before) / vertices

    run_baseline = nodes <= baseline_limit
    if run_baseline:
        gc.collect()
        before = rss_bytes()
        start = time.perf_counter()
        baseline = PythonGraph(str(path))
        py_load = time.perf_counter() - start
        py_per_vertex = (rss_bytes() - before) / vertices

    print(f"\n== {nodes} nodes: {vertices:,} vertices, {megabytes:.1f} MB of JGF, policy {policy}")
    line = (
        f"  load        fractale {fmt(load)} ({megabytes / load:7.1f} MB/s),"
        f" {per_vertex:6.0f} B/vertex resident, {peak_per_vertex:6.0f} at the load's peak"
    )
    if run_baseline:
        line += f" | python {fmt(py_load)}, {py_per_vertex:6.0f} B/vertex | x{py_load / load:6.1f}"
    print(line)

    for label, document in requests(nodes).items():
        js = fractale.Jobspec.from_dict(document)
        repeat = 5 if nodes >= 10000 else 20
        status = graph.allocate(js, policy)
        if status.allocation is not None:
            graph.release(status.allocation)
        sat, alloc = measure_core(graph, js, policy, repeat)
        row = (
            f"  {label:34s} [{status.status:13s}] "
            f"satisfiable {fmt(sat)}  allocate+release {fmt(alloc)}"
        )
        if run_baseline:
            py_sat, py_alloc = measure_python(baseline, document, max(1, repeat // 5))
            row += (
                f" | python {fmt(py_sat)} / {fmt(py_alloc)}"
                f" | x{py_sat / sat:8.1f} / x{py_alloc / alloc:8.1f}"
            )
        print(row)
    del graph
    if run_baseline:
        del baseline
    gc.collect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,100,1000,10000")
    parser.add_argument("--policy", default="first", choices=["first", "low", "high"])
    parser.add_argument(
        "--baseline-up-to", type=int, default=10000, help="largest size the Python baseline runs on"
    )
    parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "fractale-bench"))
    args = parser.parse_args()
    folder = Path(args.cache)
    folder.mkdir(parents=True, exist_ok=True)
    version = sys.version.split()[0]
    print(f"fractale {fractale.__version__}, Python {version}; ratios are python / fractale")
    for size in (int(s) for s in args.sizes.split(",")):
        bench_size(size, folder, args.policy, args.baseline_up_to)


if __name__ == "__main__":
    main()
