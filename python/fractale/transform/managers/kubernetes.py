"""Kubernetes ``batch/v1`` Job manifests: one pod running the script in a container.

Names become DNS-1123 labels; the queue is a Kueue queue label, GPUs are
``nvidia.com/gpu`` limits with the model as a node selector, host lists are node affinity,
and an array is an Indexed Job. What a Job cannot say (mail, dependencies, output files,
several nodes) is reported.

The image is the job's (Flux ``--setattr=container_image``, Slurm ``--container-image``,
a jobspec's ``system.container_image``), else the one a ``singularity exec``,
``apptainer exec`` or ``podman run`` line of the script runs, whose command then runs in
the pod directly. The pod requests what one node of the job holds: the CPUs of its tasks
(tasks per node × CPUs per task), its GPUs and its memory.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

import yaml

from fractale.errors import TranslateError
from fractale.transform import body as body_translation
from fractale.transform import launchers, units, yamltext
from fractale.transform.directives import DEFAULT_SHELL, normalize_script
from fractale.transform.model import (
    BatchJob,
    field_names,
    is_default,
    type_problems,
    value_problems,
)
from fractale.transform.registry import Manager, register
from fractale.transform.report import Loss
from fractale.transform.submitter import Command, Status, Submitter, first_match

DEFAULT_IMAGE = "ubuntu:24.04"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
GPU_RESOURCE = "nvidia.com/gpu"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"
HOST_LABEL = "kubernetes.io/hostname"
CONTAINER = "job"
RETRIES = 6

CARRIED = frozenset({
    "name", "queue", "nodes", "tasks", "cpus_per_task", "gpus_per_node", "gpu_type",
    "memory_per_node", "walltime", "workdir", "environment", "constraints", "qos", "array",
    "requeue", "nodelist", "exclude", "container_image", "shell", "script", "dialect",
    "tasks_per_node", "gpus_per_task", "memory_per_cpu",
})

_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def dns1123_label(value: str) -> str:
    """A name Kubernetes accepts: lowercase letters, digits and '-', at most 63 long."""
    name = re.sub(r"[^a-z0-9-]+", "-", value.lower())
    name = name.strip("-")[:63].strip("-")
    return name or "job"


def label_value(value: str) -> str:
    """A label value: letters, digits, '-', '_' and '.', starting and ending alphanumeric."""
    cleaned = _LABEL_UNSAFE.sub("-", value)[:63]
    return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", cleaned) or "default"


def _quantity_mib(text: str) -> int:
    """A Kubernetes memory quantity (``4Gi``, ``512Mi``, ``1G``, ``1048576``) in MiB."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGTP]i?|[kE]|)", str(text).strip())
    if not match:
        raise ValueError(f"expected a memory quantity such as 4Gi, got {text!r}")
    number, suffix = float(match.group(1)), match.group(2)
    binary = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}
    decimal = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15}
    factor = binary.get(suffix) or decimal.get(suffix)
    if factor is None:
        raise ValueError(f"unsupported memory unit in {text!r}")
    return max(1, round(number * factor / 2**20))


