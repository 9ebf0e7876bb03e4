"""Flux batch scripts as ``flux batch`` reads them, and ``flux batch|alloc|run|submit``
command lines.

A Flux batch script allocates *slots* (``-n``, ``-c``, ``-g``, ``-N``, ``-x``); the job's
tasks are started inside it by ``flux run``, which has the per-task options. Reading follows
flux-core (``fractale.transform.fluxcli``): RFC 36 directives, its option grammar, its
defaults (``-N`` alone takes whole nodes, one slot each) and its refusals. Writing chooses a
slot shape that holds the job's geometry and carries the per-task geometry onto the
``flux run`` line that replaces the source's launcher.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, ClassVar

from fractale.transform import body as body_translation
from fractale.transform import fluxcli, launchers, units
from fractale.transform.codecs import read_dependencies
from fractale.transform.directives import (
    DEFAULT_SHELL,
    Codec,
    Context,
    DirectiveManager,
    Flag,
    Ignored,
    Int,
    Name,
    Option,
    Path,
    Quantity,
    Text,
    check_counts,
    merge,
    normalize_script,
    report_unwritten,
    split_lines,
)
from fractale.transform.model import PROPERTY_NAME, BatchJob
from fractale.transform.registry import register
from fractale.transform.report import Loss
from fractale.transform.submitter import Command, Status, Submitter, integer, last_line

_FSD_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def read_duration(value: str) -> float:
    """A Flux Standard Duration in seconds (a number with ``ms``, ``s``, ``m``, ``h`` or
    ``d``; no unit is seconds), as flux-core parses it."""
    text = value.strip()
    match = re.fullmatch(r"(.*?)(ms|s|m|h|d)", text)
    number, unit = (match.group(1), match.group(2)) if match else (text, "s")
    try:
        seconds = float(number) * _FSD_UNITS[unit]
    except ValueError:
        raise ValueError(f"expected a duration such as 90s, 30m, 2h or 1.5d, got {value!r}"
                         ) from None
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"expected a finite duration of 0 or more, got {value!r}")
    return seconds


def read_time_limit(value: str) -> int:
    """``-t``: a bare number is minutes, anything else a Flux Standard Duration; 0 is no
    limit. Parts of a second round up."""
    try:
        minutes = float(value.strip())
    except ValueError:
        seconds = read_duration(value)
    else:
        seconds = minutes * 60
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"expected minutes or a duration of 0 or more, got {value!r}")
    return math.ceil(seconds)


class TimeLimit(Quantity):
    """``-t``: a later ``-t 0`` (no limit) replaces an earlier limit, as in Flux."""

    def __init__(self) -> None:
        super().__init__("walltime", read_time_limit, units.write_fsd,
                         "minutes or a duration such as 30m or 2h")

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        return super().read(value, ctx) or {"walltime": None}


class BeginTime(Codec):
    """``--begin-time=+FSD`` or an absolute ``YYYY-MM-DD HH:MM[:SS]``; other forms flux-core
    accepts ("3pm", "tomorrow") depend on the day of submission and are reported."""

    fields = ("begin",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        text = value.strip()
        try:
            if text.startswith("+"):
                return {"begin": f"+{math.ceil(read_duration(text[1:]))}"}
            return {"begin": units.read_iso(text)}
        except ValueError:
            ctx.lose("begin", f"begin time {text!r} depends on the day it is submitted")
            return {}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        if spec.begin is None:
            return []
        seconds = units.relative_seconds(spec.begin)
        return [f"+{units.write_fsd(seconds)}" if seconds is not None else spec.begin]


class SetAttr(Codec):
    """``--setattr=KEY=VALUE``: ``container_image`` (``system.`` may prefix it) is the
    image the job runs in; any other attribute is reported."""

    fields = ("container_image",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        key, sep, rest = value.partition("=")
        key = key.strip().removeprefix("attributes.").removeprefix("system.")
        if key == "container_image" and sep and rest.strip():
            return {"container_image": rest.strip()}
        ctx.lose(None, "job attribute not in fractale's job model")
        return {}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        if spec.container_image is None:
            return []
        return [f"container_image={spec.container_image}"]


class Dependency(Codec):
    """``--dependency=afterok:ID`` (one per option), ``singleton``, ``begin-time:EPOCH``."""

    fields = ("dependencies",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        scheme, _, rest = value.strip().partition(":")
        if scheme == "begin-time":
            try:
                moment = datetime.fromtimestamp(float(rest), tz=timezone.utc)
                return {"begin": units.iso(moment.replace(tzinfo=None))}
            except (ValueError, OverflowError):
                raise ctx.fail(f"begin-time needs seconds since the epoch, got {rest!r}",
                               "--dependency=begin-time:EPOCH") from None
        return {"dependencies": read_dependencies(value, ctx, separator="\n")}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        return list(spec.dependencies)


class Env(Codec):
    """``--env=NAME=value``; ``--env=-PATTERN`` removes (``-*``: start from nothing)."""

    fields = ("environment",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        if value.startswith("-"):
            return EnvRemove().read(value[1:], ctx)
        name, eq, rest = value.partition("=")
        if value.startswith("^"):
            ctx.lose("environment", f"--env={value} reads rules from a file fractale "
                                    "does not read")
        elif not eq:
            ctx.lose("environment", f"--env={value} copies from the submitting shell")
        else:
            return {"environment": {name: rest}}
        return {}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        return [f"{name}={value}" for name, value in spec.environment.items()]


class EnvRemove(Codec):
    """``--env-remove=*`` starts the job from an empty environment."""

    fields = ("export_env",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        if value.strip() == "*":
            return {"export_env": "none"}
        ctx.lose("environment", f"removing variables matching {value!r} is not in "
                                "fractale's job model")
        return {}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        if spec.export_env == "all":
            ctx.lose("export_env", "Flux passes the whole environment already; nothing to write")
        return ["*"] if spec.export_env == "none" else []


class Requires(Codec):
    """``--requires`` (RFC 35): node properties, ``host:NAMES`` and ``-host:NAMES``."""

    fields = ("constraints", "nodelist", "exclude")

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        out: dict[str, list[str]] = {"constraints": [], "nodelist": [], "exclude": []}
        for term in value.split():
            if term.startswith("host:"):
                out["nodelist"].extend(units.split_hostlist(term[5:]))
            elif term.startswith("-host:"):
                out["exclude"].extend(units.split_hostlist(term[6:]))
            elif ":" in term or not PROPERTY_NAME.fullmatch(term) or term in ("and", "or",
                                                                               "not"):
                ctx.lose("constraints", f"constraint term {term!r} is not a node property "
                                        "or host list")
            else:
                out["constraints"].append(term)
        return {key: items for key, items in out.items() if items}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        out: list[str | None] = []
        for constraint in spec.constraints:
            if PROPERTY_NAME.fullmatch(constraint) and ":" not in constraint:
                out.append(constraint)
            else:
                ctx.lose("constraints", f"{constraint!r} is an expression, not a node property")
        if spec.nodelist:
            out.append("host:" + ",".join(spec.nodelist))
        out.extend("-host:" + host for host in spec.exclude)
        return out


class Urgency(Codec):
    """``--urgency=N`` (0-31) or ``hold``, ``default``, ``expedite``."""

    fields = ("urgency",)
    NAMED = {"hold": 0, "default": 16, "expedite": 31}

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        text = value.strip()
        if text in self.NAMED:
            return {"urgency": self.NAMED[text]}
        if not re.fullmatch(r"-?\d+", text):
            raise ctx.fail(f"--urgency expects 0-31, hold, default or expedite, got {text!r}",
                           "an urgency from 0 to 31")
        if not 0 <= int(text) <= 31:
            ctx.lose("urgency", f"Flux takes urgencies from 0 to 31: submitting {text} fails")
        return {"urgency": int(text)}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        if spec.urgency is None:
            return []
        if not 0 <= spec.urgency <= 31:
            ctx.lose("urgency", f"Flux urgencies run from 0 to 31, not {spec.urgency}")
            return []
        return [str(spec.urgency)]


ANY_INT = -(2**63)

# The options of flux batch fractale maps, by their full names (fluxcli has the grammar).
# The slot geometry is read here and written by ``slot_shape``.
GEOMETRY = ("nodes", "tasks", "cpus_per_task", "gpus_per_task", "exclusive")
OPTIONS = (
    Option(("--job-name",), Name("name")),
    Option(("--bank", "-B"), Text("account")),
    Option(("--queue", "-q"), Text("queue")),
    # flux batch checks the counts its options end with, once all are read.
    Option(("--nodes", "-N"), Int("nodes", ANY_INT), write=False),
    Option(("--nslots", "-n"), Int("tasks", ANY_INT), write=False),
    Option(("--cores-per-slot", "-c"), Int("cpus_per_task", ANY_INT), write=False),
    Option(("--gpus-per-slot", "-g"), Int("gpus_per_task", ANY_INT), write=False),
    Option(("--exclusive", "-x"), Flag("exclusive"), write=False),
    Option(("--time-limit", "-t"), TimeLimit()),
    Option(("--begin-time",), BeginTime()),
    Option(("--output",), Path("output")),
    Option(("--error",), Path("error")),
    Option(("--input",), Path("input")),
    Option(("--cwd",), Text("workdir")),
    Option(("--env",), Env()),
    Option(("--env-remove",), EnvRemove()),
    Option(("--requires",), Requires()),
    Option(("--urgency",), Urgency()),
    Option(("--dependency",), Dependency()),
    Option(("--setattr", "-S"), SetAttr()),
    Option(("--setopt", "-o"), Ignored("job shell option not in fractale's job model")),
    Option(("--conf",), Ignored("Flux instance configuration is not in fractale's job model")),
    Option(("--broker-opts",), Ignored("Flux broker options are not in fractale's job model")),
    Option(("--env-file",), Ignored("environment file is not read by fractale")),
)

# What flux batch says instead of each per-task option of flux run.
_BATCH_INSTEAD = {
    "--ntasks": "-n/--nslots", "--cores-per-task": "-c/--cores-per-slot",
    "--gpus-per-task": "-g/--gpus-per-slot", "--tasks-per-node": "-n (slots) with -N",
    "--gpus-per-node": "-g (GPUs per slot) with -n and -N", "--cores": "-n and -c",
    "--tasks-per-core": "-n and -c",
}

_COMMAND = re.compile(r"\s*flux\s+(batch|submit|run|alloc)\b(.*)", re.DOTALL)


def refusal(word: str, command: str) -> str:
    """Why ``flux COMMAND`` refuses the option ``word``, in a user's terms."""
    name = word.split("=", 1)[0]
    known = fluxcli.spellings(command)
    if command in ("batch", "alloc") and name in fluxcli.spellings("run"):
        instead = _BATCH_INSTEAD.get(fluxcli.spellings("run")[name].name)
        hint = f"; a batch script says {instead}" if instead else ""
        return (f"{name} is an option of flux run and flux submit, not of flux {command}, "
                f"which allocates slots{hint}, and the flux run line in the script takes "
                "the per-task options")
    if name.startswith("--"):
        full = sorted(n for n in known if n.startswith(name) and n.startswith("--"))
        if full:
            return (f"flux {command} takes long options spelled in full only: {name} is not "
                    f"one (did you mean {' or '.join(full)}?)")
    return f"{name} is not an option of flux {command}"


