"""``fractale transform``: translate a job from one workload manager to another."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from fractale.cli.options import UserError, extra_option
from fractale.transform.registry import names

MANAGERS = names()

# Exit status when --strict and something could not be translated.
EXIT_LOSSY = 3


@click.command("transform")
@click.argument("file", metavar="FILE|-")
@click.option("--from", "source", type=click.Choice(MANAGERS, case_sensitive=False),
              help="Manager the input is written for (detected when not given).")
@click.option("--to", "target", required=True,
              type=click.Choice(MANAGERS, case_sensitive=False),
              help="Manager to write the job for.")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the translation here instead of standard output.")
@click.option("--force", is_flag=True, help="Overwrite the -o file when it exists.")
@click.option("--strict", is_flag=True,
              help=f"Exit {EXIT_LOSSY} when any directive or field could not be translated.")
@click.option("--report", type=click.Choice(["json"]),
              help="Report what was lost as JSON on standard error, in place of text lines.")
@extra_option
def transform(file: str, source: str | None, target: str, out: Path | None, force: bool,
              strict: bool, report: str | None, extra: tuple[str, ...]) -> None:
    """Translate the batch script or job in FILE (or - for standard input) to --to.

    Every directive that could not be mapped, and every field the target cannot express,
    is listed on standard error with its line number and the reason.
    """
    from fractale.transform import transform as translate

    text, name = _read(file)
    if out is not None and out.exists() and not force:
        raise UserError(f"{out} exists; pass --force to overwrite it")
    result = translate(text, to=target.lower(), source=source.lower() if source else None,
                       file=name, extra=extra)
    if out is None:
        click.echo(result.text, nl=False)
    else:
        out.write_text(result.text)
    if report == "json":
        document = {key: value for key, value in result.to_dict().items() if key != "text"}
        document["file"] = name
        click.echo(json.dumps(document, indent=2), err=True)
    else:
        for loss in result.losses:
            click.echo(f"{name}: not translated: {loss}", err=True)
    if strict and result.losses:
        click.echo(f"{len(result.losses)} item(s) not translated (--strict)", err=True)
        sys.exit(EXIT_LOSSY)


def _read(file: str) -> tuple[str, str]:
    if file == "-":
        data = sys.stdin.buffer.read()
        name = "<stdin>"
    else:
        path = Path(file)
        if path.is_dir():
            raise UserError(f"cannot read {file}: it is a directory")
        if not path.is_file():
            raise UserError(f"cannot read {file}: no such file")
        try:
            data = path.read_bytes()
        except OSError as err:
            raise UserError(f"cannot read {file}: {err.strerror}") from None
        name = file
    try:
        return data.decode("utf-8"), name
    except UnicodeDecodeError:
        raise UserError(f"{name} is not UTF-8 text") from None
