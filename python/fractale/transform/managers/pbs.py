"""PBS Pro and Torque batch scripts (``#PBS``): the option table and the ``-l`` resource
list in both spellings — PBS Pro chunks (``select=2:ncpus=32:mpiprocs=32:ngpus=4``) and
Torque node specs (``nodes=2:ppn=32``). Scripts are written in PBS Pro's spelling; Moab
reuses the Torque half.
"""

from __future__ import annotations

import re
from typing import Any

from fractale.transform import launchers, units
from fractale.transform.codecs import (
    Array,
    MailEvents,
    read_dependencies,
    read_env_items,
    write_dependencies,
    write_env_items,
)
from fractale.transform.directives import (
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
)
from fractale.transform.model import BatchJob
from fractale.transform.registry import register
from fractale.transform.submitter import (
    Command,
    Status,
    Submitter,
    integer,
    key_values,
    last_line,
)

RESOURCE_FIELDS = ("nodes", "tasks", "tasks_per_node", "cpus_per_task", "gpus_per_node",
                   "gpu_type", "memory_per_node", "memory_per_cpu", "walltime", "exclusive",
                   "nodelist", "constraints")


def _memory(value: str, ctx: Context) -> int:
    try:
        return units.read_memory(value, "b")
    except ValueError as err:
        raise ctx.fail(str(err), "a size such as 4gb or 500mb") from None


def _count(value: str, what: str, ctx: Context) -> int:
    if not value.isdigit():
        raise ctx.fail(f"{what} expects a count, got {value!r}", "an integer")
    return int(value)


def read_select(value: str, out: dict[str, Any], ctx: Context) -> None:
    """``select=N:ncpus=C:mpiprocs=M:ompthreads=T:ngpus=G:mem=X[+N:...]``: the first chunk
    shape is the job's, each further one a component of a heterogeneous job."""
    first, *others = value.split("+")
    read_chunk(first, out, ctx)
    if others:
        components = []
        for chunk in others:
            component: dict[str, Any] = {}
            read_chunk(chunk, component, ctx)
            components.append(component)
        out["_components"] = components


def read_chunk(value: str, out: dict[str, Any], ctx: Context) -> None:
    """One chunk shape ``N:ncpus=C:mpiprocs=M:...``."""
    parts = value.split(":")
    chunk: dict[str, str] = {}
    if parts and parts[0].isdigit():
        out["nodes"] = int(parts.pop(0))
    else:
        out["nodes"] = 1
    for part in parts:
        key, _, setting = part.partition("=")
        chunk[key] = setting
    ncpus = _count(chunk.pop("ncpus"), "ncpus", ctx) if "ncpus" in chunk else None
    mpiprocs = _count(chunk.pop("mpiprocs"), "mpiprocs", ctx) if "mpiprocs" in chunk else None
    threads = _count(chunk.pop("ompthreads"), "ompthreads", ctx) if "ompthreads" in chunk else None
    if mpiprocs is not None:
        out["tasks_per_node"] = mpiprocs
    if threads is not None:
        out["cpus_per_task"] = threads
    elif ncpus is not None:
        per_task = ncpus // (mpiprocs or 1)
        if per_task > 1 and ncpus % (mpiprocs or 1) == 0:
            out["cpus_per_task"] = per_task
    for key in ("ngpus", "gpus"):
        if key in chunk:
            out["gpus_per_node"] = _count(chunk.pop(key), key, ctx)
    for key in ("gpu_type", "gpu_model", "accelerator_model"):
        if key in chunk:
            out["gpu_type"] = chunk.pop(key)
    if "mem" in chunk:
        out["memory_per_node"] = _memory(chunk.pop("mem"), ctx)
    if "host" in chunk:
        out["nodelist"] = [chunk.pop("host")]
    for key, setting in chunk.items():
        ctx.lose(None, f"chunk resource {key}={setting} is not in fractale's job model")


def read_place(value: str, out: dict[str, Any], ctx: Context) -> None:
    """``place=[arrangement][:sharing][:group=resource]``: ``excl`` and ``exclhost`` are
    whole nodes; ``scatter``/``vscatter`` (a chunk per host) is how the model reads chunks
    as nodes; ``pack``, ``free`` and grouping are reported."""
    for part in value.split(":"):
        if part in ("excl", "exclhost"):
            out["exclusive"] = True
        elif part not in ("scatter", "vscatter", "shared", ""):
            ctx.lose(None, f"place={part} is not in fractale's job model (it reads each "
                           "chunk as one node)")


