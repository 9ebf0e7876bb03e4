//! Reading and writing JSON Graph Format resource graphs as Fluxion and compspec write them:
//! typed parsing, validation with precise locations, and serialization back to JGF.
//!
//! Graph files run to hundreds of megabytes, so the reader borrows strings from the text
//! wherever it can and interns the repetitive ones (types, units, subsystems).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

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
    pub paths: Option<RawPaths<'de>>,
    /// compspec's `containment: {paths: "/spack0/package0"}`.
    pub containment: Option<Value>,
    pub properties: Option<Value>,
    pub status: Option<Status>,
    pub attributes: Option<Value>,
    pub extra: BTreeMap<String, Value>,
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
                        "paths" => m.paths = map.next_value()?,
                        "containment" => m.containment = map.next_value()?,
                        "properties" => m.properties = map.next_value()?,
                        "status" => m.status = map.next_value()?,
                        "attributes" => m.attributes = map.next_value()?,
                        other => {
                            let value: Value = map.next_value()?;
                            m.extra.insert(other.to_owned(), value);
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

/// State carried through one parse: the file for errors, the string interner, and the first
/// validation error met while vertices were being built as they streamed past.
pub struct Builder<'f> {
    file: Option<&'f str>,
    layout: Layout,
    strings: Interner,
    error: Option<Error>,
    /// A guess at the number of vertices, from the size of the text, so that the vertex
    /// list is not copied over and over as it grows.
    expected_nodes: usize,
}

impl<'f> Builder<'f> {
    fn new(file: Option<&'f str>, layout: Layout) -> Self {
        Builder {
            file,
            layout,
            expected_nodes: 0,
            strings: Interner::default(),
            error: None,
        }
    }

