"""Flux jobspecs fractale writes follow RFC 25 (version 1) and read back into the model."""

import copy

import fractale
import pytest
import yaml
from fractale.errors import TranslateError
from fractale.transform import BatchJob
from fractale.transform.managers.jobspec import v1_problems


def rendered(**fields):
    return yaml.safe_load(fractale.render(BatchJob(**fields), "jobspec"))


def test_nodes_and_tasks_per_node_become_node_slot_core():
    doc = rendered(nodes=4, tasks_per_node=2, cpus_per_task=8, walltime=3600)
    assert doc["version"] == 1
    assert doc["resources"] == [{"type": "node", "count": 4, "with": [
        {"type": "slot", "count": 2, "label": "task",
         "with": [{"type": "core", "count": 8}]}]}]
    assert doc["tasks"][0]["count"] == {"per_slot": 1}
    assert doc["attributes"]["system"]["duration"] == 3600
    assert v1_problems(doc) == []


def test_tasks_over_nodes_use_a_total_count():
    doc = rendered(nodes=4, tasks=5)
    assert doc["resources"][0]["with"][0]["count"] == 2
    assert doc["tasks"][0]["count"] == {"total": 5}
    assert v1_problems(doc) == []


def test_tasks_without_nodes_are_slots_with_gpus():
    doc = rendered(tasks=10, cpus_per_task=2, gpus_per_task=1)
    assert doc["resources"] == [{"type": "slot", "count": 10, "label": "task", "with": [
        {"type": "core", "count": 2}, {"type": "gpu", "count": 1}]}]
    assert v1_problems(doc) == []


def test_a_spec_with_nothing_set_is_still_a_valid_v1_jobspec():
    doc = rendered(script="hostname\n")
    assert v1_problems(doc) == []
    assert doc["attributes"]["system"]["duration"] == 0


def test_batch_script_travels_as_a_file_run_by_flux_broker():
    doc = rendered(nodes=1, script="hostname\n", shell="/bin/sh")
    assert doc["tasks"][0]["command"] == ["flux", "broker", "{{tmpdir}}/script"]
    assert doc["attributes"]["system"]["files"]["script"]["data"] == "#!/bin/sh\nhostname\n"


def test_system_attributes_carry_name_queue_bank_cwd_environment_and_output():
    doc = rendered(name="sim", queue="pdebug", account="proj", workdir="/p/sim",
                   environment={"OMP_NUM_THREADS": "4"}, output="sim-{{id}}.out")
    system = doc["attributes"]["system"]
    assert system["job"] == {"name": "sim"}
    assert (system["queue"], system["bank"], system["cwd"]) == ("pdebug", "proj", "/p/sim")
    assert system["environment"] == {"OMP_NUM_THREADS": "4"}
    assert system["shell"]["options"]["output"]["stdout"] == {"type": "file",
                                                              "path": "sim-{{id}}.out"}


def test_constraints_hosts_and_dependencies_follow_rfc_31_and_26():
    doc = rendered(constraints=["ib"], nodelist=["n[1-2]"], dependencies=["afterok:f1"])
    system = doc["attributes"]["system"]
    assert system["constraints"] == {"and": [{"properties": ["ib"]}, {"hostlist": ["n[1-2]"]}]}
    assert system["dependencies"] == [{"scheme": "afterok", "value": "f1"}]


def test_gpus_per_node_are_spread_over_the_task_slots():
    doc = rendered(nodes=2, tasks_per_node=4, gpus_per_node=4)
    assert doc["resources"][0]["with"][0]["with"][1] == {"type": "gpu", "count": 1}


def test_rendered_jobspec_reads_back_into_the_same_spec():
    spec = BatchJob(name="sim", nodes=2, tasks_per_node=4, cpus_per_task=2, walltime=600,
                   exclusive=True, begin="2026-05-01T10:00:00", script="hostname\n",
                   dialect="jobspec")
    assert fractale.parse(fractale.render(spec, "jobspec")) == spec


def test_plain_command_jobspec_becomes_a_flux_run_line():
    doc = {"version": 1, "resources": [{"type": "slot", "count": 4, "label": "task",
                                        "with": [{"type": "core", "count": 1}]}],
           "tasks": [{"command": ["app", "--fast"], "slot": "task", "count": {"per_slot": 1}}],
           "attributes": {"system": {"duration": 60}}}
    spec = fractale.parse(yaml.safe_dump(doc))
    assert spec.tasks == 4
    assert spec.script == "flux run -n 4 app --fast\n"
    assert fractale.transform(yaml.safe_dump(doc), to="slurm").text.endswith(
        "srun -n 4 app --fast\n")


BROKEN = [
    ("version", 2, "version must be 1"),
    ("per_slot", 2, "per_slot must be 1"),
    ("duration", None, "duration is required"),
    ("gpu-outside", None, "a slot must contain a core"),
    ("two-tasks", None, "exactly one task"),
    ("socket", None, "must be a node or a slot"),
]


@pytest.mark.parametrize(("what", "value", "message"), BROKEN)
def test_v1_rules_reject_broken_jobspecs(what, value, message):
    doc = rendered(nodes=1, tasks_per_node=2)
    broken = copy.deepcopy(doc)
    if what == "version":
        broken["version"] = value
    elif what == "per_slot":
        broken["tasks"][0]["count"] = {"per_slot": value}
    elif what == "duration":
        del broken["attributes"]["system"]["duration"]
    elif what == "gpu-outside":
        broken["resources"][0]["with"][0]["with"] = [{"type": "gpu", "count": 1}]
    elif what == "two-tasks":
        broken["tasks"].append(broken["tasks"][0])
    elif what == "socket":
        broken["resources"][0]["type"] = "socket"
    problems = v1_problems(broken)
    assert any(message in problem for problem in problems), problems
    with pytest.raises(TranslateError, match="not a valid version 1 jobspec"):
        fractale.parse(yaml.safe_dump(broken), "jobspec")


def test_json_jobspec_is_read_too():
    import json

    doc = rendered(nodes=1, tasks_per_node=1, walltime=60)
    assert fractale.parse(json.dumps(doc)).walltime == 60


@pytest.mark.parametrize(("fields", "counts"), [
    ({"nodes": 4, "tasks_per_node": 2, "cpus_per_task": 8}, {"node": 4, "core": 64}),
    ({"tasks": 10, "cpus_per_task": 2, "gpus_per_task": 1}, {"core": 20, "gpu": 10}),
    ({"nodes": 2, "tasks_per_node": 4, "gpus_per_node": 4}, {"node": 2, "core": 8, "gpu": 8}),
])
def test_fractales_jobspec_parser_counts_what_was_asked(fields, counts):
    jobspec = fractale.Jobspec.from_str(fractale.render(BatchJob(walltime=60, **fields),
                                                        "jobspec"))
    assert jobspec.version == 1
    assert jobspec.duration == 60
    assert {k: v for k, v in jobspec.counts().items() if k in counts} == counts
