//! The streaming reader: JGF text is parsed straight into validated vertices and edges as it
//! streams past, borrowing strings from the text wherever it can and interning the repetitive
//! ones (types, units, subsystems), so that the raw form of a large graph never sits in memory
//! whole. When the typed parse fails, `locate` finds and names the place.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::locate::{json_kind, locate_error, locate_in_value};
use super::model::{Document, Edge, EdgeStyle, Layout, Node, NodeExtras, Status, CONTAINMENT};
use super::scan::scan;
use super::tree::{check_size_totals, containment_root, fill_missing_paths, root_forest};
use crate::error::{Error, Result};

/// A string borrowed from the input when it has no escapes, owned otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text<'de>(pub Cow<'de, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(
                self,
                v: &'de str,
            ) -> std::result::Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(TextVisitor)
    }
}

/// A JGF node id: JGF allows strings, Fluxion writes numbers too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeId<'de>(pub Cow<'de, str>);

impl<'de: 'a, 'a> Deserialize<'de> for NodeId<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct IdVisitor;
        impl<'de> Visitor<'de> for IdVisitor {
            type Value = NodeId<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or an integer id")
            }
            fn visit_borrowed_str<E: de::Error>(
                self,
                v: &'de str,
            ) -> std::result::Result<NodeId<'de>, E> {
                Ok(NodeId(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<NodeId<'de>, E> {
                Ok(NodeId(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<NodeId<'de>, E> {
                Ok(NodeId(Cow::Owned(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<NodeId<'de>, E> {
                Ok(NodeId(Cow::Owned(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<NodeId<'de>, E> {
                Ok(NodeId(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_any(IdVisitor)
    }
}

/// `metadata.paths`: the containment path kept apart, any other subsystem's beside it.
#[derive(Debug, Clone, Default)]
pub struct RawPaths<'de> {
    pub containment: Option<Text<'de>>,
    pub other: Vec<(String, String)>,
}

impl<'de: 'a, 'a> Deserialize<'de> for RawPaths<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct PathsVisitor;
        impl<'de> Visitor<'de> for PathsVisitor {
            type Value = RawPaths<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of subsystem: path strings")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<RawPaths<'de>, A::Error> {
                let mut p = RawPaths::default();
                while let Some(key) = map.next_key::<Text<'de>>()? {
                    let value: Text<'de> = map.next_value()?;
                    if key.0 == CONTAINMENT {
                        p.containment = Some(value);
                    } else {
                        p.other.push((key.0.into_owned(), value.0.into_owned()));
                    }
                }
                Ok(p)
            }
        }
        d.deserialize_map(PathsVisitor)
    }
}

/// A node's `metadata` as read, before defaults are applied.
#[derive(Debug, Clone, Default)]
pub struct RawMetadata<'de> {
    pub kind: Option<Text<'de>>,
    pub basename: Option<Text<'de>>,
    pub name: Option<Text<'de>>,
    pub id: Option<i64>,
    pub uniq_id: Option<i64>,
    pub rank: Option<i64>,
    pub exclusive: Option<bool>,
    pub unit: Option<Text<'de>>,
    pub size: Option<i64>,
    /// `paths.containment`.
    pub path: Option<Text<'de>>,
    pub status: Option<Status>,
    /// What few vertices carry, out of line so that the metadata of most stays small to move.
    pub rare: Option<Box<RawRareMetadata>>,
}

/// The rarer parts of a node's `metadata`.
#[derive(Debug, Clone, Default)]
pub struct RawRareMetadata {
    /// `paths` of other subsystems.
    pub other_paths: Vec<(String, String)>,
    /// compspec's `containment: {paths: "/spack0/package0"}`.
    pub containment: Option<Value>,
    pub properties: Option<Value>,
    pub attributes: Option<Value>,
    pub extra: BTreeMap<String, Value>,
}

impl<'de> RawMetadata<'de> {
    pub fn rare(&mut self) -> &mut RawRareMetadata {
        self.rare.get_or_insert_with(Box::default)
    }

    /// Take `metadata.paths` (a second one replaces the first whole).
    pub fn set_paths(&mut self, paths: RawPaths<'de>) {
        self.path = paths.containment;
        if !paths.other.is_empty() || self.rare.is_some() {
            self.rare().other_paths = paths.other;
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawMetadata<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct MetaVisitor;
        impl<'de> Visitor<'de> for MetaVisitor {
            type Value = RawMetadata<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a metadata object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<RawMetadata<'de>, A::Error> {
                let mut m = RawMetadata::default();
                while let Some(key) = map.next_key::<Text<'de>>()? {
                    match key.0.as_ref() {
                        "type" => m.kind = map.next_value()?,
                        "basename" => m.basename = map.next_value()?,
                        "name" => m.name = map.next_value()?,
                        "id" => m.id = map.next_value()?,
                        "uniq_id" => m.uniq_id = map.next_value()?,
                        "rank" => m.rank = map.next_value()?,
                        "exclusive" => m.exclusive = map.next_value()?,
                        "unit" => m.unit = map.next_value()?,
                        "size" => m.size = map.next_value()?,
                        "paths" => {
                            let paths: Option<RawPaths> = map.next_value()?;
                            m.set_paths(paths.unwrap_or_default());
                        }
                        "containment" => m.rare().containment = map.next_value()?,
                        "properties" => m.rare().properties = map.next_value()?,
                        "status" => m.status = map.next_value()?,
                        "attributes" => m.rare().attributes = map.next_value()?,
                        other => {
                            let value: Value = map.next_value()?;
                            m.rare().extra.insert(other.to_owned(), value);
                        }
                    }
                }
                Ok(m)
            }
        }
        d.deserialize_map(MetaVisitor)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawNode<'a> {
    #[serde(borrow)]
    pub id: Option<NodeId<'a>>,
    pub label: Option<String>,
    #[serde(borrow)]
    pub metadata: Option<RawMetadata<'a>>,
}

/// An edge's `metadata`: its subsystem, and Fluxion's older `name: {subsystem: relation}`.
#[derive(Debug, Clone, Default)]
pub struct RawEdgeMetadata<'de> {
    pub subsystem: Option<Text<'de>>,
    pub name: Option<(Text<'de>, Text<'de>)>,
}

impl<'de: 'a, 'a> Deserialize<'de> for RawEdgeMetadata<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct NameVisitor;
        impl<'de> Visitor<'de> for NameVisitor {
            type Value = Option<(Text<'de>, Text<'de>)>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of subsystem: relation strings")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut first = None;
                while let Some((k, v)) = map.next_entry::<Text<'de>, Text<'de>>()? {
                    first.get_or_insert((k, v));
                }
                Ok(first)
            }
        }
        struct EdgeMetaVisitor;
        impl<'de> Visitor<'de> for EdgeMetaVisitor {
            type Value = RawEdgeMetadata<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an edge metadata object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<RawEdgeMetadata<'de>, A::Error> {
                struct Name<'de>(Option<(Text<'de>, Text<'de>)>);
                impl<'de> Deserialize<'de> for Name<'de> {
                    fn deserialize<D: Deserializer<'de>>(
                        d: D,
                    ) -> std::result::Result<Self, D::Error> {
                        d.deserialize_map(NameVisitor).map(Name)
                    }
                }
                let mut m = RawEdgeMetadata::default();
                while let Some(key) = map.next_key::<Text<'de>>()? {
                    match key.0.as_ref() {
                        "subsystem" => m.subsystem = Some(map.next_value()?),
                        "name" => m.name = map.next_value::<Name<'de>>()?.0,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(m)
            }
        }
        d.deserialize_map(EdgeMetaVisitor)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawEdge<'a> {
    #[serde(borrow)]
    pub source: Option<NodeId<'a>>,
    #[serde(borrow)]
    pub target: Option<NodeId<'a>>,
    #[serde(borrow)]
    pub relation: Option<Text<'a>>,
    #[serde(borrow)]
    pub metadata: Option<RawEdgeMetadata<'a>>,
}

