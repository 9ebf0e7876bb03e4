"""IBM Spectrum LSF batch scripts (``#BSUB``): the option table, the ``-R`` resource
requirement string (``span[ptile=N]``, ``rusage[mem=X]``, ``affinity[core(N)]``,
``select[...]``), ``-gpu``, ``-w`` dependency expressions and ``-J name[1-10]%2`` arrays.
"""

from __future__ import annotations

import re
from typing import Any

from fractale.transform import launchers, units
from fractale.transform.codecs import read_env_items, write_env_items
from fractale.transform.directives import (
    Codec,
    Context,
    DirectiveManager,
    Flag,
    Ignored,
    Int,
    Option,
    Path,
    Quantity,
    Text,
)
from fractale.transform.model import BatchJob
from fractale.transform.registry import register
from fractale.transform.report import Loss
from fractale.transform.submitter import Command, Status, Submitter, first_match, integer

_SECTION = re.compile(r"(\w+)\[([^\]]*)\]")


class Requirements(Codec):
    """``-R`` strings and ``-n``: the task layout, memory, CPUs per task and host features."""

    fields = ("nodes", "tasks", "tasks_per_node", "cpus_per_task", "memory_per_cpu",
              "memory_per_node", "constraints")

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        out: dict[str, Any] = {}
        text = value.strip()
        sections = list(_SECTION.finditer(text))
        leftover = _SECTION.sub("", text).strip()
        if leftover and not sections:
            # A bare string is a select expression.
            _select(leftover, out, ctx)
        elif leftover:
            ctx.lose(None, f"resource text {leftover!r} is not in fractale's job model")
        for match in sections:
            name, body = match.group(1), match.group(2)
            if name == "span":
                for item in body.split(":"):
                    key, _, setting = item.partition("=")
                    if key == "ptile" and setting.isdigit():
                        out["tasks_per_node"] = int(setting)
                    elif key == "hosts" and setting == "1":
                        out["nodes"] = 1
                    else:
                        ctx.lose(None, f"span[{item}] is not in fractale's job model")
            elif name == "rusage":
                for item in re.split(r"[:,]", body):
                    key, _, setting = item.partition("=")
                    if key.strip() == "mem":
                        out["memory_per_cpu"] = _mb(setting, ctx)
                    else:
                        ctx.lose(None, f"rusage[{item}] is not in fractale's job model")
            elif name == "affinity":
                core = re.fullmatch(r"core\((\d+)\)(?::(.*))?", body)
                if core:
                    out["cpus_per_task"] = int(core.group(1))
                    if core.group(2):
                        ctx.lose(None, f"affinity binding {core.group(2)} is not in "
                                       "fractale's job model")
                else:
                    ctx.lose(None, f"affinity[{body}] is not in fractale's job model")
            elif name == "select":
                _select(body, out, ctx)
            else:
                ctx.lose(None, f"{name}[{body}] is not in fractale's job model")
        return out

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        sections = []
        nodes, per_node = spec.nodes, spec.tasks_per_node
        if nodes == 1:
            sections.append("span[hosts=1]")
            if per_node is not None:
                ctx.lose("tasks_per_node", "one host holds every task")
        elif nodes is not None and per_node is None and spec.tasks is not None:
            if spec.tasks % nodes == 0:
                per_node = spec.tasks // nodes
                ctx.lose("tasks_per_node", f"LSF spreads tasks {per_node} per host")
                ctx.lose("nodes", "LSF counts tasks and tasks per host, not hosts")
            else:
                ctx.lose("nodes", f"{spec.tasks} tasks do not divide over {nodes} hosts")
        if per_node is not None and nodes != 1:
            sections.append(f"span[ptile={per_node}]")
            if nodes is not None and spec.tasks_per_node is not None:
                ctx.lose("nodes", "LSF counts tasks and tasks per host, not hosts")
        memory = spec.memory_per_cpu
        if spec.memory_per_node is not None:
            if memory is None:
                memory = max(1, spec.memory_per_node // (per_node or 1))
                ctx.lose("memory_per_node", f"written as {memory} MB per task")
                ctx.lose("memory_per_cpu", f"written as {memory} MB per task")
            else:
                ctx.lose("memory_per_node", "LSF reserves memory per task only")
        if memory is not None:
            sections.append(f"rusage[mem={memory}]")
        if spec.cpus_per_task is not None:
            sections.append(f"affinity[core({spec.cpus_per_task})]")
        if spec.constraints:
            sections.append(f"select[{' && '.join(spec.constraints)}]")
        return [" ".join(sections)] if sections else []


_HOST_TERM = re.compile(r"""(?:hname|host)\s*(==?|!=)\s*(['"]?)([\w.-]+)\2""")


def _select(expression: str, out: dict[str, Any], ctx: Context) -> None:
    """A select expression: ``hname==x`` terms name hosts (``!=`` excludes one), the
    rest are host properties. Hosts joined with ``||`` are a list to choose from."""
    terms = []
    for term in _terms(expression):
        alternatives = [t.strip().strip("()") for t in term.split("||")]
        hosts = [m for t in alternatives if (m := _HOST_TERM.fullmatch(t)) is not None]
        if len(hosts) == len(alternatives):
            key = "nodelist" if hosts[0].group(1) != "!=" else "exclude"
            if key == "exclude" and len(hosts) > 1:
                ctx.lose(None, f"select term {term!r} is not in fractale's job model")
                continue
            out.setdefault(key, []).extend(h.group(3) for h in hosts)
        else:
            terms.append(term)
    if terms:
        out["constraints"] = terms


def _terms(expression: str) -> list[str]:
    return [term.strip() for term in re.split(r"&&|\band\b", expression) if term.strip()]


def _mb(value: str, ctx: Context) -> int:
    try:
        return units.read_memory(value, "m")
    except ValueError as err:
        raise ctx.fail(str(err), "megabytes or a size such as 4GB") from None


class Queues(Codec):
    """``-q "a b c"``: queues LSF may choose from, written ``a,b,c`` in the model."""

    fields = ("queue",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        return {"queue": ",".join(value.split())}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        return [] if spec.queue is None else [" ".join(spec.queue.split(","))]


class Slots(Codec):
    """``-n N`` (or ``-n MIN,MAX``), with the host count LSF implies written alongside."""

    fields = ("tasks",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        low, _, high = value.partition(",")
        if not low.strip().isdigit():
            raise ctx.fail(f"-n expects a task count, got {value!r}", "N or MIN,MAX")
        if high:
            ctx.lose("tasks", f"task range {value}: the minimum is kept")
        return {"tasks": int(low)}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        if spec.tasks is not None:
            return [str(spec.tasks)]
        if spec.nodes not in (None, 1) and spec.tasks_per_node is not None:
            ctx.lose("tasks", "written as nodes x tasks per host")
            return [str(spec.nodes * spec.tasks_per_node)]
        return []


class Nodes(Codec):
    """``-nnodes N`` where LSF cannot say it as tasks per host."""

    fields = ("nodes",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        if not value.isdigit():
            raise ctx.fail(f"-nnodes expects a count, got {value!r}", "an integer")
        return {"nodes": int(value)}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        if spec.nodes in (None, 1) or spec.tasks_per_node is not None:
            return []
        if spec.tasks is not None and spec.tasks % spec.nodes == 0:
            return []
        return [str(spec.nodes)]


# -gpu settings that ask for nothing beyond LSF's defaults (and the model's).
_GPU_DEFAULTS = {"mode": "shared", "mps": "no", "j_exclusive": "no", "aff": "yes"}


class Gpus(Codec):
    """``-gpu "num=4:gmodel=X"`` per host or ``num=1/task``."""

    fields = ("gpus_per_node", "gpus_per_task", "gpu_type")

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if value.strip() == "-":
            out["gpus_per_node"] = 1
            return out
        for item in value.split(":"):
            key, _, setting = item.strip().partition("=")
            if key == "num":
                count, _, per = setting.partition("/")
                if not count.isdigit():
                    raise ctx.fail(f"-gpu num expects a count, got {setting!r}", "num=N")
                out["gpus_per_task" if per == "task" else "gpus_per_node"] = int(count)
            elif key == "gmodel":
                out["gpu_type"] = setting
            elif _GPU_DEFAULTS.get(key) == setting.lower():
                continue
            else:
                ctx.lose(None, f"-gpu {item} is not in fractale's job model")
        return out

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        parts = []
        if spec.gpus_per_node is not None:
            parts.append(f"num={spec.gpus_per_node}")
            if spec.gpus_per_task is not None:
                ctx.lose("gpus_per_task", "LSF takes GPUs per host or per task, not both")
        elif spec.gpus_per_task is not None:
            parts.append(f"num={spec.gpus_per_task}/task")
        if spec.gpu_type is not None:
            if parts:
                parts.append(f"gmodel={spec.gpu_type}")
            else:
                ctx.lose("gpu_type", "LSF names a GPU model with a GPU count only")
        return [":".join(parts)] if parts else []


class NameAndArray(Codec):
    """``-J name`` or ``-J "name[1-100:2]%10"``."""

    fields = ("name", "array")

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        match = re.fullmatch(r"([^\[]*)\[([^\]]+)\](?:%(\d+))?", value.strip())
        if not match:
            return {"name": value.strip()}
        out: dict[str, Any] = {}
        if match.group(1):
            out["name"] = match.group(1)
        indexes = match.group(2) + (f"%{match.group(3)}" if match.group(3) else "")
        try:
            out["array"] = units.read_array(indexes)
        except ValueError as err:
            raise ctx.fail(f"-J: {err}", "name[1-100:2]%10") from None
        return out

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        if spec.name is None and spec.array is None:
            return []
        name = ""
        if spec.name is not None:
            name = ctx.manager.sanitize_name(spec.name)
            if name != spec.name:
                ctx.lose("name", f"name {spec.name!r} written as {name!r}")
        if spec.array is None:
            return [name]
        body, _, limit = spec.array.partition("%")
        if spec.name is None:
            ctx.lose("name", "an LSF array needs a job name; written as 'array'")
            name = "array"
        return [f"{name}[{body}]" + (f"%{limit}" if limit else "")]


class Env(Codec):
    """``-env "all, NAME=value"``, ``-env none`` or ``-env "NAME=value"``."""

    fields = ("export_env", "environment")

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        items = [item.strip() for item in value.split(",") if item.strip()]
        out: dict[str, Any] = {}
        names = []
        for item in items:
            if item.lower() in ("all", "none"):
                out["export_env"] = item.lower()
            else:
                names.append(item)
        if names:
            out["environment"] = read_env_items(names, ctx)
        return out

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        items = write_env_items(spec, ctx)
        if spec.export_env == "none":
            if items:
                ctx.lose("export_env", "LSF cannot pass variables and export none")
                return [", ".join(items)]
            return ["none"]
        if spec.export_env == "all":
            return [", ".join(["all", *items])]
        return [", ".join(items)] if items else []


_CONDITIONS = {"done": "afterok", "exit": "afternotok", "ended": "afterany", "started": "after"}
_KINDS = {kind: condition for condition, kind in _CONDITIONS.items()}


class Dependency(Codec):
    """``-w "done(123) && ended(456)"``. A job named rather than numbered is settled once
    the job's own name is known (``settle_names``): ``ended(own name)`` is a singleton."""

    fields = ("dependencies",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        if "||" in value or "!" in value:
            ctx.lose("dependencies", "only && of conditions is in fractale's job model")
        out = []
        named = []
        leftover = _CONDITION.sub("", value).replace("&&", "").strip()
        if leftover:
            ctx.lose("dependencies", f"dependency text {leftover!r} is not read")
        for condition, argument in _CONDITION.findall(value):
            kind = _CONDITIONS.get(condition)
            words = [w.strip() for w in argument.split(",")]
            if kind is None or len(words) != 1:
                ctx.lose("dependencies", f"condition {condition}({argument}) is not in "
                                         "fractale's model")
                continue
            job = words[0]
            if re.fullmatch(r"\d+", job):
                out.append(f"{kind}:{job}")
            else:
                named.append((condition, job.strip("'\""), ctx.line, ctx.directive))
        result: dict[str, Any] = {"dependencies": out}
        if named:
            result["_named"] = named
        return result

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        terms = []
        for dependency in spec.dependencies:
            kind, _, job = dependency.partition(":")
            name = spec.name or ""
            if (kind == "singleton" and not job and re.fullmatch(r"[\w.-]+", name)
                    and not name.isdigit()):
                # ended(own name); a name of digits would read as a job id.
                terms.append(f"ended({name})")
            elif kind not in _KINDS:
                ctx.lose("dependencies", f"LSF has no {kind} dependency")
            elif not job.isdigit():
                ctx.lose("dependencies", f"{job} is no LSF job id (LSF reads it as a job name)")
            else:
                terms.append(f"{_KINDS[kind]}({job})")
        return [" && ".join(terms)] if terms else []


_CONDITION = re.compile(r"(\w+)\(\s*([^)]*?)\s*\)")


def settle_names(values: dict[str, Any], ctx: Context) -> None:
    """Dependencies on jobs by name: ``ended`` of the job's own name waits for every
    earlier job of that name, a Slurm singleton; any other is reported, never put where a
    job id goes."""
    for condition, name, line, directive in ctx.scratch.get("_named", []):
        if condition == "ended" and name == values.get("name"):
            values.setdefault("dependencies", []).append("singleton")
            continue
        ctx.losses.append(Loss(f"dependency on jobs named {name!r}: fractale's job model "
                               "names jobs by id", line=line, directive=directive,
                               field="dependencies", stage="parse"))


class Hosts(Codec):
    """``-m "host1 host2"``: the hosts to run on. ``others``, a ``+N`` preference and a
    compute unit (``name/``) are not host names; they are reported."""

    fields = ("nodelist",)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        hosts = []
        for word in value.split():
            name, plus, level = word.partition("+")
            if word in ("others", "all") or "/" in word:
                ctx.lose(None, f"-m {word} names a host group or compute unit, not a host")
                continue
            if plus:
                ctx.lose(None, f"-m {word}: host preference +{level} is not in fractale's "
                               "job model")
            hosts.append(name)
        return {"nodelist": hosts} if hosts else {}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        return [" ".join(spec.nodelist)] if spec.nodelist else []


class MailFlag(Codec):
    """``-B`` (mail at start) and ``-N`` (mail at the end)."""

    takes_value = False
    fields = ("mail_events",)

    def __init__(self, event: str) -> None:
        self.event = event

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        return {"mail_events": [self.event]}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        if self.event == "end":
            for event in spec.mail_events:
                if event not in ("begin", "end"):
                    ctx.lose("mail_events", f"LSF mails at the start and end only, not {event}")
        return [None] if self.event in spec.mail_events else []


class Walltime(Quantity):
    """``-W [hours:]minutes[/host_name]``: a limit normalized to a host's CPU factor is read
    as the limit, the normalization reported."""

    def __init__(self) -> None:
        super().__init__("walltime", units.read_minutes_clock, _write_minutes,
                         "[hours:]minutes")

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        limit, slash, host = value.partition("/")
        if slash:
            ctx.lose(None, f"the limit is normalized to host {host}'s CPU factor; it is "
                           "read as wall-clock time")
        return super().read(limit, ctx)


def _write_minutes(seconds: int) -> str:
    minutes = -(-seconds // 60)
    hours, rest = divmod(minutes, 60)
    return f"{hours}:{rest:02d}" if hours else str(rest)


def _order_mail(values: dict[str, Any]) -> None:
    events = values.get("mail_events")
    if events:
        values["mail_events"] = [e for e in ("begin", "end", "fail", "requeue") if e in events]


OPTIONS = (
    Option(("-J",), NameAndArray()),
    Option(("-P",), Text("account")),
    Option(("-q",), Queues()),
    Option(("-n",), Slots()),
    Option(("-nnodes",), Nodes()),
    Option(("-R",), Requirements()),
    Option(("-gpu",), Gpus()),
    Option(("-W",), Walltime()),
    Option(("-b",), Quantity("begin", units.read_lsf_datetime, units.write_lsf_datetime,
                             "year:month:day:hour:minute")),
    Option(("-o",), Path("output")),
    Option(("-oo",), Path("output"), write=False),
    Option(("-e",), Path("error")),
    Option(("-eo",), Path("error"), write=False),
    Option(("-i",), Path("input")),
    Option(("-is",), Path("input"), write=False),
    Option(("-cwd",), Text("workdir")),
    Option(("-env",), Env()),
    Option(("-x",), Flag("exclusive")),
    Option(("-w",), Dependency()),
    Option(("-u",), Text("mail_user")),
    Option(("-B",), MailFlag("begin")),
    Option(("-N",), MailFlag("end")),
    Option(("-r",), Flag("requeue", True)),
    Option(("-rn",), Flag("requeue", False)),
    Option(("-m",), Hosts()),
    Option(("-sp",), Int("priority", 1)),
    Option(("-U",), Text("reservation")),
    Option(("-M",), Ignored("per-process memory limit; fractale carries the reservation "
                            "in -R rusage[mem=...]")),
    Option(("-G",), Ignored("user group is not in fractale's job model")),
    Option(("-app",), Ignored("application profile is not in fractale's job model")),
    Option(("-alloc_flags",), Ignored("allocation flags are not in fractale's job model")),
    Option(("-L",), Ignored("login shell is not in fractale's job model")),
    Option(("-outdir",), Ignored("output directory creation is not in fractale's job model")),
    Option(("-We",), Ignored("estimated run time is not in fractale's job model")),
    Option(("-csm",), Ignored("CSM flag is not in fractale's job model")),
    Option(("-step_cgroup",), Ignored("step cgroups are not in fractale's job model")),
)


@register
class Lsf(DirectiveManager):
    name = "lsf"
    description = "IBM Spectrum LSF batch script (#BSUB)"
    prefix = "#BSUB"
    options = OPTIONS
    placeholders = {"id": "%J", "array_index": "%I"}
    variables = {
        "job_id": "LSB_JOBID", "job_name": "LSB_JOBNAME", "task_count": "LSB_DJOB_NUMPROC",
        "node_list": "LSB_HOSTS", "node_file": "LSB_DJOB_HOSTFILE", "submit_dir": "LS_SUBCWD",
        "queue": "LSB_QUEUE", "array_index": "LSB_JOBINDEX", "account": "LSB_PROJECT_NAME",
    }
    variable_aliases = {"LSB_MAX_NUM_PROCESSORS": "task_count", "LSB_MCPU_HOSTS": "node_list",
                        "LSB_BATCH_JID": "job_id"}
    variable_prefixes = ("LSB_", "LS_SUBCWD", "LS_EXECCWD", "LS_JOBPID")
    commands = ("bsub", "bjobs", "bkill", "bhosts", "bqueues", "blaunch", "bpeek", "bmod",
                "bstop", "bresume", "lsrun")
    launch = launchers.LaunchWriter(launchers.write_jsrun, ("nodes",))
    joins_output = True
    queue_separator = " "


    def finish_read(self, values, ctx):
        _order_mail(values)
        settle_names(values, ctx)


# Submitting ------------------------------------------------------------------------------

# bjobs' STAT column. An EXIT job is told apart by its exit reason.
LSF_STATES = {
    "PEND": "pending", "PSUSP": "pending", "WAIT": "pending", "PROV": "pending",
    "RUN": "running", "USUSP": "running", "SSUSP": "running",
    "DONE": "completed", "EXIT": "failed", "ZOMBI": "failed",
}


class LsfSubmitter(Submitter):
    """``bsub < script`` (``-H`` to hold; bsub reads ``#BSUB`` lines from its standard
    input); ``bjobs -o`` with a delimiter; ``bkill``. A job naming no output file gets
    ``lsf-%J.out``, since LSF would mail its output instead."""

    native_states = LSF_STATES
    assigned_output = "lsf-{{id}}.out"
    FORMAT = "jobid stat exit_code exit_reason delimiter='|'"

    def submit_command(self, script, hold):
        return Command(["bsub", *(["-H"] if hold else [])], stdin=script)

    def job_id(self, output):
        return first_match(r"Job <(\d+(?:\[\d+\])?)> is submitted", output)

    def status_commands(self, job_id, workdir=None):
        return [["bjobs", "-noheader", "-o", self.FORMAT, job_id]]

    def read_status(self, job_id, result):
        rows = [line.split("|") for line in result.stdout.splitlines() if line.count("|") >= 3]
        if not rows:
            return None
        _, native, code, reason = (cell.strip() for cell in rows[0][:4])
        state = self.state(native)
        reason = None if reason in ("", "-") else reason
        if native == "EXIT" and reason:
            if "RUNLIMIT" in reason or "run time limit" in reason:
                state = "timeout"
            elif re.search(r"TERM_OWNER|TERM_ADMIN|killed by (owner|LSF administrator)", reason):
                state = "cancelled"
        exit_code = 0 if native == "DONE" else integer(code)
        return Status(state, native, exit_code, reason)

    def cancel_command(self, job_id):
        return ["bkill", job_id]


Lsf.submitter = LsfSubmitter
