//! Reading an input file whole, with a bound: a file that never ends (`/dev/zero`, a pipe
//! that keeps writing) or one larger than any real document of its kind is refused with an
//! error instead of filling memory. JSON documents are also given up on as soon as their
//! first byte shows they are not JSON objects, so a stream of garbage costs one read.
//! A large regular file may instead be mapped (`Mapped`), its pages handed back to the kernel
//! as the reader moves past them, so that loading never holds all of its bytes at once.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// The largest JGF graph or fleet cache read: far beyond the 16,384-node graphs (~450 MB) of
/// the benchmarks, well within a login node's memory.
pub const MAX_GRAPH_BYTES: u64 = 4 << 30;
/// The largest jobspec read: jobspecs are a few hundred bytes to a few kilobytes.
pub const MAX_JOBSPEC_BYTES: u64 = 64 << 20;

const CHUNK: usize = 1 << 20;

/// The bytes of `path`, at most `limit` of them. With `json_object`, reading stops at the
/// first byte that is neither white space nor `{` (what is read so far is returned and the
/// JSON reader reports the error at that place).
pub fn read_bounded(path: &Path, limit: u64, what: &str, json_object: bool) -> Result<Vec<u8>> {
    let name = path.display().to_string();
    let io = |message: String| Error::Io {
        file: name.clone(),
        message,
    };
    let mut file =
        std::fs::File::open(path).map_err(|e| io(format!("cannot read the {what}: {e}")))?;
    let known = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    if let Some(len) = known.filter(|&len| len > limit) {
        return Err(too_large(&name, what, len, limit));
    }
    let mut bytes = Vec::with_capacity(known.unwrap_or(CHUNK as u64) as usize);
    let mut checked = !json_object;
    loop {
        let start = bytes.len();
        bytes.resize(start + CHUNK, 0);
        let n = loop {
            match file.read(&mut bytes[start..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io(format!("cannot read the {what}: {e}"))),
            }
        };
        bytes.truncate(start + n);
        if n == 0 {
            return Ok(bytes);
        }
        if bytes.len() as u64 > limit {
            return Err(io(format!(
                "the {what} goes on past the {limit} bytes read at most"
            )));
        }
        if !checked {
            if let Some(&first) = bytes.iter().find(|b| !b.is_ascii_whitespace()) {
                checked = true;
                if first != b'{' {
                    return Ok(bytes);
                }
            }
        }
    }
}

fn too_large(name: &str, what: &str, len: u64, limit: u64) -> Error {
    Error::Io {
        file: name.to_owned(),
        message: format!("the {what} is {len} bytes, more than the {limit} read at most"),
    }
}

/// Files smaller than this are read, not mapped: mapping pays off on large graphs only.
const MAP_FROM_BYTES: u64 = 8 << 20;
/// Pages are handed back on boundaries of this many bytes, a multiple of any page size.
const RELEASE_ALIGN: usize = 1 << 16;

/// A regular file mapped read-only. `release` hands back the pages of a run of it already
/// read: they are dropped from the process (a later read of them faults them back in from the
/// file, so nothing reading the bytes can tell). The file must not shrink while it is mapped
/// (reading past its new end raises SIGBUS); the store replaces graph files by rename, which
/// leaves a mapped file whole.
pub struct Mapped {
    map: memmap2::Mmap,
}

impl Mapped {
    /// Map `path` when it is a regular file of at least `MAP_FROM_BYTES` bytes (at most
    /// `limit`); `None` for anything to read with `read_bounded` instead.
    pub fn open(path: &Path, limit: u64, what: &str) -> Result<Option<Mapped>> {
        let name = path.display().to_string();
        let Ok(file) = std::fs::File::open(path) else {
            return Ok(None);
        };
        let len = match file.metadata() {
            Ok(m) if m.is_file() && m.len() >= MAP_FROM_BYTES => m.len(),
            _ => return Ok(None),
        };
        if len > limit {
            return Err(too_large(&name, what, len, limit));
        }
        // SAFETY: a read-only private mapping of a regular file; see the type's comment for
        // why the file is not shrunk while it is mapped.
        let Ok(map) = (unsafe { memmap2::MmapOptions::new().map(&file) }) else {
            return Ok(None);
        };
        // Failure only loses the hint.
        let _ = map.advise(memmap2::Advice::Sequential);
        Ok(Some(Mapped { map }))
    }

    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Hand back the whole aligned runs of pages inside `range` (offsets into `bytes()`).
    pub fn release(&self, range: std::ops::Range<usize>) {
        let start = range.start.next_multiple_of(RELEASE_ALIGN);
        let end = range.end.min(self.map.len()) & !(RELEASE_ALIGN - 1);
        if start >= end {
            return;
        }
        // SAFETY: DONTNEED on a private read-only file mapping drops only pages that a later
        // access reads back from the file: nothing reading `bytes()` can tell.
        let _ = unsafe {
            self.map
                .unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_device_is_given_up_at_its_first_byte_when_json_is_expected() {
        let bytes = read_bounded(Path::new("/dev/zero"), MAX_GRAPH_BYTES, "graph", true).unwrap();
        assert!(bytes.len() <= CHUNK && bytes[0] == 0);
    }

    #[test]
    fn an_endless_device_stops_at_the_limit() {
        let err = read_bounded(Path::new("/dev/zero"), 3 * CHUNK as u64, "jobspec", false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("goes on past the 3145728 bytes"), "{err}");
    }

    #[test]
    fn a_file_over_the_limit_is_refused_before_it_is_read() {
        let path = std::env::temp_dir().join(format!("fractale-input-{}", std::process::id()));
        std::fs::write(&path, vec![b' '; 100]).unwrap();
        let err = read_bounded(&path, 10, "graph", true)
            .unwrap_err()
            .to_string();
        std::fs::remove_file(&path).unwrap();
        assert!(err.contains("is 100 bytes, more than the 10"), "{err}");
    }

    #[test]
    fn a_mapped_file_reads_the_same_bytes_after_its_pages_are_handed_back() {
        let path = std::env::temp_dir().join(format!("fractale-mapped-{}", std::process::id()));
        let text: Vec<u8> = (0..MAP_FROM_BYTES as usize * 2)
            .map(|i| b"0123456789abcdef"[i % 16])
            .collect();
        std::fs::write(&path, &text).unwrap();
        let mapped = Mapped::open(&path, MAX_GRAPH_BYTES, "graph")
            .unwrap()
            .unwrap();
        let bytes = mapped.bytes();
        assert!(bytes == &text[..]);
        mapped.release(5..MAP_FROM_BYTES as usize + 7);
        mapped.release(MAP_FROM_BYTES as usize..text.len() + 100);
        assert!(bytes == &text[..], "released pages read back from the file");
        drop(mapped);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn small_files_and_devices_are_not_mapped() {
        assert!(
            Mapped::open(Path::new("/dev/zero"), MAX_GRAPH_BYTES, "graph")
                .unwrap()
                .is_none()
        );
        assert!(
            Mapped::open(Path::new("Cargo.toml"), MAX_GRAPH_BYTES, "graph")
                .unwrap()
                .is_none()
        );
    }
}
