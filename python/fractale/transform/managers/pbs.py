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
)
from fractale.transform.model import JobSpec
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
    """``select=N:ncpus=C:mpiprocs=M:ompthreads=T:ngpus=G:mem=X`` (one kind of chunk)."""
    if "+" in value:
        ctx.lose(None, "chunks of several shapes; only the first is kept")
        value = value.split("+")[0]
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


def read_torque_nodes(value: str, out: dict[str, Any], ctx: Context) -> None:
    """``nodes=2:ppn=16:gpus=2:feature`` or ``nodes=host1+host2``."""
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
        self.fields = RESOURCE_FIELDS + (("qos",) if style == "torque" else ())

    def read(self, value, ctx):
        out: dict[str, Any] = {}
        for item in _split_resources(value):
            key, _, setting = item.partition("=")
            key = key.strip().lower()
            if key == "select":
                read_select(setting, out, ctx)
            elif key == "nodes":
                read_torque_nodes(setting, out, ctx)
            elif key == "place":
                if "excl" in setting.split(":"):
                    out["exclusive"] = True
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

    def write(self, spec, ctx):
        return (self.write_pro(spec, ctx) if self.style == "pro"
                else self.write_torque(spec, ctx))

    def _layout(self, spec: JobSpec, ctx: Context) -> tuple[int | None, int | None]:
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
        if chunk or nodes is not None:
            if nodes is None:
                ctx.lose("nodes", "written as one chunk")
            out.append(":".join([f"select={nodes or 1}", *chunk]))
        if spec.walltime is not None:
            out.append(f"walltime={units.hms(spec.walltime)}")
        if spec.exclusive:
            out.append("place=scatter:excl")
        return out

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
    """``-j oe``: standard error joins standard output (the model's unset error path)."""

    fields = ()

    def read(self, value, ctx):
        if value not in ("oe", "eo", "n"):
            raise ctx.fail(f"-j expects oe, eo or n, got {value!r}", "oe, eo or n")
        return {"_join": value}

    def write(self, spec, ctx):
        return ["oe"] if spec.output is not None and spec.error is None else []


class Export(Codec):
    """``-V`` exports the submitting environment; ``-v NAME=value,...`` sets variables."""

    fields = ("export_env", "environment")

    def read(self, value, ctx):
        return {"environment": read_env_items(value.split(","), ctx)}

    def write(self, spec, ctx):
        if spec.export_env == "none":
            ctx.lose("export_env", "PBS exports nothing by default; no directive says so")
        items = write_env_items(spec, ctx)
        return [",".join(items)] if items else []


class AdditionalAttributes(Codec):
    """``-W depend=...``; the other ``-W`` attributes are reported."""

    fields = ("dependencies",)

    def read(self, value, ctx):
        key, _, setting = value.partition("=")
        if key == "depend":
            return {"dependencies": read_dependencies(setting, ctx)}
        ctx.lose(None, f"-W {key} is not in fractale's job model")
        return {}

    def write(self, spec, ctx):
        kept = [d for d in spec.dependencies if d != "singleton"]
        if len(kept) != len(spec.dependencies):
            ctx.lose("dependencies", f"{ctx.manager.name} has no singleton dependency")
        return [f"depend={write_dependencies(kept)}"] if kept else []


class Rerunnable(Codec):
    fields = ("requeue",)

    def read(self, value, ctx):
        if value.lower() not in ("y", "n"):
            raise ctx.fail(f"-r expects y or n, got {value!r}", "y or n")
        return {"requeue": value.lower() == "y"}

    def write(self, spec, ctx):
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
    Option(("-q",), Text("queue")),
    Option(("-l",), Resources("pro")),
    Option(("-o",), Path("output")),
    Option(("-e",), Path("error")),
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
        "cpus_per_task": "NCPUS",
    }
    variable_aliases = {"PBS_ARRAYID": "array_index", "PBS_TASKNUM": "task_count"}
    launch = launchers.LaunchWriter(launchers.write_mpiexec, ("nodes", "gpus_per_task"))


    def finish_read(self, values, ctx):
        settle_job_memory(values, ctx)
        if ctx.scratch.get("_join") in ("oe", "eo") and values.get("error") is not None:
            ctx.lose("error", "-j joins the streams, so the -e path is not used")
            values.pop("error")



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
