"""YAML as fractale writes it: safe types only, keys in the order given, and multi-line
strings (scripts) as literal blocks so a manifest stays readable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

# libyaml's C parser and emitter when PyYAML was built with them, else the Python ones (the
# type checker sees the Python ones, whose interface the C ones share).
if TYPE_CHECKING:
    _SafeLoader = yaml.SafeLoader
    _SafeDumper = yaml.SafeDumper
else:
    _SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    _SafeDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_SafeDumper):
    """Safe YAML with multi-line strings as literal blocks."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # A literal block cannot hold trailing spaces, tabs or carriage returns faithfully.
    block = "\n" in value and not any(c in value for c in "\r\t") and all(
        line == line.rstrip() for line in value.split("\n"))
    if "\x85" in value:
        # A reader folds a raw NEL into a space; only a double-quoted escape keeps it.
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if block else None)


_Dumper.add_representer(str, _string)


def load(text: str) -> Any:
    return yaml.load(text, Loader=_SafeLoader)


def load_all(text: str) -> list[Any]:
    return list(yaml.load_all(text, Loader=_SafeLoader))


def dump(document: Any) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True)
