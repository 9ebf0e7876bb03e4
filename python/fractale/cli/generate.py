"""``fractale generate``: subsystem graphs (JGF) from real sources, to a file or the store."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any, Callable

import click

from fractale.cli.options import UserError, config_dir_option, open_store


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not a UTF-8 text file") from None


def output_options(subsystem: str, scheduler: str | None = None) -> Callable:
    """Where a generated graph goes: -o FILE, --store CLUSTER, or standard output."""

    def decorate(command: Callable) -> Callable:
        options = [
            click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                         help="Write the graph to FILE (default: standard output)."),
            click.option("--store", "cluster", metavar="CLUSTER",
                         help="Write the graph into the store as a subsystem of CLUSTER "
                              "(a new cluster needs --scheduler)."),
            click.option("--subsystem", default=subsystem, show_default=True,
                         help="The subsystem the graph is stored as."),
            click.option("--scheduler", default=scheduler, show_default=scheduler is not None,
                         help="Scheduler of a cluster --store creates."),
            click.option("--name", default="cluster", show_default=True,
                         help="Name of the graph's root vertex."),
            click.option("--force", is_flag=True, help="Replace an existing file or graph."),
            config_dir_option,
        ]
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def emit(document: dict[str, Any], output, cluster, subsystem, scheduler, force, config_dir):
    """Validate a generated graph with the core, then write it where the user asked."""
    from fractale.store import CONTAINMENT, dump_json, validate_graph, write_atomic

    if output is not None and cluster is not None:
        raise UserError("give either -o FILE or --store CLUSTER, not both")
    text = dump_json(document)
    if cluster is not None:
        store = open_store(config_dir)
        if cluster in store:
            target = store.set_subsystem(cluster, subsystem, document, force=force)
            click.echo(f"Wrote the {subsystem} graph of {cluster} to {target}", err=True)
            return
        if subsystem != CONTAINMENT:
            raise UserError(
                f"no cluster named {cluster!r}: register it with its containment graph first"
            )
        if not scheduler:
            raise UserError(f"no cluster named {cluster!r}; say --scheduler to create it")
        created = store.add(cluster, scheduler, document)
        click.echo(f"Registered {cluster} ({created.scheduler}) in {created.path}", err=True)
        return
    graph = validate_graph(text, None, subsystem)
    counts = graph.summary()
    if output is None:
        click.echo(text)
    else:
        if output.exists() and not force:
            raise UserError(f"{output} exists; replace it with --force")
        write_atomic(output, text + "\n")
    summary = ", ".join(f"{counts[k]} {k}" for k in sorted(counts))
    where = f" to {output}" if output is not None else ""
    click.echo(f"Wrote a {subsystem} graph{where}: {summary}", err=True)


class Progress:
    """A progress bar on standard error: drawn on a terminal, or as plain lines every tenth
    of the way when asked for (``--progress``) elsewhere; nothing otherwise."""

    def __init__(self, total: int, label: str, asked: bool) -> None:
        self.total, self.label, self.done, self.reported = total, label, 0, 0
        self.bar = None
        self.lines = asked and not sys.stderr.isatty()
        if sys.stderr.isatty() and (asked or total >= 1000):
            self.bar = click.progressbar(length=total, label=label, file=sys.stderr)

    def __enter__(self) -> Progress:
        if self.bar is not None:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def __call__(self, step: int) -> None:
        self.done += step
        if self.bar is not None:
            self.bar.update(step)
        elif self.lines:
            tenths = self.done * 10 // self.total
            if tenths <= self.reported and self.done != self.total:
                return
            self.reported = tenths
            click.echo(f"{self.label}: {self.done}/{self.total}", err=True)


progress_option = click.option(
    "--progress", is_flag=True, help="Show progress even when standard error is not a terminal."
)


@click.group("generate")
def generate() -> None:
    """Write subsystem graphs (JGF) from hwloc, Slurm, Flux, Kubernetes, spack, modules,
    or synthetic clusters."""


def _errors(command: Callable) -> Callable:
    """Generators report bad sources as ValueError; they are the user's input."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ValueError as err:
            raise UserError(str(err)) from None

    return wrapper


