"""Flux batch scripts: ``#FLUX:`` directives (the options of ``flux batch``), or a single
``flux batch``/``flux submit``/``flux run`` command line with its options.
"""

from __future__ import annotations

import re
import shlex

from fractale.transform import launchers, units
from fractale.transform.codecs import GpuCount, read_dependencies
from fractale.transform.directives import (
    Codec,
    DirectiveManager,
    Flag,
    Ignored,
    Int,
    Name,
    Option,
    Path,
    Quantity,
    Text,
    normalize_script,
    split_lines,
)
from fractale.transform.model import PROPERTY_NAME
from fractale.transform.registry import register
from fractale.transform.submitter import Command, Status, Submitter, integer, last_line


def read_time_limit(value: str) -> int:
    """``--time-limit``: a bare number is minutes, otherwise a Flux Standard Duration."""
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return units.read_fsd(value + "m")
    return units.read_fsd(value)


def read_begin(value: str) -> str:
    value = value.strip()
    if value.startswith("+"):
        return f"+{units.read_fsd(value[1:])}"
    return units.read_iso(value)


def write_begin(value: str) -> str:
    seconds = units.relative_seconds(value)
    return f"+{units.write_fsd(seconds)}" if seconds is not None else value


class Dependency(Codec):
    """``--dependency=afterok:ID``, one per option."""

    fields = ("dependencies",)

    def read(self, value, ctx):
        return {"dependencies": read_dependencies(value, ctx, separator="\n")}

    def write(self, spec, ctx):
        out = []
        for dependency in spec.dependencies:
            if dependency == "singleton":
                ctx.lose("dependencies", "Flux has no singleton dependency")
            else:
                out.append(dependency)
        return out


class Env(Codec):
    """``--env=NAME=value`` (one per option)."""

    fields = ("environment",)

    def read(self, value, ctx):
        name, eq, rest = value.partition("=")
        if not eq:
            ctx.lose("environment", f"--env={value} copies from the submitting shell")
            return {}
        return {"environment": {name: rest}}

    def write(self, spec, ctx):
        return [f"{name}={value}" for name, value in spec.environment.items()]


class EnvRemove(Codec):
    """``--env-remove=*`` starts the job from an empty environment."""

    fields = ("export_env",)

    def read(self, value, ctx):
        if value.strip() == "*":
            return {"export_env": "none"}
        ctx.lose("environment", f"--env-remove={value} is not in fractale's job model")
        return {}

    def write(self, spec, ctx):
        if spec.export_env == "all":
            ctx.lose("export_env", "Flux passes the whole environment already; nothing to write")
        return ["*"] if spec.export_env == "none" else []


class Requires(Codec):
    """``--requires``: node properties, ``host:NAME`` and ``-host:NAME`` terms."""

    fields = ("constraints", "nodelist", "exclude")

    def read(self, value, ctx):
        out: dict[str, list[str]] = {"constraints": [], "nodelist": [], "exclude": []}
        for term in value.split():
            if term.startswith("host:"):
                out["nodelist"].extend(units.split_hostlist(term[5:]))
            elif term.startswith("-host:"):
                out["exclude"].extend(units.split_hostlist(term[6:]))
            else:
                out["constraints"].append(term)
        return {key: items for key, items in out.items() if items}

    def write(self, spec, ctx):
        out = []
        for constraint in spec.constraints:
            if PROPERTY_NAME.fullmatch(constraint):
                out.append(constraint)
            else:
                ctx.lose("constraints", f"{constraint!r} is an expression, not a node property")
        if spec.nodelist:
            out.append("host:" + ",".join(spec.nodelist))
        out.extend("-host:" + ",".join([host]) for host in spec.exclude)
        return out


