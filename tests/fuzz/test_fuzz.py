"""The fuzz harnesses run for a few seconds each from the project's seeds and find nothing.

A longer run is one command per harness (README, development notes); the closing note of the
session that hardened fractale gives the executions of a five-minute run of each.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from seeds import core_seeds, fill, transform_seeds

HERE = Path(__file__).parent
SECONDS = int(os.environ.get("FRACTALE_FUZZ_SECONDS", "5"))

try:
    import atheris  # noqa: F401
except ImportError:  # pragma: no cover - depends on the machine
    if os.environ.get("CI") == "true":
        raise
    pytest.skip("atheris is not installed (pip install '.[test]')", allow_module_level=True)


@pytest.mark.parametrize("harness, seeds", [("fuzz_core.py", core_seeds),
                                            ("fuzz_transform.py", transform_seeds)])
def test_a_short_fuzz_run_finds_nothing(tmp_path, harness, seeds):
    corpus = fill(tmp_path / "corpus", seeds())
    done = subprocess.run(
        [sys.executable, str(HERE / harness), f"-max_total_time={SECONDS}", "-timeout=20",
         "-rss_limit_mb=4096", f"-artifact_prefix={tmp_path}/", str(corpus)],
        capture_output=True, text=True, timeout=SECONDS + 120, check=False,
    )
    report = done.stderr[-3000:]
    assert done.returncode == 0, report
    assert "Done" in report and "runs in" in report, report
