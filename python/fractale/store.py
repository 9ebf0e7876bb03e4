"""The cluster store: the fleet of clusters fractale knows, kept as plain files.

The store is a directory (``FRACTALE_HOME``, or ``~/.fractale``; ``--config-dir`` moves it)
holding one folder per cluster::

    <store>/<cluster>/cluster.yaml        scheduler, description, cost, user metadata
    <store>/<cluster>/containment.json    the containment graph (JGF)
    <store>/<cluster>/<subsystem>.json    any other subsystem graph, e.g. spack.json
    <store>/<cluster>/state.json          its load when last read: jobs running and pending
                                          (``fractale cluster state NAME --save``; see snapshot.py)
    <store>/.jobs/<cluster>/<job>.json    each job fractale submitted there (see jobs.py)
    <store>/.fleet-cache                  what the files above hold, compiled by the core: the
                                          one cache, checked against each file's content
                                          (``Store.compiled``)

Every graph is validated by the core before anything is written, so a bad graph leaves the
store as it was. Writes are atomic: a file is written beside its final name and renamed into
place, and a new cluster is written into a temporary folder that is renamed into place whole.
Writers hold an exclusive ``flock`` on ``<store>/.lock``, so two concurrent registrations
never interleave; readers need no lock because every change is a rename.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import json
import math
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from fractale.errors import FractaleError, StoreError

GraphSource = Union[str, os.PathLike, Mapping[str, Any]]

CONFIG_FILE = "cluster.yaml"
CONTAINMENT = "containment"
# The saved snapshot of a cluster's jobs; not a subsystem graph, so no subsystem takes its name.
STATE = "state"
LOCK_FILE = ".lock"
# What the clusters' files hold, compiled by the core, beside them (see ``Store.compiled``).
FLEET_CACHE = ".fleet-cache"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_LOCK_TIMEOUT = 60.0
# Folders writers make beside the clusters while they hold the lock.
_SCRATCH_PREFIXES = (".add-", ".remove-", ".replace-")


def default_root() -> Path:
    """``FRACTALE_HOME`` when set, otherwise ``~/.fractale``."""
    home = os.environ.get("FRACTALE_HOME")
    return Path(home).expanduser() if home else Path.home() / ".fractale"


def check_name(name: str, what: str = "cluster name") -> str:
    """``name`` when it can name a folder or file in the store; StoreError otherwise."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name.endswith(".json"):
        raise StoreError(
            f"invalid {what} {name!r}: use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit, at most 64 characters"
        )
    return name


def dump_json(document: Any) -> str:
    """JSON text for a graph: compact, since stored graphs can hold millions of vertices."""
    return json.dumps(document, separators=(",", ":"))


