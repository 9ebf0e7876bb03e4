"""``fractale match``: exit 0 when allocated, 1 when not, 2 on bad input; a tree or JSON."""

import json
import subprocess
import sys

from click.testing import CliRunner
from fractale.cli import cli


def run(*args):
    return CliRunner().invoke(cli, ["match", *map(str, args)])


def test_allocated_prints_a_tree_and_exits_0(fluxion):
    result = run(fluxion / "graphs" / "tiny.json", fluxion / "jobspecs" / "min_max2-test006.yaml")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("allocated (job 1, policy first): core 18")
    assert "core[18-35] × 18 (exclusive)" in result.output


def test_json_output_lists_every_vertex(fluxion):
    result = run(
        fluxion / "graphs" / "tiny.json",
        fluxion / "jobspecs" / "min_max2-test006.yaml",
        "--json",
        "--policy",
        "low",
    )
    document = json.loads(result.output)
    assert document["status"] == "allocated"
    assert document["policy"] == "low"
    cores = [v for v in document["allocation"]["resources"] if v["type"] == "core"]
    assert len(cores) == 18


def test_unsatisfiable_exits_1_with_a_reason(fluxion):
    result = run(
        fluxion / "graphs" / "tiny.json", fluxion / "jobspecs" / "omit_prefix-test001.yaml"
    )
    assert result.exit_code == 1
    assert "unsatisfiable" in result.output
    assert "reason:" in result.output


def _fractale(*args):
    return subprocess.run(
        [sys.executable, "-c", "from fractale.cli import main; main()", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_bad_jobspec_exits_2_with_its_location_and_no_traceback(fluxion, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nresources: []\ntasks: []\n")
    proc = _fractale("match", fluxion / "graphs" / "tiny.json", bad)
    assert proc.returncode == 2
    assert f"Error: {bad}: resources: must be a non-empty list" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_graph_exits_2_with_its_location(fluxion, tmp_path):
    bad = tmp_path / "graph.json"
    bad.write_text('{"graph": {"nodes": [{"id": "0"}], "edges": []}}')
    proc = _fractale("match", bad, fluxion / "jobspecs" / "min_max2-test006.yaml")
    assert proc.returncode == 2
    assert f"Error: {bad}: graph.nodes[0].metadata: expected a metadata object" in proc.stderr


def test_missing_graph_file_exits_2(fluxion, tmp_path):
    proc = _fractale(
        "match", tmp_path / "none.json", fluxion / "jobspecs" / "min_max2-test006.yaml"
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
