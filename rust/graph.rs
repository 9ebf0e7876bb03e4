//! The in-memory resource graph: the JGF vertices, resource types interned, the containment
//! tree laid out for fast traversal, and per-vertex subtree totals per type so that requests
//! that cannot fit are rejected without a traversal.
//!
//! The tree is a hand-made CSR (compressed sparse rows: one array of child lists, one of
//! offsets), not a petgraph graph: every question the matcher asks is "the containment
//! children of v, in edge order" or "the parent of v", which two `u32` arrays answer at 8 bytes
//! a vertex, where a petgraph `DiGraph` spends 28 (a node and an edge record) and keeps no edge
//! order; the few edges of other subsystems sit in a second small CSR beside it.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;

use crate::error::Result;
use crate::jgf::{self, Document, EdgeStyle, Form, Node, Status, CONTAINMENT};
/// An interned resource type.
pub type TypeId = u32;

/// Resource type names, interned once per graph.
#[derive(Debug, Clone, Default)]
pub struct Types {
    names: Vec<String>,
    ids: BTreeMap<String, TypeId>,
}

impl Types {
    pub fn intern(&mut self, name: &str) -> TypeId {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as TypeId;
        self.names.push(name.to_owned());
        self.ids.insert(name.to_owned(), id);
        id
    }
    pub fn get(&self, name: &str) -> Option<TypeId> {
        self.ids.get(name).copied()
    }
    pub fn name(&self, id: TypeId) -> &str {
        &self.names[id as usize]
    }
    pub fn len(&self) -> usize {
        self.names.len()
    }
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// An immutable resource graph. Vertex `v` is `nodes[v]`, in file order.
#[derive(Debug, Clone)]
pub struct ResourceGraph {
    /// The vertices; a containment path that its parent's path and its name imply is not
    /// stored (left empty) but derived by `path`.
    nodes: Vec<Node>,
    types: Types,
    /// Interned type of each vertex.
    kind: Vec<TypeId>,
    /// Containment parent of each vertex (`NO_PARENT` for the root and vertices outside containment).
    parent: Vec<u32>,
    /// Containment children of vertex `v` are `child_list[child_start[v]..child_start[v + 1]]`, in edge order.
    child_start: Vec<u32>,
    child_list: Vec<u32>,
    /// The relation of the containment edge into a vertex, where it is not `contains`.
    relations: HashMap<u32, Arc<str>>,
    /// Edges of other subsystems, by source: `others[other_start[v]..other_start[v + 1]]`
    /// (`other_start` is empty when there are none).
    other_start: Vec<u32>,
    others: Vec<OtherEdge>,
    /// The subsystems the edges belong to, containment first.
    subsystems: Vec<String>,
    /// Row of each vertex with children in `subtree` (`NO_ROW` for leaves, whose subtree is
    /// themselves).
    row: Vec<u32>,
    /// Total size of each type in each inner vertex's subtree, the vertex itself included:
    /// `subtree[row[v] * types.len() + t]`.
    subtree: Vec<u64>,
    root: u32,
    /// How many `node` vertices are up.
    up_nodes: u64,
    /// The largest per-vertex subtree total of type `t` among vertices of type `k`: `max_below[k * n + t]`.
    max_below: Vec<u64>,
    keyed: bool,
    edge_style: EdgeStyle,
    graph_extra: BTreeMap<String, Value>,
}

/// An edge outside the containment subsystem.
#[derive(Debug, Clone)]
struct OtherEdge {
    target: u32,
    subsystem: u16,
    relation: Arc<str>,
}

pub const NO_PARENT: u32 = u32::MAX;
const NO_ROW: u32 = u32::MAX;

impl ResourceGraph {
    pub fn from_document(doc: Document) -> Self {
        let Document {
            mut nodes,
            edges,
            keyed,
            edge_style,
            graph_extra,
            root,
        } = doc;
        let n = nodes.len();
        let mut types = Types::default();
        // Vertices come in runs of one type: the last one is asked about first.
        let mut last: Option<(&str, TypeId)> = None;
        let kind: Vec<TypeId> = nodes
            .iter()
            .map(|node| match last {
                Some((name, t)) if name == &*node.kind => t,
                _ => {
                    let t = types.intern(&node.kind);
                    last = Some((&node.kind, t));
                    t
                }
            })
            .collect();
        let mut subsystems: Vec<String> = vec![CONTAINMENT.to_owned()];
        let mut parent = vec![NO_PARENT; n];
        let mut child_start = vec![0u32; n + 1];
        let mut other_count = vec![0u32; n + 1];
        let mut relations = HashMap::new();
        for e in &edges {
            if &*e.subsystem == CONTAINMENT {
                parent[e.target] = e.source as u32;
                child_start[e.source + 1] += 1;
                if &*e.relation != "contains" {
                    relations.insert(e.target as u32, e.relation.clone());
                }
            } else {
                other_count[e.source + 1] += 1;
            }
        }
        for v in 0..n {
            child_start[v + 1] += child_start[v];
            other_count[v + 1] += other_count[v];
        }
        let mut fill = child_start.clone();
        let mut child_list = vec![0u32; child_start[n] as usize];
        let mut other_fill = other_count.clone();
        let placeholder = OtherEdge {
            target: 0,
            subsystem: 0,
            relation: Arc::from(""),
        };
        let mut others = vec![placeholder; other_count[n] as usize];
        for e in edges {
            if &*e.subsystem == CONTAINMENT {
                child_list[fill[e.source] as usize] = e.target as u32;
                fill[e.source] += 1;
            } else {
                let sub = match subsystems.iter().position(|s| **s == *e.subsystem) {
                    Some(i) => i,
                    None => {
                        subsystems.push(e.subsystem.to_string());
                        subsystems.len() - 1
                    }
                };
                others[other_fill[e.source] as usize] = OtherEdge {
                    target: e.target as u32,
                    subsystem: sub as u16,
                    relation: e.relation,
                };
                other_fill[e.source] += 1;
            }
        }
        drop(fill);
        drop(other_fill);
        let other_start = if others.is_empty() {
            Vec::new()
        } else {
            other_count
        };
        let nt = types.len();
        let mut row = vec![NO_ROW; n];
        let mut rows = 0u32;
        for v in 0..n {
            if child_start[v + 1] > child_start[v] {
                row[v] = rows;
                rows += 1;
            }
        }
        let mut subtree = vec![0u64; rows as usize * nt];
        let order = preorder(root as u32, &child_start, &child_list);
        // Children before parents: each inner vertex adds its own size, then hands its row up.
        for &v in order.iter().rev() {
            let v = v as usize;
            let p = parent[v];
            if row[v] != NO_ROW {
                let r = row[v] as usize * nt;
                subtree[r + kind[v] as usize] += nodes[v].size;
                if p != NO_PARENT {
                    let q = row[p as usize] as usize * nt;
                    for t in 0..nt {
                        subtree[q + t] += subtree[r + t];
                    }
                }
            } else if p != NO_PARENT {
                subtree[row[p as usize] as usize * nt + kind[v] as usize] += nodes[v].size;
            }
        }
        let mut max_below = vec![0u64; nt * nt];
        for v in 0..n {
            let k = kind[v] as usize;
            for t in 0..nt {
                let x = if row[v] != NO_ROW {
                    subtree[row[v] as usize * nt + t]
                } else if kind[v] as usize == t {
                    nodes[v].size
                } else {
                    0
                };
                if x > max_below[k * nt + t] {
                    max_below[k * nt + t] = x;
                }
            }
        }
        let up_nodes = types.get("node").map_or(0, |t| {
            (0..n)
                .filter(|&v| kind[v] == t && nodes[v].status == Status::Up)
                .count() as u64
        });
        forget_implied_paths(&mut nodes, &order, &parent);
        ResourceGraph {
            nodes,
            types,
            kind,
            parent,
            child_start,
            child_list,
            relations,
            other_start,
            others,
            subsystems,
            row,
            subtree,
            root: root as u32,
            up_nodes,
            max_below,
            keyed,
            edge_style,
            graph_extra,
        }
    }