@generate.command("hwloc")
@click.argument("xml", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@output_options("containment")
@_errors
def hwloc(xml, output, cluster, subsystem, scheduler, name, force, config_dir):
    """Containment of this machine from `lstopo --of xml`, or of one node per saved XML."""
    from fractale.generate.hwloc import hwloc_graph, hwloc_graph_from_files, read_lstopo

    if xml:
        document = hwloc_graph_from_files([str(p) for p in xml], name)
    else:
        document = hwloc_graph([read_lstopo()], name)
    emit(document, output, cluster, subsystem, scheduler, force, config_dir)


@generate.command("slurm")
@click.argument("saved", required=False, type=click.Path(dir_okay=False, path_type=Path))
@output_options("containment", "slurm")
@_errors
def slurm(saved, output, cluster, subsystem, scheduler, name, force, config_dir):
    """Containment of a Slurm cluster from `scontrol show node --oneliner` (run here, or its
    SAVED output)."""
    from fractale.generate.slurm import read_scontrol, slurm_graph

    if saved is not None:
        document = slurm_graph(_read(saved), name, source=str(saved))
    else:
        document = slurm_graph(read_scontrol(), name)
    emit(document, output, cluster, subsystem, scheduler, force, config_dir)


@generate.command("gridengine")
@click.argument("saved", required=False, type=click.Path(dir_okay=False, path_type=Path))
@output_options("containment", "gridengine")
@_errors
def gridengine(saved, output, cluster, subsystem, scheduler, name, force, config_dir):
    """Containment of a Grid Engine cluster from `qhost -F -xml` (run here, or its SAVED
    output)."""
    from fractale.generate.gridengine import gridengine_graph, read_qhost

    if saved is not None:
        document = gridengine_graph(_read(saved), name, source=str(saved))
    else:
        document = gridengine_graph(read_qhost(), name)
    emit(document, output, cluster, subsystem, scheduler, force, config_dir)


@generate.command("flux")
@click.argument("resource_set", metavar="R", type=click.Path(dir_okay=False, path_type=Path))
@output_options("containment", "flux")
@_errors
def flux(resource_set, output, cluster, subsystem, scheduler, name, force, config_dir):
    """Containment of a Flux instance from its resource set R (e.g. `flux kvs get
    resource.R`); its scheduling JGF is used when R carries one."""
    from fractale.generate.flux import flux_graph

    document = flux_graph(_read(resource_set), name, source=str(resource_set))
    emit(document, output, cluster, subsystem, scheduler, force, config_dir)


@generate.command("kubernetes")
@click.argument("nodes", type=click.Path(dir_okay=False, path_type=Path))
@output_options("containment", "kubernetes")
@_errors
def kubernetes(nodes, output, cluster, subsystem, scheduler, name, force, config_dir):
    """Containment of a Kubernetes cluster from `kubectl get nodes -o json` output."""
    from fractale.generate.kubernetes import kubernetes_graph

    document = kubernetes_graph(_read(nodes), name, source=str(nodes))
    emit(document, output, cluster, subsystem, scheduler, force, config_dir)


@generate.command("spack")
@click.argument("database", type=click.Path(path_type=Path))
@output_options("spack")
@_errors
def spack(database, output, cluster, subsystem, scheduler, name, force, config_dir):
    """Software from a spack install database (index.json, its .spack-db folder, or the
    install root)."""
    from fractale.generate.software import software_graph, spack_database, spack_software

    path = spack_database(database)
    document = software_graph(spack_software(_read(path), str(path)), subsystem)
    emit(document, output, cluster, subsystem, scheduler, force, config_dir)


@generate.command("modules")
@click.option("--modulepath", default=lambda: os.environ.get("MODULEPATH", ""),
              show_default="$MODULEPATH", help="Colon-separated modulefile directories.")
@output_options("modules")
@_errors
def modules(modulepath, output, cluster, subsystem, scheduler, name, force, config_dir):
    """Software from environment modules: Tcl and Lua modulefiles along MODULEPATH."""
    from fractale.generate.software import module_software, software_graph

    document = software_graph(module_software(modulepath), subsystem)
    emit(document, output, cluster, subsystem, scheduler, force, config_dir)


@generate.command("synthetic")
@click.option("--nodes", type=click.IntRange(min=1), required=True, help="Number of nodes.")
@click.option("--sockets", type=click.IntRange(min=1), default=2, show_default=True,
              help="Sockets per node.")
@click.option("--cores", type=click.IntRange(min=0), default=32, show_default=True,
              help="Cores per socket.")
@click.option("--gpus", type=click.IntRange(min=0), default=4, show_default=True,
              help="GPUs per node, spread over its sockets.")
@click.option("--memory", type=click.IntRange(min=0), default=8, show_default=True,
              help="Memory pools per node, spread over its sockets.")
@click.option("--memory-size", type=click.IntRange(min=1), default=16, show_default=True,
              help="GB in each memory pool.")
@click.option("--racks", type=click.IntRange(min=1), help="Spread the nodes over racks.")
@progress_option
@output_options("containment")
@_errors
def synthetic(nodes, sockets, cores, gpus, memory, memory_size, racks, progress,
              output, cluster, subsystem, scheduler, name, force, config_dir):
    """A synthetic cluster of identical nodes, for tests, demos and benchmarks."""
    from fractale.generate.synthetic import synthetic_graph

    with Progress(nodes, "Generating nodes", progress) as bar:
        document = synthetic_graph(
            nodes, sockets, cores, gpus, memory, memory_size, racks, name, progress=bar
        )
    emit(document, output, cluster, subsystem, scheduler, force, config_dir)