/// An edge as its text spells it, its ends not yet looked up: the subsystem and relation
/// are what its keys say with JGF's and Fluxion's defaults, and `style` is the spelling
/// that named the subsystem.
#[derive(Debug, Clone)]
pub struct EdgeText<'a> {
    pub source: Option<NodeId<'a>>,
    pub target: Option<NodeId<'a>>,
    pub subsystem: Cow<'a, str>,
    pub relation: Cow<'a, str>,
    pub style: Option<EdgeStyle>,
}

impl<'a> From<RawEdge<'a>> for EdgeText<'a> {
    fn from(raw: RawEdge<'a>) -> Self {
        let meta = raw.metadata.unwrap_or_default();
        let relation_given = raw.relation.map(|r| r.0);
        let (subsystem, relation, style) = match (meta.subsystem, meta.name) {
            (Some(sub), _) => (
                sub.0,
                relation_given.unwrap_or(Cow::Borrowed("contains")),
                Some(EdgeStyle::Subsystem),
            ),
            (None, Some((sub, rel))) => (
                sub.0,
                relation_given.unwrap_or(rel.0),
                Some(EdgeStyle::Named),
            ),
            (None, None) => (
                Cow::Borrowed(CONTAINMENT),
                relation_given.unwrap_or(Cow::Borrowed("contains")),
                None,
            ),
        };
        EdgeText {
            source: raw.source,
            target: raw.target,
            subsystem,
            relation,
            style,
        }
    }
}

