"""``fractale match``: match one jobspec against one JGF resource graph."""

from __future__ import annotations

import json
import re
from itertools import groupby
from typing import Literal, get_args

import click

from fractale.cli.options import json_option

# The matcher's vertex orders; click hands the command only these.
Policy = Literal["first", "low", "high"]
POLICIES: tuple[Policy, ...] = get_args(Policy)


def _leaf_runs(names: list[str]) -> str:
    """``core0 core1 core2 core5`` -> ``core[0-2,5]``, so wide allocations stay readable."""
    match = [m for m in (re.fullmatch(r"(\D*)(\d+)", n) for n in names) if m is not None]
    if len(names) < 3 or len(match) != len(names) or len({m.group(1) for m in match}) != 1:
        return ", ".join(names)
    ids = sorted(int(m.group(2)) for m in match)
    runs = []
    for _, group in groupby(enumerate(ids), key=lambda pair: pair[1] - pair[0]):
        span = [n for _, n in group]
        runs.append(str(span[0]) if len(span) == 1 else f"{span[0]}-{span[-1]}")
    return f"{match[0].group(1)}[{','.join(runs)}]"


def render_tree(vertices: list[dict]) -> list[str]:
    """Draw the allocation as a containment tree; sibling leaves of one kind share a line."""
    by_path = {v["path"]: v for v in vertices}
    children: dict[str, list[str]] = {}
    roots = []
    for path in sorted(by_path):
        parent = path.rsplit("/", 1)[0]
        if parent in by_path:
            children.setdefault(parent, []).append(path)
        else:
            roots.append(path)

    def label(v: dict) -> str:
        flags = "exclusive" if v["exclusive"] else "shared"
        size = f", size {v['size']}" if v["size"] != 1 else ""
        return f"{v['name']} ({flags}{size})"

    lines: list[str] = []

    def walk(path: str, prefix: str, last: bool, top: bool) -> None:
        v = by_path[path]
        lines.append(label(v) if top else f"{prefix}{'└─ ' if last else '├─ '}{label(v)}")
        inner = prefix if top else prefix + ("   " if last else "│  ")
        kids = children.get(path, [])
        leaves = [k for k in kids if k not in children]
        branches = [k for k in kids if k in children]
        groups: list[list[str]] = []
        for _, same in groupby(
            sorted(leaves, key=lambda k: (by_path[k]["type"], by_path[k]["exclusive"])),
            key=lambda k: (by_path[k]["type"], by_path[k]["exclusive"], by_path[k]["size"]),
        ):
            groups.append(list(same))
        # A branch is one path drawn with its subtree; a group of leaves shares one line.
        items: list[str | list[str]] = [*branches, *groups]
        for i, item in enumerate(items):
            is_last = i == len(items) - 1
            if isinstance(item, str):
                walk(item, inner, is_last, False)
            else:
                first = by_path[item[0]]
                names = _leaf_runs([by_path[k]["name"] for k in item])
                count = f" × {len(item)}" if len(item) > 1 else ""
                flags = "exclusive" if first["exclusive"] else "shared"
                size = f", size {first['size']}" if first["size"] != 1 else ""
                lines.append(f"{inner}{'└─ ' if is_last else '├─ '}{names}{count} ({flags}{size})")

    for i, root in enumerate(roots):
        walk(root, "", i == len(roots) - 1, True)
    return lines


@click.command("match")
@click.argument("graph", type=click.Path(dir_okay=False))
@click.argument("jobspec", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--policy",
    type=click.Choice(POLICIES),
    default="first",
    show_default=True,
    help="Which vertices to take when several fit (Fluxion's first, low or high).",
)
@click.option(
    "--satisfiability",
    is_flag=True,
    help="Only ask whether the job could ever fit on this graph; allocate nothing.",
)
@json_option
def match(
    graph: str, jobspec: str, policy: Policy, satisfiability: bool, as_json: bool
) -> None:
    """Match JOBSPEC (a canonical jobspec, YAML or JSON) against GRAPH (a JGF file).

    Prints the outcome (allocated, busy, unsatisfiable) and the vertices taken as a
    tree. Exits 0 when the job fits, 1 when it does not, 2 on bad input.
    """
    from fractale import Jobspec, ResourceGraph

    if jobspec == "-":
        js = Jobspec.from_str(click.get_text_stream("stdin").read(), "<stdin>")
    else:
        js = Jobspec.from_path(jobspec)
    resource_graph = ResourceGraph.from_jgf(graph)
    if satisfiability:
        result = resource_graph.satisfiable(js, policy)
    else:
        result = resource_graph.allocate(js, policy)
    if as_json:
        document = result.to_dict()
        document["policy"] = policy
        document["graph"] = graph
        click.echo(json.dumps(document, indent=2))
    else:
        allocation = result.allocation
        headline: str = result.status
        if allocation is not None:
            counts = ", ".join(f"{k} {v}" for k, v in allocation.counts().items())
            headline += f" (job {allocation.jobid}, policy {policy}): {counts}"
        click.echo(headline)
        if result.reason:
            click.echo(f"reason: {result.reason}")
        if allocation is not None:
            for line in render_tree([v.to_dict() for v in allocation.resources]):
                click.echo(line)
    click.get_current_context().exit(0 if result else 1)
