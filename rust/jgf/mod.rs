//! Reading and writing JSON Graph Format resource graphs as Fluxion and compspec write them.
//! `model` holds the validated document, `read` the streaming reader, `scan` its fast path for
//! the usual shape, `tree` the checks of the containment tree, `locate` the slow path that
//! names where a bad document goes wrong, and `write` the way back to JGF.

mod locate;
mod model;
mod read;
mod scan;
mod tree;
mod write;

pub(crate) use locate::describe_value;
pub use model::{Document, Edge, EdgeStyle, Layout, Node, NodeExtras, Status, CONTAINMENT};
pub use read::{
    from_value, from_value_as, parse, parse_bytes, parse_bytes_as, parse_bytes_releasing, Release,
};
pub use write::to_value;
pub(crate) use write::{write, Form};

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: &str = r#"{"graph": {"nodes": [
        {"id": "0", "metadata": {"type": "cluster", "name": "c0", "id": 0, "paths": {"containment": "/c0"}}},
        {"id": "1", "metadata": {"type": "node", "basename": "node", "id": 0, "rank": 3, "paths": {"containment": "/c0/node0"}, "properties": {"ssd": "true"}}},
        {"id": "2", "metadata": {"type": "memory", "id": 0, "size": 16, "unit": "GB", "status": 1, "paths": {"containment": "/c0/node0/memory0"}}}
      ], "edges": [
        {"source": "0", "target": "1", "metadata": {"name": {"containment": "contains"}}},
        {"source": "1", "target": "0", "metadata": {"name": {"containment": "in"}}},
        {"source": "1", "target": "2", "metadata": {"name": {"containment": "contains"}}}
      ]}}"#;

    #[test]
    fn reads_fluxion_nodes_and_ignores_reverse_edges() {
        let doc = parse(TINY, Some("tiny.json")).unwrap();
        assert_eq!(doc.nodes.len(), 3);
        assert_eq!(doc.edges.len(), 2);
        assert_eq!(doc.root, 0);
        assert_eq!(&*doc.nodes[1].name, "node0");
        assert_eq!(doc.nodes[1].rank, 3);
        assert_eq!(doc.nodes[2].size, 16);
        assert_eq!(doc.nodes[2].status, Status::Down);
        assert_eq!(
            doc.nodes[1].properties().get("ssd").map(String::as_str),
            Some("true")
        );
    }

    #[test]
    fn reads_nodes_keyed_by_id_as_jgf_v2() {
        let text = r#"{"graph": {"nodes": {
            "a": {"metadata": {"type": "cluster", "paths": {"containment": "/cluster0"}}},
            "b": {"metadata": {"type": "node", "paths": {"containment": "/cluster0/node1"}}}
          }, "edges": [{"source": "a", "target": "b", "relation": "contains", "metadata": {"subsystem": "containment"}}]}}"#;
        let doc = parse(text, None).unwrap();
        assert!(doc.keyed);
        assert_eq!(doc.edge_style, EdgeStyle::Subsystem);
        assert_eq!(doc.nodes[doc.root].jgf_id, "a");
    }

    #[test]
    fn missing_type_is_reported_with_its_location() {
        let text = r#"{"graph": {"nodes": [{"id": "0", "metadata": {"paths": {}}}], "edges": []}}"#;
        let err = parse(text, Some("g.json")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "g.json: graph.nodes[0].metadata.type: expected a resource type (a string)"
        );
    }

    #[test]
    fn wrong_json_type_is_reported_with_its_location() {
        let text = r#"{"graph": {"nodes": [{"id": "0", "metadata": {"type": "node"}}, {"id": "1", "metadata": {"type": 7}}], "edges": []}}"#;
        let err = parse(text, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "graph.nodes[1].metadata.type: expected a string, found a number"
        );
    }

    #[test]
    fn edge_to_unknown_node_is_rejected() {
        let text = r#"{"graph": {"nodes": [{"id": "0", "metadata": {"type": "node"}}], "edges": [{"source": "0", "target": "9"}]}}"#;
        let err = parse(text, None).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("graph.edges[0].target: expected the id of a node"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_ids_are_rejected() {
        let text = r#"{"graph": {"nodes": [{"id": "0", "metadata": {"type": "a"}}, {"id": "0", "metadata": {"type": "b"}}], "edges": []}}"#;
        let err = parse(text, None).unwrap_err();
        assert!(
            err.to_string()
                .contains("graph.nodes[1].id: expected a unique node id"),
            "{err}"
        );
    }

    #[test]
    fn two_roots_are_rejected() {
        let text = r#"{"graph": {"nodes": [{"id": "0", "metadata": {"type": "a"}}, {"id": "1", "metadata": {"type": "b"}}, {"id": "2", "metadata": {"type": "c"}}, {"id": "3", "metadata": {"type": "d"}}],
           "edges": [{"source": "0", "target": "1"}, {"source": "2", "target": "3"}]}}"#;
        let err = parse(text, None).unwrap_err();
        assert!(err.to_string().contains("found 2 roots"), "{err}");
    }

    #[test]
    fn two_parents_are_rejected() {
        let text = r#"{"graph": {"nodes": [{"id": "0", "metadata": {"type": "a"}}, {"id": "1", "metadata": {"type": "b"}}, {"id": "2", "metadata": {"type": "c"}}],
           "edges": [{"source": "0", "target": "1"}, {"source": "0", "target": "2"}, {"source": "1", "target": "2"}]}}"#;
        let err = parse(text, None).unwrap_err();
        assert!(err.to_string().contains("one containment parent"), "{err}");
    }

    #[test]
    fn a_cycle_is_rejected() {
        let text = r#"{"graph": {"nodes": [{"id": "0", "metadata": {"type": "a"}}, {"id": "1", "metadata": {"type": "b"}}, {"id": "2", "metadata": {"type": "c"}}],
           "edges": [{"source": "0", "target": "1"}, {"source": "1", "target": "2"}, {"source": "2", "target": "1"}]}}"#;
        assert!(parse(text, None).is_err());
    }

    #[test]
    fn edges_before_nodes_are_read_alike() {
        let text = r#"{"graph": {"edges": [{"source": "0", "target": "1"}],
            "nodes": [{"id": "0", "metadata": {"type": "cluster"}}, {"id": "1", "metadata": {"type": "node"}}]}}"#;
        let doc = parse(text, None).unwrap();
        assert_eq!(doc.edges.len(), 1);
        assert_eq!(doc.root, 0);
        let bad = r#"{"graph": {"edges": [{"source": "0", "target": "5"}], "nodes": [{"id": "0", "metadata": {"type": "a"}}]}}"#;
        let err = parse(bad, None).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("graph.edges[0].target: expected the id of a node"),
            "{err}"
        );
    }

    #[test]
    fn missing_edges_list_is_rejected() {
        let err = parse(
            r#"{"graph": {"nodes": [{"id": "0", "metadata": {"type": "a"}}]}}"#,
            None,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "graph.edges: expected a list of edges (it may be empty)"
        );
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let err = parse("{\"graph\": {\n  \"nodes\": [,]}}", Some("bad.json")).unwrap_err();
        assert!(
            err.to_string().starts_with("bad.json: line 2 column"),
            "{err}"
        );
    }

    /// A software graph as compspec-spack writes it: vertices keyed by label, paths under
    /// `containment.paths`, `contains`/`in` pairs, and packages linked to no root.
    const COMPSPEC_SPACK: &str = r#"{"graph": {"nodes": {
        "software0": {"label": "software0", "metadata": {"type": "software", "basename": "software", "name": "software0", "id": 0, "containment": {"paths": "/spack0"}}},
        "package1": {"label": "package1", "metadata": {"type": "package", "basename": "package", "name": "package0", "id": 1, "containment": {"paths": "/spack0/package0"}, "attributes": {"name": "curl", "version": "8.4.0"}}},
        "binary2": {"label": "binary2", "metadata": {"type": "binary", "basename": "binary", "name": "binary0", "id": 2, "containment": {"paths": "/spack0/package1/binary0"}, "attributes": {"name": "curl"}}},
        "package3": {"label": "package3", "metadata": {"type": "package", "basename": "package", "name": "package1", "id": 3, "containment": {"paths": "/spack0/package1"}, "attributes": {"name": "zlib", "version": "1.3"}}},
        "library4": {"label": "library4", "metadata": {"type": "library", "basename": "library", "name": "library0", "id": 4, "containment": {"paths": "/spack0/package3/library0"}, "attributes": {"name": "libz.so.1"}}}},
        "edges": [
        {"source": "package1", "target": "binary2", "metadata": {"name": {"containment": "contains"}}},
        {"source": "binary2", "target": "package1", "metadata": {"name": {"containment": "in"}}},
        {"source": "package3", "target": "library4", "metadata": {"name": {"containment": "contains"}}},
        {"source": "library4", "target": "package3", "metadata": {"name": {"containment": "in"}}}]}}"#;

    #[test]
    fn compspec_containment_paths_are_read() {
        let text = r#"{"graph": {"nodes": {
            "cluster0": {"metadata": {"type": "cluster", "containment": {"paths": "/cluster0"}}},
            "node1": {"metadata": {"type": "node", "containment": {"paths": "/cluster0/node0"}}}},
            "edges": [{"source": "cluster0", "target": "node1", "metadata": {"name": {"containment": "contains"}}},
                      {"source": "node1", "target": "cluster0", "metadata": {"name": {"containment": "in"}}}]}}"#;
        let doc = parse(text, None).unwrap();
        assert_eq!(doc.nodes[1].path, "/cluster0/node0");
        assert_eq!(doc.edges.len(), 1);
        assert!(
            doc.nodes[1].extras.is_none(),
            "containment.paths is not kept as extra"
        );
    }

    #[test]
    fn compspec_containment_edges_may_name_vertices_by_metadata_id() {
        // compspec-containment keys vertices by label and names them by id in its edges.
        let text = r#"{"graph": {"nodes": {
            "cluster0": {"metadata": {"type": "cluster", "id": 0, "containment": {"paths": {"containment": "/cluster0"}}}},
            "node1": {"metadata": {"type": "node", "id": 1, "containment": {"paths": {"containment": "/cluster0/node0"}}}}},
            "edges": [{"source": "0", "target": "1"}]}}"#;
        let doc = parse(text, None).unwrap();
        assert_eq!((doc.edges[0].source, doc.edges[0].target), (0, 1));
        assert_eq!(doc.nodes[1].path, "/cluster0/node0");
    }

    #[test]
    fn a_compspec_software_forest_is_a_tree_under_its_subsystem_root() {
        let err = parse(COMPSPEC_SPACK, None).unwrap_err();
        assert!(err.to_string().contains("found 2 roots"), "{err}");
        let doc = parse_bytes_as(COMPSPEC_SPACK.as_bytes(), None, Layout::Forest).unwrap();
        assert_eq!(
            doc.nodes.len(),
            5,
            "no vertex is made when the paths name the root"
        );
        assert_eq!(&*doc.nodes[doc.root].name, "software0");
        let parent_of = |name: &str| {
            let v = doc.nodes.iter().position(|n| &*n.name == name).unwrap();
            let e = doc.edges.iter().find(|e| e.target == v).unwrap();
            doc.nodes[e.source].name.to_string()
        };
        assert_eq!(parent_of("package0"), "software0");
        assert_eq!(parent_of("package1"), "software0");
        assert_eq!(parent_of("binary0"), "package0");
    }

    #[test]
    fn a_forest_without_a_root_vertex_gets_one() {
        let text = COMPSPEC_SPACK.replace(
            r#""software0": {"label": "software0", "metadata": {"type": "software", "basename": "software", "name": "software0", "id": 0, "containment": {"paths": "/spack0"}}},"#,
            "",
        );
        let doc = parse_bytes_as(text.as_bytes(), None, Layout::Forest).unwrap();
        assert_eq!(doc.nodes.len(), 5);
        let root = &doc.nodes[doc.root];
        assert_eq!(
            (&*root.kind, &*root.name, root.path.as_str()),
            ("software", "spack0", "/spack0")
        );
        assert_eq!(doc.edges.iter().filter(|e| e.source == doc.root).count(), 2);
    }

    #[test]
    fn a_forest_still_refuses_two_parents() {
        let text = r#"{"graph": {"nodes": [{"id": "0", "metadata": {"type": "a"}}, {"id": "1", "metadata": {"type": "b"}}, {"id": "2", "metadata": {"type": "c"}}],
           "edges": [{"source": "0", "target": "2"}, {"source": "1", "target": "2"}]}}"#;
        let err = parse_bytes_as(text.as_bytes(), None, Layout::Forest).unwrap_err();
        assert!(err.to_string().contains("one containment parent"), "{err}");
    }

    #[test]
    fn missing_paths_are_derived_from_the_tree() {
        let text = r#"{"graph": {"nodes": [{"id": "0", "metadata": {"type": "cluster", "name": "c"}}, {"id": "1", "metadata": {"type": "node", "name": "n1"}}],
           "edges": [{"source": "0", "target": "1"}]}}"#;
        let doc = parse(text, None).unwrap();
        assert_eq!(Some(doc.nodes[1].path.as_str()), Some("/c/n1"));
    }

    #[test]
    fn writing_back_round_trips() {
        let doc = parse(TINY, None).unwrap();
        let again = from_value(to_value(&doc), None).unwrap();
        assert_eq!(doc, again);
    }
}