/// State carried through one parse: the file for errors, the string interner, and the first
/// validation error met while vertices were being built as they streamed past.
pub struct Builder<'f> {
    file: Option<&'f str>,
    layout: Layout,
    strings: Interner,
    /// Vertex names, apart: they change from vertex to vertex where types and units repeat.
    names: Interner,
    error: Option<Error>,
    /// A guess at the number of vertices, from the size of the text, so that the vertex
    /// list is not copied over and over as it grows.
    expected_nodes: usize,
    /// Told the bytes of the text read so far, in runs of `RELEASE_RUN`, when the text is a
    /// mapped file that hands back the pages already read (see `parse_bytes_releasing`).
    release: Option<Release<'f>>,
    /// The address of the text, and the offset up to which it was reported read.
    base: usize,
    released: usize,
}

/// Told each run of bytes of the text (offsets) that a reader has moved past.
pub type Release<'f> = &'f (dyn Fn(std::ops::Range<usize>) + Sync);

/// Bytes read are reported in runs of at least this many.
const RELEASE_RUN: usize = 8 << 20;

impl<'f> Builder<'f> {
    pub(super) fn new(file: Option<&'f str>, layout: Layout) -> Self {
        Builder {
            file,
            layout,
            expected_nodes: 0,
            strings: Interner::default(),
            names: Interner::default(),
            error: None,
            release: None,
            base: 0,
            released: 0,
        }
    }

    /// The builder for reading `bytes`.
    pub(super) fn for_text(mut self, bytes: &[u8]) -> Self {
        // A vertex and its edge take some 340 bytes of JGF as Fluxion and fractale write them.
        self.expected_nodes = bytes.len() / 340;
        self.base = bytes.as_ptr() as usize;
        self
    }

    /// A builder for another thread reading the same text from `offset` on.
    pub(super) fn beside(&self, offset: usize) -> Self {
        Builder {
            file: self.file,
            layout: self.layout,
            expected_nodes: self.expected_nodes,
            strings: Interner::default(),
            names: Interner::default(),
            error: None,
            release: self.release,
            base: self.base,
            released: offset,
        }
    }

    pub(super) fn file(&self) -> Option<&'f str> {
        self.file
    }

    pub(super) fn expected_nodes(&self) -> usize {
        self.expected_nodes
    }

    pub(super) fn strings(&mut self) -> &mut Interner {
        &mut self.strings
    }

    /// Report that the text has been read up to `offset`.
    pub(super) fn reached_offset(&mut self, offset: usize) {
        if let Some(release) = self.release {
            if offset >= self.released + RELEASE_RUN {
                release(self.released..offset);
                self.released = offset;
            }
        }
    }

    /// Report how far the text has been read, from a string borrowed from it.
    fn reached(&mut self, text: Option<&Cow<'_, str>>) {
        if let (Some(_), Some(Cow::Borrowed(s))) = (self.release, text) {
            self.reached_offset((s.as_ptr() as usize).wrapping_sub(self.base));
        }
    }

    /// Turn one raw node into a vertex with Fluxion's defaults applied.
    pub(super) fn node(&mut self, i: usize, raw: RawNode<'_>, keyed: bool) -> Result<Node> {
        let file = self.file;
        let id_given = raw.id;
        // Formatted only when something is wrong: doing it for every vertex costs real time.
        let loc = || match (keyed, &id_given) {
            (true, Some(id)) => format!("graph.nodes[{:?}]", id.0),
            _ => format!("graph.nodes[{i}]"),
        };
        // Most files number their vertices by position; those ids are not stored.
        let jgf_id = match &id_given {
            Some(id) if decimal_id(&id.0) == Some(i) => String::new(),
            Some(id) => id.0.clone().into_owned(),
            None => {
                return Err(Error::jgf(
                    file,
                    format!("{}.id", loc()),
                    "expected a node id",
                ))
            }
        };
        let meta = raw.metadata.ok_or_else(|| {
            Error::jgf(
                file,
                format!("{}.metadata", loc()),
                "expected a metadata object",
            )
        })?;
        let kind = meta.kind.ok_or_else(|| {
            Error::jgf(
                file,
                format!("{}.metadata.type", loc()),
                "expected a resource type (a string)",
            )
        })?;
        if kind.0.is_empty() {
            return Err(Error::jgf(
                file,
                format!("{}.metadata.type", loc()),
                "expected a non-empty resource type",
            ));
        }
        let kind = self.strings.get(&kind.0);
        let basename = match meta.basename {
            Some(b) => self.strings.get(&b.0),
            None => kind.clone(),
        };
        let id = meta.id.unwrap_or_else(|| {
            if jgf_id.is_empty() {
                i as i64
            } else {
                jgf_id.parse::<i64>().unwrap_or(i as i64)
            }
        });
        let uniq_id = meta.uniq_id.unwrap_or_else(|| {
            if jgf_id.is_empty() {
                i as i64
            } else {
                jgf_id.parse::<i64>().unwrap_or(i as i64)
            }
        });
        // Names repeat from node to node (core0, socket1): one allocation each.
        let name = match meta.name {
            Some(n) => self.names.get(&n.0),
            None => self.names.get(&format!("{basename}{id}")),
        };
        let size = match meta.size {
            None => 1,
            Some(s) if s >= 0 => s as u64,
            Some(_) => {
                return Err(Error::jgf(
                    file,
                    format!("{}.metadata.size", loc()),
                    "expected a size of 0 or more",
                ))
            }
        };
        let rare = meta.rare.map(|r| *r).unwrap_or_default();
        let properties = match rare.properties {
            None => BTreeMap::new(),
            given => properties_of(given, &format!("{}.metadata.properties", loc()), file)?,
        };
        let mut path = meta.path.map(|c| c.0.into_owned()).unwrap_or_default();
        let mut extra = rare.extra;
        // compspec writes the containment path as `containment.paths` (a string, or Fluxion's
        // `{containment: path}` in compspec-containment); `paths.containment` wins when a
        // vertex has both. Any other use of the key is kept as it was.
        let compspec_path = |c: &Map<String, Value>| match c.get("paths") {
            Some(Value::String(p)) => Some(p.clone()),
            Some(Value::Object(p)) => p
                .get(CONTAINMENT)
                .and_then(Value::as_str)
                .map(str::to_owned),
            _ => None,
        };
        match rare.containment {
            Some(Value::Object(c)) if compspec_path(&c).is_some() => {
                if let (true, Some(given)) = (path.is_empty(), compspec_path(&c)) {
                    path = given;
                }
            }
            Some(other) => {
                extra.insert("containment".to_owned(), other);
            }
            None => {}
        }
        let extras = NodeExtras {
            label: raw.label,
            other_paths: rare.other_paths,
            properties,
            attributes: rare.attributes,
            extra,
        };
        Ok(Node {
            jgf_id,
            kind,
            basename,
            name,
            id,
            uniq_id,
            rank: meta.rank.unwrap_or(-1),
            exclusive: meta.exclusive.unwrap_or(false),
            unit: self
                .strings
                .get(meta.unit.as_ref().map_or("", |u| u.0.as_ref())),
            size,
            path,
            status: meta.status.unwrap_or_default(),
            extras: if extras == NodeExtras::default() {
                None
            } else {
                Some(Box::new(extras))
            },
        })
    }
}