def read_torque_nodes(value: str, out: dict[str, Any], ctx: Context) -> None:
    """``nodes=2:ppn=16:gpus=2:feature``, ``nodes=host1+host2``, or node specs of several
    shapes ``nodes=2:ppn=16+1:ppn=4`` (each further one a component)."""
    specs = value.split("+")
    if len(specs) > 1 and any(spec.split(":")[0].isdigit() for spec in specs):
        read_torque_nodes(specs[0], out, ctx)
        components = []
        for spec in specs[1:]:
            component: dict[str, Any] = {}
            read_torque_nodes(spec, component, ctx)
            components.append(component)
        out["_components"] = components
        return
    first, *rest = value.split(":")
    if first.isdigit():
        out["nodes"] = int(first)
    else:
        hosts = first.split("+")
        out["nodelist"] = hosts
    features = []
    for part in rest:
        key, eq, setting = part.partition("=")
        if key == "ppn" and eq:
            out["tasks_per_node"] = _count(setting, "ppn", ctx)
        elif key == "gpus" and eq:
            out["gpus_per_node"] = _count(setting, "gpus", ctx)
        elif not eq:
            features.append(key)
        else:
            ctx.lose(None, f"node resource {part} is not in fractale's job model")
    if features:
        out["constraints"] = features


