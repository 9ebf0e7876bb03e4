"""``fractale submit``: run a job on the cluster chosen for it (or named), here or over SSH."""

from __future__ import annotations

import json
import sys

import click

from fractale.cli.options import (
    UserError,
    choose_rule,
    config_dir_option,
    job_options,
    json_option,
    load_job,
    rule_options,
)


@click.command("submit")
@job_options
@click.option("--cluster", "target", metavar="NAME", help="Submit to this cluster.")
@rule_options
@click.option("--dry-run", is_flag=True,
              help="Print what would run on which host, and change nothing.")
@click.option("--hold", is_flag=True, help="Submit the job held: it waits for a release.")
@click.option("--jobspec", is_flag=True,
              help="On a Flux cluster, submit a canonical jobspec (flux job submit) instead "
                   "of a batch script (flux batch).")
@json_option
@config_dir_option
def submit(job, target, by, deprecated_policy, seed, manager, requires, dry_run, hold, jobspec,
           as_json, config_dir):
    """Submit JOB to the selected (or named) cluster: write it for that cluster's scheduler
    with its software loads, copy it there (locally or over SSH), submit it with the
    scheduler's own command and print the job id. Exit 1 when no cluster can run it."""
    from fractale.errors import MatchError
    from fractale.submission import Plan
    from fractale.submission import submit as submit_job

    if target and (by or deprecated_policy):
        raise UserError("give --cluster or --by, not both")
    rule = choose_rule(by, deprecated_policy)
    fleet, parsed = load_job(job, manager, requires, (), config_dir)
    try:
        done = submit_job(parsed, target, by=rule, seed=seed, store=fleet.store,
                          hold=hold, dry_run=dry_run, jobspec=jobspec)
    except MatchError as err:
        click.echo(str(err), err=True)
        sys.exit(1)
    if isinstance(done, Plan):
        if as_json:
            click.echo(json.dumps({"dry_run": True, **done.to_dict()}, indent=2))
            return
        click.echo(f"Would submit to {done.cluster} ({done.scheduler}) on {done.where}"
                   f"{' (held)' if done.hold else ''}:")
        click.echo(f"  write  {done.script}")
        click.echo(f"  run    {done.command}")
        click.echo("--- script ---")
        click.echo(done.text, nl=not done.text.endswith("\n"))
        return
    record = done.record
    if as_json:
        click.echo(json.dumps(record.to_dict(), indent=2, ensure_ascii=False))
        return
    click.echo(record.id)
    click.echo(f"Submitted {record.ref} ({record.scheduler}{', held' if hold else ''}) on "
               f"{done.record.submit['url']}: {record.script}", err=True)
