"""Software requirements and versions: what a job asks of a cluster's software subsystems
(``attributes.system.requires``), how versions compare, and whether a cluster's installed
software meets each requirement."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fractale._core import REQUIREMENT_KEYS, SOFTWARE_TYPES
from fractale.errors import JobspecError

if TYPE_CHECKING:
    from fractale.generate.software import Software

_PIECE = re.compile(r"\d+|[A-Za-z]+")


def version_key(version: str) -> tuple[tuple[int, int, str], ...]:
    """A sort key for a version: numeric parts compare as numbers, words as text, and a
    number sorts above a word (``2023.1`` > ``2023.rc1``)."""
    return tuple(
        (1, int(p), "") if p.isdigit() else (0, 0, p.lower()) for p in _PIECE.findall(version)
    )


def _has_prefix(version: tuple, prefix: tuple) -> bool:
    return version[: len(prefix)] == prefix


_CLAUSE = re.compile(r"^(>=|<=|==|!=|>|<|=)?\s*(\S*)$")


@dataclass(frozen=True)
class VersionSpec:
    """A version requirement: comma-separated clauses that must all hold.

    ``>=2023``, ``>2023``, ``<=2024.1``, ``<2024``, ``==2023.1`` (exactly), ``!=2023.2``;
    a bare ``2023`` (or ``@2023``) matches 2023 and every 2023.x; spack ranges ``2022:2023``
    (inclusive, the upper bound a prefix), ``2022:`` and ``:2023``.
    """

    text: str
    clauses: tuple[tuple[str, tuple, tuple], ...] = ()

    @classmethod
    def parse(cls, text: Any) -> VersionSpec:
        raw = "" if text is None else str(text).strip()
        if raw in ("", "*", "any"):
            return cls(raw)
        clauses = []
        for piece in raw.split(","):
            piece = piece.strip().lstrip("@")
            if ":" in piece:
                low, _, high = piece.partition(":")
                if low.strip():
                    clauses.append(("range-low", version_key(low), ()))
                if high.strip():
                    clauses.append(("range-high", version_key(high), ()))
                continue
            match = _CLAUSE.match(piece)
            if not match or not match.group(2) or not version_key(match.group(2)):
                raise JobspecError(f"cannot read the version requirement {raw!r}")
            clauses.append((match.group(1) or "prefix", version_key(match.group(2)), ()))
        return cls(raw, tuple(clauses))

    def __str__(self) -> str:
        return self.text

    def matches(self, version: str | None) -> bool:
        if not self.clauses:
            return True
        if not version:
            return False
        key = version_key(version)
        for operator, bound, _ in self.clauses:
            if operator in (">=", "range-low") and not key >= bound:
                return False
            if operator == ">" and not key > bound:
                return False
            if operator == "<=" and not key <= bound:
                return False
            if operator == "<" and not key < bound:
                return False
            if operator in ("==", "=") and key != bound:
                return False
            if operator == "!=" and key == bound:
                return False
            if operator == "prefix" and not _has_prefix(key, bound):
                return False
            if operator == "range-high" and not (key <= bound or _has_prefix(key, bound)):
                return False
        return True


# Software requirements -------------------------------------------------------------------

_REQUIREMENT_TEXT = re.compile(r"^\s*([A-Za-z0-9_.+\-]+?)\s*(?:@|(?=[<>=!]))(.*)$")
# Keys a software requirement may have (the core checks jobspecs against the same list).
_REQUIREMENT_KEYS = frozenset(REQUIREMENT_KEYS)
# fractale's `kind` and upstream's `type`, both naming the kind of software vertex.
_KINDS = {"spack": "package", "package": "package", "module": "module"}


@dataclass(frozen=True)
class Requirement:
    """One software requirement: a name, optionally a version, compiler, target, the kind
    of software (a spack ``package``, a ``module``, or a package's ``binary`` or
    ``library``: upstream fractale's ``type``), and any other attribute compspec records
    (``os``, ``platform``, ``vendor``, ``compiler_version``) as ``attributes``."""

    name: str
    version: VersionSpec = field(default_factory=lambda: VersionSpec(""))
    compiler: str | None = None
    target: str | None = None
    kind: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, entry: Any) -> Requirement:
        """From a jobspec's ``requires`` entry (a mapping) or text like ``gromacs>=2023``,
        ``gromacs@2023.1`` or ``gromacs``."""
        if isinstance(entry, str):
            match = _REQUIREMENT_TEXT.match(entry)
            if match:
                return cls(match.group(1), VersionSpec.parse(match.group(2)))
            if not re.fullmatch(r"\s*[A-Za-z0-9_.+\-]+\s*", entry):
                raise JobspecError(f"cannot read the software requirement {entry!r}")
            return cls(entry.strip())
        if not isinstance(entry, Mapping):
            raise JobspecError(
                f"a software requirement is a mapping with a name, not {entry!r}"
            )
        unknown = sorted(set(entry) - _REQUIREMENT_KEYS)
        if unknown:
            raise JobspecError(
                f"software requirement {dict(entry)!r} has unknown keys {', '.join(unknown)}; "
                f"expected {', '.join(REQUIREMENT_KEYS)}"
            )
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise JobspecError(f"software requirement {dict(entry)!r} needs a name")
        kind = entry.get("kind")
        if kind is not None and kind not in _KINDS:
            raise JobspecError(f"software kind must be spack or module, not {kind!r}")
        kind = _KINDS[kind] if kind is not None else None
        given_type = entry.get("type")
        if given_type is not None:
            if given_type not in SOFTWARE_TYPES:
                raise JobspecError(
                    f"software type must be one of {', '.join(SOFTWARE_TYPES)}, "
                    f"not {given_type!r}"
                )
            if kind is not None and kind != given_type:
                raise JobspecError(
                    f"software requirement {dict(entry)!r}: kind {entry['kind']!r} and "
                    f"type {given_type!r} disagree"
                )
            kind = given_type
        known = {"name", "version", "compiler", "target", "kind", "type"}
        attributes = tuple(
            sorted((key, str(value)) for key, value in entry.items() if key not in known)
        )
        return cls(
            name.strip(),
            VersionSpec.parse(entry.get("version")),
            str(entry["compiler"]) if entry.get("compiler") else None,
            str(entry["target"]) if entry.get("target") else None,
            kind,
            attributes,
        )

    def __str__(self) -> str:
        text = self.name + (f" {self.version}" if self.version.text else "")
        if self.kind in ("binary", "library"):
            text = f"{self.kind} {text}"
        if self.compiler:
            text += f" %{self.compiler}"
        if self.target:
            text += f" target={self.target}"
        for key, value in self.attributes:
            text += f" {key}={value}"
        return text

    def accepts(self, item: Software) -> bool:
        if item.name.lower() != self.name.lower():
            return False
        if self.kind and item.kind != self.kind:
            return False
        if not self.version.matches(item.version):
            return False
        if self.compiler and not _compiler_matches(self.compiler, item.compiler):
            return False
        if self.target and (item.target or "").lower() != self.target.lower():
            return False
        return all(
            item.attributes.get(key, "").lower() == value.lower()
            for key, value in self.attributes
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.version.text:
            out["version"] = self.version.text
        for key in ("compiler", "target"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.kind in ("package", "module"):
            out["kind"] = "spack" if self.kind == "package" else self.kind
        elif self.kind:
            out["type"] = self.kind
        out.update(self.attributes)
        return out


def _compiler_matches(wanted: str, built_with: str | None) -> bool:
    """``gcc`` accepts any gcc; ``gcc@12`` or ``gcc>=12`` also checks the version."""
    if not built_with:
        return False
    name, _, version = built_with.partition("@")
    wanted_name, wanted_version = Requirement.parse(wanted).name, Requirement.parse(wanted).version
    return name.lower() == wanted_name.lower() and wanted_version.matches(version or None)


def requirements_of(requires: Iterable[Any]) -> list[Requirement]:
    """The software requirements of a jobspec's ``attributes.system.requires``, as the core
    returns them once checked (with the place of any unknown key): mappings
    ``{software: [...]}`` and software entries given directly."""
    out: list[Requirement] = []
    for entry in requires:
        if isinstance(entry, Mapping) and "name" not in entry:
            software = entry.get("software") or []
            if not isinstance(software, list):
                software = [software]
            out += [Requirement.parse(item) for item in software]
        else:
            out.append(Requirement.parse(entry))
    return out


@dataclass(frozen=True)
class RequirementCheck:
    """Whether one requirement is met on one cluster, by what, or why not."""

    requirement: Requirement
    software: Software | None
    reason: str | None = None

    @property
    def met(self) -> bool:
        return self.software is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "requirement": self.requirement.to_dict(),
            "met": self.met,
            "software": self.software.to_dict() if self.software else None,
            "reason": self.reason,
        }


def check_requirement(requirement: Requirement, installed: Sequence[Software]) -> RequirementCheck:
    """The best installed software meeting ``requirement`` (the highest version; spack
    packages before modules at the same version), or why there is none."""
    matching = [item for item in installed if requirement.accepts(item)]
    if matching:
        best = max(
            matching,
            key=lambda s: (version_key(s.version or ""), s.kind == "package", s.load),
        )
        return RequirementCheck(requirement, best)
    if not installed:
        return RequirementCheck(requirement, None, "no software subsystem graph")
    named = [item for item in installed if item.name.lower() == requirement.name.lower()]
    if not named:
        return RequirementCheck(requirement, None, f"{requirement.name} is not installed")
    found = ", ".join(sorted({_describe(item) for item in named}))
    return RequirementCheck(requirement, None, f"found {found}; needs {requirement}")


def _describe(item: Software) -> str:
    text = item.label
    if item.compiler:
        text += f"%{item.compiler}"
    if item.target:
        text += f" target={item.target}"
    return text


