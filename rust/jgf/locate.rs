//! The slow-path error locator: when the typed reader fails on a document, walk it as
//! generic JSON to name the first place whose JSON type is wrong (`graph.nodes[3].metadata.size`),
//! or the line and column of a syntax error.

use serde_json::Value;

use crate::error::Error;

/// The typed parse failed: find where, by walking the generic JSON value.
pub(super) fn locate_error(
    bytes: &[u8],
    file: Option<&str>,
    typed_err: &serde_json::Error,
) -> Error {
    match serde_json::from_slice::<Value>(bytes) {
        Err(syntax) => Error::jgf(
            file,
            format!("line {} column {}", syntax.line(), syntax.column()),
            format!("valid JSON ({syntax})"),
        ),
        Ok(value) => locate_in_value(&value, file).unwrap_or_else(|| {
            Error::jgf(
                file,
                format!("line {} column {}", typed_err.line(), typed_err.column()),
                format!("a JGF document ({typed_err})"),
            )
        }),
    }
}

/// What kind of JSON value `v` is, for messages; `object` names a JSON object the way the
/// reader's documents call it ("an object" in JGF, "a mapping" in YAML jobspecs).
pub(crate) fn describe_value(v: &Value, object: &'static str) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => object,
    }
}

pub(super) fn json_kind(v: &Value) -> &'static str {
    describe_value(v, "an object")
}

fn expect_kind(v: &Value, ok: bool, loc: &str, what: &str, file: Option<&str>) -> Option<Error> {
    if ok {
        None
    } else {
        Some(Error::jgf(
            file,
            loc,
            format!("expected {what}, found {}", json_kind(v)),
        ))
    }
}

/// Report the first field whose JSON type is wrong, with its location. It reads a document
/// by the reader's rules: an optional key holding `null` counts as absent, as it does there.
pub(super) fn locate_in_value(value: &Value, file: Option<&str>) -> Option<Error> {
    let Some(doc) = value.as_object() else {
        return Some(Error::jgf(
            file,
            "",
            format!("expected a JSON object, found {}", json_kind(value)),
        ));
    };
    let Some(graph) = doc.get("graph") else {
        return Some(Error::jgf(file, "graph", "expected a \"graph\" object"));
    };
    let Some(graph) = graph.as_object() else {
        return expect_kind(graph, false, "graph", "an object", file);
    };
    if let Some(nodes) = graph.get("nodes") {
        let keyed = nodes.is_object();
        let entries: Vec<(String, &Value)> = match nodes {
            Value::Array(list) => list
                .iter()
                .enumerate()
                .map(|(i, n)| (format!("graph.nodes[{i}]"), n))
                .collect(),
            Value::Object(map) => map
                .iter()
                .map(|(k, n)| (format!("graph.nodes[{k:?}]"), n))
                .collect(),
            other => return expect_kind(other, false, "graph.nodes", "a list or an object", file),
        };
        for (loc, node) in entries {
            if let Some(err) = check_node_value(node, &loc, keyed, file) {
                return Some(err);
            }
        }
    }
    if let Some(edges) = graph.get("edges") {
        let Some(list) = edges.as_array() else {
            return expect_kind(edges, false, "graph.edges", "a list", file);
        };
        for (i, edge) in list.iter().enumerate() {
            let loc = format!("graph.edges[{i}]");
            let Some(obj) = edge.as_object() else {
                return expect_kind(edge, false, &loc, "an object", file);
            };
            for key in ["source", "target"] {
                if let Some(v) = obj.get(key) {
                    if let Some(e) = expect_kind(
                        v,
                        v.is_string() || v.is_i64() || v.is_u64(),
                        &format!("{loc}.{key}"),
                        "a string or an integer id",
                        file,
                    ) {
                        return Some(e);
                    }
                }
            }
            if let Some(v) = obj.get("relation").filter(|v| !v.is_null()) {
                if let Some(e) = expect_kind(
                    v,
                    v.is_string(),
                    &format!("{loc}.relation"),
                    "a string",
                    file,
                ) {
                    return Some(e);
                }
            }
            if let Some(meta) = obj.get("metadata").filter(|v| !v.is_null()) {
                let Some(meta) = meta.as_object() else {
                    return expect_kind(meta, false, &format!("{loc}.metadata"), "an object", file);
                };
                if let Some(v) = meta.get("subsystem") {
                    if let Some(e) = expect_kind(
                        v,
                        v.is_string(),
                        &format!("{loc}.metadata.subsystem"),
                        "a string",
                        file,
                    ) {
                        return Some(e);
                    }
                }
                if let Some(v) = meta.get("name") {
                    let ok = v
                        .as_object()
                        .is_some_and(|m| m.values().all(Value::is_string));
                    if let Some(e) = expect_kind(
                        v,
                        ok,
                        &format!("{loc}.metadata.name"),
                        "an object of subsystem: relation strings",
                        file,
                    ) {
                        return Some(e);
                    }
                }
            }
        }
    }
    None
}

