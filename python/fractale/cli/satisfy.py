"""``fractale satisfy``: which registered clusters can run a job, and why not."""

from __future__ import annotations

import json
import sys

import click

from fractale.cli.options import (
    clusters_option,
    config_dir_option,
    job_options,
    json_option,
    load_job,
    table,
)


def _software_cell(check) -> str:
    if check.met:
        item = check.software
        via = {"package": "spack", "module": "module"}.get(item.kind)
        return f"{item.label} ({via or f'{item.kind} of {item.package}'})"
    return "no"


def start_cell(start) -> str:
    """When the job would start, for the table: now, in how long and at what time, or why not."""
    from datetime import datetime

    if start is None:
        return "-"
    if start.at is None:
        return start.status
    at = datetime.fromtimestamp(start.time).isoformat(timespec="seconds")
    text = "now" if start.at == 0 else f"+{start.at}s"
    return f"{text} ({at}{'' if start.snapshot else ', idle'})"


@click.command("satisfy")
@job_options
@clusters_option
@click.option("--when", is_flag=True,
              help="Also say when the job would start on each cluster that can run it, planned "
                   "around the jobs of its saved state (`fractale cluster state NAME --save`; "
                   "a cluster without one is planned as idle).")
@json_option
@config_dir_option
def satisfy(job, manager, requires, clusters, when, as_json, config_dir):
    """Match JOB (a jobspec or a batch script; - reads standard input) against every
    registered cluster.

    Exit status 0 when at least one cluster can run it, 1 when none can, 2 on bad input.
    """
    from fractale._core import indent_json
    from fractale.fleet.answers import answers_json

    fleet, parsed = load_job(job, manager, requires, clusters, config_dir)
    answers = fleet.satisfy(parsed, when=when)
    if as_json:
        # json.dumps of {job, requires, clusters, fits}, the clusters encoded alike ones once.
        click.echo(indent_json("".join([
            '{"job": ', json.dumps(parsed.source or "-"),
            ', "requires": ', json.dumps([r.to_dict() for r in parsed.requires]),
            ', "clusters": ', answers_json(answers),
            ', "fits": ', json.dumps([answer.cluster for answer in answers if answer.ok]), "}",
        ])))
    else:
        headers = ["CLUSTER", "SCHEDULER", "RESOURCES"]
        headers += [f"{r.name.upper()} {r.version}".strip() for r in parsed.requires]
        headers.append("RESULT")
        if when:
            headers.append("START")
        rows = []
        for answer in answers:
            row = [answer.cluster, answer.scheduler, "fits" if answer.fits else "no"]
            row += [_software_cell(check) for check in answer.software]
            row.append("yes" if answer.ok else "no")
            if when:
                row.append(start_cell(answer.start))
            rows.append(row)
        click.echo(table(headers, rows))
        refused = [answer for answer in answers if not answer.ok]
        if refused:
            click.echo("\nWhy not:")
            for answer in refused:
                for reason in answer.reasons():
                    click.echo(f"  {answer.cluster}: {reason}")
    sys.exit(0 if any(answer.ok for answer in answers) else 1)
