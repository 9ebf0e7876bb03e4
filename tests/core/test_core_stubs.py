"""The hand-written ``_core.pyi`` stays true to the compiled module."""

import os
import subprocess
import sys

import pytest


def test_stubs_match_the_compiled_core():
    pytest.importorskip("mypy", reason="mypy (the test extra) checks the stubs")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "fractale._core"],
        capture_output=True,
        text=True,
        check=False,
        cwd=os.path.dirname(__file__),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
