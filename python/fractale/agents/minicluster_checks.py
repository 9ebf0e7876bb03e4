"""Offline checks of a Flux Operator MiniCluster (``flux-framework.org/v1alpha2``).

Written for fractale from what the flux-operator's CustomResourceDefinition and its
controller's validation say a MiniCluster may hold: the fields and their types at every
level fractale knows, so that a misspelt or misplaced field is caught before a cluster is
involved, and the rules the operator enforces when it admits one (one container runs Flux,
sizes agree, services are named, ...). Maps of free keys (environment, labels, volumes) are
checked for the type of their values; Kubernetes' own structures inside (resources,
securityContext) are left to the API server.
"""

from __future__ import annotations

import re
from typing import Any

API_VERSION = "flux-framework.org/v1alpha2"
KIND = "MiniCluster"
NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
RESTART_POLICIES = ("Always", "OnFailure", "Never")

# A field's type: a Python type, ("map", TYPE) for free keys, ("list", TYPE), a nested
# schema (dict), or "quantity" (a number or a string such as "2Gi").
Schema = dict[str, Any]

COMMANDS: Schema = {
    key: str
    for key in ("prefix", "script", "init", "pre", "post", "workerPre", "brokerPre", "servicePre")
}
VOLUME: Schema = {
    "path": str,
    "hostPath": str,
    "configMapName": str,
    "items": ("map", str),
    "claimName": str,
    "secretName": str,
    "readOnly": bool,
    "emptyDirMedium": str,
    "emptyDirSizeLimit": str,
    "csiDriver": str,
    "csiDriverAttributes": ("map", str),
    "emptyDir": bool,
}
CONTAINER: Schema = {
    "name": str,
    "image": str,
    "imagePullSecret": str,
    "imagePullPolicy": str,
    "pullAlways": bool,
    "workingDir": str,
    "command": str,
    "ports": ("list", int),
    "environment": ("map", str),
    "secrets": ("map", {"name": str, "key": str}),
    "launcher": bool,
    "batch": bool,
    "batchRaw": bool,
    "logs": str,
    "runFlux": bool,
    "noWrapEntrypoint": bool,
    "volumes": ("map", VOLUME),
    "lifeCycle": {"postStartExec": str, "preStopExec": str},
    "resources": {"limits": ("map", "quantity"), "requests": ("map", "quantity")},
    "commands": COMMANDS,
    "securityContext": dict,
}
FLUX: Schema = {
    "container": {
        "disable": bool,
        "name": str,
        "image": str,
        "imagePullSecret": str,
        "pullAlways": bool,
        "workingDir": str,
        "pythonPath": str,
        "mountPath": str,
        "resources": {"limits": ("map", "quantity"), "requests": ("map", "quantity")},
        "securityContext": dict,
    },
    "arch": str,
    "submitCommand": str,
    "wrap": str,
    "connectTimeout": str,
    "optionFlags": str,
    "minimalService": bool,
    "disableSocket": bool,
    "topology": str,
    "noWaitSocket": bool,
    "completeWorkers": bool,
    "logLevel": int,
    "curveCert": str,
    "scheduler": {"simple": bool, "queuePolicy": str},
    "mungeSecret": str,
    "bursting": {
        "leadBroker": {"address": str, "name": str, "size": int, "port": int},
        "hostlist": str,
        "clusters": ("list", {"name": str, "size": int}),
    },
    "brokerConfig": str,
    "environment": ("map", str),
}
POD: Schema = {
    "annotations": ("map", str),
    "labels": ("map", str),
    "restartPolicy": str,
    "serviceAccountName": str,
    "runtimeClassName": str,
    "automountServiceAccountToken": bool,
    "schedulerName": str,
    "nodeSelector": ("map", str),
    "nodeAffinity": ("map", ("list", str)),
    "tolerations": ("list", {"key": str, "effect": str, "operator": str, "value": str}),
    "dnsPolicy": str,
    "hostIPC": bool,
    "hostPID": bool,
    "resources": ("map", "quantity"),
    "securityContext": dict,
}
SPEC: Schema = {
    "containers": ("list", CONTAINER),
    "services": ("list", CONTAINER),
    "network": {"headlessName": str, "disableAffinity": bool},
    "jobLabels": ("map", str),
    "interactive": bool,
    "flux": FLUX,
    "logging": {key: bool for key in ("quiet", "strict", "debug", "zeromq", "timed")},
    "archive": {"path": str},
    "shareProcessNamespace": bool,
    "cleanup": bool,
    "size": int,
    "maxSize": int,
    "minSize": int,
    "backoffLimit": int,
    "tasks": int,
    "deadlineSeconds": int,
    "pod": POD,
}
METADATA: Schema = {
    "name": str,
    "namespace": str,
    "labels": ("map", str),
    "annotations": ("map", str),
}

TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", dict: "a mapping"}


def _type_problem(value: Any, expected: Any, where: str) -> list[str]:
    if expected == "quantity":
        ok = isinstance(value, (int, float, str)) and not isinstance(value, bool)
        return [] if ok else [f"{where}: a quantity (a number or a string such as 2Gi)"]
    if isinstance(expected, tuple):
        container, inner = expected
        if container == "map":
            if not isinstance(value, dict):
                return [f"{where}: a mapping"]
            found = []
            for key, item in value.items():
                found += _type_problem(item, inner, f"{where}.{key}")
            return found
        if not isinstance(value, list):
            return [f"{where}: a list"]
        found = []
        for index, item in enumerate(value):
            found += _type_problem(item, inner, f"{where}[{index}]")
        return found
    if isinstance(expected, dict):
        return _schema_problems(value, expected, where)
    if expected is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif expected is str:
        # The operator's string fields hold commands and paths; YAML may read 8080 as a
        # number, which the API server would refuse.
        ok = isinstance(value, str)
    else:
        ok = isinstance(value, expected)
    return [] if ok else [f"{where}: {TYPE_NAMES[expected]}, not {value!r}"]


