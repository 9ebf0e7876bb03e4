"""The fleet: which registered clusters can run a job, which one to pick, and its batch script.

``Fleet(store).satisfy(job)`` answers for every cluster whether the job's resources fit its
containment graph (with the core's reason when they do not) and whether each software
requirement (``attributes.system.requires``) is met by its software subsystems, comparing
versions. ``select`` picks one fitting cluster by a policy; ``script`` writes the job for the
chosen cluster's scheduler with the ``spack load``/``module load`` lines its software needs.
``satisfy(job, when=True)`` also answers when the job would start on each cluster that can
run it, planned around the jobs of the cluster's saved snapshot (``cluster state --save``);
``select(job, "earliest-start")`` picks the cluster where it starts first.

Containment matching across the fleet goes through ``containment_fits``, the one place a
faster fleet matcher replaces.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

from fractale._core import REQUIREMENT_KEYS, SOFTWARE_TYPES
from fractale.errors import FractaleError, JobspecError, MatchError, StoreError
from fractale.generate.software import Software, software_in
from fractale.store import CONTAINMENT, Cluster, Store

# How ``select`` chooses among the clusters that can run a job.
POLICIES = ("first", "random", "best-fit", "cost", "earliest-start")
# Resource types whose idle amount ``best-fit`` minimizes, most significant first.
CAPACITY_TYPES = ("core", "gpu", "memory", "node")


# Versions --------------------------------------------------------------------------------

_PIECE = re.compile(r"\d+|[A-Za-z]+")


def version_key(version: str) -> tuple:
    """A sort key for a version: numeric parts compare as numbers, words as text, and a
    number sorts above a word (``2023.1`` > ``2023.rc1``)."""
    return tuple(
        (1, int(p), "") if p.isdigit() else (0, 0, p.lower()) for p in _PIECE.findall(version)
    )


def _has_prefix(version: tuple, prefix: tuple) -> bool:
    return version[: len(prefix)] == prefix


_CLAUSE = re.compile(r"^(>=|<=|==|!=|>|<|=)?\s*(\S*)$")


@dataclass(frozen=True)
class VersionSpec:
    """A version requirement: comma-separated clauses that must all hold.

    ``>=2023``, ``>2023``, ``<=2024.1``, ``<2024``, ``==2023.1`` (exactly), ``!=2023.2``;
    a bare ``2023`` (or ``@2023``) matches 2023 and every 2023.x; spack ranges ``2022:2023``
    (inclusive, the upper bound a prefix), ``2022:`` and ``:2023``.
    """

    text: str
    clauses: tuple[tuple[str, tuple, tuple], ...] = ()

    @classmethod
    def parse(cls, text: Any) -> VersionSpec:
        raw = "" if text is None else str(text).strip()
        if raw in ("", "*", "any"):
            return cls(raw)
        clauses = []
        for piece in raw.split(","):
            piece = piece.strip().lstrip("@")
            if ":" in piece:
                low, _, high = piece.partition(":")
                if low.strip():
                    clauses.append(("range-low", version_key(low), ()))
                if high.strip():
                    clauses.append(("range-high", version_key(high), ()))
                continue
            match = _CLAUSE.match(piece)
            if not match or not match.group(2) or not version_key(match.group(2)):
                raise JobspecError(f"cannot read the version requirement {raw!r}")
            clauses.append((match.group(1) or "prefix", version_key(match.group(2)), ()))
        return cls(raw, tuple(clauses))

    def __str__(self) -> str:
        return self.text

    def matches(self, version: str | None) -> bool:
        if not self.clauses:
            return True
        if not version:
            return False
        key = version_key(version)
        for operator, bound, _ in self.clauses:
            if operator in (">=", "range-low") and not key >= bound:
                return False
            if operator == ">" and not key > bound:
                return False
            if operator == "<=" and not key <= bound:
                return False
            if operator == "<" and not key < bound:
                return False
            if operator in ("==", "=") and key != bound:
                return False
            if operator == "!=" and key == bound:
                return False
            if operator == "prefix" and not _has_prefix(key, bound):
                return False
            if operator == "range-high" and not (key <= bound or _has_prefix(key, bound)):
                return False
        return True


# Software requirements -------------------------------------------------------------------

_REQUIREMENT_TEXT = re.compile(r"^\s*([A-Za-z0-9_.+\-]+?)\s*(?:@|(?=[<>=!]))(.*)$")
# Keys a software requirement may have (the core checks jobspecs against the same list).
_REQUIREMENT_KEYS = frozenset(REQUIREMENT_KEYS)
# fractale's `kind` and upstream's `type`, both naming the kind of software vertex.
_KINDS = {"spack": "package", "package": "package", "module": "module"}


@dataclass(frozen=True)
class Requirement:
    """One software requirement: a name, optionally a version, compiler, target, the kind
    of software (a spack ``package``, a ``module``, or a package's ``binary`` or
    ``library``: upstream fractale's ``type``), and any other attribute compspec records
    (``os``, ``platform``, ``vendor``, ``compiler_version``) as ``attributes``."""

    name: str
    version: VersionSpec = field(default_factory=lambda: VersionSpec(""))
    compiler: str | None = None
    target: str | None = None
    kind: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, entry: Any) -> Requirement:
        """From a jobspec's ``requires`` entry (a mapping) or text like ``gromacs>=2023``,
        ``gromacs@2023.1`` or ``gromacs``."""
        if isinstance(entry, str):
            match = _REQUIREMENT_TEXT.match(entry)
            if match:
                return cls(match.group(1), VersionSpec.parse(match.group(2)))
            if not re.fullmatch(r"\s*[A-Za-z0-9_.+\-]+\s*", entry):
                raise JobspecError(f"cannot read the software requirement {entry!r}")
            return cls(entry.strip())
        if not isinstance(entry, Mapping):
            raise JobspecError(
                f"a software requirement is a mapping with a name, not {entry!r}"
            )
        unknown = sorted(set(entry) - _REQUIREMENT_KEYS)
        if unknown:
            raise JobspecError(
                f"software requirement {dict(entry)!r} has unknown keys {', '.join(unknown)}; "
                f"expected {', '.join(REQUIREMENT_KEYS)}"
            )
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise JobspecError(f"software requirement {dict(entry)!r} needs a name")
        kind = entry.get("kind")
        if kind is not None and kind not in _KINDS:
            raise JobspecError(f"software kind must be spack or module, not {kind!r}")
        kind = _KINDS.get(kind, kind)
        given_type = entry.get("type")
        if given_type is not None:
            if given_type not in SOFTWARE_TYPES:
                raise JobspecError(
                    f"software type must be one of {', '.join(SOFTWARE_TYPES)}, "
                    f"not {given_type!r}"
                )
            if kind is not None and kind != given_type:
                raise JobspecError(
                    f"software requirement {dict(entry)!r}: kind {entry['kind']!r} and "
                    f"type {given_type!r} disagree"
                )
            kind = given_type
        known = {"name", "version", "compiler", "target", "kind", "type"}
        attributes = tuple(
            sorted((key, str(value)) for key, value in entry.items() if key not in known)
        )
        return cls(
            name.strip(),
            VersionSpec.parse(entry.get("version")),
            str(entry["compiler"]) if entry.get("compiler") else None,
            str(entry["target"]) if entry.get("target") else None,
            kind,
            attributes,
        )

    def __str__(self) -> str:
        text = self.name + (f" {self.version}" if self.version.text else "")
        if self.kind in ("binary", "library"):
            text = f"{self.kind} {text}"
        if self.compiler:
            text += f" %{self.compiler}"
        if self.target:
            text += f" target={self.target}"
        for key, value in self.attributes:
            text += f" {key}={value}"
        return text

    def accepts(self, item: Software) -> bool:
        if item.name.lower() != self.name.lower():
            return False
        if self.kind and item.kind != self.kind:
            return False
        if not self.version.matches(item.version):
            return False
        if self.compiler and not _compiler_matches(self.compiler, item.compiler):
            return False
        if self.target and (item.target or "").lower() != self.target.lower():
            return False
        return all(
            item.attributes.get(key, "").lower() == value.lower()
            for key, value in self.attributes
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.version.text:
            out["version"] = self.version.text
        for key in ("compiler", "target"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.kind in ("package", "module"):
            out["kind"] = "spack" if self.kind == "package" else self.kind
        elif self.kind:
            out["type"] = self.kind
        out.update(self.attributes)
        return out


def _compiler_matches(wanted: str, built_with: str | None) -> bool:
    """``gcc`` accepts any gcc; ``gcc@12`` or ``gcc>=12`` also checks the version."""
    if not built_with:
        return False
    name, _, version = built_with.partition("@")
    wanted_name, wanted_version = Requirement.parse(wanted).name, Requirement.parse(wanted).version
    return name.lower() == wanted_name.lower() and wanted_version.matches(version or None)


def requirements_of(requires: Iterable[Any]) -> list[Requirement]:
    """The software requirements of a jobspec's ``attributes.system.requires``, as the core
    returns them once checked (with the place of any unknown key): mappings
    ``{software: [...]}`` and software entries given directly."""
    out: list[Requirement] = []
    for entry in requires:
        if isinstance(entry, Mapping) and "name" not in entry:
            software = entry.get("software") or []
            if not isinstance(software, list):
                software = [software]
            out += [Requirement.parse(item) for item in software]
        else:
            out.append(Requirement.parse(entry))
    return out


@dataclass(frozen=True)
class RequirementCheck:
    """Whether one requirement is met on one cluster, by what, or why not."""

    requirement: Requirement
    software: Software | None
    reason: str | None = None

    @property
    def met(self) -> bool:
        return self.software is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "requirement": self.requirement.to_dict(),
            "met": self.met,
            "software": self.software.to_dict() if self.software else None,
            "reason": self.reason,
        }


def check_requirement(requirement: Requirement, installed: Sequence[Software]) -> RequirementCheck:
    """The best installed software meeting ``requirement`` (the highest version; spack
    packages before modules at the same version), or why there is none."""
    matching = [item for item in installed if requirement.accepts(item)]
    if matching:
        best = max(
            matching,
            key=lambda s: (version_key(s.version or ""), s.kind == "package", s.load),
        )
        return RequirementCheck(requirement, best)
    if not installed:
        return RequirementCheck(requirement, None, "no software subsystem graph")
    named = [item for item in installed if item.name.lower() == requirement.name.lower()]
    if not named:
        return RequirementCheck(requirement, None, f"{requirement.name} is not installed")
    found = ", ".join(sorted({_describe(item) for item in named}))
    return RequirementCheck(requirement, None, f"found {found}; needs {requirement}")


def _describe(item: Software) -> str:
    text = item.label
    if item.compiler:
        text += f"%{item.compiler}"
    if item.target:
        text += f" target={item.target}"
    return text


# Jobs ------------------------------------------------------------------------------------

JobSource = Union[str, Path]


@dataclass
class Job:
    """A job to place: the canonical jobspec matched against graphs, the software it
    requires, and the text it came from (for writing its batch script)."""

    jobspec: Any  # fractale.Jobspec
    requires: list[Requirement]
    text: str
    source: str | None = None
    manager: str | None = None  # the workload manager the text was written for
    # A version 1 jobspec naming levels RFC 25 lacks (sockets, say), as upstream fractale's
    # examples do: read and matched as Fluxion reads it, level by level.
    beyond_rfc25: bool = False

    @property
    def per_node(self) -> bool:
        """Whether the request counts resources per node whatever lies between, rather than
        level by level: true of batch scripts and of version 1 jobspecs, whose rules
        (RFC 25) allow no level between a node and its cores; false of other canonical
        jobspecs, matched with Fluxion's rules as written."""
        return self.manager not in (None, "jobspec") or (
            self.jobspec.version == 1 and not self.beyond_rfc25)

    @classmethod
    def load(
        cls,
        job: JobSource,
        manager: str | None = None,
        requires: Iterable[Any] = (),
    ) -> Job:
        """Read a job from a path, or from text: a canonical jobspec (YAML or JSON) or any
        batch script the translation layer reads. ``requires`` adds software requirements
        (mappings or text such as ``gromacs>=2023``) to those the jobspec lists."""
        if isinstance(job, Path) or (isinstance(job, str) and "\n" not in job and _is_file(job)):
            path = Path(job)
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as err:
                raise StoreError(f"cannot read job {path}: {err.strerror}") from None
            except UnicodeDecodeError:
                raise JobspecError(f"{path} is not a text file") from None
            return cls.from_text(text, manager, requires, source=str(path))
        one_line = isinstance(job, str) and "\n" not in job and job.strip()
        if one_line and not job.lstrip().startswith("{"):
            raise StoreError(f"no such job file: {job}")
        return cls.from_text(str(job), manager, requires)

    @classmethod
    def from_text(
        cls,
        text: str,
        manager: str | None = None,
        requires: Iterable[Any] = (),
        source: str | None = None,
    ) -> Job:
        from fractale._core import Jobspec

        beyond_rfc25 = False
        if manager in (None, "jobspec") and _looks_like_jobspec(text):
            try:
                jobspec = Jobspec.from_str(text, source)
            except JobspecError:
                # What Fluxion's matcher reads, or the RFC 25 error when it reads nothing.
                try:
                    jobspec = Jobspec.from_str(text, source, strict=False)
                except JobspecError:
                    pass
                else:
                    beyond_rfc25 = True
                if not beyond_rfc25:
                    raise
            kind = "jobspec"
        else:
            from fractale.transform import detect, parse, render

            spec = parse(text, manager, file=source)
            kind = manager or detect(text)
            jobspec = Jobspec.from_str(render(spec, "jobspec"), source)
        wanted = requirements_of(jobspec.requires)
        wanted += [Requirement.parse(entry) for entry in requires]
        return cls(jobspec, wanted, text, source, kind, beyond_rfc25)

    def counts(self) -> dict[str, int]:
        return dict(self.jobspec.counts())

    @property
    def duration(self) -> float | None:
        return self.jobspec.duration


def _is_file(text: str) -> bool:
    try:
        return Path(text).is_file()
    except OSError:
        return False


def _looks_like_jobspec(text: str) -> bool:
    try:
        document = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError):
        return False
    return isinstance(document, dict) and "resources" in document and "tasks" in document