class Resources(Codec):
    """``-l`` lists, read in either spelling, written in ``style`` ("pro" or "torque")."""

    def __init__(self, style: str) -> None:
        self.style = style
        # Moab's Torque lists also carry the QoS.
        self.fields = RESOURCE_FIELDS + (("qos",) if style == "torque" else ("components",))

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for item in _split_resources(value):
            key, _, setting = item.partition("=")
            key = key.strip().lower()
            if key == "select":
                read_select(setting, out, ctx)
            elif key == "nodes":
                read_torque_nodes(setting, out, ctx)
            elif key == "place":
                read_place(setting, out, ctx)
            elif key == "walltime":
                out["walltime"] = self._clock(setting, ctx)
            elif key == "mem":
                out["_job_memory"] = _memory(setting, ctx)
            elif key == "pmem":
                out["memory_per_cpu"] = _memory(setting, ctx)
            elif key == "ncpus":
                out["cpus_per_task"] = _count(setting, "ncpus", ctx)
            elif key in ("ngpus", "gpus"):
                out["gpus_per_node"] = _count(setting, key, ctx)
            elif key == "feature":
                out["constraints"] = [f for f in re.split(r"[:&]", setting) if f]
            elif key == "naccesspolicy" and setting.lower() in ("singlejob", "singleuser"):
                out["exclusive"] = True
            elif key == "qos":
                out["qos"] = setting
            elif key == "depend":
                out["dependencies"] = read_dependencies(setting, ctx)
            elif key == "procs":
                out["tasks"] = _count(setting, "procs", ctx)
            else:
                ctx.lose(None, f"resource {item} is not in fractale's job model")
        return out

    def _clock(self, setting: str, ctx: Context) -> int:
        try:
            return units.read_clock(setting)
        except ValueError as err:
            raise ctx.fail(str(err), "walltime=HH:MM:SS") from None

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        return (self.write_pro(spec, ctx) if self.style == "pro"
                else self.write_torque(spec, ctx))

    def _layout(self, spec: BatchJob, ctx: Context) -> tuple[int | None, int | None]:
        """(chunks/nodes, tasks per node) with tasks folded in where they divide."""
        nodes, per_node = spec.nodes, spec.tasks_per_node
        if spec.tasks is not None:
            if nodes is not None and per_node is None and spec.tasks % nodes == 0:
                per_node = spec.tasks // nodes
                ctx.lose("tasks", f"written as {per_node} tasks on each of {nodes} nodes")
                ctx.lose("tasks_per_node", f"written as {per_node} tasks on each node")
            elif nodes is None and per_node is None:
                nodes, per_node = spec.tasks, 1
                for name in ("tasks", "nodes", "tasks_per_node"):
                    ctx.lose(name, f"{spec.tasks} tasks written as {spec.tasks} one-task chunks")
            elif nodes is None or per_node is None or spec.tasks != nodes * per_node:
                ctx.lose("tasks", f"{spec.tasks} tasks do not fit {self.style} node counts")
            else:
                ctx.lose("tasks", "implied by nodes and tasks per node")
        return nodes, per_node

    def write_pro(self, spec, ctx):
        out = []
        select = self._chunk(spec, ctx)
        for number, component in enumerate(spec.components, start=1):
            part = Context(ctx.manager, stage=ctx.stage)
            chunk = self._chunk(BatchJob(**component), part) or "1"
            for name in ("queue", "exclusive"):
                if component.get(name):
                    part.lose(name, f"PBS Pro sets {name} for the whole job, not per chunk")
            for loss in part.losses:
                ctx.lose("components", f"component {number}: {loss.field}: {loss.reason}")
            if select is None:
                ctx.lose("nodes", "written as one chunk")
                select = "1"
            select += "+" + chunk
        if select is not None:
            out.append(f"select={select}")
        if spec.walltime is not None:
            out.append(f"walltime={units.hms(spec.walltime)}")
        if spec.exclusive:
            out.append("place=scatter:excl")
        return out

    def _chunk(self, spec: BatchJob, ctx: Context) -> str | None:
        """One chunk shape ``N:ncpus=...`` for the spec's layout, None when it asks none."""
        nodes, per_node = self._layout(spec, ctx)
        chunk = []
        cpus = spec.cpus_per_task
        if per_node is not None:
            chunk.append(f"ncpus={per_node * (cpus or 1)}")
            chunk.append(f"mpiprocs={per_node}")
        elif cpus is not None:
            chunk.append(f"ncpus={cpus}")
        if cpus is not None:
            chunk.append(f"ompthreads={cpus}")
        if spec.gpus_per_node is not None:
            chunk.append(f"ngpus={spec.gpus_per_node}")
        if spec.gpu_type is not None:
            if spec.gpus_per_node is not None:
                chunk.append(f"gpu_type={spec.gpu_type}")
            else:
                ctx.lose("gpu_type", "PBS names a GPU type with a per-node GPU count only")
        if spec.memory_per_node is not None:
            chunk.append(f"mem={units.write_memory(spec.memory_per_node, 'pbs')}")
        if spec.memory_per_cpu is not None:
            ctx.lose("memory_per_cpu", "PBS Pro asks for memory per chunk, not per CPU")
        if len(spec.nodelist) == 1 and "[" not in spec.nodelist[0]:
            chunk.append(f"host={spec.nodelist[0]}")
        elif spec.nodelist:
            ctx.lose("nodelist", "PBS Pro names one host per chunk shape")
        if spec.constraints:
            ctx.lose("constraints", "PBS Pro features are site-defined chunk resources")
        if not chunk and nodes is None:
            return None
        if nodes is None:
            ctx.lose("nodes", "written as one chunk")
        return ":".join([str(nodes or 1), *chunk])

    def write_torque(self, spec, ctx):
        out = []
        nodes, per_node = self._layout(spec, ctx)
        cpus = spec.cpus_per_task
        ppn = per_node
        if cpus is not None:
            if per_node is not None and cpus > 1:
                ppn = per_node * cpus
                ctx.lose("cpus_per_task", f"written as ppn={ppn}, processors per node")
                ctx.lose("tasks_per_node", f"written as ppn={ppn}, processors per node")
            elif per_node is not None:
                ctx.lose("cpus_per_task", "one processor per task is what ppn counts already")
            elif per_node is None:
                ppn = cpus
                ctx.lose("cpus_per_task", f"written as ppn={cpus}, processors per node")
                ctx.lose("tasks_per_node", f"written as ppn={cpus}, processors per node")
        node = None
        if spec.nodelist and nodes is None and not any(h.isdigit() for h in spec.nodelist):
            node = "+".join(spec.nodelist)
        elif spec.nodelist:
            ctx.lose("nodelist", "Torque names hosts instead of a node count, and a host "
                                 "name of digits only reads as a count")
        if node is None and (nodes is not None or ppn is not None or spec.gpus_per_node
                             or spec.constraints):
            node = str(nodes or 1)
            if nodes is None:
                ctx.lose("nodes", "written as nodes=1")
        if node is not None:
            parts = [node]
            if ppn is not None:
                parts.append(f"ppn={ppn}")
            if spec.gpus_per_node is not None:
                parts.append(f"gpus={spec.gpus_per_node}")
            for feature in spec.constraints:
                if re.fullmatch(r"[A-Za-z0-9_.-]+", feature):
                    parts.append(feature)
                else:
                    ctx.lose("constraints", f"{feature!r} is not a node property name")
            out.append("nodes=" + ":".join(parts))
        if spec.gpu_type is not None:
            ctx.lose("gpu_type", "Torque node specs have no GPU type")
        if spec.walltime is not None:
            out.append(f"walltime={units.hms(spec.walltime)}")
        if spec.memory_per_node is not None:
            out.append(f"mem={units.write_memory(spec.memory_per_node * (nodes or 1), 'pbs')}")
        if spec.memory_per_cpu is not None:
            out.append(f"pmem={units.write_memory(spec.memory_per_cpu, 'pbs')}")
        if spec.exclusive:
            out.append("naccesspolicy=singlejob")
        if spec.qos is not None:
            out.append(f"qos={spec.qos}")
        return out


