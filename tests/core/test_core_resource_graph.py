"""ResourceGraph: loading JGF from every kind of source, matching, releasing, writing back."""

import json

import fractale
import pytest

NODE_CORES = """
version: 9999
resources:
  - type: node
    count: {nodes}
    with:
      - type: socket
        count: 1
        with:
          - type: slot
            count: 1
            label: default
            with:
              - type: core
                count: {cores}
tasks:
  - command: [app]
    slot: default
    count: {{per_slot: 1}}
attributes: {{system: {{duration: 3600}}}}
"""


def job(nodes=1, cores=1):
    return fractale.Jobspec.from_str(NODE_CORES.format(nodes=nodes, cores=cores))


def test_loads_from_a_path_text_or_dict(fluxion):
    path = fluxion / "graphs" / "tiny.json"
    from_path = fractale.ResourceGraph.from_jgf(str(path))
    from_text = fractale.ResourceGraph.from_jgf(path.read_text())
    from_dict = fractale.ResourceGraph.from_jgf(json.loads(path.read_text()))
    assert from_path.summary() == from_text.summary() == from_dict.summary()
    assert from_path.summary()["core"] == 72
    assert from_path.name == str(path)


def test_summary_counts_vertices_and_totals_add_sizes(tiny):
    assert tiny.summary()["memory"] == 16
    assert tiny.totals()["core"] == 72
    assert tiny.vertex_count == sum(tiny.summary().values())


def test_allocate_returns_the_vertices_taken(tiny):
    result = tiny.allocate(job(nodes=2, cores=4), policy="low")
    assert result and result.status == "allocated"
    allocation = result.allocation
    assert allocation.counts() == {"core": 8}
    assert allocation.nodes() == ["node0", "node1"]
    cores = [v for v in allocation if v.type == "core"]
    assert all(v.exclusive for v in cores)
    assert all(v.path.startswith("/tiny0/rack0/node") for v in cores)


def test_allocations_reduce_what_is_free_until_released(tiny):
    first = tiny.allocate(job(cores=18)).allocation
    assert tiny.free()["core"] == 72 - 18
    assert tiny.jobs() == [first.jobid]
    tiny.release(first)
    assert tiny.free()["core"] == 72
    assert tiny.jobs() == []


def test_busy_when_it_fits_only_on_an_empty_graph(tiny):
    for _ in range(4):
        assert tiny.allocate(job(cores=18)).status == "allocated"
    result = tiny.allocate(job(cores=1))
    assert result.status == "busy"
    assert not result
    assert tiny.satisfiable(job(cores=1)).status == "satisfiable"


def test_unsatisfiable_names_the_level_that_fell_short(tiny):
    result = tiny.allocate(job(nodes=3))
    assert result.status == "unsatisfiable"
    assert "node" in result.reason
    too_wide = tiny.satisfiable(job(cores=19))
    assert too_wide.status == "unsatisfiable"
    assert "socket must hold 19 core" in too_wide.reason


def test_releasing_an_unknown_job_is_a_match_error(tiny):
    with pytest.raises(fractale.MatchError, match="no allocation with job id 99"):
        tiny.release(99)


def test_unknown_policy_is_a_match_error(tiny):
    with pytest.raises(fractale.MatchError, match="unknown policy"):
        tiny.allocate(job(), policy="best")


def test_to_jgf_round_trips(tiny):
    again = fractale.ResourceGraph.from_jgf(tiny.to_jgf())
    assert again.summary() == tiny.summary()
    assert again.to_jgf() == tiny.to_jgf()