# Answers ---------------------------------------------------------------------------------


@dataclass
class Start:
    """When a job would start on one cluster: allocated now or reserved ``at`` seconds after
    the time of the cluster's snapshot (``planned_from``; the moment asked when the cluster
    has no snapshot and is planned as idle), or ``busy``/``unsatisfiable`` with no time."""

    status: str
    at: int | None
    planned_from: int
    snapshot: bool
    notes: list[str] = field(default_factory=list)

    @property
    def time(self) -> int | None:
        """Unix seconds at which the job would start."""
        return None if self.at is None else self.planned_from + self.at

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "at": self.at, "time": self.time,
                "planned_from": self.planned_from, "snapshot": self.snapshot,
                "notes": self.notes}


@dataclass
class ClusterAnswer:
    """Whether one cluster can run the job, and why not when it cannot; with ``when``, when
    it would start there."""

    cluster: str
    scheduler: str
    fits: bool
    reason: str | None
    software: list[RequirementCheck]
    start: Start | None = None

    @property
    def ok(self) -> bool:
        return self.fits and all(check.met for check in self.software)

    def reasons(self) -> list[str]:
        out = [] if self.fits else [self.reason or "the job's resources do not fit"]
        out += [f"{c.requirement.name}: {c.reason}" for c in self.software if not c.met]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "scheduler": self.scheduler,
            "ok": self.ok,
            "containment": {"fits": self.fits, "reason": self.reason},
            "software": [check.to_dict() for check in self.software],
            "reasons": self.reasons(),
            **({"start": self.start.to_dict()} if self.start is not None else {}),
        }


