"""The workload managers fractale knows, each registered under its name.

A manager reads its own job text into a ``BatchJob`` (with the losses it met) and writes a
``BatchJob`` back out (with the fields it could not express). Everything fractale knows of one
manager lives on its class, in its own module under ``fractale.transform.managers``: its
names, its directive syntax, the job variables it sets and the launcher it writes. Managers
register themselves with ``@register``; every module of that package is imported on first
use, so adding a manager is adding its module (and its corpus folder), nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar, TypeVar

from fractale.errors import TranslateError
from fractale.transform.model import BatchJob
from fractale.transform.report import Loss
from fractale.transform.submitter import Submitter

if TYPE_CHECKING:
    from fractale.transform.launchers import LaunchWriter


class Manager(ABC):
    """One workload manager's reader and writer."""

    name: ClassVar[str] = ""
    # How a user would name the file format in a message, e.g. "#SBATCH batch script".
    description: ClassVar[str] = ""
    # The job environment variables a running job of this manager reads: concept -> the
    # variable's name (the concepts are listed in ``fractale.transform.variables.CONCEPTS``).
    variables: ClassVar[Mapping[str, str]] = {}
    # Other spellings it also sets, read but never written: variable -> concept.
    variable_aliases: ClassVar[Mapping[str, str]] = {}
    # The prefixes of every variable it documents (``SLURM_``), so that one fractale has no
    # concept for is reported rather than carried silently; empty: the prefix its
    # ``variables`` share.
    variable_prefixes: ClassVar[tuple[str, ...]] = ()
    # How a parallel launch is written for this manager; None leaves launch lines as they are.
    launch: ClassVar[LaunchWriter | None] = None
    # Whether a cluster can run this manager as its scheduler (a jobspec is only a format).
    is_scheduler: ClassVar[bool] = True
    # Whether standard error goes to the output file when no error file is named, so that
    # joined output needs no directive.
    joins_output: ClassVar[bool] = False
    # The environment a job gets when no export policy is written ("all": the submitting
    # shell's, which Slurm and PBS -V give).
    default_export: ClassVar[str | None] = None
    # The commands of its own a job script may run (``scontrol``, ``qstat``); one of another
    # manager's found in a script is reported, since the target does not have it.
    commands: ClassVar[tuple[str, ...]] = ()
    # How a list of queues (the first preferred) is written; None when one queue is taken.
    queue_separator: ClassVar[str | None] = None
    # Its submit/status/cancel adapter, set at the end of the manager's module.
    submitter: ClassVar[type[Submitter] | None] = None

    @abstractmethod
    def read(self, text: str, file: str | None = None) -> tuple[BatchJob, list[Loss]]:
        """The job ``text`` describes, and what of it could not be read."""

    @abstractmethod
    def write(self, spec: BatchJob) -> tuple[str, list[Loss]]:
        """``spec`` in this manager's syntax, and what of it could not be written."""

    @abstractmethod
    def claims(self, text: str) -> bool:
        """Whether ``text`` is written for this manager (used to detect the source)."""


_REGISTRY: dict[str, Manager] = {}
_LOADED: list[bool] = []

M = TypeVar("M", bound="type[Manager]")


def register(cls: M) -> M:
    _REGISTRY[cls.name] = cls()
    return cls


def _load() -> dict[str, Manager]:
    """The registry, with every module of ``fractale.transform.managers`` imported."""
    if not _LOADED:
        from fractale.transform import managers

        for module in pkgutil.iter_modules(managers.__path__):
            importlib.import_module(f"{managers.__name__}.{module.name}")
        _LOADED.append(True)
    return _REGISTRY


def names() -> tuple[str, ...]:
    """Every manager's name, in alphabetical order."""
    return tuple(sorted(_load()))


def scheduler_names() -> tuple[str, ...]:
    """The managers a cluster can run as its scheduler."""
    return tuple(name for name in names() if _REGISTRY[name].is_scheduler)


def get(name: str) -> Manager:
    registry = _load()
    key = name.strip().lower()
    if key not in registry:
        raise TranslateError(
            f"unknown workload manager {name!r}",
            expected="one of " + ", ".join(names()),
        )
    return registry[key]


def all_managers() -> list[Manager]:
    return [_REGISTRY[name] for name in names()]