    pub fn from_jgf_str(text: &str, file: Option<&str>) -> Result<Self> {
        Ok(Self::from_document(jgf::parse(text, file)?))
    }

    pub fn from_jgf_bytes(bytes: &[u8], file: Option<&str>) -> Result<Self> {
        Ok(Self::from_document(jgf::parse_bytes(bytes, file)?))
    }

    pub fn from_jgf_value(value: Value, file: Option<&str>) -> Result<Self> {
        Ok(Self::from_document(jgf::from_value(value, file)?))
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The root of the containment tree.
    #[inline]
    pub fn root(&self) -> u32 {
        self.root
    }

    /// The graph's resource types.
    #[inline]
    pub fn types(&self) -> &Types {
        &self.types
    }

    /// The interned type of `v`.
    #[inline]
    pub fn kind(&self, v: u32) -> TypeId {
        self.kind[v as usize]
    }

    /// The type name of `v` (`core`, `node`, ...).
    #[inline]
    pub fn type_name(&self, v: u32) -> &str {
        self.types.name(self.kind(v))
    }

    /// The containment parent of `v`, `NO_PARENT` for the root.
    #[inline]
    pub fn parent(&self, v: u32) -> u32 {
        self.parent[v as usize]
    }

    /// The containment children of `v`, in edge order.
    #[inline]
    pub fn children(&self, v: u32) -> &[u32] {
        &self.child_list
            [self.child_start[v as usize] as usize..self.child_start[v as usize + 1] as usize]
    }

    /// The edges of other subsystems out of `v`.
    fn others_of(&self, v: u32) -> &[OtherEdge] {
        match self.other_start.get(v as usize..v as usize + 2) {
            Some(&[a, b]) => &self.others[a as usize..b as usize],
            _ => &[],
        }
    }

    /// Does `v` have an out-neighbour of type `t` in any subsystem?
    pub fn has_child_of_type(&self, v: u32, t: TypeId) -> bool {
        self.children(v).iter().any(|&c| self.kind(c) == t)
            || self.others_of(v).iter().any(|e| self.kind(e.target) == t)
    }

    /// How much of its type `v` holds (1 for most vertices; memory in its unit).
    #[inline]
    pub fn size(&self, v: u32) -> u64 {
        self.nodes[v as usize].size
    }

    /// `metadata.id`: the vertex's number among its siblings of one type.
    #[inline]
    pub fn id(&self, v: u32) -> i64 {
        self.nodes[v as usize].id
    }

    /// `metadata.uniq_id`.
    #[inline]
    pub fn uniq_id(&self, v: u32) -> i64 {
        self.nodes[v as usize].uniq_id
    }

    /// `metadata.rank` (-1 when unset).
    #[inline]
    pub fn rank(&self, v: u32) -> i64 {
        self.nodes[v as usize].rank
    }

    /// `metadata.name`.
    #[inline]
    pub fn name(&self, v: u32) -> &str {
        &self.nodes[v as usize].name
    }

    /// `metadata.unit` (empty when unset).
    #[inline]
    pub fn unit(&self, v: u32) -> &str {
        &self.nodes[v as usize].unit
    }

    #[inline]
    pub fn is_up(&self, v: u32) -> bool {
        self.nodes[v as usize].status == Status::Up
    }

    /// The containment path of `v`: as stored, or else (in the tree) its parent's path and
    /// its name.
    pub fn path(&self, v: u32) -> Cow<'_, str> {
        let stored = &self.nodes[v as usize].path;
        if !stored.is_empty() || (v != self.root && self.parent(v) == NO_PARENT) {
            return Cow::Borrowed(stored);
        }
        let mut names = vec![self.name(v)];
        let mut at = self.parent(v);
        let mut out = loop {
            if at == NO_PARENT {
                break String::new();
            }
            let p = &self.nodes[at as usize].path;
            if !p.is_empty() {
                break p.clone();
            }
            names.push(self.name(at));
            at = self.parent(at);
        };
        for name in names.iter().rev() {
            out.push('/');
            out.push_str(name);
        }
        Cow::Owned(out)
    }

