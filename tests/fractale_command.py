"""Running the ``fractale`` command as a user would, for the tests that drive it
end to end (submission, agents, the command line)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run(*args: str, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    """``fractale ARGS...`` run in ``cwd``: its exit status and both streams."""
    return subprocess.run(
        [sys.executable, "-c", "from fractale.cli import main; main()", *args],
        capture_output=True, text=True, cwd=cwd, timeout=timeout, check=False,
    )
