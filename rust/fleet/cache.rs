//! The compiled fleet on disk: one binary file beside the clusters, memory-mapped when read.
//!
//! It holds the node shapes (JGF text) and one record per cluster: its compiled containment
//! and, for the Python layer, a record of what it read from the cluster's other files (its
//! configuration, its software), each stamped with the files it came from. A stamp is a file's
//! content hash (xxh3) and its status (size, modification and change times, inode, device),
//! as git's index keeps them. An unchanged status means an unchanged file without reading it;
//! a changed status means hashing the file again, and only a changed hash means compiling it
//! again. The change time is what makes the status sound: no edit keeps it, even one that
//! restores the modification time and the size (`cp -p`, rsync, `os.utime`), and users cannot
//! set it. Only a stamp taken well after its file last changed is trusted ("settled"): a file
//! changed within a timestamp's granularity of the moment its status was taken could change
//! again within the same tick, keeping its status, so it is hashed again next time (git's
//! "racy" files). A cluster folder's stamp is its status and the hash of its listing: an
//! unchanged folder is not listed again. The file carries its own content hash, so a torn or
//! corrupted cache is rebuilt rather than believed.
//!
//! Layout (little-endian): magic, version, the payload's xxh3, then the shapes, a directory
//! of `(name, offset, length)` and the records. A record is self-contained, so one that did
//! not change is copied from the old file as bytes.

use std::collections::BTreeMap;
use std::ops::{Deref, Range};
use std::path::Path;

use xxhash_rust::xxh3::xxh3_64;

use crate::error::{Error, Result};
use crate::input::{read_bounded, MAX_GRAPH_BYTES};

use super::shapes::{Compiled, NodeEntry};

const MAGIC: &[u8; 8] = b"FRFLEET\0";
/// Bumped whenever the layout or meaning changes.
const VERSION: u32 = 6;
const HEADER: usize = 8 + 4 + 8;

/// A file's status: what changes whenever its content may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileStatus {
    pub size: u64,
    pub modified_ns: i128,
    pub changed_ns: i128,
    pub inode: u64,
    pub device: u64,
    pub folder: bool,
}

/// How long after a file last changed its status is trusted to change with its content:
/// more than a tick of the kernel's coarse clock and the two seconds of the coarsest
/// filesystem timestamps.
const SETTLING_NS: i128 = 2_000_000_000;

/// A file's status when it was last hashed, its content hash, and whether the status was
/// taken long enough after the file last changed to be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stamp {
    pub status: FileStatus,
    pub content: u64,
    pub settled: bool,
}

impl Stamp {
    /// The stamp of content `content` whose status `status` was taken at or after `now`
    /// (nanoseconds since the epoch, read before the status).
    pub fn new(status: FileStatus, content: u64, now: i128) -> Stamp {
        Stamp {
            status,
            content,
            settled: status.changed_ns.saturating_add(SETTLING_NS) < now,
        }
    }

    /// The file, whose status is now `status`, still holds what this stamp says.
    pub fn holds(&self, status: &FileStatus) -> bool {
        self.settled && self.status == *status
    }
}

/// Now, in nanoseconds since the epoch, as stamps compare change times to it.
pub fn now_ns() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

pub fn status(path: &Path) -> Result<FileStatus> {
    status_or_missing(path)?.ok_or_else(|| Error::Io {
        file: path.display().to_string(),
        message: "No such file or directory".to_owned(),
    })
}

/// A file's status, or None when there is no such file.
pub fn status_or_missing(path: &Path) -> Result<Option<FileStatus>> {
    use std::os::unix::fs::MetadataExt;
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::Io {
                file: path.display().to_string(),
                message: e.to_string(),
            })
        }
    };
    let ns = |seconds: i64, nanos: i64| i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
    Ok(Some(FileStatus {
        size: meta.len(),
        modified_ns: ns(meta.mtime(), meta.mtime_nsec()),
        changed_ns: ns(meta.ctime(), meta.ctime_nsec()),
        inode: meta.ino(),
        device: meta.dev(),
        folder: meta.is_dir(),
    }))
}

pub fn read_graph(path: &Path) -> Result<Vec<u8>> {
    read_bounded(path, MAX_GRAPH_BYTES, "graph", true)
}

