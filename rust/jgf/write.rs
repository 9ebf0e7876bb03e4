//! The writer: a `Document` back to a JGF value in the form it was read (list or keyed
//! vertices, named or subsystem edges, extra keys kept).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::model::{Document, EdgeStyle, Node, Status, CONTAINMENT};

/// Serialize nodes and edges back to a JGF document in the form they were read.
pub fn to_value(doc: &Document) -> Value {
    let form = Form {
        keyed: doc.keyed,
        edge_style: doc.edge_style,
        graph_extra: &doc.graph_extra,
    };
    let edges = doc
        .edges
        .iter()
        .map(|e| (e.source, e.target, &*e.subsystem, &*e.relation));
    write(
        &doc.nodes,
        |i| Cow::Borrowed(&doc.nodes[i].path),
        edges,
        form,
    )
}

/// How a document was spelled, to write it back alike.
#[derive(Clone, Copy)]
pub(crate) struct Form<'a> {
    pub keyed: bool,
    pub edge_style: EdgeStyle,
    pub graph_extra: &'a BTreeMap<String, Value>,
}

/// Write vertices (with the containment path of each from `path`) and edges (source,
/// target, subsystem, relation) as a JGF document of the given form.
pub(crate) fn write<'n, 's>(
    nodes: &'n [Node],
    path: impl Fn(usize) -> Cow<'n, str>,
    edges: impl Iterator<Item = (usize, usize, &'s str, &'s str)>,
    form: Form<'_>,
) -> Value {
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
        let path = path(position);
        if !path.is_empty() {
            paths.insert(CONTAINMENT.into(), Value::String(path.into_owned()));
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
    let vertices = if form.keyed {
        Value::Object(
            nodes
                .iter()
                .enumerate()
                .map(|(i, n)| (n.jgf_id_at(i).into_owned(), node_value(i, n)))
                .collect(),
        )
    } else {
        Value::Array(
            nodes
                .iter()
                .enumerate()
                .map(|(i, n)| node_value(i, n))
                .collect(),
        )
    };
    let edges: Vec<Value> = edges
        .map(|(source, target, subsystem, relation)| {
            let mut obj = Map::new();
            obj.insert(
                "source".into(),
                Value::String(nodes[source].jgf_id_at(source).into_owned()),
            );
            obj.insert(
                "target".into(),
                Value::String(nodes[target].jgf_id_at(target).into_owned()),
            );
            let mut meta = Map::new();
            match form.edge_style {
                EdgeStyle::Named => {
                    let mut name = Map::new();
                    name.insert(subsystem.to_owned(), Value::String(relation.to_owned()));
                    meta.insert("name".into(), Value::Object(name));
                }
                EdgeStyle::Subsystem => {
                    obj.insert("relation".into(), Value::String(relation.to_owned()));
                    meta.insert("subsystem".into(), Value::String(subsystem.to_owned()));
                }
            }
            obj.insert("metadata".into(), Value::Object(meta));
            Value::Object(obj)
        })
        .collect();
    let mut graph = Map::new();
    for (k, v) in form.graph_extra {
        graph.insert(k.clone(), v.clone());
    }
    graph.insert("nodes".into(), vertices);
    graph.insert("edges".into(), Value::Array(edges));
    let mut top = Map::new();
    top.insert("graph".into(), Value::Object(graph));
    Value::Object(top)
}
