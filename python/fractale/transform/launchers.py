"""Parallel launcher lines (``srun``, ``flux run``, ``mpirun``/``mpiexec`` of Open MPI,
MPICH/Hydra, Intel MPI and Cray PALS, ``jsrun``, ``aprun``, ``ibrun``, ``mpirun.lsf``) read
into one small model and written in the target manager's launcher.

Each launcher is a table row holding its option grammar as its documentation gives it: the
options that are flags, those that take one value (the task layout ones among them) and
those that take two (``--mca KEY VALUE``, ``-genv NAME VALUE``). A line is split into shell
words without unquoting what follows the options, so the program, its quoted arguments,
redirections and a trailing ``&`` are kept byte for byte. A line whose options cannot be
read with certainty (an option the grammar does not know, an unbalanced quote) is left as
it is and reported, never rewritten into a different command. ``a : b`` launches (MPMD)
are read component by component and written where the target's launcher takes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from fractale.transform import fluxcli, registry
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
    """One launcher's command words and option grammar."""

    words: tuple[str, ...]
    # option spelling -> layout field it sets (each takes one value)
    layout: dict[str, str]
    # options that take one value fractale does not translate (binding, MPI flavour, ...)
    valued: frozenset[str] = frozenset()
    # options that name hosts or a host file; the target launcher finds hosts its own way
    hostfile: frozenset[str] = frozenset()
    # options that take no value (a getopt option with an optional value takes it only
    # attached, ``--exclusive=user``, so it is a flag when it stands alone)
    flags: frozenset[str] = frozenset()
    # options that take two values (``--mca KEY VALUE``)
    pairs: frozenset[str] = frozenset()
    # getopt rules: ``-n4`` is ``-n 4`` and ``-lu`` is ``-l -u``
    getopt: bool = False
    # ``a : b`` runs several programs in one launch
    mpmd: bool = False


SRUN_VALUED = frozenset({
    "--mpi", "--cpu-bind", "--cpu_bind", "-m", "--distribution", "--export", "--gpu-bind",
    "--mem", "--mem-per-cpu", "--mem-per-gpu", "--mem-bind", "-p", "--partition", "-t",
    "--time", "--time-min", "-o", "--output", "-e", "--error", "-i", "--input", "--open-mode",
    "-J", "--job-name", "--hint", "-C", "--constraint", "--gres", "--gres-flags",
    "--gpus-per-node", "-G", "--gpus", "--cpus-per-gpu", "--gpus-per-socket", "--het-group",
    "--container-image", "--container", "--ntasks-per-socket", "--ntasks-per-core",
    "--ntasks-per-gpu", "--sockets-per-node", "--cores-per-socket", "--threads-per-core",
    "-B", "--extra-node-info", "--gpu-freq", "--cpu-freq", "-r", "--relative", "-T",
    "--threads", "-D", "--chdir", "-A", "--account", "-q", "--qos", "-b", "--begin", "-d",
    "--dependency", "--comment", "--reservation", "--switches", "--network", "--prolog",
    "--epilog", "--task-prolog", "--task-epilog", "--signal", "-L", "--licenses",
    "--mail-type", "--mail-user", "-M", "--clusters", "--profile", "--acctg-freq", "--tmp",
    "--mincpus", "-S", "--core-spec", "--thread-spec", "--uid", "--gid", "-W", "--wait",
    "--jobid", "--slurmd-debug", "--accel-bind", "--tres-per-task",
    "--bb", "--bbf", "--wckey", "--priority", "--power", "--delay-boot",
    "-F", "--nodefile", "--tres-bind", "--segment",
})
SRUN_FLAGS = frozenset({
    "-u", "--unbuffered", "-l", "--label", "-K", "--kill-on-bad-exit", "--exclusive",
    "--overlap", "--multi-prog", "-Q", "--quiet", "-v", "--verbose", "-X",
    "--disable-status", "-s", "--oversubscribe", "-O", "--overcommit", "-E",
    "--preserve-env", "-Z", "--no-allocate", "-k", "--no-kill", "--contiguous", "--pty",
    "-H", "--hold", "-I", "--immediate", "--spread-job", "--use-min-nodes", "--test-only",
    "--quit-on-interrupt", "--exact", "--whole", "--propagate", "--send-libs", "--nice",
    "--x11", "--bcast", "--compress", "--resv-ports", "--requeue", "--no-requeue",
    "--external-launcher",
})

