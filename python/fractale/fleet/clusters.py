"""The fleet: the clusters of a store matched against jobs, one chosen by a selection rule,
and the job written as a batch script for it.

Containment matching goes through the core's compiled fleet (``CompiledFleet``), which
answers every cluster at once, in parallel, from the store's cache of compiled clusters.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fractale.errors import FractaleError, MatchError, StoreError
from fractale.fleet.answers import ClusterAnswer, Script, Selection, Start, no_fit_message
from fractale.fleet.job import Job, JobSource
from fractale.fleet.requirements import RequirementCheck, check_requirement
from fractale.fleet.rules import Taken, rule
from fractale.renamed import old_keyword
from fractale.store import CONTAINMENT, Cluster, Store, acyclic

if TYPE_CHECKING:
    from fractale.generate.software import Software


def cluster_software(cluster: Cluster) -> list[Software]:
    """Everything the cluster's software subsystems list, subsystem by subsystem."""
    from fractale.generate.software import software_in

    found: list[Software] = []
    for subsystem in cluster.subsystems():
        if subsystem != CONTAINMENT:
            found += software_in(cluster.document(subsystem), subsystem)
    return found


def _record(cluster: Cluster) -> bytes:
    """What the fleet needs of a cluster's files besides its containment: its scheduler, its
    configuration and its software, as three lines of JSON (the cache keeps them while the
    files are unchanged)."""
    software = [item.to_dict() for item in cluster_software(cluster)]
    return b"\n".join([
        json.dumps(cluster.scheduler).encode(),
        json.dumps(cluster.config, separators=(",", ":"), default=str).encode(),
        json.dumps(software, separators=(",", ":")).encode(),
    ])


