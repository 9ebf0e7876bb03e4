"""The step agents, by the name plans and the command line use for them."""

from __future__ import annotations

import importlib

from fractale.agents.base import StepAgent

# agent name -> (module under fractale.agents.steps, class); loaded only when used.
AGENTS: dict[str, tuple[str, str]] = {
    "transform": ("transform", "TransformAgent"),
    "batch": ("batch", "BatchAgent"),
    "kubernetes-job": ("kubernetes_job", "KubernetesJobAgent"),
    "build": ("build", "BuildAgent"),
    "results": ("results", "ResultsAgent"),
}


def agent_class(name: str) -> type[StepAgent]:
    module, attribute = AGENTS[name]
    return getattr(importlib.import_module(f"fractale.agents.steps.{module}"), attribute)