/// The content hash of a file that is not a graph (a configuration, say).
pub fn hash_file(path: &Path) -> Result<u64> {
    std::fs::read(path)
        .map(|b| xxh3_64(&b))
        .map_err(|e| Error::Io {
            file: path.display().to_string(),
            message: e.to_string(),
        })
}

pub fn hash(bytes: &[u8]) -> u64 {
    xxh3_64(bytes)
}

/// How many of a cluster's nodes share a shape, a per-node shape and being up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShapeCount {
    pub shape: u32,
    pub flat_shape: u32,
    pub up: bool,
    pub count: u64,
}

/// One cluster as the cache holds it, owned (to write it, or change it).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub name: String,
    pub graph: String,
    pub graph_stamp: Stamp,
    /// A store cluster's folder: its status and the hash of its listing.
    pub folder: Option<Stamp>,
    pub compiled: Compiled,
    /// The other files the Python record was read from, by path, with their stamps.
    pub aux: Vec<(String, Stamp)>,
    pub blob: Option<Vec<u8>>,
}

/// One cluster as read from the cache: everything answers need, with its nodes (what only
/// constraints need) left encoded until asked for.
#[derive(Debug, Clone)]
pub struct Meta {
    pub name: String,
    pub graph: String,
    pub graph_stamp: Stamp,
    pub folder: Option<Stamp>,
    /// Where the record holds everything an answer from shapes reads (from `decomposable`
    /// to `histogram`): clusters whose bytes there are equal answer alike.
    pub alike: Range<usize>,
    pub decomposable: bool,
    pub upper_types: Vec<String>,
    pub totals: BTreeMap<String, u64>,
    pub counts: BTreeMap<String, u64>,
    pub histogram: Vec<ShapeCount>,
    pub node_count: u64,
    pub nodes: Range<usize>,
    pub aux: Vec<(String, Stamp)>,
    pub blob: Option<Range<usize>>,
    /// The whole record, to copy it unchanged.
    pub record: Range<usize>,
}

/// The cache's bytes: mapped from its file, or built in memory when it cannot be written.
pub enum Bytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

/// A cache read and checked: its bytes, shapes and records.
pub struct Index {
    pub bytes: Bytes,
    pub shapes: Vec<Vec<u8>>,
    pub metas: Vec<Meta>,
}

impl Index {
    /// The cache at `path`, or None when there is none or it is unreadable, of another
    /// version or corrupted (the caller rebuilds it).
    pub fn open(path: &Path) -> Option<Index> {
        let file = std::fs::File::open(path).ok()?;
        if !file.metadata().ok()?.is_file() {
            return None;
        }
        // SAFETY: the cache is only ever replaced by a rename, never written in place, so
        // the mapped file does not change under us; its content hash is checked before use.
        let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
        Index::parse(Bytes::Mapped(map))
    }

    pub fn parse(bytes: Bytes) -> Option<Index> {
        let (shapes, metas) = {
            let b: &[u8] = &bytes;
            if b.len() < HEADER || &b[..8] != MAGIC {
                return None;
            }
            let mut head = Reader::at(b, 8);
            if head.u32()? != VERSION || head.u64()? != xxh3_64(&b[HEADER..]) {
                return None;
            }
            let mut r = Reader::at(b, HEADER);
            let shapes = (0..r.u32()?)
                .map(|_| r.bytes().map(<[u8]>::to_vec))
                .collect::<Option<Vec<_>>>()?;
            let n = r.u32()?;
            let mut metas = Vec::with_capacity(n as usize);
            for _ in 0..n {
                let start = r.u64()? as usize;
                let len = r.u64()? as usize;
                let meta = decode_meta(b, start..start.checked_add(len)?)?;
                if meta.histogram.iter().any(|h| {
                    h.shape as usize >= shapes.len() || h.flat_shape as usize >= shapes.len()
                }) {
                    return None;
                }
                metas.push(meta);
            }
            (shapes, metas)
        };
        Some(Index {
            bytes,
            shapes,
            metas,
        })
    }

    /// The nodes of a cluster, decoded.
    pub fn nodes(&self, meta: &Meta) -> Vec<NodeEntry> {
        decode_nodes(&self.bytes[meta.nodes.clone()], meta.node_count).unwrap_or_default()
    }

    pub fn blob(&self, meta: &Meta) -> Option<&[u8]> {
        meta.blob.clone().map(|r| &self.bytes[r])
    }

