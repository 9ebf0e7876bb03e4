"""Upstream fractale's plans, read as fractale plans.

Upstream writes a plan as a list of agents, each with a free-form context::

    name: Build and Deploy LAMMPS
    description: Build a Docker container and deploy it as a Kubernetes Job.
    plan:
      - agent: build
        context:
          application: lammps
          max_attempts: 10
          details: Clone the latest branch of LAMMPS.
      - agent: kubernetes-job
        context:
          details: Run in.reaxff.hns with lmp ...

Each upstream agent maps to one of fractale's agents (``UPSTREAM_AGENTS``); its context
becomes the step's inputs: what to run from ``instruction``, ``application`` or ``details``,
the image from ``container``, the attempt limit from ``max_attempts``, and every other key
(``environment``, ``details``, ``testing``, ...) handed to the model as notes, as upstream's
agents hand their whole context to it. An upstream agent fractale has no step for is
reported by name with its line, as is a fractale step's name used as is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fractale.agents.plan import _line, _Mapping, _Problems, _Sequence, plain
from fractale.agents.steps import AGENTS
from fractale.errors import AgentError

UPSTREAM_KEYS = ("name", "description", "goal", "plan")
# Context keys that say what the step runs, first found wins.
_APP_KEYS = ("instruction", "application", "details")


@dataclass(frozen=True)
class Mapping:
    """How one upstream agent becomes a fractale step."""

    agent: str
    # fixed inputs the step gets (the batch agent's scheduler)
    inputs: dict[str, str] = field(default_factory=dict)
    # upstream context key -> fractale input
    renames: dict[str, str] = field(default_factory=dict)


UPSTREAM_AGENTS: dict[str, Mapping] = {
    "build": Mapping("build", renames={"container": "tag"}),
    "kubernetes-job": Mapping("kubernetes-job", renames={"container": "image"}),
    "flux-batch": Mapping("batch", inputs={"scheduler": "flux"}),
    "minicluster": Mapping("minicluster", renames={"container": "image"}),
    # fractale prices from the context's table, or its own (upstream's model looks them up)
    "cost": Mapping("cost", renames={"prices": "prices", "job": "job"}),
}
# Upstream agents with no fractale step yet, and what they do upstream.
MISSING = {
    "manager": "orchestrates other agents as a step of a plan",
}


def is_upstream(document: dict[str, Any]) -> bool:
    """Whether a plan document is written in upstream's format."""
    return "plan" in document and "steps" not in document


def _mapping(line: int | None) -> _Mapping:
    made = _Mapping()
    made.line = line or 0
    made.lines = {}
    return made


def _put(target: _Mapping, key: str, value: Any, line: int | None) -> None:
    target[key] = value
    if line:
        target.lines[key] = line


def upstream_plan(document: dict[str, Any], problems: _Problems) -> _Mapping:
    """The fractale plan an upstream plan says, every problem added with its line."""
    converted = _mapping(getattr(document, "line", None))
    for key in document:
        if key not in UPSTREAM_KEYS:
            problems.add(
                _line(document, key),
                f"unknown key {key!r} (an upstream plan has {', '.join(UPSTREAM_KEYS)})",
            )
    for key in ("name", "description"):
        if document.get(key) is not None:
            _put(converted, key, document[key], _line(document, key))
    if document.get("goal") and "description" not in converted:
        _put(converted, "description", document["goal"], _line(document, "goal"))
    entries = document.get("plan")
    if not isinstance(entries, list) or not entries:
        problems.add(_line(document, "plan"), "plan is a non-empty list of {agent, context}")
        entries = []
    steps = _Sequence()
    steps.line = _line(document, "plan") or 0
    steps.lines = []
    taken: set[str] = set()
    built = None
    for position, entry in enumerate(entries):
        line = entries.lines[position] if isinstance(entries, _Sequence) else None
        step = _step(entry, line, position, taken, problems)
        if step is None:
            continue
        # Upstream hands the built container on through the shared context.
        runs_image = step["agent"] in ("kubernetes-job", "minicluster")
        if runs_image and built and "image" not in step["inputs"]:
            step["inputs"]["image"] = f"${{steps.{built}.image}}"
        if step["agent"] == "build":
            built = step["name"]
        steps.append(step)
        steps.lines.append(line or 0)
    if entries and not steps:
        # Nothing to run: the problems above say why, without a "no steps" beside them.
        raise AgentError("the plan is invalid:\n" + "\n".join(problems.found))
    _put(converted, "steps", steps, _line(document, "plan"))
    return converted


