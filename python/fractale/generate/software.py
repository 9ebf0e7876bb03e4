"""Software subsystem graphs: what a cluster has installed, from spack and environment modules.

A software graph is stored as its own subsystem (``spack.json``, ``modules.json``) but is,
like every graph the core loads, a tree of ``contains`` edges: a root of type ``software``
and one vertex per installed package (type ``package``, from spack) or modulefile (type
``module``). A vertex's ``basename`` is the software's name; its ``properties`` hold
``version``, ``compiler`` and ``target`` where known, and always ``load``: the shell line
that puts it in a job's environment (``spack load gromacs@2023.1/abcdefg``,
``module load gromacs/2023.1``).

Graphs written by compspec (compspec-spack and the other plugins) are read as well: vertices
keyed by label, the software's ``name``, ``version``, ``compiler`` (with
``compiler_version``), ``target``, ``os``, ``platform`` and ``vendor`` in
``metadata.attributes``, and ``binary`` and ``library`` vertices below each package, which
are found through the package that contains them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fractale.errors import FractaleError
from fractale.generate.builder import GraphBuilder

# Vertex types that are software a job can ask for: spack packages, modulefiles, and the
# executables and libraries compspec lists below a package.
SOFTWARE_TYPES = ("package", "module", "binary", "library")
# Relations that restate a `contains` edge from the child's end.
_REVERSE = ("in", "contained-by", "containedBy", "ins")


class SoftwareError(FractaleError):
    """A spack database or module tree that cannot be read."""


@dataclass(frozen=True)
class Software:
    """One installed piece of software a job can load."""

    name: str
    version: str | None
    kind: str  # "package" (spack), "module", or a package's "binary" or "library"
    load: str
    compiler: str | None = None
    target: str | None = None
    subsystem: str = ""
    # Every attribute the graph gives (compspec's os, platform, vendor, ...), as text.
    attributes: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    # The package a binary or library belongs to.
    package: str | None = None

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}" if self.version else self.name

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name, "version": self.version, "kind": self.kind, "load": self.load}
        if self.compiler:
            out["compiler"] = self.compiler
        if self.target:
            out["target"] = self.target
        if self.package:
            out["package"] = self.package
        if self.attributes:
            out["attributes"] = dict(self.attributes)
        out["subsystem"] = self.subsystem
        return out


def software_graph(items: Iterable[Software], subsystem: str) -> dict[str, Any]:
    """A software graph holding ``items``, its root named after ``subsystem``."""
    builder = GraphBuilder()
    root = builder.add("software", basename=subsystem, name=f"{subsystem}0")
    for ident, item in enumerate(items):
        properties = {"version": item.version or "", "load": item.load}
        if item.compiler:
            properties["compiler"] = item.compiler
        if item.target:
            properties["target"] = item.target
        vertex_name = re.sub(r"[^A-Za-z0-9._@+-]", "-", item.label) + f"-{ident}"
        builder.add(
            item.kind, root, ident=ident, basename=item.name, name=vertex_name,
            properties=properties,
        )
    return builder.document()


def software_in(document: dict[str, Any], subsystem: str = "") -> list[Software]:
    """Every package, module, binary or library a software graph lists (nothing for a
    hardware graph), in file order."""
    graph = document.get("graph") or {}
    nodes = graph.get("nodes") or []
    pairs = nodes.items() if isinstance(nodes, dict) else ((None, node) for node in nodes)
    vertices: dict[str, dict[str, Any]] = {}
    for key, node in pairs:
        if isinstance(node, dict):
            ident = node.get("id", key)
            vertices[str(ident)] = node.get("metadata") or {}
    parent = _parents(graph.get("edges") or [], vertices)
    packages: dict[str, Software] = {}
    found = []
    for ident, metadata in vertices.items():
        if metadata.get("type") in ("package", "module"):
            item = _software(metadata, subsystem)
            if item is not None:
                packages[ident] = item
                found.append(item)
        elif metadata.get("type") in ("binary", "library"):
            owner = _owner(ident, parent, vertices)
            package = _software(vertices[owner], subsystem) if owner else None
            item = _provided(metadata, package, subsystem)
            if item is not None:
                found.append(item)
    return found


def _parents(edges: list[Any], vertices: dict[str, Any]) -> dict[str, str]:
    """Each vertex's containing vertex, from ``contains`` edges or their reverse ``in``."""
    parent: dict[str, str] = {}
    for edge in edges:
        if not isinstance(edge, dict):
            continue
        source, target = str(edge.get("source")), str(edge.get("target"))
        meta = edge.get("metadata") or {}
        relation = edge.get("relation")
        named = meta.get("name")
        if relation is None and isinstance(named, dict) and named:
            relation = next(iter(named.values()))
        if relation in _REVERSE:
            source, target = target, source
        if source in vertices and target in vertices:
            parent.setdefault(target, source)
    return parent


