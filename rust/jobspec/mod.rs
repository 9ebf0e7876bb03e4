//! Canonical jobspecs (Flux RFC 14, with RFC 25's stricter rules when `version: 1`) and
//! their RFC 31 constraints: read from JSON or YAML text (`read`), checked with the place of
//! every broken rule (`checker`, or `flux` for what flux-core accepts), and counted (`tally`).

mod checker;
mod constraints;
mod flux;
mod hostlist;
mod model;
mod requires;
mod tally;
#[cfg(test)]
mod tests;
pub mod yaml;

use serde_json::Value;

pub use constraints::{Constraint, ConstraintTarget};
pub use hostlist::{parse_idset, Hostlist};
pub use model::{Count, Jobspec, Request, Task, TaskCount, UNBOUNDED};
pub use requires::{REQUIREMENT_KEYS, SOFTWARE_TYPES};
pub use tally::tally;

use crate::error::{Error, Result};

/// Decode jobspec text: a document opening with `{` is JSON, anything else YAML (read as
/// PyYAML's safe loader reads it, see `yaml`). Errors name the line and column.
pub fn read(text: &str, file: Option<&str>) -> Result<Value> {
    if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| {
            Error::jobspec(
                file,
                format!("line {} column {}", e.line(), e.column()),
                format!("is not valid JSON ({e})"),
            )
        })
    } else {
        yaml::read(text, file)
    }
}

impl Jobspec {
    /// Read and validate jobspec text (JSON or YAML); `strict` as in `from_value_with`.
    pub fn from_text(text: &str, file: Option<&str>, strict: bool) -> Result<Jobspec> {
        Self::from_value_with(read(text, file)?, file, strict)
    }
}

/// How a jobspec is judged by `fractale jobspec validate|count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rules {
    /// RFC 14, and RFC 25 for version 1: what fractale matches.
    Rfc,
    /// What flux-core's `validate_jobspec` accepts (see `flux`).
    Flux,
}

/// A jobspec that passed: its version and its resource request.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub version: u64,
    pub resources: Vec<Request>,
}

/// Validate a decoded jobspec document under `rules`.
pub fn check(document: Value, file: Option<&str>, rules: Rules) -> Result<Checked> {
    match rules {
        Rules::Rfc => Jobspec::from_value(document, file).map(|js| Checked {
            version: js.version,
            resources: js.resources,
        }),
        Rules::Flux => flux::FluxRules { file }.document(&document),
    }
}
