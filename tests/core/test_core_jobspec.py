"""Jobspec: RFC 14 documents of any version, RFC 25 rules for version 1, located errors."""

import fractale
import pytest

V1 = """
version: 1
resources:
  - type: node
    count: 2
    with:
      - type: slot
        count: 4
        label: task
        with:
          - type: core
            count: 2
          - type: gpu
            count: 1
tasks:
  - command: [hostname]
    slot: task
    count: {per_slot: 1}
attributes:
  system:
    duration: 600
    requires:
      software: [{name: gromacs, version: ">=2023"}]
"""


def test_reads_yaml_and_reports_counts_and_attributes():
    js = fractale.Jobspec.from_str(V1)
    assert js.version == 1
    assert js.duration == 600
    assert js.counts() == {"core": 16, "gpu": 8, "node": 2}
    assert js.requires == [{"software": [{"name": "gromacs", "version": ">=2023"}]}]


def test_reads_json_text_and_dicts_alike():
    js = fractale.Jobspec.from_str(V1)
    import json

    assert fractale.Jobspec.from_str(json.dumps(js.to_dict())).counts() == js.counts()
    assert fractale.Jobspec.from_dict(js.to_dict()).counts() == js.counts()


def test_from_path_names_the_file_in_errors(tmp_path):
    path = tmp_path / "job.yaml"
    path.write_text(V1.replace("count: 2\n    with", "count: 0\n    with"))
    with pytest.raises(fractale.JobspecError) as info:
        fractale.Jobspec.from_path(str(path))
    assert info.value.file == str(path)
    assert info.value.location == "resources[0].count"


def test_version_1_rejects_types_beyond_rfc_25_unless_lenient():
    text = V1.replace("type: gpu", "type: socket")
    with pytest.raises(fractale.JobspecError, match="not a version 1 resource type"):
        fractale.Jobspec.from_str(text)
    assert fractale.Jobspec.from_str(text, strict=False).counts()["socket"] == 8


def test_invalid_yaml_reports_line_and_column():
    with pytest.raises(fractale.JobspecError) as info:
        fractale.Jobspec.from_str("version: 1\nresources: [\n", "bad.yaml")
    assert info.value.file == "bad.yaml"
    assert info.value.location.startswith("line ")


def test_constraint_operators_are_checked():
    text = V1.replace("    requires:", "    constraints: {hostlist: ['node[0-']}\n    requires:")
    with pytest.raises(fractale.JobspecError, match="hostlist"):
        fractale.Jobspec.from_str(text)


@pytest.mark.parametrize(
    "old, new, location",
    [
        ("version: 1", "version: 0", "version"),
        ("label: task", "label: ''", "resources[0].with[0].label"),
        ("per_slot: 1", "per_slot: 2", "tasks[0].count.per_slot"),
        ("duration: 600", "duration: -1", "attributes.system.duration"),
    ],
)
def test_each_broken_rule_is_located(old, new, location):
    with pytest.raises(fractale.JobspecError) as info:
        fractale.Jobspec.from_str(V1.replace(old, new))
    assert info.value.location == location
