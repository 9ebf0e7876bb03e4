"""JSON the commands print is laid out by the core (``indent_json``) from the C encoder's
text: byte for byte what ``json.dumps(value, indent=2)`` writes, for any JSON value."""

from __future__ import annotations

import json

from fractale._core import indent_json
from hypothesis import given, settings
from hypothesis import strategies as st

_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ['a, b: [c] {d}', 'quote " and \\ backslash', "\u2028 line, separator", ""])
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_VALUES, st.booleans(), st.integers(min_value=0, max_value=4))
def test_any_value_is_laid_out_as_json_dumps_with_an_indent(value, ascii_only, indent):
    compact = json.dumps(value, ensure_ascii=ascii_only)
    assert indent_json(compact, indent) == json.dumps(value, indent=indent,
                                                      ensure_ascii=ascii_only)