# Open MPI mpirun/mpiexec (orterun and prterun), as its man page lists them.
OPENMPI = Launcher(
    ("mpirun",),
    {"-n": "tasks", "-np": "tasks", "--np": "tasks", "-c": "tasks", "--n": "tasks",
     "--npernode": "tasks_per_node", "-npernode": "tasks_per_node", "-N": "tasks_per_node",
     "--cpus-per-proc": "cpus_per_task", "-cpus-per-proc": "cpus_per_task",
     "--cpus-per-rank": "cpus_per_task", "-cpus-per-rank": "cpus_per_task"},
    frozenset({"--bind-to", "-bind-to", "--map-by", "-map-by", "--rank-by", "-rank-by", "-x",
               "--wdir", "-wdir", "--prefix", "-prefix", "--output-filename",
               "-output-filename", "--tune", "-tune", "--am", "-am", "--npersocket",
               "-npersocket", "--ppr", "-ppr", "--display", "--rankfile", "-rf",
               "--runtime-options", "--path", "-path", "--stdin", "-stdin", "--timeout",
               "-timeout", "--personality",
               "--app", "-app", "--preload-files", "-s", "--preload-binary", "--launch-agent",
               "--set-cwd-to-session-dir", "--pmixmca", "--prtemca"}),
    frozenset({"-machinefile", "--machinefile", "-hostfile", "--hostfile", "--default-hostfile",
               "-host", "--host", "-H"}),
    flags=frozenset({"--oversubscribe", "-oversubscribe", "--nooversubscribe",
                     "--report-bindings", "-report-bindings", "--display-map", "-display-map",
                     "--display-allocation", "--tag-output", "-tag-output",
                     "--timestamp-output", "-timestamp-output", "-q", "--quiet", "-v",
                     "--verbose", "--allow-run-as-root", "--noprefix", "--merge-stderr-to-stdout",
                     "--use-hwthread-cpus", "--bind-to-core", "-bind-to-core",
                     "--bind-to-socket", "--bynode", "-bynode", "--byslot", "-byslot",
                     "--bycore", "--bysocket", "--nolocal", "-nolocal", "--output-proctable",
                     "--xml", "--enable-recovery", "--disable-recovery", "--continuous",
                     "--do-not-launch", "--report-pid", "--report-uri", "--show-progress",
                     "--wait-for-server", "--mca-params", "--abort-on-error"}),
    pairs=frozenset({"--mca", "-mca", "--gmca", "-gmca"}),
    mpmd=True,
)

# MPICH's Hydra mpiexec and Intel MPI's mpirun/mpiexec.hydra, which extends it.
HYDRA = Launcher(
    ("mpiexec.hydra",),
    {"-n": "tasks", "-np": "tasks", "-ppn": "tasks_per_node", "-perhost": "tasks_per_node",
     "-grr": "tasks_per_node"},
    frozenset({"-genvlist", "-envlist", "-genvexcl", "-bind-to", "-map-by", "-launcher",
               "-launcher-exec", "-bootstrap", "-bootstrap-exec", "-iface", "-wdir", "-gwdir",
               "-gpath", "-path", "-rmk", "-demux", "-profile", "-prepend-pattern",
               "-outfile-pattern", "-errfile-pattern", "-tune", "-configfile", "-binding",
               "-s", "-genvfile", "-gdba", "-gtool", "-gpu-domain"}),
    frozenset({"-f", "-machinefile", "-machine", "-hostfile", "-hosts", "-host",
               "-hostlist"}),
    flags=frozenset({"-genvall", "-genvnone", "-envall", "-envnone", "-l", "-prepend-rank",
                     "-print-rank-map", "-print-all-exitcodes", "-ordered-output", "-rr",
                     "-verbose", "-v", "-info", "-gdb", "-nolocal", "-silent-abort",
                     "-disable-x", "-enable-x", "-usize", "-cleanup", "-noconf", "-localhost"}),
    pairs=frozenset({"-genv", "-env"}),
    mpmd=True,
)

