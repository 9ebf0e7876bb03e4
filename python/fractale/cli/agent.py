"""``fractale agent``: run a plan of agents, or one agent, against a model.

``fractale agent run PLAN.yaml`` follows a plan; ``fractale agent STEP ...`` runs one step
agent (transform, batch, kubernetes-job, build, results, cost, minicluster) or one study
(optimize, scale); ``fractale agent check PLAN.yaml`` validates a plan without running it.
Each step command's options are named after the agent's inputs and handed to it as they are
(converted by their types and callbacks). The Anthropic SDK loads only when a model is used.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import click

from fractale.cli.options import (
    TextFile,
    UserError,
    agent_options,
    app_option,
    kubernetes_options,
    notes_option,
    pairs,
    template_option,
    time_option,
    where_options,
)

EXIT_FAILED = 1


def _echo(message: str) -> None:
    click.echo(message, err=True)


def _report(
    records: list[Any],
    totals: Any,
    status: str,
    message: str | None,
    as_json: bool,
    *,
    tables: bool = True,
) -> None:
    """Each step's outcome (with a study's table when ``tables``), then the run's usage."""
    if as_json:
        click.echo(
            json.dumps(
                {
                    "status": status,
                    "message": message,
                    "steps": [record.to_dict() for record in records],
                    "usage": totals.to_dict(),
                },
                indent=2,
                default=str,
            )
        )
        return
    for record in records:
        last = record.last()
        where = f" -> {last.artifact_path}" if last and last.artifact_path else ""
        runs = record.outputs.get("rounds", record.outputs.get("rows"))
        done = (
            f"{len(runs)} run(s)"
            if isinstance(runs, list)
            else f"{len(record.attempts)} attempt(s)"
        )
        click.echo(f"{record.step} ({record.agent}): {record.status}, {done}{where}")
        if record.message:
            click.echo(f"  {record.message}")
        if tables and isinstance(runs, list) and record.outputs.get("table"):
            click.echo(textwrap.indent(record.outputs["table"], "    "))
    spent = f"${totals.cost_usd:.4f}"
    if totals.unpriced_calls:
        spent += f" (+{totals.unpriced_calls} unpriced call(s))"
    click.echo(
        f"{status}: {totals.calls} model call(s), {totals.input_tokens} input and "
        f"{totals.output_tokens} output tokens, {spent}"
    )
    if message and status not in ("succeeded", "dry-run"):
        click.echo(message, err=True)


@click.group("agent")
def agent() -> None:
    """Agents that write, submit and repair jobs (Anthropic's API, or --replay offline)."""


