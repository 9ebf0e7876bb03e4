"""The parameters a study may change, their bounds, and how one configuration reaches a job.

A parameter is job geometry (``nodes``, ``tasks``), an environment variable (``env``) or an
application flag (``flag``), bounded by ``min``/``max`` or a list of ``choices``::

    tasks: {kind: tasks, min: 1, max: 2}
    chunk: {kind: flag, flag: --chunk, min: 10000, max: 4000000}
    OMP_NUM_THREADS: {kind: env, choices: [1, 2, 4]}

A configuration reaches the job in two ways: written into a batch script template, where
``{{NAME}}`` stands for a parameter's value, or described to the batch agent's model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fractale.errors import AgentError

KINDS = ("nodes", "tasks", "env", "flag")
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    integer: bool = True
    choices: tuple[Any, ...] = ()
    flag: str | None = None

    def describe(self) -> str:
        where = {"nodes": "nodes", "tasks": "tasks", "env": "environment variable"}.get(
            self.kind, f"application flag {self.flag}"
        )
        if self.choices:
            allowed = "one of " + ", ".join(str(choice) for choice in self.choices)
        else:
            kind = "integer" if self.integer else "number"
            allowed = f"{kind} from {self.low:g} to {self.high:g}"
        return f"{self.name} ({where}): {allowed}"

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not allowed, or None."""
        if self.choices:
            return (
                None
                if value in self.choices
                else f"{self.name}={value!r} is not one of {list(self.choices)}"
            )
        if not _number(value):
            return f"{self.name}={value!r} is not a number"
        if self.integer and float(value) != int(value):
            return f"{self.name}={value!r} is not an integer"
        assert self.low is not None and self.high is not None
        if not self.low <= value <= self.high:
            return f"{self.name}={value!r} is outside {self.low:g}..{self.high:g}"
        return None

    def value(self, value: Any) -> Any:
        return int(value) if self.integer and not self.choices else value

    def schema(self) -> dict[str, Any]:
        if self.choices:
            return {"enum": list(self.choices)}
        return {"type": "integer" if self.integer else "number"}


def parameter(name: str, spec: Any) -> Parameter:
    """One parameter from its plan entry; AgentError naming what is wrong."""
    where = f"parameter {name!r}"
    if not NAME.fullmatch(str(name)):
        raise AgentError(f"{where}: a name is letters, digits, _ and -")
    if not isinstance(spec, dict):
        raise AgentError(f"{where} is a mapping: {{kind: ..., min: ..., max: ...}} or choices")
    unknown = set(spec) - {"kind", "min", "max", "choices", "flag", "type"}
    if unknown:
        raise AgentError(f"{where} has unknown key {sorted(unknown)[0]!r}")
    kind = spec.get("kind", "flag")
    if kind not in KINDS:
        raise AgentError(f"{where}: kind is one of {', '.join(KINDS)}, not {kind!r}")
    flag = spec.get("flag", f"--{name}") if kind == "flag" else None
    if "choices" in spec:
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices or "min" in spec or "max" in spec:
            raise AgentError(f"{where}: choices is a non-empty list, given without min and max")
        return Parameter(str(name), kind, choices=tuple(choices), flag=flag)
    low: Any = spec.get("min")
    high: Any = spec.get("max")
    if not _number(low) or not _number(high) or low > high:
        raise AgentError(f"{where} needs numbers min <= max (or a list of choices)")
    kind_of_value = spec.get(
        "type", "float" if isinstance(low, float) or isinstance(high, float) else "int"
    )
    if kind_of_value not in ("int", "float"):
        raise AgentError(f"{where}: type is int or float")
    integer = kind_of_value == "int"
    if kind in ("nodes", "tasks") and (not integer or low < 1):
        raise AgentError(f"{where}: {kind} are whole numbers of at least 1")
    return Parameter(str(name), kind, float(low), float(high), integer, flag=flag)


def parameters(spec: Any) -> dict[str, Parameter]:
    if not isinstance(spec, dict) or not spec:
        raise AgentError("parameters is a mapping of names to bounds (at least one)")
    found = {str(name): parameter(str(name), entry) for name, entry in spec.items()}
    for kind in ("nodes", "tasks"):
        if sum(1 for item in found.values() if item.kind == kind) > 1:
            raise AgentError(f"only one parameter may be of kind {kind}")
    return found


def configuration_problems(space: dict[str, Parameter], config: Any) -> list[str]:
    if not isinstance(config, dict):
        return ["a configuration is a mapping of parameter names to values"]
    problems = [f"{name} is not a parameter" for name in config if name not in space]
    problems += [f"{name} has no value" for name in space if name not in config]
    problems += [
        problem
        for name, item in space.items()
        if name in config and (problem := item.problem(config[name])) is not None
    ]
    return problems


def render(template: str, values: dict[str, Any]) -> str:
    """``template`` with each ``{{NAME}}`` replaced by its value."""

    def value(match: re.Match[str]) -> str:
        return str(values[match.group(1)])

    return PLACEHOLDER.sub(value, template)


def unknown_placeholders(template: str, names: set[str]) -> list[str]:
    return sorted({found for found in PLACEHOLDER.findall(template) if found not in names})


def label(config: dict[str, Any]) -> str:
    return " ".join(f"{name}={value}" for name, value in config.items())


def describe(space: dict[str, Parameter], config: dict[str, Any]) -> str:
    """The configuration in words, for the batch agent's model."""
    parts = []
    for name, item in space.items():
        value = config[name]
        if item.kind in ("nodes", "tasks"):
            parts.append(f"{value} {item.kind}")
        elif item.kind == "env":
            parts.append(f"environment variable {name}={value}")
        else:
            parts.append(f"application flag {item.flag} {value}")
    return "Run exactly this configuration: " + "; ".join(parts) + "."


def geometry(space: dict[str, Parameter], config: dict[str, Any]) -> dict[str, Any]:
    """The batch step's nodes and tasks inputs that a configuration sets."""
    return {
        item.kind: config[name] for name, item in space.items() if item.kind in ("nodes", "tasks")
    }