def _owner(ident: str, parent: dict[str, str], vertices: dict[str, Any]) -> str | None:
    """The package (or module) above a binary or library."""
    seen = {ident}
    current = parent.get(ident)
    while current is not None and current not in seen:
        if vertices[current].get("type") in ("package", "module"):
            return current
        seen.add(current)
        current = parent.get(current)
    return None


def _text_attributes(metadata: dict[str, Any]) -> dict[str, str]:
    attributes = metadata.get("attributes")
    if not isinstance(attributes, dict):
        return {}
    return {
        str(key): str(value)
        for key, value in attributes.items()
        if isinstance(value, (str, int, float)) and not isinstance(value, bool)
    }


def _software(metadata: dict[str, Any], subsystem: str) -> Software | None:
    """A package or module vertex, in fractale's form (``properties``) or compspec's
    (``attributes``)."""
    kind = metadata["type"]
    properties = metadata.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    attributes = _text_attributes(metadata)
    basename = metadata.get("basename")
    name = attributes.get("name") or (basename if basename and basename != kind else None)
    name = name or metadata.get("name")
    if not name:
        return None
    name = str(name)
    version = properties.get("version") or attributes.get("version") or None
    load = properties.get("load")
    if kind == "module" and "/" in name:
        # compspec-modules: `name` is the module as loaded (gromacs/2023.1), `software`
        # the software it holds.
        load = load or f"module load {name}"
        name, _, suffix = name.rpartition("/")
        name = attributes.get("software") or name
        version = version or suffix
    compiler = properties.get("compiler") or attributes.get("compiler") or None
    if compiler and "@" not in compiler and attributes.get("compiler_version"):
        compiler = f"{compiler}@{attributes['compiler_version']}"
    load = load or _default_load(kind, name, {"version": version})
    return Software(
        name=name,
        version=str(version) if version else None,
        kind=kind,
        load=str(load),
        compiler=str(compiler) if compiler else None,
        target=properties.get("target") or attributes.get("target") or None,
        subsystem=subsystem,
        attributes=attributes,
    )


def _provided(
    metadata: dict[str, Any], package: Software | None, subsystem: str
) -> Software | None:
    """A binary or library, which a job gets by loading the package that holds it."""
    own = _text_attributes(metadata)
    name = own.get("name") or metadata.get("name")
    if not name or package is None:
        return None
    return Software(
        name=str(name),
        version=package.version,
        kind=metadata["type"],
        load=package.load,
        compiler=package.compiler,
        target=package.target,
        subsystem=subsystem,
        attributes={**package.attributes, **own},
        package=package.name,
    )


def _default_load(kind: str, name: str, properties: dict[str, Any]) -> str:
    version = properties.get("version")
    if kind == "module":
        return f"module load {name}/{version}" if version else f"module load {name}"
    return f"spack load {name}@{version}" if version else f"spack load {name}"


# spack -----------------------------------------------------------------------------------


def _spack_spec(record: dict[str, Any]) -> dict[str, Any]:
    spec = record.get("spec") or {}
    if "name" not in spec and len(spec) == 1:
        # Databases before version 6 keyed the spec by the package name.
        (name, inner), = spec.items()
        spec = dict(inner, name=name)
    return spec


def _spack_target(spec: dict[str, Any]) -> str | None:
    target = (spec.get("arch") or {}).get("target")
    if isinstance(target, dict):
        target = target.get("name")
    return str(target) if target else None


def _spack_compiler(spec: dict[str, Any], installs: dict[str, Any]) -> str | None:
    compiler = spec.get("compiler")
    if isinstance(compiler, dict) and compiler.get("name"):
        version = compiler.get("version")
        return f"{compiler['name']}@{version}" if version else str(compiler["name"])
    # Since spack 1.0 a compiler is a dependency providing the c, cxx or fortran virtual.
    for dependency in spec.get("dependencies") or []:
        virtuals = (dependency.get("parameters") or {}).get("virtuals") or []
        if {"c", "cxx", "fortran"} & set(virtuals):
            provider = _spack_spec(installs.get(dependency.get("hash"), {}))
            version = provider.get("version")
            name = dependency.get("name")
            return f"{name}@{version}" if version else name
    return None