    /// `metadata.properties` of `v`.
    pub fn properties(&self, v: u32) -> &BTreeMap<String, String> {
        self.nodes[v as usize].properties()
    }

    /// An owned copy of vertex `v` as the JGF model holds it, to build another document from.
    pub fn to_node(&self, v: u32) -> Node {
        let mut node = self.nodes[v as usize].clone();
        if node.path.is_empty() {
            node.path = self.path(v).into_owned();
        }
        node
    }

    /// How many `node` vertices are up.
    #[inline]
    pub fn up_nodes(&self) -> u64 {
        self.up_nodes
    }

    /// The subsystems the edges belong to, containment first.
    pub fn subsystems(&self) -> &[String] {
        &self.subsystems
    }

    /// Total size of type `t` in the subtree of `v`.
    #[inline]
    pub fn subtree_total(&self, v: u32, t: TypeId) -> u64 {
        match self.row[v as usize] {
            NO_ROW if self.kind(v) == t => self.size(v),
            NO_ROW => 0,
            r => self.subtree[r as usize * self.types.len() + t as usize],
        }
    }

    /// The largest subtree total of type `t` under any single vertex of type `k`.
    pub fn max_total_under(&self, k: TypeId, t: TypeId) -> u64 {
        self.max_below[k as usize * self.types.len() + t as usize]
    }