/// A vertex's own problems; in `keyed` nodes the key stands in for a missing or null id.
fn check_node_value(node: &Value, loc: &str, keyed: bool, file: Option<&str>) -> Option<Error> {
    let Some(obj) = node.as_object() else {
        return expect_kind(node, false, loc, "an object", file);
    };
    if let Some(v) = obj.get("id").filter(|v| !(keyed && v.is_null())) {
        if let Some(e) = expect_kind(
            v,
            v.is_string() || v.is_i64() || v.is_u64(),
            &format!("{loc}.id"),
            "a string or an integer id",
            file,
        ) {
            return Some(e);
        }
    }
    if let Some(v) = obj.get("label").filter(|v| !v.is_null()) {
        if let Some(e) = expect_kind(v, v.is_string(), &format!("{loc}.label"), "a string", file) {
            return Some(e);
        }
    }
    let meta = obj.get("metadata")?;
    let Some(meta) = meta.as_object() else {
        return expect_kind(meta, false, &format!("{loc}.metadata"), "an object", file);
    };
    let strings = ["type", "basename", "name", "unit"];
    let integers = ["id", "uniq_id", "rank", "size"];
    for (key, v) in meta {
        // Only the type is required: `null` anywhere else is the default.
        if v.is_null() && key != "type" {
            continue;
        }
        let at = format!("{loc}.metadata.{key}");
        let err = if strings.contains(&key.as_str()) {
            expect_kind(v, v.is_string(), &at, "a string", file)
        } else if integers.contains(&key.as_str()) {
            expect_kind(v, v.is_i64(), &at, "an integer", file)
        } else if key == "exclusive" {
            expect_kind(v, v.is_boolean(), &at, "a boolean", file)
        } else if key == "paths" {
            let ok = v
                .as_object()
                .is_some_and(|m| m.values().all(Value::is_string));
            expect_kind(v, ok, &at, "an object of subsystem: path strings", file)
        } else if key == "properties" {
            match v.as_array() {
                Some(names) => names.iter().enumerate().find_map(|(i, name)| {
                    let at = format!("{at}[{i}]");
                    expect_kind(name, name.is_string(), &at, "a property name", file)
                }),
                None => expect_kind(
                    v,
                    v.is_object(),
                    &at,
                    "an object (or a list of names)",
                    file,
                ),
            }
        } else if key == "status" {
            let ok = matches!(v.as_i64(), Some(0 | 1))
                || v.as_str().is_some_and(|s| {
                    s.eq_ignore_ascii_case("up") || s.eq_ignore_ascii_case("down")
                });
            expect_kind(v, ok, &at, "0 or \"up\", 1 or \"down\"", file)
        } else {
            None
        };
        if err.is_some() {
            return err;
        }
    }
    None
}

#[cfg(test)]
pub(super) mod tests {
    //! The locator must agree with the reader: on valid documents and on every single type
    //! corruption of one, the reader fails exactly when the locator finds a problem, and both
    //! name the corrupted place.

    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use serde_json::{json, Map, Value};