def _split_resources(value: str) -> list[str]:
    """Split a resource list on commas that start a new ``key=`` item."""
    return [item for item in re.split(r",(?=[A-Za-z_]+=)", value.strip()) if item]


class StreamPath(Path):
    """``-o``/``-e`` paths; one naming a directory (``logs/``, ``.``) holds the file PBS
    names itself: the job name, ``.o`` or ``.e``, the job id."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.default = "{{name}}." + name[0] + "{{id}}"

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        path = value.strip()
        if path in (".", "..") or path.endswith("/"):
            return {self.fields[0]: path.rstrip("/") + "/" + self.default}
        return super().read(value, ctx)

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        value = getattr(spec, self.fields[0])
        if value is not None and value.endswith("/" + self.default):
            return [value[: -len(self.default)]]
        return super().write(spec, ctx)


def settle_job_memory(values: dict[str, Any], ctx: Context) -> None:
    """Torque's ``mem`` is for the whole job: per node once the node count is known."""
    memory = ctx.scratch.get("_job_memory")
    if memory is None:
        return
    nodes = values.get("nodes") or 1
    if "memory_per_node" in values:
        ctx.lose("memory_per_node", "both a job-wide mem and a per-chunk mem; the chunk wins")
    elif memory % nodes == 0:
        values["memory_per_node"] = memory // nodes
    else:
        values["memory_per_node"] = memory // nodes
        ctx.lose("memory_per_node", f"job memory {memory} MiB rounded down over {nodes} nodes")


