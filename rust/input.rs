//! Reading an input file whole, with a bound: a file that never ends (`/dev/zero`, a pipe
//! that keeps writing) or one larger than any real document of its kind is refused with an
//! error instead of filling memory. JSON documents are also given up on as soon as their
//! first byte shows they are not JSON objects, so a stream of garbage costs one read.

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
        return Err(io(format!(
            "the {what} is {len} bytes, more than the {limit} read at most"
        )));
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
}