@dataclass
class Shape:
    """What a written batch script allocates and what its ``flux run`` line starts."""

    nodes: int | None
    slots: int | None
    cores: int | None
    gpus: int | None
    exclusive: bool
    # Per-task geometry of the launch: nodes, tasks, cores and GPUs per task.
    run: launchers.Layout


@register
class Flux(DirectiveManager):
    name = "flux"
    description = "Flux batch script (#FLUX:) or flux batch/submit/run command"
    prefix = "#FLUX:"
    options = OPTIONS
    placeholders = {"id": "{{id}}", "name": "{{name}}"}
    variables = {"job_id": "FLUX_JOB_ID", "node_count": "FLUX_JOB_NNODES",
                 "task_count": "FLUX_JOB_SIZE"}
    launch = launchers.LaunchWriter(launchers.write_flux_run)

    def claims(self, text):
        return (any(fluxcli.is_sentinel(line) and line.lstrip().startswith("#")
                    for line in split_lines(text)) or self.command(text) is not None)

    def command(self, text: str) -> tuple[str, str] | None:
        """(subcommand, the rest) of a lone ``flux submit ...`` command, if that is the text."""
        # A command line is typed or pasted: it never starts with "#!", a batch script does.
        if text.startswith("#!"):
            return None
        lines = [line for line in split_lines(text)
                 if line.strip() and not line.lstrip().startswith("#")]
        joined = " ".join(line.rstrip("\\").strip() for line in lines)
        match = _COMMAND.fullmatch(joined)
        if match is None or not all(line.rstrip().endswith("\\") for line in lines[:-1]):
            return None
        return match.group(1), match.group(2)

    # ---- reading

    def read(self, text, file=None):
        command = self.command(text)
        if command is not None and not any(fluxcli.is_sentinel(line)
                                           for line in split_lines(text)):
            return self._read_command(*command, file)
        return self._read_script(text, file)

    def _read_script(self, text: str, file: str | None) -> tuple[BatchJob, list[Loss]]:
        ctx = Context(self, file=file)
        lines = split_lines(text)
        if not lines or not lines[0].startswith("#!"):
            ctx.line = 1
            raise ctx.fail("a Flux batch script must start with #! (flux batch refuses it)",
                           "#!/bin/bash (or another interpreter) on the first line")
        values: dict[str, Any] = {"shell": lines[0][2:].strip() or DEFAULT_SHELL}
        try:
            script = fluxcli.scan(lines)
        except fluxcli.DirectiveError as err:
            ctx.line = err.line
            raise ctx.fail(str(err), "#FLUX: directives in one block before the commands"
                           ) from None
        for number, line in script.near_misses:
            ctx.losses.append(Loss("not a Flux directive (Flux reads only '#FLUX:' or "
                                   "'# flux:' with the colon); flux batch ignores this line",
                                   line=number, directive=line, stage="parse"))
        for directive in script.directives:
            ctx.line = directive.line
            self._read_options(directive.words, "batch", values, ctx)
        ctx.line = ctx.directive = None
        self._settle_slots(values, ctx, script.near_misses)
        if "name" not in values and file and not file.startswith("<"):
            # flux batch names a job after its script, as given on its command line.
            values["name"] = file
        check_counts(values, ctx)
        body = [line for number, line in enumerate(lines[1:], start=2)
                if number not in script.directive_lines]
        values["script"] = normalize_script("\n".join(body))
        values["dialect"] = self.name
        return BatchJob(**values), ctx.losses

    def _read_options(self, words: list[str], command: str, values: dict[str, Any],
                      ctx: Context) -> None:
        options, rest = fluxcli.split(words, command)
        try:
            given = fluxcli.parse(options, command)
        except fluxcli.FluxUsageError as err:
            ctx.directive = " ".join(err.unrecognized) or " ".join(options)
            reasons = [refusal(word, command) for word in err.unrecognized if
                       word.startswith("-")] or [str(err)]
            raise ctx.fail("; ".join(reasons), f"options of flux {command}") from None
        for option in given:
            separator = "=" if option.typed.startswith("--") else " "
            ctx.directive = (option.typed if option.value is None
                             else f"{option.typed}{separator}{option.value}")
            row = self._lookup.get(option.name)
            if row is None:
                ctx.lose(None, f"flux {command} option not in fractale's job model")
                continue
            if option.value is not None:
                merge(values, row.codec.read(option.value, ctx))
            elif row.codec.takes_value:
                raise ctx.fail(f"{option.typed} needs a value", f"{option.typed} VALUE")
            else:
                merge(values, row.codec.bare(ctx))
        if rest and command in ("batch", "alloc") and ctx.line is not None:
            ctx.directive = " ".join(rest)
            ctx.lose(None, "words after a directive's options are not read by flux batch")

    def _settle_slots(self, values: dict[str, Any], ctx: Context,
                      near_misses: Sequence[tuple[int, str]] = ()) -> None:
        """flux batch's defaults and refusals for the slot options."""
        if values.get("tasks") == 0:
            # -n 0 is no slot count at all to flux batch.
            values.pop("tasks")
        if "tasks" not in values:
            if not values.get("nodes"):
                hint = ""
                if near_misses:
                    hint = (f" (line {near_misses[0][0]} {near_misses[0][1]!r} is not read: "
                            "a directive needs the colon)")
                raise ctx.fail("a Flux batch job must name its slots (-n/--nslots) or nodes "
                               f"(-N/--nodes); flux batch refuses it without{hint}",
                               "#FLUX: -n SLOTS or #FLUX: -N NODES")
            # -N without -n: one slot on each node, nodes taken whole.
            values["exclusive"] = True
        elif values.get("nodes") and values["nodes"] > values["tasks"]:
            raise ctx.fail(f"{values['nodes']} nodes for {values['tasks']} slots: Flux refuses "
                           "a node count greater than the slot count",
                           "-N no larger than -n")
        if values.get("exclusive") and not values.get("nodes"):
            raise ctx.fail("--exclusive needs a node count (-N): Flux makes only whole nodes "
                           "exclusive", "-N NODES with -x")

    def _read_command(self, kind: str, arguments: str,
                      file: str | None) -> tuple[BatchJob, list[Loss]]:
        """A command line: its options read as flux-core reads that command's; the program
        (launched with the command's task options, or run as is for flux batch) is the body."""
        ctx = Context(self, file=file)
        try:
            words = shlex.split(arguments)
        except ValueError as err:
            raise ctx.fail(f"cannot read the command line: {err}", "balanced quotes") from None
        options, program = fluxcli.split(words, kind)
        if program and program[0] == "--":
            program = program[1:]
        if not program and kind in ("run", "submit"):
            raise ctx.fail(f"flux {kind} needs a command to run", f"flux {kind} [OPTIONS] CMD")
        values: dict[str, Any] = {}
        if kind in ("batch", "alloc"):
            self._read_options(options, kind, values, ctx)
            ctx.directive = None
            self._settle_slots(values, ctx)
            body = shlex.join(program)
        else:
            task_words = _task_words(options, kind)
            others = [w for w in options if w not in task_words]
            self._read_options(others, kind, values, ctx)
            ctx.directive = " ".join(task_words)
            merge(values, read_tasks(fluxcli.parse(task_words, kind), ctx))
            body = " ".join(["flux run", *task_words, shlex.join(program)])
        ctx.directive = None
        check_counts(values, ctx)
        values["script"] = normalize_script(body)
        values["dialect"] = self.name
        return BatchJob(**values), ctx.losses

    # ---- writing

    def write(self, spec: BatchJob) -> tuple[str, list[Loss]]:
        ctx = Context(self, stage="render")
        lines = [f"#!{spec.shell or DEFAULT_SHELL}"]
        for option in self._written:
            for value in option.codec.write(spec, ctx):
                self.emit(lines, option.names[0], value, option.codec.fields, ctx)
        shape = slot_shape(spec, ctx)
        for name, count in (("--nodes", shape.nodes), ("--nslots", shape.slots),
                            ("--cores-per-slot", shape.cores), ("--gpus-per-slot", shape.gpus)):
            if count is not None:
                lines.append(self.directive(name, str(count)))
        if shape.exclusive:
            lines.append(self.directive("--exclusive", None))
        report_unwritten(spec, self._fields | frozenset(GEOMETRY + ("tasks_per_node",
                                                                    "gpus_per_node")), ctx)
        script = body_translation.translate(spec.script, spec.dialect, self.name, ctx.losses)
        if spec.dialect not in ("flux", "jobspec"):
            script = "\n".join(_with_job_geometry(line, shape.run)
                               for line in script.split("\n"))
        text = "\n".join(lines) + "\n"
        if script:
            text += "\n" + script
        return text, ctx.losses


