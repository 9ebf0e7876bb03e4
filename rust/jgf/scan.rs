//! The reader's fast path. JGF as its writers give it (`{"graph": {"nodes": [...], "edges":
//! [...]}}`, vertices and edges of the usual keys with plain values) is scanned byte by byte
//! into the serde reader's own raw vertices and edges, with no intermediate values and every
//! string borrowed from the text; a large text is scanned on two threads. A vertex or edge of
//! another shape is read by the serde reader's types alone. An error, or a document of any
//! other shape, makes the scan give up (`None`) and leaves the whole text to the serde reader,
//! so that every message and location stays the serde reader's.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::de::IgnoredAny;
use serde_json::Value;

use super::model::{EdgeStyle, Node, Status, CONTAINMENT};
use super::read::{
    decimal_id, Builder, BuiltNodes, EdgeBuilder, EdgeText, NodeId, RawEdge, RawEdgeMetadata,
    RawGraph, RawMetadata, RawNode, RawPaths, ReadEdges, Text,
};

/// Values nested deeper than this are left to the serde reader, whose limit (128 levels)
/// counts from the top of the document.
const MAX_DEPTH: usize = 100;
/// Texts at least this long are scanned on two threads.
const SPLIT_FROM_BYTES: usize = 8 << 20;
/// How far past the middle of the lists the second thread looks for a vertex or edge to
/// start at.
const SPLIT_SEARCH_BYTES: usize = 1 << 20;

/// Scan `text` as the serde reader would read it; `None` when it must read it itself.
pub(super) fn scan<'a>(text: &'a [u8], builder: &mut Builder<'_>) -> Option<RawGraph<'a>> {
    let mut c = Cursor { text, at: 0 };
    c.expect(b'{')?;
    let mut graph = None;
    loop {
        let key = c.key()?;
        if key == b"graph" {
            if graph.is_some() {
                return None;
            }
            graph = Some(graph_object(&mut c, builder)?);
        } else {
            std::str::from_utf8(key).ok()?;
            serde_json::from_slice::<IgnoredAny>(c.value()?).ok()?;
        }
        match c.next()? {
            b',' => {}
            b'}' => break,
            _ => return None,
        }
    }
    c.skip_space();
    if c.at != text.len() {
        return None;
    }
    graph
}

/// The `graph` object: its lists, with any other key kept as the serde reader keeps it.
fn graph_object<'a>(c: &mut Cursor<'a>, builder: &mut Builder<'_>) -> Option<RawGraph<'a>> {
    c.expect(b'{')?;
    let mut extra = BTreeMap::new();
    let mut read: Option<Part<'a>> = None;
    loop {
        let key = c.key()?;
        match (key, read.as_mut()) {
            (b"nodes", None) => {
                c.expect(b'[')?;
                read = Some(lists(c, builder)?);
            }
            (b"edges", Some(part)) if part.place == Place::AfterNodes => {
                c.expect(b'[')?;
                part.place = Place::Edges;
                if run(c, builder, part, 0, true, None, None) != Outcome::Ended {
                    return None;
                }
            }
            (b"nodes" | b"edges", _) => return None,
            (other, _) => {
                let other = std::str::from_utf8(other).ok()?;
                let value = serde_json::from_slice::<Value>(c.value()?).ok()?;
                extra.insert(other.to_owned(), value);
            }
        }
        match c.next()? {
            b',' => {}
            b'}' => break,
            _ => return None,
        }
    }
    let part = read.filter(|p| p.place == Place::AfterEdges)?;
    let built = BuiltNodes {
        nodes: part.nodes,
        keyed: false,
    };
    let file = builder.file();
    let mut edges = EdgeBuilder::new(&built, file, builder.expected_nodes()).ok()?;
    let mut i = 0;
    for run in part.edges {
        for edge in run.list {
            let added = match edge {
                Deferred::Numbered {
                    source,
                    target,
                    spelling,
                } => {
                    let s = &run.spellings[spelling as usize];
                    let ends = (source as usize, target as usize);
                    let strings = builder.strings();
                    edges.add_numbered(i, ends, s.style, &s.subsystem, &s.relation, strings)
                }
                Deferred::Text(edge) => edges.add(i, *edge, builder.strings()),
            };
            added.ok()?;
            i += 1;
        }
    }
    let edges = edges.finish();
    Some(RawGraph {
        nodes: Some(built),
        edges: Some(ReadEdges::Built(edges)),
        extra,
    })
}

