"""OAR batch scripts (``#OAR``): the option table and the hierarchical resource request
``-l /nodes=2/core=16,walltime=01:00:00`` (also ``host``, ``cpu``, ``gpu`` levels).
"""

from __future__ import annotations

import json
import re
from typing import Any

from fractale.transform import launchers, units
from fractale.transform.directives import (
    Codec,
    Context,
    DirectiveManager,
    Ignored,
    Name,
    Option,
    Path,
    Quantity,
    Text,
    check_counts,
)
from fractale.transform.model import BatchJob
from fractale.transform.registry import register
from fractale.transform.submitter import Command, Status, Submitter, first_match, integer


class Resources(Codec):
    """``-l /nodes=N/cpu=S/core=C,walltime=HH:MM:SS`` or ``/nodes=N/gpu=G``."""

    fields = ("nodes", "tasks", "tasks_per_node", "cpus_per_task", "gpus_per_node", "walltime")

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        out: dict[str, Any] = {}
        text = re.sub(r"\{[^}]*\}", "", value.strip())
        if text != value.strip():
            ctx.lose(None, "SQL resource filters in -l are not in fractale's job model")
        hierarchy, *rest = text.split(",")
        if "=" in hierarchy and hierarchy.split("=")[0].strip() == "walltime":
            rest.insert(0, hierarchy)
            hierarchy = ""
        first, *others = hierarchy.split("+")
        _read_levels(first, out, ctx)
        if others:
            components = []
            for group in others:
                component: dict[str, Any] = {}
                _read_levels(group, component, ctx)
                components.append(component)
            out["_components"] = components
        for item in rest:
            key, _, setting = item.partition("=")
            if key.strip() == "walltime":
                out["walltime"] = read_walltime(setting, ctx)
            elif item.strip():
                ctx.lose(None, f"-l item {item} is not in fractale's job model")
        return out

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        levels = []
        nodes, per_node = spec.nodes, spec.tasks_per_node
        if spec.tasks is not None:
            if nodes is not None and per_node is None and spec.tasks % nodes == 0:
                per_node = spec.tasks // nodes
                ctx.lose("tasks", f"written as {per_node} cores on each of {nodes} nodes")
                ctx.lose("tasks_per_node", f"written as {per_node} cores on each node")
            elif nodes is not None:
                ctx.lose("tasks", "OAR asks for cores per node, not a task count")
        cores = per_node if nodes is not None else spec.tasks
        if nodes is None and per_node is not None:
            ctx.lose("tasks_per_node", "OAR counts cores per node only under a node level")
        if spec.cpus_per_task is not None:
            if cores is not None:
                cores *= spec.cpus_per_task
            else:
                cores = spec.cpus_per_task
            for name in ("cpus_per_task", "tasks" if nodes is None else "tasks_per_node"):
                ctx.lose(name, f"written as {cores} cores, which OAR does not split into tasks")
        if nodes is not None:
            levels.append(f"nodes={nodes}")
        elif spec.gpus_per_node is not None:
            levels.append("nodes=1")
            ctx.lose("nodes", "a GPU request needs a node level; written as nodes=1")
        if spec.gpus_per_node is not None:
            levels.append(f"gpu={spec.gpus_per_node}")
            if cores is not None:
                ctx.lose("tasks_per_node" if nodes is not None else "tasks",
                         "OAR gives GPUs with their own cores; the core count is not written")
        elif cores is not None:
            levels.append(f"core={cores}")
        items = ["/" + "/".join(levels)] if levels else []
        if spec.walltime is not None:
            items.append(f"walltime={units.hms(spec.walltime)}")
        return [",".join(items)] if items else []


def read_walltime(setting: str, ctx) -> int:
    """oarsub's ``walltime=hour[:mn[:sec]]``: a lone number counts hours."""
    parts = setting.strip().split(":")
    if not 1 <= len(parts) <= 3 or not all(re.fullmatch(r"\d+", p) for p in parts):
        raise ctx.fail(f"walltime expects hour[:mn[:sec]], got {setting!r}",
                       "walltime=hour[:mn[:sec]]")
    hours, minutes, seconds = (int(p) for p in parts + ["0"] * (3 - len(parts)))
    return hours * 3600 + minutes * 60 + seconds


