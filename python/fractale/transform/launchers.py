"""Parallel launcher lines (``srun``, ``flux run``, ``mpirun``/``mpiexec``, ``jsrun``,
``aprun``) read into one small model and written in the target manager's launcher.

Each launcher is a table row: the words that start it, which of its options carry a task
layout value, which take a value fractale does not carry (dropped and reported), and how a
layout is written back. The program and its arguments are kept verbatim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from fractale.transform import registry
from fractale.transform.report import Loss

LAYOUT_FIELDS = ("nodes", "tasks", "tasks_per_node", "cpus_per_task", "gpus_per_task")


@dataclass
class Layout:
    """The task layout a launcher line asks for."""

    # Each is a count, or the text of a shell expansion such as "$SLURM_NTASKS".
    nodes: int | str | None = None
    tasks: int | str | None = None
    tasks_per_node: int | str | None = None
    cpus_per_task: int | str | None = None
    gpus_per_task: int | str | None = None
    # jsrun counts resource sets; these hold its per-set values until settled.
    extra: dict[str, int | str] = field(default_factory=dict)


@dataclass(frozen=True)
class Launcher:
    """One launcher's command words and options."""

    words: tuple[str, ...]
    # option spelling -> layout field it sets
    layout: dict[str, str]
    # options that take a value fractale does not translate (binding, MPI flavour, ...)
    valued: frozenset[str] = frozenset()
    # options that name a host file; the target launcher finds hosts its own way
    hostfile: frozenset[str] = frozenset()


LAUNCHERS: dict[str, Launcher] = {
    "srun": Launcher(
        ("srun",),
        {"-n": "tasks", "--ntasks": "tasks", "-N": "nodes", "--nodes": "nodes",
         "--ntasks-per-node": "tasks_per_node", "-c": "cpus_per_task",
         "--cpus-per-task": "cpus_per_task", "--gpus-per-task": "gpus_per_task"},
        frozenset({"--mpi", "--cpu-bind", "--cpu_bind", "-m", "--distribution", "--export",
                   "--gpu-bind", "--mem", "--mem-per-cpu", "-p", "--partition", "-t", "--time",
                   "-o", "--output", "-e", "--error", "-J", "--job-name", "--hint", "-w",
                   "--nodelist", "-x", "--exclude", "-C", "--constraint", "--gres",
                   "--gpus-per-node", "-G", "--gpus", "--cpus-per-gpu", "--het-group",
                   "--container-image", "-K", "--kill-on-bad-exit", "--label", "-l",
                   "--unbuffered", "-u", "--exclusive", "--overlap", "--multi-prog"}),
    ),
    "flux": Launcher(
        ("flux", "run"),
        {"-n": "tasks", "--ntasks": "tasks", "-N": "nodes", "--nodes": "nodes",
         "--tasks-per-node": "tasks_per_node", "-c": "cpus_per_task",
         "--cores-per-task": "cpus_per_task", "-g": "gpus_per_task",
         "--gpus-per-task": "gpus_per_task"},
        frozenset({"-o", "--setopt", "-S", "--setattr", "--env", "--env-remove", "--output",
                   "--error", "--label-io", "-l", "--cwd", "-t", "--time-limit", "--queue",
                   "-q", "--requires", "--exclusive", "-x", "--cores", "--gpus-per-node",
                   "--tasks-per-core", "-u", "--unbuffered", "--verbose", "-v", "--wait-event"}),
    ),
    "mpirun": Launcher(
        ("mpirun",),
        {"-n": "tasks", "-np": "tasks", "--np": "tasks", "-c": "tasks",
         "--npernode": "tasks_per_node", "-npernode": "tasks_per_node", "-N": "tasks_per_node",
         "-ppn": "tasks_per_node", "--ppn": "tasks_per_node", "-d": "cpus_per_task",
         "--depth": "cpus_per_task", "--cpus-per-proc": "cpus_per_task",
         "--cpus-per-rank": "cpus_per_task"},
        frozenset({"--bind-to", "-bind-to", "--map-by", "-map-by", "--rank-by", "-x", "--mca",
                   "-mca", "--cpu-bind", "-genv", "-env", "--env", "-wdir", "--wdir",
                   "--report-bindings", "--oversubscribe", "-launcher", "--display-map",
                   "-print-rank-map", "--tag-output"}),
        frozenset({"-machinefile", "--machinefile", "-hostfile", "--hostfile", "-f",
                   "--hosts", "-host", "--host", "-H"}),
    ),
    "jsrun": Launcher(
        ("jsrun",),
        {"-n": "sets", "--nrs": "sets", "-a": "tasks_per_set", "--tasks_per_rs": "tasks_per_set",
         "-c": "cpus_per_set", "--cpu_per_rs": "cpus_per_set", "-g": "gpus_per_set",
         "--gpu_per_rs": "gpus_per_set", "-r": "sets_per_node", "--rs_per_host": "sets_per_node"},
        frozenset({"-b", "--bind", "-d", "--launch_distribution", "-l", "--latency_priority",
                   "-E", "--env", "-M", "--smpiargs", "-D", "--stdio_stderr", "-o", "-e",
                   "-k", "--stdio_mode"}),
    ),
    "aprun": Launcher(
        ("aprun",),
        {"-n": "tasks", "-N": "tasks_per_node", "-d": "cpus_per_task"},
        frozenset({"-cc", "-j", "-S", "-e", "-q", "-b", "-m", "-L", "-F", "-sl", "-r"}),
    ),
}
LAUNCHERS["mpiexec"] = Launcher(("mpiexec",), LAUNCHERS["mpirun"].layout,
                                LAUNCHERS["mpirun"].valued, LAUNCHERS["mpirun"].hostfile)
