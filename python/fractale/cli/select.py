"""``fractale select``: pick one cluster that can run a job, by a policy."""

from __future__ import annotations

import json
import sys

import click

from fractale.cli.cluster import config_dir_option
from fractale.cli.options import json_option
from fractale.cli.satisfy import clusters_option, from_option, job_argument, load, require_option

policy_option = click.option(
    "--policy", type=click.Choice(["first", "random", "best-fit", "cost"]), default="first",
    show_default=True,
    help="first: first by name; random; best-fit: least idle capacity left; "
         "cost: cheapest nodes × hours.",
)
seed_option = click.option("--seed", type=int, help="Seed for --policy random.")


@click.command("select")
@job_argument
@policy_option
@seed_option
@from_option
@require_option
@clusters_option
@json_option
@config_dir_option
def select(job, policy, seed, manager, requires, clusters, as_json, config_dir):
    """Choose the cluster to run JOB on; exit 1 when no cluster can run it."""
    from fractale.errors import MatchError

    fleet, parsed = load(job, manager, requires, clusters, config_dir)
    try:
        chosen = fleet.select(parsed, policy, seed)
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
