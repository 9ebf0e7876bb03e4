"""Shared pieces of the agent tests: replay files, contexts, and a guard on processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from fractale.agents.base import Context
from fractale.agents.llm import open_backend
from fractale.agents.record import Records
from fractale.agents.usage import Ledger


def write_replay(path: Path, responses: list[dict], model: str = "claude-sonnet-5-5") -> Path:
    path.write_text(yaml.safe_dump({"model": model, "responses": responses}), encoding="utf-8")
    return path


def fence(text: str, language: str = "") -> str:
    return f"```{language}\n{text.rstrip()}\n```\n"


@pytest.fixture
def fenced():
    """Wrap an artifact in a fenced code block, as a model answers."""
    return fence


@pytest.fixture
def replay(tmp_path):
    """Write a replay file of the given responses and return its path."""

    def make(responses: list[dict], model: str = "claude-sonnet-5-5") -> Path:
        return write_replay(tmp_path / "replay.yaml", responses, model)

    return make


@pytest.fixture
def context(tmp_path):
    """A Context answering from a replay file, with records in tmp_path/results."""

    def make(replay_path: Path, **options) -> Context:
        budget = options.pop("budget", None)
        llm = open_backend(replay=replay_path, ledger=Ledger(budget_usd=budget))
        records = Records(tmp_path / "results", incremental=options.pop("incremental", False))
        return Context(llm=llm, workdir=tmp_path / "work", records=records, **options)

    return make


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


def fake_tool(directory: Path, name: str, body: str) -> Path:
    """An executable stand-in for a cluster tool that logs its arguments."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body))
    path.chmod(0o755)
    return path


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


def fractale(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The fractale command line, run as a user would, in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-c", "from fractale.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=900,
        check=False,
    )