LAUNCHERS["mpiexec.hydra"] = Launcher(("mpiexec.hydra",), LAUNCHERS["mpirun"].layout,
                                      LAUNCHERS["mpirun"].valued, LAUNCHERS["mpirun"].hostfile)
LAUNCHERS["flux-submit"] = Launcher(("flux", "submit"), LAUNCHERS["flux"].layout,
                                    LAUNCHERS["flux"].valued)

# Word sequences that start a launcher line, longest first.
_STARTS = sorted(((lau.words, key) for key, lau in LAUNCHERS.items()), key=lambda w: -len(w[0]))


def _opt(name: str, value: int | str | None) -> list[str]:
    return [] if value is None else [f"{name}={value}" if name.startswith("--") else
                                     f"{name} {value}"]


def write_srun(layout: Layout) -> str:
    return " ".join(["srun", *_opt("-N", layout.nodes), *_opt("-n", layout.tasks),
                     *_opt("--ntasks-per-node", layout.tasks_per_node),
                     *_opt("-c", layout.cpus_per_task),
                     *_opt("--gpus-per-task", layout.gpus_per_task)])


def write_flux_run(layout: Layout) -> str:
    return " ".join(["flux run", *_opt("-N", layout.nodes), *_opt("-n", layout.tasks),
                     *_opt("--tasks-per-node", layout.tasks_per_node),
                     *_opt("-c", layout.cpus_per_task), *_opt("-g", layout.gpus_per_task)])


def _tasks(layout: Layout) -> int | str | None:
    if layout.tasks is not None:
        return layout.tasks
    if isinstance(layout.nodes, int) and isinstance(layout.tasks_per_node, int):
        return layout.nodes * layout.tasks_per_node
    return None


def write_mpiexec(layout: Layout) -> str:
    return " ".join(["mpiexec", *_opt("-n", _tasks(layout)), *_opt("--ppn", layout.tasks_per_node),
                     *_opt("--depth", layout.cpus_per_task)])


def write_mpirun(hostfile: str | None) -> Callable[[Layout], str]:
    def write(layout: Layout) -> str:
        words = ["mpirun"]
        if hostfile:
            words.append(f"-machinefile {hostfile}")
        words += [*_opt("-np", _tasks(layout)), *_opt("-npernode", layout.tasks_per_node)]
        return " ".join(words)

    return write


def write_jsrun(layout: Layout) -> str:
    tasks = _tasks(layout)
    if tasks is None and layout.nodes is not None:
        tasks = layout.nodes
    return " ".join(["jsrun", *_opt("-n", tasks), "-a 1", *_opt("-c", layout.cpus_per_task or 1),
                     *_opt("-g", layout.gpus_per_task), *_opt("-r", layout.tasks_per_node)])


def write_aprun(layout: Layout) -> str:
    return " ".join(["aprun", *_opt("-n", _tasks(layout)), *_opt("-N", layout.tasks_per_node),
                     *_opt("-d", layout.cpus_per_task)])


@dataclass(frozen=True)
class LaunchWriter:
    """How a manager's scripts launch tasks: a writer of launch lines, and the layout fields
    its launcher cannot carry. Launchers without a node count get the tasks per node instead
    where the tasks divide over the nodes."""

    write: Callable[[Layout], str]
    cannot: tuple[str, ...] = ()