# A property term naming hosts: host='x', network_address = "x", host IN ('a', 'b').
_HOSTS = re.compile(r"""\(?\s*(?:host|network_address)\s*(=|IN|NOT\s+IN|!=|<>)\s*"""
                    r"""(\(\s*['"][^'"]+['"](?:\s*,\s*['"][^'"]+['"])*\s*\)|['"][^'"]+['"])"""
                    r"""\s*\)?""", re.IGNORECASE)


def _read_levels(hierarchy: str, out: dict[str, Any], ctx) -> None:
    """One resource group ``/nodes=N/cpu=S/core=C`` (or with ``gpu``)."""
    levels = {}
    for level in hierarchy.strip("/").split("/"):
        if not level:
            continue
        key, _, count = level.partition("=")
        if not count.isdigit():
            raise ctx.fail(f"resource level {level!r} needs a count", "/nodes=N/core=C")
        levels[key.strip()] = int(count)
    nodes = levels.pop("nodes", levels.pop("host", levels.pop("network_address", None)))
    sockets = levels.pop("cpu", None)
    cores = levels.pop("core", None)
    gpus = levels.pop("gpu", levels.pop("gpudevice", None))
    if cores is not None and sockets is not None:
        cores *= sockets
    elif sockets is not None:
        ctx.lose(None, "a count of CPU sockets without cores is not in fractale's job model")
    if nodes is not None:
        out["nodes"] = nodes
        if cores is not None:
            out["tasks_per_node"] = cores
        if gpus is not None:
            out["gpus_per_node"] = gpus
    else:
        if cores is not None:
            out["tasks"] = cores
        if gpus is not None:
            out["gpus_per_node"] = gpus
    for key in levels:
        ctx.lose(None, f"resource level {key} is not in fractale's job model")


class Properties(Codec):
    """``-p "SQL"``: terms naming hosts (``host='x'``, ``network_address IN (...)``, hosts
    joined with OR) are a node list or an exclusion; each other term is a property
    expression, joined with AND."""

    fields = ("constraints", "nodelist", "exclude")

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        out: dict[str, list[str]] = {}
        for term in re.split(r"\s+AND\s+", value, flags=re.I):
            term = term.strip()
            if not term:
                continue
            alternatives = re.split(r"\s+OR\s+", term, flags=re.I)
            matches = [m for t in alternatives if (m := _HOSTS.fullmatch(t.strip())) is not None]
            negated = [m.group(1).upper() not in ("=", "IN") for m in matches]
            if len(matches) != len(alternatives) or (any(negated) and len(matches) > 1):
                out.setdefault("constraints", []).append(term)
                continue
            for match in matches:
                hosts = re.findall(r"""['"]([^'"]+)['"]""", match.group(2))
                out.setdefault("exclude" if negated[0] else "nodelist", []).extend(hosts)
        return out

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        terms = list(spec.constraints)
        for key, hosts, operator in (("nodelist", spec.nodelist, "IN"),
                                     ("exclude", spec.exclude, "NOT IN")):
            if any("'" in h or "[" in h for h in hosts):
                ctx.lose(key, "a host name holding a quote or a range is not written")
            elif len(hosts) == 1 and operator == "IN":
                terms.append(f"network_address='{hosts[0]}'")
            elif hosts:
                terms.append(f"network_address {operator} ("
                             + ", ".join(f"'{h}'" for h in hosts) + ")")
        return [" AND ".join(terms)] if terms else []