/// Which list a scan is in, or which it has just closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Nodes,
    Edges,
    AfterNodes,
    AfterEdges,
}

/// What one thread has read, in file order: vertices, edges in runs (one a thread), and
/// where it stands.
struct Part<'a> {
    nodes: Vec<Node>,
    edges: Vec<Edges<'a>>,
    place: Place,
}

impl Part<'_> {
    fn new(place: Place, nodes: usize, edges: usize) -> Self {
        Part {
            nodes: Vec::with_capacity(nodes),
            edges: vec![Edges {
                list: Vec::with_capacity(edges),
                spellings: Vec::new(),
            }],
            place,
        }
    }
}

/// Edges read by one thread, their ends not yet looked up (the vertices may not all be read).
/// Most take 16 bytes: ends named by decimal ids, and a spelling met before.
struct Edges<'a> {
    list: Vec<Deferred<'a>>,
    spellings: Vec<Spelling<'a>>,
}

enum Deferred<'a> {
    Numbered {
        source: u32,
        target: u32,
        spelling: u32,
    },
    Text(Box<EdgeText<'a>>),
}

/// What an edge's keys say of its subsystem and relation.
#[derive(PartialEq)]
struct Spelling<'a> {
    subsystem: Cow<'a, str>,
    relation: Cow<'a, str>,
    style: Option<EdgeStyle>,
}

/// The spellings a thread keeps numbers for; an edge of another is kept whole.
const MAX_SPELLINGS: usize = 64;

impl<'a> Edges<'a> {
    fn push(&mut self, edge: EdgeText<'a>) {
        let number = |id: &Option<NodeId>| {
            id.as_ref()
                .and_then(|id| decimal_id(&id.0))
                .and_then(|k| u32::try_from(k).ok())
        };
        let (Some(source), Some(target)) = (number(&edge.source), number(&edge.target)) else {
            return self.list.push(Deferred::Text(Box::new(edge)));
        };
        let spelling = Spelling {
            subsystem: edge.subsystem,
            relation: edge.relation,
            style: edge.style,
        };
        // A graph spells its edges a few ways at most.
        let known = self.spellings.iter().rposition(|s| *s == spelling);
        let k = match known {
            Some(k) => k,
            None if self.spellings.len() < MAX_SPELLINGS => {
                self.spellings.push(spelling);
                self.spellings.len() - 1
            }
            None => {
                return self.list.push(Deferred::Text(Box::new(EdgeText {
                    source: edge.source,
                    target: edge.target,
                    subsystem: spelling.subsystem,
                    relation: spelling.relation,
                    style: spelling.style,
                })))
            }
        };
        self.list.push(Deferred::Numbered {
            source,
            target,
            spelling: k as u32,
        });
    }
}

/// Where a second thread starts: at a vertex or edge of the lists near their middle, which
/// must be the `index`th vertex when it is one (its id says so, as most writers number them).
#[derive(Debug, Clone, Copy)]
struct Start {
    at: usize,
    place: Place,
    index: usize,
}

/// How a run over the lists ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Past the end of the edges, or of vertices not followed by the edges.
    Ended,
    /// At the second thread's start, as its vertex or edge.
    Met,
    /// Past the second thread's start without meeting it there.
    Passed,
    /// Something the serde reader must read (or report).
    Problem,
    /// Told to stop.
    Stopped,
}

/// Read the lists from just inside `graph.nodes`, on two threads for a large text: the second
/// starts near the middle, and its work is taken when the first reaches exactly its start.
fn lists<'a>(c: &mut Cursor<'a>, builder: &mut Builder<'_>) -> Option<Part<'a>> {
    let expected = builder.expected_nodes();
    let mut part = Part::new(Place::Nodes, expected, expected);
    let two = c.text.len() >= SPLIT_FROM_BYTES
        && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
    let start = two
        .then(|| split_start(c.text, c.at + (c.text.len() - c.at) / 2))
        .flatten();
    let Some(start) = start else {
        return match run(c, builder, &mut part, 0, true, None, None) {
            Outcome::Ended => Some(part),
            _ => None,
        };
    };
    let stop = AtomicBool::new(false);
    let mut second = builder.beside(start.at);
    let text = c.text;
    std::thread::scope(|s| {
        let handle = s.spawn(|| {
            let mut c = Cursor { text, at: start.at };
            let nodes = if start.place == Place::Nodes {
                expected.saturating_sub(start.index)
            } else {
                0
            };
            let mut part = Part::new(start.place, nodes, expected);
            let outcome = run(
                &mut c,
                &mut second,
                &mut part,
                start.index,
                false,
                None,
                Some(&stop),
            );
            (part, c.at, outcome)
        });
        match run(c, builder, &mut part, 0, true, Some(start), None) {
            Outcome::Met => {
                let (theirs, at, outcome) = handle.join().ok()?;
                if outcome != Outcome::Ended {
                    return None;
                }
                part.nodes.extend(theirs.nodes);
                part.edges.extend(theirs.edges);
                part.place = theirs.place;
                c.at = at;
                Some(part)
            }
            Outcome::Passed => {
                stop.store(true, Ordering::Relaxed);
                match run(c, builder, &mut part, 0, false, None, None) {
                    Outcome::Ended => Some(part),
                    _ => None,
                }
            }
            Outcome::Ended => {
                stop.store(true, Ordering::Relaxed);
                Some(part)
            }
            Outcome::Problem | Outcome::Stopped => {
                stop.store(true, Ordering::Relaxed);
                None
            }
        }
    })
}