OPTIONS = (
    Option(("--job-name",), Name("name")),
    Option(("--bank", "-B"), Text("account")),
    Option(("--queue", "-q"), Text("queue")),
    Option(("--nodes", "-N"), Int("nodes", 1)),
    Option(("--nslots", "-n", "--ntasks"), Int("tasks", 1)),
    Option(("--tasks-per-node",), Int("tasks_per_node", 1)),
    Option(("--cores-per-slot", "-c", "--cores-per-task"), Int("cpus_per_task", 1)),
    Option(("--gpus-per-node",), GpuCount("gpus_per_node", typed=False)),
    Option(("--gpus-per-slot", "-g", "--gpus-per-task"), GpuCount("gpus_per_task", typed=False)),
    Option(("--time-limit", "-t"), Quantity("walltime", read_time_limit, units.write_fsd,
                                            "minutes or a duration such as 30m or 2h")),
    Option(("--begin-time",), Quantity("begin", read_begin, write_begin,
                                       "+DURATION or YYYY-MM-DDTHH:MM[:SS]")),
    Option(("--output",), Path("output")),
    Option(("--error",), Path("error")),
    Option(("--input",), Path("input")),
    Option(("--cwd",), Text("workdir")),
    Option(("--env",), Env()),
    Option(("--env-remove",), EnvRemove()),
    Option(("--exclusive",), Flag("exclusive")),
    Option(("--requires",), Requires()),
    Option(("--urgency",), Int("urgency", 0)),
    Option(("--dependency",), Dependency()),
    Option(("--setattr", "-S"), Ignored("job attribute not in fractale's job model")),
    Option(("--setopt", "-o"), Ignored("job shell option not in fractale's job model")),
    Option(("--conf",), Ignored("Flux instance configuration is not in fractale's job model")),
    Option(("--broker-opts",), Ignored("Flux broker options are not in fractale's job model")),
    Option(("--env-file",), Ignored("environment file is not read by fractale")),
)

_COMMAND = re.compile(r"\s*flux\s+(batch|submit|run|alloc)\b(.*)", re.DOTALL)


@register
class Flux(DirectiveManager):
    name = "flux"
    description = "Flux batch script (#FLUX:) or flux batch/submit/run command"
    prefix = "#FLUX:"
    prefix_pattern = re.compile(r"#\s*flux:", re.IGNORECASE)
    options = OPTIONS
    placeholders = {"id": "{{id}}", "name": "{{name}}"}
    variables = {"job_id": "FLUX_JOB_ID", "node_count": "FLUX_JOB_NNODES",
                 "task_count": "FLUX_JOB_SIZE"}
    launch = launchers.LaunchWriter(launchers.write_flux_run)


    def claims(self, text):
        return super().claims(text) or self.command(text) is not None

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

    def read(self, text, file=None):
        command = None if super().claims(text) else self.command(text)
        if command is None:
            return super().read(text, file)
        # A command line: its options are read as directives; the program, launched with the
        # same task layout (or run as is, for flux batch), becomes the body.
        kind, arguments = command
        words = shlex.split(arguments)
        split = next((i for i, w in enumerate(words) if not w.startswith("-")
                      and (i == 0 or not self._takes_value(words[i - 1]))), len(words))
        options, program = words[:split], words[split:]
        lines = [line for line in split_lines(text) if line.startswith("#!")][:1]
        if options:
            lines.append("#FLUX: " + shlex.join(options))
        spec, losses = super().read("\n".join(lines) + "\n", file)
        if kind == "batch":
            body = shlex.join(program)
        else:
            body = " ".join(["flux run", *_layout_words(options), shlex.join(program)])
        spec.script = normalize_script(body)
        return spec, losses

    def _takes_value(self, word: str) -> bool:
        option = self._lookup.get(word)
        return option is not None and option.codec.takes_value and "=" not in word


_LAYOUT = ("-N", "--nodes", "-n", "--nslots", "--ntasks", "--tasks-per-node", "-c",
           "--cores-per-slot", "--cores-per-task", "-g", "--gpus-per-slot", "--gpus-per-task")


def _layout_words(options: list[str]) -> list[str]:
    """The task-layout options among a command's options, kept for its launch line."""
    out = []
    i = 0
    while i < len(options):
        word = options[i]
        name = word.split("=")[0]
        if name in _LAYOUT:
            if "=" in word or len(word) > 2 and not word.startswith("--"):
                out.append(word)
            elif i + 1 < len(options):
                out.extend([word, options[i + 1]])
                i += 1
        elif len(word) > 2 and word[:2] in _LAYOUT and not word.startswith("--"):
            out.append(word)
        i += 1
    return out


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
    default_outputs = ("flux-{{id}}.out",)
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
