"""Benchmark of fractale's core beside Fluxion's resource-query, or beside a pure-Python matcher.

For synthetic clusters of 1,024, 4,096 and 16,384 nodes (racks of 32 nodes; 2 sockets x 16
cores, 2 GPUs and a memory pool a node: 38 vertices a node) it prints one table per size:
JGF load, ``first``/``low``/``high`` allocate of 1 core, 1 whole node, 16 and 128 nodes, an
unsatisfiable request, and resident memory per vertex.

With ``--fluxion PATH`` (Fluxion's ``resource-query``, built from flux-sched) the same JGF
file and jobspecs go to resource-query (one process per policy, ``-P POLICY -F jgf``, each
allocate a ``match allocate_with_satisfiability`` cancelled again), in the same run. Columns:
fractale's time (median allocate and release through the Python API), resource-query's (the
median of its own ``ELAPSE``; its load and memory as wall time and resident size), their ratio,
and whether the two agree: same status and, for the first allocation, the same vertices.
Each request's first match on each side is left out of its median; the very first match after
the load (fractale's builds the tables a graph keeps for matching) gets a row of its own.

Without it, the pure-Python matcher (``python_matcher.py``; one policy, its own) is the
comparison for sizes up to ``--baseline-up-to``; it does not choose Fluxion's vertices, so the
agreement column is left out.

    python benches/bench_core.py [--sizes 1024,4096,16384] [--repeat 5]
                                 [--fluxion PATH/TO/resource-query] [--baseline-up-to 4096]
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
from fluxion import Fluxion  # noqa: E402
from fractale.generate.synthetic import synthetic_graph  # noqa: E402
from python_matcher import PythonGraph  # noqa: E402

POLICIES = ("first", "low", "high")
NODES_PER_RACK = 32


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


def load_graph(size: int, path: Path):
    """fractale's load of ``path``: the graph, seconds, and resident bytes a vertex once loaded
    and at the load's peak."""
    gc.collect()
    before = rss_bytes()
    reset_peak()
    start = time.perf_counter()
    graph = fractale.ResourceGraph.from_jgf(str(path))
    load = time.perf_counter() - start
    vertices = graph.vertex_count
    per_vertex = (rss_bytes() - before) / vertices
    peak_per_vertex = (peak_bytes() - before) / vertices
    print(f"\n== {size} nodes: {vertices:,} vertices, {path.stat().st_size / 1e6:.0f} MB of JGF;"
          f" fractale holds {per_vertex:.0f} B a vertex, {peak_per_vertex:.0f} at the load's peak")
    return graph, load, per_vertex


def jobspec(resources: list) -> dict:
    return {
        "version": 9999,
        "resources": resources,
        "attributes": {"system": {"duration": 3600}},
        "tasks": [{"command": ["app"], "slot": "task", "count": {"per_slot": 1}}],
    }


def slot(with_: list) -> dict:
    return {"type": "slot", "label": "task", "count": 1, "with": with_}


def cores(count: int) -> list:
    return [{"type": "socket", "count": 1, "with": [{"type": "core", "count": count}]}]


def nodes(count: int, per_socket: int) -> dict:
    return jobspec([{"type": "node", "count": count, "with": [slot(cores(per_socket))]}])


REQUESTS = {
    "1 core": jobspec([slot(cores(1))]),
    "1 node": jobspec([{"type": "node", "count": 1, "exclusive": True, "with": [
        slot([{"type": "socket", "count": 2, "with": [{"type": "core", "count": 16}]}])]}]),
    "16 nodes": nodes(16, 16),
    "128 nodes": nodes(128, 16),
}
UNSATISFIABLE = nodes(1, 64)  # 64 cores in one socket of 16