    /// The full record of a cluster, to change and write again.
    pub fn record(&self, meta: &Meta) -> Record {
        Record {
            name: meta.name.clone(),
            graph: meta.graph.clone(),
            graph_stamp: meta.graph_stamp,
            folder: meta.folder,
            compiled: Compiled {
                decomposable: meta.decomposable,
                upper_types: meta.upper_types.clone(),
                totals: meta.totals.clone(),
                counts: meta.counts.clone(),
                nodes: self.nodes(meta),
            },
            aux: meta.aux.clone(),
            blob: self.blob(meta).map(<[u8]>::to_vec),
        }
    }
}

/// A record to write: new, or copied from the old cache as it is.
pub enum Entry<'a> {
    New(Box<Record>),
    Copied(&'a [u8]),
}

/// The cache's bytes for `shapes` and `entries` (in that order).
pub fn encode(shapes: &[Vec<u8>], entries: &[Entry<'_>]) -> Vec<u8> {
    let records: Vec<std::borrow::Cow<'_, [u8]>> = entries
        .iter()
        .map(|e| match e {
            Entry::New(r) => std::borrow::Cow::Owned(encode_record(r)),
            Entry::Copied(b) => std::borrow::Cow::Borrowed(*b),
        })
        .collect();
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    put_u32(&mut out, VERSION);
    put_u64(&mut out, 0); // the payload's hash, set below
    put_u32(&mut out, shapes.len() as u32);
    for s in shapes {
        put_bytes(&mut out, s);
    }
    put_u32(&mut out, records.len() as u32);
    let directory = out.len();
    let mut offset = directory + records.len() * 16;
    for r in &records {
        put_u64(&mut out, offset as u64);
        put_u64(&mut out, r.len() as u64);
        offset += r.len();
    }
    for r in &records {
        out.extend_from_slice(r);
    }
    let digest = xxh3_64(&out[HEADER..]);
    out[12..20].copy_from_slice(&digest.to_le_bytes());
    out
}

/// Write `bytes` to `path` through a temporary file and a rename, so a reader maps the old
/// cache or the new one, never half of one. Only a regular file is replaced: a cache path
/// naming a device or a pipe (even `/dev/null`) is never renamed over.
pub fn save(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Ok(meta) = std::fs::metadata(path) {
        if !meta.is_file() {
            return Err(std::io::Error::other(
                "the cache path is not a regular file",
            ));
        }
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

fn histogram(nodes: &[NodeEntry]) -> Vec<ShapeCount> {
    let mut counts: BTreeMap<(u32, u32, bool), u64> = BTreeMap::new();
    for n in nodes {
        *counts.entry((n.shape, n.flat_shape, n.up)).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|((shape, flat_shape, up), count)| ShapeCount {
            shape,
            flat_shape,
            up,
            count,
        })
        .collect()
}

fn encode_record(r: &Record) -> Vec<u8> {
    let mut out = Vec::new();
    put_str(&mut out, &r.name);
    put_str(&mut out, &r.graph);
    put_stamp(&mut out, &r.graph_stamp);
    match &r.folder {
        Some(f) => {
            out.push(1);
            put_stamp(&mut out, f);
        }
        None => out.push(0),
    }
    let c = &r.compiled;
    out.push(u8::from(c.decomposable));
    put_u32(&mut out, c.upper_types.len() as u32);
    for t in &c.upper_types {
        put_str(&mut out, t);
    }
    for map in [&c.totals, &c.counts] {
        put_u32(&mut out, map.len() as u32);
        for (k, v) in map {
            put_str(&mut out, k);
            put_u64(&mut out, *v);
        }
    }
    let h = histogram(&c.nodes);
    put_u32(&mut out, h.len() as u32);
    for s in &h {
        put_u32(&mut out, s.shape);
        put_u32(&mut out, s.flat_shape);
        out.push(u8::from(s.up));
        put_u64(&mut out, s.count);
    }
    let mut nodes = Vec::new();
    for n in &c.nodes {
        put_u32(&mut nodes, n.shape);
        put_u32(&mut nodes, n.flat_shape);
        nodes.push(u8::from(n.up));
        put_u64(&mut nodes, n.rank as u64);
        put_str(&mut nodes, &n.name);
        put_u32(&mut nodes, n.properties.len() as u32);
        for p in &n.properties {
            put_str(&mut nodes, p);
        }
    }
    put_u64(&mut out, c.nodes.len() as u64);
    put_bytes(&mut out, &nodes);
    put_u32(&mut out, r.aux.len() as u32);
    for (file, stamp) in &r.aux {
        put_str(&mut out, file);
        put_stamp(&mut out, stamp);
    }
    match &r.blob {
        Some(b) => {
            out.push(1);
            put_bytes(&mut out, b);
        }
        None => out.push(0),
    }
    out
}

fn decode_meta(b: &[u8], record: Range<usize>) -> Option<Meta> {
    let bytes = b.get(record.clone())?;
    let mut r = Reader::at(bytes, 0);
    let name = r.str()?.to_owned();
    let graph = r.str()?.to_owned();
    let graph_stamp = r.stamp()?;
    let folder = match r.u8()? {
        0 => None,
        _ => Some(r.stamp()?),
    };
    let alike_start = record.start + r.pos;
    let decomposable = r.u8()? != 0;
    let upper_types = (0..r.u32()?)
        .map(|_| r.str().map(str::to_owned))
        .collect::<Option<Vec<_>>>()?;
    let mut maps = [BTreeMap::new(), BTreeMap::new()];
    for map in &mut maps {
        for _ in 0..r.u32()? {
            let k = r.str()?.to_owned();
            map.insert(k, r.u64()?);
        }
    }
    let [totals, counts] = maps;
    let histogram = (0..r.u32()?)
        .map(|_| {
            Some(ShapeCount {
                shape: r.u32()?,
                flat_shape: r.u32()?,
                up: r.u8()? != 0,
                count: r.u64()?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let alike = alike_start..record.start + r.pos;
    let node_count = r.u64()?;
    let nodes_len = r.u32()? as usize;
    let nodes = (record.start + r.pos)..(record.start + r.pos + nodes_len);
    r.take(nodes_len)?;
    let aux = (0..r.u32()?)
        .map(|_| Some((r.str()?.to_owned(), r.stamp()?)))
        .collect::<Option<Vec<_>>>()?;
    let blob = match r.u8()? {
        0 => None,
        _ => {
            let len = r.u32()? as usize;
            let at = record.start + r.pos;
            r.take(len)?;
            Some(at..at + len)
        }
    };
    Some(Meta {
        name,
        graph,
        graph_stamp,
        folder,
        alike,
        decomposable,
        upper_types,
        totals,
        counts,
        histogram,
        node_count,
        nodes,
        aux,
        blob,
        record,
    })
}

fn decode_nodes(b: &[u8], count: u64) -> Option<Vec<NodeEntry>> {
    let mut r = Reader::at(b, 0);
    (0..count)
        .map(|_| {
            Some(NodeEntry {
                shape: r.u32()?,
                flat_shape: r.u32()?,
                up: r.u8()? != 0,
                rank: r.u64()? as i64,
                name: r.str()?.to_owned(),
                properties: (0..r.u32()?)
                    .map(|_| r.str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()?,
            })
        })
        .collect()
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u32(out, b.len() as u32);
    out.extend_from_slice(b);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_bytes(out, s.as_bytes());
}

fn put_stamp(out: &mut Vec<u8>, s: &Stamp) {
    put_u64(out, s.status.size);
    out.extend_from_slice(&s.status.modified_ns.to_le_bytes());
    out.extend_from_slice(&s.status.changed_ns.to_le_bytes());
    put_u64(out, s.status.inode);
    put_u64(out, s.status.device);
    out.push(u8::from(s.status.folder));
    put_u64(out, s.content);
    out.push(u8::from(s.settled));
}

/// Reads the cache's fields; None past the end (a corrupted cache, rebuilt).
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn at(buf: &'a [u8], pos: usize) -> Self {
        Reader { buf, pos }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let out = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(out)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_le_bytes)
    }

    fn i128(&mut self) -> Option<i128> {
        self.array().map(i128::from_le_bytes)
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }

    fn stamp(&mut self) -> Option<Stamp> {
        Some(Stamp {
            status: FileStatus {
                size: self.u64()?,
                modified_ns: self.i128()?,
                changed_ns: self.i128()?,
                inode: self.u64()?,
                device: self.u64()?,
                folder: self.u8()? != 0,
            },
            content: self.u64()?,
            settled: self.u8()? != 0,
        })
    }
}
