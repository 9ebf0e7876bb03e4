//! A jobspec's resource levels compiled against one graph: types interned, and the least
//! amount of each type one instance of a level needs below itself, for pruning.

use std::collections::BTreeMap;

use crate::graph::{ResourceGraph, TypeId};
use crate::jobspec::{Count, Request};

/// Type id used for `slot` in scoring tables.
pub(super) const SLOT: TypeId = TypeId::MAX;
/// A request type the graph does not have.
pub(super) const ABSENT: TypeId = TypeId::MAX - 1;
pub(super) const MATCH_MET: i64 = 1;

/// A request level with its type interned and what it needs below itself precomputed.
#[derive(Debug, Clone)]
pub(super) struct Req {
    pub(super) kind: TypeId,
    pub(super) count: Count,
    pub(super) exclusive: Option<bool>,
    pub(super) with: Vec<Req>,
    /// Least total amount per type below this level, for one instance of it.
    pub(super) need: Vec<(TypeId, u64)>,
    pub(super) name: String,
}

impl Req {
    pub(super) fn is_slot(&self) -> bool {
        self.kind == SLOT
    }
}

pub(super) fn compile(g: &ResourceGraph, reqs: &[Request]) -> Vec<Req> {
    reqs.iter()
        .map(|r| {
            let with = compile(g, &r.with);
            let mut need: BTreeMap<TypeId, u64> = BTreeMap::new();
            for c in &with {
                if c.kind != SLOT && c.kind != ABSENT {
                    *need.entry(c.kind).or_default() += c.count.min;
                }
                for &(t, n) in &c.need {
                    *need.entry(t).or_default() += c.count.min.saturating_mul(n);
                }
            }
            let kind = if r.is_slot() {
                SLOT
            } else {
                g.types().get(&r.kind).unwrap_or(ABSENT)
            };
            Req {
                kind,
                count: r.count,
                exclusive: r.exclusive,
                with,
                need: need.into_iter().collect(),
                name: r.kind.clone(),
            }
        })
        .collect()
}