@dataclass
class Selection:
    """The cluster a policy chose, with the score of every fitting cluster it weighed."""

    answer: ClusterAnswer
    policy: str
    scores: dict[str, Any]

    @property
    def cluster(self) -> str:
        return self.answer.cluster

    def to_dict(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "scheduler": self.answer.scheduler,
            "policy": self.policy,
            "scores": self.scores,
            "answer": self.answer.to_dict(),
        }


@dataclass
class Script:
    """A batch script for one cluster, with the software lines it loads."""

    cluster: str
    scheduler: str
    text: str
    loads: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "scheduler": self.scheduler,
            "loads": self.loads,
            "script": self.text,
        }


# Matching --------------------------------------------------------------------------------


# Levels a batch script's request passes over: it counts cores, GPUs and memory per node.
_BETWEEN_NODE_AND_RESOURCES = frozenset(
    {"socket", "numanode", "numa", "group", "die", "l3cache", "l2cache", "l1cache", "board"}
)


def per_node_view(document: dict[str, Any]) -> dict[str, Any]:
    """A containment graph with the levels between each node and its resources removed
    (sockets, NUMA nodes, caches): what a batch script's ``--nodes/--ntasks-per-node/
    --cpus-per-task`` request is about, since the scheduler may spread a task over sockets.

    Under Fluxion's rules the levels of a request follow the graph's, so the
    ``node > slot > core`` a batch script becomes would never match a graph whose cores sit
    under sockets; on this view it does. A graph without such levels is returned as it is.
    """
    graph = document.get("graph") or {}
    nodes = graph.get("nodes") or []
    if isinstance(nodes, dict):
        nodes = [dict(node, id=key) for key, node in nodes.items()]
    kind = {str(n["id"]): (n.get("metadata") or {}).get("type") for n in nodes}
    dropped = {key for key, value in kind.items() if value in _BETWEEN_NODE_AND_RESOURCES}
    if not dropped:
        return document
    parent: dict[str, str] = {}
    edges = []
    for edge in graph.get("edges") or []:
        meta = edge.get("metadata") or {}
        if meta.get("subsystem", "containment") != "containment" or meta.get("relation") == "in":
            continue
        source, target = str(edge["source"]), str(edge["target"])
        parent.setdefault(target, source)

    def kept_parent(key: str) -> str | None:
        current = parent.get(key)
        while current is not None and current in dropped:
            current = parent.get(current)
        return current

    kept_nodes = []
    paths: dict[str, str] = {}
    taken: set[str] = set()
    # Vertices come parent first in every generated graph; others are placed as found.
    order = {str(n["id"]): index for index, n in enumerate(nodes)}
    for node in sorted(nodes, key=lambda n: _depth(str(n["id"]), parent, order)):
        key = str(node["id"])
        if key in dropped:
            continue
        metadata = dict(node.get("metadata") or {})
        above = kept_parent(key)
        name = str(metadata.get("name") or f"{metadata.get('type')}{key}")
        path = (paths[above] if above is not None else "") + "/" + name
        if path in taken:
            path = f"{path}-{key}"
        taken.add(path)
        paths[key] = path
        metadata["paths"] = dict(metadata.get("paths") or {}, containment=path)
        kept_nodes.append({"id": key, "metadata": metadata})
        if above is not None:
            edges.append(
                {"source": above, "target": key, "metadata": {"subsystem": "containment"}}
            )
    return {"graph": {"nodes": kept_nodes, "edges": edges}}


