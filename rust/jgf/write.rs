//! The writer: a `Document` back to a JGF value in the form it was read (list or keyed
//! vertices, named or subsystem edges, extra keys kept).

use serde_json::{Map, Value};

use super::model::{Document, EdgeStyle, Node, Status, CONTAINMENT};

/// Serialize nodes and edges back to a JGF document in the form they were read.
pub fn to_value(doc: &Document) -> Value {
    let node_value = |position: usize, node: &Node| -> Value {
        let mut meta = Map::new();
        meta.insert("type".into(), Value::String(node.kind.to_string()));
        meta.insert("basename".into(), Value::String(node.basename.to_string()));
        meta.insert("name".into(), Value::String(node.name.clone()));
        meta.insert("id".into(), Value::from(node.id));
        meta.insert("uniq_id".into(), Value::from(node.uniq_id));
        meta.insert("rank".into(), Value::from(node.rank));
        meta.insert("exclusive".into(), Value::Bool(node.exclusive));
        meta.insert("unit".into(), Value::String(node.unit.to_string()));
        meta.insert("size".into(), Value::from(node.size));
        let mut paths = Map::new();
        if !node.path.is_empty() {
            paths.insert(CONTAINMENT.into(), Value::String(node.path.clone()));
        }
        let extras = node.extras.as_deref();
        for (k, v) in extras.map_or(&[][..], |e| &e.other_paths[..]) {
            paths.insert(k.clone(), Value::String(v.clone()));
        }
        meta.insert("paths".into(), Value::Object(paths));
        if !node.properties().is_empty() {
            let props: Map<String, Value> = node
                .properties()
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            meta.insert("properties".into(), Value::Object(props));
        }
        if node.status == Status::Down {
            meta.insert("status".into(), Value::from(1));
        }
        if let Some(e) = extras {
            if let Some(attrs) = &e.attributes {
                meta.insert("attributes".into(), attrs.clone());
            }
            for (k, v) in &e.extra {
                meta.insert(k.clone(), v.clone());
            }
        }
        let mut obj = Map::new();
        obj.insert(
            "id".into(),
            Value::String(node.jgf_id_at(position).into_owned()),
        );
        if let Some(label) = extras.and_then(|e| e.label.as_ref()) {
            obj.insert("label".into(), Value::String(label.clone()));
        }
        obj.insert("metadata".into(), Value::Object(meta));
        Value::Object(obj)
    };
    let nodes = if doc.keyed {
        Value::Object(
            doc.nodes
                .iter()
                .enumerate()
                .map(|(i, n)| (n.jgf_id_at(i).into_owned(), node_value(i, n)))
                .collect(),
        )
    } else {
        Value::Array(
            doc.nodes
                .iter()
                .enumerate()
                .map(|(i, n)| node_value(i, n))
                .collect(),
        )
    };
    let edges: Vec<Value> = doc
        .edges
        .iter()
        .map(|e| {
            let mut obj = Map::new();
            obj.insert(
                "source".into(),
                Value::String(doc.nodes[e.source].jgf_id_at(e.source).into_owned()),
            );
            obj.insert(
                "target".into(),
                Value::String(doc.nodes[e.target].jgf_id_at(e.target).into_owned()),
            );
            let mut meta = Map::new();
            match doc.edge_style {
                EdgeStyle::Named => {
                    let mut name = Map::new();
                    name.insert(
                        e.subsystem.to_string(),
                        Value::String(e.relation.to_string()),
                    );
                    meta.insert("name".into(), Value::Object(name));
                }
                EdgeStyle::Subsystem => {
                    obj.insert("relation".into(), Value::String(e.relation.to_string()));
                    meta.insert("subsystem".into(), Value::String(e.subsystem.to_string()));
                }
            }
            obj.insert("metadata".into(), Value::Object(meta));
            Value::Object(obj)
        })
        .collect();
    let mut graph = Map::new();
    for (k, v) in &doc.graph_extra {
        graph.insert(k.clone(), v.clone());
    }
    graph.insert("nodes".into(), nodes);
    graph.insert("edges".into(), Value::Array(edges));
    let mut top = Map::new();
    top.insert("graph".into(), Value::Object(graph));
    Value::Object(top)
}
