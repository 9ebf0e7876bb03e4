"""The kubernetes-job agent: writes a ``batch/v1`` Job, validates it, runs it where it can.

The manifest is checked against the official Kubernetes schema for ``batch/v1`` Job (the
strict JSON Schema generated from Kubernetes' OpenAPI, as packaged by kubernetes-validate),
so a misspelt field fails before any cluster sees it. With a cluster configured for
``kubectl``, the Job is applied, its logs followed and its final condition read; without
one the agent stops after validation and says so.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import yaml

from fractale.agents.base import Context, StepAgent
from fractale.agents.conditions import Outcome
from fractale.errors import AgentError

SYSTEM = """\
You are the kubernetes-job agent of fractale, an expert in Kubernetes. Write one Kubernetes \
Job manifest (apiVersion batch/v1, kind Job) that runs the application described to you to \
completion: restartPolicy Never, a small backoffLimit, resource requests that fit the \
application. Answer with the manifest in one fenced YAML block and nothing else."""

POLL_SECONDS = 2.0
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
        "condition": "the Job's final condition (Complete or Failed)",
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

    def kubectl(self) -> list[str]:
        argv = ["kubectl"]
        if self.inputs.get("context"):
            argv.append(f"--context={self.inputs['context']}")
        if self.inputs.get("namespace"):
            argv.append(f"--namespace={self.inputs['namespace']}")
        return argv

    def cluster_configured(self, ctx: Context) -> str | None:
        """Why no cluster can take the Job, or None when kubectl has one."""
        if not ctx.executor.available("kubectl"):
            return "kubectl is not installed"
        if self.inputs.get("context"):
            return None
        current = ctx.executor.run(["kubectl", "config", "current-context"], timeout=30)
        if current.returncode != 0 or not current.output.strip():
            return "kubectl has no current context"
        return None

    def execute(self, ctx: Context, artifact: str, path: Path) -> Outcome:
        outputs = self.dry_outputs(artifact, path)
        job = outputs["job"]
        missing = self.cluster_configured(ctx)
        if missing is not None:
            return Outcome(
                True,
                f"the Job is valid; {missing}, so no cluster is configured and it was not applied",
                output=f"validated {path}; not applied: {missing}",
                command="fractale: validate against the Kubernetes batch/v1 Job schema",
                executed=False,
                outputs=outputs,
            )
        kubectl = self.kubectl()
        applied = ctx.executor.run([*kubectl, "apply", "-f", str(path)], timeout=120)
        if applied.returncode != 0:
            return Outcome(
                False,
                f"kubectl apply failed (exit {applied.returncode})",
                output=applied.output,
                returncode=applied.returncode,
                command=applied.command,
                executed=True,
                outputs=outputs,
            )
        ctx.echo(f"[{self.name}] applied job/{job}; following its logs")
        logs = ctx.executor.run(
            [
                *kubectl,
                "logs",
                "--follow",
                "--all-containers=true",
                f"--pod-running-timeout={int(ctx.timeout)}s",
                f"job/{job}",
            ],
            timeout=ctx.timeout,
            echo=lambda line: ctx.echo(f"[{job}] {line}"),
        )
        condition, detail = self.final_condition(ctx, kubectl, job)
        outputs.update({"applied": True, "logs": logs.output, "condition": condition})
        return Outcome(
            condition == "Complete",
            f"job/{job} ended {condition}" + (f": {detail}" if detail else ""),
            output=logs.output + (f"\n{detail}" if detail else ""),
            returncode=0 if condition == "Complete" else 1,
            command=applied.command,
            state=condition,
            executed=True,
            outputs=outputs,
        )

    def final_condition(self, ctx: Context, kubectl: list[str], job: str) -> tuple[str, str]:
        deadline = time.monotonic() + ctx.timeout
        while True:
            shown = ctx.executor.run([*kubectl, "get", f"job/{job}", "--output=json"], timeout=60)
            if shown.returncode == 0:
                try:
                    status = json.loads(shown.output).get("status", {})
                except ValueError:
                    status = {}
                for condition in status.get("conditions", []) or []:
                    if condition.get("status") == "True" and condition.get("type") in (
                        "Complete",
                        "Failed",
                    ):
                        return condition["type"], condition.get("message", "")
            if time.monotonic() > deadline:
                return "Unknown", f"no Complete or Failed condition within {ctx.timeout:g}s"
            time.sleep(POLL_SECONDS)