def _depth(key: str, parent: dict[str, str], order: dict[str, int]) -> tuple[int, int]:
    depth, current = 0, parent.get(key)
    while current is not None:
        depth += 1
        current = parent.get(current)
    return depth, order[key]


def containment_graph(cluster: Cluster, per_node: bool = False):
    """A fresh ``ResourceGraph`` of the cluster's containment (or of its per-node view)."""
    from fractale._core import ResourceGraph

    if not per_node:
        return cluster.resource_graph(CONTAINMENT)
    return ResourceGraph.from_jgf(per_node_view(cluster.document(CONTAINMENT)))


# The compiled fleet beside the clusters of a store, rebuilt per cluster when a graph changes.
FLEET_CACHE = ".fleet-cache.json"


def containment_fits(
    clusters: Sequence[Cluster], jobspec: Any, per_node: bool = False, compiled: Any = None
) -> list[tuple[bool, str | None]]:
    """For each cluster, whether ``jobspec`` is satisfiable on its containment graph with
    every resource free, and the core's reason when it is not. With ``per_node`` (jobs read
    from batch scripts) each node is matched with the levels between it and its resources
    removed (see ``per_node_view``).

    The core answers all clusters at once, in parallel, from a compiled cache kept in the
    store (``.fleet-cache.json``), recompiling only clusters whose graph file changed; a
    ``compiled`` fleet already opened on these clusters is used as it is.
    """
    if not clusters:
        return []
    fleet = compiled if compiled is not None else compile_fleet(clusters)
    return [(ok, reason) for _, ok, reason in fleet.satisfiable(jobspec, per_node)]


