"""``fractale jobs``, ``status``, ``wait``, ``cancel`` and ``logs``: the jobs fractale
submitted, read from their records and their schedulers.

Exit status: 0 when the job is (or ended) well, 1 when it failed, was cancelled, timed out,
is unknown to its scheduler or is still running when ``wait`` gives up; 2 on bad input or a
scheduler, host or store that cannot answer.
"""

from __future__ import annotations

import json
import sys

import click

from fractale.cli.options import config_dir_option, json_option, open_store, table

job_ref = click.argument("ref", metavar="ID")
# States after which (or while) a job is doing well.
GOOD_STATES = ("pending", "running", "completed")


def _open(ref, config_dir):
    from fractale.submission import Submission

    return Submission.open(ref, open_store(config_dir))


def _line(record) -> str:
    detail = [record.native] if record.native else []
    if record.exit_code is not None:
        detail.append(f"exit {record.exit_code}")
    if record.reason:
        detail.append(record.reason)
    return f"{record.ref}: {record.state}" + (f" ({', '.join(detail)})" if detail else "")


def _show(submission, as_json) -> None:
    if as_json:
        click.echo(json.dumps(submission.record.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(_line(submission.record))


@click.command("jobs")
@click.option("--cluster", metavar="NAME", help="Only the jobs of this cluster.")
@click.option("--refresh", is_flag=True,
              help="Ask the schedulers about jobs that have not ended (default: last known).")
@json_option
@config_dir_option
def jobs(cluster, refresh, as_json, config_dir):
    """List the jobs fractale submitted, with their last known state."""
    from fractale.errors import FractaleError
    from fractale.jobs import JobBook
    from fractale.submission import Submission

    store = open_store(config_dir)
    records = JobBook(store).all(cluster)
    problems = []
    if refresh:
        for index, record in enumerate(records):
            if record.final:
                continue
            submission = Submission(record, store)
            try:
                submission.status()
            except FractaleError as err:
                problems.append(f"{record.ref}: {err}")
            records[index] = submission.record
    if as_json:
        click.echo(json.dumps([record.to_dict() for record in records], indent=2,
                              ensure_ascii=False))
    elif not records:
        click.echo(f"No jobs submitted from {store.root}. Submit one with `fractale submit`.")
    else:
        rows = [[r.ref, r.scheduler, r.state, r.native, r.submitted, r.name or ""]
                for r in records]
        click.echo(table(["JOB", "SCHEDULER", "STATE", "NATIVE", "SUBMITTED", "NAME"], rows))
    for problem in problems:
        click.echo(f"Error: {problem}", err=True)
    sys.exit(2 if problems else 0)


@click.command("status")
@job_ref
@json_option
@config_dir_option
def status(ref, as_json, config_dir):
    """Show the state of job ID (CLUSTER:ID, or an ID one cluster has), asking its
    scheduler. Exit 0 pending, running or completed; 1 failed, cancelled, timeout or
    unknown."""
    submission = _open(ref, config_dir)
    submission.status()
    _show(submission, as_json)
    sys.exit(0 if submission.record.state in GOOD_STATES else 1)


@click.command("wait")
@job_ref
@click.option("--timeout", type=click.FloatRange(min=0), metavar="SECONDS",
              help="Give up after this long (default: wait for as long as it takes).")
@json_option
@config_dir_option
def wait(ref, timeout, as_json, config_dir):
    """Wait until job ID ends. Exit 0 when it completed, 1 when it failed, was cancelled,
    timed out, or is still going when --timeout passes."""
    submission = _open(ref, config_dir)
    final = submission.wait(timeout)
    _show(submission, as_json)
    if not final.final and not as_json:
        click.echo(f"Still {final.state} after {timeout:g} s", err=True)
    sys.exit(0 if final.state == "completed" else 1)


@click.command("cancel")
@job_ref
@json_option
@config_dir_option
def cancel(ref, as_json, config_dir):
    """Cancel job ID (a held one too) with its scheduler's own command."""
    submission = _open(ref, config_dir)
    submission.cancel()
    _show(submission, as_json)


@click.command("logs")
@job_ref
@json_option
@config_dir_option
def logs(ref, as_json, config_dir):
    """Print what job ID wrote to its output (read on its cluster)."""
    submission = _open(ref, config_dir)
    text = submission.logs()
    if as_json:
        click.echo(json.dumps({"ref": submission.ref, "outputs": submission.record.outputs,
                               "text": text}, indent=2, ensure_ascii=False))
    else:
        click.echo(text, nl=not text.endswith("\n"))
