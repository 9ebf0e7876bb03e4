"""Benchmark of a reservation in time: the earliest start of a job on a 4,096-node synthetic
graph (2 sockets x 16 cores, 2 memory pools a node) with 1,000 jobs already planned.

The planned history is 1,000 ``reserve`` calls of whole nodes (1 to 64 of them, for 600, 1800,
3600 or 7200 s, drawn from a fixed seed), as node-exclusive HPC sites schedule. Each probe is
then reserved and timed (the call alone, as resource-query's own time covers its match alone)
and cancelled again, beside an in-process baseline that answers the same question by replaying
time: at every time a job ends, earliest first, it holds every planned job that overlaps the
probe's window on an idle copy of the graph, shifted so that the window starts now, tries
``allocate``, and gives the holds back. Both use the same core; the baseline has no planner to
ask. It prints the start each found, which must agree.

With ``--fluxion PATH`` (Fluxion's ``resource-query``, built from flux-sched) the same graph
(written as JGF), history and probes also go to resource-query through its command line
(``-f jgf -P first``, default prune filter ``ALL:core``): each job is one
``match allocate_orelse_reserve``, timed both by resource-query's own ``ELAPSE`` and by wall
clock round trip; it prints both beside fractale's, the ratio, and whether status, start and
nodes agree.

    python benches/bench_reserve.py [--nodes 4096] [--jobs 1000] [--repeat 5] [--seed 7]
                                    [--fluxion PATH/TO/resource-query]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fractale  # noqa: E402
from fluxion import Fluxion  # noqa: E402
from fractale.generate.synthetic import synthetic_graph  # noqa: E402

CORES = 16
LENGTHS = (600, 1800, 3600, 7200)


def jobspec(nodes: int, cores: int, duration: int, exclusive: bool) -> dict:
    node = {"type": "node", "count": nodes,
            "with": [{"type": "slot", "label": "task", "count": 1,
                      "with": [{"type": "socket", "count": 1,
                                "with": [{"type": "core", "count": cores}]}]}]}
    if exclusive:
        node["exclusive"] = True
    return {"version": 9999, "resources": [node],
            "attributes": {"system": {"duration": duration}},
            "tasks": [{"command": ["app"], "slot": "task", "count": {"per_slot": 1}}]}


def history(count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [jobspec(rng.randint(1, 64), CORES, rng.choice(LENGTHS), True) for _ in range(count)]


def held_per_node(allocation) -> dict[str, None]:
    """The nodes a planned job holds, each whole."""
    return {vertex.name: None for vertex in allocation if vertex.type == "node"}


def replay(graph, planned: list[tuple[int, int, dict]], request: dict, length: int) -> int | None:
    """The baseline, on an idle copy of the graph: at every job end (and now), hold the jobs
    that overlap the window, shifted so the window starts now, try allocate, give them back."""
    for start in [0, *sorted({end for _, end, _ in planned})]:
        window_end = start + length
        holds = [graph.hold(nodes, max(0, at - start), end - start)
                 for at, end, nodes in planned if at < window_end and start < end]
        result = graph.allocate(request)
        for held in holds:
            graph.release(held)
        if result.status == "allocated":
            graph.release(result.allocation)
            return start
        if result.status == "unsatisfiable":
            return None
    return None


def timed(function, repeat: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - began)
    return statistics.median(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=4096)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fluxion", metavar="PATH", help="Fluxion's resource-query to compare")
    args = parser.parse_args()
    if args.fluxion and not Path(args.fluxion).is_file():
        parser.error(f"--fluxion: no such program: {args.fluxion}")

    began = time.perf_counter()
    document = synthetic_graph(args.nodes, sockets=2, cores=CORES, gpus=0, memory=2)
    graph = fractale.ResourceGraph.from_jgf(document)
    idle = fractale.ResourceGraph.from_jgf(document)
    print(f"graph: {args.nodes} nodes, {graph.vertex_count:,} vertices, "
          f"loaded in {time.perf_counter() - began:.2f} s")

    workdir = tempfile.TemporaryDirectory(prefix="bench-reserve-")
    fluxion = None
    if args.fluxion:
        graph_file = f"{workdir.name}/graph.json"
        Path(graph_file).write_text(json.dumps(document))
        began = time.perf_counter()
        fractale.ResourceGraph.from_jgf(graph_file)
        ours = time.perf_counter() - began
        fluxion = Fluxion(args.fluxion, graph_file, workdir.name)
        print(f"load from JGF file: fractale {ours:.2f} s, "
              f"resource-query {fluxion.load_wall:.2f} s wall "
              f"({fluxion.load_reported:.2f} s by its own count), "
              f"ratio {fluxion.load_wall / ours:.1f}x")
    # The document's 150,000 dictionaries are not needed again: dropped now, so that Python's
    # collector does not walk them inside the timings.
    del document
    gc.collect()

    planned: list[tuple[int, int, dict]] = []
    spent = 0.0
    statuses: dict[str, int] = {}
    theirs = {"own": 0.0, "wall": 0.0}
    disagree = {"status/start": 0, "nodes": 0}
    for request in history(args.jobs, args.seed):
        began = time.perf_counter()
        result = graph.reserve(request, "first")
        spent += time.perf_counter() - began
        statuses[result.status] = statuses.get(result.status, 0) + 1
        if result.allocation is not None:
            length = request["attributes"]["system"]["duration"]
            planned.append((result.at, result.at + length, held_per_node(result.allocation)))
        if fluxion is not None:
            answer = fluxion.match(request)
            theirs["own"] += answer.own
            theirs["wall"] += answer.wall
            if (answer.status, answer.at) != (result.status, result.at):
                disagree["status/start"] += 1
            elif result.allocation is not None and answer.nodes != set(
                held_per_node(result.allocation)
            ):
                disagree["nodes"] += 1
        # Freed here, not when the next answer replaces it inside the timing: the vertices
        # read above are Python objects cached on the allocation.
        del result
    horizon = max(end for _, end, _ in planned)
    print(f"history: {args.jobs} jobs planned in {spent:.2f} s "
          f"({spent / args.jobs * 1e3:.2f} ms each; {statuses}); last ends at {horizon} s")
    if fluxion is not None:
        print(f"history in resource-query: {theirs['own']:.2f} s by its own count "
              f"({theirs['own'] / args.jobs * 1e3:.2f} ms each, {theirs['own'] / spent:.1f}x "
              f"fractale), {theirs['wall']:.2f} s wall ({theirs['wall'] / spent:.1f}x); "
              f"jobs whose answers differ: {disagree}")

    probes = {
        "1 node x 16 cores, 1 h": jobspec(1, CORES, 3600, False),
        "64 whole nodes, 2 h": jobspec(64, CORES, 7200, True),
        "1,024 whole nodes, 1 h": jobspec(1024, CORES, 3600, True),
        "4,096 whole nodes, 10 min": jobspec(args.nodes, CORES, 600, True),
    }
    if fluxion is None:
        print(f"\n{'reservation':28} {'planner':>12} {'replay':>12} {'speed-up':>9}  start (s)")
    else:
        print(f"\n{'reservation':28} {'planner':>12} {'replay':>12} {'speed-up':>9} "
              f"{'r-q own':>12} {'r-q wall':>12} {'r-q/fractale':>12}  start (s)")
    for label, request in probes.items():
        length = request["attributes"]["system"]["duration"]
        chosen: list[set[str]] = []

        times, at = [], None
        for _ in range(args.repeat):
            began = time.perf_counter()
            result = graph.reserve(request, "first")
            times.append(time.perf_counter() - began)
            at = result.at
            if result.allocation is not None:
                chosen.append(set(held_per_node(result.allocation)))
                graph.release(result.allocation)
            del result
        planner_s = statistics.median(times)
        replay_s, replayed = timed(
            lambda request=request, length=length: replay(idle, planned, request, length), 1
        )
        agree = "" if at == replayed else f"  (replay found {replayed})"
        line = (f"{label:28} {planner_s * 1e3:9.2f} ms {replay_s * 1e3:9.1f} ms "
                f"{replay_s / planner_s:8.0f}x")
        if fluxion is not None:
            answers = []
            for _ in range(args.repeat):
                answers.append(fluxion.match(request))
                if answers[-1].status != "unsatisfiable":
                    fluxion.cancel_last()
            own = statistics.median(answer.own for answer in answers)
            wall = statistics.median(answer.wall for answer in answers)
            status, their_at, nodes = answers[-1].status, answers[-1].at, answers[-1].nodes
            if their_at != at:
                agree += f"  (resource-query found {status} at {their_at})"
            elif chosen and nodes != chosen[-1]:
                agree += "  (resource-query chose other nodes)"
            line += f" {own * 1e3:9.2f} ms {wall * 1e3:9.2f} ms {own / planner_s:11.1f}x"
        print(f"{line}  {at}{agree}")
    if fluxion is not None:
        fluxion.close()
    workdir.cleanup()


if __name__ == "__main__":
    main()
