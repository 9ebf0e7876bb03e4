"""Upstream fractale's inputs, end to end: compspec's graphs (containment, spack as
compspec-spack writes it, environment modules), an upstream jobspec naming software by type,
and an upstream plan; registered, satisfied, selected, scripted and checked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fractale import JGFError, JobspecError, ResourceGraph
from fractale.fleet import Fleet, Job, Requirement
from fractale.generate.software import software_in
from fractale.store import Store

UPSTREAM = Path(__file__).resolve().parents[2] / "examples" / "upstream"


def fractale(*args, home):
    return subprocess.run(
        [sys.executable, "-c", "from fractale.cli import main; main()", *map(str, args)],
        capture_output=True, text=True, check=False,
        env={"FRACTALE_HOME": str(home), "PATH": "/usr/bin:/bin"},
    )


@pytest.fixture
def fleet(tmp_path) -> Fleet:
    """compspec-a has spack and modules; compspec-b the same machine with modules only."""
    store = Store(tmp_path / "store")
    store.add("compspec-a", "flux", UPSTREAM / "containment.json",
              {"spack": UPSTREAM / "spack.json", "modules": UPSTREAM / "modules.json"})
    store.add("compspec-b", "slurm", UPSTREAM / "containment.json",
              {"modules": UPSTREAM / "modules.json"})
    return Fleet(store)


def spack_document():
    return json.loads((UPSTREAM / "spack.json").read_text())


def test_a_compspec_spack_graph_is_refused_as_a_tree_and_read_as_a_forest():
    with pytest.raises(JGFError, match="one root"):
        ResourceGraph.from_jgf(str(UPSTREAM / "spack.json"))
    graph = ResourceGraph.from_jgf(str(UPSTREAM / "spack.json"), forest=True)
    assert graph.summary()["package"] == 4
    assert graph.summary()["software"] == 1, "hung under its own root, none made"


def test_compspec_containment_is_read_with_its_paths():
    graph = ResourceGraph.from_jgf(str(UPSTREAM / "containment.json"))
    assert graph.summary() == {"cluster": 1, "node": 2, "socket": 4, "core": 16, "memory": 2}
    placed = graph.allocate({"version": 9999, "resources": [
        {"type": "socket", "count": 1, "with": [{"type": "slot", "label": "t", "count": 1,
                                                 "with": [{"type": "core", "count": 2}]}]}],
        "tasks": [{"command": ["x"], "slot": "t", "count": {"per_slot": 1}}]})
    written = {node["metadata"]["containment"]["paths"] for node in
               json.loads((UPSTREAM / "containment.json").read_text())["graph"]["nodes"].values()}
    held = [vertex.path for vertex in placed.allocation if vertex.type == "core"]
    assert len(held) == 2 and set(held) <= written


def test_packages_binaries_and_libraries_come_from_compspec_attributes():
    found = {(s.kind, s.name, s.version) for s in software_in(spack_document(), "spack")}
    assert ("package", "curl", "8.4.0") in found
    assert ("package", "curl", "7.88.1") in found
    assert ("binary", "gmx", "2023.1") in found
    assert ("library", "libcurl.so.4.8.0", "8.4.0") in found
    gmx = next(s for s in software_in(spack_document(), "spack") if s.name == "gmx")
    assert (gmx.package, gmx.load, gmx.compiler, gmx.target) == (
        "gromacs", "spack load gromacs@2023.1", "gcc@12.2.0", "skylake")
    assert gmx.attributes["os"] == "ubuntu22.04"
    # compspec-modules: name is the module as loaded, software what it holds.
    modules = software_in(json.loads((UPSTREAM / "modules.json").read_text()), "modules")
    assert {(s.name, s.version, s.load) for s in modules if s.kind == "module"} == {
        ("cmake", "3.27.7", "module load cmake/3.27.7"),
        ("gromacs", "2022.5", "module load gromacs/2022.5"),
        ("python", "3.11.7", "module load python/3.11.7")}
    ctest = next(s for s in modules if s.name == "ctest")
    assert (ctest.kind, ctest.package) == ("binary", "cmake")
    assert ctest.load == "module load cmake/3.27.7"


@pytest.mark.parametrize("require, load", [
    ("curl", "spack load curl@8.4.0"),
    ("curl@7", "spack load curl@7.88.1"),
    ("gromacs>=2023", "spack load gromacs@2023.1"),
    ({"name": "gromacs", "kind": "module"}, "module load gromacs/2022.5"),
    ({"name": "curl", "type": "binary", "os": "ubuntu22.04"}, "spack load curl@8.4.0"),
    ({"name": "libcurl.so.4.8.0", "type": "library", "version": "<8"}, "spack load curl@7.88.1"),
])
def test_requirements_are_answered_with_the_right_package_version(fleet, require, load):
    job = Job.load(UPSTREAM / "jobspec.yaml", requires=[require])
    answer = next(a for a in fleet.satisfy(job) if a.cluster == "compspec-a")
    assert answer.ok, answer.reasons()
    assert answer.software[-1].software.load == load


def test_an_attribute_the_software_lacks_is_a_reason(fleet):
    wanted = Requirement.parse({"name": "curl", "type": "binary", "os": "rhel9"})
    job = Job.load(UPSTREAM / "jobspec.yaml", requires=[wanted.to_dict()])
    answer = next(a for a in fleet.satisfy(job) if a.cluster == "compspec-a")
    assert not answer.ok
    assert "needs binary curl os=rhel9" in answer.reasons()[0]


def test_an_unknown_requirement_key_is_reported_with_its_place(tmp_path):
    text = (UPSTREAM / "jobspec.yaml").read_text().replace("type: binary", "typ: binary", 1)
    path = tmp_path / "job.yaml"
    path.write_text(text)
    with pytest.raises(JobspecError) as caught:
        Job.load(path)
    assert caught.value.location == "attributes.system.requires.software[0].typ"
    assert str(path) in str(caught.value)


def test_register_satisfy_select_script_and_check_the_plan(tmp_path):
    home = tmp_path / "home"
    for name, scheduler, extra in (
        ("compspec-a", "flux", ["--subsystem", f"spack={UPSTREAM / 'spack.json'}"]),
        ("compspec-b", "slurm", []),
    ):
        added = fractale("cluster", "add", name, "--scheduler", scheduler, "--containment",
                         UPSTREAM / "containment.json", "--subsystem",
                         f"modules={UPSTREAM / 'modules.json'}", *extra, home=home)
        assert added.returncode == 0, added.stderr
    job = UPSTREAM / "jobspec.yaml"
    satisfied = fractale("satisfy", job, "--json", home=home)
    assert satisfied.returncode == 0, satisfied.stderr
    answer = json.loads(satisfied.stdout)
    assert answer["fits"] == ["compspec-a"]
    assert answer["requires"] == [{"name": "gmx", "type": "binary"},
                                  {"name": "curl", "type": "binary"}]
    table = fractale("satisfy", job, home=home).stdout
    assert "gmx@2023.1 (binary of gromacs)" in table
    assert "compspec-b: curl: curl is not installed" in table
    selected = fractale("select", job, "--by", "best-fit", home=home)
    assert selected.returncode == 0, selected.stderr
    assert "compspec-a" in selected.stdout
    script = fractale("script", job, home=home)
    assert script.returncode == 0, script.stderr
    lines = script.stdout.splitlines()
    assert lines[0] == "#!/bin/bash"
    assert sorted(lines[1:4]) == [
        "#FLUX: --cores-per-slot=4", "#FLUX: --nslots=2", "#FLUX: --time-limit=1h"]
    assert "spack load gromacs@2023.1\nspack load curl@8.4.0\n" in script.stdout
    checked = fractale("agent", "check", UPSTREAM / "plan.yaml", home=home)
    assert checked.returncode == 0, checked.stderr
    assert "flux-batch: batch" in checked.stdout
    ran = fractale("agent", "run", UPSTREAM / "plan.yaml", "--replay",
                   UPSTREAM / "plan.replay.yaml", "--dry-run", "--workdir", tmp_path / "run",
                   home=home)
    assert ran.returncode == 0, ran.stderr
    written = (tmp_path / "run" / "flux-batch" / "attempt-1" / "job.sh").read_text()
    assert "flux run -n 8 gmx mdrun -s topol.tpr" in written


def test_script_writes_a_version_1_jobspec_naming_sockets_as_flux_runs_it(tmp_path):
    home = tmp_path / "home"
    added = fractale("cluster", "add", "compspec-a", "--scheduler", "slurm", "--containment",
                     UPSTREAM / "containment.json", home=home)
    assert added.returncode == 0, added.stderr
    job = UPSTREAM / "jobspec-sockets.yaml"
    assert fractale("jobspec", "validate", job, home=home).returncode == 2  # RFC 25
    assert fractale("jobspec", "validate", "--lenient", job, home=home).returncode == 0
    script = fractale("script", job, home=home)
    assert script.returncode == 0, script.stderr
    assert "#SBATCH --nodes=2" in script.stdout
    assert "#SBATCH --ntasks-per-node=2" in script.stdout
    assert "#SBATCH --cpus-per-task=4" in script.stdout
    assert "srun" in script.stdout and "lmp -in in.reaxff" in script.stdout
    transformed = fractale("transform", "--from", "jobspec", "--to", "flux", job, home=home)
    assert transformed.returncode == 0, transformed.stderr
    assert "socket level" in transformed.stderr


def test_a_version_1_jobspec_naming_sockets_is_matched_as_fluxion_reads_it(fleet):
    text = (UPSTREAM / "jobspec.yaml").read_text().replace(
        "  - type: core\n    count: 4\n",
        "  - type: socket\n    count: 1\n    with:\n    - type: core\n      count: 4\n")
    job = Job.from_text(text, source="sockets.yaml")
    assert job.beyond_rfc25 and not job.per_node
    answers = {answer.cluster: answer for answer in fleet.satisfy(job)}
    assert answers["compspec-a"].ok, answers["compspec-a"].reasons()
    too_many = Job.from_text(text.replace("count: 4\n", "count: 5\n"), source="sockets.yaml")
    assert not any(answer.fits for answer in fleet.satisfy(too_many))


def test_compspec_containment_edges_by_metadata_id_register_and_match(tmp_path):
    # compspec-containment: Fluxion's {containment: path} under containment.paths, and
    # edges naming vertices by metadata.id while the vertices are keyed by label.
    document = json.loads((UPSTREAM / "containment.json").read_text())
    ids = {key: str(node["metadata"]["id"]) for key, node in document["graph"]["nodes"].items()}
    for node in document["graph"]["nodes"].values():
        node["metadata"]["containment"] = {
            "paths": {"containment": node["metadata"]["containment"]["paths"]}}
    document["graph"]["edges"] = [
        {"source": ids[edge["source"]], "target": ids[edge["target"]]}
        for edge in document["graph"]["edges"]
        if edge["metadata"]["name"]["containment"] == "contains"]
    store = Store(tmp_path / "store")
    store.add("flux-made", "flux", document)
    fleet = Fleet(store)
    script = "#!/bin/bash\n#SBATCH -N 2\n#SBATCH --ntasks-per-node={}\nsrun hostname\n"
    assert fleet.satisfy(Job.from_text(script.format(8)))[0].ok
    (answer,) = fleet.satisfy(Job.from_text(script.format(9)))
    assert answer.reason == "the request needs 18 core in all, the cluster has 16"
