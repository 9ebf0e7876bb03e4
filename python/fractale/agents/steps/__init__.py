"""The agents plans and the command line can name: step agents and research studies."""

from __future__ import annotations

import importlib

from fractale.agents.base import Agent

# agent name -> (module under fractale.agents, class); loaded only when used.
AGENTS: dict[str, tuple[str, str]] = {
    "transform": ("steps.transform", "TransformAgent"),
    "batch": ("steps.batch", "BatchAgent"),
    "kubernetes-job": ("steps.kubernetes_job", "KubernetesJobAgent"),
    "build": ("steps.build", "BuildAgent"),
    "results": ("steps.results", "ResultsAgent"),
    "cost": ("steps.cost", "CostAgent"),
    "minicluster": ("steps.minicluster", "MiniClusterAgent"),
    "optimize": ("studies.optimize", "OptimizeAgent"),
    "scale": ("studies.scale", "ScaleAgent"),
}


def agent_class(name: str) -> type[Agent]:
    module, attribute = AGENTS[name]
    return getattr(importlib.import_module(f"fractale.agents.{module}"), attribute)