    /// Vertex count per type name, sizes not added.
    pub fn summary(&self) -> BTreeMap<String, u64> {
        let mut counts = vec![0u64; self.types.len()];
        for &k in &self.kind {
            counts[k as usize] += 1;
        }
        counts
            .iter()
            .enumerate()
            .map(|(t, &c)| (self.types.name(t as TypeId).to_owned(), c))
            .collect()
    }

    /// Size totals per type name (memory in its unit, say), over the whole graph.
    pub fn totals(&self) -> BTreeMap<String, u64> {
        (0..self.types.len())
            .map(|t| {
                (
                    self.types.name(t as TypeId).to_owned(),
                    self.subtree_total(self.root, t as TypeId),
                )
            })
            .collect()
    }

    pub fn edge_count(&self) -> usize {
        self.child_list.len() + self.others.len()
    }

    /// The graph as a JGF document in the form it was read: containment edges parent by
    /// parent in tree order, then the other subsystems' edges.
    pub fn to_jgf(&self) -> Value {
        let contains = |c: u32| self.relations.get(&c).map_or("contains", |r| &**r);
        let tree = self.preorder().into_iter().flat_map(move |p| {
            self.children(p)
                .iter()
                .map(move |&c| (p as usize, c as usize, CONTAINMENT, contains(c)))
        });
        let others = (0..self.len() as u32).flat_map(|v| {
            self.others_of(v).iter().map(move |e| {
                let sub = &*self.subsystems[e.subsystem as usize];
                (v as usize, e.target as usize, sub, &*e.relation)
            })
        });
        let form = Form {
            keyed: self.keyed,
            edge_style: self.edge_style,
            graph_extra: &self.graph_extra,
        };
        jgf::write(
            &self.nodes,
            |v| self.path(v as u32),
            tree.chain(others),
            form,
        )
    }

