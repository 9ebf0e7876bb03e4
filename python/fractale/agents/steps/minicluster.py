"""The minicluster agent: writes a Flux Operator MiniCluster for an application and runs it.

The manifest is checked offline against what a MiniCluster may hold (see
``minicluster_checks``), so a misspelt field or a second Flux runner fails before a
cluster sees it. With a cluster configured for ``kubectl`` and the Flux Operator installed,
the old MiniCluster is deleted (and waited for), the new one applied, the lead broker's
logs followed (bounded) and the Job the operator makes for it watched to its end, its pod
events collected. Without a cluster the step fails, saying so (``--dry-run`` only checks).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from fractale.agents.base import Context, StepAgent
from fractale.agents.conditions import Outcome
from fractale.agents.kubectl import Kubectl, apply_and_follow
from fractale.agents.minicluster_checks import API_VERSION, minicluster_problems

CRD = "miniclusters.flux-framework.org"

SYSTEM = f"""\
You are the minicluster agent of fractale, an expert in the Flux Operator for Kubernetes. \
Write one MiniCluster manifest (apiVersion {API_VERSION}, kind MiniCluster) that runs the \
application described to you with Flux across the pods: spec.size pods, spec.tasks tasks, \
one container with the application's image, its working directory and the command Flux \
runs. Use only fields of the MiniCluster custom resource. Answer with the manifest in one \
fenced YAML block and nothing else."""


def parsed(text: str) -> tuple[Any, str | None]:
    try:
        documents = [document for document in yaml.safe_load_all(text) if document is not None]
    except yaml.YAMLError as err:
        return None, f"not valid YAML: {err}"
    if len(documents) != 1:
        return None, "the manifest must be exactly one YAML document (one MiniCluster)"
    return documents[0], None


class MiniClusterAgent(StepAgent):
    name = "minicluster"
    kind = "Flux Operator MiniCluster manifest (YAML)"
    filename = "minicluster.yaml"
    INPUTS = {
        "app": (True, "what Flux runs: the application and its command line"),
        "image": (False, "the application's container image"),
        "name": (False, "the MiniCluster's name"),
        "size": (False, "pods in the MiniCluster"),
        "tasks": (False, "tasks Flux runs across them"),
        "namespace": (False, "the namespace to apply it in"),
        "context": (False, "the kubectl context to use (default: the current one)"),
        "notes": (False, "anything else the MiniCluster must do"),
    }
    OUTPUTS = {
        "artifact": "the manifest's text",
        "path": "where the manifest was written",
        "minicluster": "the MiniCluster's name",
        "applied": "whether it ran on a cluster",
        "logs": "the lead broker's logs",
        "condition": "how its Job ended (Complete, Failed, Pending or Unknown)",
        "events": "the events of its pods",
    }
    SYSTEM = SYSTEM

    def goal(self) -> str:
        lines = [f"Write a Flux Operator MiniCluster that runs: {self.inputs['app']}"]
        for key, label in (
            ("image", "Image"),
            ("name", "MiniCluster name"),
            ("size", "Pods (spec.size)"),
            ("tasks", "Tasks (spec.tasks)"),
            ("namespace", "Namespace"),
        ):
            if self.inputs.get(key) not in (None, ""):
                lines.append(f"{label}: {self.inputs[key]}")
        if self.inputs.get("notes"):
            lines.append(f"Also: {self.inputs['notes']}")
        return "\n".join(lines)

    def check(self, ctx: Context, artifact: str) -> str | None:
        manifest, problem = parsed(artifact)
        if problem is not None:
            return problem
        problems = minicluster_problems(manifest)
        return "\n".join(problems) if problems else None

    def check_command(self) -> str:
        return "fractale: check against the Flux Operator's MiniCluster resource"

    def dry_outputs(self, artifact: str, path: Path) -> dict[str, Any]:
        manifest, _ = parsed(artifact)
        metadata = manifest.get("metadata") if isinstance(manifest, dict) else None
        return {
            "artifact": artifact,
            "path": str(path),
            "minicluster": metadata.get("name") if isinstance(metadata, dict) else None,
            "applied": False,
        }

    def execute(self, ctx: Context, artifact: str, path: Path) -> Outcome:
        outputs = self.dry_outputs(artifact, path)
        name = outputs["minicluster"]
        kubectl = Kubectl(
            ctx.executor, context=self.inputs.get("context"), namespace=self.inputs.get("namespace")
        )
        missing = kubectl.missing()
        if missing is None:
            known = kubectl.run("get", f"crd/{CRD}", "--output=name", timeout=60)
            if known.returncode != 0:
                missing = "the Flux Operator is not installed in the cluster (no MiniCluster CRD)"
        if missing is not None:
            return Outcome(
                False,
                f"the MiniCluster is valid but was not applied: {missing} (use --dry-run to "
                "only check it)",
                output=f"checked {path}; not applied: {missing}",
                command=self.check_command(),
                final=True,
                outputs=outputs,
            )
        # The operator runs a MiniCluster as an indexed Job of the same name; index 0 leads.
        return apply_and_follow(
            ctx, kubectl, self.name, f"minicluster/{name}", str(path), name,
            f"job-name={name},batch.kubernetes.io/job-completion-index=0",
            "the lead broker", outputs)