def _umask() -> int:
    """The process umask, read without setting it where Linux tells it (setting it, even
    for an instant, would race with other threads creating files)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and a rename,
    so that a reader or a crash sees the old content or the new one, never half of it.
    The file gets the permissions of the one it replaces, or the umask's for a new one."""
    path = Path(path)
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as stream:
            stream.write(data.encode() if isinstance(data, str) else data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def acyclic() -> Iterator[None]:
    """The cyclic collector paused while many small containers that never form cycles are
    made (a graph's millions of values, a fleet's answer per cluster): collecting among them
    costs more than making them."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def read_json(path: Path) -> Any:
    """A JSON file parsed with the cyclic collector paused (``acyclic``)."""
    text = Path(path).read_text(encoding="utf-8")
    with acyclic():
        return json.loads(text)


def graph_text(source: GraphSource) -> tuple[str, str | None]:
    """The JSON text of a graph given as a path or a parsed document, with its file name."""
    if isinstance(source, Mapping):
        return dump_json(source), None
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except FileNotFoundError:
        raise StoreError(f"no such graph file: {path}") from None
    except IsADirectoryError:
        raise StoreError(f"{path} is a directory, not a graph file") from None
    except UnicodeDecodeError as err:
        raise StoreError(f"{path} is not UTF-8 text: {err}") from None


def validate_graph(text: str, file: str | None = None, subsystem: str = CONTAINMENT):
    """Load ``text`` with the core, which raises ``JGFError`` naming what is wrong.

    Returns the loaded ``ResourceGraph``. A containment graph must also hold at least one
    ``node`` vertex: a cluster without nodes can run nothing. Another subsystem's graph may
    be a forest, as compspec writes software graphs.
    """
    from fractale._core import JGFError, ResourceGraph

    if not text.lstrip().startswith("{"):
        # The core would take other text for a path: say what the file holds instead.
        error = JGFError(f"{file + ': ' if file else ''}expected a JGF document (a JSON object)")
        error.file, error.location, error.expected = file, "", "a JSON object"
        raise error
    graph = ResourceGraph.from_jgf(text, source=file, forest=subsystem != CONTAINMENT)
    if subsystem == CONTAINMENT and not graph.summary().get("node"):
        where = f"{file}: " if file else ""
        raise JGFError(f"{where}a containment graph needs at least one vertex of type 'node'")
    return graph


@dataclass
class Cluster:
    """One registered cluster: its folder, its configuration and its subsystem graphs."""

    name: str
    path: Path
    config: dict[str, Any]
    _documents: dict[str, Any] = field(default_factory=dict, repr=False)
    _counts: dict[str, int] | None = field(default=None, repr=False)

    @property
    def scheduler(self) -> str:
        return str(self.config.get("scheduler", ""))

    @property
    def description(self) -> str:
        return str(self.config.get("description") or "")

    @property
    def cost(self) -> float | None:
        """Price of one node for one hour, when the cluster's configuration gives it."""
        value = self.config.get("cost")
        if value is None:
            return None
        try:
            return check_cost(value)
        except StoreError as err:
            raise StoreError(f"{self.path / CONFIG_FILE}: {err}") from None

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self.config.get("metadata") or {})

    def target(self):
        """How jobs reach the cluster (``fractale.transform.transport.Target``): ``local``
        unless its configuration says ``submit: {url: ssh://..., workdir: ...}``."""
        from fractale.transform.transport import Target

        submit = self.config.get("submit") or {}
        if not isinstance(submit, dict):
            raise StoreError(f"{self.path / CONFIG_FILE}: submit must be a mapping with a url")
        return Target.parse(submit.get("url"), submit.get("workdir"), submit.get("ssh_options"))

    def subsystems(self) -> list[str]:
        """The subsystems with a graph in the cluster's folder, containment first."""
        with os.scandir(self.path) as entries:
            names = sorted(
                entry.name[:-5]
                for entry in entries
                if entry.name.endswith(".json")
                and not entry.name.startswith(".")
                and entry.name != f"{STATE}.json"
            )
        return sorted(names, key=lambda name: name != CONTAINMENT)

    def graph_path(self, subsystem: str = CONTAINMENT) -> Path:
        path = self.path / f"{subsystem}.json"
        if not path.is_file():
            raise StoreError(f"cluster {self.name!r} has no {subsystem!r} subsystem graph")
        return path

    def document(self, subsystem: str = CONTAINMENT) -> dict[str, Any]:
        """The parsed JGF of one subsystem, read once and kept."""
        if subsystem not in self._documents:
            path = self.graph_path(subsystem)
            try:
                self._documents[subsystem] = read_json(path)
            except ValueError as err:
                raise StoreError(f"{path} is not valid JSON: {err}") from None
        return self._documents[subsystem]

    def resource_graph(self, subsystem: str = CONTAINMENT):
        """The subsystem graph loaded by the core (a fresh ``ResourceGraph`` every call)."""
        from fractale._core import ResourceGraph

        return ResourceGraph.from_jgf(str(self.graph_path(subsystem)))

    def state(self):
        """The snapshot of its jobs saved by ``cluster state --save``, or None."""
        from fractale.snapshot import Snapshot

        path = self.path / f"{STATE}.json"
        if not path.is_file():
            return None
        try:
            document = read_json(path)
        except ValueError as err:
            raise StoreError(f"{path} is not valid JSON: {err}") from None
        return Snapshot.from_dict(document, str(path))

    def counts(self) -> dict[str, int]:
        """Vertices per type in the containment graph, from the store's fleet cache (which
        counts the graph again whenever its content changed)."""
        if self._counts is None:
            compiled = Store(self.path.parent).compiled([self.name])
            self._counts = dict(compiled.counts()[self.name])
        return dict(self._counts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "scheduler": self.scheduler,
            "description": self.description,
            "cost": self.cost,
            "metadata": self.metadata,
            "submit": self.target().to_dict(),
            "subsystems": self.subsystems(),
            "resources": self.counts(),
            "path": str(self.path),
        }