def compile_fleet(clusters: Sequence[Cluster]):
    """The clusters' containment graphs compiled by the core, through the store's cache."""
    from fractale._core import CompiledFleet

    root = clusters[0].path.parent
    cache = root / FLEET_CACHE if os.access(root, os.W_OK) else None
    pairs = [(cluster.name, str(cluster.path / f"{CONTAINMENT}.json")) for cluster in clusters]
    return CompiledFleet.open(pairs, str(cache) if cache else None)


def cluster_software(cluster: Cluster) -> list[Software]:
    """Everything the cluster's software subsystems list, subsystem by subsystem."""
    found: list[Software] = []
    for subsystem in cluster.subsystems():
        if subsystem != CONTAINMENT:
            found += software_in(cluster.document(subsystem), subsystem)
    return found


class Fleet:
    """The clusters of a store (or some of them), matched against jobs."""

    def __init__(self, store: Store | str | Path | None = None, clusters: Iterable[str] = ()):
        self.store = store if isinstance(store, Store) else Store(store)
        names = list(clusters) or self.store.names()
        self.clusters = [self.store.get(name) for name in names]
        self._software: dict[str, list[Software]] = {}
        # The compiled containment of these clusters, opened on first use and kept.
        self._compiled = None

    def __repr__(self) -> str:
        return f"Fleet({self.store!r}, {len(self.clusters)} clusters)"

    def _job(self, job: Job | JobSource) -> Job:
        return job if isinstance(job, Job) else Job.load(job)

    def software(self, cluster: Cluster) -> list[Software]:
        if cluster.name not in self._software:
            self._software[cluster.name] = cluster_software(cluster)
        return self._software[cluster.name]

    def earliest_start(self, cluster: Cluster, job: Job, now: int | None = None) -> Start:
        """When ``job`` would start on ``cluster``: its containment planned with the jobs of
        the cluster's saved snapshot, then the job reserved at the earliest time it fits."""
        graph = containment_graph(cluster, job.per_node)
        snapshot = cluster.state()
        if snapshot is not None:
            notes = snapshot.plan(graph)
            zero = snapshot.time
        else:
            notes = ["no saved state: planned as idle"]
            zero = int(time.time()) if now is None else now
        result = graph.reserve(job.jobspec)
        return Start(result.status, result.at, zero, snapshot is not None, notes)

    def satisfy(self, job: Job | JobSource, when: bool = False) -> list[ClusterAnswer]:
        """Every cluster's answer, in name order; with ``when``, each cluster that can run the
        job also says when it would start there."""
        job = self._job(job)
        if not self.clusters:
            raise StoreError(f"no clusters are registered in {self.store.root}")
        if self._compiled is None:
            self._compiled = compile_fleet(self.clusters)
        fits = containment_fits(self.clusters, job.jobspec, job.per_node, self._compiled)
        answers = []
        for cluster, (fit, reason) in zip(self.clusters, fits):
            installed = self.software(cluster) if job.requires else []
            checks = [check_requirement(r, installed) for r in job.requires]
            answer = ClusterAnswer(cluster.name, cluster.scheduler, fit, reason, checks)
            if when and answer.ok:
                answer.start = self.earliest_start(cluster, job)
            answers.append(answer)
        return answers

    def select(
        self, job: Job | JobSource, policy: str = "first", seed: int | None = None
    ) -> Selection:
        """One cluster that can run the job, chosen by ``policy`` (the CLI's ``--by``):

        - ``first``: the first in name order;
        - ``random``: uniformly at random (reproducible with ``seed``);
        - ``best-fit``: the one left with the least idle capacity after the job is
          allocated on it (fewest idle cores, then GPUs, memory pools and nodes);
        - ``cost``: the cheapest, ``cost`` per node-hour × nodes allocated × the job's
          duration in hours (one hour when it gives none); unpriced clusters come last;
        - ``earliest-start``: the one where the job would start first, given each cluster's
          saved snapshot of its jobs (see ``satisfy(when=True)``); a cluster where it cannot
          be placed within the planning horizon comes last.

        Ties go to the cluster whose name sorts first. ``MatchError`` when none fits.
        """
        if policy not in POLICIES:
            raise MatchError(f"unknown policy {policy!r}; expected one of {', '.join(POLICIES)}")
        job = self._job(job)
        answers = self.satisfy(job, when=policy == "earliest-start")
        fitting = [answer for answer in answers if answer.ok]
        if not fitting:
            raise MatchError(no_fit_message(answers))
        if policy == "first":
            return Selection(fitting[0], policy, {})
        if policy == "earliest-start":
            def key(answer: ClusterAnswer) -> tuple:
                start = answer.start.time if answer.start is not None else None
                return (start is None, start or 0, answer.cluster)

            ranked = sorted(fitting, key=key)
            scores = {a.cluster: a.start.to_dict() if a.start else None for a in ranked}
            return Selection(ranked[0], policy, scores)
        if policy == "random":
            chosen = random.Random(seed).choice(fitting)
            return Selection(chosen, policy, {"seed": seed})
        by_name = {cluster.name: cluster for cluster in self.clusters}
        if self._compiled is None:
            self._compiled = compile_fleet(self.clusters)
        needs_allocation = policy == "best-fit" or (
            fixed_node_count(job.jobspec.to_dict().get("resources") or []) is None
        )
        # What the job would hold on each idle cluster, from the core, when the policy asks.
        taken = (
            {name: (held, nodes, reason) for name, held, nodes, reason in
             self._compiled.taken(job.jobspec, job.per_node)}
            if needs_allocation
            else {}
        )
        totals = self._compiled.totals() if policy == "best-fit" else {}
        scored = []
        for answer in fitting:
            name = answer.cluster
            score = _score(by_name[name], job, policy, taken.get(name), totals.get(name, {}))
            scored.append((score["key"], answer.cluster, answer, score))
        scored.sort(key=lambda entry: (entry[0], entry[1]))
        scores = {name: score["value"] for _, name, _, score in scored}
        return Selection(scored[0][2], policy, scores)

    def script(
        self,
        job: Job | JobSource,
        cluster: str | None = None,
        policy: str = "first",
        seed: int | None = None,
        extra: Sequence[str] = (),
    ) -> Script:
        """The job as a batch script for ``cluster`` (or the one ``policy`` selects), in
        that cluster's scheduler's syntax, loading the software that met its requirements.
        ``extra``: ``MANAGER:DIRECTIVE`` entries, the scheduler's added verbatim."""
        job = self._job(job)
        if cluster is None:
            answer = self.select(job, policy, seed).answer
        else:
            named = [c for c in self.clusters if c.name == cluster]
            if not named:
                self.store.get(cluster)  # raises, naming the known clusters
                raise StoreError(f"cluster {cluster!r} is not part of this fleet")
            answer = Fleet(self.store, [cluster]).satisfy(job)[0]
            if not answer.ok:
                raise MatchError(no_fit_message([answer]))
        loads = list(dict.fromkeys(c.software.load for c in answer.software if c.software))
        text = render_script(job, answer.scheduler, loads, answer.cluster, extra)
        return Script(answer.cluster, answer.scheduler, text, loads)


