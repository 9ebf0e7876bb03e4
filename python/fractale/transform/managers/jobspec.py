"""Flux canonical jobspec (RFC 14), written as version 1 (RFC 25) in YAML.

The request is ``node>slot>(core[,gpu])`` (or ``slot>...`` without nodes); a batch script
travels as ``attributes.system.files.script`` run by ``flux broker``, as ``flux batch``
does. Reading leaves validation to the core (``fractale.Jobspec``, the one RFC 14/25
checker), reading version 1 as Flux runs it (RFC 14 alone, so levels such as sockets are
accepted), and maps what it accepted: levels between a node and its slot, or inside the
slot, multiply the counts below them and are reported as lost.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from datetime import datetime, timezone
from typing import Any, Callable

import yaml

from fractale.errors import JobspecError, TranslateError
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
        doc, losses = self.document(spec)
        return yamltext.dump(doc), losses

    def document(self, spec: BatchJob) -> tuple[dict[str, Any], list[Loss]]:
        """The canonical jobspec of ``spec`` as a document (what ``write`` dumps as YAML),
        and what it could not carry."""
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
        dependencies: list[dict[str, Any]] = []
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
        return doc, losses

    def _write_components(self, components: list[dict[str, Any]], doc: dict[str, Any],
                          lose: Callable[[str, str], None]) -> None:
        """A heterogeneous job: each further component is one more top-level resource with
        its own task slot, a canonical jobspec beyond V1 (RFC 14; ``version: 9999`` as
        Fluxion writes such jobspecs)."""
        doc["version"] = CANONICAL_VERSION
        for number, component in enumerate(components, start=1):
            part, losses = self.document(BatchJob(**component))
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
        from fractale._core import Jobspec as Canonical

        try:
            canonical = Canonical.from_str(text, file, strict=False)
        except JobspecError as err:
            raise TranslateError(f"not a valid jobspec: {err}", file=file,
                                 expected="a canonical jobspec (RFC 14)") from None
        return self.read_document(canonical.to_dict(), file)

    def read_document(self, doc: dict[str, Any],
                      file: str | None = None) -> tuple[BatchJob, list[Loss]]:
        """Map a jobspec document the core has validated (``fractale.Jobspec.to_dict()``)."""
        components = _split_components(doc)
        try:
            spec, losses = self._read_valid(doc)
            for part in components:
                read, _ = self._read_valid(part)
                spec.components.append({name: getattr(read, name) for name in COMPONENT_FIELDS
                                        if not is_default(name, getattr(read, name))})
            return spec, losses
        except _Unmapped as err:
            raise TranslateError(f"{file or '<input>'}: {err}", file=file,
                                 expected="a request fractale's job model holds: "
                                          "[node>]slot>core[,gpu], one task") from None
        except (TypeError, ValueError, KeyError, AttributeError) as err:
            raise TranslateError(f"{file or '<input>'}: malformed jobspec attribute: {err}",
                                 file=file, expected="attributes as RFC 14 defines them") from None

    def _read_valid(self, doc: dict[str, Any]) -> tuple[BatchJob, list[Loss]]:
        losses: list[Loss] = []
        values: dict[str, Any] = {}
        if len(doc["resources"]) != 1 or len(doc["tasks"]) != 1:
            raise _Unmapped("one top-level resource and one task are what a job holds here")
        top = doc["resources"][0]
        node, slots, slot = _node_and_slot(top, losses)
        count = doc["tasks"][0]["count"]
        if "per_resource" in count:
            raise _Unmapped("tasks counted per resource are not in fractale's job model")
        if node is not None:
            values["nodes"] = _count(node, losses)
            if node.get("exclusive"):
                values["exclusive"] = True
            if "per_slot" in count:
                values["tasks_per_node"] = slots * count["per_slot"]
        elif "per_slot" in count:
            values["tasks"] = slots * count["per_slot"]
        if "total" in count:
            values["tasks"] = count["total"]
            nodes = values.get("nodes", 1)
            if slots != math.ceil(count["total"] / nodes):
                losses.append(Loss(f"{slots} slots for {count['total']} tasks: the "
                                   "model holds the tasks, not spare slots",
                                   directive="resources.slot.count"))
        cores, gpus = _per_slot(slot.get("with", []), losses)
        if cores > 1:
            values["cpus_per_task"] = cores
        if gpus:
            values["gpus_per_task"] = gpus
        attributes = doc.get("attributes") or {}
        system = attributes.get("system") or {}
        for key, value in system.items():
            self._read_system(key, value, values, losses)
        for key in attributes.get("user") or {}:
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


class _Unmapped(ValueError):
    """A valid jobspec whose request fractale's job model cannot hold."""


def _count(vertex: dict[str, Any], losses: list[Loss]) -> int:
    """A resource's count; a range is read as its least, and reported."""
    count = vertex["count"]
    if isinstance(count, dict):
        losses.append(Loss(f"a {vertex['type']} count range is read as its least, "
                           f"{count['min']}", directive=f"resources.{vertex['type']}.count"))
        return int(count["min"])
    return int(count)


def _node_and_slot(top: dict[str, Any], losses: list[Loss]
                   ) -> tuple[dict[str, Any] | None, int, dict[str, Any]]:
    """The node level (if any), how many slots each node (or the job) holds, and the slot:
    levels between the node and the slot (sockets, say) multiply the slots, and are lost."""
    if top["type"] == "slot":
        return None, _count(top, losses), top
    if top["type"] != "node":
        raise _Unmapped(f"a request opening with {top['type']!r} is not [node>]slot")
    slots, vertex = 1, top
    while True:
        children = vertex.get("with") or []
        if len(children) != 1:
            raise _Unmapped(f"the {vertex['type']} holds {len(children)} kinds of resources; "
                            "between a node and its slot each level holds one")
        vertex = children[0]
        if vertex["type"] == "slot":
            return top, slots * _count(vertex, losses), vertex
        slots *= _count(vertex, losses)
        losses.append(Loss(f"the {vertex['type']} level between node and slot is not in "
                           "fractale's job model: its count multiplies the tasks per node",
                           directive=f"resources.{vertex['type']}"))


def _per_slot(level: list[dict[str, Any]], losses: list[Loss],
              factor: int = 1) -> tuple[int, int]:
    """Cores and GPUs a task slot holds: levels inside it (sockets, say) multiply the counts
    below them and are reported as lost, as are other leaf resources (memory, say)."""
    cores = gpus = 0
    for vertex in level:
        count = factor * _count(vertex, losses)
        if vertex["type"] in ("core", "gpu"):
            if vertex["type"] == "core":
                cores += count
            else:
                gpus += count
            for inner in vertex.get("with") or []:
                losses.append(Loss(f"{inner['type']} inside a {vertex['type']} is not in "
                                   "fractale's job model",
                                   directive=f"resources.slot.{vertex['type']}.{inner['type']}"))
        elif vertex.get("with"):
            losses.append(Loss(f"the {vertex['type']} level inside a task slot is not in "
                               "fractale's job model: its count multiplies what it holds",
                               directive=f"resources.slot.{vertex['type']}"))
            below = _per_slot(vertex["with"], losses, count)
            cores, gpus = cores + below[0], gpus + below[1]
        else:
            losses.append(Loss(f"{count} {vertex['type']} per task slot is not in fractale's "
                               "job model", directive=f"resources.slot.{vertex['type']}"))
    return cores, gpus


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