# HPE Cray PALS mpiexec (the launcher of PBS Pro systems at ALCF and NERSC's peers).
PALS = Launcher(
    ("mpiexec",),
    {"-n": "tasks", "--np": "tasks", "-np": "tasks", "--ppn": "tasks_per_node",
     "-ppn": "tasks_per_node", "-d": "cpus_per_task", "--depth": "cpus_per_task",
     "--cpus-per-rank": "cpus_per_task"},
    frozenset({"--cpu-bind", "--mem-bind", "--env", "-e", "--envlist", "--wdir", "--umask",
               "--rlimits", "--exclusive-level", "--pmi", "--transfer", "--label-prefix",
               "--line-buffer-size", "--depth-by"}),
    frozenset({"--hosts", "--hostfile", "--host"}),
    flags=frozenset({"-l", "--label", "--no-transfer", "--envall", "--envnone",
                     "--abort-on-failure", "--no-abort-on-failure", "--line-buffer",
                     "--exclusive", "-v", "--verbose", "-q", "--quiet"}),
    mpmd=True,
)

# Which grammars a command may be written in, tried in order: the first that reads the
# whole option list wins.
FLAVOURS = {"mpirun": (OPENMPI, HYDRA, PALS), "mpiexec": (OPENMPI, HYDRA, PALS),
            "mpiexec.hydra": (HYDRA,)}

