//! fractale's core: JGF resource graphs, canonical jobspecs and Fluxion-compatible matching,
//! as plain Rust. Only `python` (behind the `python` feature) knows about PyO3.

pub mod error;
pub mod fleet;
pub mod graph;
pub mod input;
pub mod jgf;
pub mod jobspec;
pub mod json_layout;
pub mod matcher;

#[cfg(feature = "python")]
mod python;

pub use error::{Error, Result};

/// The crate version, exported to Python as `fractale.__version__`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
