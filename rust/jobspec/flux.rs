//! flux-core's acceptance rules (`fractale jobspec validate --lenient`): what
//! `flux.job.Jobspec.validate_jobspec` accepts beyond RFC 14/25.

use serde_json::{Map, Value};

use super::checker::{kind_of, render, Checker};
use super::hostlist::parse_idset;
use super::model::{Count, Request, UNBOUNDED};
use super::Checked;
use crate::error::{Error, Result};

/// flux-core's acceptance rules, read from `flux.job.Jobspec.validate_jobspec` (the
/// `Jobspec` and `JobspecV1` constructors): all four top-level keys present and no other;
/// counts as integers (0 allowed except for node, slot and core), range mappings or
/// RFC 45 strings ("4", "1-8", "2+", "2-16:2:*"); resource keys beyond the known ones
/// ignored; any resource type, nested slots and any duration in versions above 1; in
/// version 1 integer counts, a numeric duration and tasks counted per_slot or total.
pub(super) struct FluxRules<'a> {
    pub(super) file: Option<&'a str>,
}

impl FluxRules<'_> {
    fn err(&self, loc: impl Into<String>, rule: impl Into<String>) -> Error {
        Error::jobspec(self.file, loc, rule)
    }

    fn mapping<'v>(&self, v: &'v Value, loc: &str) -> Result<&'v Map<String, Value>> {
        v.as_object()
            .ok_or_else(|| self.err(loc, format!("must be a mapping, found {}", kind_of(v))))
    }

    fn list<'v>(&self, v: &'v Value, loc: &str) -> Result<&'v Vec<Value>> {
        v.as_array()
            .ok_or_else(|| self.err(loc, format!("must be a list, found {}", kind_of(v))))
    }

    fn string<'v>(&self, v: &'v Value, loc: &str) -> Result<&'v str> {
        v.as_str()
            .ok_or_else(|| self.err(loc, format!("must be a string, found {}", render(v))))
    }

    pub(super) fn document(&self, document: &Value) -> Result<Checked> {
        let top = self.mapping(document, "")?;
        const KEYS: [&str; 4] = ["resources", "tasks", "attributes", "version"];
        for key in KEYS {
            if !top.contains_key(key) {
                return Err(self.err(key, "is required (resources, tasks, attributes, version)"));
            }
        }
        if let Some(key) = top.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(self.err(
                key.clone(),
                "is not a jobspec key (resources, tasks, attributes, version)",
            ));
        }
        let version = match top["version"].as_u64() {
            Some(n) if n >= 1 => n,
            _ => {
                return Err(self.err(
                    "version",
                    format!(
                        "must be an integer of 1 or more, found {}",
                        render(&top["version"])
                    ),
                ))
            }
        };
        let v1 = version == 1;
        let resources = self
            .list(&top["resources"], "resources")?
            .iter()
            .enumerate()
            .map(|(i, r)| self.resource(r, &format!("resources[{i}]"), v1))
            .collect::<Result<Vec<_>>>()?;
        for (i, task) in self.list(&top["tasks"], "tasks")?.iter().enumerate() {
            self.task(task, &format!("tasks[{i}]"), v1)?;
        }
        let attributes = self.mapping(&top["attributes"], "attributes")?;
        if let Some(key) = attributes
            .keys()
            .find(|k| !matches!(k.as_str(), "system" | "user"))
        {
            return Err(self.err(
                format!("attributes.{key}"),
                "is not an attribute section (system, user)",
            ));
        }
        match attributes.get("system") {
            None if v1 => Err(self.err(
                "attributes.system",
                "is required in a version 1 jobspec (with its duration)",
            )),
            None => Ok(()),
            Some(system) => self.system(self.mapping(system, "attributes.system")?, v1),
        }?;
        Ok(Checked { version, resources })
    }

    fn resource(&self, v: &Value, loc: &str, v1: bool) -> Result<Request> {
        let map = self.mapping(v, loc)?;
        let kind = self
            .string(
                map.get("type")
                    .ok_or_else(|| self.err(loc, "a resource needs a \"type\""))?,
                &format!("{loc}.type"),
            )?
            .to_owned();
        let at = format!("{loc}.count");
        let count = match map.get("count") {
            None => return Err(self.err(loc, "a resource needs a \"count\"")),
            Some(Value::Object(range)) if !v1 => self.range(range, &at)?,
            Some(Value::String(text)) if !v1 => self.count_string(text, &at)?,
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {
                let floor = if matches!(kind.as_str(), "node" | "slot" | "core") {
                    1
                } else {
                    0
                };
                match n.as_u64() {
                    Some(c) if c >= floor => Count::fixed(c.min(UNBOUNDED)),
                    _ => {
                        return Err(self.err(
                            at,
                            format!("must be at least {floor} for a {kind}, found {n}"),
                        ))
                    }
                }
            }
            Some(other) if v1 => {
                return Err(self.err(
                    at,
                    format!(
                        "must be an integer in a version 1 jobspec, found {}",
                        render(other)
                    ),
                ))
            }
            Some(other) => {
                return Err(self.err(
                    at,
                    format!(
                        "must be an integer, a range mapping or a range string, found {}",
                        render(other)
                    ),
                ))
            }
        };
        for key in ["id", "unit", "label"] {
            if let Some(value) = map.get(key) {
                self.string(value, &format!("{loc}.{key}"))?;
            }
        }
        let exclusive = match map.get("exclusive") {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(other) => {
                return Err(self.err(
                    format!("{loc}.exclusive"),
                    format!("must be true or false, found {}", render(other)),
                ))
            }
        };
        let label = map.get("label").and_then(Value::as_str).map(str::to_owned);
        if kind == "slot" && label.is_none() {
            return Err(self.err(loc, "every slot needs a \"label\""));
        }
        let with = match map.get("with") {
            None => Vec::new(),
            Some(children) => self
                .list(children, &format!("{loc}.with"))?
                .iter()
                .enumerate()
                .map(|(i, child)| self.resource(child, &format!("{loc}.with[{i}]"), v1))
                .collect::<Result<Vec<_>>>()?,
        };
        Ok(Request {
            kind,
            count,
            unit: map.get("unit").and_then(Value::as_str).map(str::to_owned),
            exclusive,
            label,
            with,
        })
    }

    /// A range mapping: `min`, and optionally `max`, `operator` with `operand`.
    fn range(&self, range: &Map<String, Value>, loc: &str) -> Result<Count> {
        if let Some(key) = range
            .keys()
            .find(|k| !matches!(k.as_str(), "min" | "max" | "operator" | "operand"))
        {
            return Err(self.err(
                format!("{loc}.{key}"),
                "is not a count key (min, max, operator, operand)",
            ));
        }
        let number = |key: &str| -> Result<Option<u64>> {
            match range.get(key) {
                None => Ok(None),
                Some(v) => match v.as_u64() {
                    Some(n) if n >= 1 => Ok(Some(n)),
                    _ => Err(self.err(
                        format!("{loc}.{key}"),
                        format!("must be an integer of at least 1, found {}", render(v)),
                    )),
                },
            }
        };
        let min = number("min")?.ok_or_else(|| self.err(loc, "a count range needs \"min\""))?;
        let max = number("max")?;
        let operand = number("operand")?;
        let operator = match range.get("operator") {
            None => None,
            Some(Value::String(op)) if matches!(op.as_str(), "+" | "*" | "^") => op.chars().next(),
            Some(other) => {
                return Err(self.err(
                    format!("{loc}.operator"),
                    format!(
                        "must be one of \"+\", \"*\", \"^\", found {}",
                        render(other)
                    ),
                ))
            }
        };
        self.count_from(min, max, operator, operand, loc)
    }

    fn count_from(
        &self,
        min: u64,
        max: Option<u64>,
        operator: Option<char>,
        operand: Option<u64>,
        loc: &str,
    ) -> Result<Count> {
        if max.is_some_and(|m| m < min) {
            return Err(self.err(loc, "max must be greater than or equal to min"));
        }
        if operator.is_some() != operand.is_some() {
            return Err(self.err(
                loc,
                "operator and operand go together: give both or neither",
            ));
        }
        let (operator, operand) = (operator.unwrap_or('+'), operand.unwrap_or(1));
        if operator != '+' && operand < 2 {
            return Err(self.err(loc, format!("the operand must be above 1 for '{operator}'")));
        }
        if operator == '^' && min < 2 {
            return Err(self.err(loc, "min must be above 1 for '^'"));
        }
        Ok(Count {
            min: min.min(UNBOUNDED),
            max: max.unwrap_or(UNBOUNDED).min(UNBOUNDED),
            operator,
            operand,
        })
    }

    /// An RFC 45 count string: an idset (`"4"`, `"1-8"`, `"2,4,8"`, counted from its least
    /// to its greatest member) or a range (`"2+"`, `"2-16:2"`, `"2-16:2:*"`).
    fn count_string(&self, text: &str, loc: &str) -> Result<Count> {
        if let Ok(ranges) = parse_idset(text) {
            let least = ranges.iter().map(|r| r.0).min();
            let most = ranges.iter().map(|r| r.1).max();
            if let (Some(least), Some(most)) = (least, most) {
                if least >= 1 {
                    return Ok(Count {
                        min: least as u64,
                        max: most as u64,
                        operator: '+',
                        operand: 1,
                    });
                }
            }
        }
        let bad = || {
            self.err(
                loc,
                format!("{text:?} is not a count: an idset (4, 1-8) or a range (2+, 2-16:2:*)"),
            )
        };
        let parts: Vec<&str> = text.split(':').collect();
        if parts.len() > 3 || !(parts[0].contains('-') || parts[0].contains('+')) {
            return Err(bad());
        }
        let int = |t: &str| t.trim().parse::<u64>().map_err(|_| bad());
        let (min, max) = match parts[0].split_once('-') {
            Some((lo, hi)) => (int(lo)?, Some(int(hi)?)),
            None => (int(parts[0].trim_end_matches('+'))?, None),
        };
        let operand = parts.get(1).map(|t| int(t)).transpose()?;
        let operator = match parts.get(2) {
            None => operand.map(|_| '+'),
            Some(op) if matches!(*op, "+" | "*" | "^") => op.chars().next(),
            Some(_) => return Err(bad()),
        };
        if min < 1 || max == Some(0) || operand == Some(0) {
            return Err(self.err(
                loc,
                format!("{text:?}: every number of a count is 1 or more"),
            ));
        }
        self.count_from(min, max, operator, operand, loc)
    }

    fn task(&self, v: &Value, loc: &str, v1: bool) -> Result<()> {
        let map = self.mapping(v, loc)?;
        for key in ["command", "slot", "count"] {
            if !map.contains_key(key) {
                return Err(self.err(loc, format!("a task needs a \"{key}\"")));
            }
        }
        let count = self.mapping(&map["count"], &format!("{loc}.count"))?;
        let keys: Vec<&str> = count.keys().map(String::as_str).collect();
        let key = match keys.as_slice() {
            [one] if matches!(*one, "per_slot" | "total") => *one,
            ["per_resource"] if !v1 => "per_resource",
            _ => {
                let allowed = if v1 {
                    "per_slot or total"
                } else {
                    "per_slot, per_resource or total"
                };
                return Err(self.err(
                    format!("{loc}.count"),
                    format!("must hold exactly one of {allowed}"),
                ));
            }
        };
        if key != "per_resource" {
            let n = &count[key];
            if n.as_u64().is_none_or(|n| n < 1) {
                return Err(self.err(
                    format!("{loc}.count.{key}"),
                    format!("must be an integer of at least 1, found {}", render(n)),
                ));
            }
        }
        self.string(&map["slot"], &format!("{loc}.slot"))?;
        if let Some(attributes) = map.get("attributes") {
            self.mapping(attributes, &format!("{loc}.attributes"))?;
        }
        let command = self.list(&map["command"], &format!("{loc}.command"))?;
        if command.is_empty() {
            return Err(self.err(format!("{loc}.command"), "must not be empty"));
        }
        for (i, word) in command.iter().enumerate() {
            self.string(word, &format!("{loc}.command[{i}]"))?;
        }
        Ok(())
    }

    fn system(&self, system: &Map<String, Value>, v1: bool) -> Result<()> {
        let loc = "attributes.system";
        match system.get("duration") {
            None if v1 => {
                return Err(self.err(
                    format!("{loc}.duration"),
                    "is required in a version 1 jobspec",
                ))
            }
            Some(d) if v1 && !d.is_number() => {
                return Err(self.err(
                    format!("{loc}.duration"),
                    format!(
                        "must be a number in a version 1 jobspec, found {}",
                        render(d)
                    ),
                ))
            }
            _ => {}
        }
        if let Some(dependencies) = system.get("dependencies") {
            let at = format!("{loc}.dependencies");
            for (i, dependency) in self.list(dependencies, &at)?.iter().enumerate() {
                let at = format!("{at}[{i}]");
                let dependency = self.mapping(dependency, &at)?;
                for key in ["scheme", "value"] {
                    let value = dependency
                        .get(key)
                        .ok_or_else(|| self.err(&at, format!("a dependency needs a \"{key}\"")))?;
                    self.string(value, &format!("{at}.{key}"))?;
                }
            }
        }
        if let Some(constraints) = system.get("constraints") {
            Checker {
                file: self.file,
                v1: false,
            }
            .constraint(constraints, &format!("{loc}.constraints"))?;
        }
        Ok(())
    }
}