def _step(
    entry: Any, line: int | None, position: int, taken: set[str], problems: _Problems
) -> _Mapping | None:
    where = f"plan item {position + 1}"
    if not isinstance(entry, dict):
        problems.add(line, f"{where} is a mapping with agent and context")
        return None
    unknown = sorted(set(entry) - {"agent", "context"})
    if unknown:
        problems.add(
            _line(entry, unknown[0]),
            f"{where}: unknown key {unknown[0]!r} (an upstream step has agent and context)",
        )
    name = entry.get("agent")
    agent_line = _line(entry, "agent")
    context = entry.get("context") or {}
    if not isinstance(context, dict):
        problems.add(_line(entry, "context"), f"{where}: context is a mapping")
        return None
    if name in UPSTREAM_AGENTS:
        rule = UPSTREAM_AGENTS[name]
    elif name in AGENTS:
        # One of fractale's own steps: its context is its inputs.
        rule = Mapping(name)
    else:
        own = ", ".join(a for a in AGENTS if a not in UPSTREAM_AGENTS)
        missing = f" (upstream it {MISSING[name]})" if name in MISSING else ""
        problems.add(
            agent_line,
            f"{where}: upstream agent {name!r} has no fractale step yet{missing}; "
            f"fractale runs upstream's {', '.join(UPSTREAM_AGENTS)} and its own {own}",
        )
        return None
    step_name = str(name)
    while step_name in taken:
        step_name = f"{name}-{position + 1}" if step_name == name else f"{step_name}-2"
    taken.add(step_name)
    step = _mapping(line)
    _put(step, "name", step_name, agent_line)
    _put(step, "agent", rule.agent, agent_line)
    inputs = _inputs(context, rule, name in UPSTREAM_AGENTS, where, problems)
    if inputs is None:
        return None
    _put(step, "inputs", inputs, _line(entry, "context") or line)
    if "max_attempts" in context:
        _put(step, "attempts", context["max_attempts"], _line(context, "max_attempts"))
    return step


def _inputs(
    context: dict[str, Any], rule: Mapping, translate: bool, where: str, problems: _Problems
) -> _Mapping | None:
    """The step's inputs, or None (reported) when the context says nothing to run."""
    inputs = _mapping(getattr(context, "line", None))
    for key, value in rule.inputs.items():
        _put(inputs, key, value, None)
    if not translate:
        for key, value in context.items():
            if key != "max_attempts":
                _put(inputs, key, value, _line(context, key))
        return inputs
    app_key = next((key for key in _APP_KEYS if context.get(key)), None)
    if app_key is None:
        problems.add(
            getattr(context, "line", None),
            f"{where}: the context needs {', '.join(_APP_KEYS[:-1])} or {_APP_KEYS[-1]}: "
            "what to run",
        )
        return None
    _put(inputs, "app", str(context[app_key]).strip(), _line(context, app_key))
    notes = []
    notes_line = None
    for key, value in context.items():
        if key in (app_key, "max_attempts"):
            continue
        if key in rule.renames:
            _put(inputs, rule.renames[key], plain(value), _line(context, key))
            continue
        text = value if isinstance(value, str) else str(plain(value))
        notes.append(f"{key}: {text.strip()}")
        notes_line = notes_line or _line(context, key)
    if notes:
        _put(inputs, "notes", "\n".join(notes), notes_line)
    return inputs
