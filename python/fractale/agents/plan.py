"""Plans: the YAML file the manager follows, and the checks it passes before anything runs.

A plan is an ordered list of steps::

    name: hello-on-slurm
    inputs:                         # values steps can use as ${inputs.NAME}
      greeting: hello from fractale
    steps:
      - name: run                   # unique; later steps use ${steps.run.KEY}
        agent: batch                # transform, batch, kubernetes-job, build or results
        inputs:
          app: "echo ${inputs.greeting}"
          scheduler: slurm
        success: {state: COMPLETED, output_contains: hello}
        attempts: 3                 # this step's attempt limit
        on_failure: stop            # stop | retry | {action: retry, times: N}
                                    #  | {action: back, to: EARLIER_STEP, times: N}
                                    #  | ask | {action: ask, times: N} (the model decides)
      - name: metrics
        agent: results
        inputs:
          output: ${steps.run.output}
          metrics: [greeting]

Every problem is reported with its line before any step runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fractale.agents.conditions import Condition
from fractale.agents.steps import AGENTS, agent_class
from fractale.errors import AgentError

PLAN_KEYS = ("name", "description", "inputs", "steps")
STEP_KEYS = ("name", "agent", "inputs", "success", "attempts", "on_failure")
ACTIONS = ("stop", "retry", "back", "ask")
STEP_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
REFERENCE = re.compile(r"\$\{([^}]*)\}")


class _Mapping(dict):
    """A YAML mapping that remembers the line of each key."""

    line: int
    lines: dict[Any, int]


class _Sequence(list):
    """A YAML sequence that remembers the line of each item."""

    line: int
    lines: list[int]


class _LineLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> _Mapping:
        mapping = _Mapping()
        mapping.line = node.start_mark.line + 1
        mapping.lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            mapping[key] = self.construct_object(value_node, deep=True)
            mapping.lines[key] = key_node.start_mark.line + 1
        return mapping

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> _Sequence:
        sequence = _Sequence(self.construct_object(child, deep=True) for child in node.value)
        sequence.line = node.start_mark.line + 1
        sequence.lines = [child.start_mark.line + 1 for child in node.value]
        return sequence


_LineLoader.add_constructor("tag:yaml.org,2002:map", _LineLoader.construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _LineLoader.construct_sequence)


def plain(value: Any) -> Any:
    """Ordinary dicts and lists, without the line bookkeeping."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


@dataclass(frozen=True)
class OnFailure:
    """What the manager does when a step has used all its attempts."""

    action: str = "stop"
    to: str | None = None
    times: int = 1


@dataclass
class Step:
    name: str
    agent: str
    inputs: dict[str, Any]
    success: Condition | None
    attempts: int | None
    on_failure: OnFailure
    line: int


@dataclass
class Plan:
    path: Path
    name: str
    description: str
    inputs: dict[str, Any]
    steps: list[Step] = field(default_factory=list)

    def index(self, name: str) -> int:
        return next(i for i, step in enumerate(self.steps) if step.name == name)


def references(value: Any) -> list[str]:
    """Every ``${...}`` reference inside an input value."""
    if isinstance(value, str):
        return REFERENCE.findall(value)
    if isinstance(value, dict):
        return [ref for item in value.values() for ref in references(item)]
    if isinstance(value, list):
        return [ref for item in value for ref in references(item)]
    return []


class _Problems:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.found: list[str] = []

    def add(self, line: int | None, message: str) -> None:
        where = f"{self.path}:{line}" if line else str(self.path)
        self.found.append(f"{where}: {message}")


def _line(mapping: Any, key: Any) -> int | None:
    lines = getattr(mapping, "lines", None)
    if isinstance(lines, dict) and key in lines:
        return lines[key]
    return getattr(mapping, "line", None)