class Join(Codec):
    """``-j oe``/``-j eo``: standard error and output in one file (settled in
    ``settle_join``); written whenever the model joins them, or names an output file only."""

    fields = ("join_output",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        if value not in ("oe", "eo", "n"):
            raise ctx.fail(f"-j expects oe, eo or n, got {value!r}", "oe, eo or n")
        return {"_join": value}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        if spec.join_output and spec.error is not None:
            ctx.lose("error", "the streams are joined, so no error file is written")
        joined = spec.join_output or (spec.output is not None and spec.error is None)
        return ["oe"] if joined else []


def settle_join(values: dict[str, Any], ctx: Context) -> None:
    """``-j oe`` keeps the -o path (the -e path is unused); ``-j eo`` the -e path, which
    the model holds as the output file."""
    join = ctx.scratch.get("_join")
    if join not in ("oe", "eo"):
        return
    kept, unused = ("output", "error") if join == "oe" else ("error", "output")
    if values.get(unused) is not None:
        ctx.lose(unused, f"-j {join} joins the streams, so the -{unused[0]} path is not used")
    path = values.pop(kept, None)
    values.pop(unused, None)
    values["join_output"] = True
    if path is not None:
        values["output"] = path


class Destination(Codec):
    """``-q queue``, ``-q queue@server`` or ``-q @server``: the server is reported."""

    fields = ("queue",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        queue, at, server = value.strip().partition("@")
        if at:
            ctx.lose(None, f"server {server} is not in fractale's job model; the queue "
                           f"{queue or '(the default)'} is kept")
        return {"queue": queue} if queue else {}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        return [] if spec.queue is None else [spec.queue]


class Export(Codec):
    """``-V`` exports the submitting environment; ``-v NAME=value,...`` sets variables (as
    PBS, Moab and Grid Engine all spell it)."""

    fields = ("export_env", "environment")

    def __init__(self, manager: str = "PBS") -> None:
        self.manager = manager

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        return {"environment": read_env_items(value.split(","), ctx)}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        if spec.export_env == "none":
            ctx.lose("export_env",
                     f"{self.manager} exports nothing by default; no directive says so")
        items = write_env_items(spec, ctx)
        return [",".join(items)] if items else []


class AdditionalAttributes(Codec):
    """``-W depend=...``; the other ``-W`` attributes are reported."""

    fields = ("dependencies",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        key, _, setting = value.partition("=")
        if key == "depend":
            return {"dependencies": read_dependencies(setting, ctx)}
        ctx.lose(None, f"-W {key} is not in fractale's job model")
        return {}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        kept = [d for d in spec.dependencies if d != "singleton"]
        if len(kept) != len(spec.dependencies):
            ctx.lose("dependencies", f"{ctx.manager.name} has no singleton dependency")
        return [f"depend={write_dependencies(kept)}"] if kept else []


class Rerunnable(Codec):
    fields = ("requeue",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        if value.lower() not in ("y", "n"):
            raise ctx.fail(f"-r expects y or n, got {value!r}", "y or n")
        return {"requeue": value.lower() == "y"}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        return [] if spec.requeue is None else ["y" if spec.requeue else "n"]


def pbs_array(array: str, ctx: Context) -> str | None:
    ranges, _ = units.array_parts(array)
    if len(ranges) > 1:
        ctx.lose("array", f"{ctx.manager.name} arrays are one range, not {array}")
        return None
    return array


MAIL = {"a": ("fail",), "b": ("begin",), "e": ("end",)}


def begin_codec() -> Quantity:
    return Quantity("begin", units.read_pbs_datetime, units.write_pbs_datetime,
                    "[[CC]YY]MMDDhhmm[.SS]")


OPTIONS = (
    Option(("-N",), Name("name")),
    Option(("-A",), Text("account")),
    Option(("-P",), Text("account"), write=False),
    Option(("-q",), Destination()),
    Option(("-l",), Resources("pro")),
    Option(("-o",), StreamPath("output")),
    Option(("-e",), StreamPath("error")),
    Option(("-j",), Join()),
    Option(("-i",), Path("input")),
    Option(("-d",), Text("workdir")),
    Option(("-w",), Text("workdir"), write=False),
    Option(("-V",), Flag("export_env", "all")),
    Option(("-v",), Export()),
    Option(("-W",), AdditionalAttributes()),
    Option(("-J",), Array(pbs_array)),
    Option(("-t",), Array(), write=False),
    Option(("-a",), begin_codec()),
    Option(("-p",), Int("priority", -1024)),
    Option(("-M",), Text("mail_user")),
    Option(("-m",), MailEvents(MAIL, "", none="n")),
    Option(("-r",), Rerunnable()),
    Option(("-S",), Ignored("shell path option; fractale keeps the script's #! line")),
    Option(("-k",), Ignored("keeps output on the execution host; not in fractale's job model")),
    Option(("-h",), Ignored("submits held; not in fractale's job model", takes_value=False)),
    Option(("-n",), Flag("exclusive"), write=False),
    Option(("-c",), Ignored("checkpointing is not in fractale's job model")),
    Option(("-u",), Ignored("user list is not in fractale's job model")),
)


@register
class Pbs(DirectiveManager):
    name = "pbs"
    description = "PBS Pro or Torque batch script (#PBS)"
    prefix = "#PBS"
    options = OPTIONS
    placeholders = {"array_index": "^array_index^"}
    variables = {
        "job_id": "PBS_JOBID", "job_name": "PBS_JOBNAME", "node_count": "PBS_NUM_NODES",
        "task_count": "PBS_NP", "node_file": "PBS_NODEFILE", "submit_dir": "PBS_O_WORKDIR",
        "queue": "PBS_QUEUE", "array_index": "PBS_ARRAY_INDEX", "array_id": "PBS_ARRAY_ID",
        "cpus_per_task": "NCPUS", "account": "PBS_ACCOUNT",
    }
    variable_aliases = {"PBS_ARRAYID": "array_index", "PBS_TASKNUM": "task_count",
                        "PBS_NUM_PPN": "tasks_per_node", "PBS_O_QUEUE": "queue"}
    variable_prefixes = ("PBS_",)
    commands = ("qsub", "qstat", "qdel", "qalter", "qhold", "qrls", "pbsnodes", "pbsdsh",
                "tracejob")
    launch = launchers.LaunchWriter(launchers.write_mpiexec, ("nodes", "gpus_per_task"),
                                    mpmd=True)


    def finish_read(self, values, ctx):
        settle_job_memory(values, ctx)
        settle_join(values, ctx)
        if ctx.scratch.get("_components"):
            values["components"] = ctx.scratch["_components"]
            for component in values["components"]:
                check_counts(component, ctx)



# Submitting ------------------------------------------------------------------------------

# qstat's one-letter job_state (PBS Pro and Torque). A finished job (F, C, X) is read from
# its exit status and, on PBS Pro, its substate.
PBS_STATES = {
    "Q": "pending", "H": "pending", "W": "pending", "T": "pending",
    "R": "running", "E": "running", "B": "running", "S": "running", "U": "running",
    "F": "completed", "C": "completed", "X": "completed",
}
# Exit statuses the servers give a job killed at its walltime (Torque -11, PBS Pro -29).
PBS_WALLTIME_KILLED = frozenset({-11, -29})
# PBS Pro's substates of a finished job: 91 terminated (deleted), 93 failed.
PBS_SUBSTATES = {"91": "cancelled", "93": "failed"}


def read_finished(native: str, fields: dict[str, str]) -> Status:
    """A finished PBS or Moab job's status from its exit status (signals as 256+N)."""
    status = integer(fields.get("Exit_status") or fields.get("exit_status"))
    code = status
    if status is not None and status >= 256:
        code = 128 + status - 256
    comment = fields.get("comment", "")
    substate = PBS_SUBSTATES.get(fields.get("substate", ""))
    if status in PBS_WALLTIME_KILLED or "walltime" in comment.lower() and "exceed" in comment:
        return Status("timeout", native, code, comment or None)
    if substate is not None:
        return Status(substate, native, code, comment or None)
    if status is None:
        return Status("unknown", native, None, comment or "no exit status")
    return Status("completed" if status == 0 else "failed", native, code, comment or None)


class PbsSubmitter(Submitter):
    """``qsub`` (``-h`` to hold); ``qstat -f``, then ``qstat -x -f`` for PBS Pro's finished
    jobs (Torque answers ``-x`` in XML, read too); ``qdel``."""

    native_states = PBS_STATES
    default_outputs = ("{{name}}.o{{seq}}", "{{name}}.e{{seq}}")

    def submit_command(self, script, hold):
        return Command(["qsub", *(["-h"] if hold else []), script])

    def job_id(self, output):
        return last_line(output)

    def placeholders(self, job_id):
        return {"id": job_id, "seq": job_id.split(".")[0]}

    def status_commands(self, job_id, workdir=None):
        return [["qstat", "-f", job_id], ["qstat", "-x", "-f", job_id]]

    def read_status(self, job_id, result):
        if not result.ok:
            return None
        if result.stdout.lstrip().startswith("<"):
            fields = dict(re.findall(r"<(\w+)>([^<]*)</\1>", result.stdout))
        else:
            fields = key_values(result.stdout)
        native = fields.get("job_state", "").strip()
        if not native:
            return None
        state = self.state(native)
        if state == "completed":
            return read_finished(native, fields)
        return Status(state, native, None, fields.get("comment"))

    def cancel_command(self, job_id):
        return ["qdel", job_id]


Pbs.submitter = PbsSubmitter
