"""Benchmark of reading one canonical jobspec: text to a validated ``fractale.Jobspec``.

For each jobspec (a typical version 1 jobspec, examples/jobs/gromacs.yaml; the upstream
example with software requirements; a larger canonical one with constraints and several
levels) it prints the microseconds per read of:

- ``Jobspec.from_str`` on its YAML text (read and checked in the core);
- ``Jobspec.from_str`` on its JSON text;
- the in-process baseline: PyYAML's safe loader (libyaml's when PyYAML has it) and then
  ``Jobspec.from_dict``, which is how the core read YAML before it had a reader of its own.

Target: a typical jobspec from YAML in under 50 us.

    python benches/bench_jobspec.py [--repeat 2000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Callable

import yaml
from fractale import Jobspec

ROOT = Path(__file__).resolve().parents[1]
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

LARGE = """\
version: 9999
resources:
- type: cluster
  count: 1
  with:
  - type: rack
    count: {min: 1, max: 4, operator: '+', operand: 1}
    with:
    - type: node
      count: 4
      with:
      - type: socket
        count: 2
        with:
        - type: slot
          count: 2
          label: default
          with:
          - type: core
            count: 8
          - type: gpu
            count: 1
          - type: memory
            count: 16
            unit: GB
tasks:
- command: [app, --input, data.in, --steps, '1000']
  slot: default
  count:
    per_slot: 1
attributes:
  system:
    duration: 7200.5
    constraints:
      and:
      - properties: [ssd, ^slow]
      - not:
        - hostlist: ['quartz[0-2,5]']
      - ranks: ['0-63']
    requires:
      software:
      - {name: gromacs, version: '2023', type: binary}
      - {name: openmpi, type: library}
  user:
    study: lammps-scaling
    tags: [a, b, c]
"""


def per_op(call: Callable[[], object], repeat: int) -> float:
    """Microseconds per call: the median of five runs of ``repeat`` calls."""
    call()
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeat):
            call()
        runs.append((time.perf_counter() - start) / repeat * 1e6)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    jobspecs = {
        "typical (examples/jobs/gromacs.yaml)": (ROOT / "examples/jobs/gromacs.yaml").read_text(),
        "upstream example (v1, requires)": (ROOT / "examples/upstream/jobspec.yaml").read_text(),
        "large (v9999, constraints)": LARGE,
    }
    print(f"{'jobspec':36} {'YAML (core)':>12} {'JSON (core)':>12} "
          f"{'PyYAML+from_dict':>17} {'ratio':>6}")
    for name, text in jobspecs.items():
        document = yaml.load(text, Loader=LOADER)
        as_json = json.dumps(document)
        assert Jobspec.from_str(text).to_dict() == Jobspec.from_str(as_json).to_dict()
        core_yaml = per_op(lambda text=text: Jobspec.from_str(text), args.repeat)
        core_json = per_op(lambda as_json=as_json: Jobspec.from_str(as_json), args.repeat)
        baseline = per_op(lambda text=text: Jobspec.from_dict(yaml.load(text, Loader=LOADER)),
                          args.repeat)
        print(f"{name:36} {core_yaml:9.1f} us {core_json:9.1f} us {baseline:14.1f} us "
              f"{baseline / core_yaml:5.1f}x")
    print(f"(PyYAML loader: {LOADER.__name__}; median of 5 runs of {args.repeat} reads)")


if __name__ == "__main__":
    main()
