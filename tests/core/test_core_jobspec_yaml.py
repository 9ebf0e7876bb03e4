"""The core reads jobspec YAML as Flux's Python tools do (PyYAML's safe loader), or refuses,
at a line and column, what a jobspec (a JSON document) cannot hold.

Differential: every jobspec in the repository, the translation corpus and the shared
conformance material, and random documents and scalars, read by both."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from fractale import Jobspec, JobspecError
from fractale._core import load_yaml
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "conformance"


def pyyaml(text: str) -> Any:
    """What Flux's Python tools read: ``yaml.safe_load``."""
    return yaml.safe_load(text)


def holdable(value: Any, depth: int = 0) -> bool:
    """Whether a PyYAML value is one a JSON document (so a jobspec) can hold."""
    if depth > 128:
        return False
    if value is None or isinstance(value, (bool, str)):
        return True
    if isinstance(value, int):
        return -(2**63) <= value <= 2**64 - 1
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(holdable(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and holdable(v, depth + 1) for k, v in value.items())
    return False


def same(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (``True == 1`` is not the same)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def agree(text: str, flow: bool = False) -> Any:
    """The core gives PyYAML's value, or refuses (with a line and column) exactly when
    PyYAML fails or gives what JSON cannot hold. In flow collections (``flow``) the two
    grammars' documented differences are allowed: a plain ``-`` ending an item is refused,
    a plain item opening with ``:`` is read. Returns PyYAML's value."""
    try:
        expected = pyyaml(text)
    except (yaml.YAMLError, ValueError, RecursionError):
        expected = pytest  # a sentinel: PyYAML refuses
    try:
        got = load_yaml(text, "doc.yaml")
    except JobspecError as err:
        line_breaks_to_yaml_1_1_only = any(c in text for c in "\x85\u2028\u2029")
        dash_ending_a_flow_item = flow and "cannot start with '-'" in str(err)
        assert (expected is pytest or not holdable(expected) or line_breaks_to_yaml_1_1_only
                or dash_ending_a_flow_item), (
            f"the core refused what PyYAML reads as {expected!r}: {err}")
        assert err.location.startswith("line "), err
        return expected
    if expected is pytest and flow and any(
            part.lstrip(" [{").startswith(":") for part in text.split(", ")):
        return expected
    assert expected is not pytest, f"PyYAML refuses {text!r}, the core read {got!r}"
    assert same(got, expected), f"{text!r}: core {got!r}, PyYAML {expected!r}"
    return expected


def yaml_files() -> list[Path]:
    roots = [ROOT / "examples", ROOT / "tests"]
    if SHARED.is_dir():
        roots.append(SHARED)
    elif os.environ.get("CI") == "true":
        pytest.fail(f"{SHARED} is absent under CI=true")
    return sorted(p for root in roots for p in root.rglob("*.y*ml") if p.is_file())


def test_every_yaml_file_here_reads_as_pyyaml_reads_it():
    """Every jobspec (and every other YAML file: manifests, plans) reads to PyYAML's value,
    or is refused at a place for what JSON cannot hold."""
    jobspecs = 0
    for path in yaml_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        document = agree(text)
        if isinstance(document, dict) and "resources" in document and "tasks" in document:
            assert same(load_yaml(text, str(path)), document), path
            jobspecs += 1
    # The corpus and the examples alone hold dozens; the conformance material hundreds.
    assert jobspecs >= (400 if SHARED.is_dir() else 20), jobspecs


@pytest.mark.parametrize(("text", "value"), [
    # YAML 1.1 booleans as PyYAML spells them; y and n stay text.
    ("[yes, No, ON, off, True, FALSE, y, n]",
     [True, False, True, False, True, False, "y", "n"]),
    # Integers: octal with a leading 0, hexadecimal, binary, underscores, base 60;
    # YAML 1.2's 0o17 is text to PyYAML.
    ("[0755, 0x1F, -0b101, 1_000, '1_000', 1:30, 0o17, +12, -0]",
     [493, 31, -5, 1000, "1_000", 90, "0o17", 12, 0]),
    # Floats need a dot; exponents a sign.
    ("[1.5, 1.0e+3, 1e3, .5, 1:30.5, 1_0.2_5]", [1.5, 1000.0, "1e3", 0.5, 90.5, 10.25]),
    ("[~, null, NULL, '', 'null']", [None, None, None, "", "null"]),
    ("a: &base {x: 1, y: 2}\nb:\n  <<: *base\n  y: 3\nc: *base\n",
     {"a": {"x": 1, "y": 2}, "b": {"x": 1, "y": 3}, "c": {"x": 1, "y": 2}}),
    ("m:\n  <<: [{a: 1}, {a: 2, b: 2}]\n", {"m": {"a": 1, "b": 2}}),
    ("[!!str 12, !!int '12', ! 12, ! '12', !!float 1, \"yes\"]",
     ["12", 12, 12, 12, 1.0, "yes"]),
    ("a: 1\na: 2\nb: 3\n", {"a": 2, "b": 3}),
])
def test_scalars_read_as_pyyaml_reads_them(text, value):
    assert same(load_yaml(text), value)
    assert same(pyyaml(text), value)


@pytest.mark.parametrize(("text", "location", "message"), [
    ("a: 1\nwhen: 2024-01-01\n", "line 2 column 7", "date or time"),
    ("x: .inf\n", "line 1 column 4", "infinite"),
    ("x: 99999999999999999999\n", "line 1 column 4", "outside the integers"),
    ("resources:\n  1: core\n", "line 2 column 3", "not text"),
    ("yes: 1\n", "line 1 column 1", "not text"),
    ("a: !!binary aGVsbG8=\n", "line 1 column 4", "tag"),
    ("a: !custom x\n", "line 1 column 4", "tag"),
    ("a: 1\n---\nb: 2\n", "line 2 column 1", "second document"),
    ("a: b: c\n", "line 1 column 5", "not valid YAML"),
    ("a:\n  - 1\n - 2\n", "line 3", "not valid YAML"),
    ("a: *nowhere\n", "line 1", "not valid YAML"),
    ("a: =\n", "line 1 column 4", "quote it"),
    ("a: 1\nb: 'x\x85y'\n", "line 2 column 6", "U+0085"),
])
def test_what_json_cannot_hold_is_refused_at_its_place(text, location, message):
    with pytest.raises(JobspecError) as caught:
        load_yaml(text, "job.yaml")
    assert caught.value.location.startswith(location), caught.value.location
    assert message in str(caught.value)
    assert str(caught.value).startswith("job.yaml: line ")


def test_aliases_that_expand_without_end_are_refused():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, "
              f"*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 9)]
    with pytest.raises(JobspecError, match="more than 1048576 values"):
        load_yaml("\n".join(lines))


def test_nesting_beyond_serde_jsons_depth_is_refused():
    with pytest.raises(JobspecError, match="deeper than 128"):
        load_yaml("[" * 200 + "]" * 200)


def test_a_yaml_jobspec_error_keeps_its_line_and_column():
    text = "version: 1\nresources:\n- type: slot\n  count: [2\n"
    with pytest.raises(JobspecError) as caught:
        Jobspec.from_str(text, "job.yaml")
    assert caught.value.file == "job.yaml"
    assert caught.value.location.startswith("line 5")


# Random documents: what PyYAML's own dumper writes, in block, flow and quoted styles.

keys = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
scalars = (st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1)
           | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12))
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(keys, inner, max_size=4), max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(documents, st.sampled_from([None, False, True]), st.sampled_from([None, '"', "'"]))
def test_random_documents_read_as_pyyaml_reads_them(document, flow, style):
    text = yaml.safe_dump(document, default_flow_style=flow, default_style=style,
                          allow_unicode=True)
    agree(text)


# Random plain scalars from the characters YAML 1.1 resolution turns on.
tokens = st.text(st.sampled_from(list("0123456789+-._:xobeE~nNyYtTfFlsaiuO< =Z")),
                 min_size=1, max_size=10)


@settings(max_examples=800, deadline=None)
@given(tokens)
def test_random_plain_scalars_resolve_as_pyyaml_resolves_them(token):
    agree(f"value: {token}\n{token}: key\n")
    agree(f"list: [{token}, {token}]\nmap: {{k: {token}}}\n", flow=True)


def test_flow_items_follow_yaml_1_2_where_the_grammars_differ():
    with pytest.raises(JobspecError, match="line 1 column 16"):
        load_yaml("command: [cat, -]\n")
    assert load_yaml('command: [cat, "-"]\n') == {"command": ["cat", "-"]}
    assert load_yaml("command:\n- cat\n- -\n") == yaml.safe_load("command:\n- cat\n- -\n")
    assert load_yaml("list: [:x]\n") == {"list": [":x"]}