@dataclass
class ClusterImport:
    """One cluster to import: its name, its configuration, its graphs by subsystem, and
    where it came from (for errors)."""

    name: str
    origin: str
    config: dict[str, Any]
    graphs: dict[str, GraphSource]

    def check(self) -> None:
        """StoreError when the name or the configuration cannot be registered."""
        check_name(self.name)
        config = dict(self.config)
        if not config.get("scheduler"):
            raise StoreError("no scheduler: give --scheduler, or one in its cluster.yaml")
        config["scheduler"] = check_scheduler(config["scheduler"])
        if config.get("cost") is not None:
            config["cost"] = check_cost(config["cost"])
        if config.get("submit"):
            if not isinstance(config["submit"], Mapping):
                raise StoreError("submit must be a mapping with a url")
            config["submit"] = _target(config["submit"])
        unknown = sorted(set(config) - _CONFIG_KEYS)
        if unknown:
            raise StoreError(f"unknown settings {', '.join(unknown)} in its {CONFIG_FILE}; "
                             f"expected {', '.join(sorted(_CONFIG_KEYS))}")
        for subsystem in self.graphs:
            check_name(subsystem, "subsystem name")
        self.config = {"name": self.name, **{k: v for k, v in config.items() if k != "name"}}


# What a cluster.yaml may set (``resources`` is what older versions recorded: ignored).
_CONFIG_KEYS = frozenset({"name", "scheduler", "description", "cost", "metadata", "submit",
                          "resources"})


