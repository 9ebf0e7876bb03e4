"""Options and errors shared by every fractale command."""

from __future__ import annotations

import math

import click


class UserError(click.ClickException):
    """Bad input from the user: a clear message and exit status 2."""

    exit_code = 2


class Price(click.ParamType):
    """A price: a finite number, zero or more (``nan``, ``inf`` and negatives refused)."""

    name = "price"

    def convert(self, value, param, ctx):
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number) or number < 0:
            self.fail(f"{value!r} is not a finite, non-negative price", param, ctx)
        return number


json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")

extra_option = click.option(
    "--extra", "extra", multiple=True, metavar="MANAGER:DIRECTIVE",
    help="Add a directive verbatim when writing for MANAGER, once checked to be one of its "
         "options (repeatable), e.g. --extra 'slurm:--constraint=haswell'.")
