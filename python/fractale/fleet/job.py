"""Jobs to place on the fleet: read from a path (``Job.from_path``) or from text
(``Job.from_text``), as a canonical jobspec or any batch script the translation layer reads,
with the software requirements they list or are given beside them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import yaml

from fractale.errors import JobspecError, StoreError
from fractale.fleet.requirements import Requirement, requirements_of

JobSource = Union[str, Path]


@dataclass
class Job:
    """A job to place: the canonical jobspec matched against graphs, the software it
    requires, and the text it came from (for writing its batch script)."""

    jobspec: Any  # fractale.Jobspec
    requires: list[Requirement]
    text: str
    source: str | None = None
    manager: str | None = None  # the workload manager the text was written for
    # A version 1 jobspec naming levels RFC 25 lacks (sockets, say), as upstream fractale's
    # examples do: read and matched as Fluxion reads it, level by level.
    beyond_rfc25: bool = False

    @property
    def per_node(self) -> bool:
        """Whether the request counts resources per node whatever lies between, rather than
        level by level: true of batch scripts and of version 1 jobspecs, whose rules
        (RFC 25) allow no level between a node and its cores; false of other canonical
        jobspecs, matched with Fluxion's rules as written."""
        return self.manager not in (None, "jobspec") or (
            self.jobspec.version == 1 and not self.beyond_rfc25)

    @classmethod
    def from_path(
        cls,
        path: str | Path,
        manager: str | None = None,
        requires: Iterable[Any] = (),
    ) -> Job:
        """Read the job in the file ``path`` (see ``from_text``)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise StoreError(f"no such job file: {path}") from None
        except OSError as err:
            raise StoreError(f"cannot read job {path}: {err.strerror}") from None
        except UnicodeDecodeError:
            raise JobspecError(f"{path} is not a text file") from None
        return cls.from_text(text, manager, requires, source=str(path))

    @classmethod
    def load(
        cls,
        job: JobSource,
        manager: str | None = None,
        requires: Iterable[Any] = (),
    ) -> Job:
        """A job given either way, as ``Fleet`` methods take one: a ``Path``, or a string of
        one line that does not open a JSON document, is a file (``from_path``); any other
        string is the job's text (``from_text``)."""
        if isinstance(job, Path):
            return cls.from_path(job, manager, requires)
        if "\n" not in job and not job.lstrip().startswith("{"):
            return cls.from_path(job, manager, requires)
        return cls.from_text(job, manager, requires)

    @classmethod
    def from_text(
        cls,
        text: str,
        manager: str | None = None,
        requires: Iterable[Any] = (),
        source: str | None = None,
    ) -> Job:
        """Read a job from its text: a canonical jobspec (YAML or JSON) or any batch script
        the translation layer reads (``manager`` names its workload manager when detection
        should not guess). ``requires`` adds software requirements (mappings or text such
        as ``gromacs>=2023``) to those the jobspec lists."""
        from fractale._core import Jobspec

        beyond_rfc25 = False
        if manager in (None, "jobspec") and _looks_like_jobspec(text):
            try:
                jobspec = Jobspec.from_str(text, source)
            except JobspecError:
                # What Fluxion's matcher reads, or the RFC 25 error when it reads nothing.
                try:
                    jobspec = Jobspec.from_str(text, source, strict=False)
                except JobspecError:
                    pass
                else:
                    beyond_rfc25 = True
                if not beyond_rfc25:
                    raise
            kind = "jobspec"
        else:
            from fractale.transform import detect, parse, render

            spec = parse(text, manager, file=source)
            kind = manager or detect(text)
            jobspec = Jobspec.from_str(render(spec, "jobspec"), source)
        wanted = requirements_of(jobspec.requires)
        wanted += [Requirement.parse(entry) for entry in requires]
        return cls(jobspec, wanted, text, source, kind, beyond_rfc25)

    def counts(self) -> dict[str, int]:
        return dict(self.jobspec.counts())

    @property
    def duration(self) -> float | None:
        return self.jobspec.duration


def _looks_like_jobspec(text: str) -> bool:
    try:
        document = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError):
        return False
    return isinstance(document, dict) and "resources" in document and "tasks" in document


def fixed_node_count(resources: Sequence[Mapping[str, Any]]) -> int | None:
    """How many nodes a request takes when its node counts (and every count above them) are
    plain numbers; None when a range or a request without nodes leaves it to the match."""

    def walk(level: Sequence[Mapping[str, Any]]) -> int | None:
        total = 0
        for vertex in level:
            count = vertex.get("count", 1)
            if vertex.get("type") == "node":
                if not isinstance(count, int):
                    return None
                total += count
                continue
            below = walk(vertex.get("with") or [])
            if below is None:
                return None
            if below:
                if not isinstance(count, int):
                    return None
                total += count * below
        return total

    nodes = walk(resources)
    return nodes or None
