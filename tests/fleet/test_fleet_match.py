"""The fleet: satisfy across clusters with reasons, software checks, select and script."""

from __future__ import annotations

import json
import textwrap

import pytest
import yaml
from fractale import Jobspec, JobspecError, MatchError, ResourceGraph
from fractale._core import CompiledFleet
from fractale.errors import StoreError
from fractale.fleet import (
    RULE_NAMES,
    Fleet,
    Job,
    Requirement,
    VersionSpec,
    check_requirement,
    requirements_of,
    version_key,
)
from fractale.generate.software import Software
from fractale.generate.synthetic import synthetic_graph


def jobspec(nodes=1, sockets=1, cores=1, gpus=0, requires=None, duration=3600, version=9999):
    """A canonical jobspec: nodes > [socket >] slot > core[, gpu]."""
    inner = [{"type": "core", "count": cores}]
    if gpus:
        inner.append({"type": "gpu", "count": gpus})
    slot = {"type": "slot", "count": 1, "label": "task", "with": inner}
    below = [{"type": "socket", "count": sockets, "with": [slot]}] if sockets else [slot]
    document = {
        "version": version,
        "resources": [{"type": "node", "count": nodes, "with": below}],
        "tasks": [{"command": ["app"], "slot": "task", "count": {"per_slot": 1}}],
        "attributes": {"system": {"duration": duration}},
    }
    if requires is not None:
        document["attributes"]["system"]["requires"] = requires
    return yaml.safe_dump(document)


SLURM_SCRIPT = textwrap.dedent(
    """\
    #!/bin/bash
    #SBATCH --job-name=md
    #SBATCH --nodes=2
    #SBATCH --ntasks-per-node=1
    #SBATCH --cpus-per-task=12
    #SBATCH --time=01:00:00

    srun gmx_mpi mdrun -s topol.tpr
    """
)


def by_cluster(answers):
    return {answer.cluster: answer for answer in answers}


# Versions and requirements -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "version", "expected"),
    [
        (">=2023", "2023.1", True),
        (">=2023", "2022.5", False),
        ("<2024", "2023.3", True),
        ("<2024", "2024.1", False),
        ("2023", "2023.1", True),
        ("2023", "20231", False),
        ("==2023.1", "2023.1", True),
        ("==2023", "2023.1", False),
        ("!=2023.2", "2023.1", True),
        (">=2022,<2023", "2022.5", True),
        (">=2022,<2023", "2023.1", False),
        ("2022:2023", "2023.3", True),
        ("2022:2023", "2024", False),
        ("4.1:", "4.10.2", True),
        (":4.1", "4.2", False),
        ("", "anything", True),
    ],
)
def test_version_requirements(spec, version, expected):
    assert VersionSpec.parse(spec).matches(version) is expected


def test_versions_compare_by_number_not_by_text():
    assert version_key("4.10") > version_key("4.9")
    assert version_key("2023.1") > version_key("2023.rc1")


def test_requirements_are_read_from_mappings_and_from_text():
    assert Requirement.parse("gromacs>=2023").version.text == ">=2023"
    assert Requirement.parse("gromacs@2023.1").version.matches("2023.1")
    assert Requirement.parse({"name": "lammps", "compiler": "gcc@12"}).compiler == "gcc@12"
    with pytest.raises(JobspecError, match="unknown keys"):
        Requirement.parse({"name": "x", "verison": "1"})
    with pytest.raises(JobspecError, match="needs a name"):
        Requirement.parse({"version": "1"})


def test_the_jobspec_software_mapping_and_plain_entries_are_both_requirements():
    wanted = requirements_of([{"software": [{"name": "gromacs"}, "fftw@3"]}, {"name": "cmake"}])
    assert [r.name for r in wanted] == ["gromacs", "fftw", "cmake"]
    jobspec = JOBSPEC_WITH_REQUIRES.replace("software:", "licenses:")
    with pytest.raises(JobspecError, match=r"requires\.licenses: is not a kind of requirement"):
        Job.from_text(jobspec, source="job.yaml")


