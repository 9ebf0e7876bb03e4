"""No corpus script loses a directive silently: every option of every directive is mapped
(the job read without it is a different job) or reported (a loss names its line), and
every field of a Kubernetes Job or a jobspec likewise."""

from __future__ import annotations

import copy
import shlex

import pytest
import yaml
from fractale.errors import TranslateError
from fractale.transform import read
from fractale.transform.directives import Context, DirectiveManager, split_lines
from fractale.transform.registry import get
from transform_corpus import ident, scripts

# Options that state what the model assumes already: reading them changes nothing because
# nothing differs. (Cobalt runs a batch script in script mode; a Grid Engine job runs where
# it was submitted with -cwd, in the shell of its #! line with -S naming the same.)
STATES_THE_DEFAULT = {("cobalt", "--mode script"), ("gridengine", "-cwd"),
                      ("gridengine", "-S /bin/bash")}


def options_of(manager: DirectiveManager, text: str) -> list[list[str]]:
    """A directive's words grouped by option: each option with its value."""
    words = manager.tokenize(text, Context(manager))
    groups: list[list[str]] = []
    i = 0
    while i < len(words):
        name, value, option = manager.match_option(words[i])
        group = [words[i]]
        i += 1
        takes = option.codec.takes_value if option is not None else (
            words[i:i + 1] and not words[i].startswith("-"))
        if value is None and takes and i < len(words):
            group.append(words[i])
            i += 1
        groups.append(group)
    return groups


def directive_cases():
    for path in scripts():
        manager = get(path.parent.name)
        if not isinstance(manager, DirectiveManager):
            continue
        lines = split_lines(path.read_text())
        for number, line in enumerate(lines, start=1):
            text = manager.directive_text(line)
            if text is None:
                continue
            for position, group in enumerate(options_of(manager, text)):
                yield pytest.param(path, number, position, id=f"{ident(path)}:{number}:"
                                   + " ".join(group))


@pytest.mark.parametrize(("path", "number", "position"), list(directive_cases()))
def test_every_directive_option_is_mapped_or_reported(path, number, position):
    manager = get(path.parent.name)
    source = path.read_text()
    spec, losses = read(source, manager.name)
    lines = split_lines(source)
    line = lines[number - 1]
    groups = options_of(manager, manager.directive_text(line))
    group = groups.pop(position)
    if (manager.name, " ".join(group)) in STATES_THE_DEFAULT:
        return
    reported = any(loss.line == number for loss in losses)
    lines[number - 1] = (f"{manager.prefix} " + " ".join(shlex.join(g) for g in groups)
                         if groups else "#")
    try:
        without, _ = read("\n".join(lines) + "\n", manager.name)
    except TranslateError:
        # The script is refused without it (a Flux batch script's only slot count): the
        # option is what made it a job at all.
        return
    mapped = without.replace(script="") != spec.replace(script="")
    assert mapped or reported, f"line {number}: {' '.join(group)} changes nothing and is " \
                               "not reported"


def leaves(node, where=()):
    """Every leaf of a document, as its path of keys and indexes."""
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from leaves(value, (*where, key))
    elif isinstance(node, list) and node:
        for index, value in enumerate(node):
            yield from leaves(value, (*where, index))
    else:
        yield where


def document_cases():
    for path in scripts():
        if isinstance(get(path.parent.name), DirectiveManager):
            continue
        for where in leaves(yaml.safe_load(path.read_text())):
            yield pytest.param(path, where, id=f"{ident(path)}:" + ".".join(map(str, where)))


# Leaves a reader checks but that carry nothing of the job (the document's kind, a
# container's own name, a jobspec's fixed batch command and its slot label).
STRUCTURE = {("apiVersion",), ("kind",), ("version",), ("restartPolicy",), ("name",),
             ("label",), ("slot",), ("type",), ("mode",), ("encoding",), ("per_slot",)}


@pytest.mark.parametrize(("path", "where"), list(document_cases()))
def test_every_field_of_a_job_document_is_mapped_or_reported(path, where):
    manager = path.parent.name
    document = yaml.safe_load(path.read_text())
    spec, losses = read(path.read_text(), manager)
    if (where[-1],) in STRUCTURE or (where[-2:] and where[-2] == "command"):
        return
    changed = copy.deepcopy(document)
    holder = changed
    for key in where[:-1]:
        holder = holder[key]
    holder[where[-1]] = _other(holder[where[-1]])
    try:
        other, noticed = read(yaml.safe_dump(changed), manager)
    except TranslateError:
        return  # a value the reader refuses is one it reads
    mapped = other != spec or len(noticed) != len(losses)
    named = [str(part) for part in where if isinstance(part, str)]
    reported = any(loss.directive and any(part in loss.directive for part in named[-2:])
                   for loss in losses)
    assert mapped or reported, f"{'.'.join(map(str, where))} changes nothing and is not reported"


def _other(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    return "x"
