"""Which workload manager a registered cluster runs, read from the cluster store.

The store keeps one directory per cluster under ``$FRACTALE_HOME`` (default
``~/.fractale``), each with a ``cluster.yaml`` whose ``scheduler`` key names its manager.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from fractale.agents.cache import fractale_home
from fractale.errors import AgentError


def cluster_file(name: str) -> Path:
    if not name or "/" in name or name.startswith("."):
        raise AgentError(f"{name!r} is not a cluster name")
    return fractale_home() / name / "cluster.yaml"


def cluster_scheduler(name: str) -> str:
    """The ``scheduler`` of registered cluster ``name``, lower-case."""
    path = cluster_file(name)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AgentError(
            f"no cluster named {name!r} in {path.parent.parent} (add it with "
            "`fractale cluster add`, or give --scheduler)"
        ) from None
    except (OSError, yaml.YAMLError) as err:
        raise AgentError(f"cannot read {path}: {err}") from None
    scheduler = document.get("scheduler") if isinstance(document, dict) else None
    if not isinstance(scheduler, str) or not scheduler:
        raise AgentError(f"{path} does not say which scheduler cluster {name!r} runs")
    return scheduler.lower()
