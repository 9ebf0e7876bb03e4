"""Slurm batch scripts (``#SBATCH``): the option table and Slurm's few special cases."""

from __future__ import annotations

import re
from typing import Any

from fractale.transform import launchers, units
from fractale.transform.codecs import (
    Array,
    Dependencies,
    GpuCount,
    Licenses,
    MailEvents,
    read_env_items,
    write_env_items,
)
from fractale.transform.directives import (
    Codec,
    Context,
    DirectiveManager,
    Flag,
    Ignored,
    Int,
    Items,
    Name,
    Option,
    Path,
    Quantity,
    Text,
    check_counts,
    merge,
)
from fractale.transform.model import COMPONENT_FIELDS, BatchJob
from fractale.transform.registry import register
from fractale.transform.submitter import Command, Status, Submitter, integer

# The directive that starts the next component of a heterogeneous job (packjob: its name
# before Slurm 20.02).
HETJOB = ("hetjob", "packjob")


class Nodes(Codec):
    """``-N 2`` or a range ``2-4`` (the minimum is kept, the range reported)."""

    fields = ("nodes",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", value.strip())
        if not match:
            raise ctx.fail(f"--nodes expects N or MIN-MAX, got {value!r}", "N or MIN-MAX")
        if match.group(2):
            ctx.lose("nodes", f"node range {value}: the minimum {match.group(1)} is kept")
        return {"nodes": int(match.group(1))}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        return [] if spec.nodes is None else [str(spec.nodes)]


class Gres(Codec):
    """``--gres=gpu[:type]:N`` (GPUs per node); other generic resources are reported."""

    fields = ()

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for item in value.split(","):
            name, _, rest = item.partition(":")
            if name != "gpu":
                ctx.lose(None, f"generic resource {item!r} is not in fractale's job model")
                continue
            kind, count = units_gpu(rest)
            out["gpus_per_node"] = count
            if kind:
                out["gpu_type"] = kind
        return out

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        return []


def units_gpu(rest: str) -> tuple[str | None, int]:
    if not rest:
        return None, 1
    kind, _, count = rest.rpartition(":")
    if count.isdigit():
        return kind or None, int(count)
    return rest, 1


class TotalGpus(Codec):
    """``--gpus=[type:]N``: GPUs for the whole job, settled per node once nodes are known."""

    fields = ()

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        kind, _, count = value.rpartition(":")
        if not count.isdigit():
            raise ctx.fail(f"--gpus expects [type:]count, got {value!r}", "[type:]count")
        out: dict[str, Any] = {"_gpus": int(count)}
        if kind:
            out["gpu_type"] = kind
        return out

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        return []


class Export(Codec):
    """``--export=ALL|NONE|[ALL,]NAME=value,...`` -> export policy and variables. Variables
    named without ALL are all the job gets (the model's export policy "none")."""

    fields = ("export_env", "environment")

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        items = [item for item in value.split(",") if item]
        out: dict[str, Any] = {}
        policy = None
        names = []
        for item in items:
            if item.upper() in ("ALL", "NONE", "NIL"):
                policy = "all" if item.upper() == "ALL" else "none"
            else:
                names.append(item)
        if policy is None and names:
            policy = "none"
        if policy is not None:
            out["export_env"] = policy
        if names:
            out["environment"] = read_env_items(names, ctx)
        return out

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        items = write_env_items(spec, ctx)
        if spec.export_env == "all" or (spec.export_env is None and items):
            # Named variables without ALL would be all the job gets.
            return [",".join(["ALL", *items])]
        if spec.export_env == "none":
            return [",".join(items)] if items else ["NONE"]
        return []


class Exclusive(Codec):
    """``--exclusive[=user|mcs]``: whole nodes."""

    fields = ("exclusive",)
    takes_value = False

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        return {"exclusive": True}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        return [None] if spec.exclusive else []


class Features(Items):
    """``--constraint=a&b``: node features, ``|`` alternatives and ``[a*2&b]`` counts.
    A constraint that is an expression of another manager (``mem>600000``,
    ``gpu_model='A100'``) is no feature name: sbatch refuses it, so it is reported."""

    _FEATURE = re.compile(r"[A-Za-z0-9_.\-|*\[\]]+")

    def __init__(self) -> None:
        super().__init__("constraints", "&")

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        kept = []
        for constraint in spec.constraints:
            if self._FEATURE.fullmatch(constraint):
                kept.append(constraint)
            else:
                ctx.lose("constraints", f"{constraint!r} is an expression, not a Slurm node "
                                        "feature")
        return ["&".join(kept)] if kept else []


class Nice(Codec):
    """``--nice[=N]`` lowers priority by N (100 when not given); the model's priority is its
    negation. Its value is optional, so sbatch takes it attached only."""

    fields = ("priority",)
    takes_value = False

    def bare(self, ctx: Context) -> dict[str, Any]:
        return {"priority": -100}

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        if not re.fullmatch(r"-?\d+", value.strip()):
            raise ctx.fail(f"--nice expects an integer, got {value!r}", "an integer")
        return {"priority": -int(value)}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        return [] if spec.priority is None else [str(-spec.priority)]


class PyxisImage(Codec):
    """``--container-image`` comes from the pyxis plugin: read, but not written, since a
    Slurm without pyxis refuses the whole script over it."""

    fields = ("container_image",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        return {"container_image": value}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        if spec.container_image is not None:
            ctx.lose("container_image", "needs the pyxis plugin, which stock Slurm lacks; "
                                        "run the image from the script instead")
        return []


def _mail_tokens() -> dict[str, tuple[str, ...]]:
    return {"BEGIN": ("begin",), "END": ("end",), "FAIL": ("fail",), "REQUEUE": ("requeue",),
            "ALL": ("begin", "end", "fail", "requeue"), "INVALID_DEPEND": ("fail",),
            "TIME_LIMIT": ("fail",), "STAGE_OUT": ("end",)}


SLURM_TIME = ("[D-]HH:MM:SS or minutes", units.read_slurm_time, units.write_slurm_time)


class TimeLimit(Quantity):
    """``--time``; ``UNLIMITED``/``INFINITE`` asks for no limit: the target's default
    limit applies, which is reported."""

    def __init__(self) -> None:
        expected, reader, writer = SLURM_TIME
        super().__init__("walltime", reader, writer, expected)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        if value.strip().upper() in ("UNLIMITED", "INFINITE"):
            ctx.lose("walltime", "no time limit: the target's default limit applies")
            return {}
        return super().read(value, ctx)


def _memory(name: str) -> Quantity:
    return Quantity(name, lambda v: units.read_memory(v, "m"), units.write_memory,
                    "a size such as 4G or 500M")


def _begin(value: str) -> str:
    seconds = units.relative_seconds(value)
    return f"now+{seconds}" if seconds is not None else value


def _array_from_slurm(value: str) -> str:
    """``[0-4]%2``: sbatch also takes the indexes in brackets."""
    body, percent, limit = value.strip().partition("%")
    if body.startswith("[") and body.endswith("]"):
        body = body[1:-1]
    return body + percent + limit


OPTIONS = (
    Option(("--job-name", "-J"), Name("name")),
    Option(("--account", "-A"), Text("account")),
    Option(("--partition", "-p"), Text("queue")),
    Option(("--nodes", "-N"), Nodes()),
    Option(("--ntasks", "-n", "--tasks"), Int("tasks", 1)),
    Option(("--ntasks-per-node", "--tasks-per-node"), Int("tasks_per_node", 1)),
    Option(("--cpus-per-task", "-c"), Int("cpus_per_task", 1)),
    Option(("--gpus-per-node",), GpuCount("gpus_per_node")),
    Option(("--gpus-per-task",), GpuCount("gpus_per_task")),
    Option(("--gres",), Gres(), write=False),
    Option(("--gpus", "-G"), TotalGpus(), write=False),
    Option(("--mem",), _memory("memory_per_node")),
    Option(("--mem-per-cpu",), _memory("memory_per_cpu")),
    Option(("--time", "-t"), TimeLimit()),
    Option(("--begin", "-b"), Quantity("begin", units.read_begin, _begin,
                                       "YYYY-MM-DDTHH:MM[:SS] or now+N[units]")),
    Option(("--output", "-o"), Path("output")),
    Option(("--error", "-e"), Path("error")),
    Option(("--input", "-i"), Path("input")),
    Option(("--chdir", "-D", "--workdir"), Text("workdir")),
    Option(("--export",), Export()),
    Option(("--exclusive",), Exclusive()),
    Option(("--constraint", "-C"), Features()),
    Option(("--reservation",), Text("reservation")),
    Option(("--nice",), Nice()),
    Option(("--qos", "-q"), Text("qos")),
    Option(("--array", "-a"), Array(from_native=_array_from_slurm)),
    Option(("--dependency", "-d"), Dependencies()),
    Option(("--mail-user",), Text("mail_user")),
    Option(("--mail-type",), MailEvents(_mail_tokens(), ",", none="NONE")),
    Option(("--requeue",), Flag("requeue", True)),
    Option(("--no-requeue",), Flag("requeue", False)),
    Option(("--nodelist", "-w"), Items("nodelist", ",", split=units.split_hostlist)),
    Option(("--exclude", "-x"), Items("exclude", ",", split=units.split_hostlist)),
    Option(("--licenses", "-L"), Licenses()),
    Option(("--container-image",), PyxisImage()),
    Option(("--parsable",), Ignored("only changes what sbatch prints", takes_value=False)),
    Option(("--hint",), Ignored("Slurm task-binding hint, not in fractale's job model")),
    Option(("--distribution", "-m"), Ignored("task distribution is not in fractale's job model")),
)


@register
class Slurm(DirectiveManager):
    name = "slurm"
    description = "Slurm batch script (#SBATCH)"
    prefix = "#SBATCH"
    options = OPTIONS
    placeholders = {"id": "%j", "name": "%x", "array_id": "%A", "array_index": "%a",
                    "user": "%u", "node": "%N"}
    variables = {
        "job_id": "SLURM_JOB_ID", "job_name": "SLURM_JOB_NAME",
        "node_count": "SLURM_JOB_NUM_NODES", "task_count": "SLURM_NTASKS",
        "node_list": "SLURM_JOB_NODELIST", "submit_dir": "SLURM_SUBMIT_DIR",
        "queue": "SLURM_JOB_PARTITION", "array_index": "SLURM_ARRAY_TASK_ID",
        "array_id": "SLURM_ARRAY_JOB_ID", "cpus_per_task": "SLURM_CPUS_PER_TASK",
        "tasks_per_node": "SLURM_NTASKS_PER_NODE", "account": "SLURM_JOB_ACCOUNT",
    }
    variable_aliases = {"SLURM_JOBID": "job_id", "SLURM_NNODES": "node_count",
                        "SLURM_NPROCS": "task_count", "SLURM_NODELIST": "node_list",
                        "SLURM_TASKS_PER_NODE": "tasks_per_node"}
    variable_prefixes = ("SLURM_",)
    commands = ("scontrol", "squeue", "sbatch", "scancel", "sacct", "sinfo", "salloc",
                "sattach", "sbcast", "sstat", "sprio", "sshare")
    launch = launchers.LaunchWriter(launchers.write_srun, mpmd=True)
    joins_output = True
    default_export = "all"
    queue_separator = ","


    def sanitize_name(self, value):
        # sbatch takes any job name; only what a quoted directive cannot carry is replaced.
        return re.sub(r'["\\\x00-\x1f\x7f]', "_", value).strip() or "job"

    def starts_component(self, line):
        words = (self.directive_text(line) or "").split()
        return bool(words) and words[0] in HETJOB

    def read_directive(self, options, values, ctx):
        words = options.split(None, 1)
        if words and words[0] in HETJOB:
            values.setdefault("_components", []).append({})
            if len(words) > 1:
                self.read_directive(words[1], values, ctx)
            return
        components = values.get("_components")
        if not components:
            super().read_directive(options, values, ctx)
            return
        part: dict = {}
        super().read_directive(options, part, ctx)
        for key in list(part):
            if key not in COMPONENT_FIELDS and key not in ("_gpus", "gpu_type"):
                ctx.directive = options.strip()
                ctx.lose(None, f"{key.replace('_', ' ')} is the whole job's, set by its first "
                               "component; this component's value is not used")
                del part[key]
        merge(components[-1], part)

    def finish_read(self, values, ctx):
        _settle_gpus(values, ctx.scratch.get("_gpus"), ctx)
        components = ctx.scratch.get("_components", [])
        for component in components:
            _settle_gpus(component, component.pop("_gpus", None), ctx)
            check_counts(component, ctx)
        if components:
            values["components"] = components

    def extra_directives(self, spec, ctx):
        lines = []
        for component in spec.components:
            lines.append(f"{self.prefix} {HETJOB[0]}")
            part = BatchJob(**component)
            for option in self._written:
                if set(option.codec.fields) <= set(COMPONENT_FIELDS) | {"gpu_type"}:
                    for value in option.codec.write(part, ctx):
                        self.emit(lines, option.names[0], value, option.codec.fields, ctx)
        return lines

    def extra_fields(self):
        return frozenset({"components"})


def _settle_gpus(values, gpus, ctx):
    """``--gpus=N`` is for the whole job (or component): per node once nodes are known."""
    if gpus is None:
        return
    nodes = values.get("nodes") or 1
    if gpus % nodes == 0 and "gpus_per_node" not in values:
        values["gpus_per_node"] = gpus // nodes
    else:
        ctx.lose("gpus_per_node", f"--gpus={gpus} does not divide over {nodes} nodes")


# Submitting ------------------------------------------------------------------------------

# squeue's long state names (and sacct's, whose CANCELLED may be followed by "by UID").
SLURM_STATES = {
    "PENDING": "pending", "CONFIGURING": "pending", "REQUEUED": "pending",
    "REQUEUE_HOLD": "pending", "REQUEUE_FED": "pending", "RESV_DEL_HOLD": "pending",
    "RUNNING": "running", "COMPLETING": "running", "SUSPENDED": "running",
    "STOPPED": "running", "SIGNALING": "running", "STAGE_OUT": "running",
    "RESIZING": "running",
    "COMPLETED": "completed",
    "FAILED": "failed", "BOOT_FAIL": "failed", "NODE_FAIL": "failed",
    "OUT_OF_MEMORY": "failed", "PREEMPTED": "failed", "SPECIAL_EXIT": "failed",
    "CANCELLED": "cancelled", "REVOKED": "cancelled",
    "TIMEOUT": "timeout", "DEADLINE": "timeout",
}


class SlurmSubmitter(Submitter):
    """``sbatch --parsable``; ``squeue`` while Slurm remembers the job, then ``sacct``;
    ``scancel``."""

    native_states = SLURM_STATES
    default_outputs = ("slurm-{{id}}.out",)

    def submit_command(self, script, hold):
        return Command(["sbatch", "--parsable", *(["--hold"] if hold else []), script])

    def job_id(self, output):
        # "jobid" or "jobid;cluster", after any warning lines.
        for line in reversed(output.strip().splitlines()):
            match = re.fullmatch(r"(\d+)(?:;\S+)?", line.strip())
            if match:
                return match.group(1)
        return None

    def status_commands(self, job_id, workdir=None):
        return [
            ["squeue", "--noheader", "--states=all", f"--jobs={job_id}",
             "--Format=JobID:|,State:|,Reason:|,exit_code:|"],
            ["sacct", "--noheader", "--parsable2", "--allocations", f"--jobs={job_id}",
             "--format=JobID,State,ExitCode"],
        ]

    def read_status(self, job_id, result):
        if not result.ok:
            return None
        rows = [line.split("|") for line in result.stdout.splitlines() if "|" in line]
        rows = [row for row in rows if row[0].strip() == job_id] or rows
        if not rows:
            return None
        row = [cell.strip() for cell in rows[0]]
        native = row[1].split()[0] if row[1] else ""
        if result.argv[0] == "squeue":
            # squeue's exit_code is the raw wait status: the code shifted left by 8, or the
            # signal that killed the batch script.
            raw = integer(row[3]) if len(row) > 3 else None
            code = None if raw is None else (128 + (raw & 0x7F) if raw & 0x7F else raw >> 8)
            reason = row[2] if len(row) > 2 and row[2] not in ("", "None") else None
        else:
            status, _, signal = (row[2] if len(row) > 2 else "").partition(":")
            code = integer(status)
            if code is not None and not code and integer(signal):
                code = 128 + int(signal)
            reason = None
        state = self.state(native)
        if state in ("pending", "running"):
            code = None
        return Status(state, native, code, reason)

    def cancel_command(self, job_id):
        return ["scancel", job_id]


Slurm.submitter = SlurmSubmitter
