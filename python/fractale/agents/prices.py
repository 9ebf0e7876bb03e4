"""Price tables: the instance types (or cluster nodes) a user can buy, with their resources.

A price table is YAML the user supplies (``examples/prices/cloud.yaml`` is an example)::

    currency: USD
    source: where the prices come from, and when      # optional
    instances:
      - name: c7i.4xlarge            # unique
        provider: aws                # optional
        price_per_hour: 0.714        # per instance (per node, for a cluster)
        cpus: 16
        memory_gb: 32
        gpus: 0                      # optional, default 0
        max_count: 64                # optional: the most that can be had
        cluster: lab                 # optional: a cluster registered with fractale, whose
                                     #   own cost per node-hour this price is checked against
        notes: ...                   # optional

Every problem is reported with the entry it is in. Given none, the cost agent prices from
fractale's own table of common AWS and Google Cloud instances (``BUNDLED``), as upstream
fractale's cost agent, whose model looks prices up itself, needs no table.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from fractale.errors import AgentError

BUNDLED = Path(__file__).with_name("cloud-prices.yaml")

KEYS = {
    "name",
    "provider",
    "price_per_hour",
    "cpus",
    "memory_gb",
    "gpus",
    "max_count",
    "cluster",
    "notes",
}


@dataclass(frozen=True)
class Instance:
    name: str
    price_per_hour: float
    cpus: int
    memory_gb: float
    gpus: int = 0
    provider: str | None = None
    max_count: int | None = None
    cluster: str | None = None
    notes: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}


@dataclass(frozen=True)
class PriceTable:
    path: Path
    currency: str
    source: str | None
    instances: dict[str, Instance]


def _number(entry: dict[str, Any], key: str, where: str, *, whole: bool, required: bool) -> Any:
    value: Any = entry.get(key)
    if value is None and not required:
        return None
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
    if ok and whole:
        ok = float(value).is_integer()
    if not ok:
        kind = "a whole number" if whole else "a number"
        raise AgentError(f"{where}: {key} must be {kind} of at least 0, not {value!r}")
    return int(value) if whole else float(value)


def load_prices(path: Path) -> PriceTable:
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise AgentError(f"cannot read price table {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise AgentError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(document, dict) or not isinstance(document.get("instances"), list):
        raise AgentError(f"{path}: a price table is a mapping with an 'instances' list")
    unknown = set(document) - {"currency", "source", "instances"}
    if unknown:
        raise AgentError(f"{path}: unknown key {sorted(unknown)[0]!r}")
    instances: dict[str, Instance] = {}
    for number, entry in enumerate(document["instances"], start=1):
        where = f"{path}: instance {number}"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise AgentError(f"{where} is a mapping with a name")
        where = f"{where} ({entry['name']})"
        extra = set(entry) - KEYS
        if extra:
            raise AgentError(f"{where}: unknown key {sorted(extra)[0]!r}")
        if entry["name"] in instances:
            raise AgentError(f"{where}: the name is used twice")
        max_count = _number(entry, "max_count", where, whole=True, required=False)
        instances[entry["name"]] = Instance(
            name=entry["name"],
            price_per_hour=_number(entry, "price_per_hour", where, whole=False, required=True),
            cpus=_number(entry, "cpus", where, whole=True, required=True),
            memory_gb=_number(entry, "memory_gb", where, whole=False, required=True),
            gpus=_number(entry, "gpus", where, whole=True, required=False) or 0,
            provider=str(entry["provider"]) if entry.get("provider") else None,
            max_count=max_count,
            cluster=str(entry["cluster"]) if entry.get("cluster") else None,
            notes=str(entry["notes"]) if entry.get("notes") else None,
        )
    if not instances:
        raise AgentError(f"{path}: the price table lists no instances")
    return PriceTable(
        path,
        str(document.get("currency") or "USD"),
        str(document["source"]) if document.get("source") else None,
        instances,
    )
