"""Selection rules: how ``Fleet.select`` (the CLI's ``select --by``) chooses one cluster
among those that can run a job. (Fluxion's word "policy" is the matcher's vertex order,
``first``/``low``/``high``, a different thing.)

Each rule is a small class registered under its name; ``RULES`` is the registry the CLI
reads its ``--by`` choices and help from, so adding a rule is adding a class here. Ties go
to the cluster whose name sorts first. A rule sees the fitting answers in name order and
asks the fleet only what it needs (what the job would hold on each cluster, their totals,
when it would start).
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from fractale.fleet.answers import ClusterAnswer, Selection
from fractale.fleet.job import Job

if TYPE_CHECKING:
    from fractale.fleet.clusters import Fleet

# Resource types whose idle amount ``best-fit`` minimizes, most significant first.
CAPACITY_TYPES = ("core", "gpu", "memory", "node")

# What allocating the job on an idle cluster holds: amounts per type (None when it cannot
# be allocated), nodes touched, and the core's reason when it cannot.
Taken = tuple[Mapping[str, int] | None, int, str | None]


class Rule(ABC):
    """One way of choosing. ``summary`` is its line in the CLI's help; ``when`` asks the
    fleet to plan each fitting cluster's start time before choosing."""

    name: ClassVar[str]
    summary: ClassVar[str]
    when: ClassVar[bool] = False

    @abstractmethod
    def choose(
        self, fleet: Fleet, job: Job, fitting: Sequence[ClusterAnswer], seed: int | None
    ) -> Selection: ...


RULES: dict[str, type[Rule]] = {}


def registered(cls: type[Rule]) -> type[Rule]:
    """Register a rule under its name, in the order the help lists them."""
    RULES[cls.name] = cls
    return cls


def rule(name: str) -> Rule:
    """The rule called ``name``; ``MatchError`` naming the known ones otherwise."""
    from fractale.errors import MatchError

    if name not in RULES:
        raise MatchError(f"unknown rule {name!r} for choosing a cluster; expected one of "
                         f"{', '.join(RULES)}")
    return RULES[name]()


def help_text() -> str:
    """Every rule's name and summary, as ``select --by`` lists them."""
    return "; ".join(f"{name}: {cls.summary}" for name, cls in RULES.items())


@registered
class First(Rule):
    name = "first"
    summary = "the first by name (the default)"

    def choose(self, fleet, job, fitting, seed):
        return Selection(fitting[0], self.name, {})


@registered
class Random(Rule):
    name = "random"
    summary = "uniformly at random (reproducible with --seed)"

    def choose(self, fleet, job, fitting, seed):
        return Selection(random.Random(seed).choice(list(fitting)), self.name, {"seed": seed})


class Scored(Rule):
    """A rule ranking every fitting cluster by a sort key (lowest wins), reporting each
    cluster's score."""

    def choose(self, fleet, job, fitting, seed):
        score = self.scorer(fleet, job)
        scored = sorted(
            ((*score(answer.cluster), answer) for answer in fitting),
            key=lambda entry: (entry[0], entry[2].cluster),
        )
        scores = {answer.cluster: value for _, value, answer in scored}
        return Selection(scored[0][2], self.name, scores)

    @abstractmethod
    def scorer(self, fleet: Fleet, job: Job) -> Callable[[str], tuple[tuple[Any, ...], Any]]:
        """A function from a cluster's name to its sort key and reported score."""


def _not_allocated(reason: str | None) -> tuple[tuple[Any, ...], Any]:
    """Satisfiable on an idle cluster, yet no allocation: every node it needs is down."""
    return (2, float("inf")), {"reason": reason}


@registered
class BestFit(Scored):
    name = "best-fit"
    summary = "least idle capacity left once the job is allocated (cores, then GPUs, memory, nodes)"

    def scorer(self, fleet, job):
        taken, totals = fleet.taken(job), fleet.totals()

        def score(name: str) -> tuple[tuple[Any, ...], Any]:
            held, _, reason = taken.get(name, (None, 0, "not allocated"))
            if held is None:
                return _not_allocated(reason)
            have = totals.get(name, {})
            idle = {kind: int(have.get(kind, 0)) - int(held.get(kind, 0))
                    for kind in CAPACITY_TYPES}
            return (0, *(idle[kind] for kind in CAPACITY_TYPES)), {"idle": idle}

        return score


@registered
class Cost(Scored):
    name = "cost"
    summary = ("cheapest: cost per node-hour x nodes x the job's hours (one when it gives "
               "none); unpriced clusters last")

    def scorer(self, fleet, job):
        hours = (job.duration or 3600.0) / 3600.0
        # A fixed number of nodes is what any match takes: no need to allocate.
        fixed = job.jobspec.fixed_node_count
        taken = fleet.taken(job) if fixed is None else {}
        prices = fleet.costs()

        def score(name: str) -> tuple[tuple[Any, ...], Any]:
            cost = prices.get(name)
            if cost is None:
                return (1, 0.0), {"hours": hours, "price": None}
            nodes = fixed
            if nodes is None:
                held, touched, reason = taken.get(name, (None, 0, "not allocated"))
                if held is None:
                    return _not_allocated(reason)
                nodes = max(1, touched)
            price = cost * nodes * hours
            return (0, price), {"nodes": nodes, "hours": hours, "price": price}

        return score


@registered
class EarliestStart(Rule):
    name = "earliest-start"
    summary = ("where the job starts first, around each cluster's saved state "
               "(`cluster state NAME --save`); unplaceable last")
    when = True

    def choose(self, fleet, job, fitting, seed):
        def key(answer: ClusterAnswer) -> tuple[bool, int, str]:
            start = answer.start.time if answer.start is not None else None
            return (start is None, start or 0, answer.cluster)

        ranked = sorted(fitting, key=key)
        scores = {a.cluster: a.start.to_dict() if a.start else None for a in ranked}
        return Selection(ranked[0], self.name, scores)


# The rules' names, in the order the help lists them.
RULE_NAMES = tuple(RULES)