def _on_failure(value: Any, where: int | None, problems: _Problems) -> OnFailure | None:
    if value is None:
        return OnFailure()
    if isinstance(value, str):
        if value in ("stop", "retry", "ask"):
            return OnFailure(value)
        problems.add(
            where, f"on_failure is stop, retry, ask or a mapping with action, not {value!r}"
        )
        return None
    if not isinstance(value, dict):
        problems.add(where, "on_failure is stop, retry, or {action: ..., to: ..., times: N}")
        return None
    unknown = set(value) - {"action", "to", "times"}
    if unknown:
        problems.add(where, f"on_failure has unknown key {sorted(unknown)[0]!r}")
        return None
    action = value.get("action")
    if action not in ACTIONS:
        problems.add(where, f"on_failure action is one of {', '.join(ACTIONS)}, not {action!r}")
        return None
    times = value.get("times", 1)
    if not isinstance(times, int) or isinstance(times, bool) or times < 1:
        problems.add(where, "on_failure times is a positive integer")
        return None
    target = value.get("to")
    if action == "back" and not isinstance(target, str):
        problems.add(where, "on_failure back needs 'to': the earlier step to go back to")
        return None
    if action != "back" and target is not None:
        problems.add(where, f"on_failure {action} takes no 'to'")
        return None
    return OnFailure(action, target, times)