def _cpu_count(text: Any) -> int:
    value = str(text).strip()
    if value.endswith("m"):
        return max(1, -(-int(value[:-1]) // 1000))
    return max(1, int(float(value)))


def _tasks_per_node(spec: BatchJob) -> int:
    """How many of the job's tasks one node (the pod) holds."""
    if spec.tasks_per_node is not None:
        return spec.tasks_per_node
    if spec.tasks is not None:
        return -(-spec.tasks // (spec.nodes or 1))
    return 1


def _memory(mib: int) -> str:
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"


def _requests(spec: BatchJob, per_pod: int) -> dict[str, str]:
    """What one node of the job holds, as the pod's resource requests."""
    out: dict[str, str] = {}
    cpus = None
    if spec.cpus_per_task is not None or spec.tasks is not None or spec.tasks_per_node:
        cpus = per_pod * (spec.cpus_per_task or 1)
        out["cpu"] = str(cpus)
    if spec.memory_per_node is not None:
        out["memory"] = _memory(spec.memory_per_node)
    elif spec.memory_per_cpu is not None:
        out["memory"] = _memory(spec.memory_per_cpu * (cpus or 1))
    if spec.gpus_per_node is not None:
        out[GPU_RESOURCE] = str(spec.gpus_per_node)
    elif spec.gpus_per_task is not None:
        out[GPU_RESOURCE] = str(spec.gpus_per_task * per_pod)
    return out


def _geometry_losses(spec: BatchJob, per_pod: int, requests: dict[str, str], lose) -> None:
    """Report the layout fields a pod holds only as its requests."""
    share = f" of the {spec.nodes}" if spec.nodes and spec.nodes > 1 else ""
    if spec.nodes is not None:
        lose("nodes", f"a Job's pod runs on one node; it requests one node's share{share}")
    for name in ("tasks", "tasks_per_node"):
        if getattr(spec, name) is not None:
            lose(name, f"the pod requests CPUs for the {per_pod} task(s) of one node; "
                       "starting them is the script's (an MPI launcher's) work")
    cpu = requests.get("cpu")
    if cpu is not None and str(spec.cpus_per_task) != cpu:
        lose("cpus_per_task", f"written as the pod's cpu request {cpu} "
                              f"({per_pod} tasks × {spec.cpus_per_task or 1} CPUs)")
    if spec.memory_per_cpu is not None:
        folded = ("memory_per_cpu",) if spec.memory_per_node else ("memory_per_cpu",
                                                                   "memory_per_node")
        for name in folded:
            lose(name, f"the pod's memory request is {requests['memory']} "
                       "(memory per node, else memory per CPU × its CPUs)")
    if spec.gpus_per_task is not None:
        folded = ("gpus_per_task",) if spec.gpus_per_node else ("gpus_per_task",
                                                                "gpus_per_node")
        for name in folded:
            lose(name, f"the pod requests {requests[GPU_RESOURCE]} GPUs "
                       "(GPUs per node, else GPUs per task × its tasks)")


# Container runners a script may wrap its program in: (program, subcommand) -> options of
# theirs that take a value (the others are flags).
_RUNNERS: dict[tuple[str, str], frozenset[str]] = {
    ("singularity", "exec"): frozenset({
        "-B", "--bind", "--env", "--env-file", "-H", "--home", "--pwd", "-W", "--workdir",
        "-o", "--overlay", "--app", "--network", "--security", "--mount", "--scratch", "-S",
    }),
    ("podman", "run"): frozenset({
        "-v", "--volume", "-e", "--env", "--env-file", "-w", "--workdir", "--name",
        "--network", "--entrypoint", "-u", "--user", "--gpus", "--device", "--mount",
        "--platform", "--pull", "--cpus", "-m", "--memory", "--security-opt", "--ipc",
        "--shm-size", "-p", "--publish", "-h", "--hostname", "-l", "--label", "--userns",
        "--cap-add", "--cap-drop", "--group-add", "--tmpfs", "--ulimit", "--hooks-dir",
    }),
}
_RUNNERS[("apptainer", "exec")] = _RUNNERS[("singularity", "exec")]


def _container_line(line: str) -> tuple[str, list[str], list[str]] | None:
    """(image, the runner's options, the command) of a line that runs a command in a
    container image a Kubernetes pod can run, or None."""
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        return None
    if len(words) < 3 or (words[0], words[1]) not in _RUNNERS:
        return None
    takes_value = _RUNNERS[(words[0], words[1])]
    i, options = 2, []
    while i < len(words) and words[i].startswith("-"):
        options.append(words[i])
        if words[i] in takes_value and i + 1 < len(words):
            options.append(words[i + 1])
            i += 1
        i += 1
    if i >= len(words) - 1:
        return None  # no image, or no command to run in it
    image, command = words[i], words[i + 1:]
    if words[0] != "podman":
        # Singularity runs registry images as docker://; library://, oras:// and .sif
        # files are not images a pod can pull.
        if not image.startswith("docker://"):
            return None
        image = image[len("docker://"):]
    return image, options, command


def _logical_lines(script: str) -> list[str]:
    """The script's lines, a line ending in a backslash joined with the next."""
    out: list[str] = []
    for line in script.splitlines(keepends=True):
        if out and out[-1].rstrip("\n").endswith("\\"):
            out[-1] += line
        else:
            out.append(line)
    return out


def _image_from_body(
    script: str, image: str | None, losses: list[Loss]
) -> tuple[str | None, str]:
    """The job's image, and its script with the lines that ran a command in that image
    turned into the command itself (the pod is that container)."""
    out = []
    for line in _logical_lines(script):
        found = _container_line(line.rstrip("\n").replace("\\\n", " "))
        if found is None:
            out.append(line)
            continue
        wanted, options, command = found
        if image is None:
            image = wanted
        if wanted != image:
            losses.append(Loss(f"runs a second image ({wanted}); the pod runs {image}",
                               directive=line.strip(), stage="render"))
            out.append(line)
            continue
        if options:
            losses.append(Loss(f"container options {shlex.join(options)} are not carried "
                               "into the pod", directive=line.strip(), stage="render"))
        indent = line[: len(line) - len(line.lstrip())]
        out.append(indent + shlex.join(command) + ("\n" if line.endswith("\n") else ""))
    return image, "".join(out)


@register
class Kubernetes(Manager):
    name = "kubernetes"
    description = "Kubernetes batch/v1 Job manifest"
    variables = {"array_index": "JOB_COMPLETION_INDEX"}
    launch = launchers.LaunchWriter(launchers.write_mpirun(None),
                                    ("nodes", "cpus_per_task", "gpus_per_task"), mpmd=True)


    def claims(self, text: str) -> bool:
        return any(isinstance(doc, dict) and doc.get("kind") == "Job" and
                   str(doc.get("apiVersion", "")).startswith("batch/")
                   for doc in _documents(text))

    # ---- writing

    def write(self, spec: BatchJob) -> tuple[str, list[Loss]]:
        losses: list[Loss] = []

        def lose(name: str, reason: str) -> None:
            losses.append(Loss(reason, field=name, stage="render"))

        name = dns1123_label(spec.name or "fractale-job")
        if spec.name is None:
            lose("name", f"a Job needs a name; written as {name!r}")
        elif name != spec.name:
            lose("name", f"name {spec.name!r} written as {name!r} (DNS-1123)")
        metadata: dict[str, Any] = {"name": name}
        if spec.queue is not None:
            queue = label_value(spec.queue)
            if queue != spec.queue:
                lose("queue", f"queue {spec.queue!r} written as label value {queue!r}")
            metadata["labels"] = {QUEUE_LABEL: queue}
        per_pod = _tasks_per_node(spec)
        command = shlex.split(spec.shell or DEFAULT_SHELL) + ["-c"]
        image, body = _image_from_body(spec.script, spec.container_image, losses)
        if image is not None and spec.container_image is None:
            lose("container_image", f"the pod runs {image}, the image the script ran its "
                                    "command in")
        script = body_translation.translate(body, spec.dialect, self.name, losses)
        container: dict[str, Any] = {
            "name": CONTAINER,
            "image": image or DEFAULT_IMAGE,
            "command": command + [script],
        }
        if spec.workdir is not None:
            container["workingDir"] = spec.workdir
        if spec.environment:
            container["env"] = [{"name": k, "value": v} for k, v in spec.environment.items()]
        limits = _requests(spec, per_pod)
        _geometry_losses(spec, per_pod, limits, lose)
        if limits:
            container["resources"] = {"requests": dict(limits), "limits": limits}
        pod: dict[str, Any] = {"restartPolicy": "Never", "containers": [container]}
        selector: dict[str, str] = {}
        for constraint in spec.constraints:
            key, eq, value = constraint.partition("=")
            if eq and key in selector:
                lose("constraints", f"{constraint!r}: a node selector holds one value per label")
            elif eq and key and label_value(value) == value:
                selector[key] = value
            else:
                lose("constraints", f"{constraint!r} is not a key=value node label")
        if spec.gpu_type is not None:
            selector[GPU_PRODUCT_LABEL] = label_value(spec.gpu_type)
            if selector[GPU_PRODUCT_LABEL] != spec.gpu_type:
                lose("gpu_type", f"GPU type written as label {selector[GPU_PRODUCT_LABEL]!r}")
        if selector:
            pod["nodeSelector"] = selector
        terms = []
        if spec.nodelist:
            terms.append({"key": HOST_LABEL, "operator": "In", "values": list(spec.nodelist)})
        if spec.exclude:
            terms.append({"key": HOST_LABEL, "operator": "NotIn",
                          "values": list(spec.exclude)})
        if terms:
            pod["affinity"] = {"nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": terms}]}}}
        if spec.qos is not None:
            pod["priorityClassName"] = dns1123_label(spec.qos)
            if pod["priorityClassName"] != spec.qos:
                lose("qos", f"QoS written as priority class {pod['priorityClassName']!r}")
        job: dict[str, Any] = {}
        if spec.walltime is not None:
            job["activeDeadlineSeconds"] = spec.walltime
        if spec.requeue is not None:
            job["backoffLimit"] = RETRIES if spec.requeue else 0
        if spec.array is not None:
            ranges, limit = units.array_parts(spec.array)
            if len(ranges) == 1 and ranges[0][0] == 0 and ranges[0][2] == 1:
                job["completionMode"] = "Indexed"
                job["completions"] = ranges[0][1] + 1
                job["parallelism"] = limit or ranges[0][1] + 1
            else:
                lose("array", f"an Indexed Job runs indexes 0..N-1, not {spec.array}")
        job["template"] = {"spec": pod}
        for field in field_names():
            if field not in CARRIED and not is_default(field, getattr(spec, field)):
                lose(field, f"a Kubernetes Job has no place for {field}")
        manifest = {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": job}
        return yamltext.dump(manifest), losses

    # ---- reading

    def read(self, text: str, file: str | None = None) -> tuple[BatchJob, list[Loss]]:
        docs = [doc for doc in _documents(text) if isinstance(doc, dict)]
        jobs = [doc for doc in docs if doc.get("kind") == "Job"]
        if not jobs:
            raise TranslateError(f"{file or '<input>'}: no batch/v1 Job in the manifest",
                                 file=file, expected="a Kubernetes Job manifest")
        losses: list[Loss] = []
        for doc in docs:
            if doc is not jobs[0]:
                losses.append(Loss(f"{doc.get('kind', 'document')} beside the Job is not "
                                   "translated", directive=str(doc.get("kind"))))
        manifest = jobs[0]
        values: dict[str, Any] = {}
        try:
            self._read_job(manifest, values, losses)
        except (TypeError, ValueError, KeyError, AttributeError) as err:
            raise TranslateError(f"{file or '<input>'}: malformed Job manifest: {err}",
                                 file=file, expected="a batch/v1 Job") from None
        values["dialect"] = self.name
        problems = type_problems(values) or value_problems(values)
        if problems:
            raise TranslateError(f"{file or '<input>'}: malformed Job manifest: "
                                 + "; ".join(problems), file=file, expected="a batch/v1 Job")
        return BatchJob(**values), losses

    def _read_job(self, manifest: dict[str, Any], values: dict[str, Any],
                  losses: list[Loss]) -> None:
        def lose(where: str, reason: str = "not in fractale's job model") -> None:
            losses.append(Loss(reason, directive=where))

        metadata = manifest.get("metadata") or {}
        if "name" in metadata:
            values["name"] = metadata["name"]
        for key, value in (metadata.get("labels") or {}).items():
            if key == QUEUE_LABEL:
                values["queue"] = value
            else:
                lose(f"metadata.labels.{key}")
        for key in metadata:
            if key not in ("name", "labels", "namespace"):
                lose(f"metadata.{key}")
        if "namespace" in metadata:
            lose("metadata.namespace", "namespaces are not in fractale's job model")
        job = manifest.get("spec") or {}
        for key, value in job.items():
            if key == "activeDeadlineSeconds":
                values["walltime"] = int(value)
            elif key == "backoffLimit":
                values["requeue"] = int(value) > 0
                if int(value) not in (0, RETRIES):
                    lose("spec.backoffLimit", f"{value} retries: the model keeps whether a "
                                              "failed job is retried, not how often")
            elif key == "completionMode":
                if value not in ("Indexed", "NonIndexed"):
                    lose("spec.completionMode", f"completion mode {value} is not in "
                                                "fractale's job model")
            elif key in ("completions", "parallelism", "template"):
                continue
            else:
                lose(f"spec.{key}")
        _read_completions(job, values, lose)
        pod = (job.get("template") or {}).get("spec") or {}
        containers = pod.get("containers") or []
        if not containers:
            raise ValueError("the pod template has no container")
        if len(containers) > 1:
            lose("spec.template.spec.containers", "only the first container is translated")
        for key, value in pod.items():
            if key == "nodeSelector":
                for label, setting in value.items():
                    if label == GPU_PRODUCT_LABEL:
                        values["gpu_type"] = setting
                    else:
                        values.setdefault("constraints", []).append(f"{label}={setting}")
            elif key == "affinity":
                self._read_affinity(value, values, lose)
            elif key == "priorityClassName":
                values["qos"] = value
            elif key in ("containers", "restartPolicy"):
                continue
            else:
                lose(f"spec.template.spec.{key}")
        container = containers[0]
        for key, value in container.items():
            if key == "image":
                if value != DEFAULT_IMAGE:
                    values["container_image"] = value
            elif key == "workingDir":
                values["workdir"] = value
            elif key == "env":
                for item in value:
                    if "value" in item:
                        values.setdefault("environment", {})[item["name"]] = str(item["value"])
                    else:
                        lose(f"env.{item.get('name')}", "a variable taken from a source")
            elif key == "resources":
                self._read_resources(value, values, lose)
            elif key in ("name", "command", "args"):
                continue
            else:
                lose(f"spec.template.spec.containers[0].{key}")
        words = list(container.get("command") or []) + list(container.get("args") or [])
        # A shell, with its options or behind env (``/usr/bin/env bash``), running "-c" script.
        if (len(words) >= 3 and words[-2] == "-c"
                and any(word.rsplit("/", 1)[-1].endswith("sh") for word in words[:-2])):
            values["shell"] = " ".join(words[:-2])
            script = words[-1]
        else:
            script = shlex.join(words) if words else ""
            if not words:
                lose("containers[0].command", "the image's own entry point runs; no script")
        values["script"] = normalize_script(script)

    def _read_affinity(self, value: Any, values: dict[str, Any], lose) -> None:
        node = (value or {}).get("nodeAffinity") or {}
        required = node.get("requiredDuringSchedulingIgnoredDuringExecution") or {}
        for term in required.get("nodeSelectorTerms") or []:
            for expression in term.get("matchExpressions") or []:
                if expression.get("key") == HOST_LABEL and expression.get("operator") == "In":
                    values.setdefault("nodelist", []).extend(expression.get("values") or [])
                elif (expression.get("key") == HOST_LABEL and
                      expression.get("operator") == "NotIn"):
                    values.setdefault("exclude", []).extend(expression.get("values") or [])
                else:
                    lose("affinity", "a node affinity rule other than host names")
        for key in value or {}:
            if key != "nodeAffinity":
                lose(f"affinity.{key}")

    def _read_resources(self, value: Any, values: dict[str, Any], lose) -> None:
        requests = (value or {}).get("requests") or {}
        limits = dict(requests)
        limits.update((value or {}).get("limits") or {})
        for key, setting in requests.items():
            if str(limits[key]) != str(setting):
                lose(f"resources.requests.{key}", f"a request of {setting} below its limit "
                                                  f"of {limits[key]}: the limit is kept")
        for key, setting in limits.items():
            if key == "cpu":
                values["cpus_per_task"] = _cpu_count(setting)
            elif key == "memory":
                values["memory_per_node"] = _quantity_mib(setting)
            elif key == GPU_RESOURCE:
                values["gpus_per_node"] = int(setting)
            else:
                lose(f"resources.{key}")


def _read_completions(job: dict[str, Any], values: dict[str, Any], lose) -> None:
    """``completions`` pods (``parallelism`` at once) are a job array of that many
    members: indexed 0..N-1 (``JOB_COMPLETION_INDEX``) in an Indexed Job, and members
    that read no index otherwise. ``parallelism`` alone is a work queue: reported."""
    completions = job.get("completions")
    parallelism = job.get("parallelism")
    if completions is None:
        if parallelism is not None and int(parallelism) != 1:
            lose("spec.parallelism", f"{parallelism} pods sharing a work queue until one "
                                     "succeeds is not in fractale's job model")
        return
    count = int(completions)
    if count < 1:
        raise ValueError(f"completions must be at least 1, not {count}")
    if count == 1 and job.get("completionMode") != "Indexed":
        return
    # Kubernetes runs one pod at a time unless told otherwise.
    parallel = int(parallelism if parallelism is not None else 1)
    if parallel < 1:
        lose("spec.parallelism", "a Job with parallelism 0 is suspended")
        parallel = count
    values["array"] = units.read_array(
        f"0-{count - 1}" + (f"%{parallel}" if parallel < count else ""))


def _documents(text: str) -> list[Any]:
    stripped = text.lstrip()
    if not stripped or stripped.startswith("#!"):
        return []
    try:
        return yamltext.load_all(text)
    except (yaml.YAMLError, RecursionError):
        # RecursionError: a document nested deeper than the readers follow is no manifest.
        return []


# Submitting ------------------------------------------------------------------------------

# A Job's condition types, and the two words fractale gives one without a final condition.
KUBERNETES_STATES = {
    "PENDING": "pending", "SUSPENDED": "pending", "ACTIVE": "running",
    "COMPLETE": "completed", "FAILED": "failed", "DEADLINEEXCEEDED": "timeout",
}


class KubernetesSubmitter(Submitter):
    """``kubectl create -f`` (a held Job is created suspended, ``spec.suspend: true``);
    ``kubectl get job -o json``, read from its conditions and active pods; ``kubectl delete
    job``; logs from ``kubectl logs job/NAME``. Jobs live in kubectl's current namespace."""

    native_states = KUBERNETES_STATES
    suffix = ".yaml"

    def prepare(self, text, hold):
        if not hold:
            return text
        documents = [doc for doc in _documents(text) if isinstance(doc, dict)]
        for document in documents:
            if document.get("kind") == "Job":
                document.setdefault("spec", {})["suspend"] = True
        return yaml.safe_dump_all(documents, sort_keys=False)

    def submit_command(self, script, hold):
        return Command(["kubectl", "create", "-f", script, "-o", "name"])

    def job_id(self, output):
        return first_match(r"^job(?:\.batch)?/(\S+)\s*$", output, re.MULTILINE)

    def status_commands(self, job_id, workdir=None):
        return [["kubectl", "get", "job", job_id, "-o", "json"]]

    def read_status(self, job_id, result):
        if not result.ok:
            return None
        try:
            job = json.loads(result.stdout)
        except ValueError:
            return None
        status = job.get("status") or {} if isinstance(job, dict) else {}
        for condition in status.get("conditions") or []:
            if condition.get("status") != "True":
                continue
            kind, why = str(condition.get("type", "")), condition.get("reason")
            if kind == "Failed" and why == "DeadlineExceeded":
                return Status("timeout", why, None, condition.get("message"))
            if kind in ("Complete", "Failed", "Suspended"):
                return Status(self.state(kind), kind, 0 if kind == "Complete" else None,
                              condition.get("message") or why)
        native = "Active" if status.get("active") else "Pending"
        return Status(self.state(native), native)

    def cancel_command(self, job_id):
        return ["kubectl", "delete", "job", job_id, "--wait=false"]

    def logs_command(self, job_id):
        return ["kubectl", "logs", f"job/{job_id}", "--all-containers"]


Kubernetes.submitter = KubernetesSubmitter
