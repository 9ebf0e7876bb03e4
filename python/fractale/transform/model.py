"""The normalized job model every workload manager is read into and written from.

Units are fixed so that specs compare equal across managers: memory in MiB, durations in
seconds, begin times as ``YYYY-MM-DDTHH:MM:SS`` or ``+SECONDS`` (relative to submission),
output paths with manager-neutral placeholders (``{{id}}``, ``{{name}}``, ``{{array_id}}``,
``{{array_index}}``, ``{{user}}``, ``{{node}}``).

A heterogeneous job (Slurm ``hetjob``, PBS Pro ``select=A+B``) is one job of several
components: the spec's own resource fields are component 0, and ``components`` holds the
others, each a mapping of ``COMPONENT_FIELDS``. A queue may be a list of queues, the first
preferred, written ``a,b,c`` in ``queue``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from fractale.renamed import old_names

# Placeholders a path may hold, in the neutral spelling the model stores.
PLACEHOLDERS = ("id", "name", "array_id", "array_index", "user", "node")

# Mail events in their canonical order.
MAIL_EVENTS = ("begin", "end", "fail", "requeue")

# The fields each component of a heterogeneous job has for itself.
COMPONENT_FIELDS = ("queue", "nodes", "tasks", "tasks_per_node", "cpus_per_task",
                    "gpus_per_task", "gpus_per_node", "gpu_type", "memory_per_node",
                    "memory_per_cpu", "exclusive", "constraints", "nodelist")

# Dependency kinds the model knows; each dependency is stored as "kind:jobid".
DEPENDENCY_KINDS = ("after", "afterok", "afternotok", "afterany", "singleton")


@dataclass
class BatchJob:
    """One batch job, independent of the workload manager it was written for."""

    name: str | None = None
    account: str | None = None
    queue: str | None = None
    nodes: int | None = None
    tasks: int | None = None
    tasks_per_node: int | None = None
    cpus_per_task: int | None = None
    gpus_per_task: int | None = None
    gpus_per_node: int | None = None
    gpu_type: str | None = None
    memory_per_node: int | None = None
    memory_per_cpu: int | None = None
    walltime: int | None = None
    begin: str | None = None
    output: str | None = None
    error: str | None = None
    # Standard error written into the output file (PBS ``-j oe``; Slurm and LSF do this
    # whenever no error file is named).
    join_output: bool = False
    input: str | None = None
    workdir: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    export_env: str | None = None
    exclusive: bool = False
    constraints: list[str] = field(default_factory=list)
    reservation: str | None = None
    priority: int | None = None
    urgency: int | None = None
    qos: str | None = None
    array: str | None = None
    dependencies: list[str] = field(default_factory=list)
    mail_user: str | None = None
    mail_events: list[str] = field(default_factory=list)
    requeue: bool | None = None
    nodelist: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    licenses: dict[str, int] = field(default_factory=dict)
    container_image: str | None = None
    # The components of a heterogeneous job after the first (see COMPONENT_FIELDS).
    components: list[dict[str, Any]] = field(default_factory=list)
    shell: str = "/bin/bash"
    script: str = ""
    dialect: str | None = None

    def __post_init__(self) -> None:
        # Dependencies all hold at once and mail events are a set: keep one order of each so
        # that equal jobs compare equal whatever order their script listed them in.
        kinds: dict[str, list[str]] = {}
        for dependency in self.dependencies:
            kinds.setdefault(dependency.partition(":")[0], []).append(dependency)
        self.dependencies = [d for group in kinds.values() for d in group]
        self.mail_events = [e for e in MAIL_EVENTS if e in self.mail_events] + [
            e for e in self.mail_events if e not in MAIL_EVENTS]

    def to_dict(self, *, include_defaults: bool = False) -> dict[str, Any]:
        """The spec as plain data; fields left at their defaults are omitted unless asked."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if include_defaults or not is_default(f.name, value):
                out[f.name] = _copy(value)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BatchJob:
        """Build a spec from ``to_dict`` output; unknown keys are an error."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown BatchJob fields: {', '.join(unknown)}")
        return cls(**{key: _copy(value) for key, value in data.items()})

    def replace(self, **changes: Any) -> BatchJob:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


_DEFAULTS = {f.name: (f.default_factory() if f.default_factory is not dataclasses.MISSING
                      else f.default) for f in dataclasses.fields(BatchJob)}


# A node property a constraint can name on its own (RFC 31): no spaces, quotes or operators.
PROPERTY_NAME = re.compile(r"\^?[^\s^&'\"`|()]+")


_SCALARS = {"str": str, "int": int, "bool": bool}


def _type_ok(value: Any, kind: str) -> bool:
    kind = kind.strip()
    if kind == "Any":
        return True
    if kind.endswith("| None"):
        return value is None or _type_ok(value, kind[: -len("| None")])
    if kind.startswith("list["):
        return isinstance(value, list) and all(_type_ok(v, kind[5:-1]) for v in value)
    if kind.startswith("dict["):
        key, _, item = kind[5:-1].partition(",")
        return isinstance(value, dict) and all(
            _type_ok(k, key) and _type_ok(v, item) for k, v in value.items())
    expected = _SCALARS[kind]
    # bool is an int to Python, never to a job.
    return isinstance(value, expected) and (expected is bool or not isinstance(value, bool))


def type_problems(values: dict[str, Any]) -> list[str]:
    """Fields of ``values`` whose type does not match the model (e.g. a list for a name)."""
    kinds = {f.name: str(f.type) for f in dataclasses.fields(BatchJob)}
    problems = [f"{name} should be {kinds[name]}, not {type(value).__name__}"
                for name, value in values.items() if not _type_ok(value, kinds[name])]
    if not problems and values.get("components"):
        problems = component_problems(values["components"])
    return problems


_AT_LEAST_ONE = ("nodes", "tasks", "tasks_per_node", "cpus_per_task", "walltime")
_NOT_NEGATIVE = ("memory_per_node", "memory_per_cpu")


def value_problems(values: dict[str, Any]) -> list[str]:
    """Counts and durations below one, or negative sizes; GPU counts of zero are dropped
    from ``values`` (they ask for no GPUs)."""
    for name in ("gpus_per_node", "gpus_per_task"):
        if values.get(name) == 0:
            del values[name]
    problems = [f"{name.replace('_', ' ')} must be at least 1, not {values[name]}"
                for name in _AT_LEAST_ONE
                if isinstance(values.get(name), int) and values[name] < 1]
    problems += [f"{name.replace('_', ' ')} cannot be negative"
                 for name in _NOT_NEGATIVE + ("gpus_per_node", "gpus_per_task")
                 if isinstance(values.get(name), int) and values[name] < 0]
    return problems


def field_names() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(BatchJob))


def is_default(name: str, value: Any) -> bool:
    return value == _DEFAULTS[name]


def component_problems(components: list[dict[str, Any]]) -> list[str]:
    """Ways the components of a heterogeneous job break the model (unknown fields, types,
    counts below one)."""
    kinds = {f.name: str(f.type) for f in dataclasses.fields(BatchJob)}
    problems = []
    for number, component in enumerate(components, start=1):
        for name, value in component.items():
            if name not in COMPONENT_FIELDS:
                problems.append(f"component {number}: {name} is not a component field")
            elif not _type_ok(value, kinds[name]):
                problems.append(f"component {number}: {name} should be {kinds[name]}")
        problems += [f"component {number}: {problem}"
                     for problem in value_problems(dict(component))]
    return problems


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


# Old names kept for one release.
__getattr__ = old_names(__name__, {"JobSpec": "BatchJob"})
