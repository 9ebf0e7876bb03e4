//! What the integration tests share: where the Fluxion conformance material is. The trimmed
//! set kept in the repository (tests/data/conformance/, picked by its trim.py) is always
//! there; the full set beside the project (../shared/conformance/) runs too when present,
//! and its absence fails under CI=true, as a missing Slurm fails the pytest suite there.

use std::path::{Path, PathBuf};

/// The folders of the conformance set `name` (fluxion, fluxion-reserve) to run: the kept
/// one, then the shared one where it is present.
pub fn conformance_folders(name: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let kept = root.join("tests/data/conformance").join(name);
    assert!(
        kept.is_dir(),
        "{} is missing from the repository",
        kept.display()
    );
    let shared = root.join("../shared/conformance").join(name);
    if shared.is_dir() {
        return vec![kept, shared];
    }
    // CI always has the shared material: there, its absence is a failure, not a skip.
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{} is absent under CI=true",
        shared.display()
    );
    eprintln!(
        "skipped: {} is absent, only the kept cases run",
        shared.display()
    );
    vec![kept]
}