    use super::locate_in_value;
    use crate::jgf::parse;

    /// A valid document and the places a corruption may hit in it.
    #[derive(Debug, Clone)]
    pub(in crate::jgf) struct Sample {
        pub(in crate::jgf) doc: Value,
        pub(in crate::jgf) slots: Vec<Slot>,
    }

    /// One value of the document: how to reach it, where errors name it, and which JSON
    /// kinds would still be well typed there yet change what the document means (another
    /// node id, an empty list of vertices), which a type corruption must not use.
    #[derive(Debug, Clone)]
    pub(in crate::jgf) struct Slot {
        pub(in crate::jgf) pointer: String,
        location: String,
        pub(in crate::jgf) meaning: &'static [&'static str],
    }

    impl Sample {
        /// The document with the value at one of its slots replaced by one of a JSON kind
        /// that is wrong there (`slot` and `replacement` pick which).
        pub(in crate::jgf) fn corrupted(
            &self,
            slot: prop::sample::Index,
            replacement: prop::sample::Index,
        ) -> (&Slot, Value) {
            let slot = &self.slots[slot.index(self.slots.len())];
            let choices: Vec<Value> = replacements()
                .into_iter()
                .filter(|(kind, _)| !slot.meaning.contains(kind))
                .map(|(_, v)| v)
                .collect();
            let mut doc = self.doc.clone();
            *doc.pointer_mut(&slot.pointer)
                .expect("a slot points into its document") =
                choices[replacement.index(choices.len())].clone();
            (slot, doc)
        }
    }

    /// Replacements of every JSON kind.
    pub(in crate::jgf) fn replacements() -> Vec<(&'static str, Value)> {
        vec![
            ("null", Value::Null),
            ("bool", json!(true)),
            ("float", json!(1.5)),
            ("int", json!(7)),
            ("string", json!("text")),
            ("list", json!([])),
            ("list", json!([1, "a"])),
            ("object", json!({})),
            ("object", json!({"k": 1})),
        ]
    }

    fn escape(key: &str) -> String {
        key.replace('~', "~0").replace('/', "~1")
    }

    /// One vertex: its id as written (string or integer) and which optional keys it has.
    #[derive(Debug, Clone)]
    struct Vertex {
        optional: [bool; 12],
        kind: usize,
        size: u64,
        status: usize,
    }

    fn vertex() -> impl Strategy<Value = Vertex> {
        (any::<[bool; 12]>(), 0usize..4, 0u64..100, 0usize..4).prop_map(
            |(optional, kind, size, status)| Vertex {
                optional,
                kind,
                size,
                status,
            },
        )
    }

    /// A random valid document: a containment tree of up to eight vertices, ids as decimal
    /// strings, integers or names, vertices listed or keyed, edges in either spelling, before
    /// or after the vertices, some with the reverse edge beside them that the reader skips.
    pub(in crate::jgf) fn sample() -> impl Strategy<Value = Sample> {
        prop::collection::vec(vertex(), 1..8)
            .prop_flat_map(|vertices| {
                let n = vertices.len();
                (
                    Just(vertices),
                    prop::collection::vec(any::<prop::sample::Index>(), n),
                    0usize..3,
                    any::<bool>(),
                    0usize..3,
                    any::<bool>(),
                    prop::collection::vec(any::<bool>(), n),
                )
            })
            .prop_map(
                |(vertices, parents, id_style, keyed, edge_style, edges_first, reverse)| {
                    build(
                        &vertices,
                        &parents,
                        id_style,
                        keyed,
                        edge_style,
                        edges_first,
                        &reverse,
                    )
                },
            )
    }

    fn build(
        vertices: &[Vertex],
        parents: &[prop::sample::Index],
        id_style: usize,
        keyed: bool,
        edge_style: usize,
        edges_first: bool,
        reverse: &[bool],
    ) -> Sample {
        const KINDS: [&str; 4] = ["cluster", "node", "core", "memory"];
        let id = |i: usize| -> Value {
            match id_style {
                0 => json!(i.to_string()),
                1 => json!(i),
                _ => json!(format!("v{i}")),
            }
        };
        let key = |i: usize| match id_style {
            2 => format!("v{i}"),
            _ => i.to_string(),
        };
        let mut slots = vec![Slot {
            pointer: "/graph".into(),
            location: "graph".into(),
            meaning: &["object"],
        }];
        slots.push(Slot {
            pointer: "/graph/nodes".into(),
            location: "graph.nodes".into(),
            meaning: &["list", "object"],
        });
        slots.push(Slot {
            pointer: "/graph/edges".into(),
            location: "graph.edges".into(),
            meaning: &["list"],
        });
        let mut listed = Vec::new();
        let mut by_key = Map::new();
        for (i, v) in vertices.iter().enumerate() {
            let (pointer, location) = if keyed {
                (
                    format!("/graph/nodes/{}", escape(&key(i))),
                    format!("graph.nodes[{:?}]", key(i)),
                )
            } else {
                (format!("/graph/nodes/{i}"), format!("graph.nodes[{i}]"))
            };
            let mut meta = Map::new();
            meta.insert("type".into(), json!(KINDS[v.kind]));
            let optional: [(&str, Value); 12] = [
                ("basename", json!(KINDS[v.kind])),
                ("name", json!(format!("{}{i}", KINDS[v.kind]))),
                ("id", json!(i)),
                ("uniq_id", json!(i)),
                ("rank", json!(-1)),
                ("exclusive", json!(i % 2 == 0)),
                ("unit", json!(if v.kind == 3 { "GB" } else { "" })),
                ("size", json!(v.size)),
                ("paths", json!({"containment": format!("/{i}")})),
                (
                    "properties",
                    if i % 2 == 0 {
                        json!({"fast": "yes"})
                    } else {
                        json!(["fast"])
                    },
                ),
                (
                    "status",
                    [json!(0), json!(1), json!("up"), json!("Down")][v.status].clone(),
                ),
                ("extra", json!({"anything": [1, 2]})),
            ];
            for ((name, value), present) in optional.into_iter().zip(v.optional) {
                if present {
                    if name != "extra" {
                        slots.push(Slot {
                            pointer: format!("{pointer}/metadata/{name}"),
                            location: format!("{location}.metadata.{name}"),
                            meaning: &[],
                        });
                    }
                    meta.insert(name.into(), value);
                }
            }
            slots.push(Slot {
                pointer: format!("{pointer}/metadata/type"),
                location: format!("{location}.metadata.type"),
                meaning: &[],
            });
            slots.push(Slot {
                pointer: format!("{pointer}/metadata"),
                location: format!("{location}.metadata"),
                meaning: &["object"],
            });
            slots.push(Slot {
                pointer: pointer.clone(),
                location: location.clone(),
                meaning: &["object"],
            });
            let mut node = Map::new();
            // Keyed vertices may leave their id to the key.
            if !keyed || v.optional[0] {
                node.insert("id".into(), id(i));
                slots.push(Slot {
                    pointer: format!("{pointer}/id"),
                    location: format!("{location}.id"),
                    meaning: &["int", "string"],
                });
            }
            if v.optional[1] {
                node.insert("label".into(), json!(format!("vertex {i}")));
                slots.push(Slot {
                    pointer: format!("{pointer}/label"),
                    location: format!("{location}.label"),
                    meaning: &[],
                });
            }
            node.insert("metadata".into(), Value::Object(meta));
            if keyed {
                by_key.insert(key(i), Value::Object(node));
            } else {
                listed.push(Value::Object(node));
            }
        }
        let mut edges = Vec::new();
        let pairs = (1..vertices.len()).flat_map(|target| {
            let source = parents[target].index(target);
            let forward = (source, target, false);
            std::iter::once(forward).chain(reverse[target].then_some((target, source, true)))
        });
        for (from, to, back) in pairs {
            let relation = if back { "in" } else { "contains" };
            let mut edge = Map::new();
            edge.insert("source".into(), id(from));
            edge.insert("target".into(), id(to));
            let at = edges.len();
            let (pointer, location) = (format!("/graph/edges/{at}"), format!("graph.edges[{at}]"));
            for end in ["source", "target"] {
                slots.push(Slot {
                    pointer: format!("{pointer}/{end}"),
                    location: format!("{location}.{end}"),
                    meaning: &["int", "string"],
                });
            }
            match edge_style {
                0 => {
                    edge.insert("relation".into(), json!(relation));
                    edge.insert("metadata".into(), json!({"subsystem": "containment"}));
                    slots.push(Slot {
                        pointer: format!("{pointer}/relation"),
                        location: format!("{location}.relation"),
                        meaning: if back { &["string", "null"] } else { &[] },
                    });
                    slots.push(Slot {
                        pointer: format!("{pointer}/metadata/subsystem"),
                        location: format!("{location}.metadata.subsystem"),
                        meaning: &["string"],
                    });
                }
                1 => {
                    edge.insert(
                        "metadata".into(),
                        json!({"name": {"containment": relation}}),
                    );
                    slots.push(Slot {
                        pointer: format!("{pointer}/metadata/name"),
                        location: format!("{location}.metadata.name"),
                        meaning: &["object"],
                    });
                }
                _ if back => {
                    edge.insert("relation".into(), json!(relation));
                }
                _ => {}
            }
            if edge.contains_key("metadata") {
                slots.push(Slot {
                    pointer: format!("{pointer}/metadata"),
                    location: format!("{location}.metadata"),
                    meaning: &["object", "null"],
                });
            }
            slots.push(Slot {
                pointer,
                location,
                meaning: &["object"],
            });
            edges.push(Value::Object(edge));
        }
        let nodes = if keyed {
            Value::Object(by_key)
        } else {
            Value::Array(listed)
        };
        let mut graph = Map::new();
        if edges_first {
            graph.insert("edges".into(), Value::Array(edges));
            graph.insert("nodes".into(), nodes);
        } else {
            graph.insert("nodes".into(), nodes);
            graph.insert("edges".into(), Value::Array(edges));
        }
        Sample {
            doc: json!({ "graph": graph }),
            slots,
        }
    }

    #[test]
    fn the_locator_agrees_with_the_reader_on_every_single_type_corruption() {
        let mut runner = TestRunner::new(Config {
            cases: 2000,
            ..Config::default()
        });
        let strategy = (
            sample(),
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>(),
        );
        let corrupted = std::cell::Cell::new(0usize);
        runner
            .run(&strategy, |(sample, slot, replacement)| {
                let text = sample.doc.to_string();
                prop_assert!(parse(&text, None).is_ok(), "valid: {text}");
                prop_assert!(locate_in_value(&sample.doc, None).is_none());

                let (slot, doc) = sample.corrupted(slot, replacement);
                let text = doc.to_string();
                let read = parse(&text, None);
                let located = locate_in_value(&doc, None);
                match (&read, &located) {
                    (Ok(_), None) => {}
                    (Err(r), Some(l)) => {
                        corrupted.set(corrupted.get() + 1);
                        let (r, l) = (r.place().unwrap(), l.place().unwrap());
                        prop_assert_eq!(&r.location, &l.location, "{}", text);
                        prop_assert!(
                            r.location.starts_with(&slot.location),
                            "{} is not at {}: {}",
                            r.location,
                            slot.location,
                            text
                        );
                    }
                    _ => prop_assert!(
                        false,
                        "reader {:?}, locator {:?} at {}: {}",
                        read.as_ref().err(),
                        located,
                        slot.location,
                        text
                    ),
                }
                Ok(())
            })
            .unwrap();
        let corrupted = corrupted.get();
        assert!(corrupted > 500, "only {corrupted} corruptions were errors");
    }
}
