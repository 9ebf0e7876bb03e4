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
    scan_split(text, builder, SPLIT_FROM_BYTES)
}

/// `scan`, on two threads when the text has at least `split_from` bytes.
fn scan_split<'a>(
    text: &'a [u8],
    builder: &mut Builder<'_>,
    split_from: usize,
) -> Option<RawGraph<'a>> {
    let mut c = Cursor { text, at: 0 };
    c.expect(b'{')?;
    let mut graph = None;
    loop {
        let key = c.key()?;
        if key == b"graph" {
            if graph.is_some() {
                return None;
            }
            graph = Some(graph_object(&mut c, builder, split_from)?);
        } else {
            utf8(key, key.is_ascii())?;
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
fn graph_object<'a>(
    c: &mut Cursor<'a>,
    builder: &mut Builder<'_>,
    split_from: usize,
) -> Option<RawGraph<'a>> {
    c.expect(b'{')?;
    let mut extra = BTreeMap::new();
    let mut read: Option<Part<'a>> = None;
    loop {
        let key = c.key()?;
        match (key, read.as_mut()) {
            (b"nodes", None) => {
                c.expect(b'[')?;
                read = Some(lists(c, builder, split_from)?);
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
                let other = utf8(other, other.is_ascii())?;
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
fn lists<'a>(c: &mut Cursor<'a>, builder: &mut Builder<'_>, split_from: usize) -> Option<Part<'a>> {
    let expected = builder.expected_nodes();
    let mut part = Part::new(Place::Nodes, expected, expected);
    let two = c.text.len() >= split_from
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

/// The high bit of each byte of a word.
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// Bytes as a string: `ascii` says they were all seen below 0x80.
fn utf8(bytes: &[u8], ascii: bool) -> Option<&str> {
    if ascii {
        // SAFETY: every byte is below 0x80, and ASCII is UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        std::str::from_utf8(bytes).ok()
    }
}

/// The bytes of `word` (read little-endian) that end or break a plain string (`"`, `\\`, or a
/// control character), each as its high bit: zero when there are none. (Above the first such
/// byte others may be marked wrongly, as a borrow runs on.)
fn stop_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH_BITS;
    let quote = zero(word ^ (ONES * u64::from(b'"')));
    let backslash = zero(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH_BITS;
    quote | backslash | control
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

    /// The bytes of a string without escapes or control characters, and whether they are
    /// all ASCII.
    fn raw_string(&mut self) -> Option<(&'a [u8], bool)> {
        self.expect(b'"')?;
        let start = self.at;
        let mut high = 0u64;
        // Eight bytes at a time while eight are left, then one at a time.
        while let Some(word) = self.text.get(self.at..self.at + 8) {
            let word = u64::from_le_bytes(word.try_into().ok()?);
            let stops = stop_bytes(word);
            if stops == 0 {
                high |= word;
                self.at += 8;
                continue;
            }
            // The first byte marked is exact: the string ends there if it is a quote.
            let plain = stops.trailing_zeros() as usize / 8;
            high |= word & ((1u64 << (8 * plain)) - 1);
            self.at += plain + 1;
            return (word >> (8 * plain) & 0xff == u64::from(b'"'))
                .then(|| (&self.text[start..self.at - 1], high & HIGH_BITS == 0));
        }
        loop {
            match *self.text.get(self.at)? {
                b'"' => {
                    self.at += 1;
                    return Some((&self.text[start..self.at - 1], high & HIGH_BITS == 0));
                }
                b'\\' | 0..=0x1f => return None,
                b => {
                    high |= u64::from(b);
                    self.at += 1;
                }
            }
        }
    }

    fn string(&mut self) -> Option<&'a str> {
        let (bytes, ascii) = self.raw_string()?;
        utf8(bytes, ascii)
    }

    fn text(&mut self) -> Option<Text<'a>> {
        self.string().map(|s| Text(Cow::Borrowed(s)))
    }

    /// An object's key and its `:` (its bytes: the keys looked for are ASCII).
    fn key(&mut self) -> Option<&'a [u8]> {
        let (key, _) = self.raw_string()?;
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
                b"paths" => {
                    let paths = c.paths()?;
                    m.set_paths(paths);
                }
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
            let key = utf8(key, key.is_ascii())?;
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
                        let key = Text(Cow::Borrowed(utf8(key, key.is_ascii())?));
                        let relation = c.text()?;
                        first.get_or_insert((key, relation));
                        Some(())
                    })?;
                    m.name = first;
                }
                _ => {
                    utf8(key, key.is_ascii())?;
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

#[cfg(test)]
mod tests {
    //! The fast path must build exactly what the serde reader builds, or leave the text to it:
    //! on every JGF file of the repository and of the shared conformance material, on random
    //! documents and their corruptions (of a value's type, or of bytes), on one thread or two.

    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use serde_json::{json, Value};

    use super::*;
    use crate::error::Result;
    use crate::jgf::locate::tests::sample;
    use crate::jgf::read::{read_serde, validate};
    use crate::jgf::{Document, Layout};

    /// What the fast path reads of `text` (`None`: it leaves the text to the serde reader),
    /// and what the serde reader alone reads.
    fn both(
        text: &[u8],
        layout: Layout,
        split_from: usize,
    ) -> (Option<Result<Document>>, Result<Document>) {
        let mut builder = Builder::new(Some("g.json"), layout).for_text(text);
        let fast = scan_split(text, &mut builder, split_from).map(|g| validate(Some(g), builder));
        let serde = read_serde(Builder::new(Some("g.json"), layout).for_text(text), text);
        (fast, serde)
    }

    /// The fast path agrees with the serde reader on `text` (on one thread, and on two);
    /// whether it read it.
    fn agrees(text: &[u8], layout: Layout) -> std::result::Result<bool, String> {
        let mut read = false;
        for split_from in [usize::MAX, 0] {
            let (fast, serde) = both(text, layout, split_from);
            let Some(fast) = fast else { continue };
            read = true;
            match (&fast, &serde) {
                (Ok(a), Ok(b)) if a == b => {}
                (Err(a), Err(b)) if a.to_string() == b.to_string() => {}
                _ => {
                    return Err(format!(
                        "fast path {:?}, serde {:?} (two threads: {}) on {}",
                        fast.map(|d| d.nodes.len()),
                        serde.map(|d| d.nodes.len()),
                        split_from == 0,
                        String::from_utf8_lossy(text)
                    ))
                }
            }
        }
        Ok(read)
    }

    fn jgf_files(folder: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(folder) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if path.is_dir() && !name.starts_with('.') && name != "target" {
                jgf_files(&path, out);
            } else if name.ends_with(".json") {
                // JGF with its vertices listed: what the fast path is for.
                let text = std::fs::read(&path).unwrap_or_default();
                let value: Value = serde_json::from_slice(&text).unwrap_or_default();
                if value.pointer("/graph/nodes").is_some_and(Value::is_array) {
                    out.push(path);
                }
            }
        }
    }

    #[test]
    fn every_jgf_file_of_the_repository_and_the_shared_material_reads_alike() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for folder in ["examples", "tests", "python"] {
            jgf_files(&root.join(folder), &mut files);
        }
        let kept = files.len();
        let shared = root.join("../shared/conformance");
        if shared.is_dir() {
            jgf_files(&shared, &mut files);
        } else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{} is absent under CI=true",
                shared.display()
            );
            eprintln!("skipped: {} is absent", shared.display());
        }
        assert!(kept > 10, "only {kept} JGF files in the repository");
        let mut read = 0;
        for path in &files {
            let text = std::fs::read(path).unwrap();
            for layout in [Layout::Tree, Layout::Forest] {
                match agrees(&text, layout) {
                    Ok(true) => read += 1,
                    Ok(false) => {}
                    Err(e) => panic!("{}: {e}", path.display()),
                }
            }
        }
        assert_eq!(
            read,
            files.len() * 2,
            "the fast path read {read} files and layouts"
        );
    }

    /// A cluster of `nodes` nodes of two sockets of cores, in Fluxion's spelling (with the
    /// reverse edges) or the newer one, its vertices numbered from `first`.
    fn cluster(nodes: usize, fluxion: bool, first: usize) -> Value {
        let mut vertices = Vec::new();
        let mut edges = Vec::new();
        let mut add = |kind: &str, id: usize, path: String, parent: Option<usize>| {
            let v = vertices.len() + first;
            vertices.push(json!({"id": v.to_string(), "metadata": {
                "type": kind, "basename": kind, "name": format!("{kind}{id}"), "id": id,
                "uniq_id": v, "rank": -1, "exclusive": false, "unit": "", "size": 1,
                "paths": {"containment": path}}}));
            if let Some(p) = parent {
                let (s, t) = (p.to_string(), v.to_string());
                if fluxion {
                    edges.push(json!({"source": s, "target": t, "metadata": {"name": {"containment": "contains"}}}));
                    edges.push(json!({"source": t, "target": s, "metadata": {"name": {"containment": "in"}}}));
                } else {
                    edges.push(json!({"source": s, "target": t, "metadata": {"subsystem": "containment", "relation": "contains"}}));
                }
            }
            v
        };
        let root = add("cluster", 0, "/cluster0".into(), None);
        for n in 0..nodes {
            let path = format!("/cluster0/node{n}");
            let node = add("node", n, path.clone(), Some(root));
            for s in 0..2 {
                let path = format!("{path}/socket{s}");
                let socket = add("socket", s, path.clone(), Some(node));
                for k in 0..4 {
                    add("core", k, format!("{path}/core{k}"), Some(socket));
                }
            }
        }
        json!({"graph": {"nodes": vertices, "edges": edges}})
    }

    #[test]
    fn a_second_thread_reads_the_far_half_and_its_work_is_taken() {
        for fluxion in [true, false] {
            let text = cluster(40, fluxion, 0).to_string();
            let bytes = text.as_bytes();
            let (fast, serde) = both(bytes, Layout::Tree, 0);
            let (fast, serde) = (fast.unwrap().unwrap(), serde.unwrap());
            assert_eq!(fast, serde);
            // Each thread interns its own strings: the last vertex's type is the second's.
            let cores: Vec<&Node> = fast.nodes.iter().filter(|n| &*n.kind == "core").collect();
            assert!(!Arc::ptr_eq(&cores[0].kind, &cores[cores.len() - 1].kind));
            let start = split_start(bytes, bytes.len() / 2).unwrap();
            assert!(bytes[start.at..].starts_with(b"{\"id\":") == (start.place == Place::Nodes));
        }
    }

    #[test]
    fn a_second_thread_that_guessed_its_vertex_wrong_is_not_taken() {
        // Ids one past the positions: the second thread takes its first id for a position.
        let text = cluster(40, true, 1).to_string();
        let (fast, serde) = both(text.as_bytes(), Layout::Tree, 0);
        let (fast, serde) = (fast.unwrap().unwrap(), serde.unwrap());
        assert_eq!(fast, serde);
        assert_eq!(fast.nodes[300].jgf_id, "301");
    }

    #[test]
    fn a_pretty_printed_graph_reads_alike_on_two_threads() {
        for fluxion in [true, false] {
            let text = serde_json::to_string_pretty(&cluster(30, fluxion, 0)).unwrap();
            assert_eq!(agrees(text.as_bytes(), Layout::Tree), Ok(true));
        }
    }

    #[test]
    fn values_at_the_edge_of_the_plain_shape_read_alike() {
        let numbers = [
            "07",
            "-0",
            "-07",
            "0",
            "-1",
            "1.0",
            "1e2",
            "1E2",
            "-",
            "00",
            "+1",
            "1 ",
            " 12",
            "999999999999999999",
            "9999999999999999999",
            "9223372036854775807",
            "18446744073709551616",
            "true",
            "null",
            "\"3\"",
            "[]",
        ];
        let strings = [
            "\"a\"",
            "\"\"",
            "\"\\u0041\"",
            "\"a\\nb\"",
            "\"tab\there\"",
            "\"\u{e9}t\u{e9}\"",
            "\"Up\"",
            "\"DOWN\"",
            "\"sideways\"",
            "0",
            "1",
            "2",
            "-1",
            "null",
            "{}",
            // Long enough to be read eight bytes at a time before what breaks or ends them.
            "\"abcdefghijkl\u{1}mnop\"",
            "\"abcdefghijklmnopq\\\"r\"",
            "\"abcdefghijklmnopqrst\u{e9}\"",
            "\"\u{7f}bcdefghijklmno\"",
            "\"abcdefgh\"",
            "\"abcdefg\"",
        ];
        let template = r#"{"graph": {"nodes": [{"id": "0", "metadata": {"type": "cluster", "K": V}},
            {"id": "1", "metadata": {"type": "node"}}], "edges": [{"source": "0", "target": "1"}]}}"#;
        let mut read = 0;
        for key in [
            "id",
            "uniq_id",
            "rank",
            "size",
            "status",
            "name",
            "unit",
            "exclusive",
        ] {
            for value in numbers.iter().chain(&strings) {
                let text = template.replace('K', key).replace('V', value);
                let taken = agrees(text.as_bytes(), Layout::Tree).unwrap();
                read += usize::from(taken);
            }
            for id in numbers.iter().chain(&strings) {
                let text = template
                    .replacen("\"0\"", id, 1)
                    .replace("\"K\": V", "\"id\": 0");
                agrees(text.as_bytes(), Layout::Tree).unwrap();
            }
        }
        // Invalid UTF-8 in a string the fast path reads, and in one serde only skips.
        for text in [
            &b"{\"graph\": {\"nodes\": [{\"id\": \"0\", \"metadata\": {\"type\": \"\xff\"}}], \"edges\": []}}"[..],
            b"{\"graph\": {\"nodes\": [{\"id\": \"0\", \"metadata\": {\"type\": \"a\"}}], \"edges\": [], \"x\": \"\xff\"}, \"y\": \"\xff\"}",
            b"{\"graph\": {\"nodes\": [{\"id\": \"0\", \"metadata\": {\"type\": \"abcdefghijk\xff\"}}], \"edges\": []}}",
        ] {
            agrees(text, Layout::Tree).unwrap();
        }
        assert!(read > 30, "the fast path read {read}");
    }

    /// Edits of a text's bytes where JSON is most easily broken (before a digit, a quote, a
    /// bracket, a comma or a colon): cut short, a byte dropped, or one of JSON's own put in.
    fn edited(text: &str, at: prop::sample::Index, how: usize) -> Vec<u8> {
        const BYTES: &[u8] = b"{}[],:\"\\ 0-1.eu\x01\xff";
        let mut bytes = text.as_bytes().to_vec();
        let places: Vec<usize> = (0..bytes.len())
            .filter(|&i| b"0123456789\"{}[],:".contains(&bytes[i]))
            .collect();
        let at = places[at.index(places.len())];
        match how % 3 {
            0 => bytes.truncate(at),
            1 => {
                bytes.remove(at);
            }
            _ => bytes.insert(at, BYTES[how / 3 % BYTES.len()]),
        }
        bytes
    }

    #[test]
    fn random_documents_and_their_corruptions_read_alike() {
        let mut runner = TestRunner::new(Config {
            cases: 2000,
            ..Config::default()
        });
        let strategy = (
            sample(),
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>(),
            0usize..60,
            any::<bool>(),
        );
        let read = std::cell::Cell::new(0usize);
        runner
            .run(&strategy, |(sample, slot, replacement, at, how, pretty)| {
                let text = if pretty {
                    serde_json::to_string_pretty(&sample.doc).unwrap()
                } else {
                    sample.doc.to_string()
                };
                let layout = if how % 2 == 0 {
                    Layout::Tree
                } else {
                    Layout::Forest
                };
                let taken = agrees(text.as_bytes(), layout).map_err(TestCaseError::fail)?;
                read.set(read.get() + usize::from(taken));

                let (_, doc) = sample.corrupted(slot, replacement);
                agrees(doc.to_string().as_bytes(), layout).map_err(TestCaseError::fail)?;
                agrees(&edited(&text, at, how), layout).map_err(TestCaseError::fail)?;
                Ok(())
            })
            .unwrap();
        assert!(
            read.get() > 300,
            "the fast path read only {} documents",
            read.get()
        );
    }
}