def fixed_node_count(resources: Sequence[Mapping[str, Any]]) -> int | None:
    """How many nodes a request takes when its node counts (and every count above them) are
    plain numbers; None when a range or a request without nodes leaves it to the match."""

    def walk(level: Sequence[Mapping[str, Any]]) -> int | None:
        total = 0
        for vertex in level:
            count = vertex.get("count", 1)
            if vertex.get("type") == "node":
                if not isinstance(count, int):
                    return None
                total += count
                continue
            below = walk(vertex.get("with") or [])
            if below is None:
                return None
            if below:
                if not isinstance(count, int):
                    return None
                total += count * below
        return total

    nodes = walk(resources)
    return nodes or None


def _score(
    cluster: Cluster,
    job: Job,
    policy: str,
    taken: tuple[dict[str, int] | None, int, str | None] | None,
    totals: Mapping[str, int],
) -> dict[str, Any]:
    """The sort key of a fitting cluster under ``policy``, from what the core says the job
    would hold on it (``taken``: amounts per type, nodes touched, reason when none)."""
    hours = (job.duration or 3600.0) / 3600.0
    if policy == "cost":
        if cluster.cost is None:
            return {"key": (1, 0.0), "value": {"hours": hours, "price": None}}
        # A fixed number of nodes is what any match takes: no need to allocate.
        nodes = fixed_node_count(job.jobspec.to_dict().get("resources") or [])
        if nodes is not None:
            price = cluster.cost * nodes * hours
            return {"key": (0, price), "value": {"nodes": nodes, "hours": hours, "price": price}}
    held, nodes, reason = taken if taken is not None else (None, 0, "not allocated")
    if held is None:
        # Satisfiable on an idle cluster, yet no allocation: every node it needs is down.
        return {"key": (2, float("inf")), "value": {"reason": reason}}
    if policy == "best-fit":
        idle = {kind: int(totals.get(kind, 0)) - int(held.get(kind, 0)) for kind in CAPACITY_TYPES}
        key = (0, *(idle[kind] for kind in CAPACITY_TYPES))
        return {"key": key, "value": {"idle": idle}}
    nodes = max(1, nodes)
    price = cluster.cost * nodes * hours
    return {"key": (0, price), "value": {"nodes": nodes, "hours": hours, "price": price}}