def load_plan(path: Path, *, overrides: dict[str, Any] | None = None) -> Plan:
    """Read and check a plan; ``overrides`` replace or add plan inputs (``--set``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise AgentError(f"cannot read plan {path}: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise AgentError(f"{path}: not a plan: byte {err.start} is not UTF-8 text") from None
    try:
        document = yaml.load(text, Loader=_LineLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as err:
        line = err.problem_mark.line + 1 if err.problem_mark else None
        raise AgentError(f"{path}:{line}: not valid YAML: {err.problem}") from None
    except yaml.YAMLError as err:
        raise AgentError(f"{path}: not valid YAML: {err}") from None
    problems = _Problems(path)
    if not isinstance(document, dict):
        raise AgentError(f"{path}: a plan is a mapping with a 'steps' list")
    # Upstream fractale's `plan: [{agent, context}]` is read as the steps it stands for.
    from fractale.agents import upstream

    if upstream.is_upstream(document):
        document = upstream.upstream_plan(document, problems)
    for key in document:
        if key not in PLAN_KEYS:
            problems.add(
                _line(document, key), f"unknown key {key!r} (a plan has {', '.join(PLAN_KEYS)})"
            )
    inputs = document.get("inputs") or {}
    if not isinstance(inputs, dict):
        problems.add(_line(document, "inputs"), "inputs is a mapping of names to values")
        inputs = {}
    inputs = {**plain(inputs), **(overrides or {})}
    steps_value = document.get("steps")
    if not isinstance(steps_value, list) or not steps_value:
        problems.add(_line(document, "steps"), "steps is a non-empty list")
        steps_value = []
    plan = Plan(
        path=path,
        name=str(document.get("name") or path.stem),
        description=str(document.get("description") or ""),
        inputs=inputs,
    )
    seen: dict[str, str] = {}
    for position, raw in enumerate(steps_value):
        line = steps_value.lines[position] if isinstance(steps_value, _Sequence) else None
        step = _step(raw, line, position, seen, plan, problems)
        if step is not None:
            plan.steps.append(step)
            seen[step.name] = step.agent
    if problems.found:
        raise AgentError("the plan is invalid:\n" + "\n".join(problems.found))
    return plan


def _step(
    raw: Any,
    line: int | None,
    position: int,
    seen: dict[str, str],
    plan: Plan,
    problems: _Problems,
) -> Step | None:
    if not isinstance(raw, dict):
        problems.add(line, f"step {position + 1} is a mapping with name, agent and inputs")
        return None
    before = len(problems.found)
    for key in raw:
        if key not in STEP_KEYS:
            problems.add(
                _line(raw, key), f"unknown step key {key!r} (a step has {', '.join(STEP_KEYS)})"
            )
    name = raw.get("name")
    if not isinstance(name, str) or not STEP_NAME.fullmatch(name):
        problems.add(
            _line(raw, "name"), f"step {position + 1} needs a name of letters, digits, - and _"
        )
        name = f"step-{position + 1}"
    elif name in seen:
        problems.add(_line(raw, "name"), f"two steps are named {name!r}")
    agent = raw.get("agent")
    if agent not in AGENTS:
        problems.add(
            _line(raw, "agent"),
            f"step {name!r}: agent {agent!r} is not one of {', '.join(AGENTS)}",
        )
        return None
    spec = agent_class(agent)
    inputs = raw.get("inputs") or {}
    if not isinstance(inputs, dict):
        problems.add(_line(raw, "inputs"), f"step {name!r}: inputs is a mapping")
        inputs = {}
    for key in inputs:
        if key not in spec.INPUTS:
            problems.add(
                _line(inputs, key),
                f"step {name!r}: the {agent} agent has no input {key!r} "
                f"(its inputs: {', '.join(spec.INPUTS)})",
            )
    for key, (required, _) in spec.INPUTS.items():
        if required and inputs.get(key) in (None, ""):
            problems.add(
                _line(raw, "inputs"), f"step {name!r}: the {agent} agent needs input {key!r}"
            )
    for key, value in inputs.items():
        for ref in references(value):
            _check_reference(ref, _line(inputs, key), name, seen, plan, problems)
    if len(problems.found) == before:
        problem = spec.input_problem(plain(inputs))
        if problem is not None:
            problems.add(_line(raw, "inputs"), f"step {name!r}: {problem}")
    success = None
    if raw.get("success") is not None:
        if not isinstance(raw["success"], dict):
            problems.add(
                _line(raw, "success"), f"step {name!r}: success is a mapping of conditions"
            )
        else:
            try:
                success = Condition(plain(raw["success"]))
            except AgentError as err:
                problems.add(_line(raw, "success"), f"step {name!r}: {err}")
    attempts = raw.get("attempts")
    if attempts is not None and (
        not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 1
    ):
        problems.add(_line(raw, "attempts"), f"step {name!r}: attempts is a positive integer")
    on_failure = _on_failure(raw.get("on_failure"), _line(raw, "on_failure"), problems)
    if on_failure is not None and on_failure.action == "back" and on_failure.to not in seen:
        problems.add(
            _line(raw, "on_failure"),
            f"step {name!r}: on_failure goes back to {on_failure.to!r}, "
            "which is not an earlier step",
        )
    if len(problems.found) > before:
        return None
    return Step(name, agent, plain(inputs), success, attempts, on_failure or OnFailure(), line or 0)


def _check_reference(
    ref: str, line: int | None, step: str, seen: dict[str, str], plan: Plan, problems: _Problems
) -> None:
    parts = ref.strip().split(".")
    if parts[0] == "inputs" and len(parts) == 2:
        if parts[1] not in plan.inputs:
            problems.add(
                line, f"step {step!r}: ${{{ref}}} names no plan input (give it with --set)"
            )
        return
    if parts[0] == "steps" and len(parts) == 3:
        earlier, key = parts[1], parts[2]
        if earlier not in seen:
            problems.add(
                line,
                f"step {step!r}: ${{{ref}}} refers to {earlier!r}, which is not an earlier step",
            )
            return
        outputs = agent_class(seen[earlier]).OUTPUTS
        if key not in outputs:
            problems.add(
                line,
                f"step {step!r}: ${{{ref}}}: the {seen[earlier]} agent has no output {key!r} "
                f"(its outputs: {', '.join(outputs)})",
            )
        return
    problems.add(
        line, f"step {step!r}: ${{{ref}}} is neither ${{inputs.NAME}} nor ${{steps.STEP.OUTPUT}}"
    )
