"""``fractale select``: pick one cluster that can run a job, by a rule (``--by``)."""

from __future__ import annotations

import json
import sys

import click

from fractale.cli.cluster import config_dir_option
from fractale.cli.options import json_option
from fractale.cli.satisfy import clusters_option, from_option, job_argument, load, require_option
from fractale.fleet.policies import POLICIES, help_text

# The registry of selection rules: ``--by``'s choices and help come from it.
_RULES = list(POLICIES)


def _deprecated_policy(ctx: click.Context, param: click.Parameter, value: str | None):
    if value is not None:
        click.echo("warning: --policy is deprecated; use --by", err=True)
    return value


def by_option(command):
    """``--by RULE``, how the cluster is chosen, with ``--policy`` kept as a deprecated alias;
    the command receives the rule as ``by``."""
    command = click.option(
        "--policy", "deprecated_policy", type=click.Choice(_RULES), callback=_deprecated_policy,
        help="Deprecated name of --by.",
    )(command)
    command = click.option(
        "--by", "by", type=click.Choice(_RULES), default=None,
        help=f"How to choose (default first): {help_text()}.",
    )(command)
    return command


def choose_rule(by: str | None, deprecated_policy: str | None) -> str:
    """The rule asked for by --by or its old name --policy."""
    from fractale.cli.options import UserError

    if by is not None and deprecated_policy is not None and by != deprecated_policy:
        raise UserError(f"--by {by} and --policy {deprecated_policy} disagree; give --by only")
    return by or deprecated_policy or "first"


seed_option = click.option("--seed", type=int, help="Seed for --by random.")


@click.command("select")
@job_argument
@by_option
@seed_option
@from_option
@require_option
@clusters_option
@json_option
@config_dir_option
def select(job, by, deprecated_policy, seed, manager, requires, clusters, as_json, config_dir):
    """Choose the cluster to run JOB on; exit 1 when no cluster can run it."""
    from fractale.errors import MatchError

    policy = choose_rule(by, deprecated_policy)
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