class Fleet:
    """The clusters of a store (or some of them), matched against jobs.

    Opening one reads nothing per cluster but the record the cache keeps (``_record``): a
    cluster's configuration is parsed, and its ``Cluster`` made, only when asked for."""

    def __init__(self, store: Store | str | Path | None = None, clusters: Iterable[str] = ()):
        self.store = store if isinstance(store, Store) else Store(store)
        # The clusters' containment compiled by the core, through the store's one cache,
        # which also keeps each cluster's record (its configuration and software) until one
        # of its files changes.
        self.compiled: Any = self.store.compiled(list(clusters) or None)
        # Per cluster, in name order: its name, its scheduler, its configuration's and its
        # software's JSON text (clusters with the same software share its parse).
        self.names: list[str] = []
        self._schedulers: list[str] = []
        self._config_text: list[bytes] = []
        self._software_text: list[bytes] = []
        self._software: dict[bytes, list[Software]] = {}
        self._clusters: list[Cluster] | None = None
        with acyclic():
            made = self._read_records()
        if made:
            self.compiled.keep_records(made)

    def _read_records(self) -> list[tuple[str, bytes]]:
        """Take in each cluster's cached record; the records made for clusters that had
        none, to keep."""
        made = []
        schedulers: dict[bytes, str] = {}
        for name, lines in self.compiled.records():
            if lines is None or len(lines) != 3:
                record = _record(self.store.get(name))
                made.append((name, record))
                lines = record.split(b"\n")
            scheduler = schedulers.get(lines[0])
            if scheduler is None:
                scheduler = schedulers[lines[0]] = json.loads(lines[0])
            self.names.append(name)
            self._schedulers.append(scheduler)
            self._config_text.append(lines[1])
            self._software_text.append(lines[2])
        return made

    @property
    def clusters(self) -> list[Cluster]:
        """Every cluster of the fleet, in name order (made when first asked for)."""
        if self._clusters is None:
            counts = self.compiled.counts()
            self._clusters = []
            for name, text in zip(self.names, self._config_text):
                cluster = Cluster(name, self.store.root / name, json.loads(text))
                cluster._counts = counts[name]
                self._clusters.append(cluster)
        return self._clusters

    def __repr__(self) -> str:
        return f"Fleet({self.store!r}, {len(self.clusters)} clusters)"

    def _job(self, job: Job | JobSource) -> Job:
        return job if isinstance(job, Job) else Job.load(job)

    def software(self, cluster: Cluster) -> list[Software]:
        """What the cluster's software subsystems list."""
        return self._parsed_software(self._software_text[self.names.index(cluster.name)])

    def _parsed_software(self, text: bytes) -> list[Software]:
        if text not in self._software:
            from fractale.generate.software import Software

            self._software[text] = [Software(**item) for item in json.loads(text)]
        return self._software[text]

    def taken(self, job: Job) -> dict[str, Taken]:
        """What allocating ``job`` on each idle cluster would hold, by cluster name."""
        return {name: (held, nodes, reason) for name, held, nodes, reason in
                self.compiled.taken(job.jobspec, job.per_node)}

    def totals(self) -> dict[str, dict[str, int]]:
        """Size totals per type of each cluster's containment graph, by cluster name."""
        return dict(self.compiled.totals())

    def costs(self) -> dict[str, float | None]:
        """Each cluster's price of a node-hour, None when it has none."""
        return {cluster.name: cluster.cost for cluster in self.clusters}

    def earliest_start(self, cluster: Cluster, job: Job, now: int | None = None) -> Start:
        """When ``job`` would start on ``cluster``: its containment planned with the jobs of
        the cluster's saved snapshot, then the job reserved at the earliest time it fits."""
        graph = self.compiled.graph(cluster.name, job.per_node)
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
        if not self.names:
            raise StoreError(f"no clusters are registered in {self.store.root}")
        with acyclic():
            fits = self.compiled.satisfiable(job.jobspec, job.per_node)
            # Clusters with the same software meet the job's requirements alike.
            checked: dict[bytes, list[RequirementCheck]] = {}
            answers = []
            texts = self._software_text if job.requires else [b""] * len(self.names)
            for (name, fit, reason), scheduler, text in zip(fits, self._schedulers, texts):
                checks = checked.get(text)
                if checks is None:
                    installed = self._parsed_software(text) if job.requires else []
                    checks = checked[text] = [check_requirement(r, installed)
                                              for r in job.requires]
                answers.append(ClusterAnswer(name, scheduler, fit, reason, checks))
        if when:
            clusters = self.clusters
            for index, answer in enumerate(answers):
                if answer.ok:
                    answer.start = self.earliest_start(clusters[index], job)
        return answers

    def select(
        self, job: Job | JobSource, by: str = "first", seed: int | None = None, *,
        policy: str | None = None,
    ) -> Selection:
        """One cluster that can run the job, chosen by the rule named ``by`` (the CLI's
        ``--by``; see ``fractale.fleet.rules``). ``MatchError`` when none fits.
        ``policy``: the deprecated name of ``by``."""
        chosen = rule(old_keyword("Fleet.select", "policy", "by", policy, by, "first"))
        job = self._job(job)
        answers = self.satisfy(job, when=chosen.when)
        fitting = [answer for answer in answers if answer.ok]
        if not fitting:
            raise MatchError(no_fit_message(answers))
        return chosen.choose(self, job, fitting, seed)

    def script(
        self,
        job: Job | JobSource,
        cluster: str | None = None,
        by: str = "first",
        seed: int | None = None,
        extra: Sequence[str] = (),
        *,
        policy: str | None = None,
    ) -> Script:
        """The job as a batch script for ``cluster`` (or the one the rule ``by`` selects),
        in that cluster's scheduler's syntax, loading the software that met its requirements.
        ``extra``: ``MANAGER:DIRECTIVE`` entries, the scheduler's added verbatim. ``policy``:
        the deprecated name of ``by``."""
        by = old_keyword("Fleet.script", "policy", "by", policy, by, "first")
        job = self._job(job)
        if cluster is None:
            answer = self.select(job, by, seed).answer
        else:
            if cluster not in self.names:
                self.store.get(cluster)  # raises, naming the known clusters
                raise StoreError(f"cluster {cluster!r} is not part of this fleet")
            answer = Fleet(self.store, [cluster]).satisfy(job)[0]
            if not answer.ok:
                raise MatchError(no_fit_message([answer]))
        loads = list(dict.fromkeys(c.software.load for c in answer.software if c.software))
        text = render_script(job, answer.scheduler, loads, answer.cluster, extra)
        return Script(answer.cluster, answer.scheduler, text, loads)


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

