"""``fractale jobspec validate|count``: RFC 14/25 by default, flux-core's acceptance with
--lenient, located errors, exit status 0 or 2, and per-type counts."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Valid for flux-core (a duration given as text, socket levels) but not for RFC 14.
CANONICAL = """\
version: 9999
resources:
  - type: node
    count: 2
    with:
      - type: memory
        count: 128
      - type: socket
        count: 2
        with:
          - type: slot
            count: 2
            label: rank
            with:
              - type: core
                count: {min: 4, max: 8, operator: "+", operand: 1}
attributes:
  system:
    duration: "600"
tasks:
  - command: [lmp]
    slot: rank
    count: {per_slot: 1}
"""

# A version 1 jobspec naming an ssd beside a node, as flux-core accepts and RFC 25 refuses.
V1_SSD = json.dumps({
    "version": 1,
    "resources": [{"type": "slot", "count": 1, "label": "task", "with": [
        {"type": "node", "count": 1, "with": [{"type": "core", "count": 2}]},
        {"type": "ssd", "count": 100}]}],
    "tasks": [{"command": ["hostname"], "slot": "task", "count": {"per_slot": 1}}],
    "attributes": {"system": {"duration": 0}},
})

RFC = CANONICAL.replace('duration: "600"', "duration: 600")


def fractale(*args):
    return subprocess.run(
        [sys.executable, "-c", "from fractale.cli import main; main()", *map(str, args)],
        capture_output=True, text=True, check=False,
    )


@pytest.fixture
def files(tmp_path):
    out = {}
    for name, text in (("canonical.yaml", CANONICAL), ("v1-ssd.json", V1_SSD),
                       ("rfc.yaml", RFC)):
        out[name] = tmp_path / name
        out[name].write_text(text)
    return out


def test_valid_files_exit_zero(files):
    ran = fractale("jobspec", "validate", files["rfc.yaml"])
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == f"{files['rfc.yaml']}: valid (version 9999, RFC 14/25)\n"


def test_an_invalid_file_names_the_place_and_the_lenient_way_out(files):
    ran = fractale("jobspec", "validate", files["rfc.yaml"], files["canonical.yaml"])
    assert ran.returncode == 2
    assert ran.stderr == (
        f"invalid: {files['canonical.yaml']}: attributes.system.duration: must be a number of "
        'seconds, 0 or more, found "600" (flux-core accepts it: try --lenient)\n')


def test_lenient_accepts_what_flux_core_accepts(files):
    ran = fractale("jobspec", "validate", "--lenient", "--json", *files.values())
    assert ran.returncode == 0, ran.stdout
    assert [entry["valid"] for entry in json.loads(ran.stdout)] == [True, True, True]
    strict = json.loads(fractale("jobspec", "validate", "--json", files["v1-ssd.json"]).stdout)
    assert strict[0]["error"]["location"] == "resources[0].with[1].type"
    assert strict[0]["error"]["flux_accepts"] is True


def test_lenient_still_refuses_what_flux_core_refuses(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(CANONICAL.replace("            label: rank\n", ""))
    ran = fractale("jobspec", "validate", "--lenient", path)
    assert ran.returncode == 2
    assert "resources[0].with[1].with[0]: every slot needs a \"label\"" in ran.stderr


def test_count_multiplies_down_the_request(files):
    ran = fractale("jobspec", "count", "--lenient", files["canonical.yaml"])
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == [
        "TYPE    COUNT", "core    32-64", "memory  256", "node    2", "slot    8", "socket  4"]
    counted = json.loads(fractale("jobspec", "count", "--json", files["rfc.yaml"]).stdout)
    assert counted["counts"]["core"] == {"min": 32, "max": 64}
    assert counted["version"] == 9999


def test_count_of_an_invalid_or_missing_file_exits_two(files, tmp_path):
    ran = fractale("jobspec", "count", files["canonical.yaml"])
    assert ran.returncode == 2
    assert ran.stderr.startswith(f"Error: {files['canonical.yaml']}: attributes.system.duration")
    missing = fractale("jobspec", "count", tmp_path / "nope.yaml")
    expected = f"Error: no such jobspec: {tmp_path / 'nope.yaml'}\n"
    assert (missing.returncode, missing.stderr) == (2, expected)
    directory = fractale("jobspec", "validate", tmp_path)
    assert directory.returncode == 2 and "is a directory" in directory.stderr


def test_a_file_that_never_ends_is_refused_not_read_forever():
    done = fractale("jobspec", "validate", "/dev/zero")
    assert done.returncode == 2
    assert "goes on past the 67108864 bytes read at most" in done.stdout + done.stderr