/// `graph.nodes` as read: a list (JGF v1) or an object keyed by id (JGF v2), each vertex
/// built as it is parsed so that the raw form of a large graph never sits in memory whole.
#[derive(Debug, Clone, Default)]
pub struct BuiltNodes {
    pub nodes: Vec<Node>,
    pub keyed: bool,
}

struct NodesSeed<'b, 'f>(&'b mut Builder<'f>);

impl<'de> DeserializeSeed<'de> for NodesSeed<'_, '_> {
    type Value = BuiltNodes;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<BuiltNodes, D::Error> {
        struct NodesVisitor<'b, 'f>(&'b mut Builder<'f>);
        impl<'de> Visitor<'de> for NodesVisitor<'_, '_> {
            type Value = BuiltNodes;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of nodes or an object of nodes keyed by id")
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<BuiltNodes, A::Error> {
                let mut nodes =
                    Vec::with_capacity(seq.size_hint().unwrap_or(self.0.expected_nodes));
                while let Some(raw) = seq.next_element::<RawNode<'de>>()? {
                    let kind = raw.metadata.as_ref().and_then(|m| m.kind.as_ref());
                    self.0.reached(kind.map(|k| &k.0));
                    match self.0.node(nodes.len(), raw, false) {
                        Ok(node) => nodes.push(node),
                        Err(e) => {
                            self.0.error = Some(e);
                            return Err(de::Error::custom("invalid node"));
                        }
                    }
                }
                Ok(BuiltNodes {
                    nodes,
                    keyed: false,
                })
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<BuiltNodes, A::Error> {
                let mut nodes = Vec::new();
                while let Some((key, mut raw)) = map.next_entry::<NodeId<'de>, RawNode<'de>>()? {
                    self.0.reached(Some(&key.0));
                    if raw.id.is_none() {
                        raw.id = Some(key);
                    }
                    match self.0.node(nodes.len(), raw, true) {
                        Ok(node) => nodes.push(node),
                        Err(e) => {
                            self.0.error = Some(e);
                            return Err(de::Error::custom("invalid node"));
                        }
                    }
                }
                Ok(BuiltNodes { nodes, keyed: true })
            }
        }
        d.deserialize_any(NodesVisitor(self.0))
    }
}

#[derive(Debug, Clone, Default)]
pub struct RawGraph<'a> {
    pub nodes: Option<BuiltNodes>,
    pub edges: Option<ReadEdges<'a>>,
    pub extra: BTreeMap<String, Value>,
}

/// `graph.edges` as read: built while parsing when the vertices came first (as every writer
/// puts them), kept raw until the vertices are known otherwise.
#[derive(Debug, Clone)]
pub enum ReadEdges<'a> {
    Raw(Vec<RawEdge<'a>>),
    Built(BuiltEdges),
}

/// Validated edges and what reading them learned.
#[derive(Debug, Clone, Default)]
pub struct BuiltEdges {
    pub edges: Vec<Edge>,
    pub edge_style: Option<EdgeStyle>,
}