    /// Vertices of the containment tree in depth-first pre-order, children in edge order.
    pub fn preorder(&self) -> Vec<u32> {
        preorder(self.root, &self.child_start, &self.child_list)
    }
}

fn preorder(root: u32, child_start: &[u32], child_list: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(child_list.len() + 1);
    let mut stack = vec![root];
    while let Some(v) = stack.pop() {
        out.push(v);
        let kids =
            &child_list[child_start[v as usize] as usize..child_start[v as usize + 1] as usize];
        stack.extend(kids.iter().rev());
    }
    out
}

/// Empty the stored path of every vertex whose path is its parent's path and its name (the
/// root's: its name under `/`), so that only paths that say something are kept.
fn forget_implied_paths(nodes: &mut [Node], order: &[u32], parent: &[u32]) {
    // The full path of each vertex on the way down from the root, by depth.
    let mut above: Vec<String> = Vec::new();
    let mut depth = vec![0u32; nodes.len()];
    for &v in order {
        let v = v as usize;
        let d = match parent[v] {
            NO_PARENT => 0,
            p => depth[p as usize] as usize + 1,
        };
        depth[v] = d as u32;
        above.truncate(d);
        let base = if d == 0 { "" } else { above[d - 1].as_str() };
        let node = &nodes[v];
        let implied = node.path.len() == base.len() + 1 + node.name.len()
            && node.path.starts_with(base)
            && node.path[base.len()..].starts_with('/')
            && node.path.ends_with(&*node.name);
        let full = std::mem::take(&mut nodes[v].path);
        if !implied {
            nodes[v].path = full.clone();
        }
        above.push(full);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> ResourceGraph {
        let text = r#"{"graph": {"nodes": [
            {"id": "0", "metadata": {"type": "cluster", "name": "c0", "paths": {"containment": "/c0"}}},
            {"id": "1", "metadata": {"type": "node", "name": "n0", "paths": {"containment": "/c0/n0"}}},
            {"id": "2", "metadata": {"type": "core", "name": "core0", "paths": {"containment": "/c0/n0/core0"}}},
            {"id": "3", "metadata": {"type": "core", "name": "core1", "paths": {"containment": "/c0/n0/core1"}}},
            {"id": "4", "metadata": {"type": "memory", "name": "memory0", "size": 64, "paths": {"containment": "/c0/n0/memory0"}}},
            {"id": "5", "metadata": {"type": "node", "name": "n1", "paths": {"containment": "/c0/n1"}}},
            {"id": "6", "metadata": {"type": "core", "name": "core0", "paths": {"containment": "/c0/n1/core0"}}}
          ], "edges": [
            {"source": "0", "target": "1"}, {"source": "1", "target": "2"}, {"source": "1", "target": "3"},
            {"source": "1", "target": "4"}, {"source": "0", "target": "5"}, {"source": "5", "target": "6"}
          ]}}"#;
        ResourceGraph::from_jgf_str(text, None).unwrap()
    }

    #[test]
    fn subtree_totals_count_sizes_per_type() {
        let g = small();
        let core = g.types().get("core").unwrap();
        let memory = g.types().get("memory").unwrap();
        assert_eq!(g.subtree_total(g.root(), core), 3);
        assert_eq!(g.subtree_total(1, memory), 64);
        assert_eq!(g.subtree_total(5, core), 1);
    }

    #[test]
    fn max_total_under_a_type_is_the_best_single_vertex() {
        let g = small();
        let (node, core) = (
            g.types().get("node").unwrap(),
            g.types().get("core").unwrap(),
        );
        assert_eq!(g.max_total_under(node, core), 2);
    }

    #[test]
    fn summary_counts_vertices_per_type() {
        let g = small();
        let s = g.summary();
        assert_eq!(s["core"], 3);
        assert_eq!(s["node"], 2);
        assert_eq!(g.totals()["memory"], 64);
    }

    #[test]
    fn children_follow_edge_order() {
        let g = small();
        assert_eq!(g.children(0), &[1, 5]);
        assert_eq!(g.preorder(), vec![0, 1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn paths_relations_and_other_subsystems_survive_the_compact_form() {
        let text = r#"{"graph": {"nodes": [
            {"id": "0", "metadata": {"type": "cluster", "name": "c0", "paths": {"containment": "/c0"}}},
            {"id": "1", "metadata": {"type": "node", "name": "n0", "paths": {"containment": "/c0/n0"}}},
            {"id": "2", "metadata": {"type": "core", "name": "core0", "paths": {"containment": "/moved/core0"}}},
            {"id": "3", "metadata": {"type": "node", "name": "n1"}},
            {"id": "4", "metadata": {"type": "core", "name": "core0", "paths": {"containment": "/c0/n1/core0"}}}
          ], "edges": [
            {"source": "0", "target": "1", "relation": "contains", "metadata": {"subsystem": "containment"}},
            {"source": "1", "target": "2", "relation": "has", "metadata": {"subsystem": "containment"}},
            {"source": "1", "target": "3", "relation": "feeds", "metadata": {"subsystem": "power"}},
            {"source": "0", "target": "3", "relation": "contains", "metadata": {"subsystem": "containment"}},
            {"source": "3", "target": "4", "relation": "contains", "metadata": {"subsystem": "containment"}}
          ]}}"#;
        let g = ResourceGraph::from_jgf_str(text, None).unwrap();
        let paths: Vec<String> = (0..5).map(|v| g.path(v).into_owned()).collect();
        assert_eq!(
            paths,
            ["/c0", "/c0/n0", "/moved/core0", "/c0/n1", "/c0/n1/core0"]
        );
        assert_eq!(g.subsystems(), ["containment", "power"]);
        assert_eq!(g.edge_count(), 5);
        let node = g.types().get("node").unwrap();
        assert!(
            g.has_child_of_type(1, node),
            "n0 feeds n1 in the power subsystem"
        );
        assert!(!g.has_child_of_type(3, node));

        let again = jgf::from_value(g.to_jgf(), None).unwrap();
        let written: Vec<&str> = again.nodes.iter().map(|n| n.path.as_str()).collect();
        assert_eq!(written, paths);
        let mut edges: Vec<(usize, usize, &str, &str)> = again
            .edges
            .iter()
            .map(|e| (e.source, e.target, &*e.subsystem, &*e.relation))
            .collect();
        edges.sort();
        assert_eq!(
            edges,
            [
                (0, 1, "containment", "contains"),
                (0, 3, "containment", "contains"),
                (1, 2, "containment", "has"),
                (1, 3, "power", "feeds"),
                (3, 4, "containment", "contains"),
            ]
        );
    }
}
