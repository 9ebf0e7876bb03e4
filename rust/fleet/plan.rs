//! Plans: how a request is answered for a cluster from its node shapes. A request that
//! starts at the node level, or with one top-level slot below it, decomposes over nodes:
//! each distinct shape is matched once for the whole fleet and a cluster adds up its nodes'
//! answers (by shape counts, or node by node when constraints pick nodes). Anything else,
//! or a cluster whose upper levels the request names, is matched on its full graph. Either
//! way the answer is the matcher's.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::error::Result;
use crate::graph::ResourceGraph;
use crate::jobspec::{Constraint, Count, Jobspec, Request};
use crate::matcher::{AllocState, Matcher, Outcome, Policy};

use super::cache::{read_graph, Meta};
use super::shapes::{flatten_graph, NodeEntry};
use super::{Fit, Taken};

/// A cluster's nodes as a plan counts them: each node's shape (or its per-node shape), whether
/// it is up, and how many nodes are alike.
pub struct Alike {
    pub shape: u32,
    pub up: bool,
    pub count: u64,
}

/// The nodes of a cluster a plan adds up: by shape counts when no constraint picks nodes,
/// node by node (decoded from the cache) when one does.
pub fn alike(
    c: &Meta,
    per_node: bool,
    constraint: Option<&Constraint>,
    nodes: impl FnOnce() -> Vec<NodeEntry>,
) -> (Vec<Alike>, usize) {
    let pick = |shape: u32, flat: u32| if per_node { flat } else { shape };
    match constraint {
        None => (
            c.histogram
                .iter()
                .map(|h| Alike {
                    shape: pick(h.shape, h.flat_shape),
                    up: h.up,
                    count: h.count,
                })
                .collect(),
            0,
        ),
        Some(k) => {
            let all = nodes();
            let kept: Vec<Alike> = all
                .iter()
                .filter(|n| k.matches(*n))
                .map(|n| Alike {
                    shape: pick(n.shape, n.flat_shape),
                    up: n.up,
                    count: 1,
                })
                .collect();
            let excluded = all.len() - kept.len();
            (kept, excluded)
        }
    }
}

/// Why a cluster can never hold the request, when its totals alone say so.
pub fn short_in_all(c: &Meta, needed: &BTreeMap<String, u64>) -> Option<String> {
    needed.iter().find_map(|(kind, &need)| {
        let have = c.totals.get(kind).copied().unwrap_or(0);
        (have < need)
            .then(|| format!("the request needs {need} {kind} in all, the cluster has {have}"))
    })
}

/// A `node[n]` request's holdings summed over the nodes it would take, when every node that
/// qualifies is up and holds the same amounts (which nodes are taken then does not matter).
pub fn taken_from_shapes(
    c: &Meta,
    count: Count,
    shape_held: &HashMap<u32, Option<BTreeMap<String, u64>>>,
    nodes: &[Alike],
) -> Option<Taken> {
    let mut share: Option<&BTreeMap<String, u64>> = None;
    let mut qualifying = 0u64;
    for n in nodes {
        let Some(held) = shape_held.get(&n.shape)?.as_ref() else {
            continue;
        };
        if !n.up || share.is_some_and(|s| s != held) {
            return None;
        }
        share = Some(held);
        qualifying += n.count;
    }
    let k = count.take(qualifying);
    let Some(share) = share.filter(|_| k > 0) else {
        let reason = format!("needs {} nodes that fit, {qualifying} do", count.min);
        return Some(Taken {
            cluster: c.name.clone(),
            held: None,
            nodes: 0,
            reason: Some(reason),
        });
    };
    let held = share
        .iter()
        .map(|(kind, amount)| (kind.clone(), amount * k))
        .collect();
    Some(Taken {
        cluster: c.name.clone(),
        held: Some(held),
        nodes: k,
        reason: None,
    })
}