struct GraphSeed<'b, 'f>(&'b mut Builder<'f>);

impl<'de> DeserializeSeed<'de> for GraphSeed<'_, '_> {
    type Value = RawGraph<'de>;
    fn deserialize<D: Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<RawGraph<'de>, D::Error> {
        struct GraphVisitor<'b, 'f>(&'b mut Builder<'f>);
        impl<'de> Visitor<'de> for GraphVisitor<'_, '_> {
            type Value = RawGraph<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a graph object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<RawGraph<'de>, A::Error> {
                let mut g = RawGraph::default();
                while let Some(key) = map.next_key::<Text<'de>>()? {
                    match key.0.as_ref() {
                        "nodes" => g.nodes = Some(map.next_value_seed(NodesSeed(&mut *self.0))?),
                        "edges" => {
                            g.edges = Some(match &g.nodes {
                                Some(built) => {
                                    let seed = StreamEdgesSeed {
                                        builder: &mut *self.0,
                                        nodes: built,
                                    };
                                    ReadEdges::Built(map.next_value_seed(seed)?)
                                }
                                None => ReadEdges::Raw(
                                    map.next_value_seed(EdgesSeed(self.0.expected_nodes))?,
                                ),
                            })
                        }
                        other => {
                            let value: Value = map.next_value()?;
                            g.extra.insert(other.to_owned(), value);
                        }
                    }
                }
                Ok(g)
            }
        }
        d.deserialize_map(GraphVisitor(self.0))
    }
}

/// `graph.edges`, read into a list sized up front like the vertices.
struct EdgesSeed(usize);

impl<'de> DeserializeSeed<'de> for EdgesSeed {
    type Value = Vec<RawEdge<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        struct EdgesVisitor(usize);
        impl<'de> Visitor<'de> for EdgesVisitor {
            type Value = Vec<RawEdge<'de>>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of edges")
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut edges = Vec::with_capacity(seq.size_hint().unwrap_or(self.0));
                while let Some(edge) = seq.next_element::<RawEdge<'de>>()? {
                    edges.push(edge);
                }
                Ok(edges)
            }
        }
        d.deserialize_seq(EdgesVisitor(self.0))
    }
}

/// `graph.edges` validated one by one as they are parsed, against vertices already read.
struct StreamEdgesSeed<'b, 'f, 'n> {
    builder: &'b mut Builder<'f>,
    nodes: &'n BuiltNodes,
}

impl<'de> DeserializeSeed<'de> for StreamEdgesSeed<'_, '_, '_> {
    type Value = BuiltEdges;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<BuiltEdges, D::Error> {
        struct StreamVisitor<'b, 'f, 'n> {
            builder: &'b mut Builder<'f>,
            nodes: &'n BuiltNodes,
        }
        impl<'de> Visitor<'de> for StreamVisitor<'_, '_, '_> {
            type Value = BuiltEdges;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of edges")
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<BuiltEdges, A::Error> {
                let file = self.builder.file;
                let mut edges =
                    match EdgeBuilder::new(self.nodes, file, self.builder.expected_nodes) {
                        Ok(e) => e,
                        Err(err) => {
                            self.builder.error = Some(err);
                            return Err(de::Error::custom("invalid node ids"));
                        }
                    };
                let mut i = 0;
                while let Some(raw) = seq.next_element::<RawEdge<'de>>()? {
                    self.builder.reached(raw.source.as_ref().map(|id| &id.0));
                    if let Err(err) = edges.add(i, raw.into(), &mut self.builder.strings) {
                        self.builder.error = Some(err);
                        return Err(de::Error::custom("invalid edge"));
                    }
                    i += 1;
                }
                Ok(edges.finish())
            }
        }
        d.deserialize_seq(StreamVisitor {
            builder: self.builder,
            nodes: self.nodes,
        })
    }
}

/// `metadata.id` of each vertex, in decimal, where no other vertex shares it.
fn metadata_ids(nodes: &[Node]) -> HashMap<String, usize> {
    let mut out: HashMap<String, usize> = HashMap::new();
    let mut shared = HashSet::new();
    for (i, node) in nodes.iter().enumerate() {
        let key = node.id.to_string();
        if out.insert(key.clone(), i).is_some() {
            shared.insert(key);
        }
    }
    out.retain(|key, _| !shared.contains(key));
    out
}

/// Validates edges against the vertices: endpoints that exist, no self-loops, reverse and
/// duplicate edges dropped, subsystems and relations interned.
pub(super) struct EdgeBuilder<'n> {
    file: Option<&'n str>,
    index: NodeIndex<'n>,
    edges: Vec<Edge>,
    subsystems: Vec<Arc<str>>,
    /// Containment duplicates show as a repeated parent; other subsystems keep a set.
    containment_parent: Vec<usize>,
    seen: HashSet<(usize, usize, usize), FastHash>,
    edge_style: Option<EdgeStyle>,
    /// For vertices keyed by label, each `metadata.id` that one vertex alone has:
    /// compspec-containment's edges name vertices by it. Made on the first unknown id.
    keyed_nodes: Option<&'n [Node]>,
    by_metadata_id: std::cell::OnceCell<HashMap<String, usize>>,
}

