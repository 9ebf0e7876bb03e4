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

/// Report the first field whose JSON type is wrong, with its location.
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
            if let Some(err) = check_node_value(node, &loc, file) {
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
            if let Some(v) = obj.get("relation") {
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
            if let Some(meta) = obj.get("metadata") {
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

fn check_node_value(node: &Value, loc: &str, file: Option<&str>) -> Option<Error> {
    let Some(obj) = node.as_object() else {
        return expect_kind(node, false, loc, "an object", file);
    };
    if let Some(v) = obj.get("id") {
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
    if let Some(v) = obj.get("label") {
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
            expect_kind(
                v,
                v.is_object() || v.is_array(),
                &at,
                "an object (or a list of names)",
                file,
            )
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
