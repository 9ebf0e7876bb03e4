"""``fractale script``: the batch script of a job for the cluster chosen to run it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from fractale.cli.options import (
    UserError,
    choose_rule,
    config_dir_option,
    extra_option,
    job_options,
    json_option,
    load_job,
    rule_options,
)


@click.command("script")
@job_options
@click.option("--cluster", "target", metavar="NAME", help="Write it for this cluster.")
@rule_options
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the script to FILE (default: standard output).")
@click.option("--force", is_flag=True, help="Replace an existing --output file.")
@extra_option
@json_option
@config_dir_option
def script(job, target, by, deprecated_policy, seed, output, force, manager, requires, extra,
           as_json, config_dir):
    """Write JOB as a batch script for the selected (or named) cluster's scheduler, loading
    the software that met its requirements. Exit 1 when the cluster cannot run it."""
    from fractale.errors import MatchError
    from fractale.store import write_atomic
    from fractale.transform import extra as passthrough

    rule = choose_rule(by, deprecated_policy)
    passthrough.parse(extra)
    fleet, parsed = load_job(job, manager, requires, (), config_dir)
    try:
        written = fleet.script(parsed, target, rule, seed, extra=extra)
    except MatchError as err:
        click.echo(str(err), err=True)
        sys.exit(1)
    text = json.dumps(written.to_dict(), indent=2) + "\n" if as_json else written.text
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    if output.exists() and not force:
        raise UserError(f"{output} exists; replace it with --force")
    write_atomic(output, text)
    click.echo(f"Wrote a {written.scheduler} script for {written.cluster} to {output}", err=True)
