"""Translation throughput over the test corpus: the manager matrix, in scripts/second.

Run ``python3 benches/bench_transform.py [--seconds S]``. Every corpus script of the workload
managers (all but the jobspec) is translated to each of them; the figure is translations per
second. Baselines measured in the same process: reading alone (parse only) and writing
alone, so the ratio shows what the full translation costs over just reading the input.
It prints figures and asserts nothing about time.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from fractale.transform import read, transform, write
from fractale.transform.registry import names

# Every registered manager but the jobspec format.
MANAGERS = tuple(name for name in names() if name != "jobspec")
CORPUS = Path(__file__).resolve().parents[1] / "tests" / "transform" / "corpus"


def corpus() -> list[tuple[str, str]]:
    return [(manager, path.read_text()) for manager in MANAGERS
            for path in sorted((CORPUS / manager).iterdir())
            if not path.name.endswith(".expected.yaml")]


def rate(work, budget: float) -> tuple[float, int]:
    """Items per second of ``work`` (which returns how many items it did) over ``budget`` s."""
    done, began = 0, time.perf_counter()
    while True:
        done += work()
        elapsed = time.perf_counter() - began
        if elapsed >= budget:
            return done / elapsed, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    budget = parser.parse_args().seconds
    scripts = corpus()
    specs = [read(text, manager)[0] for manager, text in scripts]

    def parse_all() -> int:
        for manager, text in scripts:
            read(text, manager)
        return len(scripts)

    def render_all() -> int:
        for spec in specs:
            for target in MANAGERS:
                write(spec, target)
        return len(specs) * len(MANAGERS)

    def matrix() -> int:
        for manager, text in scripts:
            for target in MANAGERS:
                transform(text, to=target, source=manager)
        return len(scripts) * len(MANAGERS)

    matrix()  # warm every manager's tables once
    parsed, _ = rate(parse_all, budget)
    rendered, _ = rate(render_all, budget)
    translated, count = rate(matrix, budget)
    print(f"corpus: {len(scripts)} scripts from {len(MANAGERS)} managers; "
          f"matrix: {len(scripts) * len(MANAGERS)} translations per pass")
    print(f"parse only (baseline):        {parsed:10.0f} scripts/s")
    print(f"render only (with read-back): {rendered:10.0f} scripts/s")
    matrix_name = f"{len(MANAGERS)}x{len(MANAGERS)} matrix transform:"
    print(f"{matrix_name:<30}{translated:10.0f} scripts/s  ({count} in the run)")
    print(f"matrix / parse-only ratio:    {translated / parsed:10.3f}")


if __name__ == "__main__":
    main()