LAUNCHERS: dict[str, Launcher] = {
    "srun": Launcher(
        ("srun",),
        {"-n": "tasks", "--ntasks": "tasks", "-N": "nodes", "--nodes": "nodes",
         "--ntasks-per-node": "tasks_per_node", "--tasks-per-node": "tasks_per_node",
         "-c": "cpus_per_task", "--cpus-per-task": "cpus_per_task",
         "--gpus-per-task": "gpus_per_task"},
        SRUN_VALUED,
        frozenset({"-w", "--nodelist", "-x", "--exclude"}),
        flags=SRUN_FLAGS,
        getopt=True,
        mpmd=True,
    ),
    "flux": Launcher(
        ("flux", "run"),
        {"-n": "tasks", "--ntasks": "tasks", "-N": "nodes", "--nodes": "nodes",
         "--tasks-per-node": "tasks_per_node", "-c": "cpus_per_task",
         "--cores-per-task": "cpus_per_task", "-g": "gpus_per_task",
         "--gpus-per-task": "gpus_per_task"},
        fluxcli.valued("run"), flags=fluxcli.flags("run"), getopt=True,
    ),
    "mpirun": OPENMPI,
    "mpiexec": PALS,
    "mpiexec.hydra": HYDRA,
    "jsrun": Launcher(
        ("jsrun",),
        {"-n": "sets", "--nrs": "sets", "-a": "tasks_per_set", "--tasks_per_rs": "tasks_per_set",
         "-c": "cpus_per_set", "--cpu_per_rs": "cpus_per_set", "-g": "gpus_per_set",
         "--gpu_per_rs": "gpus_per_set", "-r": "sets_per_node", "--rs_per_host": "sets_per_node",
         "-p": "tasks", "--np": "tasks"},
        frozenset({"-b", "--bind", "-d", "--launch_distribution", "-l", "--latency_priority",
                   "-E", "--env", "-F", "--env_eval", "-D", "--env_no_propagate", "-M",
                   "--smpiargs", "-e", "--stdio_mode", "-o", "--stdio_stdout", "-k",
                   "--stdio_stderr", "-t", "--stdio_input", "-h", "--chdir", "-X",
                   "--exit_on_error", "-K", "--rs_per_socket", "-m", "--memory_per_rs",
                   "-U", "--erf_input", "-f", "--appfile", "-S", "--save_resources",
                   "-Z", "--use_reservation", "-I", "--invoking_use_reservation",
                   "-P", "--pre_post_exec", "-j", "--use_spindle", "-J", "--jobid"}),
        flags=frozenset({"-i", "--immediate", "--progress", "-L", "--use_resources",
                         "--print_placement", "-A", "--allocate_only"}),
        getopt=True,
    ),
    "aprun": Launcher(
        ("aprun",),
        {"-n": "tasks", "-N": "tasks_per_node", "-d": "cpus_per_task"},
        frozenset({"-cc", "-cp", "-j", "-S", "-sn", "-sl", "-e", "-m", "-L", "-F", "-r",
                   "-p", "-D", "-a", "-t", "-E", "-R", "-z"}),
        flags=frozenset({"-b", "-B", "-q", "-T", "-ss", "-C"}),
        mpmd=True,
    ),
    # TACC's wrapper: ibrun [-n TASKS -o OFFSET] program; without options, every task.
    "ibrun": Launcher(("ibrun",), {"-n": "tasks", "-np": "tasks"}, frozenset({"-o"})),
    # IBM Spectrum LSF's wrapper: runs over the job's slots; it takes no options of its own.
    "mpirun.lsf": Launcher(("mpirun.lsf",), {}),
}
LAUNCHERS["flux-submit"] = Launcher(("flux", "submit"), LAUNCHERS["flux"].layout,
                                    fluxcli.valued("submit"), flags=fluxcli.flags("submit"),
                                    getopt=True)

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
    """``flux run`` with per-task options only: flux-core refuses ``--tasks-per-node`` beside
    ``-n``, ``-c`` or ``-g``, so tasks per node become a task count over the nodes."""
    nodes, tasks, per_node = layout.nodes, layout.tasks, layout.tasks_per_node
    if isinstance(per_node, int) and isinstance(nodes, int) and tasks is None:
        tasks, per_node = nodes * per_node, None
    elif isinstance(per_node, int) and isinstance(tasks, int) and nodes is None:
        nodes, per_node = max(1, -(-tasks // per_node)), None
    elif per_node is not None and tasks is not None:
        per_node = None
    if per_node is not None and (layout.cpus_per_task is not None
                                 or layout.gpus_per_task is not None or nodes is None):
        # Per-resource and per-task options cannot be mixed; the job's geometry is given to
        # the launch when it is written into a batch script.
        per_node = None
    return " ".join(["flux run", *_opt("-N", nodes), *_opt("-n", tasks),
                     *_opt("--tasks-per-node", per_node),
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
    where the tasks divide over the nodes. ``mpmd``: the launcher runs ``a : b`` (each
    component written with the launcher's options, the command word said once)."""

    write: Callable[[Layout], str]
    cannot: tuple[str, ...] = ()
    mpmd: bool = False


@dataclass
class Component:
    """One program of a launch line: its layout, the options not carried, its words."""

    layout: Layout
    dropped: list[str]
    # The program and its arguments, exactly as written (quotes, redirections, "&").
    program: str


@dataclass
class Launch:
    """A launch line read: its indentation, launcher and one component per program."""

    indent: str
    key: str
    components: list[Component]


class Unreadable(ValueError):
    """A launch line whose options cannot be read with certainty."""


# What may stand before a launcher's words on its line: indentation, variable assignments
# for the launch (``OMP_NUM_THREADS=4 srun ...``) and ``time``, ``exec``, ``nohup``.
_LEAD = re.compile(
    r"""\s*(?:(?:[A-Za-z_]\w*=(?:'[^']*'|"[^"]*"|[^\s'"]*)|time|exec|nohup)\s+)*""")


def launcher_at(line: str) -> tuple[str, str, int] | None:
    """(what precedes it, launcher key, offset after its words) when ``line`` launches."""
    lead = _LEAD.match(line)
    indent = lead.group(0) if lead else ""
    words = line[len(indent):].split()
    for start, key in _STARTS:
        if tuple(words[: len(start)]) == start:
            offset = len(indent)
            for word in start:
                offset = line.index(word, offset) + len(word)
            return indent, key, offset
    return None


def shell_words(line: str, offset: int) -> list[tuple[int, int]]:
    """The spans of the shell words of ``line`` from ``offset``, up to a control operator.

    Quotes, backslashes, ``$(...)``, ``${...}`` and backquotes hold a word together.
    Raises ``Unreadable`` on a quote or substitution left open.
    """
    spans: list[tuple[int, int]] = []
    i, n = offset, len(line)
    while True:
        while i < n and line[i] in " \t":
            i += 1
        if i >= n or line[i] in ";&|<>()#":
            return spans
        j, quote, depth = i, "", 0
        while j < n:
            char = line[j]
            if quote:
                if char == quote:
                    quote = ""
                elif char == "\\" and quote != "'":
                    j += 1
            elif char in "\"'`":
                quote = char
            elif char == "\\":
                j += 1
            elif char == "$" and line[j + 1: j + 2] in ("(", "{"):
                depth += 1
                j += 1
            elif depth and char in ")}":
                depth -= 1
            elif not depth and (char in " \t;&|<>"):
                break
            j += 1
        if quote or depth:
            raise Unreadable("a quote or substitution is left open")
        spans.append((i, j))
        i = j


def _plain(word: str) -> str:
    """A word without its quotes (options are compared unquoted)."""
    if not any(c in word for c in "\"'\\"):
        return word
    out, quote, i = [], "", 0
    while i < len(word):
        char = word[i]
        if quote and char == quote:
            quote = ""
        elif not quote and char in "\"'":
            quote = char
        elif char == "\\" and quote != "'" and i + 1 < len(word):
            i += 1
            out.append(word[i])
        else:
            out.append(char)
        i += 1
    return "".join(out)


def read_launch(line: str) -> Launch | None:
    """The launch ``line`` holds, None when it holds none; ``Unreadable`` when it is a
    launch whose options no grammar of its launcher reads."""
    found = launcher_at(line)
    if found is None:
        return None
    indent, key, offset = found
    spans = shell_words(line, offset)
    grammars = FLAVOURS.get(key, (LAUNCHERS[key],))
    problems = []
    for grammar in grammars:
        try:
            return Launch(indent, key, _components(line, offset, spans, grammar))
        except Unreadable as err:
            problems.append(str(err))
    raise Unreadable(problems[0])


def _components(line: str, offset: int, spans: list[tuple[int, int]],
                grammar: Launcher) -> list[Component]:
    out: list[Component] = []
    index = 0
    while True:
        layout, dropped, index = _options(line, spans, index, grammar)
        # The program starts at its first word, or right after the options when none is left.
        start = spans[index][0] if index < len(spans) else (
            spans[index - 1][1] if index else offset)
        colon = next((k for k in range(index, len(spans))
                      if line[slice(*spans[k])] == ":"), None) if grammar.mpmd else None
        if colon is None:
            out.append(Component(layout, dropped, line[start:].strip()))
            return out
        out.append(Component(layout, dropped, line[start:spans[colon][0]].strip()))
        index = colon + 1


def _options(line: str, spans: list[tuple[int, int]], index: int,
             grammar: Launcher) -> tuple[Layout, list[str], int]:
    """The options of one component from word ``index``: (layout, dropped, program index)."""
    layout = Layout()
    dropped: list[str] = []
    valued = set(grammar.layout) | grammar.valued | grammar.hostfile

    def word(at: int) -> str:
        if at >= len(spans):
            raise Unreadable(f"{_plain(line[slice(*spans[at - 1])])} needs a value")
        return line[slice(*spans[at])]

    while index < len(spans):
        raw = line[slice(*spans[index])]
        text = _plain(raw)
        if not text.startswith("-") or text == "-":
            break
        index += 1
        if text == "--":
            break
        name, eq, value = text.partition("=") if text.startswith("--") else (text, "", "")
        if name in grammar.flags and not (eq and name in valued):
            dropped.append(text)
            continue
        if name in valued:
            if not eq:
                value = word(index)
                index += 1
            _take(grammar, name, value, layout, dropped)
        elif name in grammar.pairs and not eq:
            first, second = _plain(word(index)), _plain(word(index + 1))
            index += 2
            dropped.append(f"{name} {first} {second}")
        elif grammar.getopt and not text.startswith("--") and len(text) > 2:
            short = text[:2]
            if short in valued:
                _take(grammar, short, text[2:], layout, dropped)
            elif all(f"-{c}" in grammar.flags for c in text[1:]):
                dropped.extend(f"-{c}" for c in text[1:])
            else:
                raise Unreadable(f"{text} is not an option {grammar.words[0]} documents")
        else:
            raise Unreadable(f"{text} is not an option {' '.join(grammar.words)} documents")
    _settle_sets(layout)
    return layout, dropped, index


def _take(grammar: Launcher, name: str, value: str, layout: Layout,
          dropped: list[str]) -> None:
    """One valued option: into the layout, or dropped (host options go without a word)."""
    if name in grammar.hostfile:
        return
    field_name = grammar.layout.get(name)
    plain = _plain(value)
    if field_name is not None and plain.isdigit():
        _set(layout, field_name, int(plain))
    elif field_name is not None and value.startswith(("$", "`")):
        _set(layout, field_name, value)
    else:
        dropped.append(f"{name}={plain}" if name.startswith("--") else f"{name} {plain}")


def translate_line(line: str, number: int, target: str, losses: list[Loss]) -> str:
    """The launch in ``line`` written with ``target``'s launcher; other lines unchanged."""
    writer = registry.get(target).launch
    if writer is None:
        return line

    def lose(reason: str) -> None:
        losses.append(Loss(reason, line=number, directive=line.strip(), stage="render"))

    try:
        launch = read_launch(line)
    except Unreadable as err:
        lose(f"launch line not read ({err}); left as it is for {target}")
        return line
    if launch is None:
        return line
    words = LAUNCHERS[launch.key].words
    if tuple(writer.write(Layout()).split()[: len(words)]) == words:
        return line  # the target's own launcher: every option of it still holds
    if len(launch.components) > 1 and not writer.mpmd:
        lose(f"{target}'s launcher runs one program per launch; this launch of "
             f"{len(launch.components)} programs is left as it is")
        return line
    written = []
    for position, component in enumerate(launch.components):
        layout = component.layout
        if launch.key in ("flux", "flux-submit") and layout.tasks is None and (
                layout.nodes is None):
            # flux run starts one task unless told otherwise; other launchers start the job's.
            layout.tasks = 1
        if "nodes" in writer.cannot:
            _nodes_as_tasks_per_node(layout)
        for name in writer.cannot:
            if getattr(layout, name) is not None:
                lose(f"{target}'s launcher cannot set {name.replace('_', ' ')}")
                setattr(layout, name, None)
        for option in component.dropped:
            lose(f"launcher option {option} has no {target} equivalent")
        command = writer.write(layout)
        if position:
            command = command.partition(" ")[2]
        written.append(" ".join(part for part in (command, component.program) if part))
    if launch.key == "flux-submit":
        lose("flux submit returns at once; the translated launch waits for the tasks")
    return launch.indent + " : ".join(written)


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
    counts = {name: v for name, v in extra.items() if isinstance(v, int)}
    if len(counts) != len(extra):
        layout.tasks = extra.get("sets")
        layout.extra = {}
        return
    per_set = counts.get("tasks_per_set", 1)
    if "sets" in counts:
        layout.tasks = counts["sets"] * per_set
    if "sets_per_node" in counts:
        layout.tasks_per_node = counts["sets_per_node"] * per_set
    if "cpus_per_set" in counts and counts["cpus_per_set"] // per_set > 0:
        layout.cpus_per_task = counts["cpus_per_set"] // per_set
    if counts.get("gpus_per_set"):
        layout.gpus_per_task = max(1, counts["gpus_per_set"] // per_set)
    layout.extra = {}
