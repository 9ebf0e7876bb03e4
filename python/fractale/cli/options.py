"""Options and errors shared by every fractale command."""

from __future__ import annotations

import click


class UserError(click.ClickException):
    """Bad input from the user: a clear message and exit status 2."""

    exit_code = 2


json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")

extra_option = click.option(
    "--extra", "extra", multiple=True, metavar="MANAGER:DIRECTIVE",
    help="Add a directive verbatim when writing for MANAGER, once checked to be one of its "
         "options (repeatable), e.g. --extra 'slurm:--constraint=haswell'.")
