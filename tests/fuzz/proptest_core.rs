//! Property-based fuzzing of the readers: whatever bytes or JSON they are given, the JGF and
//! jobspec readers answer with a graph, a jobspec or an error, and never panic. Each property
//! prints how many inputs it tried. (With the atheris harnesses beside it: `tests/fuzz/`.)

use std::sync::atomic::{AtomicUsize, Ordering};

use fractale::graph::ResourceGraph;
use fractale::jobspec::Jobspec;
use fractale::matcher::{AllocState, Matcher, Policy};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

/// Inputs per property: 3,000 in the suite; `FRACTALE_FUZZ_CASES` sets more for a long run.
fn cases() -> u32 {
    std::env::var("FRACTALE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-3i64..40).prop_map(Value::from),
        "[a-z/0-9]{0,6}".prop_map(Value::String),
        prop_oneof![
            Just("node"),
            Just("core"),
            Just("slot"),
            Just("containment"),
            Just("contains"),
            Just("in")
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("type".to_string()),
                    Just("id".to_string()),
                    Just("metadata".to_string()),
                    Just("size".to_string()),
                    Just("count".to_string()),
                    Just("with".to_string()),
                    Just("source".to_string()),
                    Just("target".to_string()),
                    Just("paths".to_string()),
                    "[a-z]{1,5}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn valid_graph() -> Value {
    let mut nodes =
        vec![json!({"id": "0", "metadata": {"type": "cluster", "paths": {"containment": "/c"}}})];
    let mut edges = Vec::new();
    for i in 1..6 {
        let kind = if i < 3 { "node" } else { "core" };
        let parent = if i < 3 { 0 } else { 1 + (i % 2) };
        nodes.push(json!({"id": i.to_string(), "metadata": {"type": kind, "id": i, "size": 1, "paths": {"containment": format!("/c/{kind}{i}")}}}));
        edges.push(json!({"source": parent.to_string(), "target": i.to_string(), "metadata": {"name": {"containment": "contains"}}}));
    }
    json!({"graph": {"nodes": nodes, "edges": edges}})
}

fn run(name: &str, strategy: impl Strategy<Value = String>, check: impl Fn(&str)) {
    let tried = AtomicUsize::new(0);
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |text| {
            tried.fetch_add(1, Ordering::Relaxed);
            check(&text);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    println!(
        "{name}: {} inputs tried, no panic",
        tried.load(Ordering::Relaxed)
    );
}

#[test]
fn jgf_reader_survives_arbitrary_bytes() {
    run("jgf arbitrary text", any::<String>(), |t| {
        let _ = ResourceGraph::from_jgf_str(t, None);
    });
}

#[test]
fn jgf_reader_survives_arbitrary_json_documents() {
    let docs =
        json_value().prop_map(|v| json!({"graph": {"nodes": v.clone(), "edges": v}}).to_string());
    run("jgf arbitrary json", docs, |t| {
        let _ = ResourceGraph::from_jgf_str(t, None);
    });
}

#[test]
fn jgf_reader_survives_mutated_valid_graphs() {
    let mutated = (
        0usize..6,
        prop_oneof![
            Just("type"),
            Just("id"),
            Just("size"),
            Just("paths"),
            Just("status"),
            Just("rank")
        ],
        json_value(),
        0usize..5,
        json_value(),
    )
        .prop_map(|(node, field, value, edge, edge_value)| {
            let mut g = valid_graph();
            g["graph"]["nodes"][node]["metadata"][field] = value;
            g["graph"]["edges"][edge]["target"] = edge_value;
            g.to_string()
        });
    run("jgf mutated graphs", mutated, |t| {
        if let Ok(g) = ResourceGraph::from_jgf_str(t, None) {
            let _ = g.to_jgf();
        }
    });
}

#[test]
fn jobspec_reader_and_matcher_survive_arbitrary_requests() {
    let graph = ResourceGraph::from_jgf_value(valid_graph(), None).expect("valid graph");
    let specs = json_value().prop_map(|resources| {
        json!({"version": 9999, "resources": resources, "attributes": {"system": {"duration": 1}},
               "tasks": [{"command": ["x"], "slot": "s", "count": {"per_slot": 1}}]})
        .to_string()
    });
    run("jobspec arbitrary resources", specs, |t| {
        if let Ok(js) = Jobspec::from_text(t, None, true) {
            let mut st = AllocState::new(&graph);
            let m = Matcher::new(&graph);
            let _ = m.satisfiable(&mut st, &js, Policy::Low);
            let _ = m.allocate(&mut st, &js, Policy::First);
        }
    });
}