/// The first vertex or edge after `from` that a second thread can start at.
fn split_start(text: &[u8], from: usize) -> Option<Start> {
    let end = from.saturating_add(SPLIT_SEARCH_BYTES).min(text.len());
    let mut at = from;
    while at < end {
        let comma = at + text[at..end].iter().position(|&b| b == b',')?;
        let mut c = Cursor {
            text,
            at: comma + 1,
        };
        c.skip_space();
        let element = c.at;
        if text.get(element) == Some(&b'{') {
            if let Some(RawEdge {
                source: Some(_),
                target: Some(_),
                ..
            }) = c.edge()
            {
                return Some(Start {
                    at: element,
                    place: Place::Edges,
                    index: 0,
                });
            }
            c.at = element;
            if let Some(index) = c.node().and_then(|n| decimal_id(&n.id?.0)) {
                return Some(Start {
                    at: element,
                    place: Place::Nodes,
                    index,
                });
            }
        }
        at = comma + 1;
    }
    None
}

/// Read vertices or edges, from the start of the list `part.place` names (`first`) or from
/// an element of it, until the lists end (`Ended`, the cursor past them), `meet` is reached,
/// or `stop` is set. Vertex `k` of `part` is the list's `base + k`th. The `]` closing the
/// vertices may be followed by the edges directly, which are then read on.
fn run<'a>(
    c: &mut Cursor<'a>,
    builder: &mut Builder<'_>,
    part: &mut Part<'a>,
    base: usize,
    mut first: bool,
    meet: Option<Start>,
    stop: Option<&AtomicBool>,
) -> Outcome {
    loop {
        c.skip_space();
        if first && c.text.get(c.at) == Some(&b']') {
            c.at += 1;
            if let Some(outcome) = close(c, part) {
                return outcome;
            }
            continue;
        }
        if let Some(m) = meet {
            if c.at >= m.at {
                let here = c.at == m.at
                    && part.place == m.place
                    && (m.place == Place::Edges || part.nodes.len() == m.index);
                return if here { Outcome::Met } else { Outcome::Passed };
            }
        }
        if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
            return Outcome::Stopped;
        }
        let element = c.at;
        let read = match part.place {
            Place::Nodes => c
                .node()
                .or_else(|| c.whole(element))
                .and_then(|raw| builder.node(base + part.nodes.len(), raw, false).ok())
                .map(|node| part.nodes.push(node)),
            _ => c
                .edge()
                .or_else(|| c.whole(element))
                .and_then(|raw| part.edges.last_mut().map(|run| run.push(raw.into()))),
        };
        if read.is_none() {
            return Outcome::Problem;
        }
        builder.reached_offset(c.at);
        match c.next() {
            Some(b',') => first = false,
            Some(b']') => {
                if let Some(outcome) = close(c, part) {
                    return outcome;
                }
                first = true;
            }
            _ => return Outcome::Problem,
        }
    }
}

/// After the `]` of a list: the edges' list opened when it follows the vertices directly
/// (`None`: read on), else the lists' end.
fn close(c: &mut Cursor<'_>, part: &mut Part<'_>) -> Option<Outcome> {
    if part.place == Place::Edges {
        part.place = Place::AfterEdges;
        return Some(Outcome::Ended);
    }
    let closed = c.at;
    if c.next() == Some(b',') && c.key() == Some(b"edges") && c.next() == Some(b'[') {
        part.place = Place::Edges;
        return None;
    }
    c.at = closed;
    part.place = Place::AfterNodes;
    Some(Outcome::Ended)
}

