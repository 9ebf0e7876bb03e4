//! The walk that stops early (`low` and `high` scoring children best first, `update` following
//! the marks) against the walk that scores every candidate as Fluxion does, kept as the oracle:
//! over random graphs (racks or not, ids unique, per node or repeated, child order unlike id
//! order, pooled memory, down vertices) and random histories of allocate, reserve,
//! satisfiable and release, both must give the same answers, vertex for vertex.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

use super::{AllocState, MatchResult, Matcher, Policy};
use crate::graph::ResourceGraph;
use crate::jobspec::Jobspec;

/// A small deterministic generator: the property draws one seed, the case grows from it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// How a level numbers its vertices' `id`s.
#[derive(Clone, Copy)]
enum Ids {
    Global,
    PerParent,
    Repeated,
}

struct Builder {
    nodes: Vec<Value>,
    edges: Vec<Value>,
}

impl Builder {
    fn add(
        &mut self,
        parent: Option<usize>,
        kind: &str,
        id: u64,
        size: u64,
        path: &str,
        down: bool,
    ) -> usize {
        let me = self.nodes.len();
        let mut meta = json!({"type": kind, "name": format!("{kind}{id}"), "id": id, "size": size,
                              "paths": {"containment": path}});
        if down {
            meta["status"] = json!(1);
        }
        self.nodes
            .push(json!({"id": me.to_string(), "metadata": meta}));
        if let Some(p) = parent {
            self.edges
                .push(json!({"source": p.to_string(), "target": me.to_string()}));
        }
        me
    }
}

fn ids(rng: &mut Rng) -> Ids {
    match rng.below(3) {
        0 => Ids::Global,
        1 => Ids::PerParent,
        _ => Ids::Repeated,
    }
}

fn pick(rng: &mut Rng, how: Ids, global: &mut u64, local: u64) -> u64 {
    match how {
        Ids::Global => {
            *global += 1;
            *global - 1
        }
        Ids::PerParent => local,
        Ids::Repeated => rng.below(3),
    }
}

fn random_graph(rng: &mut Rng) -> ResourceGraph {
    let mut b = Builder {
        nodes: Vec::new(),
        edges: Vec::new(),
    };
    let root = b.add(None, "cluster", 0, 1, "/c0", false);
    let racks = if rng.chance(30) { rng.between(1, 3) } else { 0 };
    let (node_ids, socket_ids, core_ids) = (ids(rng), ids(rng), ids(rng));
    let (mut node_n, mut socket_n, mut core_n, mut other_n) = (0, 0, 0, 0);
    let nodes = rng.between(1, 8);
    // Nodes all alike (the walk then answers most from a copy), or each its own.
    let (uniform, shape_seed) = (rng.chance(50), rng.next() | 1);
    for n in 0..nodes {
        let mut shape = Rng(if uniform { shape_seed } else { rng.next() | 1 });
        let (parent, prefix) = if racks > 0 {
            let r = n % racks;
            // Racks come first in the vertex list only when they are added before their nodes.
            let path = format!("/c0/rack{r}");
            let found = b
                .nodes
                .iter()
                .position(|v| v["metadata"]["paths"]["containment"] == path);
            let down = rng.chance(10);
            let rack = found.unwrap_or_else(|| b.add(Some(root), "rack", r, 1, &path, down));
            (rack, path)
        } else {
            (root, "/c0".to_owned())
        };
        let nid = pick(rng, node_ids, &mut node_n, n);
        let npath = format!("{prefix}/node{n}");
        let node = b.add(Some(parent), "node", nid, 1, &npath, rng.chance(5));
        let mut core_local = 0;
        for s in 0..shape.between(1, 3) {
            let sid = pick(rng, socket_ids, &mut socket_n, s);
            let spath = format!("{npath}/socket{s}");
            let socket = b.add(Some(node), "socket", sid, 1, &spath, rng.chance(4));
            for c in 0..shape.between(1, 5) {
                let cid = pick(rng, core_ids, &mut core_n, core_local);
                core_local += 1;
                b.add(
                    Some(socket),
                    "core",
                    cid,
                    1,
                    &format!("{spath}/core{c}"),
                    rng.chance(3),
                );
            }
            for g in 0..shape.below(3) {
                other_n += 1;
                b.add(
                    Some(socket),
                    "gpu",
                    g,
                    1,
                    &format!("{spath}/gpu{other_n}"),
                    false,
                );
            }
            for m in 0..shape.below(3) {
                other_n += 1;
                let size = shape.between(1, 8);
                b.add(
                    Some(socket),
                    "memory",
                    m,
                    size,
                    &format!("{spath}/memory{other_n}"),
                    false,
                );
            }
        }
    }
    // Child order follows edge order: shuffled, it no longer follows the ids.
    if rng.chance(50) {
        for i in (1..b.edges.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            b.edges.swap(i, j);
        }
    }
    let doc = json!({"graph": {"nodes": b.nodes, "edges": b.edges}});
    ResourceGraph::from_jgf_value(doc, None).expect("a generated graph reads")
}

