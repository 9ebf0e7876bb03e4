"""Fuzz the core's Python API: JGF graphs and jobspecs as text and as Python documents,
matching, allocating and releasing. Anything but a fractale error (or a TypeError for an
argument of the wrong Python type) is a finding; so is a crash.

    python tests/fuzz/fuzz_core.py -max_total_time=300 CORPUS_DIR

(``CORPUS_DIR`` may start empty; ``tests/fuzz/seeds.py`` fills one from the examples.)
"""

from __future__ import annotations

import json
import sys

import atheris

with atheris.instrument_imports():
    import fractale

EXPECTED = (fractale.FractaleError,)
POLICIES = ("first", "low", "high", "bogus")


def _document(text: str):
    """The text as a Python document when it parses as JSON, else None."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    choice = provider.ConsumeIntInRange(0, 5)
    policy = POLICIES[provider.ConsumeIntInRange(0, len(POLICIES) - 1)]
    text = provider.ConsumeUnicodeNoSurrogates(len(data))
    try:
        if choice == 0:
            fractale.Jobspec.from_str(text, strict=bool(len(text) % 2))
        elif choice == 1:
            document = _document(text)
            if isinstance(document, dict):
                fractale.Jobspec.from_dict(document, strict=bool(len(text) % 2))
        elif choice == 2:
            fractale.ResourceGraph.from_jgf(text if text.lstrip().startswith("{") else "{" + text)
        elif choice == 3:
            document = _document(text)
            if isinstance(document, dict):
                fractale.ResourceGraph.from_jgf(document)
        else:
            graph = fractale.ResourceGraph.from_jgf(GRAPH)
            document = _document(text)
            job = document if isinstance(document, dict) else text
            result = graph.allocate(job, policy=policy) if choice == 4 else graph.satisfiable(
                job, policy=policy)
            if result.allocation is not None:
                graph.release(result.allocation)
            graph.release(provider.ConsumeIntInRange(-(2**65), 2**65))
    except EXPECTED:
        pass


GRAPH = ""

if __name__ == "__main__":
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from seeds import ROOT

    GRAPH = (ROOT / "examples" / "fleet" / "dev" / "containment.json").read_text()
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