/// `f` over `items` on every core, in order. Threads take the next batch of items as they
/// finish one, so a thread slowed by other work on the machine does not hold the rest up.
pub fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    const BATCH: usize = 64;
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len().div_ceil(BATCH));
    if workers <= 1 || items.len() < 8 {
        return items.iter().map(&f).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done: Vec<(usize, Vec<R>)> = Vec::new();
        loop {
            let start = next.fetch_add(BATCH, Ordering::Relaxed);
            if start >= items.len() {
                return done;
            }
            let end = (start + BATCH).min(items.len());
            done.push((start, items[start..end].iter().map(&f).collect()));
        }
    };
    let mut batches: Vec<(usize, Vec<R>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..workers).map(|_| scope.spawn(work)).collect();
        let mut all = work();
        for h in handles {
            all.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        all
    });
    batches.sort_unstable_by_key(|&(start, _)| start);
    batches.into_iter().flat_map(|(_, part)| part).collect()
}

/// A cluster's full graph (flattened for per-node matching), read from its file.
pub fn full_graph(c: &Meta, per_node: bool) -> Result<ResourceGraph> {
    let bytes = read_graph(Path::new(&c.graph))?;
    let g = ResourceGraph::from_jgf_bytes(&bytes, Some(&c.graph))?;
    if per_node {
        flatten_graph(&g)
    } else {
        Ok(g)
    }
}

/// Amounts per type the exclusive vertices of an allocation hold.
pub fn held_amounts(g: &ResourceGraph, taken: &[crate::matcher::Taken]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for t in taken.iter().filter(|t| t.exclusive) {
        *out.entry(g.type_name(t.vertex).to_owned()).or_default() += t.size;
    }
    out
}

pub fn full_graph_taken(c: &Meta, js: &Jobspec, per_node: bool) -> Taken {
    let answer = full_graph(c, per_node).map(|g| {
        let mut st = AllocState::new(&g);
        let r = Matcher::new(&g).allocate(&mut st, js, Policy::First);
        match r.allocation {
            Some(a) => {
                let nodes = a
                    .taken
                    .iter()
                    .filter(|t| g.type_name(t.vertex) == "node")
                    .count();
                (Some(held_amounts(&g, &a.taken)), nodes as u64, None)
            }
            None => (None, 0, r.reason),
        }
    });
    match answer {
        Ok((held, nodes, reason)) => Taken {
            cluster: c.name.clone(),
            held,
            nodes,
            reason,
        },
        Err(e) => Taken {
            cluster: c.name.clone(),
            held: None,
            nodes: 0,
            reason: Some(e.to_string()),
        },
    }
}

pub fn full_graph_fit(c: &Meta, js: &Jobspec, per_node: bool) -> Fit {
    let answer = (|| -> Result<(bool, Option<String>)> {
        let g = full_graph(c, per_node)?;
        let mut st = AllocState::new(&g);
        let r = Matcher::new(&g).satisfiable(&mut st, js, Policy::First);
        Ok((r.outcome == Outcome::Satisfiable, r.reason))
    })();
    match answer {
        Ok((ok, reason)) => Fit {
            cluster: c.name.clone(),
            ok,
            reason,
        },
        Err(e) => Fit {
            cluster: c.name.clone(),
            ok: false,
            reason: Some(e.to_string()),
        },
    }
}

/// How a request decomposes over nodes: each node answers for itself, and the cluster
/// adds the answers up.
pub enum Plan {
    /// `node[count] > ...`: a node qualifies when it alone satisfies `node[1] > ...`.
    Nodes {
        count: Count,
        per_node: Jobspec,
        levels: Vec<String>,
    },
    /// A top-level `slot[count] > ...` below the node level: nodes contribute slots.
    Slots {
        count: Count,
        slot: Request,
        template: Jobspec,
        levels: Vec<String>,
    },
}

/// What one shape contributes: for `Nodes` 0 or 1, for `Slots` the slots it holds.
#[derive(Debug, Clone)]
pub struct ShapeAnswer {
    amount: u64,
    reason: Option<String>,
}