def spack_software(text: str, source: str = "index.json") -> list[Software]:
    """Installed packages of a spack database (``<install root>/.spack-db/index.json``)."""
    try:
        document = json.loads(text)
        installs = document["database"]["installs"]
    except (ValueError, KeyError, TypeError):
        raise SoftwareError(
            f"{source} is not a spack database (expected database.installs in index.json)"
        ) from None
    found = []
    for key, record in installs.items():
        if not isinstance(record, dict) or not record.get("installed", True):
            continue
        spec = _spack_spec(record)
        name, version = spec.get("name"), spec.get("version")
        if not name:
            raise SoftwareError(f"{source}: install {key} has no package name")
        digest = str(spec.get("hash") or key)
        short = digest[:7]
        load = f"spack load {name}@{version}/{short}" if version else f"spack load /{short}"
        found.append(
            Software(
                name=str(name),
                version=str(version) if version is not None else None,
                kind="package",
                load=load,
                compiler=_spack_compiler(spec, installs),
                target=_spack_target(spec),
                subsystem="spack",
            )
        )
    found.sort(key=lambda item: (item.name, item.version or "", item.load))
    return found


def spack_database(path: str | os.PathLike) -> Path:
    """The index.json of a spack database given as the file, its .spack-db folder or the
    install root holding it."""
    path = Path(path)
    for candidate in (path, path / "index.json", path / ".spack-db" / "index.json"):
        if candidate.is_file():
            return candidate
    raise SoftwareError(f"no spack database at {path} (looked for .spack-db/index.json)")


# environment modules ---------------------------------------------------------------------

_HIERARCHY = re.compile(r"(?:^|/)Compiler/([^/]+)/([^/]+)(?:/|$)")
_SPACK_ARCH = re.compile(r"(?:^|/)linux-[^/-]+-([^/]+)/([^/]+)/([^/]+)(?:/|$)")


def _modulefile_kind(path: Path) -> str | None:
    if path.suffix == ".lua":
        return "lua"
    try:
        with open(path, "rb") as stream:
            head = stream.read(8)
    except OSError:
        return None
    return "tcl" if head.startswith(b"#%Module") else None


def _where_built(directory: str) -> tuple[str | None, str | None]:
    """Compiler and target a hierarchical MODULEPATH entry implies, where it implies them:
    Lmod's ``Compiler/<name>/<version>`` and spack's ``linux-<os>-<target>/<name>/<version>``."""
    match = _HIERARCHY.search(directory)
    if match:
        return f"{match.group(1)}@{match.group(2)}", None
    match = _SPACK_ARCH.search(directory)
    if match:
        return f"{match.group(2)}@{match.group(3)}", match.group(1)
    return None, None


def module_software(modulepath: str | Iterable[str]) -> list[Software]:
    """Modulefiles (Tcl ``#%Module`` and Lua ``.lua``) along a MODULEPATH.

    A module's name is its path below the MODULEPATH entry: ``gromacs/2023.1`` is module
    ``gromacs`` version ``2023.1``; a file directly in the entry has no version. As with
    ``module avail``, a module found in an earlier entry hides one of the same name later.
    """
    directories = modulepath.split(":") if isinstance(modulepath, str) else list(modulepath)
    directories = [d for d in directories if d]
    if not directories:
        raise SoftwareError("MODULEPATH is empty: give directories of modulefiles")
    seen: set[str] = set()
    found: list[Software] = []
    for directory in directories:
        root = Path(directory).expanduser()
        if not root.is_dir():
            continue
        compiler, target = _where_built(str(root))
        for current, folders, files in os.walk(root):
            folders[:] = sorted(f for f in folders if not f.startswith("."))
            for file in sorted(files):
                if file.startswith("."):
                    continue
                path = Path(current) / file
                if _modulefile_kind(path) is None:
                    continue
                relative = path.relative_to(root).as_posix()
                full = relative[:-4] if relative.endswith(".lua") else relative
                if full in seen:
                    continue
                seen.add(full)
                name, _, version = full.rpartition("/")
                if not name:
                    name, version = version, ""
                # Lmod shows a Compiler/<name>/<version> tree once that compiler is loaded.
                load = f"module load {full}"
                if compiler and _HIERARCHY.search(str(root)):
                    load = f"module load {compiler.replace('@', '/')} {full}"
                found.append(
                    Software(
                        name=name,
                        version=version or None,
                        kind="module",
                        load=load,
                        compiler=compiler,
                        target=target,
                        subsystem="modules",
                    )
                )
    if not any(Path(d).expanduser().is_dir() for d in directories):
        raise SoftwareError(f"no MODULEPATH directory exists: {':'.join(directories)}")
    return found