impl<'n> EdgeBuilder<'n> {
    pub(super) fn new(
        built: &'n BuiltNodes,
        file: Option<&'n str>,
        expected: usize,
    ) -> Result<Self> {
        let nodes = &built.nodes;
        let index = NodeIndex::build(nodes).map_err(|i| {
            let node = &nodes[i];
            let id = node.jgf_id_at(i);
            let loc = if built.keyed {
                format!("graph.nodes[{id:?}]")
            } else {
                format!("graph.nodes[{i}]")
            };
            Error::jgf(
                file,
                format!("{loc}.id"),
                format!("expected a unique node id, {id:?} appears twice"),
            )
        })?;
        Ok(EdgeBuilder {
            file,
            index,
            edges: Vec::with_capacity(expected),
            subsystems: Vec::new(),
            containment_parent: vec![usize::MAX; nodes.len()],
            seen: HashSet::with_hasher(FastHash),
            edge_style: None,
            keyed_nodes: built.keyed.then_some(&nodes[..]),
            by_metadata_id: std::cell::OnceCell::new(),
        })
    }

    /// Add the edge read `i`th in the list, or drop it when it restates one already added.
    pub(super) fn add(
        &mut self,
        i: usize,
        edge: EdgeText<'_>,
        strings: &mut Interner,
    ) -> Result<()> {
        let source = self.endpoint(i, edge.source.as_ref().map(|id| &*id.0), "source")?;
        let target = self.endpoint(i, edge.target.as_ref().map(|id| &*id.0), "target")?;
        self.link(
            i,
            (source, target),
            edge.style,
            &edge.subsystem,
            &edge.relation,
            strings,
        )
    }

    /// `add` for an edge whose ends are named by canonical decimal ids, given as numbers.
    pub(super) fn add_numbered(
        &mut self,
        i: usize,
        (source, target): (usize, usize),
        style: Option<EdgeStyle>,
        subsystem: &str,
        relation: &str,
        strings: &mut Interner,
    ) -> Result<()> {
        let end = |k: usize, key| match self.index.get_numbered(k) {
            Some(v) => Ok(v),
            None => self.endpoint(i, Some(&k.to_string()), key),
        };
        let ends = (end(source, "source")?, end(target, "target")?);
        self.link(i, ends, style, subsystem, relation, strings)
    }

    /// The position of the node an edge's end names.
    fn endpoint(&self, i: usize, id: Option<&str>, key: &str) -> Result<usize> {
        let file = self.file;
        let loc = || format!("graph.edges[{i}].{key}");
        let id = id.ok_or_else(|| Error::jgf(file, loc(), "expected a node id"))?;
        let by_metadata = || {
            let nodes = self.keyed_nodes?;
            let ids = self.by_metadata_id.get_or_init(|| metadata_ids(nodes));
            ids.get(id).copied()
        };
        self.index.get(id).or_else(by_metadata).ok_or_else(|| {
            Error::jgf(
                file,
                loc(),
                format!("expected the id of a node in graph.nodes, {id:?} is none"),
            )
        })
    }

    /// Add the edge `i` between node positions.
    fn link(
        &mut self,
        i: usize,
        (source, target): (usize, usize),
        style: Option<EdgeStyle>,
        subsystem: &str,
        relation: &str,
        strings: &mut Interner,
    ) -> Result<()> {
        let file = self.file;
        let loc = || format!("graph.edges[{i}]");
        if let Some(style) = style {
            self.edge_style.get_or_insert(style);
        }
        if is_reverse_relation(relation) {
            return Ok(());
        }
        if source == target {
            return Err(Error::jgf(
                file,
                loc(),
                "expected an edge between two different nodes",
            ));
        }
        let sub_index = match self.subsystems.iter().position(|s| **s == *subsystem) {
            Some(k) => k,
            None => {
                self.subsystems.push(strings.get(subsystem));
                self.subsystems.len() - 1
            }
        };
        let duplicate = if &*self.subsystems[sub_index] == CONTAINMENT {
            let known = self.containment_parent[target] == source;
            self.containment_parent[target] = source;
            known
        } else {
            !self.seen.insert((source, target, sub_index))
        };
        if !duplicate {
            self.edges.push(Edge {
                source,
                target,
                subsystem: self.subsystems[sub_index].clone(),
                relation: strings.get(relation),
            });
        }
        Ok(())
    }

    pub(super) fn finish(self) -> BuiltEdges {
        BuiltEdges {
            edges: self.edges,
            edge_style: self.edge_style,
        }
    }
}

struct DocumentSeed<'b, 'f>(&'b mut Builder<'f>);

