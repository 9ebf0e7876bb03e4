"""Grid Engine batch scripts (``#$``: Son of Grid Engine, Univa/Altair Grid Engine, Open
Cluster Scheduler): the option table, the ``-l`` resource requests and the parallel
environments that turn slots into tasks.

Grid Engine counts slots, not nodes or CPUs: a job without ``-pe`` holds one slot, ``-pe NAME
N`` holds N, placed by the PE's allocation rule (a site setting). Scripts are read and
written with two conventional PEs: ``smp`` (``$pe_slots``: one task whose slots are its CPUs)
and ``mpi`` (``$fill_up``: one task per slot); other PE names are read as tasks and reported.
Resource requests are per slot, as complex(5) defines them for consumables and limits:
``h_vmem=4G`` under ``-pe mpi 8`` is 4 GiB for each of 8 slots, ``gpu=1`` one GPU each.
Memory multipliers follow sge_types(5): ``k``/``m``/``g`` are powers of 1000, ``K``/``M``/``G``
of 1024. Jobs are written with ``-cwd`` (other managers start a job where it was submitted,
Grid Engine in the home directory) and ``-S`` (a queue in posix_compliant mode ignores the
``#!`` line). Directives may stand anywhere in the script, at the start of a line only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fractale.transform import launchers, units
from fractale.transform.codecs import MailEvents
from fractale.transform.directives import (
    Codec,
    Context,
    DirectiveManager,
    Flag,
    Ignored,
    Int,
    Name,
    Option,
    Quantity,
    Text,
    UnsafeValue,
)
from fractale.transform.managers.pbs import Export
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

# The PEs written: one task of many CPUs, and one task per slot.
SMP_PE = "smp"
MPI_PE = "mpi"
# Site PE names whose slots are one task's CPUs ($pe_slots by convention) ...
_SMP_NAMES = re.compile(r"smp|shm|shared|thread|omp|multicore|single|local", re.I)
# ... and names whose slots are tasks ($fill_up, $round_robin or a fixed count).
_MPI_NAMES = re.compile(r"mpi|orte|mvapich|impi|parallel|fill|round|rr|dist", re.I)

_MEMORY = re.compile(r"(\d+(?:\.\d+)?)([kKmMgGtT]?)")
_MULTIPLIER = {"": 1, "k": 1000, "K": 1024, "m": 1000 ** 2, "M": 1024 ** 2, "g": 1000 ** 3,
               "G": 1024 ** 3, "t": 1000 ** 4, "T": 1024 ** 4}
# Requests that bound the memory of each slot (limits, or consumables a site defines).
MEMORY_REQUESTS = ("h_vmem", "mem_free", "s_vmem", "virtual_free", "h_rss", "m_mem_free",
                   "mem_req", "h_data")
GPU_REQUESTS = ("gpu", "gpus", "ngpus")


def read_memory(text: str) -> int:
    """A memory_specifier of sge_types(5) in MiB, rounded up."""
    match = _MEMORY.fullmatch(text.strip())
    if not match:
        raise ValueError(f"expected a size such as 4G or 512M, got {text!r}")
    size = float(match.group(1)) * _MULTIPLIER[match.group(2)]
    return max(1, -(-int(size) // 1048576)) if size > 0 else 0


def read_time(text: str) -> int:
    """A time_specifier of sge_types(5): seconds, or ``h:m:s`` whose parts may be empty."""
    text = text.strip()
    if re.fullmatch(r"\d+", text):
        return int(text)
    match = re.fullmatch(r"(\d*):(\d*):(\d*)", text)
    if not match:
        raise ValueError(f"expected seconds or HH:MM:SS, got {text!r}")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _pe_kind(name: str) -> str | None:
    if name == SMP_PE or (name != MPI_PE and _SMP_NAMES.search(name)):
        return "smp"
    if _MPI_NAMES.search(name):
        return "mpi"
    return None


# ---------------------------------------------------------------- the slots a job asks for


@dataclass(frozen=True)
class Slots:
    """How a spec's task layout is written: the PE (None for one slot), the slots it asks
    for, the slots each task holds, and the slots on one host when that is known."""

    pe: str | None
    count: int
    per_task: int
    per_host: int | None


def plan(spec: BatchJob, ctx: Context) -> Slots:
    """The slots for ``spec``, reporting the layout fields Grid Engine cannot carry; worked
    out once per write and shared by the rows that need it."""
    if "slots" in ctx.scratch:
        return ctx.scratch["slots"]
    cpus = spec.cpus_per_task or 1
    tasks, derived = spec.tasks, False
    if tasks is None and spec.tasks_per_node is not None:
        tasks, derived = (spec.nodes or 1) * spec.tasks_per_node, True
    if spec.cpus_per_task == 1:
        ctx.lose("cpus_per_task", "one CPU is what a slot holds; no directive says so")
    if tasks is None or tasks == 1:
        slots = Slots(SMP_PE if cpus > 1 else None, cpus, cpus, cpus)
        if spec.tasks == 1:
            ctx.lose("tasks", "one task is what a Grid Engine job without a PE runs; no "
                              "directive says so")
        if spec.tasks_per_node is not None:
            ctx.lose("tasks_per_node", "one task on one host is a job without a PE")
        if spec.nodes is not None:
            ctx.lose("nodes", "a single task runs on one host; Grid Engine asks for no host "
                              "count")
    else:
        slots = Slots(MPI_PE, tasks * cpus, cpus, None)
        if cpus > 1:
            for name in ("tasks", "cpus_per_task"):
                ctx.lose(name, f"Grid Engine counts slots: {tasks} tasks of {cpus} CPUs are "
                               f"written as {tasks * cpus} slots")
        elif derived:
            ctx.lose("tasks", f"written as {tasks} slots")
        if spec.nodes is not None:
            ctx.lose("nodes", f"the {MPI_PE} PE's allocation rule places the slots; Grid "
                              "Engine asks for no host count")
        if spec.tasks_per_node is not None:
            ctx.lose("tasks_per_node", f"the {MPI_PE} PE's allocation rule places the slots")
        if spec.nodes == 1:
            slots = Slots(MPI_PE, tasks * cpus, cpus, tasks * cpus)
        elif spec.tasks_per_node is not None:
            slots = Slots(MPI_PE, tasks * cpus, cpus, spec.tasks_per_node * cpus)
    ctx.scratch["slots"] = slots
    return slots


class ParallelEnvironment(Codec):
    """``-pe NAME N`` or a range ``-pe NAME 4-16`` (the minimum is kept, the range reported)."""

    fields = ("nodes", "tasks", "tasks_per_node", "cpus_per_task")

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        return {"_pe": value, "_pe_line": ctx.line}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        slots = plan(spec, ctx)
        return [] if slots.pe is None else [f"{slots.pe} {slots.count}"]


def read_slot_range(name: str, text: str, ctx: Context) -> int:
    """The fewest slots ``n[-[m]]|[-]m,...`` admits."""
    first = text.split(",")[0]
    match = re.fullmatch(r"(\d*)-?(\d*)", first)
    if not match or not (match.group(1) or match.group(2)):
        raise ctx.fail(f"-pe {name} expects a slot count or range, got {text!r}",
                       "-pe NAME N or -pe NAME MIN-MAX")
    low = int(match.group(1) or 1)
    if text != str(low):
        ctx.lose(None, f"slot range {text}: the minimum {low} is kept")
    if low < 1:
        raise ctx.fail(f"-pe {name} asks for {low} slots", "at least 1 slot")
    return low


# ---------------------------------------------------------------- resource requests (-l)


class Resources(Codec):
    """``-l name=value,...``: run time, memory, GPUs, exclusive hosts and host names; any
    other complex is the site's own and is reported."""

    fields = ("walltime", "memory_per_cpu", "memory_per_node", "gpus_per_task",
              "gpus_per_node", "gpu_type", "exclusive", "exclude")

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if ctx.scratch.get("soft"):
            ctx.lose(None, "a soft request is a preference; fractale's job model holds "
                           "requirements only")
            return out
        for item in _items(value):
            key, eq, setting = item.partition("=")
            key = key.strip()
            try:
                self.read_item(key, setting.strip() if eq else "TRUE", out, ctx)
            except ValueError as err:
                raise ctx.fail(f"-l {item}: {err}", "a valid resource request") from None
        return out

    def read_item(self, key: str, setting: str, out: dict[str, Any], ctx: Context) -> None:
        if key in ("h_rt", "s_rt"):
            if key == "s_rt":
                ctx.lose(None, "s_rt is a soft run-time limit (a warning signal); the hard "
                               "limit h_rt is the job's time limit")
            elif setting.upper() not in ("INFINITY", "0"):
                out["walltime"] = read_time(setting)
        elif key in MEMORY_REQUESTS:
            memory = read_memory(setting)
            # Grid Engine holds every memory request; the model holds one, the first.
            first = ctx.scratch.setdefault("memory", memory)
            if first != memory:
                ctx.lose(None, f"{key}={setting} differs from an earlier memory request, "
                               "which is kept")
            else:
                out["memory_per_cpu"] = memory
        elif key in GPU_REQUESTS:
            if not setting.isdigit():
                raise ValueError(f"a GPU count, not {setting!r}")
            out["_gpus_per_slot"] = int(setting)
        elif key in ("exclusive", "excl"):
            if setting.upper() in ("TRUE", "1", "YES"):
                out["exclusive"] = True
        elif key in ("h", "hostname"):
            _read_hosts(setting, out, ctx)
        else:
            ctx.lose(None, f"resource {key}={setting} is a complex of the site's own, not in "
                           "fractale's job model")

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        out: list[str | None] = []
        if spec.walltime is not None:
            out.append(f"h_rt={units.hms(spec.walltime)}")
        memory = self.memory_per_slot(spec, ctx)
        if memory is not None:
            out.append(f"h_vmem={units.write_memory(memory)}")
        gpus = self.gpus_per_slot(spec, ctx)
        if gpus is not None:
            out.append(f"gpu={gpus}")
        if spec.gpu_type is not None:
            ctx.lose("gpu_type", "Grid Engine sites name GPU models in complexes of their own")
        if spec.exclusive:
            out.append("exclusive=true")
        if spec.exclude:
            if any("[" in host for host in spec.exclude):
                ctx.lose("exclude", "Grid Engine host patterns do not take Slurm host ranges")
            else:
                out.append("hostname=" + "&".join(f"!{host}" for host in spec.exclude))
        return out

    def memory_per_slot(self, spec: BatchJob, ctx: Context) -> int | None:
        if spec.memory_per_cpu is not None:
            if spec.memory_per_node is not None:
                ctx.lose("memory_per_node", "Grid Engine asks for memory per slot only; the "
                                            "memory per CPU is kept")
            return spec.memory_per_cpu
        if spec.memory_per_node is None:
            return None
        per_host = plan(spec, ctx).per_host
        if per_host is None:
            ctx.lose("memory_per_node", "Grid Engine asks for memory per slot, and the slots "
                                        "on each host are not known")
            return None
        memory = -(-spec.memory_per_node // per_host)
        where = ("the job's one slot" if per_host == 1
                 else f"each of the {per_host} slots on the host")
        for name in ("memory_per_node", "memory_per_cpu"):
            ctx.lose(name, f"written as {memory} MiB for {where}")
        return memory

    def gpus_per_slot(self, spec: BatchJob, ctx: Context) -> int | None:
        slots = plan(spec, ctx)
        if spec.gpus_per_task is not None:
            if spec.gpus_per_node is not None:
                ctx.lose("gpus_per_node", "Grid Engine asks for GPUs per slot; the GPUs per "
                                          "task are kept")
            if spec.gpus_per_task % slots.per_task:
                ctx.lose("gpus_per_task", f"{spec.gpus_per_task} GPUs do not divide over the "
                                          f"{slots.per_task} slots of a task")
                return None
            if slots.pe == MPI_PE and slots.per_task > 1:
                ctx.lose("gpus_per_task", f"written as {spec.gpus_per_task // slots.per_task} "
                                          "per slot, and each slot counts as a task")
            return spec.gpus_per_task // slots.per_task
        if spec.gpus_per_node is None:
            return None
        if slots.per_host is None or spec.gpus_per_node % slots.per_host:
            ctx.lose("gpus_per_node", "Grid Engine asks for GPUs per slot, and they do not "
                                      "divide over the slots on each host")
            return None
        for name in ("gpus_per_node", "gpus_per_task"):
            ctx.lose(name, f"written as {spec.gpus_per_node // slots.per_host} per slot")
        return spec.gpus_per_node // slots.per_host


def _items(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _read_hosts(expression: str, out: dict[str, Any], ctx: Context) -> None:
    """``hostname=n1|n2`` (hosts the job may use) or ``hostname=!n1&!n2`` (hosts it may not)."""
    terms = re.split(r"[&|]", expression)
    if all(term.startswith("!") and len(term) > 1 for term in terms) and "|" not in expression:
        out["exclude"] = out.get("exclude", []) + [term[1:] for term in terms]
    elif not any(c in expression for c in "!&*?[("):
        out["nodelist"] = out.get("nodelist", []) + terms
    else:
        ctx.lose(None, f"host expression {expression!r} is not in fractale's job model")


# ---------------------------------------------------------------- queues and hosts (-q)


class Queues(Codec):
    """``-q all.q``, ``-q a.q,b.q``, ``-q all.q@node1`` or ``-q '*@node1'``: the queue and
    the hosts the job may run on."""

    fields = ("queue", "nodelist")

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        if ctx.scratch.get("soft"):
            ctx.lose(None, "a soft queue request is a preference; fractale's job model holds "
                           "requirements only")
            return {}
        queues: list[str] = []
        hosts: list[str] = []
        for item in _items(value):
            queue, _, host = item.partition("@")
            if queue and queue != "*" and queue not in queues:
                queues.append(queue)
            if host.startswith("@"):
                ctx.lose(None, f"host group {host} is not in fractale's job model")
            elif host and host not in hosts:
                hosts.append(host)
        out: dict[str, Any] = {}
        if queues:
            out["queue"] = ",".join(queues)
        if hosts:
            out["nodelist"] = hosts
        return out

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        hosts = spec.nodelist
        if any("[" in host for host in hosts):
            ctx.lose("nodelist", "Grid Engine host patterns do not take Slurm host ranges")
            hosts = []
        elif len(hosts) > 1:
            ctx.lose("nodelist", "Grid Engine runs the job on any of these hosts, not on all "
                                 "of them")
        queues = spec.queue.split(",") if spec.queue else []
        if not hosts:
            return [",".join(queues)] if queues else []
        return [",".join(f"{queue}@{host}" for queue in queues or ["*"] for host in hosts)]


class Soft(Codec):
    """``-soft`` / ``-hard``: whether the ``-l`` and ``-q`` requests after it are preferences."""

    takes_value = False

    def __init__(self, soft: bool) -> None:
        self.soft = soft

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        ctx.scratch["soft"] = self.soft
        return {}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        return []


# ---------------------------------------------------------------- arrays and dependencies


def writes_array(spec: BatchJob) -> bool:
    """Whether ``spec``'s array is one range from 1 up, which ``-t`` can say."""
    if spec.array is None:
        return False
    ranges, _ = units.array_parts(spec.array)
    return len(ranges) == 1 and ranges[0][0] >= 1


class Tasks(Codec):
    """``-t n[-m[:s]]``: one range of task ids from 1 up."""

    fields = ("array",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        match = re.fullmatch(r"(\d+)(?:-(\d+)(?::(\d+))?)?", value.strip())
        if not match:
            raise ctx.fail(f"-t expects n[-m[:s]], got {value!r}", "a range such as 1-100:2")
        start, end, step = match.groups()
        text = start + (f"-{end}" if end else "") + (f":{step}" if step else "")
        try:
            array = units.read_array(text)
        except ValueError as err:
            raise ctx.fail(f"-t: {err}", "a range such as 1-100:2") from None
        if int(start) < 1:
            raise ctx.fail("-t task ids start at 1", "a range such as 1-100:2")
        return {"array": array}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        if spec.array is None:
            return []
        ranges, _ = units.array_parts(spec.array)
        if len(ranges) > 1:
            ctx.lose("array", f"Grid Engine arrays are one range, not {spec.array}")
            return []
        start, end, step = ranges[0]
        if start < 1:
            ctx.lose("array", "Grid Engine task ids start at 1")
            return []
        if start == end:
            return [str(start)]
        return [f"{start}-{end}" + (f":{step}" if step > 1 else "")]


class Throttle(Codec):
    """``-tc N``: at most N tasks of the array run at once."""

    fields = ("array",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        if not value.strip().isdigit() or int(value) < 1:
            raise ctx.fail(f"-tc expects a positive count, got {value!r}", "-tc N")
        return {"_throttle": int(value), "_throttle_line": ctx.line}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        if spec.array is None:
            return []
        _, limit = units.array_parts(spec.array)
        return [str(limit)] if limit is not None and writes_array(spec) else []


class Hold(Codec):
    """``-hold_jid 12,34,prep``: wait until those jobs finish, whatever their exit status."""

    fields = ("dependencies",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        out = []
        for item in _items(value):
            if item.isdigit():
                out.append(f"afterany:{item}")
            else:
                ctx.lose(None, f"a dependency on the jobs named {item!r}: Grid Engine finds "
                               "them at submission, fractale's job model holds job ids")
        return {"dependencies": out}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        ids = []
        for dependency in spec.dependencies:
            kind, _, job = dependency.partition(":")
            if kind == "singleton" or not job.isdigit():
                ctx.lose("dependencies", f"Grid Engine cannot wait on {dependency}")
                continue
            if kind != "afterany":
                ctx.lose("dependencies", f"{dependency} written as -hold_jid {job}: Grid "
                                         f"Engine waits until job {job} finishes, whatever "
                                         "its exit status")
            if job not in ids:
                ids.append(job)
        return [",".join(ids)] if ids else []


# ---------------------------------------------------------------- files, environment, the rest


class OutputPath(Codec):
    """``-o``/``-e``/``-i [[host]:]path``, with ``$JOB_ID``, ``$JOB_NAME``, ``$TASK_ID``,
    ``$USER`` and ``$HOSTNAME`` placeholders (in an array job ``$JOB_ID`` is the array's id)."""

    def __init__(self, name: str) -> None:
        self.fields = (name,)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        paths = value.split(",")
        if len(paths) > 1:
            ctx.lose(None, "paths for several hosts; the first is kept")
        # Only a first colon names a host; after it the path may hold colons of its own.
        host, colon, path = paths[0].partition(":")
        if not colon:
            host, path = "", host
        elif host:
            ctx.lose(None, f"a path used only on host {host}; fractale keeps the path")
        return {self.fields[0]: ctx.manager.path_to_model(path)}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        value = getattr(spec, self.fields[0])
        if value is None:
            return []
        if "," in value:
            ctx.lose(self.fields[0], "Grid Engine reads a comma as the start of another path")
            return []
        array = writes_array(spec)
        if array and "{{id}}" in value:
            ctx.lose(self.fields[0], "in an array job Grid Engine's $JOB_ID is the array's id; "
                                     "a task has no id of its own")
        if not array and "{{array_id}}" in value:
            ctx.lose(self.fields[0], "not an array job: the array id is the job id, $JOB_ID")
        native = ctx.manager.path_from_model(value)
        if native is None:
            ctx.lose(self.fields[0], f"{value!r} uses a placeholder Grid Engine lacks")
            return []
        # A colon would name a host; a leading one says there is none.
        return [":" + native if ":" in native else native]


class Join(Codec):
    """``-j y``: standard error in the output file (the -e path is then unused); written
    whenever the model joins them, or names an output file only."""

    fields = ("join_output",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        answer = value.strip().lower()
        if answer not in ("y", "yes", "n", "no"):
            raise ctx.fail(f"-j expects y or n, got {value!r}", "y or n")
        return {"join_output": answer.startswith("y")}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        if spec.join_output and spec.error is not None:
            ctx.lose("error", "the streams are joined, so no error file is written")
        joined = spec.join_output or (spec.output is not None and spec.error is None)
        return ["y"] if joined else []


class WorkDir(Codec):
    """``-wd DIR``; ``-cwd`` (the directory of submission) is what the model leaves unset,
    and is written for every job that names no directory."""

    fields = ("workdir",)

    def __init__(self, current: bool) -> None:
        self.current = current
        self.takes_value = not current

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        return {"workdir": None} if self.current else {"workdir": value.strip()}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        if self.current:
            return [None] if spec.workdir is None else []
        return [] if spec.workdir is None else [spec.workdir]


class YesNo(Codec):
    """``-r y|n`` and the like: a boolean field."""

    def __init__(self, name: str) -> None:
        self.fields = (name,)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        answer = value.strip().lower()
        if answer not in ("y", "yes", "n", "no"):
            raise ctx.fail(f"{ctx.directive} expects y or n, got {value!r}", "y or n")
        return {self.fields[0]: answer.startswith("y")}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        value = getattr(spec, self.fields[0])
        return [] if value is None else ["y" if value else "n"]


class Immediate(Codec):
    """``-now y`` starts the job at once or not at all; ``-now n`` is qsub's default."""

    fields = ()

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        if value.strip().lower() in ("y", "yes"):
            ctx.lose(None, "starting at once or not at all is not in fractale's job model")
        return {}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        return []


class Accounting(Codec):
    """``-A`` names an accounting string; ``-P`` the project (the account of the model)."""

    fields = ()

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        return {"_accounting": value.strip(), "_accounting_line": ctx.line}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        return []


class Shell(Codec):
    """``-S /bin/bash``: the shell that runs the job (whatever the queue's start mode)."""

    fields = ("shell",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        # [[host]:]path,... : the first path is kept.
        path = value.split(",")[0].rpartition(":")[2].strip()
        if not re.fullmatch(r"/[^\s\x00]*", path):
            raise ctx.fail(f"-S expects the absolute path of a shell, got {value!r}",
                           "-S /bin/bash")
        return {"shell": path}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        path = spec.shell.split()[0] if spec.shell.strip() else "/bin/sh"
        if path != spec.shell:
            ctx.lose("shell", f"-S takes the shell's path only: {path}")
        return [path]


class AdvanceReservation(Codec):
    """``-ar ID``: run inside an advance reservation, named by its number."""

    fields = ("reservation",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        if not value.strip().isdigit():
            raise ctx.fail(f"-ar expects a reservation id, got {value!r}", "a number")
        return {"reservation": value.strip()}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        if spec.reservation is None:
            return []
        if not spec.reservation.isdigit():
            ctx.lose("reservation", "Grid Engine names advance reservations by number")
            return []
        return [spec.reservation]


class Priority(Int):
    """``-p N``, from -1023 to 1024 (users may only lower their jobs' priority)."""

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        out = super().read(value, ctx)
        if out["priority"] > 1024:
            raise ctx.fail(f"-p takes -1023 to 1024, not {value}", "-1023 to 1024")
        return out

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        if spec.priority is not None and spec.priority > 1024:
            ctx.lose("priority", f"Grid Engine takes -1023 to 1024, not {spec.priority}")
            return []
        return super().write(spec, ctx)


MAIL = {"b": ("begin",), "e": ("end",), "a": ("fail",)}


class Mail(MailEvents):
    """``-m bea`` (qsub refuses ``b,e,a`` in a script, though its manual shows commas);
    ``s`` (suspension) mails nothing in practice."""

    def split(self, value):
        return [token for token in value.replace(",", "") if token != "s"]


OPTIONS = (
    Option(("-N",), Name("name")),
    Option(("-P",), Text("account")),
    Option(("-A",), Accounting(), write=False),
    Option(("-q",), Queues()),
    Option(("-pe",), ParallelEnvironment()),
    Option(("-l",), Resources()),
    Option(("-soft",), Soft(True)),
    Option(("-hard",), Soft(False)),
    Option(("-t",), Tasks()),
    Option(("-tc",), Throttle()),
    Option(("-hold_jid",), Hold()),
    Option(("-a",), Quantity("begin", units.read_pbs_datetime, units.write_pbs_datetime,
                             "[[CC]YY]MMDDhhmm[.SS]")),
    Option(("-o",), OutputPath("output")),
    Option(("-e",), OutputPath("error")),
    Option(("-j",), Join()),
    Option(("-i",), OutputPath("input")),
    Option(("-cwd",), WorkDir(current=True)),
    Option(("-wd",), WorkDir(current=False)),
    Option(("-V",), Flag("export_env", "all")),
    Option(("-v",), Export("Grid Engine")),
    Option(("-M",), Text("mail_user")),
    Option(("-m",), Mail(MAIL, "", none="n")),
    Option(("-r",), YesNo("requeue")),
    Option(("-p",), Priority("priority", -1023)),
    Option(("-ar",), AdvanceReservation()),
    Option(("-S",), Shell()),
    Option(("-now",), Immediate()),
    Option(("-hold_jid_ad",), Ignored("a task-by-task array dependency is not in fractale's "
                                      "job model")),
    Option(("-binding",), Ignored("core binding is a hint to the execution host, not in "
                                  "fractale's job model")),
    Option(("-masterq",), Ignored("the queue of a parallel job's first task is not in "
                                  "fractale's job model")),
    Option(("-ckpt",), Ignored("checkpointing is not in fractale's job model")),
    Option(("-c",), Ignored("checkpointing is not in fractale's job model")),
    Option(("-notify",), Ignored("warning signals before suspension are not in fractale's "
                                 "job model", takes_value=False)),
    Option(("-R",), Ignored("resource reservation is the scheduler's business, not in "
                            "fractale's job model")),
    Option(("-js",), Ignored("a job share is not in fractale's job model")),
    Option(("-dl",), Ignored("a deadline is not in fractale's job model")),
    Option(("-ac",), Ignored("job context variables are not in fractale's job model")),
    Option(("-sc",), Ignored("job context variables are not in fractale's job model")),
    Option(("-dc",), Ignored("job context variables are not in fractale's job model")),
    Option(("-w",), Ignored("only changes how qsub checks the job")),
    Option(("-h",), Ignored("submits held; not in fractale's job model", takes_value=False)),
    Option(("-b",), Ignored("qsub ignores -b in a script")),
    Option(("-C",), Ignored("qsub ignores -C in a script")),
    Option(("-terse",), Ignored("only changes what qsub prints", takes_value=False)),
    Option(("-sync",), Ignored("only makes qsub wait for the job")),
)


@register
class GridEngine(DirectiveManager):
    name = "gridengine"
    description = "Grid Engine batch script (#$)"
    prefix = "#$"
    # qsub reads a directive only where "#$" opens the line, and wherever it stands.
    prefix_pattern = re.compile(r"#\$(?=[\s-]|$)")
    header_only = False
    options = OPTIONS
    placeholders = {"id": "$JOB_ID", "name": "$JOB_NAME", "array_index": "$TASK_ID",
                    "user": "$USER", "node": "$HOSTNAME"}
    # In an array job the one id is the array's: $JOB_ID serves both (read as the job id).
    variables = {
        "array_id": "JOB_ID", "job_id": "JOB_ID", "job_name": "JOB_NAME",
        "node_count": "NHOSTS", "task_count": "NSLOTS", "submit_dir": "SGE_O_WORKDIR",
        "queue": "QUEUE", "array_index": "SGE_TASK_ID",
    }
    # Its other documented variables; the bare names (HOSTNAME, TMPDIR) are any shell's.
    variable_prefixes = ("SGE_", "PE_HOSTFILE", "NQUEUES", "JOB_SCRIPT")
    commands = ("qsub", "qstat", "qdel", "qalter", "qhold", "qrls", "qhost", "qconf", "qacct",
                "qrsh", "qlogin", "qmod", "qselect")
    queue_separator = ","
    # Open MPI and MPICH started under a tightly integrated PE find the hosts themselves.
    launch = launchers.LaunchWriter(launchers.write_mpirun(None),
                                    ("nodes", "cpus_per_task", "gpus_per_task"))

    def directive_text(self, line):
        match = self.prefix_pattern.match(line)
        if match is None:
            return None
        # qsub ends a directive at "#", quoted or not.
        return line[match.end():].split("#", 1)[0]

    def claims(self, text):
        return any(self.directive_text(line) is not None for line in text.split("\n"))

    def directive(self, name, value):
        if value is not None and "#" in value:
            raise UnsafeValue(f"{value!r} holds a #, where qsub ends a directive")
        if name == "-pe" and value is not None:
            # Two words the table wrote itself (a PE name and a count).
            return f"{self.prefix} {name} {value}"
        return super().directive(name, value)

    def tokenize(self, options, ctx):
        tokens = super().tokenize(options, ctx)
        # "-pe NAME N" takes two words, and so does "-binding pe linear:2" when its first
        # word names who binds.
        out: list[str] = []
        index = 0
        while index < len(tokens):
            token = tokens[index]
            out.append(token)
            index += 1
            pair = token == "-pe" or (token == "-binding" and index < len(tokens)
                                      and tokens[index] in ("env", "pe", "set"))
            if pair and index + 1 < len(tokens) and not tokens[index + 1].startswith("-"):
                out.append(f"{tokens[index]} {tokens[index + 1]}")
                index += 2
        return out

    def path_from_model(self, value):
        return super().path_from_model(value.replace("{{array_id}}", "{{id}}"))

    def sanitize_name(self, value):
        # sge_types(5): printable ASCII without / : @ \ * ?, not starting with a digit.
        cleaned = super().sanitize_name(value)
        return "_" + cleaned if cleaned[0].isdigit() else cleaned

    def finish_read(self, values, ctx):
        scratch = ctx.scratch
        self.settle_slots(values, ctx)
        if "_throttle" in scratch:
            if "array" in values and "%" not in values["array"]:
                values["array"] += f"%{scratch['_throttle']}"
            elif "array" not in values:
                ctx.line, ctx.directive = scratch["_throttle_line"], f"-tc {scratch['_throttle']}"
                ctx.lose(None, "-tc limits the tasks of an array, and the job is no array")
                ctx.line = ctx.directive = None
        accounting = scratch.get("_accounting")
        if accounting is not None:
            if "account" not in values:
                values["account"] = accounting
            elif values["account"] != accounting:
                ctx.line, ctx.directive = scratch["_accounting_line"], f"-A {accounting}"
                ctx.lose(None, f"accounting string {accounting!r} beside project "
                               f"{values['account']!r}; the project is kept")
                ctx.line = ctx.directive = None
        if values.get("join_output") and values.get("error") is not None:
            ctx.lose("error", "-j y joins the streams, so the -e path is not used")
            values.pop("error")
        if "array" in values:
            for name in ("output", "error", "input"):
                if values.get(name):
                    values[name] = values[name].replace("{{id}}", "{{array_id}}")

    def settle_slots(self, values: dict[str, Any], ctx: Context) -> None:
        """The PE's slots as tasks or as one task's CPUs, and GPUs per slot as per task."""
        slots, per_task = 1, 1
        pe = ctx.scratch.get("_pe")
        if pe is not None:
            name, _, count = pe.strip().partition(" ")
            ctx.line, ctx.directive = ctx.scratch["_pe_line"], f"-pe {pe.strip()}"
            slots = read_slot_range(name, count.strip(), ctx)
            kind = _pe_kind(name)
            if kind == "smp":
                values["cpus_per_task"] = per_task = slots
            else:
                values["tasks"] = slots
                if kind is None:
                    ctx.lose(None, f"parallel environment {name} is the site's own: its "
                                   f"{slots} slots are read as {slots} tasks")
            ctx.line = ctx.directive = None
        gpus = ctx.scratch.get("_gpus_per_slot")
        if gpus:
            values["gpus_per_task"] = gpus * per_task


# qstat's state letters -> STATES. A job shows several ("hqw": held, queued, waiting); the
# first of these letters it shows decides, so an error or a deletion outranks the rest.
GRIDENGINE_STATES = {
    "E": "failed",      # error state: the job stays queued until cleared or deleted
    "d": "cancelled",   # being deleted
    "r": "running",
    "R": "running",     # restarted
    "t": "running",     # being transferred to its host
    "s": "running",     # suspended by its owner
    "S": "running",     # suspended with its queue
    "T": "running",     # suspended by a load threshold
    "h": "pending",     # held
    "q": "pending",
    "w": "pending",
}


class GridEngineSubmitter(Submitter):
    """``qsub -terse`` (``-h`` to hold); ``qstat -u '*' -xml`` while the job is queued or
    running, then ``qacct -j`` once it has ended (accounting writes its record a few seconds
    after the end; until then the job reads as unknown); ``qdel``."""

    native_states = GRIDENGINE_STATES
    # With no -o/-e, Grid Engine writes NAME.oID and NAME.eID in the working directory.
    default_outputs = ("{{name}}.o{{id}}", "{{name}}.e{{id}}")

    def submit_command(self, script, hold):
        return Command(["qsub", "-terse", *(["-h"] if hold else []), script])

    def job_id(self, output):
        # -terse prints the id alone; an array job's as ID.FIRST-LAST:STEP.
        line = last_line(output)
        match = re.fullmatch(r"(\d+)(?:\.\S*)?", line or "")
        return match.group(1) if match else None

    def status_commands(self, job_id, workdir=None):
        return [["qstat", "-u", "*", "-xml"], ["qacct", "-j", job_id]]

    def state(self, native):
        for letter, state in GRIDENGINE_STATES.items():
            if letter in native:
                return state
        return "unknown"

    def read_status(self, job_id, result):
        if not result.ok:
            return None
        text = result.stdout
        if text.lstrip().startswith("<"):
            for entry in re.findall(r"<job_list\b.*?</job_list>", text, re.S):
                if re.search(rf"<JB_job_number>{re.escape(job_id)}</JB_job_number>", entry):
                    native = first_match(r"<state>([^<]*)</state>", entry) or ""
                    return Status(self.state(native), native)
            return None
        fields = key_values(text, " ")
        if fields.get("jobnumber") != job_id:
            return None
        failed = fields.get("failed", "0").split()[0]
        code = integer(fields.get("exit_status"))
        native = f"failed {fields.get('failed', '0')}; exit_status {code}"
        if failed == "0" and code == 0:
            return Status("completed", native, code)
        if fields.get("failed", "").startswith("100") and code is not None and code >= 128:
            # qdel of a running job: killed by a signal ("assumedly after job").
            return Status("cancelled", native, code, "killed by a signal")
        return Status("failed", native, code, None if failed == "0" else fields.get("failed"))

    def cancel_command(self, job_id):
        return ["qdel", job_id]


GridEngine.submitter = GridEngineSubmitter
