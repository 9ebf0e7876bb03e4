"""Whatever the input, reading either gives a spec or a TranslateError naming the problem,
and a spec that was read can be written for every manager: never a traceback."""

import copy

import pytest
import yaml
from fractale.errors import TranslateError
from fractale.transform import read, write
from fractale.transform.directives import DirectiveManager
from fractale.transform.registry import get, names
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transform_corpus import scripts

SETTINGS = settings(max_examples=80, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
PREFIX = {name: get(name).prefix for name in names() if isinstance(get(name), DirectiveManager)}
VALUES = ["", "0", "1", "-1", "abc", "2:00", "1-10:2%3", "a:b", "x=y", "select=2:ncpus=x",
          "nodes=a+b:ppn=x", "/nodes=x", "num=a", "span[", "afterok:", "%", "{{", "'", '"',
          "\\", "9" * 25, "1.5", "now+", "ALL,X", "-", "--", "[1-", "#", "$(x)"]


def directive_lines(manager):
    names = [name for option in get(manager).options for name in option.names] + ["-Z"]
    token = st.builds(lambda name, value, form: [f"{name}={value}", name, f"{name} {value}",
                                                 f"{name}{value}"][form],
                      st.sampled_from(names), st.sampled_from(VALUES), st.integers(0, 3))
    line = st.lists(token, min_size=1, max_size=3).map(
        lambda tokens: f"{PREFIX[manager]} " + " ".join(tokens))
    return st.lists(line, min_size=1, max_size=4)


def read_then_write_everywhere(text, manager):
    try:
        spec, _ = read(text, manager)
    except TranslateError as err:
        assert str(err)
        return
    for target in names():
        write(spec, target)


@pytest.mark.parametrize("manager", sorted(PREFIX))
def test_any_directives_read_or_fail_cleanly(manager):
    @SETTINGS
    @given(directive_lines(manager), st.sampled_from(VALUES))
    def check(lines, count):
        text = "\n".join(["#!/bin/bash", *lines, f"srun -n {count} ./app"]) + "\n"
        read_then_write_everywhere(text, manager)

    check()


JUNK = [None, 0, -1, "x", [], {}, [1], {"a": 1}, 1.5, True, [{"scheme": 3}], {"with": 2}]
DOCUMENTS = scripts("jobspec") + scripts("kubernetes")


def mutated(document, path, junk):
    """``document`` with the node at a pseudo-random path replaced by ``junk``."""
    node = document = copy.deepcopy(document)
    for step in path:
        children = list(node) if isinstance(node, dict) else list(range(len(node))) if (
            isinstance(node, list)) else []
        if not children:
            break
        key = children[step % len(children)]
        child = node[key]
        if not isinstance(child, (dict, list)) or not child or step % 3 == 0:
            node[key] = junk
            break
        node = child
    return document


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_malformed_documents_read_or_fail_cleanly(path):
    base = yaml.safe_load(path.read_text())

    @settings(max_examples=40, deadline=None)
    @given(st.lists(st.integers(0, 50), min_size=1, max_size=6), st.sampled_from(JUNK))
    def check(steps, junk):
        read_then_write_everywhere(yaml.safe_dump(mutated(base, steps, junk)), path.parent.name)

    check()