def no_fit_message(answers: Sequence[ClusterAnswer]) -> str:
    lines = ["no cluster can run this job:"]
    for answer in answers:
        lines.append(f"  {answer.cluster}: {'; '.join(answer.reasons())}")
    return "\n".join(lines)


def render_script(job: Job, scheduler: str, loads: Sequence[str], cluster: str,
                  extra: Sequence[str] = ()) -> str:
    """The job in ``scheduler``'s syntax with ``loads`` run before its body and the
    ``extra`` directives given for ``scheduler``."""
    from fractale.transform import parse, render

    try:
        spec = parse(job.text, job.manager, file=job.source)
    except FractaleError as err:
        raise FractaleError(f"cannot write a {scheduler} script for this job: {err}") from None
    if loads:
        header = f"# Software on {cluster}, found by fractale\n" + "\n".join(loads) + "\n"
        body = spec.script
        spec = spec.replace(script=header + ("\n" + body if body.strip() else ""))
    return render(spec, scheduler, extra=extra)


__all__ = [
    "POLICIES",
    "ClusterAnswer",
    "Fleet",
    "Job",
    "Requirement",
    "RequirementCheck",
    "Script",
    "Selection",
    "Start",
    "VersionSpec",
    "check_requirement",
    "containment_fits",
    "requirements_of",
    "version_key",
]