def _schema_problems(value: Any, schema: Schema, where: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: a mapping"]
    found = []
    for key, item in value.items():
        if key not in schema:
            found.append(f"{where}.{key}: unknown field (a MiniCluster has no such field here)")
            continue
        found += _type_problem(item, schema[key], f"{where}.{key}")
    return found


def _rules(spec: dict[str, Any]) -> list[str]:
    """What the operator refuses when it admits a MiniCluster, and what Kubernetes does."""
    found = []
    size = spec.get("size", 1)
    max_size, min_size = spec.get("maxSize", 0), spec.get("minSize", 0)
    if size < 1:
        found.append("spec.size: at least 1 pod")
    if spec.get("tasks", 1) < 1:
        found.append("spec.tasks: at least 1 task")
    if max_size and max_size < size:
        found.append(f"spec.maxSize {max_size} is smaller than spec.size {size}")
    if min_size and max_size and min_size > max_size:
        found.append(f"spec.minSize {min_size} is larger than spec.maxSize {max_size}")
    if min_size and min_size > size:
        found.append(f"spec.minSize {min_size} is larger than spec.size {size}")
    if spec.get("backoffLimit", 0) < 0:
        found.append("spec.backoffLimit: not negative")
    if spec.get("deadlineSeconds", 1) < 1:
        found.append("spec.deadlineSeconds: at least 1")
    containers = spec.get("containers")
    if not containers:
        found.append("spec.containers: at least one container (the application)")
        return found
    # One container runs Flux: the only one implicitly, else the one marked runFlux.
    runners = (
        [0]
        if len(containers) == 1
        else [index for index, container in enumerate(containers) if container.get("runFlux")]
    )
    if len(runners) != 1:
        found.append(
            f"spec.containers: exactly one container must set runFlux: true ({len(runners)} do)"
        )
    for index, container in enumerate(containers):
        where = f"spec.containers[{index}]"
        if not container.get("image"):
            found.append(f"{where}.image: the application's image is required")
        if index not in runners and not container.get("name"):
            found.append(f"{where}.name: a container that does not run Flux needs a name")
        if container.get("launcher") and container.get("batch"):
            found.append(f"{where}: launcher and batch exclude each other; choose one")
        script = (container.get("commands") or {}).get("script")
        if index in runners and script and container.get("command"):
            found.append(f"{where}: both commands.script and command are given; choose one")
        policy = container.get("imagePullPolicy")
        if policy is not None and policy not in PULL_POLICIES:
            found.append(f"{where}.imagePullPolicy: one of {', '.join(PULL_POLICIES)}")
        for port in container.get("ports") or []:
            if not 1 <= port <= 65535:
                found.append(f"{where}.ports: {port} is not a port (1-65535)")
        for volume, entry in (container.get("volumes") or {}).items():
            if entry.get("claimName") and not entry.get("path"):
                found.append(f"{where}.volumes.{volume}: a claim needs the path to mount it at")
    for index, service in enumerate(spec.get("services") or []):
        where = f"spec.services[{index}]"
        if not service.get("name"):
            found.append(f"{where}.name: a service container needs a name")
        commands = service.get("commands") or {}
        if any(commands.get(key) for key in ("pre", "brokerPre", "workerPre")):
            found.append(f"{where}.commands: services take no pre, brokerPre or workerPre")
    bursting = (spec.get("flux") or {}).get("bursting") or {}
    if bursting.get("hostlist") and bursting.get("clusters"):
        found.append("spec.flux.bursting: give a hostlist or clusters, not both")
    restart = (spec.get("pod") or {}).get("restartPolicy")
    if restart is not None and restart not in RESTART_POLICIES:
        found.append(f"spec.pod.restartPolicy: one of {', '.join(RESTART_POLICIES)}")
    return found


def minicluster_problems(manifest: Any) -> list[str]:
    """Every way ``manifest`` (one parsed YAML document) is not a valid MiniCluster."""
    if not isinstance(manifest, dict):
        return ["the manifest is one YAML mapping (one MiniCluster)"]
    if manifest.get("apiVersion") != API_VERSION or manifest.get("kind") != KIND:
        return [
            f"apiVersion/kind are {manifest.get('apiVersion')}/{manifest.get('kind')}, "
            f"not {API_VERSION}/{KIND}"
        ]
    found = []
    for key in manifest:
        if key not in ("apiVersion", "kind", "metadata", "spec"):
            found.append(f"{key}: unknown top-level field")
    found += _schema_problems(manifest.get("metadata", {}), METADATA, "metadata")
    name = (manifest.get("metadata") or {}).get("name")
    if not name:
        found.append("metadata.name: required to apply and follow the MiniCluster")
    elif isinstance(name, str) and not NAME.fullmatch(name):
        found.append(
            f"metadata.name {name!r}: a DNS label (at most 63 lower-case letters, digits and "
            "'-', starting and ending with a letter or digit)"
        )
    if "spec" not in manifest:
        return [*found, "spec: required (the containers to run, and the size)"]
    typed = _schema_problems(manifest["spec"], SPEC, "spec")
    found += typed
    if not typed:
        found += _rules(manifest["spec"])
    return found
