"""Shared pieces of the agent tests: replay files, contexts, and a guard on processes."""

from __future__ import annotations

import subprocess
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
