"""The kubernetes-job agent: writes a ``batch/v1`` Job, validates it, runs it where it can.

The manifest is checked against the official Kubernetes schema for ``batch/v1`` Job (the
strict JSON Schema generated from Kubernetes' OpenAPI, as packaged by kubernetes-validate),
so a misspelt field fails before any cluster sees it. With a cluster configured for
``kubectl``, the old Job is deleted (and waited for), the new one applied, its logs
followed (bounded) and its final condition and pod events read. Without a cluster the step
fails, saying so: a Job that was not applied did not run (``--dry-run`` only validates).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from fractale.agents.base import Context, StepAgent
from fractale.agents.conditions import Outcome
from fractale.agents.kubectl import Kubectl, apply_and_follow
from fractale.errors import AgentError

SYSTEM = """\
You are the kubernetes-job agent of fractale, an expert in Kubernetes. Write one Kubernetes \
Job manifest (apiVersion batch/v1, kind Job) that runs the application described to you to \
completion: restartPolicy Never, a small backoffLimit, resource requests that fit the \
application. Answer with the manifest in one fenced YAML block and nothing else."""

# A Job's name labels its pods, so Kubernetes holds it to a DNS label.
JOB_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def job_validator() -> tuple[Any, str]:
    """A validator for ``batch/v1`` Job under the newest Kubernetes schema available."""
    try:
        import jsonschema
        import kubernetes_validate.utils as schemas
        from referencing import Registry, Resource
    except ImportError:
        raise AgentError(
            "validating Kubernetes manifests needs kubernetes-validate: "
            "pip install 'fractale[agents]'"
        ) from None
    version = schemas.latest_version()
    folder = f"kubernetes-json-schema/v{version}-local-strict"
    job = schemas.schema_contents(f"{folder}/job-batch-v1.json", version)
    definitions = schemas.schema_contents(f"{folder}/_definitions.json", version)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(job) @ Registry())
    return jsonschema.Draft202012Validator(job, registry=registry), version


def manifest_problems(text: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The manifest and every way it breaks the Job schema (empty when it is valid)."""
    try:
        documents = [document for document in yaml.safe_load_all(text) if document is not None]
    except yaml.YAMLError as err:
        return None, [f"not valid YAML: {err}"]
    if len(documents) != 1 or not isinstance(documents[0], dict):
        return None, ["the manifest must be exactly one YAML mapping (one Job)"]
    manifest = documents[0]
    if manifest.get("apiVersion") != "batch/v1" or manifest.get("kind") != "Job":
        return manifest, [
            f"apiVersion/kind are {manifest.get('apiVersion')}/{manifest.get('kind')}, "
            "not batch/v1/Job"
        ]
    validator, version = job_validator()
    problems = []
    for error in sorted(validator.iter_errors(manifest), key=lambda e: list(map(str, e.path))):
        where = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        problems.append(f"{where}: {error.message} (Kubernetes {version} schema)")
    name = (
        manifest.get("metadata", {}).get("name")
        if isinstance(manifest.get("metadata"), dict)
        else None
    )
    if not problems and not name:
        problems.append("metadata.name is required to apply and follow the Job")
    elif not problems and not JOB_NAME.fullmatch(str(name)):
        problems.append(
            f"metadata.name {name!r} must be a DNS label: at most 63 lower-case letters, "
            "digits and '-', starting and ending with a letter or digit"
        )
    return manifest, problems


class KubernetesJobAgent(StepAgent):
    name = "kubernetes-job"
    kind = "Kubernetes Job manifest (YAML)"
    filename = "job.yaml"
    INPUTS = {
        "app": (True, "what the Job runs: the application and its command line"),
        "image": (False, "the container image to run"),
        "name": (False, "the Job's name"),
        "namespace": (False, "the namespace to apply it in"),
        "context": (False, "the kubectl context to use (default: the current one)"),
        "notes": (False, "anything else the manifest must do"),
    }
    OUTPUTS = {
        "artifact": "the manifest's text",
        "path": "where the manifest was written",
        "job": "the Job's name",
        "applied": "whether it ran on a cluster",
        "logs": "the Job's logs",
        "condition": "the Job's final condition (Complete, Failed, Pending or Unknown)",
        "events": "the events of the Job's pods",
    }
    SYSTEM = SYSTEM

    def goal(self) -> str:
        lines = [f"Write a Kubernetes batch/v1 Job that runs: {self.inputs['app']}"]
        for key, label in (("image", "Image"), ("name", "Job name"), ("namespace", "Namespace")):
            if self.inputs.get(key):
                lines.append(f"{label}: {self.inputs[key]}")
        if self.inputs.get("notes"):
            lines.append(f"Also: {self.inputs['notes']}")
        return "\n".join(lines)

    def check(self, ctx: Context, artifact: str) -> str | None:
        _, problems = manifest_problems(artifact)
        return "\n".join(problems) if problems else None

    def check_command(self) -> str:
        return "fractale: validate against the Kubernetes batch/v1 Job schema"

    def dry_outputs(self, artifact: str, path: Path) -> dict[str, Any]:
        manifest, _ = manifest_problems(artifact)
        return {
            "artifact": artifact,
            "path": str(path),
            "job": (manifest or {}).get("metadata", {}).get("name"),
            "applied": False,
        }

    def kubectl(self, ctx: Context) -> Kubectl:
        return Kubectl(
            ctx.executor,
            context=self.inputs.get("context"),
            namespace=self.inputs.get("namespace"),
        )

    def execute(self, ctx: Context, artifact: str, path: Path) -> Outcome:
        outputs = self.dry_outputs(artifact, path)
        job = outputs["job"]
        kubectl = self.kubectl(ctx)
        missing = kubectl.missing()
        if missing is not None:
            return Outcome(
                False,
                f"the Job is valid but was not applied: {missing} (use --dry-run to only "
                "validate)",
                output=f"validated {path}; not applied: {missing}",
                command="fractale: validate against the Kubernetes batch/v1 Job schema",
                final=True,
                outputs=outputs,
            )
        return apply_and_follow(ctx, kubectl, self.name, f"job/{job}", str(path), job,
                                f"job/{job}", "its logs", outputs)
