"""Flux canonical jobspec (RFC 14), written as version 1 (RFC 25) in YAML.

The request is ``node>slot>(core[,gpu])`` (or ``slot>...`` without nodes); a batch script
travels as ``attributes.system.files.script`` run by ``flux broker``, as ``flux batch``
does. Reading accepts that shape and plain commands, checked against the V1 rules first.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from datetime import datetime, timezone
from typing import Any, Callable

import yaml

from fractale.errors import TranslateError
from fractale.renamed import old_names
from fractale.transform import body as body_translation
from fractale.transform import units, yamltext
from fractale.transform.directives import DEFAULT_SHELL, normalize_script
from fractale.transform.managers.flux import Flux, FluxSubmitter
from fractale.transform.model import (
    COMPONENT_FIELDS,
    PROPERTY_NAME,
    BatchJob,
    field_names,
    is_default,
    type_problems,
    value_problems,
)
from fractale.transform.registry import Manager, register
from fractale.transform.report import Loss
from fractale.transform.submitter import Command

BATCH_COMMAND = ["flux", "broker", "{{tmpdir}}/script"]

# The version of a canonical jobspec beyond RFC 25's V1 (several top-level resources).
CANONICAL_VERSION = 9999

# Fields a V1 jobspec carries; every other non-default field is reported when writing.
CARRIED = frozenset({
    "name", "account", "queue", "nodes", "tasks", "tasks_per_node", "cpus_per_task",
    "gpus_per_task", "gpus_per_node", "export_env", "walltime", "begin", "output", "error",
    "input", "workdir", "environment",
    "exclusive", "constraints", "nodelist", "exclude", "dependencies", "shell", "script",
    "dialect", "components", "container_image",
})

_V1_RESOURCE_KEYS = {"type", "count", "unit", "with", "label", "exclusive"}


def v1_problems(doc: Any) -> list[str]:
    """Every way ``doc`` breaks the RFC 25 (jobspec V1) rules; empty when it is valid."""
    if not isinstance(doc, dict):
        return ["a jobspec is a mapping"]
    problems = []
    for key in ("version", "resources", "tasks", "attributes"):
        if key not in doc:
            problems.append(f"missing required key {key!r}")
    if problems:
        return problems
    if doc["version"] != 1:
        problems.append("version must be 1")
    resources = doc["resources"]
    if not isinstance(resources, list) or len(resources) != 1:
        return problems + ["resources must be a list of exactly one node or slot"]
    top = resources[0]
    slot = None
    if isinstance(top, dict) and top.get("type") == "node":
        problems += _vertex_problems(top, "resources[0]")
        children = top.get("with")
        if not isinstance(children, list) or len(children) != 1:
            problems.append("resources[0].with must hold exactly one slot")
        else:
            slot = children[0]
            if not isinstance(slot, dict) or slot.get("type") != "slot":
                problems.append("a node may only contain a slot")
                slot = None
    elif isinstance(top, dict) and top.get("type") == "slot":
        slot = top
    else:
        problems.append("the first resource must be a node or a slot")
    if slot is not None:
        problems += _vertex_problems(slot, "slot")
        if slot.get("exclusive") is not None:
            problems.append("only a node may be marked exclusive in V1")
        if not isinstance(slot.get("label"), str):
            problems.append("the slot needs a string label")
        inner = slot.get("with")
        types = [str(v.get("type")) for v in inner if isinstance(v, dict)] if isinstance(
            inner, list) else []
        if sorted(types) not in (["core"], ["core", "gpu"]):
            problems.append("a slot must contain a core, optionally with a gpu, and nothing else")
        for vertex in inner if isinstance(inner, list) else []:
            if isinstance(vertex, dict):
                problems += _vertex_problems(vertex, vertex.get("type", "?"))
                if "with" in vertex:
                    problems.append(f"{vertex.get('type')} cannot contain other resources")
    tasks = doc["tasks"]
    if not isinstance(tasks, list) or len(tasks) != 1 or not isinstance(tasks[0], dict):
        problems.append("tasks must be a list of exactly one task")
    else:
        task = tasks[0]
        if set(task) - {"command", "slot", "count"}:
            problems.append("a task holds only command, slot and count")
        command = task.get("command")
        if not (isinstance(command, list) and command and
                all(isinstance(w, str) for w in command)) and not isinstance(command, str):
            problems.append("task command must be a string or a non-empty list of strings")
        if slot is not None and task.get("slot") != slot.get("label"):
            problems.append("task slot must name the slot's label")
        count = task.get("count")
        if not isinstance(count, dict) or len(count) != 1:
            problems.append("task count must hold exactly one of per_slot or total")
        elif "per_slot" in count and count["per_slot"] != 1:
            problems.append("per_slot must be 1 in V1")
        elif "total" in count and not (isinstance(count["total"], int) and count["total"] >= 1):
            problems.append("total must be a positive integer")
        elif not ({"per_slot", "total"} & set(count)):
            problems.append("task count must hold per_slot or total")
    attributes = doc["attributes"]
    system = attributes.get("system") if isinstance(attributes, dict) else None
    if not isinstance(system, dict):
        problems.append("attributes.system is required")
    elif not isinstance(system.get("duration"), (int, float)) or isinstance(
            system.get("duration"), bool) or system["duration"] < 0:
        problems.append("attributes.system.duration is required: a number of seconds >= 0")
    if isinstance(attributes, dict) and set(attributes) - {"system", "user"}:
        problems.append("attributes holds only system and user")
    return problems


def _vertex_problems(vertex: dict[str, Any], where: str) -> list[str]:
    out = []
    extra = set(vertex) - _V1_RESOURCE_KEYS
    if extra:
        out.append(f"{where} has keys V1 does not allow: {', '.join(sorted(extra))}")
    if vertex.get("exclusive") is not None and vertex.get("type") != "node":
        if vertex.get("type") != "slot":
            out.append(f"{where}: only a node may be marked exclusive")
    count = vertex.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        out.append(f"{where}.count must be an integer >= 1")
    return out


def _epoch(begin: str) -> float | None:
    moment = units.absolute(begin)
    return None if moment is None else moment.replace(tzinfo=timezone.utc).timestamp()


def _constraints(spec: BatchJob, lose: Callable[[str, str], None]) -> dict[str, Any] | None:
    terms: list[dict[str, Any]] = []
    properties = []
    for constraint in spec.constraints:
        if PROPERTY_NAME.fullmatch(constraint):
            properties.append(constraint)
        else:
            lose("constraints", f"{constraint!r} is an expression, not a node property")
    if properties:
        terms.append({"properties": properties})
    if spec.nodelist:
        terms.append({"hostlist": list(spec.nodelist)})
    if spec.exclude:
        terms.append({"not": [{"hostlist": list(spec.exclude)}]})
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else {"and": terms}


def _read_constraints(node: Any, values: dict[str, Any], losses: list[Loss]) -> None:
    if not isinstance(node, dict):
        return
    for op, operand in node.items():
        if op == "properties":
            values.setdefault("constraints", []).extend(operand)
        elif op == "hostlist":
            values.setdefault("nodelist", []).extend(operand)
        elif op == "and":
            for term in operand:
                _read_constraints(term, values, losses)
        elif op == "not" and len(operand) == 1 and list(operand[0]) == ["hostlist"]:
            values.setdefault("exclude", []).extend(operand[0]["hostlist"])
        else:
            losses.append(Loss(f"constraint operator {op!r} is not in fractale's job model",
                               directive="attributes.system.constraints"))


@register
class FluxJobspecManager(Manager):
    name = "jobspec"
    description = "Flux canonical jobspec (YAML or JSON)"
    # A jobspec's batch script is a Flux batch script: Flux's variables and launcher.
    variables = Flux.variables
    launch = Flux.launch
    is_scheduler = False


    def claims(self, text: str) -> bool:
        doc = _load(text)
        return isinstance(doc, dict) and "resources" in doc and "tasks" in doc and (
            "version" in doc)

    # ---- writing

    def write(self, spec: BatchJob) -> tuple[str, list[Loss]]:
        losses: list[Loss] = []

        def lose(name: str, reason: str) -> None:
            losses.append(Loss(reason, field=name, stage="render"))

        slot_with: list[dict[str, Any]] = [{"type": "core", "count": spec.cpus_per_task or 1}]
        if spec.cpus_per_task == 1:
            lose("cpus_per_task", "one core per task is jobspec's least request and reads "
                                  "back as unset")
        count: dict[str, int] = {"per_slot": 1}
        slots = 1
        # Whole nodes with a number of tasks on each, as flux run -N N --tasks-per-node=K
        # asks: one slot per node, the tasks placed by the job shell's per-resource option.
        per_resource = (spec.exclusive and spec.nodes is not None
                        and spec.tasks_per_node is not None and spec.cpus_per_task is None
                        and spec.gpus_per_task is None
                        and spec.tasks in (None, spec.nodes * spec.tasks_per_node))
        if per_resource:
            if spec.tasks is not None:
                lose("tasks", "implied by nodes and tasks per node")
        elif spec.nodes is not None:
            if spec.tasks_per_node is not None:
                slots = spec.tasks_per_node
                if spec.tasks is not None and spec.tasks != spec.nodes * spec.tasks_per_node:
                    lose("tasks", "jobspec V1 cannot ask for fewer tasks than nodes x tasks "
                                  "per node")
                elif spec.tasks is not None:
                    lose("tasks", "implied by nodes and tasks per node")
            elif spec.tasks is None:
                lose("tasks_per_node", "a jobspec needs tasks; one per node is written")
            else:
                if spec.tasks < spec.nodes:
                    lose("tasks", "V1 needs at least one task per node")
                    lose("tasks_per_node", "one task per node is written")
                    slots = 1
                else:
                    slots = math.ceil(spec.tasks / spec.nodes)
                    count = {"total": spec.tasks}
        else:
            if spec.tasks_per_node is not None:
                lose("tasks_per_node", "needs a node count in jobspec V1")
            if spec.tasks is None:
                lose("tasks", "a jobspec needs a task count; one task is written")
            slots = spec.tasks or 1
        gpus = spec.gpus_per_task
        if gpus is None and spec.gpus_per_node is not None:
            if spec.nodes is not None and spec.gpus_per_node % slots == 0:
                gpus = spec.gpus_per_node // slots
                lose("gpus_per_node", f"written as {gpus} GPUs per task slot")
                lose("gpus_per_task", f"written as {gpus} GPUs per task slot")
            else:
                lose("gpus_per_node", "GPUs per node do not divide over the task slots")
        elif spec.gpus_per_node is not None:
            lose("gpus_per_node", "jobspec V1 counts GPUs per task slot only")
        if gpus:
            slot_with.append({"type": "gpu", "count": gpus})
        slot = {"type": "slot", "count": slots, "label": "task", "with": slot_with}
        if spec.nodes is not None:
            node: dict[str, Any] = {"type": "node", "count": spec.nodes, "with": [slot]}
            if spec.exclusive:
                node["exclusive"] = True
            resources = [node]
        else:
            if spec.exclusive:
                lose("exclusive", "only a node can be exclusive in jobspec V1")
            resources = [slot]
        system: dict[str, Any] = {"duration": spec.walltime or 0}
        if spec.name is not None:
            system["job"] = {"name": spec.name}
        if spec.account is not None:
            system["bank"] = spec.account
        if spec.queue is not None:
            system["queue"] = spec.queue
        if spec.container_image is not None:
            system["container_image"] = spec.container_image
        if spec.workdir is not None:
            system["cwd"] = spec.workdir
        if spec.environment:
            system["environment"] = dict(spec.environment)
        if spec.export_env is not None:
            lose("export_env", "a jobspec lists the environment it runs with; no policy")
        output: dict[str, Any] = {}
        for name, stream in (("output", "stdout"), ("error", "stderr")):
            path = getattr(spec, name)
            if path is None:
                continue
            if not _flux_path_ok(path):
                lose(name, f"{path!r} uses a placeholder Flux lacks")
                continue
            output[stream] = {"type": "file", "path": path}
        shell_options: dict[str, Any] = {}
        if output:
            shell_options["output"] = output
        if spec.input is not None:
            shell_options["input"] = {"stdin": {"type": "file", "path": spec.input}}
        if per_resource:
            shell_options["per-resource"] = {"type": "node", "count": spec.tasks_per_node}
        if shell_options:
            system["shell"] = {"options": shell_options}
        constraints = _constraints(spec, lose)
        if constraints is not None:
            system["constraints"] = constraints
        dependencies = []
        for dependency in spec.dependencies:
            kind, _, job = dependency.partition(":")
            if kind == "singleton":
                lose("dependencies", "Flux has no singleton dependency")
                continue
            dependencies.append({"scheme": kind, "value": job})
        if spec.begin is not None:
            epoch = _epoch(spec.begin)
            if epoch is None:
                lose("begin", "a jobspec needs an absolute begin time")
            else:
                dependencies.append({"scheme": "begin-time", "value": epoch})
        if dependencies:
            system["dependencies"] = dependencies
        script = body_translation.translate(spec.script, spec.dialect, self.name, losses)
        shebang = f"#!{spec.shell or DEFAULT_SHELL}\n"
        system["files"] = {"script": {"mode": 0o755, "encoding": "utf-8",
                                      "data": shebang + script}}
        for name in field_names():
            if name not in CARRIED and not is_default(name, getattr(spec, name)):
                lose(name, f"a jobspec has no place for {name}")
        doc = {
            "version": 1,
            "resources": resources,
            "tasks": [{"command": list(BATCH_COMMAND), "slot": "task", "count": count}],
            "attributes": {"system": system},
        }
        if spec.components:
            self._write_components(spec.components, doc, lose)
        return yamltext.dump(doc), losses

    def _write_components(self, components: list[dict[str, Any]], doc: dict[str, Any],
                          lose: Callable[[str, str], None]) -> None:
        """A heterogeneous job: each further component is one more top-level resource with
        its own task slot, a canonical jobspec beyond V1 (RFC 14; ``version: 9999`` as
        Fluxion writes such jobspecs)."""
        doc["version"] = CANONICAL_VERSION
        for number, component in enumerate(components, start=1):
            text, losses = self.write(BatchJob(**component))
            part = yamltext.load(text)
            resource, task = part["resources"][0], part["tasks"][0]
            slot = resource["with"][0] if resource["type"] == "node" else resource
            slot["label"] = task["slot"] = f"task{number}"
            doc["resources"].append(resource)
            doc["tasks"].append(task)
            for loss in losses:
                if loss.field in COMPONENT_FIELDS:
                    lose("components", f"component {number}: {loss.field}: {loss.reason}")
            for name in ("queue", "gpu_type", "memory_per_node", "memory_per_cpu",
                         "constraints", "nodelist"):
                if component.get(name):
                    lose("components", f"component {number}: a jobspec sets {name} for the "
                                       "whole job")

    # ---- reading

    def read(self, text: str, file: str | None = None) -> tuple[BatchJob, list[Loss]]:
        doc = _load(text)
        if doc is None:
            raise TranslateError(f"{file or '<input>'}: not YAML or JSON", file=file,
                                 expected="a jobspec document")
        components = _split_components(doc)
        problems = v1_problems(doc) + [problem for part in components
                                       for problem in v1_problems(part)]
        if problems:
            raise TranslateError(f"{file or '<input>'}: not a valid version 1 jobspec: "
                                 + "; ".join(problems), file=file,
                                 expected="a jobspec following RFC 25")
        try:
            spec, losses = self._read_valid(doc)
            for part in components:
                read, _ = self._read_valid(part)
                spec.components.append({name: getattr(read, name) for name in COMPONENT_FIELDS
                                        if not is_default(name, getattr(read, name))})
            return spec, losses
        except (TypeError, ValueError, KeyError, AttributeError) as err:
            raise TranslateError(f"{file or '<input>'}: malformed jobspec attribute: {err}",
                                 file=file, expected="attributes as RFC 14 defines them") from None

    def _read_valid(self, doc: dict[str, Any]) -> tuple[BatchJob, list[Loss]]:
        losses: list[Loss] = []
        values: dict[str, Any] = {}
        top = doc["resources"][0]
        slot = top["with"][0] if top["type"] == "node" else top
        count = doc["tasks"][0]["count"]
        if top["type"] == "node":
            values["nodes"] = top["count"]
            if top.get("exclusive"):
                values["exclusive"] = True
            if "per_slot" in count:
                values["tasks_per_node"] = slot["count"]
        elif "per_slot" in count:
            values["tasks"] = slot["count"]
        if "total" in count:
            values["tasks"] = count["total"]
            nodes = top["count"] if top["type"] == "node" else 1
            if slot["count"] != math.ceil(count["total"] / nodes):
                losses.append(Loss(f"{slot['count']} slots for {count['total']} tasks: the "
                                   "model holds the tasks, not spare slots",
                                   directive="resources.slot.count"))
        for vertex in slot["with"]:
            if vertex["type"] == "core" and vertex["count"] > 1:
                values["cpus_per_task"] = vertex["count"]
            elif vertex["type"] == "gpu":
                values["gpus_per_task"] = vertex["count"]
        system = doc["attributes"].get("system", {})
        for key, value in system.items():
            self._read_system(key, value, values, losses)
        for key in doc["attributes"].get("user", {}) or {}:
            losses.append(Loss("user attribute not in fractale's job model",
                               directive=f"attributes.user.{key}"))
        command = doc["tasks"][0]["command"]
        files = system.get("files", {}) if isinstance(system.get("files"), dict) else {}
        script_file = files.get("script", {}) if isinstance(files, dict) else {}
        if list(command) == BATCH_COMMAND and isinstance(script_file.get("data"), str):
            data = script_file["data"]
            lines = data.split("\n")
            if lines and lines[0].startswith("#!"):
                values["shell"] = lines[0][2:].strip() or DEFAULT_SHELL
                lines = lines[1:]
            values["script"] = normalize_script("\n".join(lines))
        else:
            words = shlex.split(command) if isinstance(command, str) else list(command)
            layout = []
            for flag, name in (("-N", "nodes"), ("-n", "tasks"),
                               ("--tasks-per-node", "tasks_per_node"),
                               ("-c", "cpus_per_task"), ("-g", "gpus_per_task")):
                if name in values:
                    layout.append(f"{flag} {values[name]}")
            values["script"] = normalize_script(" ".join(["flux run", *layout,
                                                          shlex.join(words)]))
        values["dialect"] = self.name
        problems = type_problems(values) or value_problems(values)
        if problems:
            raise ValueError("; ".join(problems))
        return BatchJob(**values), losses

    def _read_system(self, key: str, value: Any, values: dict[str, Any],
                     losses: list[Loss]) -> None:
        where = f"attributes.system.{key}"
        if key == "duration":
            if value:
                values["walltime"] = math.ceil(value)
        elif key == "job" and isinstance(value, dict) and "name" in value:
            values["name"] = str(value["name"])
        elif key == "bank":
            values["account"] = str(value)
        elif key == "queue":
            values["queue"] = str(value)
        elif key == "container_image" and isinstance(value, str) and value.strip():
            values["container_image"] = value.strip()
        elif key == "cwd":
            values["workdir"] = str(value)
        elif key == "environment" and isinstance(value, dict):
            values["environment"] = {str(k): str(v) for k, v in value.items()}
        elif key == "constraints":
            _read_constraints(value, values, losses)
        elif key == "dependencies" and isinstance(value, list):
            for dependency in value:
                scheme = dependency.get("scheme")
                if scheme == "begin-time":
                    moment = datetime.fromtimestamp(float(dependency["value"]), tz=timezone.utc)
                    values["begin"] = units.iso(moment.replace(tzinfo=None))
                elif scheme in ("after", "afterok", "afternotok", "afterany"):
                    values.setdefault("dependencies", []).append(
                        f"{scheme}:{dependency.get('value')}")
                else:
                    losses.append(Loss(f"dependency scheme {scheme!r} is not in fractale's "
                                       "job model", directive=where))
        elif key == "shell" and isinstance(value, dict):
            options = value.get("options", {})
            for name, option in (options or {}).items():
                if name == "output" and isinstance(option, dict):
                    for stream, field in (("stdout", "output"), ("stderr", "error")):
                        if isinstance(option.get(stream), dict) and "path" in option[stream]:
                            values[field] = option[stream]["path"]
                elif (name == "per-resource" and isinstance(option, dict)
                      and option.get("type") == "node" and "nodes" in values
                      and isinstance(option.get("count"), int)):
                    values["tasks_per_node"] = option["count"]
                    values.pop("tasks", None)
                elif name == "input" and isinstance(option, dict):
                    stdin = option.get("stdin", {})
                    if isinstance(stdin, dict) and "path" in stdin:
                        values["input"] = stdin["path"]
                else:
                    losses.append(Loss("shell option not in fractale's job model",
                                       directive=f"{where}.options.{name}"))
        elif key == "files":
            extra = [name for name in value if name != "script"] if isinstance(value, dict) else []
            for name in extra:
                losses.append(Loss("staged file not in fractale's job model",
                                   directive=f"{where}.{name}"))
        else:
            losses.append(Loss("system attribute not in fractale's job model", directive=where))


def _split_components(doc: Any) -> list[dict[str, Any]]:
    """A canonical jobspec of several top-level resources, each with its own task: ``doc``
    keeps the first (as a V1 jobspec), the others are returned as V1 jobspecs of their own
    (a heterogeneous job's further components)."""
    if not isinstance(doc, dict) or doc.get("version") == 1:
        return []
    resources, tasks = doc.get("resources"), doc.get("tasks")
    if not (isinstance(resources, list) and isinstance(tasks, list)
            and len(resources) == len(tasks) > 1):
        return []
    doc["version"] = 1
    parts = [{"version": 1, "resources": [resource], "tasks": [task],
              "attributes": {"system": {"duration": 0}}}
             for resource, task in zip(resources[1:], tasks[1:])]
    doc["resources"], doc["tasks"] = resources[:1], tasks[:1]
    return parts


def _flux_path_ok(path: str) -> bool:
    return all(name in ("id", "name") for name in re.findall(r"\{\{(\w+)\}\}", path))


def _load(text: str) -> Any:
    stripped = text.lstrip()
    if not stripped or stripped.startswith("#!"):
        return None
    try:
        if stripped.startswith("{"):
            return json.loads(text)
        return yamltext.load(text)
    except (ValueError, yaml.YAMLError, RecursionError):
        # RecursionError: a document nested deeper than the readers follow is no jobspec.
        return None


# Submitting ------------------------------------------------------------------------------


class FluxJobspecSubmitter(FluxSubmitter):
    """A canonical jobspec goes to Flux as JSON through ``flux job submit``; it is followed
    and cancelled as a Flux job, and its output, kept by Flux, is read with
    ``flux job attach --read-only``."""

    suffix = ".json"
    default_outputs = ()

    def prepare(self, text, hold):
        return json.dumps(_load(text), indent=2) + "\n"

    def submit_command(self, script, hold):
        return Command(["flux", "job", "submit", *(["--urgency=hold"] if hold else []), script])

    def logs_command(self, job_id):
        return ["flux", "job", "attach", "--read-only", job_id]


FluxJobspecManager.submitter = FluxJobspecSubmitter

# Old names kept for one release.
__getattr__ = old_names(__name__, {"Jobspec": "FluxJobspecManager",
                                   "JobspecSubmitter": "FluxJobspecSubmitter"})