def import_entries(
    paths: list[Path], scheduler: str | None = None, cost: float | None = None
) -> list[ClusterImport]:
    """The clusters ``fractale cluster import`` reads from ``paths``, each one of:

    - a cluster folder (a ``cluster.yaml`` and a ``containment.json``, as the store keeps
      one, other ``*.json`` files its other subsystems): one cluster named after it;
    - a folder of cluster folders, or of JGF files: one cluster per folder or ``*.json``
      file, named after it (a graph file's cluster runs ``scheduler`` at ``cost``);
    - a JGF file: one cluster named after it;
    - a list (any other file): one of the above per line, relative to the list's folder;
      blank lines and lines starting with ``#`` are skipped.

    StoreError for a path that is none of these.
    """
    entries: list[ClusterImport] = []

    def cluster_folder(folder: Path) -> ClusterImport:
        config_path = folder / CONFIG_FILE
        try:
            config = _read_yaml(config_path.read_text(encoding="utf-8"), config_path)
        except (OSError, UnicodeDecodeError) as err:
            raise StoreError(f"cannot read {config_path}: {err}") from None
        if not isinstance(config, dict):
            raise StoreError(f"{config_path} must hold a mapping")
        config.pop("resources", None)
        if scheduler and not config.get("scheduler"):
            config["scheduler"] = scheduler
        graphs: dict[str, GraphSource] = {CONTAINMENT: folder / f"{CONTAINMENT}.json"}
        for file in sorted(folder.glob("*.json")):
            if file.stem not in (CONTAINMENT, STATE) and not file.name.startswith("."):
                graphs[file.stem] = file
        return ClusterImport(folder.name, str(folder), config, graphs)

    def graph_file(file: Path) -> ClusterImport:
        config: dict[str, Any] = {"scheduler": scheduler}
        if cost is not None:
            config["cost"] = cost
        return ClusterImport(file.stem, str(file), config, {CONTAINMENT: file})

    def one(path: Path, listed: bool) -> None:
        if (path / CONFIG_FILE).is_file():
            entries.append(cluster_folder(path))
        elif path.is_dir():
            found = sorted(p for p in path.iterdir() if not p.name.startswith("."))
            folders = [p for p in found if (p / CONFIG_FILE).is_file()]
            files = [p for p in found if p.is_file() and p.suffix == ".json"]
            if not folders and not files:
                raise StoreError(f"{path} holds no cluster folders and no JGF files")
            entries.extend(cluster_folder(folder) for folder in folders)
            entries.extend(graph_file(file) for file in files)
        elif path.is_file() and (path.suffix == ".json" or listed):
            entries.append(graph_file(path))
        elif path.is_file():
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as err:
                raise StoreError(f"cannot read the list {path}: {err}") from None
            for number, line in enumerate(lines, 1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                listed_path = (path.parent / line).expanduser()
                if not listed_path.exists():
                    raise StoreError(f"{path}:{number}: no such cluster folder or graph: {line}")
                one(listed_path, True)
        else:
            raise StoreError(f"no such cluster folder, graph or list: {path}")

    for path in paths:
        one(Path(path), False)
    return entries


class Store:
    """A directory of clusters. ``Store()`` opens ``FRACTALE_HOME`` or ``~/.fractale``."""

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_root()
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"the store {self.root} exists and is not a directory")

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    # Reading ---------------------------------------------------------------------------

    def names(self) -> list[str]:
        """Names of the registered clusters, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(
            entry.name
            for entry in self.root.iterdir()
            if not entry.name.startswith(".") and (entry / CONFIG_FILE).is_file()
        )

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (self.root / name / CONFIG_FILE).is_file()

    def __len__(self) -> int:
        return len(self.names())

    def get(self, name: str) -> Cluster:
        """The cluster called ``name``; StoreError naming the known ones when there is none."""
        check_name(name)
        folder = self.root / name
        config_path = folder / CONFIG_FILE
        if not config_path.is_file():
            known = ", ".join(self.names()) or "none"
            raise StoreError(f"no cluster named {name!r} in {self.root} (known: {known})")
        config = _read_yaml(config_path.read_text(encoding="utf-8"), config_path)
        if not isinstance(config, dict):
            raise StoreError(f"{config_path} must hold a mapping")
        return Cluster(name, folder, config)

    def compiled(self, names: list[str] | None = None) -> Any:
        """The containment graphs of ``names`` (default: every cluster) compiled by the core
        (a ``CompiledFleet``), through the store's one cache of what its files hold
        (``FLEET_CACHE``: compiled graphs, counts and totals, and a record of each cluster's
        other files, each checked against its files' content); in memory only when the store
        cannot be written."""
        from fractale._core import CompiledFleet

        for name in names or ():
            if name not in self:
                self.get(name)  # raises, naming the known clusters
        # The cache names each file by its absolute path, however the store was named.
        root = self.root.absolute()
        writable = root.is_dir() and os.access(root, os.W_OK)
        return CompiledFleet.open_store(
            str(root), names, str(root / FLEET_CACHE) if writable else None,
            config=CONFIG_FILE, containment=f"{CONTAINMENT}.json", skip=[f"{STATE}.json"],
        )

    def counts(self) -> dict[str, dict[str, int]]:
        """Vertices per type in every cluster's containment graph, by cluster name."""
        return {name: dict(counts) for name, counts in self.compiled().counts().items()}

    def clusters(self) -> list[Cluster]:
        return [self.get(name) for name in self.names()]

    def __iter__(self) -> Iterator[Cluster]:
        return iter(self.clusters())

    # Writing ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the store's writer lock, waiting up to a minute for another writer."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / LOCK_FILE, "a+") as handle:
            deadline = time.monotonic() + _LOCK_TIMEOUT
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise StoreError(
                            f"the store {self.root} is locked by another fractale process"
                        ) from None
                    time.sleep(0.05)
            try:
                self._sweep()
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _sweep(self) -> None:
        """Delete what a writer killed mid-way left behind: staging and set-aside folders
        are only ever made under the lock, so while we hold it none of them is in use."""
        for entry in self.root.iterdir():
            if entry.is_dir() and entry.name.startswith(_SCRATCH_PREFIXES):
                shutil.rmtree(entry, ignore_errors=True)

    def add(
        self,
        name: str,
        scheduler: str,
        containment: GraphSource,
        subsystems: Mapping[str, GraphSource] | None = None,
        *,
        description: str | None = None,
        cost: float | None = None,
        metadata: Mapping[str, Any] | None = None,
        submit: Mapping[str, Any] | None = None,
        force: bool = False,
    ) -> Cluster:
        """Register a cluster from its containment graph and any other subsystem graphs.

        Every graph is validated first; an existing cluster of that name is replaced only
        with ``force``. ``submit`` says how jobs reach it (``{"url": "ssh://user@host",
        "workdir": ..., "ssh_options": {...}}``; local by default). The cluster appears whole
        or not at all.
        """
        check_name(name)
        scheduler = check_scheduler(scheduler)
        if cost is not None:
            cost = check_cost(cost)
        graphs = {CONTAINMENT: containment}
        for subsystem, source in (subsystems or {}).items():
            check_name(subsystem, "subsystem name")
            if subsystem == STATE:
                raise StoreError(f"{STATE!r} names the saved jobs of a cluster, not a subsystem")
            if subsystem == CONTAINMENT:
                raise StoreError("give the containment graph with --containment, not --subsystem")
            graphs[subsystem] = source

        texts: dict[str, str] = {}
        for subsystem, source in graphs.items():
            text, file = graph_text(source)
            validate_graph(text, file, subsystem)
            texts[subsystem] = text

        config: dict[str, Any] = {"name": name, "scheduler": scheduler}
        if description:
            config["description"] = description
        if cost is not None:
            config["cost"] = cost
        if metadata:
            config["metadata"] = dict(metadata)
        if submit:
            config["submit"] = _target(submit)

        with self.lock():
            final = self.root / name
            if final.exists() and not force:
                raise StoreError(
                    f"a cluster named {name!r} already exists in {self.root}; "
                    "remove it first or replace it with --force"
                )
            staging = Path(tempfile.mkdtemp(dir=self.root, prefix=f".add-{name}-"))
            try:
                os.chmod(staging, 0o777 & ~_umask())
                for subsystem, text in texts.items():
                    (staging / f"{subsystem}.json").write_text(text, encoding="utf-8")
                (staging / CONFIG_FILE).write_text(_yaml(config), encoding="utf-8")
                _fsync_tree(staging)
                self._swap_in(staging, final)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        return self.get(name)

    def import_clusters(
        self, entries: list[ClusterImport], *, force: bool = False, workers: int | None = None
    ) -> list[str]:
        """Register many clusters at once (``fractale cluster import``): every entry is read
        and validated first, in parallel, while the writer lock is held, and only when all
        are good are they renamed into place, each whole. A bad entry (an invalid graph, a
        bad name or scheduler, a name given twice, a name already registered without
        ``force``) registers nothing: StoreError lists every bad entry, one per line.
        Returns the names registered."""
        problems: list[str] = []
        seen: dict[str, str] = {}
        for entry in entries:
            try:
                entry.check()
            except StoreError as err:
                problems.append(f"{entry.origin}: {err}")
                continue
            if entry.name in seen:
                problems.append(f"{entry.origin}: the name {entry.name!r} is also given by "
                                f"{seen[entry.name]}")
            seen.setdefault(entry.name, entry.origin)
        with self.lock():
            if not force:
                problems += [f"{entry.origin}: a cluster named {entry.name!r} already exists "
                             f"in {self.root}; replace it with --force"
                             for entry in entries if entry.name in self]
            staged: list[tuple[ClusterImport, Path]] = []
            try:
                if not problems:
                    from concurrent.futures import ThreadPoolExecutor

                    with ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool:
                        results = list(pool.map(self._stage, entries))
                    for entry, (staging, problem) in zip(entries, results):
                        if staging is not None:
                            staged.append((entry, staging))
                        if problem:
                            named = problem.startswith(entry.origin)
                            problems.append(problem if named else f"{entry.origin}: {problem}")
                if problems:
                    raise StoreError(
                        f"{len(problems)} of the {len(entries)} clusters cannot be imported, so "
                        "none was:\n  " + "\n  ".join(problems)
                    )
                for entry, staging in staged:
                    self._swap_in(staging, self.root / entry.name)
                staged = []
            finally:
                for _, staging in staged:
                    shutil.rmtree(staging, ignore_errors=True)
        return [entry.name for entry in entries]

    def _stage(self, entry: ClusterImport) -> tuple[Path | None, str | None]:
        """Validate ``entry``'s graphs and write the cluster into a staging folder: the folder,
        or the reason it cannot be imported."""
        staging = Path(tempfile.mkdtemp(dir=self.root, prefix=f".add-{entry.name}-"))
        try:
            os.chmod(staging, 0o777 & ~_umask())
            for subsystem, source in entry.graphs.items():
                text, file = graph_text(source)
                validate_graph(text, file, subsystem)
                (staging / f"{subsystem}.json").write_text(text, encoding="utf-8")
            (staging / CONFIG_FILE).write_text(_yaml(entry.config), encoding="utf-8")
            _fsync_tree(staging)
        except FractaleError as err:
            shutil.rmtree(staging, ignore_errors=True)
            return None, str(err)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return staging, None

    def set_subsystem(
        self, name: str, subsystem: str, source: GraphSource, *, force: bool = False
    ) -> Path:
        """Add (or with ``force`` replace) one subsystem graph of a registered cluster."""
        check_name(subsystem, "subsystem name")
        if subsystem == STATE:
            raise StoreError(f"{STATE!r} names the saved jobs of a cluster, not a subsystem")
        text, file = graph_text(source)
        validate_graph(text, file, subsystem)
        with self.lock():
            cluster = self.get(name)
            target = cluster.path / f"{subsystem}.json"
            if target.exists() and not force:
                raise StoreError(
                    f"cluster {name!r} already has a {subsystem!r} graph; replace it with --force"
                )
            write_atomic(target, text)
        return target

    def save_state(self, name: str, snapshot: Any) -> Path:
        """Keep a snapshot of a cluster's jobs (a ``fractale.snapshot.Snapshot``) beside its
        graphs, replacing the one saved before."""
        document = snapshot.to_dict()
        with self.lock():
            cluster = self.get(name)
            document["cluster"] = cluster.name
            target = cluster.path / f"{STATE}.json"
            write_atomic(target, json.dumps(document, indent=1) + "\n")
        return target

    def update(self, name: str, **changes: Any) -> Cluster:
        """Change fields of a cluster's configuration (scheduler, description, cost, metadata,
        submit)."""
        allowed = {"scheduler", "description", "cost", "metadata", "submit"}
        unknown = sorted(set(changes) - allowed)
        if unknown:
            raise StoreError(f"cannot change {', '.join(unknown)}; only {', '.join(allowed)}")
        if "scheduler" in changes:
            changes["scheduler"] = check_scheduler(changes["scheduler"])
        if changes.get("cost") is not None:
            changes["cost"] = check_cost(changes["cost"])
        if changes.get("submit"):
            changes["submit"] = _target(changes["submit"])
        with self.lock():
            cluster = self.get(name)
            config = dict(cluster.config)
            for key, value in changes.items():
                if value is None:
                    config.pop(key, None)
                else:
                    config[key] = value
            write_atomic(cluster.path / CONFIG_FILE, _yaml(config))
        return self.get(name)

    def remove(self, name: str) -> None:
        """Delete a cluster's folder: renamed aside first, so it vanishes in one step."""
        with self.lock():
            cluster = self.get(name)
            graveyard = Path(tempfile.mkdtemp(dir=self.root, prefix=f".remove-{name}-"))
            os.rename(cluster.path, graveyard / name)
            shutil.rmtree(graveyard, ignore_errors=True)

    def _swap_in(self, staging: Path, final: Path) -> None:
        """Rename ``staging`` to ``final``; an existing ``final`` is moved aside first and
        deleted only once the new folder is in place."""
        if not final.exists():
            os.rename(staging, final)
            return
        graveyard = Path(tempfile.mkdtemp(dir=self.root, prefix=f".replace-{final.name}-"))
        os.rename(final, graveyard / final.name)
        try:
            os.rename(staging, final)
        except BaseException:
            os.rename(graveyard / final.name, final)
            raise
        finally:
            shutil.rmtree(graveyard, ignore_errors=True)


def check_cost(cost: Any) -> float:
    """A price per node-hour: a finite number, zero or more."""
    if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not (
            math.isfinite(cost) and cost >= 0):
        raise StoreError(f"cost must be a finite, non-negative number per node-hour, "
                         f"not {cost!r}")
    return float(cost)


def check_scheduler(scheduler: str) -> str:
    """``scheduler`` as a cluster names it: a workload manager clusters run."""
    from fractale.transform.registry import scheduler_names

    key = str(scheduler).strip().lower()
    if key not in scheduler_names():
        raise StoreError(
            f"unknown scheduler {scheduler!r}; expected one of {', '.join(scheduler_names())}"
        )
    return key


def _target(submit: Mapping[str, Any]) -> dict[str, Any]:
    """A cluster's ``submit`` setting, checked (StoreError when it is not one)."""
    from fractale.errors import SubmitError
    from fractale.transform.transport import Target

    unknown = sorted(set(submit) - {"url", "workdir", "ssh_options"})
    if unknown:
        raise StoreError(f"unknown submit settings {', '.join(unknown)}; "
                         "expected url, workdir, ssh_options")
    try:
        target = Target.parse(submit.get("url"), submit.get("workdir"), submit.get("ssh_options"))
    except SubmitError as err:
        expected = f" (expected {err.expected})" if err.expected else ""
        raise StoreError(f"{err}{expected}") from None
    return target.to_dict()


def _yaml(config: Mapping[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(dict(config), sort_keys=False, default_flow_style=False)


def _read_yaml(text: str, path: Path) -> Any:
    """A cluster.yaml's content (libyaml's safe loader when PyYAML was built with it); PyYAML
    is imported here, so a command that reads no cluster.yaml never loads it."""
    import yaml

    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    except yaml.YAMLError as err:
        raise StoreError(f"{path} is not valid YAML: {err}") from None


def _fsync_tree(folder: Path) -> None:
    """Flush a freshly written folder's files to disk before it is renamed into place."""
    for entry in folder.iterdir():
        with open(entry, "rb") as stream:
            os.fsync(stream.fileno())
