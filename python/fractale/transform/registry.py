"""The workload managers fractale knows, each registered under its name.

A manager reads its own job text into a ``JobSpec`` (with the losses it met) and writes a
``JobSpec`` back out (with the fields it could not express). Managers register themselves
with ``@register`` when their module is imported.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, TypeVar

from fractale.errors import TranslateError
from fractale.transform.model import JobSpec
from fractale.transform.report import Loss
from fractale.transform.submitter import Submitter

MANAGER_NAMES = ("flux", "jobspec", "slurm", "pbs", "lsf", "oar", "cobalt", "moab", "kubernetes")


class Manager(ABC):
    """One workload manager's reader and writer."""

    name: str = ""
    # How a user would name the file format in a message, e.g. "#SBATCH batch script".
    description: str = ""
    # Its submit/status/cancel adapter, set at the end of the manager's module.
    submitter: ClassVar[type[Submitter] | None] = None

    @abstractmethod
    def read(self, text: str, file: str | None = None) -> tuple[JobSpec, list[Loss]]:
        """The job ``text`` describes, and what of it could not be read."""

    @abstractmethod
    def write(self, spec: JobSpec) -> tuple[str, list[Loss]]:
        """``spec`` in this manager's syntax, and what of it could not be written."""

    @abstractmethod
    def claims(self, text: str) -> bool:
        """Whether ``text`` is written for this manager (used to detect the source)."""


_REGISTRY: dict[str, Manager] = {}

M = TypeVar("M", bound=type)


def register(cls: M) -> M:
    _REGISTRY[cls.name] = cls()
    return cls


def get(name: str) -> Manager:
    from fractale.transform import managers  # noqa: F401  (imports register every manager)

    key = name.strip().lower()
    if key not in _REGISTRY:
        raise TranslateError(
            f"unknown workload manager {name!r}",
            expected="one of " + ", ".join(MANAGER_NAMES),
        )
    return _REGISTRY[key]


def all_managers() -> list[Manager]:
    from fractale.transform import managers  # noqa: F401

    return [_REGISTRY[name] for name in MANAGER_NAMES]