    /// Turn one raw node into a vertex with Fluxion's defaults applied.
    fn node(&mut self, i: usize, raw: RawNode<'_>, keyed: bool) -> Result<Node> {
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
        let name = match meta.name {
            Some(n) => n.0.into_owned(),
            None => format!("{basename}{id}"),
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
        let properties = match meta.properties {
            None => BTreeMap::new(),
            given => properties_of(given, &format!("{}.metadata.properties", loc()), file)?,
        };
        let (mut path, other_paths) = match meta.paths {
            Some(p) => (
                p.containment.map(|c| c.0.into_owned()).unwrap_or_default(),
                p.other,
            ),
            None => (String::new(), Vec::new()),
        };
        let mut extra = meta.extra;
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
        match meta.containment {
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
            other_paths,
            properties,
            attributes: meta.attributes,
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
                    if let Err(err) = edges.add(i, raw, &mut self.builder.strings) {
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
struct EdgeBuilder<'n> {
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
    fn new(built: &'n BuiltNodes, file: Option<&'n str>, expected: usize) -> Result<Self> {
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

    fn add(&mut self, i: usize, raw: RawEdge<'_>, strings: &mut Interner) -> Result<()> {
        let file = self.file;
        let loc = || format!("graph.edges[{i}]");
        let index = &self.index;
        let (keyed_nodes, by_metadata_id) = (self.keyed_nodes, &self.by_metadata_id);
        let endpoint = |id: Option<NodeId>, key: &str| -> Result<usize> {
            let id = id.ok_or_else(|| {
                Error::jgf(file, format!("{}.{key}", loc()), "expected a node id")
            })?;
            let found = index.get(id.0.as_ref());
            let by_metadata = || {
                let nodes = keyed_nodes?;
                let ids = by_metadata_id.get_or_init(|| metadata_ids(nodes));
                ids.get(id.0.as_ref()).copied()
            };
            found.or_else(by_metadata).ok_or_else(|| {
                Error::jgf(
                    file,
                    format!("{}.{key}", loc()),
                    format!(
                        "expected the id of a node in graph.nodes, {:?} is none",
                        id.0
                    ),
                )
            })
        };
        let source = endpoint(raw.source, "source")?;
        let target = endpoint(raw.target, "target")?;
        let meta = raw.metadata.unwrap_or_default();
        let relation_given = raw.relation.map(|r| r.0);
        let (subsystem, relation): (Cow<str>, Cow<str>) = match (meta.subsystem, meta.name) {
            (Some(sub), _) => {
                self.edge_style.get_or_insert(EdgeStyle::Subsystem);
                (sub.0, relation_given.unwrap_or(Cow::Borrowed("contains")))
            }
            (None, Some((sub, rel))) => {
                self.edge_style.get_or_insert(EdgeStyle::Named);
                (sub.0, relation_given.unwrap_or(rel.0))
            }
            (None, None) => (
                Cow::Borrowed(CONTAINMENT),
                relation_given.unwrap_or(Cow::Borrowed("contains")),
            ),
        };
        if is_reverse_relation(&relation) {
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
                self.subsystems.push(strings.get(&subsystem));
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
                relation: strings.get(&relation),
            });
        }
        Ok(())
    }

    fn finish(self) -> BuiltEdges {
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

/// Relations that only restate a forward edge from the other end.
fn is_reverse_relation(relation: &str) -> bool {
    matches!(relation, "in" | "contained-by" | "containedBy" | "ins")
}

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
    let mut builder = Builder::new(file, layout);
    // A vertex and its edge take some 340 bytes of JGF as Fluxion and fractale write them.
    builder.expected_nodes = bytes.len() / 340;
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

/// The typed parse failed: find where, by walking the generic JSON value.
fn locate_error(bytes: &[u8], file: Option<&str>, typed_err: &serde_json::Error) -> Error {
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

fn json_kind(v: &Value) -> &'static str {
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
fn locate_in_value(value: &Value, file: Option<&str>) -> Option<Error> {
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
                format!("expected an object, found {}", json_kind(&other)),
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

fn decimal_id(id: &str) -> Option<usize> {
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
}

/// Shares one allocation among the many vertices or edges that repeat a string.
#[derive(Default)]
struct Interner {
    table: HashMap<String, Arc<str>, FastHash>,
    /// The last string asked for: vertices and edges come in runs of one type or relation.
    last: Option<Arc<str>>,
}

impl Interner {
    fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(last) = &self.last {
            if **last == *s {
                return last.clone();
            }
        }
        let a = match self.table.get(s) {
            Some(a) => a.clone(),
            None => {
                let a: Arc<str> = Arc::from(s);
                self.table.insert(s.to_owned(), a.clone());
                a
            }
        };
        self.last = Some(a.clone());
        a
    }
}

fn validate(graph: Option<RawGraph<'_>>, builder: Builder<'_>) -> Result<Document> {
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
                builder.add(i, edge, &mut strings)?;
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

/// Join a forest of containment trees into one tree (see `Layout::Forest`). A vertex with
/// two parents or a cycle is left for `containment_root` to report.
fn root_forest(nodes: &mut Vec<Node>, edges: &mut Vec<Edge>, strings: &mut Interner) {
    let n = nodes.len();
    let mut parent: Vec<Option<usize>> = vec![None; n];
    for e in edges.iter().filter(|e| &*e.subsystem == CONTAINMENT) {
        parent[e.target].get_or_insert(e.source);
    }
    let roots: Vec<usize> = (0..n).filter(|&v| parent[v].is_none()).collect();
    if roots.len() < 2 {
        return;
    }
    let (containment, contains) = (strings.get(CONTAINMENT), strings.get("contains"));
    let mut by_path: HashMap<&str, usize> = HashMap::new();
    for (v, node) in nodes.iter().enumerate() {
        if !node.path.is_empty() {
            by_path.entry(node.path.as_str()).or_insert(v);
        }
    }
    let mut hung = Vec::new();
    for &r in &roots {
        let above = match nodes[r].path.rsplit_once('/') {
            Some((above, _)) if !above.is_empty() => above,
            _ => continue,
        };
        let Some(&p) = by_path.get(above) else {
            continue;
        };
        // Hanging r under a vertex of its own subtree would make a cycle.
        let mut at = Some(p);
        while let Some(v) = at {
            if v == r {
                break;
            }
            at = parent[v];
        }
        if at.is_none() {
            parent[r] = Some(p);
            hung.push((p, r));
        }
    }
    for (source, target) in hung {
        edges.push(Edge {
            source,
            target,
            subsystem: containment.clone(),
            relation: contains.clone(),
        });
    }
    let apart: Vec<usize> = roots.into_iter().filter(|&v| parent[v].is_none()).collect();
    if apart.len() < 2 {
        return;
    }
    // One root over the trees still apart, named after the first part of their paths when
    // they share it (`spack0`), else `software0`.
    let first = |v: usize| nodes[v].path.split('/').nth(1).unwrap_or("").to_owned();
    let shared = first(apart[0]);
    let name = if !shared.is_empty() && apart.iter().all(|&v| first(v) == shared) {
        shared
    } else {
        "software0".to_owned()
    };
    let taken: HashSet<String> = nodes
        .iter()
        .enumerate()
        .map(|(i, node)| node.jgf_id_at(i).into_owned())
        .collect();
    let mut jgf_id = format!("{name}-root");
    while taken.contains(&jgf_id) {
        jgf_id.push('_');
    }
    let id = nodes.iter().map(|node| node.id).max().unwrap_or(0) + 1;
    let software = strings.get("software");
    let root = nodes.len();
    nodes.push(Node {
        jgf_id,
        kind: software.clone(),
        basename: software,
        name: name.clone(),
        id,
        uniq_id: id,
        rank: -1,
        exclusive: false,
        unit: strings.get(""),
        size: 1,
        path: format!("/{name}"),
        status: Status::Up,
        extras: None,
    });
    for target in apart {
        edges.push(Edge {
            source: root,
            target,
            subsystem: containment.clone(),
            relation: contains.clone(),
        });
    }
}

/// Every per-type total the graph keeps (a subtree's cores, the cluster's memory) must be a
/// count a 64-bit integer holds; the whole graph's total per type bounds them all.
fn check_size_totals(nodes: &[Node], file: Option<&str>) -> Result<()> {
    let mut totals: HashMap<&str, u64> = HashMap::new();
    for (i, node) in nodes.iter().enumerate() {
        let total = totals.entry(&node.kind).or_insert(0);
        *total = total.checked_add(node.size).ok_or_else(|| {
            Error::jgf(
                file,
                format!("graph.nodes[{i}].metadata.size"),
                format!(
                    "expected the sizes of all {} vertices to add up to at most 2**64-1",
                    node.kind
                ),
            )
        })?;
    }
    Ok(())
}

/// Check that containment edges form one tree and return its root.
fn containment_root(nodes: &[Node], edges: &[Edge], file: Option<&str>) -> Result<usize> {
    let n = nodes.len();
    let mut parent: Vec<Option<usize>> = vec![None; n];
    let mut in_containment = vec![false; n];
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, e) in edges.iter().enumerate() {
        if &*e.subsystem != CONTAINMENT {
            continue;
        }
        in_containment[e.source] = true;
        in_containment[e.target] = true;
        if let Some(p) = parent[e.target] {
            return Err(Error::jgf(
                file,
                format!("graph.edges[{i}]"),
                format!(
                    "expected one containment parent per vertex, {} is contained by both {} and {}",
                    nodes[e.target].name, nodes[p].name, nodes[e.source].name
                ),
            ));
        }
        parent[e.target] = Some(e.source);
        children[e.source].push(e.target);
    }
    let edge_count = edges
        .iter()
        .filter(|e| &*e.subsystem == CONTAINMENT)
        .count();
    let roots: Vec<usize> = if edge_count == 0 {
        (0..n).collect()
    } else {
        (0..n)
            .filter(|&v| in_containment[v] && parent[v].is_none())
            .collect()
    };
    let root = match roots.as_slice() {
        [only] => *only,
        [] => {
            return Err(Error::jgf(
                file,
                "graph.edges",
                "expected a containment tree with one root, the containment edges form a cycle",
            ))
        }
        many => {
            let names: Vec<&str> = many
                .iter()
                .take(4)
                .map(|&v| nodes[v].name.as_str())
                .collect();
            return Err(Error::jgf(
                file,
                "graph.edges",
                format!(
                    "expected a containment tree with one root, found {} roots ({}{})",
                    many.len(),
                    names.join(", "),
                    if many.len() > 4 { ", ..." } else { "" }
                ),
            ));
        }
    };
    // Every contained vertex must be reachable from the root, or a cycle hides it.
    let mut reached = 0usize;
    let mut stack = vec![root];
    let mut visited = vec![false; n];
    visited[root] = true;
    while let Some(v) = stack.pop() {
        reached += 1;
        for &c in &children[v] {
            if !visited[c] {
                visited[c] = true;
                stack.push(c);
            }
        }
    }
    let expected = if edge_count == 0 {
        1
    } else {
        in_containment.iter().filter(|&&b| b).count()
    };
    if reached != expected {
        let stray = (0..n)
            .find(|&v| in_containment[v] && !visited[v])
            .map(|v| nodes[v].name.clone())
            .unwrap_or_default();
        return Err(Error::jgf(
            file,
            "graph.edges",
            format!("expected a containment tree, {stray} sits on a containment cycle"),
        ));
    }
    Ok(root)
}

/// Vertices without `paths.containment` get the path their place in the tree implies.
fn fill_missing_paths(doc: &mut Document) {
    if doc.nodes.iter().all(|n| !n.path.is_empty()) {
        return;
    }
    let n = doc.nodes.len();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    for e in doc.edges.iter().filter(|e| &*e.subsystem == CONTAINMENT) {
        children[e.source].push(e.target);
    }
    let mut stack = vec![(doc.root, String::new())];
    while let Some((v, prefix)) = stack.pop() {
        if doc.nodes[v].path.is_empty() {
            doc.nodes[v].path = format!("{prefix}/{}", doc.nodes[v].name);
        }
        let path = doc.nodes[v].path.clone();
        for &c in &children[v] {
            stack.push((c, path.clone()));
        }
    }
}

/// Serialize nodes and edges back to a JGF document in the form they were read.
pub fn to_value(doc: &Document) -> Value {
    let node_value = |position: usize, node: &Node| -> Value {
        let mut meta = Map::new();
        meta.insert("type".into(), Value::String(node.kind.to_string()));
        meta.insert("basename".into(), Value::String(node.basename.to_string()));
        meta.insert("name".into(), Value::String(node.name.clone()));
        meta.insert("id".into(), Value::from(node.id));
        meta.insert("uniq_id".into(), Value::from(node.uniq_id));
        meta.insert("rank".into(), Value::from(node.rank));
        meta.insert("exclusive".into(), Value::Bool(node.exclusive));
        meta.insert("unit".into(), Value::String(node.unit.to_string()));
        meta.insert("size".into(), Value::from(node.size));
        let mut paths = Map::new();
        if !node.path.is_empty() {
            paths.insert(CONTAINMENT.into(), Value::String(node.path.clone()));
        }
        let extras = node.extras.as_deref();
        for (k, v) in extras.map_or(&[][..], |e| &e.other_paths[..]) {
            paths.insert(k.clone(), Value::String(v.clone()));
        }
        meta.insert("paths".into(), Value::Object(paths));
        if !node.properties().is_empty() {
            let props: Map<String, Value> = node
                .properties()
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            meta.insert("properties".into(), Value::Object(props));
        }
        if node.status == Status::Down {
            meta.insert("status".into(), Value::from(1));
        }
        if let Some(e) = extras {
            if let Some(attrs) = &e.attributes {
                meta.insert("attributes".into(), attrs.clone());
            }
            for (k, v) in &e.extra {
                meta.insert(k.clone(), v.clone());
            }
        }
        let mut obj = Map::new();
        obj.insert(
            "id".into(),
            Value::String(node.jgf_id_at(position).into_owned()),
        );
        if let Some(label) = extras.and_then(|e| e.label.as_ref()) {
            obj.insert("label".into(), Value::String(label.clone()));
        }
        obj.insert("metadata".into(), Value::Object(meta));
        Value::Object(obj)
    };
    let nodes = if doc.keyed {
        Value::Object(
            doc.nodes
                .iter()
                .enumerate()
                .map(|(i, n)| (n.jgf_id_at(i).into_owned(), node_value(i, n)))
                .collect(),
        )
    } else {
        Value::Array(
            doc.nodes
                .iter()
                .enumerate()
                .map(|(i, n)| node_value(i, n))
                .collect(),
        )
    };
    let edges: Vec<Value> = doc
        .edges
        .iter()
        .map(|e| {
            let mut obj = Map::new();
            obj.insert(
                "source".into(),
                Value::String(doc.nodes[e.source].jgf_id_at(e.source).into_owned()),
            );
            obj.insert(
                "target".into(),
                Value::String(doc.nodes[e.target].jgf_id_at(e.target).into_owned()),
            );
            let mut meta = Map::new();
            match doc.edge_style {
                EdgeStyle::Named => {
                    let mut name = Map::new();
                    name.insert(
                        e.subsystem.to_string(),
                        Value::String(e.relation.to_string()),
                    );
                    meta.insert("name".into(), Value::Object(name));
                }
                EdgeStyle::Subsystem => {
                    obj.insert("relation".into(), Value::String(e.relation.to_string()));
                    meta.insert("subsystem".into(), Value::String(e.subsystem.to_string()));
                }
            }
            obj.insert("metadata".into(), Value::Object(meta));
            Value::Object(obj)
        })
        .collect();
    let mut graph = Map::new();
    for (k, v) in &doc.graph_extra {
        graph.insert(k.clone(), v.clone());
    }
    graph.insert("nodes".into(), nodes);
    graph.insert("edges".into(), Value::Array(edges));
    let mut top = Map::new();
    top.insert("graph".into(), Value::Object(graph));
    Value::Object(top)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: &str = r#"{"graph": {"nodes": [
        {"id": "0", "metadata": {"type": "cluster", "name": "c0", "id": 0, "paths": {"containment": "/c0"}}},
        {"id": "1", "metadata": {"type": "node", "basename": "node", "id": 0, "rank": 3, "paths": {"containment": "/c0/node0"}, "properties": {"ssd": "true"}}},
        {"id": "2", "metadata": {"type": "memory", "id": 0, "size": 16, "unit": "GB", "status": 1, "paths": {"containment": "/c0/node0/memory0"}}}
      ], "edges": [
        {"source": "0", "target": "1", "metadata": {"name": {"containment": "contains"}}},
        {"source": "1", "target": "0", "metadata": {"name": {"containment": "in"}}},
        {"source": "1", "target": "2", "metadata": {"name": {"containment": "contains"}}}
      ]}}"#;

    #[test]
    fn reads_fluxion_nodes_and_ignores_reverse_edges() {
        let doc = parse(TINY, Some("tiny.json")).unwrap();
        assert_eq!(doc.nodes.len(), 3);
        assert_eq!(doc.edges.len(), 2);
        assert_eq!(doc.root, 0);
        assert_eq!(doc.nodes[1].name, "node0");
        assert_eq!(doc.nodes[1].rank, 3);
        assert_eq!(doc.nodes[2].size, 16);
        assert_eq!(doc.nodes[2].status, Status::Down);
        assert_eq!(
            doc.nodes[1].properties().get("ssd").map(String::as_str),
            Some("true")
        );
    }

    #[test]
    fn reads_nodes_keyed_by_id_as_jgf_v2() {
        let text = r#"{"graph": {"nodes": {
            "a": {"metadata": {"type": "cluster", "paths": {"containment": "/cluster0"}}},
            "b": {"metadata": {"type": "node", "paths": {"containment": "/cluster0/node1"}}}
          }, "edges": [{"source": "a", "target": "b", "relation": "contains", "metadata": {"subsystem": "containment"}}]}}"#;
        let doc = parse(text, None).unwrap();
        assert!(doc.keyed);
        assert_eq!(doc.edge_style, EdgeStyle::Subsystem);
        assert_eq!(doc.nodes[doc.root].jgf_id, "a");
    }

