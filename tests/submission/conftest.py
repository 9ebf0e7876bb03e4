"""Fixtures of the submit tests: a store whose clusters are the local Slurm, reached here and
through an OpenSSH server the suite starts on the loopback address (``tests/sshd.py``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fractale_command import run
from sshd import LocalSshd, SshdUnavailable


@pytest.fixture(scope="session")
def sshd(slurm, tmp_path_factory):
    """sshd on 127.0.0.1, its sessions pointed at the local Slurm's configuration.

    Skipped with the reason where it cannot start; in CI (CI=true) the tests fail instead."""
    server = LocalSshd(tmp_path_factory.mktemp("sshd"), {"SLURM_CONF": str(slurm.conf)})
    try:
        server.start()
    except SshdUnavailable as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the SSH tests, but {err}")
        pytest.skip(str(err))
    yield server
    server.stop()


@pytest.fixture
def slurm_env(slurm, monkeypatch):
    """The environment of a user of the local Slurm: SLURM_CONF set."""
    monkeypatch.setenv("SLURM_CONF", str(slurm.conf))
    return slurm


@pytest.fixture
def graph(tmp_path, slurm_env) -> Path:
    """The local Slurm's containment graph, from `scontrol show node`."""
    path = tmp_path / "containment.json"
    done = run("generate", "slurm", "-o", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture
def here(tmp_path, graph) -> Path:
    """A store with one cluster, ``here``: the local Slurm, reached on this machine."""
    store = tmp_path / "store"
    done = run("cluster", "add", "here", "--scheduler", "slurm", "--containment",
                    str(graph), "--config-dir", str(store), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return store