fn count(rng: &mut Rng, lo: u64, hi: u64) -> Value {
    let n = rng.between(lo, hi);
    if rng.chance(20) {
        json!({"min": n, "max": n + rng.between(1, 3), "operator": "+", "operand": 1})
    } else {
        json!(n)
    }
}

fn level(kind: &str, count: Value, with: Vec<Value>) -> Value {
    let mut r = json!({"type": kind, "count": count});
    if !with.is_empty() {
        r["with"] = json!(with);
    }
    r
}

fn slot(count: Value, with: Vec<Value>) -> Value {
    json!({"type": "slot", "label": "task", "count": count, "with": with})
}

fn random_jobspec(rng: &mut Rng) -> Jobspec {
    let cores = count(rng, 1, 4);
    let core = level("core", cores, vec![]);
    let resources = match rng.below(8) {
        0 => vec![slot(
            count(rng, 1, 4),
            vec![level("socket", count(rng, 1, 2), vec![core])],
        )],
        1 => {
            let mut node = level(
                "node",
                count(rng, 1, 4),
                vec![slot(
                    count(rng, 1, 2),
                    vec![level("socket", count(rng, 1, 2), vec![core])],
                )],
            );
            if rng.chance(30) {
                node["exclusive"] = json!(true);
            }
            vec![node]
        }
        2 => vec![level(
            "node",
            count(rng, 1, 3),
            vec![level(
                "socket",
                count(rng, 1, 2),
                vec![slot(count(rng, 1, 2), vec![core])],
            )],
        )],
        3 => {
            let other = if rng.chance(50) {
                level("gpu", count(rng, 1, 2), vec![])
            } else {
                level("memory", count(rng, 1, 9), vec![])
            };
            vec![level(
                "socket",
                count(rng, 1, 3),
                vec![slot(count(rng, 1, 2), vec![core, other])],
            )]
        }
        4 => vec![slot(count(rng, 1, 6), vec![core])],
        5 => vec![level(
            "node",
            count(rng, 1, 2),
            vec![slot(json!(1), vec![core])],
        )],
        6 => vec![level(
            "cluster",
            json!(1),
            vec![level(
                "node",
                count(rng, 1, 3),
                vec![slot(json!(1), vec![level("socket", json!(1), vec![core])])],
            )],
        )],
        _ => {
            let memory = level("memory", count(rng, 1, 10), vec![]);
            vec![level(
                "node",
                count(rng, 1, 3),
                vec![slot(
                    count(rng, 1, 2),
                    vec![level("socket", json!(1), vec![core, memory])],
                )],
            )]
        }
    };
    let mut doc = json!({"version": 9999, "resources": resources,
        "tasks": [{"command": ["app"], "slot": "task", "count": {"per_slot": 1}}]});
    if let Some(d) = [Some(600), Some(1800), None][rng.below(3) as usize] {
        doc["attributes"] = json!({"system": {"duration": d}});
    }
    Jobspec::from_value(doc, None).expect("a generated jobspec reads")
}

/// A result without its reason (which names the last level that fell short, and so depends
/// on the order candidates were tried), its vertices by path.
fn answer(g: &ResourceGraph, r: MatchResult) -> (String, Option<super::Allocation>) {
    let allocation = r.allocation.map(|mut a| {
        super::by_path(g, &mut a.taken);
        a
    });
    (r.outcome.name().to_owned(), allocation)
}

/// One random graph and history, run by both walks; the first step where they differ.
fn differs(seed: u64) -> Option<String> {
    let mut rng = Rng(seed | 1);
    let g = random_graph(&mut rng);
    let policy = [Policy::First, Policy::Low, Policy::High][rng.below(3) as usize];
    let m = Matcher::new(&g);
    let mut fast = AllocState::new(&g);
    let mut oracle = AllocState::new(&g);
    oracle.exhaustive = true;
    for step in 0..rng.between(4, 14) {
        let js = random_jobspec(&mut rng);
        let held = fast.jobids();
        let (ours, theirs) = match rng.below(10) {
            0..=3 => (
                m.allocate(&mut fast, &js, policy),
                m.allocate(&mut oracle, &js, policy),
            ),
            4..=6 => (
                m.reserve(&mut fast, &js, policy),
                m.reserve(&mut oracle, &js, policy),
            ),
            7 => (
                m.satisfiable(&mut fast, &js, policy),
                m.satisfiable(&mut oracle, &js, policy),
            ),
            _ if !held.is_empty() => {
                let job = held[rng.below(held.len() as u64) as usize];
                m.release(&mut fast, job).expect("a held job releases");
                m.release(&mut oracle, job).expect("a held job releases");
                continue;
            }
            _ => continue,
        };
        let (ours, theirs) = (answer(&g, ours), answer(&g, theirs));
        if ours != theirs {
            return Some(format!(
                "seed {seed}, step {step}, policy {}: early stop {ours:?}, every candidate {theirs:?}",
                policy.name()
            ));
        }
    }
    None
}

#[test]
fn stopping_early_takes_exactly_what_scoring_every_candidate_takes() {
    let cases = std::env::var("FRACTALE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&any::<u64>(), |seed| {
            prop_assert_eq!(differs(seed), None);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}
