"""Codecs several managers share: dependency lists, environment lists, mail events,
GPU counts with a type, licenses and job arrays.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Callable

from fractale.transform import units
from fractale.transform.directives import Codec, Context
from fractale.transform.model import DEPENDENCY_KINDS, MAIL_EVENTS, BatchJob

_SAFE_ENV_VALUE = re.compile(r"[A-Za-z0-9_./:@+{}-]*")


def read_dependencies(text: str, ctx: Context, separator: str = ",") -> list[str]:
    """``afterok:1:2,afterany:3`` -> ``["afterok:1", "afterok:2", "afterany:3"]``."""
    out: list[str] = []
    for item in text.replace("?", separator).split(separator):
        item = item.strip()
        if not item:
            continue
        kind, _, ids = item.partition(":")
        kind = kind.lower()
        if kind == "singleton" and not ids:
            out.append("singleton")
            continue
        if kind not in DEPENDENCY_KINDS or not ids:
            ctx.lose("dependencies", f"dependency {item!r} is not in fractale's job model "
                                     "(after, afterok, afternotok, afterany with job ids, "
                                     "singleton)")
            continue
        out.extend(f"{kind}:{job}" for job in ids.split(":") if job)
    return out


def write_dependencies(dependencies: list[str], separator: str = ",") -> str:
    groups: dict[str, list[str]] = {}
    for dependency in dependencies:
        kind, _, job = dependency.partition(":")
        groups.setdefault(kind, [])
        if job:
            groups[kind].append(job)
    return separator.join(":".join([kind, *jobs]) for kind, jobs in groups.items())


class Dependencies(Codec):
    """Slurm/PBS style ``kind:id[:id],kind:id`` in one value."""

    fields = ("dependencies",)

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        if self.prefix:
            value = value[len(self.prefix):] if value.startswith(self.prefix) else value
        return {"dependencies": read_dependencies(value, ctx)}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        if not spec.dependencies:
            return []
        return [self.prefix + write_dependencies(spec.dependencies)]


def env_value_ok(value: str) -> bool:
    return bool(_SAFE_ENV_VALUE.fullmatch(value))


def write_env_items(spec: BatchJob, ctx: Context) -> list[str]:
    """``NAME=value`` items for the spec's variables; values needing quoting are reported."""
    items = []
    for name, value in spec.environment.items():
        if env_value_ok(value) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            items.append(f"{name}={value}")
        else:
            ctx.lose("environment", f"variable {name} not written: its value needs quoting "
                                    f"{ctx.manager.name} directives cannot carry")
    return items


def read_env_items(items: list[str], ctx: Context) -> dict[str, str]:
    out = {}
    for item in items:
        name, eq, value = item.partition("=")
        name = name.strip()
        if not eq:
            ctx.lose("environment", f"variable {name} is passed from the submitting shell; "
                                    "its value is not known here")
            continue
        out[name] = value
    return out


class MailEvents(Codec):
    """Mail events spelled as a table of tokens (``BEGIN,END`` or ``abe``)."""

    fields = ("mail_events",)

    def __init__(self, tokens: Mapping[str, tuple[str, ...]], joiner: str = ",",
                 none: str | None = None) -> None:
        # manager token -> model events it stands for
        self.tokens = tokens
        self.joiner = joiner
        self.none = none

    def split(self, value: str) -> list[str]:
        return value.split(self.joiner) if self.joiner else list(value)

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        events: set[str] = set()
        for token in self.split(value.strip()):
            if token == self.none:
                continue
            key = token if token in self.tokens else token.upper()
            if key not in self.tokens:
                key = token.lower()
            if key not in self.tokens:
                ctx.lose("mail_events", f"mail event {token!r} not in fractale's job model")
                continue
            events.update(self.tokens[key])
        return {"mail_events": [e for e in MAIL_EVENTS if e in events]}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        if not spec.mail_events:
            return []
        wanted = set(spec.mail_events)
        chosen = []
        for token, events in self.tokens.items():
            if len(events) == 1 and events[0] in wanted and token not in chosen:
                chosen.append(token)
                wanted.discard(events[0])
        for event in sorted(wanted):
            ctx.lose("mail_events", f"{ctx.manager.name} cannot mail on {event}")
        return [self.joiner.join(chosen)] if chosen else []


def read_gpu_spec(value: str) -> tuple[str | None, int]:
    """``4`` or ``a100:4`` -> (type, count)."""
    kind, _, count = value.rpartition(":")
    if not count.isdigit():
        raise ValueError(f"expected [type:]count, got {value!r}")
    return (kind or None), int(count)


class GpuCount(Codec):
    """Slurm/Flux style ``[type:]count`` for a GPUs-per-something field."""

    def __init__(self, name: str, typed: bool = True) -> None:
        self.fields = (name, "gpu_type") if typed else (name,)
        self.typed = typed

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        try:
            kind, count = read_gpu_spec(value)
        except ValueError as err:
            raise ctx.fail(str(err), "[type:]count") from None
        out: dict[str, Any] = {self.fields[0]: count}
        if kind:
            if self.typed:
                out["gpu_type"] = kind
            else:
                ctx.lose("gpu_type", "GPU type not carried by this option")
        return out

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        count = getattr(spec, self.fields[0])
        if (self.typed and self.fields[0] == "gpus_per_task" and spec.gpu_type is not None
                and spec.gpus_per_node is None and spec.gpus_per_task is None):
            ctx.lose("gpu_type", "a GPU type is written with a GPU count only")
        if count is None:
            return []
        if spec.gpu_type and self.typed and self.owns_type(spec):
            return [f"{spec.gpu_type}:{count}"]
        return [str(count)]

    def owns_type(self, spec: BatchJob) -> bool:
        """The type goes with the first GPU count written (per node before per task)."""
        if self.fields[0] == "gpus_per_node":
            return True
        return spec.gpus_per_node is None


class Licenses(Codec):
    """``name[:count],name`` licenses."""

    fields = ("licenses",)

    def __init__(self, count_separator: str = ":") -> None:
        self.count_separator = count_separator

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        out = {}
        for item in value.split(","):
            name, _, count = item.strip().partition(self.count_separator)
            if not name:
                continue
            if count and not count.isdigit():
                raise ctx.fail(f"license count {count!r} is not a number", "name[:count]")
            out[name] = int(count or 1)
        return {"licenses": out}

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        if not spec.licenses:
            return []
        return [",".join(f"{name}{self.count_separator}{count}"
                         for name, count in spec.licenses.items())]


class Array(Codec):
    """Job array indexes; ``to_native``/``from_native`` adapt the manager's spelling."""

    fields = ("array",)

    def __init__(self, to_native: Callable[[str, Context], str | None] | None = None,
                 from_native: Callable[[str], str] | None = None) -> None:
        self.to_native = to_native
        self.from_native = from_native

    def read(self, value: str, ctx: Context) -> dict[str, Any]:
        text = self.from_native(value) if self.from_native else value
        try:
            return {"array": units.read_array(text)}
        except ValueError as err:
            raise ctx.fail(f"{ctx.directive}: {err}", "indexes such as 1-100:2%10") from None

    def write(self, spec: BatchJob, ctx: Context) -> list[str | None]:
        if spec.array is None:
            return []
        if self.to_native is None:
            return [spec.array]
        native = self.to_native(spec.array, ctx)
        return [] if native is None else [native]
