"""The ``fractale`` command: one root group whose subcommands load only when used.

``fractale --help`` reads the table below and imports nothing of fractale's but this package
(tests/test_cli_layout.py holds it to that); a command's module loads when it runs, when its
help is asked, or when the shell completes it.
"""

from __future__ import annotations

import importlib
import sys

import click

# name -> (module under fractale.cli, attribute, one-line help shown by `fractale --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "match": ("match", "match", "Match a jobspec against one JGF resource graph."),
    "jobspec": ("jobspec", "jobspec", "Validate canonical jobspecs and count their resources."),
    "agent": ("agent", "agent", "Agents that write, submit and repair jobs with a model."),
    "transform": ("transform", "transform", "Translate a job to another workload manager."),
    "cluster": ("cluster", "cluster", "Register, list, show and remove clusters in the store."),
    "generate": ("generate", "generate", "Write subsystem graphs (JGF) from real sources."),
    "satisfy": ("satisfy", "satisfy", "Which registered clusters can run a job, and why not."),
    "select": ("select", "select", "Pick the cluster to run a job on, by a rule (--by)."),
    "script": ("script", "script", "Write a job's batch script for the cluster chosen."),
    "show": ("show", "show", "Draw a cluster's containment, or summarize it as JSON."),
    "submit": ("submit", "submit", "Submit a job to the cluster chosen for it, here or by SSH."),
    "jobs": ("jobs", "jobs", "List the jobs fractale submitted, with their last state."),
    "status": ("jobs", "status", "Ask a submitted job's scheduler for its state."),
    "wait": ("jobs", "wait", "Wait until a submitted job ends."),
    "cancel": ("jobs", "cancel", "Cancel a submitted job."),
    "logs": ("jobs", "logs", "Print a submitted job's output."),
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[name]
        return getattr(importlib.import_module(f"fractale.cli.{module}"), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def versions() -> str:
    """What ``fractale --version`` prints: the installed package's version and the compiled
    core's (they differ only when the extension is stale, e.g. an old editable build), and
    the Python running them."""
    import platform
    from importlib import metadata

    from fractale._core import __version__ as core

    try:
        package = metadata.version("fractale")
    except metadata.PackageNotFoundError:
        package = "(not installed)"
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return f"fractale {package} (core {core}, {python})"


def print_versions(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """The eager ``--version`` option: answer before any subcommand is looked up."""
    if value and not ctx.resilient_parsing:
        click.echo(versions())
        ctx.exit()


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=print_versions, help="Show the package and core versions and exit.")
def cli() -> None:
    """Translate jobs between workload managers, know your clusters, and match jobs to them."""


def main() -> None:
    """Entry point: fractale errors become a message and exit 2, never a traceback."""
    from fractale import FractaleError

    try:
        status = cli.main(standalone_mode=False)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except FractaleError as err:
        click.echo(f"Error: {err}", err=True)
        sys.exit(2)
    except OSError as err:
        click.echo(f"Error: {err}", err=True)
        sys.exit(2)
    sys.exit(status if isinstance(status, int) else 0)