# ---------------------------------------------------------------- flux run / flux submit

_TASK_OPTIONS = frozenset(option.name for option in fluxcli.TASKS
                          if option.name not in ("--taskmap", "--verbose"))


def _task_words(options: list[str], command: str) -> list[str]:
    """The words of the task options (``-N``, ``-n``, ``--cores``, ...) among ``options``,
    each with its value, in order."""
    table = fluxcli.spellings(command)
    out: list[str] = []
    i = 0
    while i < len(options):
        word = options[i]
        name = word.split("=", 1)[0] if word.startswith("--") else word[:2]
        option = table.get(name)
        i += 1
        if option is None or option.name not in _TASK_OPTIONS:
            if option is not None and option.arity == fluxcli.VALUE and word == name:
                i += 1
            continue
        out.append(word)
        if option.arity == fluxcli.VALUE and word == name and i < len(options):
            out.append(options[i])
            i += 1
    return out


def _count(given: dict[str, str | None], name: str, ctx: Context) -> int | None:
    value = given.get(name)
    if value is None:
        return None
    if not re.fullmatch(r"-?\d+", value.strip()):
        raise ctx.fail(f"{name}: invalid int value {value!r}", f"{name}=N")
    return int(value)


def read_tasks(options: list[fluxcli.Given], ctx: Context) -> dict[str, Any]:
    """The allocation ``flux run``/``flux submit`` task options ask for, as flux-core builds
    it: per task (``-n``, ``-c``, ``-g``, with ``-N``) or per resource (``--cores``,
    ``--tasks-per-node``, ``--tasks-per-core``, ``--gpus-per-node``)."""
    given = {option.name: option.value for option in options}
    exclusive = "--exclusive" in given
    n = {name: _count(given, name, ctx) for name in _TASK_OPTIONS if name != "--exclusive"}
    nodes, cores = n["--nodes"], n["--cores"]
    per_node, per_core, gpn = n["--tasks-per-node"], n["--tasks-per-core"], n["--gpus-per-node"]
    if per_node is not None and per_core is not None:
        raise ctx.fail("give tasks per node or tasks per core, not both", "one of them")
    if gpn and not nodes:
        raise ctx.fail("--gpus-per-node requires --nodes", "-N NODES with --gpus-per-node")
    out: dict[str, Any] = {}
    if per_node is not None or per_core is not None or gpn is not None or cores is not None:
        if n["--ntasks"] is not None or n["--cores-per-task"] is not None or n["--gpus-per-task"]:
            raise ctx.fail("flux refuses per-resource options (--cores, --tasks-per-node, "
                           "--tasks-per-core, --gpus-per-node) with per-task ones (-n, -c, -g)",
                           "one kind of task options")
        if nodes and cores is None:
            exclusive = True
        if nodes and cores:
            if cores < nodes or cores % nodes:
                raise ctx.fail(f"--cores={cores} does not divide over {nodes} nodes",
                               "a core count that is a multiple of the node count")
            out.update(nodes=nodes, tasks=nodes, cpus_per_task=cores // nodes)
        elif cores:
            out["tasks"] = cores
        elif nodes:
            out["nodes"] = nodes
        else:
            raise ctx.fail("per-resource options need a node count (-N) or --cores",
                           "-N NODES or --cores=N")
        if per_node is not None:
            if per_node < 1:
                raise ctx.fail("--tasks-per-node must be >= 1", "--tasks-per-node=N")
            if cores:
                ctx.lose("tasks_per_node", f"--tasks-per-node={per_node} with --cores: the "
                                           "model keeps the allocation, the launch line the "
                                           "tasks")
            else:
                out["tasks_per_node"] = per_node
        if per_core is not None:
            ctx.lose("tasks", f"--tasks-per-core={per_core}: tasks per core are not in "
                              "fractale's job model; the allocation is kept")
        if gpn:
            out["gpus_per_node"] = gpn
    else:
        tasks = n["--ntasks"]
        if nodes is not None and nodes < 1:
            raise ctx.fail("node count must be at least 1", "-N NODES")
        if not tasks and nodes:
            exclusive = True
        elif nodes and tasks and nodes > tasks:
            raise ctx.fail(f"{nodes} nodes for {tasks} tasks: Flux refuses a node count "
                           "greater than the task count", "-N no larger than -n")
        if tasks:
            out["tasks"] = tasks
        if nodes:
            out["nodes"] = nodes
        for name, field in (("--cores-per-task", "cpus_per_task"),
                            ("--gpus-per-task", "gpus_per_task")):
            # 0 cores per task is flux run's default of 1.
            if n[name]:
                out[field] = n[name]
    if exclusive:
        if not out.get("nodes"):
            raise ctx.fail("--exclusive needs a node count (-N)", "-N NODES with -x")
        out["exclusive"] = True
    return out


# ---------------------------------------------------------------- writing the slot shape


def slot_shape(spec: BatchJob, ctx: Context) -> Shape:
    """The batch slots that hold ``spec``'s geometry, and the per-task launch inside them.
    What no slot shape can say is reported on ``ctx``."""
    nodes, tasks, per_node = spec.nodes, spec.tasks, spec.tasks_per_node
    cores = spec.cpus_per_task
    if nodes is None and per_node is not None and tasks is not None:
        nodes = math.ceil(tasks / per_node)
        for name in ("nodes", "tasks_per_node"):
            ctx.lose(name, f"written as {tasks} slots on {nodes} nodes ({per_node} tasks per "
                           "node)")
    elif nodes is None and per_node is not None:
        nodes, tasks = 1, per_node
        for name in ("nodes", "tasks", "tasks_per_node"):
            ctx.lose(name, f"without a node count, written as {per_node} slots on one node")
    if nodes is not None and tasks is not None and tasks < nodes:
        ctx.lose("nodes", f"Flux refuses more nodes than slots: written as {tasks} nodes")
        nodes = tasks
    exclusive = spec.exclusive and nodes is not None
    if spec.exclusive and nodes is None:
        ctx.lose("exclusive", "Flux makes only whole nodes exclusive, and the job names no "
                              "node count")
    run_tasks: int | None
    if nodes is not None and per_node is not None and (tasks is None or spec.nodes is not None):
        slots: int | None = nodes * per_node
        run_tasks = tasks if tasks is not None else slots
        reason = f"written as {slots} slots on {nodes} nodes ({per_node} per node)"
        if tasks is not None and tasks != slots:
            ctx.lose("tasks", f"the allocation holds {slots} slots ({per_node} per node on "
                              f"{nodes} nodes); the flux run line starts {tasks} tasks")
        elif tasks is None:
            ctx.lose("tasks", reason)
        ctx.lose("tasks_per_node", reason)
    elif nodes is not None and tasks is not None:
        slots, run_tasks = tasks, tasks
    elif nodes is not None:
        run_tasks = nodes
        slots = None if exclusive else nodes
        if not exclusive:
            ctx.lose("tasks", f"written as {nodes} slots, one per node (Flux's -N alone "
                              "would take the nodes whole)")
    else:
        slots = tasks if tasks is not None else 1
        run_tasks = slots
        if tasks is None:
            ctx.lose("tasks", "Flux needs a slot count; one slot is written")
    gpus = spec.gpus_per_task
    if spec.gpus_per_node is not None:
        per_node_slots = (slots or nodes) // nodes if nodes else None
        if gpus is not None:
            ctx.lose("gpus_per_node", "Flux counts GPUs per slot; the GPUs per task are "
                                      "written")
        elif nodes is None or per_node_slots is None or (slots or nodes) % nodes:
            ctx.lose("gpus_per_node", "GPUs per node need the same slot count on every node")
        elif spec.gpus_per_node % per_node_slots:
            ctx.lose("gpus_per_node", f"{spec.gpus_per_node} GPUs per node do not divide over "
                                      f"{per_node_slots} slots per node")
        else:
            gpus = spec.gpus_per_node // per_node_slots
            for name in ("gpus_per_node", "gpus_per_task"):
                ctx.lose(name, f"written as {gpus} GPU{'s' * (gpus != 1)} per slot "
                               f"({per_node_slots} slots per node)")
    run = launchers.Layout(nodes=nodes, tasks=run_tasks, cpus_per_task=cores,
                           gpus_per_task=gpus or None)
    return Shape(nodes, slots, cores, gpus or None, exclusive and slots is not None, run)


def _with_job_geometry(line: str, job: launchers.Layout) -> str:
    """A ``flux run`` line written from another manager's launcher, completed with the job's
    per-task geometry where the launcher left it to the job (``srun ./app`` runs every task
    of the job; ``flux run ./app`` would run one)."""
    found = launchers.launcher_at(line)
    if found is None or found[1] != "flux":
        return line
    indent, _, offset = found
    rest = line[offset:]
    words = rest.split()
    options, _ = fluxcli.split(words, "run")
    try:
        given = {option.name for option in fluxcli.parse(options, "run")}
    except fluxcli.FluxUsageError:
        return line
    per_resource = given & {"--cores", "--tasks-per-node", "--tasks-per-core",
                            "--gpus-per-node"}
    if per_resource:
        return line
    added = []
    if not given & {"--nodes", "--ntasks"}:
        # The launch runs every task of the job, spread over its nodes.
        if isinstance(job.nodes, int) and isinstance(job.tasks, int) and job.tasks >= job.nodes:
            added.append(f"-N {job.nodes}")
        if job.tasks is not None:
            added.append(f"-n {job.tasks}")
    for name, flag, value in (("--cores-per-task", "-c", job.cpus_per_task),
                              ("--gpus-per-task", "-g", job.gpus_per_task)):
        if name not in given and value is not None:
            added.append(f"{flag} {value}")
    if not added:
        return line
    # After the line's own options, before the program.
    word_ends = [word.end() for word in re.finditer(r"\s*\S+", rest)]
    cut = word_ends[len(options) - 1] if options else 0
    return f"{indent}flux run{rest[:cut]} {' '.join(added)}{rest[cut:]}"


# Submitting ------------------------------------------------------------------------------

# flux jobs' {state} while a job lives, and its {result} once it is INACTIVE (RFC 21).
FLUX_STATES = {
    "NEW": "pending", "DEPEND": "pending", "PRIORITY": "pending", "SCHED": "pending",
    "RUN": "running", "CLEANUP": "running",
    "COMPLETED": "completed", "FAILED": "failed", "CANCELED": "cancelled",
    "TIMEOUT": "timeout",
}


class FluxSubmitter(Submitter):
    """``flux batch``; ``flux jobs`` with a format of its state, result and return code;
    ``flux cancel``. A held job is submitted with urgency 0 (``--urgency=hold``)."""

    native_states = FLUX_STATES
    default_outputs: ClassVar[tuple[str, ...]] = ("flux-{{id}}.out",)
    FORMAT = "{id}|{state}|{result}|{returncode}|{exception.type}"

    def submit_command(self, script, hold):
        return Command(["flux", "batch", *(["--urgency=hold"] if hold else []), script])

    def job_id(self, output):
        return last_line(output)

    def status_commands(self, job_id, workdir=None):
        return [["flux", "jobs", "--no-header", f"--format={self.FORMAT}", job_id]]

    def read_status(self, job_id, result):
        rows = [line.split("|") for line in result.stdout.splitlines() if line.count("|") >= 4]
        if not result.ok or not rows:
            return None
        _, state, outcome, code, exception = (cell.strip() for cell in rows[0][:5])
        native = outcome if state == "INACTIVE" and outcome else state
        mapped = self.state(native)
        return Status(mapped, native, integer(code) if mapped not in ("pending", "running")
                      else None, exception or None)

    def cancel_command(self, job_id):
        return ["flux", "cancel", job_id]


Flux.submitter = FluxSubmitter
