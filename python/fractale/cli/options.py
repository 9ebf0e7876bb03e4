"""What fractale's commands share: every option used by more than one command, the
parameter types and readers behind them, and the user-error exception.

Command modules import this module, never each other (tests/cli/test_cli_layout.py), and it
imports nothing but click at load time: the store, the fleet and the agents load when a
command runs.
"""

from __future__ import annotations

import functools
import math
import sys
from pathlib import Path
from typing import Any, Callable

import click

Command = Callable[..., Any]


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


def read_text(path: Path) -> str:
    """A file the user names, as text; an unreadable or binary one is their error."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: byte {err.start} is not UTF-8 text") from None


class TextFile(click.ParamType):
    """An existing file, given to the command as its UTF-8 text."""

    name = "file"

    def convert(self, value, param, ctx):
        path = click.Path(exists=True, dir_okay=False, path_type=Path).convert(value, param, ctx)
        return read_text(path)


def pairs(items: tuple[str, ...], option: str, convert: Callable[[str], Any] = str, *,
          empty: bool = True) -> dict[str, Any]:
    """``NAME=VALUE`` options as a mapping (each value through ``convert``); UserError for
    one without a name or '=', with no value unless ``empty``, or a name given twice."""
    values: dict[str, Any] = {}
    for item in items:
        name, equals, value = item.partition("=")
        if not equals or not name.strip() or not (empty or value.strip()):
            raise UserError(f"{option} takes NAME=VALUE, not {item!r}")
        if name.strip() in values:
            raise UserError(f"{option} {name.strip()!r} is given twice")
        values[name.strip()] = convert(value.strip())
    return values


def apply(command: Command, options: list[Callable[[Command], Command]]) -> Command:
    """``command`` with ``options`` declared on it, the first listed shown first in help."""
    for option in reversed(options):
        command = option(command)
    return command


# Output ----------------------------------------------------------------------------------

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")



def table(headers: list[str], rows: list[list[str]]) -> str:
    """Plain text columns, as wide as their widest cell."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    lines = []
    for row in [headers, *rows]:
        lines.append("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
    return "\n".join(lines)


# The store -------------------------------------------------------------------------------

config_dir_option = click.option(
    "--config-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="FRACTALE_HOME",
    help="The cluster store (default: $FRACTALE_HOME, else ~/.fractale).",
)


def open_store(config_dir: Path | None):
    """The store ``--config-dir`` names."""
    from fractale.store import Store

    return Store(config_dir)


# A submitted job -------------------------------------------------------------------------

def one_job(name: str, *options: Callable[[Command], Command]) -> Callable[[Command], Command]:
    """Command ``name`` on one submitted job: ID, its own ``options``, ``--json`` and
    ``--config-dir``; the function receives the job's ``Submission`` and ``as_json``."""

    def decorate(function: Command) -> Command:
        @functools.wraps(function)
        def wrapper(ref: str, config_dir: Path | None, **kwargs: Any) -> Any:
            from fractale.submission import Submission

            return function(Submission.open(ref, open_store(config_dir)), **kwargs)

        job_id = click.argument("ref", metavar="ID")
        return click.command(name)(
            apply(wrapper, [job_id, *options, json_option, config_dir_option]))

    return decorate


# A job and the fleet it is matched against -----------------------------------------------

def job_options(command: Command) -> Command:
    """JOB (a path, or - for standard input), ``--from MANAGER`` and ``--require SPEC``: the
    job a fleet command reads (with ``load_job``)."""
    return apply(command, [
        click.argument("job", metavar="JOB"),
        click.option("--from", "manager", metavar="MANAGER",
                     help="The workload manager JOB is written for (default: detected)."),
        click.option("--require", "requires", multiple=True, metavar="SPEC",
                     help="Also require software, e.g. 'gromacs>=2023' or gromacs@2023.1 "
                          "(repeatable)."),
    ])


clusters_option = click.option(
    "--cluster", "clusters", multiple=True, metavar="NAME",
    help="Consider only these clusters (repeatable; default: all).",
)
extra_option = click.option(
    "--extra", "extra", multiple=True, metavar="MANAGER:DIRECTIVE",
    help="Add a directive verbatim when writing for MANAGER, once checked to be one of its "
         "options (repeatable), e.g. --extra 'slurm:--constraint=haswell'.")


def load_job(job, manager, requires, clusters, config_dir):
    """The fleet and the job (a path, or - for standard input), as every fleet command
    reads them from JOB, --from, --require, --cluster and --config-dir."""
    from fractale.fleet import Fleet, Job

    fleet = Fleet(open_store(config_dir), clusters)
    if job == "-":
        return fleet, Job.from_text(sys.stdin.read(), manager, requires, source="<stdin>")
    return fleet, Job.from_path(job, manager, requires)


# How the fleet chooses a cluster ---------------------------------------------------------

def _deprecated_policy(ctx: click.Context, param: click.Parameter, value: str | None):
    if value is not None:
        click.echo("warning: --policy is deprecated; use --by", err=True)
    return value


def rule_options(command: Command) -> Command:
    """``--by RULE``, how the cluster is chosen, with ``--policy`` kept as a deprecated alias,
    and ``--seed`` for ``--by random``; the command receives ``by``, ``deprecated_policy``
    and ``seed`` (``choose_rule`` makes one rule of the first two). The choices and their
    help come from the fleet's registry of rules, loaded with the command that uses them."""
    from fractale.fleet.rules import RULE_NAMES, help_text

    return apply(command, [
        click.option("--by", "by", type=click.Choice(RULE_NAMES), default=None,
                     help=f"How to choose: {help_text()}."),
        click.option("--policy", "deprecated_policy", type=click.Choice(RULE_NAMES),
                     callback=_deprecated_policy, help="Deprecated name of --by."),
        click.option("--seed", type=int, help="Seed for --by random."),
    ])


def choose_rule(by: str | None, deprecated_policy: str | None) -> str:
    """The rule asked for by --by or its old name --policy."""
    if by is not None and deprecated_policy is not None and by != deprecated_policy:
        raise UserError(f"--by {by} and --policy {deprecated_policy} disagree; give --by only")
    return by or deprecated_policy or "first"



# The agents ------------------------------------------------------------------------------

def agent_options(command: Command) -> Command:
    """The options every agent command shares: the model, its replay, budgets, where
    artifacts go. The command receives them as one ``options`` (``agents.session.Options``)
    and ``as_json``."""

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        from fractale.agents.session import Options, configure_logging

        configure_logging(kwargs.pop("verbose"))
        option_names = Options.__dataclass_fields__
        options = Options(**{key: kwargs.pop(key) for key in list(kwargs) if key in option_names})
        return command(options=options, **kwargs)

    return apply(wrapper, [
        click.option("--model", help="Claude model (default: $FRACTALE_MODEL, else fractale's)."),
        click.option("--replay", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Answer from a replay file instead of the API (offline, "
                          "deterministic)."),
        click.option("--record", type=click.Path(dir_okay=False, path_type=Path),
                     help="Keep every model answer in a replay file for offline rehearsal."),
        click.option("--dry-run", is_flag=True, help="Generate every artifact, execute nothing."),
        click.option("--max-attempts", type=click.IntRange(min=1), default=3, show_default=True,
                     help="Attempts per step (a plan step's own 'attempts' wins)."),
        click.option("--budget", type=click.FloatRange(min=0, min_open=True),
                     help="Stop before spending more than this many dollars of tokens."),
        click.option("--results", type=click.Path(file_okay=False, path_type=Path),
                     help="Write a JSON record per step into this directory."),
        click.option("--incremental", is_flag=True, help="Write records after every attempt."),
        click.option("--use-cache", is_flag=True,
                     help="Reuse a step's last successful artifact."),
        click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
                     help="Where artifacts go (default: a new ./fractale-runs/<time>-<name>)."),
        click.option("--timeout", type=click.FloatRange(min=1), default=3600.0,
                     show_default=True, help="Seconds a job or build may run once started."),
        click.option("--pending-timeout", type=click.FloatRange(min=1), default=3600.0,
                     show_default=True,
                     help="Seconds a job may wait in the queue before it is cancelled."),
        click.option("-v", "--verbose", count=True, help="Log more (-vv: HTTP too)."),
        click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON."),
    ])


def app_option(what: str) -> Callable[[Command], Command]:
    """``--app``, required: what an agent's artifact runs (``what`` says it for help)."""
    return click.option("--app", required=True, help=what)


def notes_option(what: str) -> Callable[[Command], Command]:
    """``--notes``: anything else, free text for the model (``what``: e.g. "the script
    must do")."""
    return click.option("--notes", help=f"Anything else {what}.")


def where_options(command: Command) -> Command:
    """``--cluster NAME`` or ``--scheduler slurm|flux``, one of them required: where an agent
    runs its jobs."""

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        if not kwargs.get("cluster") and not kwargs.get("scheduler"):
            raise UserError("give --cluster NAME or --scheduler slurm|flux")
        return command(**kwargs)

    return apply(wrapper, [
        click.option("--cluster", help="A cluster registered with `fractale cluster add`."),
        click.option("--scheduler", type=click.Choice(["slurm", "flux"]),
                     help="Without a cluster."),
    ])


def kubernetes_options(command: Command) -> Command:
    """``--namespace`` and ``--context``: where kubectl applies an agent's manifest."""
    return apply(command, [
        click.option("--namespace", help="Namespace to apply it in."),
        click.option("--context", help="kubectl context (default: the current one)."),
    ])


def time_option(what: str) -> Callable[[Command], Command]:
    """``--time``: a wall-time limit, given to the agent as ``time``."""
    return click.option("--time", help=f"{what}, e.g. 10m.")


template_option = click.option(
    "--script", type=TextFile(),
    help="A batch script template to fill in instead of asking the model for each run.",
)