class Queue(Codec):
    """``-q queue``; ``default`` is OAR's default queue, so the target's default is kept."""

    fields = ("queue",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        if value.strip() == "default":
            ctx.lose(None, "OAR's default queue: the target manager's default queue is used")
            return {}
        return {"queue": value.strip()}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        if spec.queue == "default":
            ctx.lose("queue", "a queue named default is OAR's default queue")
        return [] if spec.queue is None else [spec.queue]


class Anterior(Codec):
    """``-a ID``: start after job ID has ended, however it ended."""

    fields = ("dependencies",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        if not value.strip():
            raise ctx.fail("-a needs the id of the job to wait for", "-a JOBID")
        return {"dependencies": [f"afterany:{value.strip()}"]}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        out: list[str | None] = []
        for dependency in spec.dependencies:
            kind, _, job = dependency.partition(":")
            if kind == "afterany":
                out.append(job)
            else:
                ctx.lose("dependencies", f"OAR waits for a job to end (afterany), not {kind}")
        return out


class ArrayCount(Codec):
    """``--array N``: N copies indexed 1..N."""

    fields = ("array",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        if not value.strip().isdigit() or int(value) < 1:
            raise ctx.fail(f"--array expects a count, got {value!r}", "a positive integer")
        return {"array": f"1-{int(value)}"}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        if spec.array is None:
            return []
        ranges, limit = units.array_parts(spec.array)
        if len(ranges) == 1 and ranges[0][0] == 1 and ranges[0][2] == 1 and limit is None:
            return [str(ranges[0][1])]
        ctx.lose("array", f"OAR arrays run 1..N at once; {spec.array} is not of that form")
        return []


class Notify(Codec):
    """``--notify "[BEGIN,END,ERROR]mail:user@host"``."""

    fields = ("mail_user", "mail_events")
    _TAGS = {"BEGIN": "begin", "END": "end", "ERROR": "fail", "RUNNING": "begin"}

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        match = re.fullmatch(r"(?:\[([^\]]*)\])?mail:(.+)", value.strip())
        if not match:
            ctx.lose(None, "notification other than mail is not in fractale's job model")
            return {}
        out: dict[str, Any] = {"mail_user": match.group(2)}
        tags = [t.strip().upper() for t in (match.group(1) or "").split(",") if t.strip()]
        events = {self._TAGS[t] for t in tags if t in self._TAGS}
        for tag in tags:
            if tag not in self._TAGS:
                ctx.lose("mail_events", f"notification tag {tag} is not in fractale's model")
        if events:
            out["mail_events"] = [e for e in ("begin", "end", "fail") if e in events]
        return out

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        if spec.mail_user is None:
            if spec.mail_events:
                ctx.lose("mail_events", "OAR mails only with an address")
            return []
        names = {"begin": "BEGIN", "end": "END", "fail": "ERROR"}
        tags = [names[e] for e in spec.mail_events if e in names]
        for event in spec.mail_events:
            if event not in names:
                ctx.lose("mail_events", f"OAR cannot mail on {event}")
        prefix = f"[{','.join(tags)}]" if tags else ""
        return [f"{prefix}mail:{spec.mail_user}"]


class JobType(Codec):
    """``-t idempotent`` lets OAR resubmit the job; other types are reported."""

    fields = ("requeue",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        if value.strip() == "idempotent":
            return {"requeue": True}
        ctx.lose(None, f"job type {value} is not in fractale's job model")
        return {}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        if spec.requeue is False:
            ctx.lose("requeue", "OAR jobs are not resubmitted unless idempotent")
        return ["idempotent"] if spec.requeue else []


def _read_reservation(value: str) -> str:
    return units.read_iso(value)


def _write_reservation(value: str) -> str | None:
    moment = units.absolute(value)
    return None if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


OPTIONS = (
    Option(("--name", "-n"), Name("name")),
    Option(("--project",), Text("account")),
    Option(("--queue", "-q"), Queue()),
    Option(("--resource", "-l"), Resources()),
    Option(("--stdout", "-O"), Path("output")),
    Option(("--stderr", "-E"), Path("error")),
    Option(("--directory", "-d"), Text("workdir")),
    Option(("--property", "-p"), Properties()),
    Option(("--reservation", "-r"), Quantity("begin", _read_reservation, _write_reservation,
                                             "YYYY-MM-DD hh:mm[:ss]")),
    Option(("--anterior", "-a"), Anterior()),
    Option(("--array",), ArrayCount()),
    Option(("--notify",), Notify()),
    Option(("--type", "-t"), JobType()),
    Option(("--checkpoint",), Ignored("checkpoint signal delay is not in fractale's job model")),
    Option(("--signal",), Ignored("checkpoint signal is not in fractale's job model")),
    Option(("--hold",), Ignored("submits held; not in fractale's job model", takes_value=False)),
    Option(("--array-param-file",), Ignored("array parameter files are not read by fractale")),
)


@register
class Oar(DirectiveManager):
    name = "oar"
    description = "OAR batch script (#OAR)"
    prefix = "#OAR"
    options = OPTIONS
    placeholders = {"id": "%jobid%", "name": "%jobname%"}
    variables = {
        "job_id": "OAR_JOB_ID", "job_name": "OAR_JOB_NAME", "node_file": "OAR_NODE_FILE",
        "submit_dir": "OAR_WORKDIR", "queue": "OAR_JOB_QUEUE", "array_index": "OAR_ARRAY_INDEX",
        "array_id": "OAR_ARRAY_ID", "account": "OAR_PROJECT_NAME",
    }
    variable_aliases = {"OAR_JOBID": "job_id", "OAR_NODEFILE": "node_file",
                        "OAR_O_WORKDIR": "submit_dir"}
    variable_prefixes = ("OAR_",)
    commands = ("oarsub", "oarstat", "oardel", "oarsh", "oarcp", "oarnodes", "oarhold",
                "oarresume")
    launch = launchers.LaunchWriter(launchers.write_mpirun("$" + variables["node_file"]),
                                    ("nodes", "cpus_per_task", "gpus_per_task"))

    def finish_read(self, values, ctx):
        # ``-l /nodes=2+/gpu=1``: resource groups after the first are further components.
        if ctx.scratch.get("_components"):
            values["components"] = ctx.scratch["_components"]
            for component in values["components"]:
                check_counts(component, ctx)


# Submitting ------------------------------------------------------------------------------

# oarstat's job states. An Error job is told apart by its events.
OAR_STATES = {
    "WAITING": "pending", "HOLD": "pending", "TOLAUNCH": "pending",
    "TOACKRESERVATION": "pending", "LAUNCHING": "pending",
    "RUNNING": "running", "FINISHING": "running", "SUSPENDED": "running",
    "RESUMING": "running",
    "TERMINATED": "completed", "ERROR": "failed", "TOERROR": "failed",
}


class OarSubmitter(Submitter):
    """``oarsub -S`` (``--hold`` to hold; the script, made executable, is run by OAR, which
    reads its ``#OAR`` lines); ``oarstat -J -f -j`` (JSON); ``oardel``."""

    native_states = OAR_STATES
    executable = True

    def submit_command(self, script, hold):
        return Command(["oarsub", *(["--hold"] if hold else []), "-S", script])

    def job_id(self, output):
        return first_match(r"^OAR_JOB_ID\s*=\s*(\d+)\s*$", output, re.MULTILINE)

    def outputs(self, spec, script):
        named = [path for path in (spec.output, spec.error) if path]
        if named:
            return list(dict.fromkeys(named))
        stem = f"OAR.{spec.name}.{{{{id}}}}" if spec.name else "OAR.{{id}}"
        return [f"{stem}.stdout", f"{stem}.stderr"]

    def status_commands(self, job_id, workdir=None):
        return [["oarstat", "-J", "-f", "-j", job_id]]

    def read_status(self, job_id, result):
        if not result.ok:
            return None
        try:
            document = json.loads(result.stdout)
        except ValueError:
            return None
        job = document.get(job_id) if isinstance(document, dict) else None
        if not isinstance(job, dict) or not job.get("state"):
            return None
        native = str(job["state"])
        state = self.state(native)
        raw = integer(str(job.get("exit_code"))) if job.get("exit_code") is not None else None
        # OAR keeps the script's raw wait status: the code shifted by 8, or the signal.
        code = None if raw is None else (128 + (raw & 0x7F) if raw & 0x7F else raw >> 8)
        events = [str(event.get("type", "")) for event in job.get("events") or []
                  if isinstance(event, dict)]
        if state == "completed" and code:
            state = "failed"
        if state == "failed":
            if any("WALLTIME" in event for event in events):
                state = "timeout"
            elif any(event in ("FRAG_JOB_REQUEST", "USER_FRAG") for event in events):
                state = "cancelled"
        if state in ("pending", "running"):
            code = None
        return Status(state, native, code, ", ".join(events) or None)

    def cancel_command(self, job_id):
        return ["oardel", job_id]


Oar.submitter = OarSubmitter