impl<'de> DeserializeSeed<'de> for DocumentSeed<'_, '_> {
    type Value = Option<RawGraph<'de>>;
    fn deserialize<D: Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Option<RawGraph<'de>>, D::Error> {
        struct DocumentVisitor<'b, 'f>(&'b mut Builder<'f>);
        impl<'de> Visitor<'de> for DocumentVisitor<'_, '_> {
            type Value = Option<RawGraph<'de>>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JGF document (an object with a \"graph\")")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut graph = None;
                while let Some(key) = map.next_key::<Text<'de>>()? {
                    if key.0 == "graph" {
                        graph = Some(map.next_value_seed(GraphSeed(&mut *self.0))?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(graph)
            }
        }
        d.deserialize_map(DocumentVisitor(self.0))
    }
}

/// Relations that only restate a forward edge from the other end.
fn is_reverse_relation(relation: &str) -> bool {
    matches!(relation, "in" | "contained-by" | "containedBy" | "ins")
}

/// Parse and validate JGF text. `file` names the source in errors.
pub fn parse(text: &str, file: Option<&str>) -> Result<Document> {
    parse_bytes(text.as_bytes(), file)
}

/// Parse and validate JGF from bytes (a file read or mapped whole); strings are checked as UTF-8.
pub fn parse_bytes(bytes: &[u8], file: Option<&str>) -> Result<Document> {
    parse_bytes_as(bytes, file, Layout::Tree)
}

/// `parse_bytes` for a graph of the given layout.
pub fn parse_bytes_as(bytes: &[u8], file: Option<&str>, layout: Layout) -> Result<Document> {
    read_bytes(Builder::new(file, layout), bytes)
}

/// `parse_bytes_as` that tells `release` each run of `bytes` it has read past, so that a
/// mapped file can hand those pages back. It may be called from two threads at once.
pub fn parse_bytes_releasing(
    bytes: &[u8],
    file: Option<&str>,
    layout: Layout,
    release: Release<'_>,
) -> Result<Document> {
    let mut builder = Builder::new(file, layout);
    builder.release = Some(release);
    read_bytes(builder, bytes)
}

fn read_bytes(builder: Builder<'_>, bytes: &[u8]) -> Result<Document> {
    let mut builder = builder.for_text(bytes);
    let fresh = builder.beside(0);
    if let Some(graph) = scan(bytes, &mut builder) {
        return validate(Some(graph), builder);
    }
    // Anything the fast path does not take, every error included, is read here from the top.
    read_serde(fresh, bytes)
}

/// The serde reader alone, over the whole text.
pub(super) fn read_serde(mut builder: Builder<'_>, bytes: &[u8]) -> Result<Document> {
    let file = builder.file;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = DocumentSeed(&mut builder)
        .deserialize(&mut de)
        .and_then(|graph| de.end().map(|()| graph));
    match parsed {
        Ok(graph) => validate(graph, builder),
        Err(typed_err) => Err(builder
            .error
            .take()
            .unwrap_or_else(|| locate_error(bytes, file, &typed_err))),
    }
}

/// Parse and validate an already decoded JSON document.
pub fn from_value(value: Value, file: Option<&str>) -> Result<Document> {
    from_value_as(value, file, Layout::Tree)
}

/// `from_value` for a graph of the given layout.
pub fn from_value_as(value: Value, file: Option<&str>, layout: Layout) -> Result<Document> {
    let mut builder = Builder::new(file, layout);
    match DocumentSeed(&mut builder).deserialize(&value) {
        Ok(graph) => validate(graph, builder),
        Err(typed_err) => Err(builder.error.take().unwrap_or_else(|| {
            locate_in_value(&value, file)
                .unwrap_or_else(|| Error::jgf(file, "", format!("not a JGF document: {typed_err}")))
        })),
    }
}

fn properties_of(
    value: Option<Value>,
    loc: &str,
    file: Option<&str>,
) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    match value {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                let text = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                out.insert(k, text);
            }
        }
        Some(Value::Array(list)) => {
            for (i, v) in list.into_iter().enumerate() {
                match v {
                    Value::String(s) => {
                        out.insert(s, String::new());
                    }
                    other => {
                        return Err(Error::jgf(
                            file,
                            format!("{loc}[{i}]"),
                            format!("expected a property name, found {}", json_kind(&other)),
                        ))
                    }
                }
            }
        }
        Some(other) => {
            return Err(Error::jgf(
                file,
                loc,
                format!(
                    "expected an object (or a list of names), found {}",
                    json_kind(&other)
                ),
            ))
        }
    }
    Ok(out)
}

/// A multiply-rotate hasher for the reader's own tables (node ids, edge keys): they are built
/// from the file being read and never exposed, and SipHash was a tenth of the load time.
#[derive(Clone, Copy, Default)]
struct FastHash;

#[derive(Default)]
struct FastHasher(u64);