JOBSPEC_WITH_REQUIRES = """\
version: 1
resources:
- type: slot
  count: 1
  label: task
  with:
  - type: core
    count: 1
tasks:
- command: [gmx]
  slot: task
  count: {per_slot: 1}
attributes:
  system:
    duration: 0
    requires:
      software:
      - name: curl
        type: binary
"""


def test_upstream_requirements_name_a_type_and_compspec_attributes():
    job = Job.from_text(JOBSPEC_WITH_REQUIRES, source="job.yaml")
    assert [(r.name, r.kind) for r in job.requires] == [("curl", "binary")]
    misspelt = JOBSPEC_WITH_REQUIRES.replace("type: binary", "typ: binary")
    with pytest.raises(JobspecError) as caught:
        Job.from_text(misspelt, source="job.yaml")
    assert caught.value.location == "attributes.system.requires.software[0].typ"
    assert "is not a software requirement key" in str(caught.value)
    wanted = Requirement.parse({"name": "curl", "type": "binary", "os": "ubuntu22.04"})
    assert wanted.attributes == (("os", "ubuntu22.04"),)
    assert wanted.to_dict() == {"name": "curl", "type": "binary", "os": "ubuntu22.04"}


INSTALLED = [
    Software("gromacs", "2022.5", "package", "spack load gromacs@2022.5/aaa", "gcc@11.4.0"),
    Software("gromacs", "2023.1", "package", "spack load gromacs@2023.1/bbb", "gcc@12.2.0"),
    Software("gromacs", "2023.1", "module", "module load gromacs/2023.1"),
]


def test_the_highest_matching_version_is_chosen_spack_before_modules():
    check = check_requirement(Requirement.parse("gromacs>=2022"), INSTALLED)
    assert check.software.load == "spack load gromacs@2023.1/bbb"


def test_a_compiler_requirement_checks_name_and_version():
    wanted = Requirement.parse({"name": "gromacs", "compiler": "gcc@11"})
    check = check_requirement(wanted, INSTALLED)
    assert check.software.version == "2022.5"


def test_an_unmet_requirement_says_what_was_found():
    check = check_requirement(Requirement.parse("gromacs>=2024"), INSTALLED)
    assert not check.met
    assert "gromacs@2022.5%gcc@11.4.0" in check.reason and "needs gromacs >=2024" in check.reason
    assert check_requirement(Requirement.parse("vasp"), INSTALLED).reason == "vasp is not installed"
    assert check_requirement(Requirement.parse("vasp"), []).reason == "no software subsystem graph"


# Satisfy ------------------------------------------------------------------------------------


def test_every_cluster_answers_with_the_cores_reason_when_the_job_does_not_fit(fleet_store):
    answers = by_cluster(Fleet(fleet_store).satisfy(jobspec(nodes=3, sockets=2, cores=8)))
    assert answers["cpu"].ok
    assert not answers["gpu"].fits and answers["gpu"].reason
    assert not answers["tiny"].ok and answers["tiny"].reasons()


def test_software_requirements_are_checked_against_each_clusters_software(fleet_store):
    job = jobspec(sockets=1, requires={"software": [{"name": "gromacs", "version": ">=2023"}]})
    answers = by_cluster(Fleet(fleet_store).satisfy(job))
    assert answers["cpu"].ok
    assert answers["cpu"].software[0].software.version == "2023.1"
    assert answers["gpu"].fits and not answers["gpu"].ok
    assert answers["gpu"].software[0].reason == "no software subsystem graph"


def test_a_batch_script_is_matched_per_node_across_sockets(fleet_store):
    # 12 cores per task: more than one 8-core socket holds, less than a 16-core node.
    answers = by_cluster(Fleet(fleet_store).satisfy(Job.from_text(SLURM_SCRIPT)))
    assert answers["cpu"].ok and answers["gpu"].ok
    assert not answers["tiny"].ok


