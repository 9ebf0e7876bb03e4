#!/usr/bin/env python3
"""pi-kernel: a small parallel program to try fractale's optimize and scale agents on.

It integrates 4 / (1 + x^2) over [0, 1] by the midpoint rule (the integral is pi), cutting
the intervals into chunks that a pool of worker processes takes one at a time. Its run
time depends on its parameters and its task count:

  --intervals N   the work (default 4,000,000); --per-task N instead sets N per task, so
                  the work grows with the tasks (weak scaling)
  --tasks T       worker processes (default: $SLURM_NTASKS, else 1)
  --chunk C       intervals per chunk (default: intervals / tasks): small chunks pay for
                  many messages, large ones leave workers idle at the end

It prints its figures of merit last:

  elapsed: 0.532 s
  rate: 7.52 Mintervals/s
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import sys
import time


def piece(bounds: tuple[int, int, float]) -> float:
    """The sum of the integrand over intervals [start, stop) of width h."""
    start, stop, width = bounds
    total = 0.0
    for index in range(start, stop):
        x = (index + 0.5) * width
        total += 4.0 / (1.0 + x * x)
    return total


def positive(text: str) -> int:
    value = int(text.replace(",", "").replace("_", ""))
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    work = parser.add_mutually_exclusive_group()
    work.add_argument("--intervals", type=positive, default=4_000_000)
    work.add_argument("--per-task", type=positive)
    parser.add_argument("--tasks", type=positive, default=None)
    parser.add_argument("--chunk", type=positive, default=None)
    args = parser.parse_args()
    tasks = args.tasks or int(os.environ.get("SLURM_NTASKS", "1") or 1)
    intervals = args.per_task * tasks if args.per_task else args.intervals
    chunk = min(args.chunk or math.ceil(intervals / tasks), intervals)
    width = 1.0 / intervals
    pieces = [(start, min(start + chunk, intervals), width) for start in range(0, intervals, chunk)]
    print(f"pi-kernel: intervals={intervals} tasks={tasks} chunk={chunk} pieces={len(pieces)}")
    sys.stdout.flush()
    began = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(tasks) as pool:
        total = sum(pool.imap_unordered(piece, pieces))
    elapsed = time.perf_counter() - began
    estimate = total * width
    print(f"pi = {estimate:.15f} (error {abs(estimate - math.pi):.2e})")
    print(f"elapsed: {elapsed:.3f} s")
    print(f"rate: {intervals / elapsed / 1e6:.3f} Mintervals/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
