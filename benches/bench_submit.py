"""Benchmark of a job's round trip: ``fractale submit`` of a ``hostname`` job to its end.

It registers the local Slurm (``.ci/slurm.sh``, as the tests use it) twice in a temporary
store, once reached on this machine and once through an OpenSSH server started on 127.0.0.1
(``tests/sshd.py``: a throwaway host key and user key, so it needs root), and prints, for
each, the wall time from ``fractale submit`` to ``fractale wait`` returning the completed
job, both run as commands, and the same through the Python API (``fractale.submit(...)``,
``.wait()``) in one process. Over SSH the first round trip opens the shared connection
(ControlMaster); the ones after it reuse it.

    python benches/bench_submit.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))

import fractale  # noqa: E402
from slurm import LocalSlurm  # noqa: E402
from sshd import LocalSshd  # noqa: E402

HOSTNAME = "#!/bin/bash\n#SBATCH --job-name=hostname\n#SBATCH --ntasks=1\nhostname\n"


def fractale_command(*args: str, cwd: Path) -> str:
    done = subprocess.run([sys.executable, "-c", "from fractale.cli import main; main()", *args],
                          capture_output=True, text=True, cwd=cwd, check=False)
    if done.returncode != 0:
        raise SystemExit(f"fractale {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def round_trip(cluster: str, store: Path, folder: Path) -> float:
    """Seconds from submitting the job to seeing it completed, as commands."""
    started = time.perf_counter()
    job_id = fractale_command("submit", "hostname.sh", "--cluster", cluster,
                              "--config-dir", str(store), cwd=folder)
    fractale_command("wait", f"{cluster}:{job_id}", "--config-dir", str(store), cwd=folder)
    return time.perf_counter() - started


def in_process(cluster: str, store: Path, folder: Path) -> float:
    started = time.perf_counter()
    handle = fractale.submit(folder / "hostname.sh", cluster, store=store)
    state = handle.wait(timeout=300).state
    if state != "completed":
        raise SystemExit(f"the hostname job on {cluster} ended {state}")
    return time.perf_counter() - started


def describe(times: list[float]) -> str:
    return (f"median {statistics.median(times):.2f} s, min {min(times):.2f} s, "
            f"max {max(times):.2f} s over {len(times)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    slurm = LocalSlurm().start()
    os.environ["SLURM_CONF"] = str(slurm.conf)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        # Jobs submitted here work (and write their output) in the scratch folder.
        os.chdir(folder)
        (folder / "hostname.sh").write_text(HOSTNAME)
        server = LocalSshd(folder / "sshd", {"SLURM_CONF": str(slurm.conf)}).start()
        try:
            store = folder / "store"
            graph = folder / "containment.json"
            fractale_command("generate", "slurm", "-o", str(graph), cwd=folder)
            fractale_command("cluster", "add", "local", "--scheduler", "slurm",
                             "--containment", str(graph), "--config-dir", str(store), cwd=folder)
            fractale_command("cluster", "add", "ssh", "--scheduler", "slurm", "--containment",
                             str(graph), "--submit", server.url, "--workdir",
                             str(folder / "remote"), *server.cli_options(),
                             "--config-dir", str(store), cwd=folder)
            version = subprocess.run(["sinfo", "-V"], capture_output=True, text=True).stdout
            print(f"hostname job, submit to completion ({runs} runs each, {version.strip()})")
            for cluster, label in (("local", "locally"), ("ssh", "over SSH")):
                commands = [round_trip(cluster, store, folder) for _ in range(runs)]
                api = [in_process(cluster, store, folder) for _ in range(runs)]
                print(f"  {label:9} fractale submit + wait: {describe(commands)}")
                print(f"  {label:9} fractale.submit().wait(): {describe(api)}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