def per_node_view(tmp_path, graph):
    """The core's per-node view of ``graph``: its levels between nodes and resources removed."""
    path = tmp_path / "graph.json"
    path.write_text(json.dumps(graph))
    return CompiledFleet.open([("c", str(path))]).graph("c", per_node=True)


def test_a_canonical_jobspec_is_matched_level_by_level(tmp_path):
    graph = {"graph": synthetic_graph(1, cores=8, gpus=0, memory=0)["graph"]}
    request = jobspec(nodes=1, sockets=None, cores=12)
    assert not ResourceGraph.from_jgf(graph).satisfiable(request)
    assert per_node_view(tmp_path, graph).satisfiable(request)
    assert not Job.from_text(request).per_node
    assert Job.from_text(SLURM_SCRIPT).per_node


def test_the_per_node_view_keeps_every_resource_under_its_node(tmp_path):
    view = per_node_view(tmp_path, synthetic_graph(2, sockets=2, cores=3, gpus=2, memory=2))
    assert view.summary() == {"cluster": 1, "node": 2, "core": 12, "gpu": 4, "memory": 4}
    paths = {vertex["metadata"]["paths"]["containment"]
             for vertex in view.to_jgf()["graph"]["nodes"]}
    assert "/cluster0/node1/core5" in paths


def test_requirements_given_beside_the_job_are_checked_too(fleet_store):
    job = Job.from_text(SLURM_SCRIPT, requires=["gromacs@2023"])
    answers = by_cluster(Fleet(fleet_store).satisfy(job))
    assert answers["cpu"].ok and not answers["gpu"].ok


def test_a_fleet_of_named_clusters_and_an_empty_store(fleet_store, store):
    assert [a.cluster for a in Fleet(fleet_store, ["gpu"]).satisfy(jobspec())] == ["gpu"]
    with pytest.raises(StoreError, match="no clusters"):
        Fleet(store.root / "empty").satisfy(jobspec())


# Select ---------------------------------------------------------------------------------------


def test_first_picks_the_first_fitting_cluster_by_name(fleet_store):
    assert Fleet(fleet_store).select(jobspec(sockets=1, cores=2)).cluster == "cpu"


def test_random_is_reproducible_with_a_seed(fleet_store):
    fleet = Fleet(fleet_store)
    picks = {fleet.select(jobspec(), "random", seed=7).cluster for _ in range(5)}
    assert len(picks) == 1
    assert {fleet.select(jobspec(), "random", seed=s).cluster for s in range(40)} == {
        "cpu",
        "gpu",
        "tiny",
    }


def test_best_fit_leaves_the_least_idle_capacity(fleet_store):
    chosen = Fleet(fleet_store).select(jobspec(sockets=1, cores=1), "best-fit")
    assert chosen.cluster == "tiny"
    assert chosen.scores["tiny"]["idle"]["core"] == 2 * 2 - 1


def test_cost_takes_price_times_nodes_times_hours(fleet_store):
    chosen = Fleet(fleet_store).select(jobspec(nodes=2, sockets=1, duration=7200), "cost")
    assert chosen.cluster == "cpu"
    assert chosen.scores["cpu"]["price"] == pytest.approx(1.0 * 2 * 2)
    assert chosen.scores["gpu"]["price"] == pytest.approx(4.0 * 2 * 2)


def test_ties_go_to_the_name_that_sorts_first(store, graphs):
    store.add("b", "slurm", graphs["cpu"], cost=1.0)
    store.add("a", "slurm", graphs["cpu"], cost=1.0)
    for rule in ("best-fit", "cost", "first"):
        assert Fleet(store).select(jobspec(), rule).cluster == "a"


def test_unpriced_clusters_come_after_priced_ones(store, graphs):
    store.add("a-free", "slurm", graphs["cpu"])
    store.add("z-priced", "slurm", graphs["cpu"], cost=9.0)
    assert Fleet(store).select(jobspec(), "cost").cluster == "z-priced"


