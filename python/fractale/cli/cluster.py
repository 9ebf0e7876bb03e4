"""``fractale cluster``: register, list, show and remove the clusters of the store, and read
the jobs running on one (``state``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import yaml

from fractale.cli.options import (
    Price,
    UserError,
    config_dir_option,
    json_option,
    open_store,
    pairs,
    table,
)


@click.group("cluster")
def cluster() -> None:
    """Register, list, show and remove clusters in the store; read a cluster's jobs."""


@cluster.command("add")
@click.argument("name")
@click.option("--scheduler", required=True, help="Its workload manager (slurm, flux, pbs, …).")
@click.option(
    "--containment",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The containment graph (JGF), e.g. from `fractale generate`.",
)
@click.option(
    "--subsystem",
    "subsystems",
    multiple=True,
    metavar="NAME=FILE",
    help="Another subsystem graph, e.g. spack=spack.json (repeatable).",
)
@click.option("--description", help="What the cluster is, in a sentence.")
@click.option("--cost", type=Price(), help="Price of one node for one hour.")
@click.option("--meta", "meta", multiple=True, metavar="KEY=VALUE", help="User metadata.")
@click.option("--submit", "submit_url", default="local", show_default=True,
              metavar="local|ssh://[USER@]HOST[:PORT]",
              help="How jobs reach it: here, or through the system ssh client.")
@click.option("--workdir", help="Working directory for jobs on the cluster (default: the "
                                "current directory locally, the login directory over SSH).")
@click.option("--ssh-option", "ssh_options", multiple=True, metavar="KEY=VALUE",
              help="An ssh_config option for reaching it, e.g. IdentityFile=~/.ssh/hpc.")
@click.option("--force", is_flag=True, help="Replace a cluster of that name.")
@config_dir_option
def add(name, scheduler, containment, subsystems, description, cost, meta, submit_url, workdir,
        ssh_options, force, config_dir):
    """Register cluster NAME from its subsystem graphs (each validated first)."""
    store = open_store(config_dir)
    submit = {"url": submit_url, "workdir": workdir,
              "ssh_options": pairs(ssh_options, "--ssh-option", empty=False)}
    graphs = pairs(subsystems, "--subsystem", Path, empty=False)
    registered = store.add(
        name,
        scheduler,
        containment,
        graphs,
        description=description,
        cost=cost,
        metadata=pairs(meta, "--meta", empty=False),
        submit={key: value for key, value in submit.items() if value},
        force=force,
    )
    counts = registered.counts()
    click.echo(
        f"Registered {name} ({registered.scheduler}): {counts.get('node', 0)} nodes, "
        f"{counts.get('core', 0)} cores, {counts.get('gpu', 0)} GPUs; "
        f"subsystems {', '.join(registered.subsystems())}; jobs go to "
        f"{registered.target().where()}; in {registered.path}"
    )


@cluster.command("import")
@click.argument("sources", nargs=-1, required=True, metavar="DIR|LIST|GRAPH...",
                type=click.Path(path_type=Path))
@click.option("--scheduler", help="The workload manager of clusters given as bare JGF files "
                                  "(or whose cluster.yaml names none).")
@click.option("--cost", type=Price(), help="Price of one node for one hour, for clusters given "
                                           "as bare JGF files.")
@click.option("--force", is_flag=True, help="Replace clusters of the same names.")
@config_dir_option
def import_(sources, scheduler, cost, force, config_dir):
    """Register many clusters at once: cluster folders (a cluster.yaml and a containment.json,
    other *.json files their other subsystems), folders of them or of JGF files (one cluster
    per file, named after it), or lists of such paths, one per line.

    Every graph is validated first, in parallel; when any entry is bad, each is named and
    nothing is registered. Existing clusters are replaced only with --force.
    """
    from fractale.store import import_entries

    store = open_store(config_dir)
    entries = import_entries(list(sources), scheduler, cost)
    if not entries:
        raise UserError("no clusters to import")
    names = store.import_clusters(entries, force=force)
    click.echo(f"Imported {len(names)} clusters into {store.root}")