    #[test]
    fn missing_type_is_reported_with_its_location() {
        let text = r#"{"graph": {"nodes": [{"id": "0", "metadata": {"paths": {}}}], "edges": []}}"#;
        let err = parse(text, Some("g.json")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "g.json: graph.nodes[0].metadata.type: expected a resource type (a string)"
        );
    }

    #[test]
    fn wrong_json_type_is_reported_with_its_location() {
        let text = r#"{"graph": {"nodes": [{"id": "0", "metadata": {"type": "node"}}, {"id": "1", "metadata": {"type": 7}}], "edges": []}}"#;
        let err = parse(text, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "graph.nodes[1].metadata.type: expected a string, found a number"
        );
    }

    #[test]
    fn edge_to_unknown_node_is_rejected() {
        let text = r#"{"graph": {"nodes": [{"id": "0", "metadata": {"type": "node"}}], "edges": [{"source": "0", "target": "9"}]}}"#;
        let err = parse(text, None).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("graph.edges[0].target: expected the id of a node"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_ids_are_rejected() {
        let text = r#"{"graph": {"nodes": [{"id": "0", "metadata": {"type": "a"}}, {"id": "0", "metadata": {"type": "b"}}], "edges": []}}"#;
        let err = parse(text, None).unwrap_err();
        assert!(
            err.to_string()
                .contains("graph.nodes[1].id: expected a unique node id"),
            "{err}"
        );
    }

    #[test]
    fn two_roots_are_rejected() {
        let text = r#"{"graph": {"nodes": [{"id": "0", "metadata": {"type": "a"}}, {"id": "1", "metadata": {"type": "b"}}, {"id": "2", "metadata": {"type": "c"}}, {"id": "3", "metadata": {"type": "d"}}],
           "edges": [{"source": "0", "target": "1"}, {"source": "2", "target": "3"}]}}"#;
        let err = parse(text, None).unwrap_err();
        assert!(err.to_string().contains("found 2 roots"), "{err}");
    }

