"""Shared pieces of the agent tests: a guard on processes, stand-in cluster tools, and the
command line (replay files and contexts are fixtures of tests/conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from stand_ins import fake_tool


@pytest.fixture
def no_processes(monkeypatch):
    """Fail the test if anything starts a process."""
    started: list = []

    def refuse(*args, **kwargs):
        started.append(args[0] if args else kwargs.get("args"))
        raise AssertionError(f"a process was started: {started[-1]}")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(subprocess, "run", refuse)
    return started


KUBECTL = """\
import json, sys
args = [a for a in sys.argv[1:] if not a.startswith(("--context=", "--namespace="))]
open({calls!r}, "a").write(" ".join(args) + "\\n")
if args[:2] == ["config", "current-context"]:
    print("lab")
elif args[0] == "delete":
    pass
elif args[0] == "apply":
    print("applied")
elif args[:2] == ["get", "crd/miniclusters.flux-framework.org"]:
    if not {crd!r}:
        print("Error from server (NotFound): not found", file=sys.stderr)
        sys.exit(1)
    print("customresourcedefinition.apiextensions.k8s.io/miniclusters.flux-framework.org")
elif args[0] == "logs":
    print({logs!r})
elif args[:2] == ["get", "pods"]:
    print(json.dumps({{"items": [{{"status": {{"phase": "Succeeded"}}}}]}}))
elif args[:2] == ["get", "events"]:
    print(json.dumps({{"items": {events}}}))
elif args[0] == "get":
    print(json.dumps({{"status": {{"conditions": [
        {{"type": {condition!r}, "status": "True", "message": {message!r}}}]}}}}))
"""


@pytest.fixture
def kube_cluster(tmp_path, monkeypatch):
    """A stand-in kubectl with a current context whose Jobs end as told; returns its call log.

    ``kube_cluster(condition="Failed", logs=..., events=[...])`` changes what it answers.
    """
    calls = tmp_path / "kubectl-calls.log"

    def make(
        condition: str = "Complete",
        logs: str = "hello",
        message: str = "",
        events: list | None = None,
        crd: bool = True,
    ) -> Path:
        fake_tool(
            tmp_path / "kube-bin",
            "kubectl",
            KUBECTL.format(
                calls=str(calls),
                logs=logs,
                events=json.dumps(events or []),
                condition=condition,
                message=message,
                crd=crd,
            ),
        )
        monkeypatch.setenv("PATH", f"{tmp_path / 'kube-bin'}{os.pathsep}{os.environ['PATH']}")
        return calls

    return make


@pytest.fixture
def slurm_env(slurm, monkeypatch):
    """The environment a user of this Slurm has: SLURM_CONF pointing at its configuration."""
    monkeypatch.setenv("SLURM_CONF", str(slurm.conf))
    return slurm