/// A position in the text, and the plain JSON it expects there. Every reading returns `None`
/// for anything else, leaving the cursor anywhere.
#[derive(Clone, Copy)]
struct Cursor<'a> {
    text: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn skip_space(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.text.get(self.at) {
            self.at += 1;
        }
    }

    /// The next byte after white space, taken.
    fn next(&mut self) -> Option<u8> {
        self.skip_space();
        let b = *self.text.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.text.get(self.at).copied()
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        (self.next()? == b).then_some(())
    }

    /// The bytes of a string without escapes or control characters.
    fn raw_string(&mut self) -> Option<&'a [u8]> {
        self.expect(b'"')?;
        let start = self.at;
        loop {
            match *self.text.get(self.at)? {
                b'"' => {
                    self.at += 1;
                    return Some(&self.text[start..self.at - 1]);
                }
                b'\\' | 0..=0x1f => return None,
                _ => self.at += 1,
            }
        }
    }

    fn string(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.raw_string()?).ok()
    }

    fn text(&mut self) -> Option<Text<'a>> {
        self.string().map(|s| Text(Cow::Borrowed(s)))
    }

    /// An object's key and its `:` (its bytes: the keys looked for are ASCII).
    fn key(&mut self) -> Option<&'a [u8]> {
        let key = self.raw_string()?;
        self.expect(b':')?;
        Some(key)
    }

    /// An integer as serde reads one into an `i64`: no fraction, exponent, leading zero or
    /// `-0` (which it reads as a float), and at most 18 digits here.
    fn integer(&mut self) -> Option<i64> {
        self.skip_space();
        let negative = self.text.get(self.at) == Some(&b'-');
        if negative {
            self.at += 1;
        }
        let start = self.at;
        let mut value: i64 = 0;
        while let Some(&d @ b'0'..=b'9') = self.text.get(self.at) {
            if self.at - start == 18 {
                return None;
            }
            value = value * 10 + i64::from(d - b'0');
            self.at += 1;
        }
        let digits = self.at - start;
        let leading_zero = digits > 1 && self.text[start] == b'0';
        let fraction = matches!(self.text.get(self.at), Some(b'.' | b'e' | b'E'));
        if digits == 0 || leading_zero || fraction || (negative && value == 0) {
            return None;
        }
        Some(if negative { -value } else { value })
    }

    fn boolean(&mut self) -> Option<bool> {
        self.skip_space();
        let rest = &self.text[self.at..];
        let (value, len) = if rest.starts_with(b"true") {
            (true, 4)
        } else if rest.starts_with(b"false") {
            (false, 5)
        } else {
            return None;
        };
        self.at += len;
        Some(value)
    }

    /// A node id: a string, or an integer as serde spells it.
    fn node_id(&mut self) -> Option<NodeId<'a>> {
        Some(NodeId(if self.peek()? == b'"' {
            Cow::Borrowed(self.string()?)
        } else {
            Cow::Owned(self.integer()?.to_string())
        }))
    }

    /// Read an object's members with `member` (given each key, reading its value), after the
    /// `{`: `None` on a key it does not take.
    fn members(&mut self, mut member: impl FnMut(&mut Self, &'a [u8]) -> Option<()>) -> Option<()> {
        self.expect(b'{')?;
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(());
        }
        loop {
            let key = self.key()?;
            member(self, key)?;
            match self.next()? {
                b',' => {}
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }

    /// A vertex of the usual keys.
    fn node(&mut self) -> Option<RawNode<'a>> {
        let mut raw = RawNode {
            id: None,
            label: None,
            metadata: None,
        };
        self.members(|c, key| {
            match key {
                b"id" if raw.id.is_none() => raw.id = Some(c.node_id()?),
                b"label" if raw.label.is_none() => raw.label = Some(c.string()?.to_owned()),
                b"metadata" if raw.metadata.is_none() => raw.metadata = Some(c.metadata()?),
                _ => return None,
            }
            Some(())
        })?;
        Some(raw)
    }

    /// A vertex's `metadata` of the usual keys (a key given twice keeps its last value, as
    /// with serde).
    fn metadata(&mut self) -> Option<RawMetadata<'a>> {
        let mut m = RawMetadata::default();
        self.members(|c, key| {
            match key {
                b"type" => m.kind = Some(c.text()?),
                b"basename" => m.basename = Some(c.text()?),
                b"name" => m.name = Some(c.text()?),
                b"id" => m.id = Some(c.integer()?),
                b"uniq_id" => m.uniq_id = Some(c.integer()?),
                b"rank" => m.rank = Some(c.integer()?),
                b"exclusive" => m.exclusive = Some(c.boolean()?),
                b"unit" => m.unit = Some(c.text()?),
                b"size" => m.size = Some(c.integer()?),
                b"paths" => m.paths = Some(c.paths()?),
                b"status" => m.status = Some(c.status()?),
                _ => return None,
            }
            Some(())
        })?;
        Some(m)
    }

    /// `metadata.paths`: subsystem and path strings.
    fn paths(&mut self) -> Option<RawPaths<'a>> {
        let mut p = RawPaths::default();
        self.members(|c, key| {
            let key = std::str::from_utf8(key).ok()?;
            let path = c.text()?;
            if key == CONTAINMENT {
                p.containment = Some(path);
            } else {
                p.other.push((key.to_owned(), path.0.into_owned()));
            }
            Some(())
        })?;
        Some(p)
    }

    fn status(&mut self) -> Option<Status> {
        if self.peek()? == b'"' {
            let s = self.string()?;
            if s.eq_ignore_ascii_case("up") {
                Some(Status::Up)
            } else if s.eq_ignore_ascii_case("down") {
                Some(Status::Down)
            } else {
                None
            }
        } else {
            match self.integer()? {
                0 => Some(Status::Up),
                1 => Some(Status::Down),
                _ => None,
            }
        }
    }

    /// An edge of the usual keys.
    fn edge(&mut self) -> Option<RawEdge<'a>> {
        let mut raw = RawEdge {
            source: None,
            target: None,
            relation: None,
            metadata: None,
        };
        self.members(|c, key| {
            match key {
                b"source" if raw.source.is_none() => raw.source = Some(c.node_id()?),
                b"target" if raw.target.is_none() => raw.target = Some(c.node_id()?),
                b"relation" if raw.relation.is_none() => raw.relation = Some(c.text()?),
                b"metadata" if raw.metadata.is_none() => raw.metadata = Some(c.edge_metadata()?),
                _ => return None,
            }
            Some(())
        })?;
        Some(raw)
    }

    /// An edge's `metadata`: its subsystem, Fluxion's `name: {subsystem: relation}`, and other
    /// keys of plain string values, which serde skips.
    fn edge_metadata(&mut self) -> Option<RawEdgeMetadata<'a>> {
        let mut m = RawEdgeMetadata::default();
        self.members(|c, key| {
            match key {
                b"subsystem" => m.subsystem = Some(c.text()?),
                b"name" => {
                    let mut first = None;
                    c.members(|c, key| {
                        let key = Text(Cow::Borrowed(std::str::from_utf8(key).ok()?));
                        let relation = c.text()?;
                        first.get_or_insert((key, relation));
                        Some(())
                    })?;
                    m.name = first;
                }
                _ => {
                    std::str::from_utf8(key).ok()?;
                    c.raw_string()?;
                }
            }
            Some(())
        })?;
        Some(m)
    }

    /// The text of the JSON value here: the cursor moves past it, following only strings
    /// and nesting (the serde reader checks the text when it reads it).
    fn value(&mut self) -> Option<&'a [u8]> {
        self.skip_space();
        let start = self.at;
        let mut depth = 0usize;
        loop {
            let b = *self.text.get(self.at)?;
            match b {
                b'"' => {
                    self.at += 1;
                    loop {
                        match *self.text.get(self.at)? {
                            b'"' => break,
                            b'\\' => self.at += 2,
                            _ => self.at += 1,
                        }
                    }
                    self.at += 1;
                }
                b'{' | b'[' => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return None;
                    }
                    self.at += 1;
                }
                b'}' | b']' | b',' | b' ' | b'\n' | b'\t' | b'\r' if depth == 0 => break,
                b'}' | b']' => {
                    depth -= 1;
                    self.at += 1;
                }
                _ => self.at += 1,
            }
            if depth == 0 && matches!(self.text.get(self.at - 1), Some(b'"' | b'}' | b']')) {
                break;
            }
        }
        Some(&self.text[start..self.at])
    }

    /// The vertex or edge at `start` read whole by the serde reader's type.
    fn whole<T: serde::Deserialize<'a>>(&mut self, start: usize) -> Option<T> {
        self.at = start;
        serde_json::from_slice(self.value()?).ok()
    }
}