def test_select_refuses_when_no_cluster_fits_and_says_why(fleet_store):
    with pytest.raises(MatchError, match=r"no cluster can run this job:\n  cpu: "):
        Fleet(fleet_store).select(jobspec(nodes=99))
    with pytest.raises(MatchError, match="unknown rule 'cheapest' for choosing a cluster; "
                                         "expected one of first, random, best-fit, cost"):
        Fleet(fleet_store).select(jobspec(), "cheapest")


def test_the_rule_is_named_by_and_policy_still_works_for_one_release(fleet_store):
    fleet = Fleet(fleet_store)
    chosen = fleet.select(jobspec(nodes=2), by="cost")
    assert (chosen.cluster, chosen.by) == ("cpu", "cost")
    document = chosen.to_dict()
    assert document["by"] == "cost"
    with pytest.warns(DeprecationWarning, match=r"Fleet.select\(policy=...\) is deprecated; "
                                                r"use by="):
        assert fleet.select(jobspec(nodes=2), policy="cost").to_dict() == document
    with pytest.warns(DeprecationWarning, match="Selection.policy is deprecated; use "
                                                "Selection.by"):
        assert chosen.policy == "cost"
    # The JSON key's old name stays beside the new one for readers of `select --json`.
    assert document["policy"] == "cost"
    script = Job.from_text(SLURM_SCRIPT, requires=["gromacs>=2023"])
    with pytest.warns(DeprecationWarning, match=r"Fleet.script\(policy=...\)"):
        assert fleet.script(script, policy="cost") == fleet.script(script, by="cost")
    with pytest.warns(DeprecationWarning), pytest.raises(TypeError, match="give by only"):
        fleet.select(jobspec(), by="cost", policy="first")
    assert RULE_NAMES == ("first", "random", "best-fit", "cost", "earliest-start")


# Script ---------------------------------------------------------------------------------------


def test_the_script_is_written_for_the_chosen_clusters_scheduler_with_software_loaded(
    fleet_store,
):
    job = Job.from_text(SLURM_SCRIPT, requires=["gromacs>=2023"])
    script = Fleet(fleet_store).script(job)
    assert (script.cluster, script.scheduler) == ("cpu", "slurm")
    assert script.loads == ["spack load gromacs@2023.1/q3kcqxs"]
    lines = script.text.splitlines()
    assert lines[0] == "#!/bin/bash" and "#SBATCH --nodes=2" in lines
    assert lines.index("spack load gromacs@2023.1/q3kcqxs") < lines.index(
        "srun gmx_mpi mdrun -s topol.tpr"
    )


def test_a_named_cluster_gets_the_script_in_its_schedulers_syntax(fleet_store):
    script = Fleet(fleet_store).script(Job.from_text(SLURM_SCRIPT), cluster="gpu")
    assert script.scheduler == "flux"
    assert "#FLUX: --nodes=2" in script.text and "#SBATCH" not in script.text


def test_a_named_cluster_that_cannot_run_the_job_is_refused_with_its_reasons(fleet_store):
    with pytest.raises(MatchError, match="tiny"):
        Fleet(fleet_store).script(Job.from_text(SLURM_SCRIPT), cluster="tiny")
    with pytest.raises(StoreError, match="no cluster named 'nowhere'"):
        Fleet(fleet_store).script(Job.from_text(SLURM_SCRIPT), cluster="nowhere")


def test_a_job_file_that_does_not_exist_is_named(tmp_path):
    with pytest.raises(StoreError, match="no such job file"):
        Job.load(str(tmp_path / "absent.sh"))


def test_a_cluster_too_small_in_all_is_told_the_total_it_lacks(fleet_store):
    answer = by_cluster(Fleet(fleet_store, ["tiny"]).satisfy(jobspec(nodes=3)))["tiny"]
    assert not answer.fits
    assert "3 node" in answer.reason and "1" in answer.reason