@agent.command("check")
@click.argument("plan", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Set a plan input.")
def check(plan: Path, sets: tuple[str, ...]) -> None:
    """Validate PLAN without running anything."""
    from fractale.agents.plan import load_plan

    loaded = load_plan(plan, overrides=pairs(sets, "--set"))
    click.echo(f"{plan}: valid plan {loaded.name!r} with {len(loaded.steps)} step(s)")
    for step in loaded.steps:
        click.echo(f"  {step.name}: {step.agent} (on failure: {step.on_failure.action})")


@agent.command("run")
@click.argument("plan", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Set a plan input.")
@agent_options
def run(plan: Path, sets: tuple[str, ...], options: Any, as_json: bool) -> None:
    """Follow PLAN: each step's agent, with the manager acting on failures."""
    from fractale.agents.manager import Manager
    from fractale.agents.plan import load_plan
    from fractale.agents.session import open_context

    loaded = load_plan(plan, overrides=pairs(sets, "--set"))
    ctx = open_context(options, loaded.name, _echo)
    outcome = Manager(loaded, ctx).run()
    ordered = [outcome.records[step.name] for step in loaded.steps if step.name in outcome.records]
    _report(ordered, ctx.llm.ledger.totals, outcome.status, outcome.message, as_json)
    if not outcome.succeeded:
        raise SystemExit(EXIT_FAILED)


def _single(agent_name: str, inputs: dict[str, Any], options: Any, as_json: bool) -> Any:
    from fractale.agents.session import open_context
    from fractale.agents.steps import agent_class

    given = {key: value for key, value in inputs.items() if value not in (None, "", (), {})}
    step = agent_class(agent_name)(given)
    ctx = open_context(options, agent_name, _echo)
    record = step.run(ctx, agent_name)
    if not as_json and record.outputs.get("table"):
        click.echo(record.outputs["table"])
        for key in ("json_path", "table_path", "plot_path", "manifest_path"):
            if record.outputs.get(key):
                click.echo(f"{key.replace('_path', '')}: {record.outputs[key]}")
    _report(
        [record], ctx.llm.ledger.totals, record.status, record.message, as_json, tables=False
    )
    if not record.succeeded:
        raise SystemExit(EXIT_FAILED)
    return record


def _scalar(text: str) -> Any:
    """A command-line value as an int, a float, or the text itself."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _parameter(text: str) -> tuple[str, dict[str, Any]]:
    """``NAME[:KIND]=MIN..MAX`` or ``NAME[:KIND]=A,B,C`` as a plan's parameter entry."""
    head, equals, bounds = text.partition("=")
    name, _, kind = head.partition(":")
    if not equals or not name.strip() or not bounds.strip():
        raise UserError(f"--param takes NAME[:KIND]=MIN..MAX or NAME[:KIND]=A,B,C, not {text!r}")
    spec: dict[str, Any] = {"kind": kind.strip() or "flag"}
    if ".." in bounds:
        low, _, high = bounds.partition("..")
        spec["min"], spec["max"] = _scalar(low.strip()), _scalar(high.strip())
    else:
        spec["choices"] = [_scalar(item.strip()) for item in bounds.split(",") if item.strip()]
    return name.strip(), spec


def _parameters(_ctx: click.Context, param: click.Parameter, items: tuple[str, ...]
                ) -> dict[str, Any]:
    return dict(_parameter(item) for item in items)


def _starts(_ctx: click.Context, param: click.Parameter, items: tuple[str, ...]
            ) -> dict[str, Any]:
    return pairs(items, "--start", _scalar)


def _named(text: str) -> tuple[str, str]:
    """``NAME[=DESCRIPTION]`` as (NAME, DESCRIPTION)."""
    name, _, description = text.partition("=")
    if not name.strip():
        raise UserError(f"give a NAME[=DESCRIPTION], not {text!r}")
    return name.strip(), description.strip()


def _one_named(_ctx: click.Context, param: click.Parameter, text: str | None
               ) -> dict[str, str] | None:
    return None if text is None else dict([_named(text)])


def _all_named(_ctx: click.Context, param: click.Parameter, items: tuple[str, ...]
               ) -> dict[str, str]:
    return dict(_named(item) for item in items)


@agent.command("transform")
@click.argument("script_file", metavar="SCRIPT", type=click.Path(exists=True, dir_okay=False))
@click.option("--to", "to", required=True, help="Workload manager to translate to.")
@click.option(
    "--from", "source", help="Workload manager SCRIPT is written for (default: detected)."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the finished translation here (never over an existing file).",
)
@agent_options
def transform(output: Path | None, options: Any, as_json: bool, **inputs: Any) -> None:
    """Translate SCRIPT, letting the model finish what fractale's tables leave unmapped."""
    if output is not None and output.exists():
        raise UserError(f"{output} exists; fractale does not overwrite it")
    record = _single("transform", inputs, options, as_json)
    if output is not None and record.status == "succeeded":
        output.write_text(record.outputs["artifact"], encoding="utf-8")


@agent.command("batch")
@app_option("What to run: the application and its command line.")
@where_options
@click.option("--nodes", type=click.IntRange(min=1), help="Nodes to ask for.")
@click.option("--tasks", type=click.IntRange(min=1), help="Tasks to run.")
@time_option("Wall-time limit")
@click.option("--script", type=TextFile(),
              help="Start from this batch script instead of asking the model.")
@notes_option("the script must do")
@agent_options
def batch(options: Any, as_json: bool, **inputs: Any) -> None:
    """Write a batch script, submit it, wait, and repair it until it completes."""
    _single("batch", inputs, options, as_json)


@agent.command("kubernetes-job")
@app_option("What the Job runs.")
@click.option("--image", help="Container image.")
@click.option("--name", help="The Job's name.")
@kubernetes_options
@notes_option("the manifest must do")
@agent_options
def kubernetes_job(options: Any, as_json: bool, **inputs: Any) -> None:
    """Write a batch/v1 Job, validate it, and run it when kubectl has a cluster."""
    _single("kubernetes-job", inputs, options, as_json)


@agent.command("build")
@app_option("The application to package.")
@click.option("--tag", help="Image tag (default fractale/<app>:latest).")
@click.option("--context", type=click.Path(exists=True, file_okay=False),
              help="Build context directory.")
@click.option("--builder", type=click.Choice(["docker", "podman"]),
              help="Default: whichever works.")
@notes_option("the image must have")
@agent_options
def build(options: Any, as_json: bool, **inputs: Any) -> None:
    """Write a Dockerfile and build it with docker or podman when one works."""
    _single("build", inputs, options, as_json)


@agent.command("results")
@click.argument("output_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--metric", "metrics", multiple=True, required=True, callback=_all_named,
              metavar="NAME[=DESCRIPTION]", help="A metric to extract (repeat for more).")
@agent_options
def results(options: Any, as_json: bool, **inputs: Any) -> None:
    """Extract named metrics from OUTPUT_FILE into JSON."""
    _single("results", inputs, options, as_json)


@agent.command("optimize")
@app_option("The application, its command line and needs.")
@where_options
@click.option(
    "--param", "parameters", multiple=True, required=True, callback=_parameters,
    metavar="NAME[:KIND]=MIN..MAX|A,B,C",
    help="A parameter to tune; KIND is nodes, tasks, env or flag (default; passed as --NAME).",
)
@click.option("--start", multiple=True, callback=_starts, metavar="NAME=VALUE",
              help="First round.")
@click.option("--fom", required=True, callback=_one_named, metavar="NAME[=DESCRIPTION]",
              help="The figure of merit to read.")
@click.option("--goal", type=click.Choice(["maximize", "minimize"]), default="maximize",
              show_default=True)
@click.option("--target", type=float, help="Stop once the figure of merit reaches this.")
@click.option("--patience", type=click.IntRange(min=1), default=3, show_default=True,
              help="Stop after this many rounds without improvement.")
@click.option("--rounds", type=click.IntRange(min=1), default=8, show_default=True,
              help="The most rounds to run.")
@click.option("--study-budget", type=click.FloatRange(min=0, min_open=True),
              help="Dollars of model tokens the search may spend before it stops and reports.")
@time_option("Each run's wall-time limit")
@template_option
@notes_option("each run's script must do")
@agent_options
def optimize(study_budget: float | None, options: Any, as_json: bool, **inputs: Any) -> None:
    """Search the parameters' bounds for the best figure of merit, one measured run a round."""
    # The study's own budget, not --budget (the whole command's, in ``options``).
    _single("optimize", {**inputs, "budget": study_budget}, options, as_json)


@agent.command("scale")
@app_option("The application, its command line and needs.")
@where_options
@click.option("--sizes", required=True, help="Sizes to run, going up: 1,2,4,8.")
@click.option("--mode", type=click.Choice(["strong", "weak"]), default="strong",
              show_default=True)
@click.option("--dimension", type=click.Choice(["tasks", "nodes"]), default="tasks",
              show_default=True, help="What a size counts.")
@click.option("--metric", callback=_one_named, metavar="NAME[=DESCRIPTION]",
              help="What to measure (default: time, the run's wall time in seconds).")
@click.option("--better", type=click.Choice(["lower", "higher"]), default="lower",
              show_default=True, help="lower for a time, higher for a rate.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Stop once parallel efficiency falls below this.")
@time_option("Each run's wall-time limit")
@template_option
@notes_option("each run's script must do")
@agent_options
def scale(options: Any, as_json: bool, **inputs: Any) -> None:
    """Measure strong or weak scaling over SIZES; write a table and a speedup/efficiency plot."""
    _single("scale", inputs, options, as_json)


@agent.command("cost")
@app_option("The application, its size and how it runs.")
@click.option(
    "--prices", type=click.Path(exists=True, dir_okay=False),
    help="Price table (YAML) of instance types or cluster nodes; see examples/prices/. "
    "Without it, fractale's own table of common AWS and Google Cloud instances.",
)
@click.option("--cpus", type=click.FloatRange(min=0), help="CPUs the application needs in all.")
@click.option("--memory-gb", type=click.FloatRange(min=0), help="Memory it needs in all (GB).")
@click.option("--gpus", type=click.FloatRange(min=0), help="GPUs it needs in all.")
@click.option("--hours", type=click.FloatRange(min=0, min_open=True),
              help="Its run time on a reference machine, if known.")
@click.option("--options", "count", type=click.IntRange(min=1), default=3, show_default=True,
              help="How many configurations to propose.")
@click.option(
    "--job", type=click.Path(exists=True, dir_okay=False),
    help="The job (batch script or jobspec): also price it on the registered clusters.",
)
@notes_option("that matters (deadline, provider, region)")
@agent_options
def cost(count: int, options: Any, as_json: bool, **inputs: Any) -> None:
    """Propose the cheapest configurations that fit the application, priced from a table."""
    # --options is the agent's "options" input; ``options`` here are the agent options.
    _single("cost", {**inputs, "options": count}, options, as_json)


@agent.command("minicluster")
@app_option("What Flux runs: the application and command line.")
@click.option("--image", help="The application's container image.")
@click.option("--name", help="The MiniCluster's name.")
@click.option("--size", type=click.IntRange(min=1), help="Pods in the MiniCluster.")
@click.option("--tasks", type=click.IntRange(min=1), help="Tasks Flux runs across them.")
@kubernetes_options
@notes_option("the MiniCluster must do")
@agent_options
def minicluster(options: Any, as_json: bool, **inputs: Any) -> None:
    """Write a Flux Operator MiniCluster, check it offline, and run it when kubectl can."""
    _single("minicluster", inputs, options, as_json)
