//! Software requirements (`attributes.system.requires`): fractale's form and upstream
//! fractale's (`requires.software: [{name, type}]`), each entry checked at its place.

use serde_json::{Map, Value};

use super::checker::{render, Checker};
use crate::error::Result;

/// The keys a software requirement may have: fractale's (`name`, `version`, `kind`,
/// `compiler`, `target`), upstream fractale's `type` (binary, library, package, module) and
/// every attribute compspec writes on a package or module.
pub const REQUIREMENT_KEYS: &[&str] = &[
    "name",
    "version",
    "type",
    "kind",
    "compiler",
    "compiler_version",
    "target",
    "os",
    "platform",
    "vendor",
    "software",
];

/// What a requirement's `type` may name: the software vertex types of a graph.
pub const SOFTWARE_TYPES: &[&str] = &["binary", "library", "package", "module"];

impl Checker<'_> {
    /// `attributes.system.requires`: a mapping `{software: [...]}`, or a list of such
    /// mappings and of software entries; returned as a list of `{software: [...]}` and
    /// entries, every entry checked.
    pub(super) fn requires(&self, value: &Value) -> Result<Vec<Value>> {
        let loc = "attributes.system.requires";
        match value {
            Value::Object(map) => {
                self.requirement_kinds(map, loc)?;
                Ok(map.iter().map(|(k, v)| serde_json::json!({k: v})).collect())
            }
            Value::Array(list) => {
                for (i, entry) in list.iter().enumerate() {
                    let at = format!("{loc}[{i}]");
                    match entry {
                        Value::Object(map) if !map.contains_key("name") => {
                            self.requirement_kinds(map, &at)?
                        }
                        _ => self.software_entry(entry, &at)?,
                    }
                }
                Ok(list.clone())
            }
            other => Err(self.err(
                loc,
                format!("must be a list of requirements, found {}", render(other)),
            )),
        }
    }

    /// `{software: [...]}`: software is the one kind of requirement fractale checks.
    fn requirement_kinds(&self, map: &Map<String, Value>, loc: &str) -> Result<()> {
        for (key, value) in map {
            let at = format!("{loc}.{key}");
            if key != "software" {
                return Err(self.err(
                    at,
                    "is not a kind of requirement fractale checks (software), and a software \
                     entry needs a \"name\"",
                ));
            }
            match value {
                Value::Array(entries) => {
                    for (i, entry) in entries.iter().enumerate() {
                        self.software_entry(entry, &format!("{at}[{i}]"))?;
                    }
                }
                single => self.software_entry(single, &at)?,
            }
        }
        Ok(())
    }

    /// One software entry: text such as `gromacs>=2023`, or a mapping with a name.
    fn software_entry(&self, entry: &Value, loc: &str) -> Result<()> {
        let map = match entry {
            Value::String(text) if !text.trim().is_empty() => return Ok(()),
            Value::Object(map) => map,
            other => {
                return Err(self.err(
                    loc,
                    format!(
                        "must be a software requirement (a mapping with a name, or text such \
                         as gromacs>=2023), found {}",
                        render(other)
                    ),
                ))
            }
        };
        for (key, value) in map {
            let at = format!("{loc}.{key}");
            if !REQUIREMENT_KEYS.contains(&key.as_str()) {
                return Err(self.err(
                    at,
                    format!(
                        "is not a software requirement key ({})",
                        REQUIREMENT_KEYS.join(", ")
                    ),
                ));
            }
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) if key == "version" || key == "compiler_version" => n.to_string(),
                other => {
                    return Err(self.err(at, format!("must be a string, found {}", render(other))))
                }
            };
            if key == "name" && text.trim().is_empty() {
                return Err(self.err(at, "must name the software"));
            }
            if key == "type" && !SOFTWARE_TYPES.contains(&text.as_str()) {
                return Err(self.err(
                    at,
                    format!(
                        "must be one of {}, found {text:?}",
                        SOFTWARE_TYPES.join(", ")
                    ),
                ));
            }
            if key == "kind" && !matches!(text.as_str(), "spack" | "package" | "module") {
                return Err(self.err(
                    at,
                    format!("must be spack (or package) or module, found {text:?}"),
                ));
            }
        }
        if !map.contains_key("name") {
            return Err(self.err(loc, "a software requirement needs a \"name\""));
        }
        Ok(())
    }
}