def test_a_fixed_node_count_is_read_from_the_request_and_ranges_leave_it_to_the_match():
    def nodes(resources):
        return Jobspec.from_dict({"version": 9999, "resources": resources, "tasks": [
            {"command": ["x"], "slot": "t", "count": {"per_slot": 1}}]}).fixed_node_count

    core = {"type": "core", "count": 1}
    slot = {"type": "slot", "count": 2, "label": "t", "with": [core]}
    assert nodes([{"type": "node", "count": 4, "with": [slot]}]) == 4
    nested = {"type": "slot", "count": 3, "label": "t", "with": [
        {"type": "node", "count": 2, "with": [core]}]}
    assert nodes([nested]) == 6
    ranged = {"type": "node", "count": {"min": 1, "max": 4, "operator": "+", "operand": 1},
              "with": [slot]}
    assert nodes([ranged]) is None
    assert nodes([slot]) is None


def test_cost_of_a_request_without_nodes_counts_the_nodes_its_match_takes(fleet_store):
    request = yaml.safe_load(jobspec(sockets=1, cores=1))
    request["resources"] = request["resources"][0]["with"]  # socket > slot > core
    chosen = Fleet(fleet_store).select(yaml.safe_dump(request), "cost")
    assert chosen.scores[chosen.cluster]["nodes"] == 1


def test_clusters_alike_share_one_answer_and_each_still_gets_its_own(store):
    """The core answers clusters whose compiled nodes are alike once; every cluster's answer
    is still what matching its own graph says: with racks, with a node down, with a
    constraint naming a node only some clusters have, and for requests above the node
    level."""
    names = []
    for number in range(12):
        nodes, racks = (3, None) if number % 3 else (4, 2)
        document = synthetic_graph(nodes, sockets=1, cores=8 * (1 + number % 2), gpus=0,
                                   memory=0, racks=racks)
        if number == 7:
            down = next(n for n in document["graph"]["nodes"]
                        if n["metadata"]["type"] == "node")
            down["metadata"]["status"] = "down"
        names.append(f"c{number:02d}")
        store.add(f"c{number:02d}", "slurm", document)
    fleet = Fleet(store)
    jobs = [
        {"version": 1, "resources": [{"type": "node", "count": 3, "with": [
            {"type": "slot", "count": 1, "label": "task",
             "with": [{"type": "core", "count": 12}]}]}]},
        {"version": 1, "resources": [{"type": "slot", "count": 20, "label": "task",
                                      "with": [{"type": "core", "count": 2}]}]},
        {"version": 9999, "resources": [{"type": "rack", "count": 1, "with": [
            {"type": "node", "count": 2, "with": [{"type": "socket", "count": 1, "with": [
                {"type": "slot", "count": 1, "label": "task",
                 "with": [{"type": "core", "count": 12}]}]}]}]}]},
        {"version": 1, "resources": [{"type": "node", "count": 1, "with": [
            {"type": "slot", "count": 1, "label": "task",
             "with": [{"type": "core", "count": 4}]}]}],
         "attributes": {"system": {"constraints": {"hostlist": ["node3"]}}}},
    ]
    for spec in jobs:
        spec = {"tasks": [{"command": ["app"], "slot": "task", "count": {"per_slot": 1}}],
                **spec}
        spec.setdefault("attributes", {}).setdefault("system", {})["duration"] = 60
        job = Job.from_text(json.dumps(spec))
        answers = {a.cluster: a.fits for a in fleet.satisfy(job)}
        # Each cluster's whole graph read from its file (as the job reads it: per node).
        expected = {name: fleet.compiled.graph(name, job.per_node).satisfiable(job.jobspec).status
                    == "satisfiable" for name in names}
        assert answers == expected, spec
        assert len(set(answers.values())) == 2, spec  # some fit, some do not