_WORD = re.compile(r"\s*(\S+)")


def launcher_at(line: str) -> tuple[str, str, int] | None:
    """(indent, launcher key, offset after its words) when ``line`` starts a launch."""
    indent = line[: len(line) - len(line.lstrip())]
    words = line.split()
    for start, key in _STARTS:
        if tuple(words[: len(start)]) == start:
            offset = len(indent)
            for _ in start:
                match = _WORD.match(line, offset)
                offset = match.end()
            return indent, key, offset
    return None


def translate_line(line: str, number: int, target: str, losses: list[Loss]) -> str:
    """The launch in ``line`` written with ``target``'s launcher; other lines unchanged."""
    found = launcher_at(line)
    writer = registry.get(target).launch
    if found is None or writer is None:
        return line
    indent, key, offset = found
    launcher = LAUNCHERS[key]
    layout = Layout()
    dropped: list[str] = []
    while True:
        match = _WORD.match(line, offset)
        if match is None or not match.group(1).startswith("-"):
            break
        token = match.group(1)
        offset = match.end()
        name, _, value = token.partition("=")
        known = name in launcher.layout or name in launcher.valued or name in launcher.hostfile
        if not value and not known and token[:2] in launcher.layout and token[1] != "-":
            name, value = token[:2], token[2:]
        needs_value = (name in launcher.layout or name in launcher.valued
                       or name in launcher.hostfile)
        if needs_value and not value:
            following = _WORD.match(line, offset)
            if following is None:
                break
            value = following.group(1)
            offset = following.end()
        if name in launcher.layout and re.fullmatch(r"\d+|\$\{?\w+\}?", value):
            _set(layout, launcher.layout[name], int(value) if value.isdigit() else value)
        elif name in launcher.hostfile:
            continue
        else:
            dropped.append(f"{name}={value}" if value else name)
    _settle_sets(layout)
    rest = line[offset:]
    unsupported = writer.cannot
    if "nodes" in unsupported:
        _nodes_as_tasks_per_node(layout)
    for name in unsupported:
        if getattr(layout, name) is not None:
            losses.append(Loss(f"{target}'s launcher cannot set {name.replace('_', ' ')}",
                               line=number, directive=line.strip(), stage="render"))
    if key == "flux-submit":
        losses.append(Loss("flux submit returns at once; the translated launch waits for the "
                           "tasks", line=number, directive=line.strip(), stage="render"))
    for option in dropped:
        losses.append(Loss(f"launcher option {option} has no {target} equivalent",
                           line=number, directive=line.strip(), stage="render"))
    for name in unsupported:
        setattr(layout, name, None)
    return f"{indent}{writer.write(layout)}{rest}"


def _nodes_as_tasks_per_node(layout: Layout) -> None:
    """``-N 2 -n 8`` says the same as ``-n 8`` with 4 per node, which every launcher takes."""
    nodes, tasks = layout.nodes, layout.tasks
    if isinstance(nodes, int) and isinstance(tasks, int) and layout.tasks_per_node is None:
        if tasks % nodes == 0:
            layout.tasks_per_node = tasks // nodes
            layout.nodes = None
    elif nodes == 1 and layout.tasks_per_node is None:
        layout.nodes = None


def _set(layout: Layout, name: str, value: int | str) -> None:
    if name in LAYOUT_FIELDS:
        setattr(layout, name, value)
    else:
        layout.extra[name] = value


def _settle_sets(layout: Layout) -> None:
    """jsrun resource sets -> tasks, tasks per node, cpus and GPUs per task."""
    extra = layout.extra
    if not extra:
        return
    if not all(isinstance(v, int) for v in extra.values()):
        layout.tasks = extra.get("sets")
        layout.extra = {}
        return
    per_set = extra.get("tasks_per_set", 1)
    if "sets" in extra:
        layout.tasks = extra["sets"] * per_set
    if "sets_per_node" in extra:
        layout.tasks_per_node = extra["sets_per_node"] * per_set
    if "cpus_per_set" in extra and extra["cpus_per_set"] // per_set > 0:
        layout.cpus_per_task = extra["cpus_per_set"] // per_set
    if extra.get("gpus_per_set"):
        layout.gpus_per_task = max(1, extra["gpus_per_set"] // per_set)
    layout.extra = {}
