"""``--use-cache``: a step's successful artifact, kept so the same step can reuse it.

The key is the agent, the inputs that decide its artifact and the model, so a change to any
of them misses the cache. Entries live in ``.agent-cache`` of the cluster store's folder
(``$FRACTALE_HOME``, default ``~/.fractale``), a name no cluster can take.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from fractale.agents.record import write_json


class ArtifactCache:
    """Successful artifacts by (agent, inputs, model)."""

    def __init__(self, directory: Path | None = None) -> None:
        if directory is None:
            from fractale.store import default_root

            directory = default_root() / ".agent-cache"
        self.directory = directory

    def key(self, agent: str, inputs: dict[str, Any], model: str | None) -> str:
        canonical = json.dumps(
            {"agent": agent, "inputs": inputs, "model": model}, sort_keys=True, default=str
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]

    def get(self, key: str) -> str | None:
        path = self.directory / f"{key}.json"
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        artifact = entry.get("artifact") if isinstance(entry, dict) else None
        return artifact if isinstance(artifact, str) else None

    def put(self, key: str, agent: str, artifact: str) -> None:
        write_json(self.directory / f"{key}.json", {"agent": agent, "artifact": artifact})