    #[test]
    fn two_parents_are_rejected() {
        let text = r#"{"graph": {"nodes": [{"id": "0", "metadata": {"type": "a"}}, {"id": "1", "metadata": {"type": "b"}}, {"id": "2", "metadata": {"type": "c"}}],
           "edges": [{"source": "0", "target": "1"}, {"source": "0", "target": "2"}, {"source": "1", "target": "2"}]}}"#;
        let err = parse(text, None).unwrap_err();
        assert!(err.to_string().contains("one containment parent"), "{err}");
    }

    #[test]
    fn a_cycle_is_rejected() {
        let text = r#"{"graph": {"nodes": [{"id": "0", "metadata": {"type": "a"}}, {"id": "1", "metadata": {"type": "b"}}, {"id": "2", "metadata": {"type": "c"}}],
           "edges": [{"source": "0", "target": "1"}, {"source": "1", "target": "2"}, {"source": "2", "target": "1"}]}}"#;
        assert!(parse(text, None).is_err());
    }

    #[test]
    fn edges_before_nodes_are_read_alike() {
        let text = r#"{"graph": {"edges": [{"source": "0", "target": "1"}],
            "nodes": [{"id": "0", "metadata": {"type": "cluster"}}, {"id": "1", "metadata": {"type": "node"}}]}}"#;
        let doc = parse(text, None).unwrap();
        assert_eq!(doc.edges.len(), 1);
        assert_eq!(doc.root, 0);
        let bad = r#"{"graph": {"edges": [{"source": "0", "target": "5"}], "nodes": [{"id": "0", "metadata": {"type": "a"}}]}}"#;
        let err = parse(bad, None).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("graph.edges[0].target: expected the id of a node"),
            "{err}"
        );
    }

    #[test]
    fn missing_edges_list_is_rejected() {
        let err = parse(
            r#"{"graph": {"nodes": [{"id": "0", "metadata": {"type": "a"}}]}}"#,
            None,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "graph.edges: expected a list of edges (it may be empty)"
        );
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let err = parse("{\"graph\": {\n  \"nodes\": [,]}}", Some("bad.json")).unwrap_err();
        assert!(
            err.to_string().starts_with("bad.json: line 2 column"),
            "{err}"
        );
    }

    /// A software graph as compspec-spack writes it: vertices keyed by label, paths under
    /// `containment.paths`, `contains`/`in` pairs, and packages linked to no root.
    const COMPSPEC_SPACK: &str = r#"{"graph": {"nodes": {
        "software0": {"label": "software0", "metadata": {"type": "software", "basename": "software", "name": "software0", "id": 0, "containment": {"paths": "/spack0"}}},
        "package1": {"label": "package1", "metadata": {"type": "package", "basename": "package", "name": "package0", "id": 1, "containment": {"paths": "/spack0/package0"}, "attributes": {"name": "curl", "version": "8.4.0"}}},
        "binary2": {"label": "binary2", "metadata": {"type": "binary", "basename": "binary", "name": "binary0", "id": 2, "containment": {"paths": "/spack0/package1/binary0"}, "attributes": {"name": "curl"}}},
        "package3": {"label": "package3", "metadata": {"type": "package", "basename": "package", "name": "package1", "id": 3, "containment": {"paths": "/spack0/package1"}, "attributes": {"name": "zlib", "version": "1.3"}}},
        "library4": {"label": "library4", "metadata": {"type": "library", "basename": "library", "name": "library0", "id": 4, "containment": {"paths": "/spack0/package3/library0"}, "attributes": {"name": "libz.so.1"}}}},
        "edges": [
        {"source": "package1", "target": "binary2", "metadata": {"name": {"containment": "contains"}}},
        {"source": "binary2", "target": "package1", "metadata": {"name": {"containment": "in"}}},
        {"source": "package3", "target": "library4", "metadata": {"name": {"containment": "contains"}}},
        {"source": "library4", "target": "package3", "metadata": {"name": {"containment": "in"}}}]}}"#;

    #[test]
    fn compspec_containment_paths_are_read() {
        let text = r#"{"graph": {"nodes": {
            "cluster0": {"metadata": {"type": "cluster", "containment": {"paths": "/cluster0"}}},
            "node1": {"metadata": {"type": "node", "containment": {"paths": "/cluster0/node0"}}}},
            "edges": [{"source": "cluster0", "target": "node1", "metadata": {"name": {"containment": "contains"}}},
                      {"source": "node1", "target": "cluster0", "metadata": {"name": {"containment": "in"}}}]}}"#;
        let doc = parse(text, None).unwrap();
        assert_eq!(doc.nodes[1].path, "/cluster0/node0");
        assert_eq!(doc.edges.len(), 1);
        assert!(
            doc.nodes[1].extras.is_none(),
            "containment.paths is not kept as extra"
        );
    }

    #[test]
    fn compspec_containment_edges_may_name_vertices_by_metadata_id() {
        // compspec-containment keys vertices by label and names them by id in its edges.
        let text = r#"{"graph": {"nodes": {
            "cluster0": {"metadata": {"type": "cluster", "id": 0, "containment": {"paths": {"containment": "/cluster0"}}}},
            "node1": {"metadata": {"type": "node", "id": 1, "containment": {"paths": {"containment": "/cluster0/node0"}}}}},
            "edges": [{"source": "0", "target": "1"}]}}"#;
        let doc = parse(text, None).unwrap();
        assert_eq!((doc.edges[0].source, doc.edges[0].target), (0, 1));
        assert_eq!(doc.nodes[1].path, "/cluster0/node0");
    }

    #[test]
    fn a_compspec_software_forest_is_a_tree_under_its_subsystem_root() {
        let err = parse(COMPSPEC_SPACK, None).unwrap_err();
        assert!(err.to_string().contains("found 2 roots"), "{err}");
        let doc = parse_bytes_as(COMPSPEC_SPACK.as_bytes(), None, Layout::Forest).unwrap();
        assert_eq!(
            doc.nodes.len(),
            5,
            "no vertex is made when the paths name the root"
        );
        assert_eq!(doc.nodes[doc.root].name, "software0");
        let parent_of = |name: &str| {
            let v = doc.nodes.iter().position(|n| n.name == name).unwrap();
            let e = doc.edges.iter().find(|e| e.target == v).unwrap();
            doc.nodes[e.source].name.clone()
        };
        assert_eq!(parent_of("package0"), "software0");
        assert_eq!(parent_of("package1"), "software0");
        assert_eq!(parent_of("binary0"), "package0");
    }

    #[test]
    fn a_forest_without_a_root_vertex_gets_one() {
        let text = COMPSPEC_SPACK.replace(
            r#""software0": {"label": "software0", "metadata": {"type": "software", "basename": "software", "name": "software0", "id": 0, "containment": {"paths": "/spack0"}}},"#,
            "",
        );
        let doc = parse_bytes_as(text.as_bytes(), None, Layout::Forest).unwrap();
        assert_eq!(doc.nodes.len(), 5);
        let root = &doc.nodes[doc.root];
        assert_eq!(
            (&*root.kind, root.name.as_str(), root.path.as_str()),
            ("software", "spack0", "/spack0")
        );
        assert_eq!(doc.edges.iter().filter(|e| e.source == doc.root).count(), 2);
    }

    #[test]
    fn a_forest_still_refuses_two_parents() {
        let text = r#"{"graph": {"nodes": [{"id": "0", "metadata": {"type": "a"}}, {"id": "1", "metadata": {"type": "b"}}, {"id": "2", "metadata": {"type": "c"}}],
           "edges": [{"source": "0", "target": "2"}, {"source": "1", "target": "2"}]}}"#;
        let err = parse_bytes_as(text.as_bytes(), None, Layout::Forest).unwrap_err();
        assert!(err.to_string().contains("one containment parent"), "{err}");
    }

    #[test]
    fn missing_paths_are_derived_from_the_tree() {
        let text = r#"{"graph": {"nodes": [{"id": "0", "metadata": {"type": "cluster", "name": "c"}}, {"id": "1", "metadata": {"type": "node", "name": "n1"}}],
           "edges": [{"source": "0", "target": "1"}]}}"#;
        let doc = parse(text, None).unwrap();
        assert_eq!(Some(doc.nodes[1].path.as_str()), Some("/c/n1"));
    }

    #[test]
    fn writing_back_round_trips() {
        let doc = parse(TINY, None).unwrap();
        let again = from_value(to_value(&doc), None).unwrap();
        assert_eq!(doc, again);
    }
}
