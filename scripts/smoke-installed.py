"""Smoke test of an installed fractale (a wheel in a venv), never of the source tree.

Usage: python smoke-installed.py EXAMPLES_DIR [WHEEL_TAG]
Run it with the venv's python from outside the repository. It checks that fractale is
imported from that environment, that its compiled core loads and matches a real jobspec
against the example fleet's graphs, that a Slurm script translates to Flux, and that the
`fractale` console script answers --version, completion and bad input as it should.
Exits non-zero with the first check that fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path


def check(what: str, holds: bool, detail: object = "") -> None:
    if not holds:
        sys.exit(f"smoke: FAILED: {what} {detail}".rstrip())
    print(f"smoke: ok: {what}")


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    fractale = Path(sys.executable).parent / "fractale"
    return subprocess.run([str(fractale), *args], env={**os.environ, **env},
                          capture_output=True, text=True, check=False)


def main(examples: Path, tag: str | None) -> None:
    import fractale
    import fractale._core as core

    prefix = Path(sys.prefix).resolve()
    check("fractale is imported from the installed environment",
          prefix in Path(fractale.__file__).resolve().parents, fractale.__file__)
    check("the compiled core is the abi3 extension", core.__file__.endswith(".abi3.so"),
          core.__file__)
    distribution = metadata.distribution("fractale")
    check("the package and core versions agree",
          distribution.version == fractale.__version__,
          f"{distribution.version} != {fractale.__version__}")
    if tag is not None:
        wheel = distribution.read_text("WHEEL") or ""
        check(f"the installed wheel is tagged {tag}", f"Tag: {tag}" in wheel, wheel)

    quartz = fractale.ResourceGraph.from_jgf(str(examples / "fleet/quartz/containment.json"))
    dev = fractale.ResourceGraph.from_jgf(str(examples / "fleet/dev/containment.json"))
    # The example GROMACS request, spelled down the graphs' containment (node > socket > core,
    # which needs a jobspec version beyond RFC 25's version 1).
    job = fractale.Jobspec.from_dict({
        "version": 9999,
        "resources": [{"type": "node", "count": 4, "with": [{
            "type": "slot", "count": 2, "label": "task",
            "with": [{"type": "socket", "count": 1, "with": [{"type": "core", "count": 16}]}],
        }]}],
        "tasks": [{"command": ["gmx_mpi", "mdrun"], "slot": "task", "count": {"per_slot": 1}}],
        "attributes": {"system": {"duration": 7200}},
    })
    result = quartz.allocate(job, policy="first")
    held = (len(result.allocation.nodes()), result.allocation.counts()) if result else None
    check("quartz allocates 4 nodes, 8 sockets, 128 cores",
          held == (4, {"socket": 8, "core": 128}), held or result.reason)
    unsatisfiable = dev.satisfiable(job)
    check("dev (2 nodes) cannot satisfy it, and says why",
          not unsatisfiable and bool(unsatisfiable.reason), unsatisfiable.to_dict())

    script = (examples / "jobs/gromacs.sh").read_text()
    flux = fractale.transform(script, to="flux").text
    check("a Slurm script translates to a Flux one",
          "#FLUX: --nodes=4" in flux
          and re.search(r"^flux run .*gmx_mpi mdrun", flux, re.MULTILINE) is not None, flux)

    version = run("--version")
    check("fractale --version names package and core",
          version.returncode == 0
          and version.stdout.startswith(f"fractale {distribution.version} (core "),
          version.stdout + version.stderr)
    completion = run(_FRACTALE_COMPLETE="bash_complete", COMP_WORDS="fractale tr", COMP_CWORD="1")
    check("completion of `fractale tr` is transform", completion.stdout == "plain,transform\n",
          completion.stdout + completion.stderr)
    bad = run("match", str(examples / "jobs/gromacs.sh"), str(examples / "jobs/gromacs.yaml"))
    check("a bad graph exits 2 with a one-line error",
          bad.returncode == 2 and "Traceback" not in bad.stderr
          and len(bad.stderr.strip().splitlines()) == 1, bad.stderr)
    print(f"smoke: fractale {fractale.__version__} from {Path(fractale.__file__).parent}")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__.split("\n\n")[1])
    main(Path(sys.argv[1]).resolve(), sys.argv[2] if len(sys.argv) == 3 else None)
