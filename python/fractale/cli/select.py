"""``fractale select``: pick one cluster that can run a job, by a rule (``--by``)."""

from __future__ import annotations

import json
import sys

import click

from fractale.cli.options import (
    choose_rule,
    clusters_option,
    config_dir_option,
    job_options,
    json_option,
    load_job,
    rule_options,
)


@click.command("select")
@job_options
@rule_options
@clusters_option
@json_option
@config_dir_option
def select(job, by, deprecated_policy, seed, manager, requires, clusters, as_json, config_dir):
    """Choose the cluster to run JOB on; exit 1 when no cluster can run it."""
    from fractale.errors import MatchError

    rule = choose_rule(by, deprecated_policy)
    fleet, parsed = load_job(job, manager, requires, clusters, config_dir)
    try:
        chosen = fleet.select(parsed, rule, seed)
    except MatchError as err:
        click.echo(str(err), err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(chosen.to_dict(), indent=2))
        return
    click.echo(chosen.cluster)
    for name, score in chosen.scores.items():
        if name != "seed":
            click.echo(f"  {name}: {json.dumps(score)}", err=True)
