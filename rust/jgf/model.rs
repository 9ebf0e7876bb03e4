//! The JGF model: validated vertices (`Node`) and edges (`Edge`) with Fluxion's defaults
//! applied, the `Document` they make, and the `Layout` a containment graph may take.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::Value;

/// Up or down, as `metadata.status` says (0/"up" or 1/"down").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Status {
    #[default]
    Up,
    Down,
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct StatusVisitor;
        impl Visitor<'_> for StatusVisitor {
            type Value = Status;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("0 or \"up\", 1 or \"down\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Status, E> {
                match v {
                    0 => Ok(Status::Up),
                    1 => Ok(Status::Down),
                    _ => Err(E::custom("expected 0 (up) or 1 (down)")),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Status, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom("expected 0 (up) or 1 (down)"))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Status, E> {
                if v.eq_ignore_ascii_case("up") {
                    Ok(Status::Up)
                } else if v.eq_ignore_ascii_case("down") {
                    Ok(Status::Down)
                } else {
                    Err(E::custom("expected \"up\" or \"down\""))
                }
            }
        }
        d.deserialize_any(StatusVisitor)
    }
}

/// One validated vertex with Fluxion's defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The JGF id, empty when it is the vertex's position written in decimal.
    pub jgf_id: String,
    pub kind: Arc<str>,
    pub basename: Arc<str>,
    pub name: String,
    pub id: i64,
    pub uniq_id: i64,
    pub rank: i64,
    pub exclusive: bool,
    pub unit: Arc<str>,
    pub size: u64,
    /// The containment path (`paths.containment`).
    pub path: String,
    pub status: Status,
    /// What few vertices carry, kept out of line so that the common vertex stays small.
    pub extras: Option<Box<NodeExtras>>,
}

/// The rarer parts of a vertex.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeExtras {
    pub label: Option<String>,
    /// Paths in other subsystems, as given.
    pub other_paths: Vec<(String, String)>,
    pub properties: BTreeMap<String, String>,
    pub attributes: Option<Value>,
    /// Metadata keys fractale does not interpret, kept to write them back.
    pub extra: BTreeMap<String, Value>,
}

static NO_PROPERTIES: BTreeMap<String, String> = BTreeMap::new();

impl Node {
    /// The JGF id of the vertex at `position`.
    pub fn jgf_id_at(&self, position: usize) -> Cow<'_, str> {
        if self.jgf_id.is_empty() {
            Cow::Owned(position.to_string())
        } else {
            Cow::Borrowed(&self.jgf_id)
        }
    }

    pub fn properties(&self) -> &BTreeMap<String, String> {
        self.extras
            .as_ref()
            .map_or(&NO_PROPERTIES, |e| &e.properties)
    }
}

/// One validated edge between node positions (indices into `Document::nodes`).
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub source: usize,
    pub target: usize,
    pub subsystem: Arc<str>,
    pub relation: Arc<str>,
}

/// How the file spelled its edges, so that writing it back keeps the same form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EdgeStyle {
    /// `metadata.name: {containment: contains}` (Fluxion's older writers).
    #[default]
    Named,
    /// `metadata.subsystem` plus a top-level `relation` (newer writers).
    Subsystem,
}

/// A validated JGF document: nodes in file order, forward edges only, and the
/// containment tree checked (one root, every other vertex with one parent, no cycles).
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    pub keyed: bool,
    pub edge_style: EdgeStyle,
    pub graph_extra: BTreeMap<String, Value>,
    /// Position of the containment root in `nodes`.
    pub root: usize,
}

pub const CONTAINMENT: &str = "containment";

/// What shape the containment edges of a graph must take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// One tree (Fluxion's rule, and every containment graph's).
    #[default]
    Tree,
    /// A forest, as compspec writes software graphs: packages (with their binaries and
    /// libraries below them) hanging off no root. Each stray root is hung under the vertex
    /// its containment path names as its parent (`/spack0/package0` under `/spack0`), and
    /// trees still apart are gathered under one `software` root made for them.
    Forest,
}