def test_jgf_v2_nodes_keyed_by_id_are_read():
    document = {
        "graph": {
            "nodes": {
                "0": {"metadata": {"type": "cluster", "paths": {"containment": "/cluster0"}}},
                "1": {
                    "metadata": {
                        "type": "node",
                        "name": "n1",
                        "paths": {"containment": "/cluster0/n1"},
                    }
                },
                "2": {"metadata": {"type": "core", "paths": {"containment": "/cluster0/n1/core0"}}},
            },
            "edges": [
                {
                    "source": "0",
                    "target": "1",
                    "relation": "contains",
                    "metadata": {"subsystem": "containment"},
                },
                {
                    "source": "1",
                    "target": "2",
                    "relation": "contains",
                    "metadata": {"subsystem": "containment"},
                },
            ],
        }
    }
    graph = fractale.ResourceGraph.from_jgf(document)
    assert graph.summary() == {"cluster": 1, "core": 1, "node": 1}
    assert isinstance(graph.to_jgf()["graph"]["nodes"], dict)


@pytest.mark.parametrize(
    "document, location, expected",
    [
        (
            {"graph": {"nodes": [{"id": "0", "metadata": {}}], "edges": []}},
            "graph.nodes[0].metadata.type",
            "resource type",
        ),
        (
            {"graph": {"nodes": [{"id": "0", "metadata": {"type": "a"}}]}},
            "graph.edges",
            "list of edges",
        ),
        (
            {
                "graph": {
                    "nodes": [{"id": "0", "metadata": {"type": "a", "size": "big"}}],
                    "edges": [],
                }
            },
            "graph.nodes[0].metadata.size",
            "an integer",
        ),
        (
            {
                "graph": {
                    "nodes": [{"id": "0", "metadata": {"type": "a"}}],
                    "edges": [{"source": "0", "target": "7"}],
                }
            },
            "graph.edges[0].target",
            "id of a node",
        ),
    ],
)
def test_bad_graphs_raise_jgf_error_with_location(document, location, expected):
    with pytest.raises(fractale.JGFError) as info:
        fractale.ResourceGraph.from_jgf(document)
    assert info.value.location == location
    assert expected in info.value.expected
    assert isinstance(info.value, fractale.FractaleError)


def test_a_bad_file_names_the_file(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('{"graph": {"nodes": [{"id": "0", "metadata": {"type": 1}}], "edges": []}}')
    with pytest.raises(fractale.JGFError) as info:
        fractale.ResourceGraph.from_jgf(str(bad))
    assert info.value.file == str(bad)
    assert str(info.value).startswith(f"{bad}: graph.nodes[0].metadata.type:")


@pytest.mark.parametrize("as_dict", [False, True], ids=["text", "document"])
def test_source_names_text_or_a_document_in_errors_and_as_the_name(fluxion, as_dict):
    broken = '{"graph": {"nodes": [{"id": "0", "metadata": {"type": 1}}], "edges": []}}'
    given = json.loads(broken) if as_dict else broken
    with pytest.raises(fractale.JGFError) as info:
        fractale.ResourceGraph.from_jgf(given, source="site/containment.json")
    assert info.value.file == "site/containment.json"
    assert info.value.location == "graph.nodes[0].metadata.type"
    assert str(info.value).startswith("site/containment.json: graph.nodes[0].metadata.type:")
    tiny = (fluxion / "graphs" / "tiny.json").read_text()
    good = fractale.ResourceGraph.from_jgf(
        json.loads(tiny) if as_dict else tiny, source="site/containment.json"
    )
    assert good.name == "site/containment.json"


def test_a_missing_file_is_a_fractale_error(tmp_path):
    with pytest.raises(fractale.FractaleError, match="cannot read the graph"):
        fractale.ResourceGraph.from_jgf(str(tmp_path / "absent.json"))


def test_constraints_restrict_which_nodes_are_used(tiny):
    spec = NODE_CORES.format(nodes=1, cores=1).replace(
        "attributes: {system: {duration: 3600}}",
        "attributes: {system: {duration: 3600, constraints: {hostlist: ['node1']}}}",
    )
    result = tiny.allocate(fractale.Jobspec.from_str(spec), policy="low")
    assert result.allocation.nodes() == ["node1"]
