//! The in-memory resource graph: a petgraph over the JGF vertices, resource types interned,
//! the containment tree laid out for fast traversal, and per-vertex subtree totals per type
//! so that requests that cannot fit are rejected without a traversal.

use std::borrow::Cow;
use std::collections::BTreeMap;

use petgraph::graph::{DiGraph, NodeIndex};
use serde_json::Value;

use crate::error::Result;
use crate::jgf::{self, Document, Node, Status, CONTAINMENT};

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

/// An immutable resource graph. Vertex `v` is `doc.nodes[v]` and petgraph node `v`.
#[derive(Debug, Clone)]
pub struct ResourceGraph {
    doc: Document,
    graph: DiGraph<(), u16>,
    subsystems: Vec<String>,
    types: Types,
    /// Interned type of each vertex.
    kind: Vec<TypeId>,
    /// Containment parent of each vertex (`u32::MAX` for the root and vertices outside containment).
    parent: Vec<u32>,
    /// Containment children of vertex `v` are `child_list[child_start[v]..child_start[v + 1]]`, in edge order.
    child_start: Vec<u32>,
    child_list: Vec<u32>,
    /// Total size of each type in each vertex's subtree, the vertex itself included:
    /// `subtree[v * types.len() + t]`.
    subtree: Vec<u64>,
    root: u32,
    /// How many `node` vertices are up.
    up_nodes: u64,
    /// The largest per-vertex subtree total of type `t` among vertices of type `k`: `max_below[k * n + t]`.
    max_below: Vec<u64>,
}

pub const NO_PARENT: u32 = u32::MAX;

impl ResourceGraph {
    pub fn from_document(doc: Document) -> Self {
        let n = doc.nodes.len();
        let mut types = Types::default();
        let kind: Vec<TypeId> = doc
            .nodes
            .iter()
            .map(|node| types.intern(&node.kind))
            .collect();
        let mut subsystems: Vec<String> = vec![CONTAINMENT.to_owned()];
        let mut graph = DiGraph::<(), u16>::with_capacity(n, doc.edges.len());
        for _ in 0..n {
            graph.add_node(());
        }
        let mut parent = vec![NO_PARENT; n];
        let mut child_count = vec![0u32; n + 1];
        for e in &doc.edges {
            let sub = match subsystems.iter().position(|s| **s == *e.subsystem) {
                Some(i) => i,
                None => {
                    subsystems.push(e.subsystem.to_string());
                    subsystems.len() - 1
                }
            };
            graph.add_edge(
                NodeIndex::new(e.source),
                NodeIndex::new(e.target),
                sub as u16,
            );
            if sub == 0 {
                parent[e.target] = e.source as u32;
                child_count[e.source] += 1;
            }
        }
        let mut child_start = vec![0u32; n + 1];
        for v in 0..n {
            child_start[v + 1] = child_start[v] + child_count[v];
        }
        let mut fill = child_start.clone();
        let mut child_list = vec![0u32; child_start[n] as usize];
        for e in doc.edges.iter().filter(|e| &*e.subsystem == CONTAINMENT) {
            child_list[fill[e.source] as usize] = e.target as u32;
            fill[e.source] += 1;
        }
        let nt = types.len();
        let mut subtree = vec![0u64; n * nt];
        let order = preorder(doc.root as u32, &child_start, &child_list);
        for &v in order.iter().rev() {
            let v = v as usize;
            subtree[v * nt + kind[v] as usize] += doc.nodes[v].size;
            let p = parent[v];
            if p != NO_PARENT {
                let (p, v) = (p as usize, v);
                for t in 0..nt {
                    let add = subtree[v * nt + t];
                    subtree[p * nt + t] += add;
                }
            }
        }
        let mut max_below = vec![0u64; nt * nt];
        for v in 0..n {
            let k = kind[v] as usize;
            for t in 0..nt {
                let x = subtree[v * nt + t];
                if x > max_below[k * nt + t] {
                    max_below[k * nt + t] = x;
                }
            }
        }
        let root = doc.root as u32;
        let up_nodes = types.get("node").map_or(0, |t| {
            (0..n)
                .filter(|&v| kind[v] == t && doc.nodes[v].status == Status::Up)
                .count() as u64
        });
        ResourceGraph {
            up_nodes,
            doc,
            graph,
            subsystems,
            types,
            kind,
            parent,
            child_start,
            child_list,
            subtree,
            root,
            max_below,
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
        self.doc.nodes.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.doc.nodes.is_empty()
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

    /// Does `v` have an out-neighbour of type `t` in any subsystem?
    pub fn has_child_of_type(&self, v: u32, t: TypeId) -> bool {
        if self.children(v).iter().any(|&c| self.kind(c) == t) {
            return true;
        }
        self.subsystems.len() > 1
            && self
                .graph
                .neighbors(NodeIndex::new(v as usize))
                .any(|c| self.kind[c.index()] == t)
    }

    /// How much of its type `v` holds (1 for most vertices; memory in its unit).
    #[inline]
    pub fn size(&self, v: u32) -> u64 {
        self.doc.nodes[v as usize].size
    }

    /// `metadata.id`: the vertex's number among its siblings of one type.
    #[inline]
    pub fn id(&self, v: u32) -> i64 {
        self.doc.nodes[v as usize].id
    }

    /// `metadata.uniq_id`.
    #[inline]
    pub fn uniq_id(&self, v: u32) -> i64 {
        self.doc.nodes[v as usize].uniq_id
    }

    /// `metadata.rank` (-1 when unset).
    #[inline]
    pub fn rank(&self, v: u32) -> i64 {
        self.doc.nodes[v as usize].rank
    }

    /// `metadata.name`.
    #[inline]
    pub fn name(&self, v: u32) -> &str {
        &self.doc.nodes[v as usize].name
    }

    /// `metadata.unit` (empty when unset).
    #[inline]
    pub fn unit(&self, v: u32) -> &str {
        &self.doc.nodes[v as usize].unit
    }

    #[inline]
    pub fn is_up(&self, v: u32) -> bool {
        self.doc.nodes[v as usize].status == Status::Up
    }

    /// The containment path of `v`.
    pub fn path(&self, v: u32) -> Cow<'_, str> {
        Cow::Borrowed(&self.doc.nodes[v as usize].path)
    }

    /// `metadata.properties` of `v`.
    pub fn properties(&self, v: u32) -> &BTreeMap<String, String> {
        self.doc.nodes[v as usize].properties()
    }

    /// An owned copy of vertex `v` as the JGF model holds it, to build another document from.
    pub fn to_node(&self, v: u32) -> Node {
        self.doc.nodes[v as usize].clone()
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
        self.subtree[v as usize * self.types.len() + t as usize]
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
        self.graph.edge_count()
    }

    pub fn to_jgf(&self) -> Value {
        jgf::to_value(&self.doc)
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
}
