"""Cobalt batch scripts (``#COBALT``, as run at ALCF): nodes, processes, ``--attrs``,
``--env`` and ``--dependencies`` in their colon-separated spellings.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from fractale.transform import launchers, units
from fractale.transform.codecs import env_value_ok
from fractale.transform.directives import (
    Codec,
    Context,
    DirectiveManager,
    Ignored,
    Int,
    Name,
    Option,
    Path,
    Quantity,
    Text,
)
from fractale.transform.model import BatchJob
from fractale.transform.registry import register
from fractale.transform.submitter import (
    Command,
    Status,
    Submitter,
    first_match,
    integer,
    key_values,
    last_line,
)


def _write_walltime(seconds: int) -> str:
    if seconds % 60 == 0 and seconds < 3600:
        return str(seconds // 60)
    return units.hms(seconds)


class OutputPrefix(Codec):
    """``-O prefix``: output, error and Cobalt log go to prefix.output/.error/.cobaltlog."""

    fields = ()

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        prefix = ctx.manager.path_to_model(value.strip())
        return {"output": f"{prefix}.output", "error": f"{prefix}.error"}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        return []


class Env(Codec):
    """``--env NAME=value:NAME=value``."""

    fields = ("environment",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        out = {}
        for item in value.split(":"):
            name, eq, setting = item.partition("=")
            if eq:
                out[name] = setting
            elif item:
                ctx.lose("environment", f"variable {item} has no value")
        return {"environment": out}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        items = []
        for name, value in spec.environment.items():
            if ":" in value or not env_value_ok(value):
                ctx.lose("environment", f"variable {name} not written: Cobalt separates "
                                        "variables with ':' and cannot quote its value")
            else:
                items.append(f"{name}={value}")
        return [":".join(items)] if items else []


class Attributes(Codec):
    """``--attrs key=value:key=value``: node attributes; ``location=`` names the nodes."""

    fields = ("constraints", "nodelist")

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for item in value.split(":"):
            key, _, setting = item.partition("=")
            if key == "location":
                out["nodelist"] = units.split_hostlist(setting)
            elif item:
                out.setdefault("constraints", []).append(item)
        return out

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        items = list(spec.constraints)
        if spec.nodelist:
            items.append("location=" + ",".join(spec.nodelist))
        for item in items:
            if ":" in item.replace("location=", "", 1) and not item.startswith("location="):
                ctx.lose("constraints", f"attribute {item} holds ':', Cobalt's separator")
        return [":".join(items)] if items else []


class Dependencies(Codec):
    """``--dependencies ID:ID``: start after each job exits successfully."""

    fields = ("dependencies",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        return {"dependencies": [f"afterok:{job}" for job in value.split(":") if job]}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        jobs = []
        for dependency in spec.dependencies:
            kind, _, job = dependency.partition(":")
            if kind == "afterok":
                jobs.append(job)
            else:
                ctx.lose("dependencies", f"Cobalt waits for successful exits only, not {kind}")
        return [":".join(jobs)] if jobs else []


class Notify(Codec):
    """``--notify address``: Cobalt mails when the job starts and ends."""

    fields = ("mail_user", "mail_events")

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        return {"mail_user": value.strip(), "mail_events": ["begin", "end"]}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        if spec.mail_user is None:
            if spec.mail_events:
                ctx.lose("mail_events", "Cobalt mails only with an address")
            return []
        if set(spec.mail_events) != {"begin", "end"}:
            ctx.lose("mail_events", "Cobalt always mails at the start and the end")
        return [spec.mail_user]


class Mode(Codec):
    """``--mode script`` is how a batch script runs; other modes are reported."""

    fields = ()

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        if value.strip() != "script":
            ctx.lose(None, f"mode {value} is not in fractale's job model")
        return {}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        return []


OPTIONS = (
    Option(("--jobname",), Name("name")),
    Option(("-A", "--project"), Text("account")),
    Option(("-q", "--queue"), Text("queue")),
    Option(("-n", "--nodecount"), Int("nodes", 1)),
    Option(("--proccount",), Int("tasks", 1)),
    Option(("-t", "--time"), Quantity("walltime", units.read_minutes_clock, _write_walltime,
                                      "minutes or HH:MM:SS")),
    Option(("-o", "--output"), Path("output")),
    Option(("-e", "--error"), Path("error")),
    Option(("-i", "--inputfile"), Path("input")),
    Option(("-O", "--outputprefix"), OutputPrefix()),
    Option(("--cwd",), Text("workdir")),
    Option(("--env",), Env()),
    Option(("--attrs",), Attributes()),
    Option(("--dependencies",), Dependencies()),
    Option(("-M", "--notify"), Notify()),
    Option(("--mode",), Mode()),
    Option(("--disable_preboot",), Ignored("boot control is not in fractale's job model",
                                           takes_value=False)),
    Option(("-h", "--held"), Ignored("submits held; not in fractale's job model",
                                     takes_value=False)),
    Option(("-u", "--umask"), Ignored("umask is not in fractale's job model")),
)


@register
class Cobalt(DirectiveManager):
    name = "cobalt"
    description = "Cobalt batch script (#COBALT)"
    prefix = "#COBALT"
    options = OPTIONS
    placeholders = {"id": "$jobid"}
    variables = {"job_id": "COBALT_JOBID", "node_count": "COBALT_PARTSIZE",
                 "node_file": "COBALT_NODEFILE"}
    variable_aliases = {"COBALT_JOBSIZE": "node_count"}
    variable_prefixes = ("COBALT_",)
    commands = ("cqsub", "cqstat", "cqdel", "qsub", "qstat", "qdel")
    launch = launchers.LaunchWriter(launchers.write_aprun, ("nodes", "gpus_per_task"),
                                    mpmd=True)


# Submitting ------------------------------------------------------------------------------

# Cobalt's qstat states, and two words fractale gives a job once qstat has forgotten it and
# its .cobaltlog tells how it ended.
COBALT_STATES = {
    "QUEUED": "pending", "STARTING": "pending", "USER_HOLD": "pending",
    "ADMIN_HOLD": "pending", "DEP_HOLD": "pending", "MAXRUN_HOLD": "pending",
    "RUNNING": "running", "EXITING": "running", "KILLING": "running",
    "DEP_FAIL": "failed", "DONE": "completed", "KILLED": "cancelled",
}


class CobaltSubmitter(Submitter):
    """``qsub`` of an executable script (``-h`` to hold); ``qstat -l`` while Cobalt holds
    the job, then the job's ``<id>.cobaltlog`` in its working directory; ``qdel``."""

    native_states = COBALT_STATES
    executable = True
    default_outputs = ("{{id}}.output", "{{id}}.error")

    def submit_command(self, script, hold):
        return Command(["qsub", *(["-h"] if hold else []), script])

    def job_id(self, output):
        line = last_line(output)
        return line if line and line.isdigit() else None

    def status_commands(self, job_id, workdir=None):
        log = PurePosixPath(workdir or ".") / f"{job_id}.cobaltlog"
        return [["qstat", "-l", job_id], ["cat", str(log)]]

    def read_status(self, job_id, result):
        if not result.ok:
            return None
        if result.argv[0] == "qstat":
            fields = key_values(result.stdout, ":")
            native = fields.get("State", "")
            return Status(self.state(native), native) if native else None
        code = integer(first_match(r"exit code of (-?\d+)", result.stdout))
        if re.search(r"maximum execution time exceeded|walltime", result.stdout, re.IGNORECASE):
            return Status("timeout", "done", code)
        if re.search(r"user delete requested|qdel", result.stdout):
            return Status("cancelled", "killed", code)
        if code is None:
            return None
        return Status("completed" if code == 0 else "failed", "done", code)

    def cancel_command(self, job_id):
        return ["qdel", job_id]


Cobalt.submitter = CobaltSubmitter
