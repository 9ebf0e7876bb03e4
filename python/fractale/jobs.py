"""The jobs fractale submitted: one record each, kept in the store beside the clusters.

``<store>/.jobs/<cluster>/<job id>.json`` says where a job went (cluster, scheduler, host,
working directory), what ran (the script's path there and its text), when, where its output
goes, and the last state fractale read from the scheduler (one of the ``STATES``, with the
scheduler's own word beside it). A record is first written only once the scheduler has
accepted the job, and every write is whole: a temporary file renamed into place
(``store.write_atomic``), so a killed ``fractale`` leaves the previous record or the next,
never half of one. Records of different jobs are different files, so writers need no lock.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fractale.errors import StoreError
from fractale.store import Store, check_name, write_atomic
from fractale.transform.submitter import STATES, Status

JOBS_FOLDER = ".jobs"


def now() -> str:
    """The current time in UTC, as records keep it."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class JobRecord:
    """One submitted job, as the store keeps it."""

    id: str
    cluster: str
    scheduler: str
    submit: dict[str, Any]
    workdir: str
    script: str
    text: str
    submitted: str
    name: str | None = None
    outputs: list[str] = field(default_factory=list)
    held: bool = False
    state: str = "pending"
    native: str = ""
    exit_code: int | None = None
    reason: str | None = None
    updated: str | None = None

    @property
    def ref(self) -> str:
        """``cluster:id``, the name that tells this job apart across clusters."""
        return f"{self.cluster}:{self.id}"

    @property
    def final(self) -> bool:
        return self.status.final

    @property
    def status(self) -> Status:
        return Status(self.state, self.native, self.exit_code, self.reason)

    def with_status(self, status: Status) -> JobRecord:
        return replace(self, state=status.state, native=status.native,
                       exit_code=status.exit_code, reason=status.reason, updated=now())

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], file: Path) -> JobRecord:
        known = {f.name for f in fields(cls)}
        try:
            record = cls(**{key: value for key, value in data.items() if key in known})
        except TypeError as err:
            raise StoreError(f"{file} is not a job record: {err}") from None
        if record.state not in STATES:
            raise StoreError(f"{file}: unknown state {record.state!r}")
        return record


class JobBook:
    """The job records of a store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.root = store.root / JOBS_FOLDER

    def path(self, cluster: str, job_id: str) -> Path:
        check_name(cluster)
        return self.root / cluster / f"{quote(job_id, safe='')}.json"

    def save(self, record: JobRecord) -> JobRecord:
        """Write the record whole (replacing the job's previous one)."""
        path = self.path(record.cluster, record.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(asdict(record), indent=2, ensure_ascii=False) + "\n")
        return record

    def _read(self, path: Path) -> JobRecord:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as err:
            raise StoreError(f"{path} is not valid JSON: {err}") from None
        if not isinstance(data, dict):
            raise StoreError(f"{path} is not a job record")
        return JobRecord.from_dict(data, path)

    def all(self, cluster: str | None = None) -> list[JobRecord]:
        """Every record (of one cluster), oldest submission first."""
        if cluster is not None:
            check_name(cluster)
        if not self.root.is_dir():
            return []
        folders = [self.root / cluster] if cluster else sorted(self.root.iterdir())
        records = []
        for folder in folders:
            if not folder.is_dir() or folder.name.startswith("."):
                continue
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name.endswith(".json") and not entry.name.startswith("."):
                        records.append(self._read(Path(entry.path)))
        return sorted(records, key=lambda record: (record.submitted, record.ref))

    def get(self, ref: str) -> JobRecord:
        """The job ``ref`` names: ``CLUSTER:ID``, or an ``ID`` only one cluster has."""
        cluster, sep, job_id = ref.rpartition(":")
        if sep and cluster:
            path = self.path(cluster, job_id)
            if path.is_file():
                return self._read(path)
            raise StoreError(f"fractale submitted no job {job_id!r} to cluster {cluster!r} "
                             f"(see `fractale jobs`)")
        matches = [record for record in self.all() if record.id == ref]
        if not matches:
            raise StoreError(f"fractale submitted no job {ref!r} (see `fractale jobs`)")
        if len(matches) > 1:
            refs = ", ".join(record.ref for record in matches)
            raise StoreError(f"job {ref!r} is on several clusters; name one of {refs}")
        return matches[0]
