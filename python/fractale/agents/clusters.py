"""Which workload manager a registered cluster runs, asked of fractale's cluster store."""

from __future__ import annotations

from fractale.errors import AgentError


def cluster_scheduler(name: str) -> str:
    """The ``scheduler`` of the cluster registered as ``name`` (``fractale cluster add``)."""
    from fractale.store import Store

    cluster = Store().get(str(name))
    if not cluster.scheduler:
        raise AgentError(
            f"{cluster.path / 'cluster.yaml'} does not say which scheduler cluster "
            f"{name!r} runs (give --scheduler)"
        )
    return cluster.scheduler.lower()


def cluster_summary(name: str) -> str:
    """What the store says about a cluster, in a line a model can use to size a job."""
    from fractale.store import Store

    cluster = Store().get(str(name))
    parts = [f"{name} ({cluster.scheduler or 'scheduler unknown'})"]
    if cluster.description:
        parts.append(cluster.description)
    resources = cluster.counts()
    if resources:
        parts.append(
            "resources: " + ", ".join(f"{count} {kind}" for kind, count in resources.items())
        )
    return "; ".join(parts)
