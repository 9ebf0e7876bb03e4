"""Every file the agents write leaves the API key out, and every file a user hands them that
is not text is refused with a message, never a traceback."""

from __future__ import annotations

import subprocess
import sys

from fractale.agents.base import Context
from fractale.agents.llm import open_backend
from fractale.agents.record import Records
from fractale.agents.steps.batch import BatchAgent
from fractale.agents.usage import Ledger

KEY = "sk-ant-api03-not-a-real-key-0123456789abcdef"


def fractale(*args, env=None):
    return subprocess.run(
        [sys.executable, "-c", "from fractale.cli import main; main()", *map(str, args)],
        capture_output=True, text=True, check=False, timeout=120, env=env,
    )


def test_the_key_never_reaches_an_attempt_file_or_a_recorded_replay(
    tmp_path, replay, fenced, monkeypatch
):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    leaked = f"#!/bin/bash\n#SBATCH --ntasks=1\nexport ANTHROPIC_API_KEY={KEY}\nhostname\n"
    answers = replay([{"agent": "batch", "text": fenced(leaked, "bash")}])
    recorded = tmp_path / "recorded.yaml"
    llm = open_backend(replay=answers, ledger=Ledger(), record=recorded)
    ctx = Context(llm=llm, workdir=tmp_path / "work", records=Records(tmp_path / "results"),
                  dry_run=True)
    BatchAgent({"app": "hostname", "scheduler": "slurm"}).run(ctx, "run")
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != answers]
    assert recorded in written and any("attempt-1" in str(p) for p in written)
    for path in written:
        assert KEY not in path.read_text(encoding="utf-8", errors="replace"), path
    assert "[redacted]" in recorded.read_text()


def test_files_that_are_not_text_are_refused_with_a_message(tmp_path):
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\xff\xfe\x00\x81" * 64)
    replay_file = tmp_path / "replay.yaml"
    replay_file.write_text("model: claude-sonnet-5-5\nresponses: []\n")
    for args in (["agent", "check", binary],
                 ["agent", "run", binary, "--replay", replay_file],
                 ["agent", "batch", "--app", "x", "--scheduler", "slurm", "--script", binary,
                  "--replay", replay_file, "--dry-run"],
                 ["agent", "batch", "--app", "x", "--scheduler", "slurm", "--replay", binary,
                  "--dry-run"]):
        done = fractale(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr and "UTF-8" in done.stderr, (args, done.stderr)
