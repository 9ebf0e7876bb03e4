"""Start-up of the command line: wall time of ``fractale --help`` against ``python -c pass``
run by the same interpreter, so the ratio and the difference show what fractale itself adds
(click, the compiled core and the command table) over starting Python on this machine.

Run ``python3 benches/bench_cli.py [--runs N]``. Each command runs as a fresh process; it
prints best and median of N runs and asserts nothing about time. Python's own start-up
includes whatever the interpreter's site directories import through ``.pth`` files, which
differs between machines and environments: compare the difference, not only the total.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

HELP = [sys.executable, "-c",
        "import sys; sys.argv = ['fractale', '--help']; "
        "from fractale.cli import main; main()"]
BARE = [sys.executable, "-c", "pass"]


def timings(command: list[str], runs: int) -> list[float]:
    """Wall seconds of each of ``runs`` fresh processes (after one unmeasured warm-up run)."""
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    spent = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        spent.append(time.perf_counter() - began)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="processes per command")
    runs = parser.parse_args().runs
    help_times, bare_times = timings(HELP, runs), timings(BARE, runs)
    print(f"{'command':<22}{'best':>10}{'median':>10}")
    for name, spent in (("fractale --help", help_times), ("python -c pass", bare_times)):
        print(f"{name:<22}{min(spent) * 1e3:>8.1f}ms{statistics.median(spent) * 1e3:>8.1f}ms")
    added = statistics.median(help_times) - statistics.median(bare_times)
    ratio = statistics.median(help_times) / statistics.median(bare_times)
    print(f"fractale adds {added * 1e3:.1f} ms to Python's start-up (median), "
          f"x{ratio:.1f} of `python -c pass`")


if __name__ == "__main__":
    main()
