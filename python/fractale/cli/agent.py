"""``fractale agent``: run a plan of agents, or one agent, against a model.

``fractale agent run PLAN.yaml`` follows a plan; ``fractale agent STEP ...`` runs one step
agent (transform, batch, kubernetes-job, build, results, cost, minicluster) or one study
(optimize, scale); ``fractale agent check PLAN.yaml`` validates a plan without running it.
The Anthropic SDK loads only when a model is used.
"""

from __future__ import annotations

import functools
import json
import textwrap
from pathlib import Path
from typing import Any, Callable

import click

from fractale.cli.options import UserError

EXIT_FAILED = 1


def _common(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options every agent command shares."""
    options = [
        click.option("--model", help="Claude model (default: $FRACTALE_MODEL, else fractale's)."),
        click.option(
            "--replay",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="Answer from a replay file instead of the API (offline, deterministic).",
        ),
        click.option(
            "--record",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Keep every model answer in a replay file for offline rehearsal.",
        ),
        click.option("--dry-run", is_flag=True, help="Generate every artifact, execute nothing."),
        click.option(
            "--max-attempts",
            type=click.IntRange(min=1),
            default=3,
            show_default=True,
            help="Attempts per step (a plan step's own 'attempts' wins).",
        ),
        click.option(
            "--budget",
            type=click.FloatRange(min=0, min_open=True),
            help="Stop before spending more than this many dollars of tokens.",
        ),
        click.option(
            "--results",
            type=click.Path(file_okay=False, path_type=Path),
            help="Write a JSON record per step into this directory.",
        ),
        click.option("--incremental", is_flag=True, help="Write records after every attempt."),
        click.option("--use-cache", is_flag=True, help="Reuse a step's last successful artifact."),
        click.option(
            "--workdir",
            type=click.Path(file_okay=False, path_type=Path),
            help="Where artifacts go (default: a new ./fractale-runs/<time>-<name>).",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=1),
            default=3600.0,
            show_default=True,
            help="Seconds a job or build may run once started.",
        ),
        click.option(
            "--pending-timeout",
            type=click.FloatRange(min=1),
            default=3600.0,
            show_default=True,
            help="Seconds a job may wait in the queue before it is cancelled.",
        ),
        click.option("-v", "--verbose", count=True, help="Log more (-vv: HTTP too)."),
        click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON."),
    ]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        from fractale.agents.session import Options, configure_logging

        configure_logging(kwargs.pop("verbose"))
        option_names = Options.__dataclass_fields__
        options = Options(**{key: kwargs.pop(key) for key in list(kwargs) if key in option_names})
        return command(options=options, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


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

    loaded = load_plan(plan, overrides=_overrides(sets))
    click.echo(f"{plan}: valid plan {loaded.name!r} with {len(loaded.steps)} step(s)")
    for step in loaded.steps:
        click.echo(f"  {step.name}: {step.agent} (on failure: {step.on_failure.action})")


def _overrides(sets: tuple[str, ...]) -> dict[str, str]:
    values = {}
    for item in sets:
        name, equals, value = item.partition("=")
        if not equals or not name.strip():
            raise UserError(f"--set takes NAME=VALUE, not {item!r}")
        values[name.strip()] = value
    return values


@agent.command("run")
@click.argument("plan", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Set a plan input.")
@_common
def run(plan: Path, sets: tuple[str, ...], options: Any, as_json: bool) -> None:
    """Follow PLAN: each step's agent, with the manager acting on failures."""
    from fractale.agents.manager import Manager
    from fractale.agents.plan import load_plan
    from fractale.agents.session import open_context

    loaded = load_plan(plan, overrides=_overrides(sets))
    ctx = open_context(options, loaded.name, _echo)
    outcome = Manager(loaded, ctx).run()
    ordered = [outcome.records[step.name] for step in loaded.steps if step.name in outcome.records]
    _report(ordered, ctx.llm.ledger.totals, outcome.status, outcome.message, as_json)
    if not outcome.succeeded:
        raise SystemExit(EXIT_FAILED)


def _single(agent_name: str, inputs: dict[str, Any], options: Any, as_json: bool) -> Any:
    from fractale.agents.session import open_context
    from fractale.agents.steps import agent_class

    given = {key: value for key, value in inputs.items() if value not in (None, "", ())}
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


def _pairs(items: tuple[str, ...], option: str) -> dict[str, Any]:
    values = {}
    for item in items:
        name, equals, value = item.partition("=")
        if not equals or not name.strip():
            raise UserError(f"{option} takes NAME=VALUE, not {item!r}")
        values[name.strip()] = _scalar(value.strip())
    return values


def _named(text: str | None) -> dict[str, str] | None:
    """``NAME[=DESCRIPTION]`` as {NAME: DESCRIPTION}."""
    if text is None:
        return None
    name, _, description = text.partition("=")
    if not name.strip():
        raise UserError(f"give a NAME[=DESCRIPTION], not {text!r}")
    return {name.strip(): description.strip()}


def _template(script: Path | None) -> str | None:
    return script.read_text(encoding="utf-8") if script else None


_TEMPLATE = click.option(
    "--script",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A batch script template to fill in instead of asking the model for each run.",
)


@agent.command("transform")
@click.argument("script", type=click.Path(exists=True, dir_okay=False, path_type=Path))
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
@_common
def transform(
    script: Path, to: str, source: str | None, output: Path | None, options: Any, as_json: bool
) -> None:
    """Translate SCRIPT, letting the model finish what fractale's tables leave unmapped."""
    if output is not None and output.exists():
        raise UserError(f"{output} exists; fractale does not overwrite it")
    record = _single(
        "transform", {"script_file": str(script), "to": to, "source": source}, options, as_json
    )
    if output is not None and record.status == "succeeded":
        output.write_text(record.outputs["artifact"], encoding="utf-8")


@agent.command("batch")
@click.option("--app", required=True, help="What to run: the application and its command line.")
@click.option("--cluster", help="A cluster registered with `fractale cluster add`.")
@click.option("--scheduler", type=click.Choice(["slurm", "flux"]), help="Without a cluster.")
@click.option("--nodes", type=click.IntRange(min=1), help="Nodes to ask for.")
@click.option("--tasks", type=click.IntRange(min=1), help="Tasks to run.")
@click.option("--time", "time_limit", help="Wall-time limit, e.g. 10m.")
@click.option(
    "--script",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Start from this batch script instead of asking the model.",
)
@click.option("--notes", help="Anything else the script must do.")
@_common
def batch(
    app: str,
    cluster: str | None,
    scheduler: str | None,
    nodes: int | None,
    tasks: int | None,
    time_limit: str | None,
    script: Path | None,
    notes: str | None,
    options: Any,
    as_json: bool,
) -> None:
    """Write a batch script, submit it, wait, and repair it until it completes."""
    if not cluster and not scheduler:
        raise UserError("give --cluster NAME or --scheduler slurm|flux")
    inputs = {
        "app": app,
        "cluster": cluster,
        "scheduler": scheduler,
        "nodes": nodes,
        "tasks": tasks,
        "time": time_limit,
        "script": _text(script) if script else None,
        "notes": notes,
    }
    _single("batch", inputs, options, as_json)


def _text(path: Path) -> str:
    """A file the user names, as text; an unreadable or binary one is their error."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: byte {err.start} is not UTF-8 text") from None


@agent.command("kubernetes-job")
@click.option("--app", required=True, help="What the Job runs.")
@click.option("--image", help="Container image.")
@click.option("--name", help="The Job's name.")
@click.option("--namespace", help="Namespace to apply it in.")
@click.option("--context", "kube_context", help="kubectl context (default: the current one).")
@click.option("--notes", help="Anything else the manifest must do.")
@_common
def kubernetes_job(
    app: str,
    image: str | None,
    name: str | None,
    namespace: str | None,
    kube_context: str | None,
    notes: str | None,
    options: Any,
    as_json: bool,
) -> None:
    """Write a batch/v1 Job, validate it, and run it when kubectl has a cluster."""
    inputs = {
        "app": app,
        "image": image,
        "name": name,
        "namespace": namespace,
        "context": kube_context,
        "notes": notes,
    }
    _single("kubernetes-job", inputs, options, as_json)


@agent.command("build")
@click.option("--app", required=True, help="The application to package.")
@click.option("--tag", help="Image tag (default fractale/<app>:latest).")
@click.option(
    "--context",
    "build_context",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Build context directory.",
)
@click.option(
    "--builder", type=click.Choice(["docker", "podman"]), help="Default: whichever works."
)
@click.option("--notes", help="Anything else the image must have.")
@_common
def build(
    app: str,
    tag: str | None,
    build_context: Path | None,
    builder: str | None,
    notes: str | None,
    options: Any,
    as_json: bool,
) -> None:
    """Write a Dockerfile and build it with docker or podman when one works."""
    inputs = {
        "app": app,
        "tag": tag,
        "context": str(build_context) if build_context else None,
        "builder": builder,
        "notes": notes,
    }
    _single("build", inputs, options, as_json)


@agent.command("results")
@click.argument("output_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    required=True,
    metavar="NAME[=DESCRIPTION]",
    help="A metric to extract (repeat for more).",
)
@_common
def results(output_file: Path, metrics: tuple[str, ...], options: Any, as_json: bool) -> None:
    """Extract named metrics from OUTPUT_FILE into JSON."""
    wanted = {}
    for item in metrics:
        name, _, text = item.partition("=")
        if not name.strip():
            raise UserError(f"--metric takes NAME[=DESCRIPTION], not {item!r}")
        wanted[name.strip()] = text.strip()
    _single("results", {"output_file": str(output_file), "metrics": wanted}, options, as_json)


@agent.command("optimize")
@click.option("--app", required=True, help="The application, its command line and needs.")
@click.option("--cluster", help="A cluster registered with `fractale cluster add`.")
@click.option("--scheduler", type=click.Choice(["slurm", "flux"]), help="Without a cluster.")
@click.option(
    "--param",
    "params",
    multiple=True,
    required=True,
    metavar="NAME[:KIND]=MIN..MAX|A,B,C",
    help="A parameter to tune; KIND is nodes, tasks, env or flag (default; passed as --NAME).",
)
@click.option("--start", "starts", multiple=True, metavar="NAME=VALUE", help="First round.")
@click.option(
    "--fom", required=True, metavar="NAME[=DESCRIPTION]", help="The figure of merit to read."
)
@click.option("--goal", type=click.Choice(["maximize", "minimize"]), default="maximize",
              show_default=True)
@click.option("--target", type=float, help="Stop once the figure of merit reaches this.")
@click.option("--patience", type=click.IntRange(min=1), default=3, show_default=True,
              help="Stop after this many rounds without improvement.")
@click.option("--rounds", type=click.IntRange(min=1), default=8, show_default=True,
              help="The most rounds to run.")
@click.option("--study-budget", type=click.FloatRange(min=0, min_open=True),
              help="Dollars of model tokens the search may spend before it stops and reports.")
@click.option("--time", "time_limit", help="Each run's wall-time limit, e.g. 10m.")
@_TEMPLATE
@click.option("--notes", help="Anything else each run's script must do.")
@_common
def optimize(
    app: str,
    cluster: str | None,
    scheduler: str | None,
    params: tuple[str, ...],
    starts: tuple[str, ...],
    fom: str,
    goal: str,
    target: float | None,
    patience: int,
    rounds: int,
    study_budget: float | None,
    time_limit: str | None,
    script: Path | None,
    notes: str | None,
    options: Any,
    as_json: bool,
) -> None:
    """Search the parameters' bounds for the best figure of merit, one measured run a round."""
    if not cluster and not scheduler:
        raise UserError("give --cluster NAME or --scheduler slurm|flux")
    inputs = {
        "app": app,
        "cluster": cluster,
        "scheduler": scheduler,
        "parameters": dict(_parameter(item) for item in params),
        "start": _pairs(starts, "--start") or None,
        "fom": _named(fom),
        "goal": goal,
        "target": target,
        "patience": patience,
        "rounds": rounds,
        "budget": study_budget,
        "time": time_limit,
        "script": _template(script),
        "notes": notes,
    }
    _single("optimize", inputs, options, as_json)


@agent.command("scale")
@click.option("--app", required=True, help="The application, its command line and needs.")
@click.option("--cluster", help="A cluster registered with `fractale cluster add`.")
@click.option("--scheduler", type=click.Choice(["slurm", "flux"]), help="Without a cluster.")
@click.option("--sizes", required=True, help="Sizes to run, going up: 1,2,4,8.")
@click.option("--mode", type=click.Choice(["strong", "weak"]), default="strong",
              show_default=True)
@click.option("--dimension", type=click.Choice(["tasks", "nodes"]), default="tasks",
              show_default=True, help="What a size counts.")
@click.option("--metric", metavar="NAME[=DESCRIPTION]",
              help="What to measure (default: time, the run's wall time in seconds).")
@click.option("--better", type=click.Choice(["lower", "higher"]), default="lower",
              show_default=True, help="lower for a time, higher for a rate.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Stop once parallel efficiency falls below this.")
@click.option("--time", "time_limit", help="Each run's wall-time limit, e.g. 10m.")
@_TEMPLATE
@click.option("--notes", help="Anything else each run's script must do.")
@_common
def scale(
    app: str,
    cluster: str | None,
    scheduler: str | None,
    sizes: str,
    mode: str,
    dimension: str,
    metric: str | None,
    better: str,
    threshold: float,
    time_limit: str | None,
    script: Path | None,
    notes: str | None,
    options: Any,
    as_json: bool,
) -> None:
    """Measure strong or weak scaling over SIZES; write a table and a speedup/efficiency plot."""
    if not cluster and not scheduler:
        raise UserError("give --cluster NAME or --scheduler slurm|flux")
    inputs = {
        "app": app,
        "cluster": cluster,
        "scheduler": scheduler,
        "sizes": sizes,
        "mode": mode,
        "dimension": dimension,
        "metric": _named(metric),
        "better": better,
        "threshold": threshold,
        "time": time_limit,
        "script": _template(script),
        "notes": notes,
    }
    _single("scale", inputs, options, as_json)


@agent.command("cost")
@click.option("--app", required=True, help="The application, its size and how it runs.")
@click.option(
    "--prices",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
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
    "--job",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The job (batch script or jobspec): also price it on the registered clusters.",
)
@click.option("--notes", help="Anything else that matters (deadline, provider, region).")
@_common
def cost(
    app: str,
    prices: Path | None,
    cpus: float | None,
    memory_gb: float | None,
    gpus: float | None,
    hours: float | None,
    count: int,
    job: Path | None,
    notes: str | None,
    options: Any,
    as_json: bool,
) -> None:
    """Propose the cheapest configurations that fit the application, priced from a table."""
    inputs = {
        "app": app,
        "prices": str(prices) if prices else None,
        "cpus": cpus,
        "memory_gb": memory_gb,
        "gpus": gpus,
        "hours": hours,
        "options": count,
        "job": str(job) if job else None,
        "notes": notes,
    }
    _single("cost", inputs, options, as_json)


@agent.command("minicluster")
@click.option("--app", required=True, help="What Flux runs: the application and command line.")
@click.option("--image", help="The application's container image.")
@click.option("--name", help="The MiniCluster's name.")
@click.option("--size", type=click.IntRange(min=1), help="Pods in the MiniCluster.")
@click.option("--tasks", type=click.IntRange(min=1), help="Tasks Flux runs across them.")
@click.option("--namespace", help="Namespace to apply it in.")
@click.option("--context", "kube_context", help="kubectl context (default: the current one).")
@click.option("--notes", help="Anything else the MiniCluster must do.")
@_common
def minicluster(
    app: str,
    image: str | None,
    name: str | None,
    size: int | None,
    tasks: int | None,
    namespace: str | None,
    kube_context: str | None,
    notes: str | None,
    options: Any,
    as_json: bool,
) -> None:
    """Write a Flux Operator MiniCluster, check it offline, and run it when kubectl can."""
    inputs = {
        "app": app,
        "image": image,
        "name": name,
        "size": size,
        "tasks": tasks,
        "namespace": namespace,
        "context": kube_context,
        "notes": notes,
    }
    _single("minicluster", inputs, options, as_json)