def graph_file(nodes_: int, folder: Path) -> Path:
    path = folder / f"synthetic-{nodes_}-racks.json"
    if not path.exists():
        document = synthetic_graph(nodes_, sockets=2, cores=16, gpus=2, memory=1,
                                   racks=max(1, nodes_ // NODES_PER_RACK))
        with open(path, "w") as handle:
            json.dump(document, handle)
        del document
        gc.collect()
    return path


def median_time(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def paths(result) -> set[str]:
    return {v.path for v in result.allocation.resources} if result.allocation else set()


def ours(graph, request: dict, policy: str, repeat: int) -> tuple[float, str, set[str], float]:
    """Median allocate-and-release seconds after the first, the first allocation's status and
    paths, and the first's seconds (the first match on a graph also builds the tables a
    graph keeps for matching). ``first`` orders its walk by what earlier jobs took: both
    sides run the same steps."""
    js = fractale.Jobspec.from_dict(request)
    results = []

    def allocate_release():
        result = graph.allocate(js, policy)
        if result.allocation is not None:
            graph.release(result.allocation)
        results.append(result)

    once = median_time(allocate_release, 1)
    seconds = median_time(allocate_release, repeat)
    return seconds, results[0].status, paths(results[0]), once


def theirs(fluxion: Fluxion, request: dict, repeat: int) -> tuple[float, str, set[str], float]:
    """The same with resource-query, by its own ELAPSE."""
    answers = []
    for _ in range(repeat + 1):
        answer = fluxion.match(request, "allocate_with_satisfiability")
        if answer.status == "allocated":
            fluxion.cancel(answer.jobid)
        answers.append(answer)
    return (statistics.median(a.own for a in answers[1:]), answers[0].status, answers[0].paths,
            answers[0].own)


def row(label: str, mine: float, other: float | None, agree: str = "") -> str:
    if other is None:
        return f"  {label:26s} {fmt(mine):>11s}"
    return f"  {label:26s} {fmt(mine):>11s} {fmt(other):>11s} {other / mine:9.1f}x  {agree}"


def agreement(mine: tuple[str, set[str]], other: tuple[str, set[str]]) -> str:
    if mine[0] != other[0]:
        return f"NO: {mine[0]} / {other[0]}"
    if mine[1] != other[1]:
        return f"NO: {len(mine[1] ^ other[1])} vertices differ"
    return "yes"


def bench_with_fluxion(size: int, path: Path, program: str, repeat: int) -> None:
    graph, load, per_vertex = load_graph(size, path)
    vertices = graph.vertex_count
    print(f"  {'':26s} {'fractale':>11s} {'Fluxion':>11s} {'ratio':>10s}  agree")
    with tempfile.TemporaryDirectory(prefix="bench-core-") as workdir:
        fluxions = {}
        firsts: tuple[float, float] | None = None
        try:
            for policy in POLICIES:
                fluxions[policy] = Fluxion(program, str(path), workdir, policy, "jgf")
            their_load = min(f.load_wall for f in fluxions.values())
            their_memory = fluxions["first"].resident_bytes() / vertices
            print(row("JGF load", load, their_load))
            for policy, fluxion in fluxions.items():
                for label, request in REQUESTS.items():
                    mine = ours(graph, request, policy, repeat)
                    other = theirs(fluxion, request, repeat)
                    if not firsts:
                        firsts = (mine[3], other[3])
                    print(row(f"{policy} {label}", mine[0], other[0],
                              agreement(mine[1:3], other[1:3])))
            mine = ours(graph, UNSATISFIABLE, "first", repeat)
            other = theirs(fluxions["first"], UNSATISFIABLE, repeat)
            print(row("unsatisfiable", mine[0], other[0], agreement(mine[1:3], other[1:3])))
            print(row("the first match after load", *firsts))
        finally:
            for fluxion in fluxions.values():
                fluxion.close()
    print(f"  {'memory per vertex':26s} {per_vertex:9.0f} B {their_memory:9.0f} B "
          f"{their_memory / per_vertex:9.1f}x")


def bench_with_python(size: int, path: Path, repeat: int, baseline: bool) -> None:
    graph, load, per_vertex = load_graph(size, path)
    vertices = graph.vertex_count
    python = None
    if baseline:
        gc.collect()
        before = rss_bytes()
        start = time.perf_counter()
        python = PythonGraph(str(path))
        their_load = time.perf_counter() - start
        their_memory = (rss_bytes() - before) / vertices
        print(f"  {'':26s} {'fractale':>11s} {'Python':>11s} {'ratio':>10s}")
    print(row("JGF load", load, their_load if python else None))
    for policy in POLICIES:
        for label, request in {**REQUESTS, "unsatisfiable": UNSATISFIABLE}.items():
            mine = ours(graph, request, policy, repeat)
            other = None
            if python is not None:
                def allocate_release(request=request):
                    jobid = python.allocate(request)
                    if jobid is not None:
                        python.release(jobid)
                other = median_time(allocate_release, max(1, repeat // 5))
            print(row(f"{policy} {label} [{mine[1]}]", mine[0], other))
    line = f"  {'memory per vertex':26s} {per_vertex:9.0f} B"
    if python is not None:
        line += f" {their_memory:9.0f} B {their_memory / per_vertex:9.1f}x"
    print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1024,4096,16384")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--fluxion", metavar="PATH", help="Fluxion's resource-query to compare")
    parser.add_argument("--baseline-up-to", type=int, default=4096,
                        help="largest size the Python baseline runs on (without --fluxion)")
    parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "fractale-bench"))
    args = parser.parse_args()
    if args.fluxion and not Path(args.fluxion).is_file():
        parser.error(f"--fluxion: no such program: {args.fluxion}")
    try:
        sizes = [int(s) for s in args.sizes.split(",")]
    except ValueError:
        parser.error(f"--sizes: a comma-separated list of node counts, not {args.sizes!r}")
    if any(s < 1 for s in sizes) or args.repeat < 1:
        parser.error("--sizes and --repeat must be positive")
    folder = Path(args.cache)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"fractale {fractale.__version__}, Python {sys.version.split()[0]}; "
          f"ratios are {'Fluxion' if args.fluxion else 'Python'} / fractale")
    for size in sizes:
        path = graph_file(size, folder)
        if args.fluxion:
            bench_with_fluxion(size, path, args.fluxion, args.repeat)
        else:
            bench_with_python(size, path, args.repeat, size <= args.baseline_up_to)
        gc.collect()


if __name__ == "__main__":
    main()
