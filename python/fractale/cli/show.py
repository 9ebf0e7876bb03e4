"""``fractale show``: a picture of a cluster's containment, or a compact JSON summary."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from fractale.cli.options import UserError, config_dir_option, open_store


@click.command("show")
@click.argument("name", metavar="CLUSTER")
@click.option("--format", "output_format", type=click.Choice(["svg", "png", "dot", "text"]),
              help="Picture format (default: from -o's suffix, else text).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the picture to FILE (default: standard output).")
@click.option("--summary", is_flag=True, help="Print a compact JSON description instead.")
@click.option("--force", is_flag=True, help="Replace an existing --output file.")
@config_dir_option
def show(name, output_format, output, summary, force, config_dir):
    """Draw CLUSTER (a registered cluster, or a JGF file) with identical subtrees folded
    into one box with a count: node × 128 → socket × 2 → core × 32, gpu × 4."""
    from fractale import show as drawing
    from fractale.store import read_json

    store = open_store(config_dir)
    path = Path(name)
    if name not in store and path.suffix == ".json" and path.is_file():
        try:
            document = read_json(path)
        except ValueError as err:
            raise UserError(f"{path} is not JSON: {err}") from None
        cluster = None
        title = path.stem
    else:
        cluster = store.get(name)
        document = cluster.document()
        title = f"{cluster.name} ({cluster.scheduler})"
    if summary:
        if cluster is None:
            raise UserError("--summary describes a registered cluster; register the graph first")
        data = json.dumps(drawing.summary(cluster), indent=2, ensure_ascii=False) + "\n"
        _write(data.encode(), output, force)
        return
    if output_format is None:
        suffix = output.suffix.lstrip(".").lower() if output is not None else ""
        output_format = suffix if suffix in drawing.FORMATS else "text"
    box = drawing.fold(document)
    if output_format == "text":
        data = drawing.outline(box).encode()
    elif output_format == "dot":
        data = drawing.to_dot(box, title).encode()
    else:
        if output is None and output_format == "png" and sys.stdout.isatty():
            raise UserError("a PNG would garble the terminal; write it with -o FILE.png")
        data = drawing.render(drawing.to_dot(box, title), output_format)
    _write(data, output, force)


def _write(data: bytes, output: Path | None, force: bool) -> None:
    from fractale.store import write_atomic

    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    if output.exists() and not force:
        raise UserError(f"{output} exists; replace it with --force")
    write_atomic(output, data)
    click.echo(f"Wrote {output}", err=True)
