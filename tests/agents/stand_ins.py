"""Stand-ins for cluster tools (kubectl, docker, ...) that the agent tests put on PATH."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path


def fake_tool(directory: Path, name: str, body: str) -> Path:
    """An executable stand-in for a cluster tool that logs its arguments."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body))
    path.chmod(0o755)
    return path
