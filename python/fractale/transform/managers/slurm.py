"""Slurm batch scripts (``#SBATCH``): the option table and Slurm's few special cases."""

from __future__ import annotations

import re

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
)
from fractale.transform.registry import register
from fractale.transform.submitter import Command, Status, Submitter, integer


class Nodes(Codec):
    """``-N 2`` or a range ``2-4`` (the minimum is kept, the range reported)."""

    fields = ("nodes",)

    def read(self, value, ctx):
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", value.strip())
        if not match:
            raise ctx.fail(f"--nodes expects N or MIN-MAX, got {value!r}", "N or MIN-MAX")
        if match.group(2):
            ctx.lose("nodes", f"node range {value}: the minimum {match.group(1)} is kept")
        return {"nodes": int(match.group(1))}

    def write(self, spec, ctx):
        return [] if spec.nodes is None else [str(spec.nodes)]


class Gres(Codec):
    """``--gres=gpu[:type]:N`` (GPUs per node); other generic resources are reported."""

    fields = ()

    def read(self, value, ctx):
        out = {}
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

    def write(self, spec, ctx):
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

    def read(self, value, ctx):
        kind, _, count = value.rpartition(":")
        if not count.isdigit():
            raise ctx.fail(f"--gpus expects [type:]count, got {value!r}", "[type:]count")
        out = {"_gpus": int(count)}
        if kind:
            out["gpu_type"] = kind
        return out

    def write(self, spec, ctx):
        return []


class Export(Codec):
    """``--export=ALL|NONE|[ALL,]NAME=value,...`` -> export policy and variables."""

    fields = ("export_env", "environment")

    def read(self, value, ctx):
        items = [item for item in value.split(",") if item]
        out = {}
        policy = None
        names = []
        for item in items:
            if item.upper() in ("ALL", "NONE", "NIL"):
                policy = "all" if item.upper() == "ALL" else "none"
            else:
                names.append(item)
        if policy is not None:
            out["export_env"] = policy
        if names:
            out["environment"] = read_env_items(names, ctx)
        return out

    def write(self, spec, ctx):
        items = write_env_items(spec, ctx)
        if spec.export_env == "all":
            return [",".join(["ALL", *items])]
        if spec.export_env == "none" and not items:
            return ["NONE"]
        if spec.export_env == "none":
            # With variables named and no ALL, Slurm exports only those.
            ctx.lose("export_env", "Slurm cannot pass variables and export NONE; only the "
                                   "named variables are exported")
        return [",".join(items)] if items else []


class Exclusive(Codec):
    """``--exclusive[=user|mcs]``: whole nodes."""

    fields = ("exclusive",)
    takes_value = False

    def read(self, value, ctx):
        return {"exclusive": True}

    def write(self, spec, ctx):
        return [None] if spec.exclusive else []


class Nice(Codec):
    """``--nice=N`` lowers priority by N; the model's priority is its negation."""

    fields = ("priority",)

    def read(self, value, ctx):
        if not re.fullmatch(r"-?\d+", value.strip()):
            raise ctx.fail(f"--nice expects an integer, got {value!r}", "an integer")
        return {"priority": -int(value)}

    def write(self, spec, ctx):
        return [] if spec.priority is None else [str(-spec.priority)]


class PyxisImage(Codec):
    """``--container-image`` comes from the pyxis plugin: read, but not written, since a
    Slurm without pyxis refuses the whole script over it."""

    fields = ("container_image",)

    def read(self, value, ctx):
        return {"container_image": value}

    def write(self, spec, ctx):
        if spec.container_image is not None:
            ctx.lose("container_image", "needs the pyxis plugin, which stock Slurm lacks; "
                                        "run the image from the script instead")
        return []


def _mail_tokens() -> dict[str, tuple[str, ...]]:
    return {"BEGIN": ("begin",), "END": ("end",), "FAIL": ("fail",), "REQUEUE": ("requeue",),
            "ALL": ("begin", "end", "fail", "requeue"), "INVALID_DEPEND": ("fail",),
            "TIME_LIMIT": ("fail",), "STAGE_OUT": ("end",)}


SLURM_TIME = ("[D-]HH:MM:SS or minutes", units.read_slurm_time, units.write_slurm_time)


def _time(name: str) -> Quantity:
    expected, reader, writer = SLURM_TIME
    return Quantity(name, reader, writer, expected)


def _memory(name: str) -> Quantity:
    return Quantity(name, lambda v: units.read_memory(v, "m"), units.write_memory,
                    "a size such as 4G or 500M")


def _begin(value: int | str) -> str:
    seconds = units.relative_seconds(value)
    return f"now+{seconds}" if seconds is not None else value


OPTIONS = (
    Option(("--job-name", "-J"), Name("name")),
    Option(("--account", "-A"), Text("account")),
    Option(("--partition", "-p"), Text("queue")),
    Option(("--nodes", "-N"), Nodes()),
    Option(("--ntasks", "-n"), Int("tasks", 1)),
    Option(("--ntasks-per-node",), Int("tasks_per_node", 1)),
    Option(("--cpus-per-task", "-c"), Int("cpus_per_task", 1)),
    Option(("--gpus-per-node",), GpuCount("gpus_per_node")),
    Option(("--gpus-per-task",), GpuCount("gpus_per_task")),
    Option(("--gres",), Gres(), write=False),
    Option(("--gpus", "-G"), TotalGpus(), write=False),
    Option(("--mem",), _memory("memory_per_node")),
    Option(("--mem-per-cpu",), _memory("memory_per_cpu")),
    Option(("--time", "-t"), _time("walltime")),
    Option(("--begin", "-b"), Quantity("begin", units.read_begin, _begin,
                                       "YYYY-MM-DDTHH:MM[:SS] or now+N[units]")),
    Option(("--output", "-o"), Path("output")),
    Option(("--error", "-e"), Path("error")),
    Option(("--input", "-i"), Path("input")),
    Option(("--chdir", "-D", "--workdir"), Text("workdir")),
    Option(("--export",), Export()),
    Option(("--exclusive",), Exclusive()),
    Option(("--constraint", "-C"), Items("constraints", "&")),
    Option(("--reservation",), Text("reservation")),
    Option(("--nice",), Nice()),
    Option(("--qos", "-q"), Text("qos")),
    Option(("--array", "-a"), Array()),
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
    }
    variable_aliases = {"SLURM_JOBID": "job_id", "SLURM_NNODES": "node_count",
                        "SLURM_NPROCS": "task_count", "SLURM_NODELIST": "node_list"}
    launch = launchers.LaunchWriter(launchers.write_srun)


    def sanitize_name(self, value):
        # sbatch takes any job name; only what a quoted directive cannot carry is replaced.
        return re.sub(r'["\\\x00-\x1f\x7f]', "_", value).strip() or "job"

    def finish_read(self, values, ctx):
        gpus = ctx.scratch.get("_gpus")
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