fn types_in(reqs: &[Request], out: &mut Vec<String>) {
    for r in reqs {
        if !r.is_slot() {
            out.push(r.kind.clone());
        }
        types_in(&r.with, out);
    }
}

impl Plan {
    pub fn of(js: &Jobspec) -> Option<Plan> {
        let [top] = js.resources.as_slice() else {
            return None;
        };
        let mut levels = Vec::new();
        types_in(&top.with, &mut levels);
        let mut single = js.clone();
        single.constraints = None;
        if top.kind == "node" {
            let mut node = top.clone();
            node.count = Count::fixed(1);
            single.resources = vec![node];
            return Some(Plan::Nodes {
                count: top.count,
                per_node: single,
                levels,
            });
        }
        if top.is_slot() && !levels.iter().any(|l| l == "node") {
            return Some(Plan::Slots {
                count: top.count,
                slot: top.clone(),
                template: single,
                levels,
            });
        }
        None
    }

    /// The plan answers from shapes only when no requested type sits above the nodes.
    pub fn applies(&self, c: &Meta) -> bool {
        let levels = match self {
            Plan::Nodes { levels, .. } | Plan::Slots { levels, .. } => levels,
        };
        !levels.iter().any(|l| c.upper_types.contains(l))
    }

    pub fn answer(&self, shape: &ResourceGraph) -> ShapeAnswer {
        let satisfiable = |js: &Jobspec| {
            let mut st = AllocState::new(shape);
            Matcher::new(shape).satisfiable(&mut st, js, Policy::First)
        };
        match self {
            Plan::Nodes { per_node, .. } => {
                let r = satisfiable(per_node);
                ShapeAnswer {
                    amount: u64::from(r.outcome == Outcome::Satisfiable),
                    reason: r.reason,
                }
            }
            Plan::Slots { slot, template, .. } => {
                let with_slots = |k: u64| {
                    let mut js = template.clone();
                    let mut s = slot.clone();
                    s.count = Count::fixed(k);
                    js.resources = vec![s];
                    satisfiable(&js)
                };
                // The most slots one node holds: binary search on satisfiability.
                let first = with_slots(1);
                if first.outcome != Outcome::Satisfiable {
                    return ShapeAnswer {
                        amount: 0,
                        reason: first.reason,
                    };
                }
                let (mut lo, mut hi) = (1u64, shape.len() as u64);
                while lo < hi {
                    let mid = (lo + hi).div_ceil(2);
                    if with_slots(mid).outcome == Outcome::Satisfiable {
                        lo = mid;
                    } else {
                        hi = mid - 1;
                    }
                }
                ShapeAnswer {
                    amount: lo,
                    reason: None,
                }
            }
        }
    }

    pub fn combine(
        &self,
        c: &Meta,
        answers: &HashMap<u32, ShapeAnswer>,
        nodes: &[Alike],
        excluded: usize,
    ) -> Fit {
        let mut total = 0u64;
        let mut first_reason = None;
        for n in nodes {
            let Some(a) = answers.get(&n.shape) else {
                continue;
            };
            total += a.amount * n.count;
            if a.amount == 0 && first_reason.is_none() {
                first_reason = a.reason.clone();
            }
        }
        let (count, what) = match self {
            Plan::Nodes { count, .. } => (count, "node"),
            Plan::Slots { count, .. } => (count, "slot"),
        };
        if count.take(total) > 0 {
            return Fit {
                cluster: c.name.clone(),
                ok: true,
                reason: None,
            };
        }
        let mut reason = format!(
            "needs {} {what}{} that fit, {total} do",
            count.min,
            if count.min == 1 { "" } else { "s" }
        );
        if excluded > 0 {
            reason.push_str(&format!(
                " ({excluded} of {} nodes fail the constraints)",
                c.node_count
            ));
        }
        if let Some(why) = first_reason.filter(|_| total == 0) {
            reason.push_str(&format!(": {why}"));
        }
        Fit {
            cluster: c.name.clone(),
            ok: false,
            reason: Some(reason),
        }
    }
}