impl std::hash::BuildHasher for FastHash {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// Resolves edge endpoints to node positions. Most graph files number their nodes with
/// small decimal ids, which a plain array resolves without hashing a string per endpoint.
enum NodeIndex<'n> {
    Dense(Vec<u32>),
    Hashed(HashMap<Cow<'n, str>, usize, FastHash>),
}

pub(super) fn decimal_id(id: &str) -> Option<usize> {
    let canonical = !id.is_empty()
        && id.len() <= 9
        && id.bytes().all(|b| b.is_ascii_digit())
        && (id == "0" || !id.starts_with('0'));
    if canonical {
        id.parse().ok()
    } else {
        None
    }
}

impl<'n> NodeIndex<'n> {
    /// The index, or the position of the first node whose id repeats an earlier one.
    fn build(nodes: &'n [Node]) -> std::result::Result<Self, usize> {
        let limit = nodes.len().saturating_mul(4).max(16);
        let dense: Option<Vec<usize>> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                if n.jgf_id.is_empty() {
                    Some(i)
                } else {
                    decimal_id(&n.jgf_id).filter(|&k| k < limit)
                }
            })
            .collect();
        if let Some(ids) = dense {
            let mut table = vec![u32::MAX; ids.iter().copied().max().map_or(0, |m| m + 1)];
            for (i, &k) in ids.iter().enumerate() {
                if table[k] != u32::MAX {
                    return Err(i);
                }
                table[k] = i as u32;
            }
            return Ok(NodeIndex::Dense(table));
        }
        let mut index: HashMap<Cow<'n, str>, usize, FastHash> =
            HashMap::with_capacity_and_hasher(nodes.len(), FastHash);
        for (i, node) in nodes.iter().enumerate() {
            if index.insert(node.jgf_id_at(i), i).is_some() {
                return Err(i);
            }
        }
        Ok(NodeIndex::Hashed(index))
    }

    fn get(&self, id: &str) -> Option<usize> {
        match self {
            NodeIndex::Dense(table) => decimal_id(id)
                .and_then(|k| table.get(k))
                .filter(|&&i| i != u32::MAX)
                .map(|&i| i as usize),
            NodeIndex::Hashed(index) => index.get(id).copied(),
        }
    }

    /// `get` for a canonical decimal id given as its number: `None` when only `get` can tell.
    fn get_numbered(&self, k: usize) -> Option<usize> {
        match self {
            NodeIndex::Dense(table) => table
                .get(k)
                .filter(|&&i| i != u32::MAX)
                .map(|&i| i as usize),
            NodeIndex::Hashed(_) => None,
        }
    }
}

/// Shares one allocation among the many vertices or edges that repeat a string.
#[derive(Default)]
pub(super) struct Interner {
    table: HashMap<String, Arc<str>, FastHash>,
    /// The last two strings asked for, the latest first: vertices and edges come in runs of
    /// one type and unit, or one relation.
    recent: [Option<Arc<str>>; 2],
}

impl Interner {
    pub(super) fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.recent.iter().flatten().find(|a| ***a == *s) {
            return a.clone();
        }
        let a = match self.table.get(s) {
            Some(a) => a.clone(),
            None => {
                let a: Arc<str> = Arc::from(s);
                self.table.insert(s.to_owned(), a.clone());
                a
            }
        };
        self.recent[1] = self.recent[0].replace(a.clone());
        a
    }
}

pub(super) fn validate(graph: Option<RawGraph<'_>>, builder: Builder<'_>) -> Result<Document> {
    let Builder {
        file,
        layout,
        mut strings,
        expected_nodes,
        ..
    } = builder;
    let graph = graph.ok_or_else(|| Error::jgf(file, "graph", "expected a \"graph\" object"))?;
    let built = graph
        .nodes
        .ok_or_else(|| Error::jgf(file, "graph.nodes", "expected a list of nodes"))?;
    let read_edges = graph.edges.ok_or_else(|| {
        Error::jgf(
            file,
            "graph.edges",
            "expected a list of edges (it may be empty)",
        )
    })?;
    if built.nodes.is_empty() {
        return Err(Error::jgf(
            file,
            "graph.nodes",
            "expected at least one node",
        ));
    }
    let BuiltEdges { edges, edge_style } = match read_edges {
        ReadEdges::Built(b) => b,
        ReadEdges::Raw(raw) => {
            let mut builder = EdgeBuilder::new(&built, file, expected_nodes)?;
            for (i, edge) in raw.into_iter().enumerate() {
                builder.add(i, edge.into(), &mut strings)?;
            }
            builder.finish()
        }
    };
    let keyed = built.keyed;
    let mut nodes = built.nodes;
    let mut edges = edges;
    if layout == Layout::Forest {
        root_forest(&mut nodes, &mut edges, &mut strings);
    }
    let root = containment_root(&nodes, &edges, file)?;
    check_size_totals(&nodes, file)?;
    let mut doc = Document {
        nodes,
        edges,
        keyed,
        edge_style: edge_style.unwrap_or_default(),
        graph_extra: graph.extra,
        root,
    };
    fill_missing_paths(&mut doc);
    Ok(doc)
}