def _row(entry, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "name": entry.name,
        "scheduler": entry.scheduler,
        "nodes": counts.get("node", 0),
        "cores": counts.get("core", 0),
        "gpus": counts.get("gpu", 0),
        "subsystems": entry.subsystems(),
        "cost": entry.cost,
        "description": entry.description,
    }


@cluster.command("list")
@json_option
@config_dir_option
def list_(as_json, config_dir):
    """List the registered clusters: name, scheduler, nodes, cores, GPUs, subsystems."""
    store = open_store(config_dir)
    counts = store.counts()
    rows = [_row(entry, counts[entry.name]) for entry in store.clusters()]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(f"No clusters in {store.root}. Add one with `fractale cluster add`.")
        return
    headers = ["NAME", "SCHEDULER", "NODES", "CORES", "GPUS", "SUBSYSTEMS"]
    body = [
        [r["name"], r["scheduler"], str(r["nodes"]), str(r["cores"]), str(r["gpus"]),
         ",".join(r["subsystems"])]
        for r in rows
    ]
    click.echo(table(headers, body))


@cluster.command("show")
@click.argument("name")
@json_option
@config_dir_option
def show(name, as_json, config_dir):
    """Show one cluster's configuration, resources and subsystems."""
    entry = open_store(config_dir).get(name)
    data = entry.to_dict()
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip())


@cluster.command("remove")
@click.argument("name")
@config_dir_option
def remove(name, config_dir):
    """Remove cluster NAME and its graphs from the store."""
    store = open_store(config_dir)
    store.remove(name)
    click.echo(f"Removed {name} from {store.root}")


def _when(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    from datetime import datetime

    return datetime.fromtimestamp(seconds).isoformat(timespec="seconds")


@cluster.command("state")
@click.argument("name")
@click.option("--file", "source", type=click.Path(dir_okay=False, path_type=Path),
              help="Load the jobs from a snapshot file (JSON, see `fractale.snapshot`) instead "
                   "of asking the cluster's scheduler.")
@click.option("--save", is_flag=True,
              help="Keep the snapshot in the store: `satisfy --when` and "
                   "`select --by earliest-start` plan around it.")
@json_option
@config_dir_option
def state(name, source, save, as_json, config_dir):
    """Show the jobs running and pending on cluster NAME, read live from its scheduler (Slurm:
    scontrol show job, with node lists and end times) or from --file, and what they leave
    free now on its containment graph."""
    from fractale.snapshot import Snapshot, read_live
    from fractale.store import read_json

    store = open_store(config_dir)
    entry = store.get(name)
    if source is not None:
        try:
            document = read_json(source)
        except FileNotFoundError:
            raise UserError(f"no such snapshot file: {source}") from None
        except ValueError as err:
            raise UserError(f"{source} is not valid JSON: {err}") from None
        snapshot = Snapshot.from_dict(document, str(source))
    else:
        snapshot = read_live(entry.scheduler)
    graph = entry.resource_graph()
    notes = snapshot.plan(graph)
    free, totals = graph.free(), graph.totals()
    saved = store.save_state(name, snapshot) if save else None
    if as_json:
        out = {**snapshot.to_dict(), "cluster": name, "notes": notes,
               "free": {kind: {"free": free[kind], "total": totals[kind]} for kind in totals},
               "saved": str(saved) if saved else None}
        click.echo(json.dumps(out, indent=2))
        return
    rows = [[job.id, job.state, _when(job.start), _when(job.end),
             ",".join(f"{n}:{'all' if c is None else c}" for n, c in sorted(job.nodes.items()))
             or "-"] for job in snapshot.jobs]
    click.echo(f"{name} at {_when(snapshot.time)}: {len(snapshot.jobs)} jobs")
    if rows:
        click.echo(table(["JOB", "STATE", "START", "END", "NODES:CORES"], rows))
    click.echo("Free now: " + ", ".join(
        f"{kind} {free[kind]}/{totals[kind]}" for kind in ("node", "core", "gpu")
        if kind in totals))
    for note in notes:
        click.echo(f"note: {note}", err=True)
    if saved:
        click.echo(f"Saved to {saved}")
