//! The RFC 14 checker (with RFC 25's stricter rules for `version: 1`): a decoded jobspec
//! document becomes a `Jobspec`, or an error naming the place of the first broken rule.

use serde_json::{Map, Value};

use super::model::{Count, Jobspec, Request, Task, TaskCount, UNBOUNDED};
use crate::error::{Error, Result};

pub(super) struct Checker<'a> {
    pub(super) file: Option<&'a str>,
    /// Apply RFC 25's version 1 rules.
    pub(super) v1: bool,
}

pub(super) fn kind_of(v: &Value) -> &'static str {
    crate::jgf::describe_value(v, "a mapping")
}

impl<'a> Checker<'a> {
    pub(super) fn err(&self, loc: impl Into<String>, rule: impl Into<String>) -> Error {
        Error::jobspec(self.file, loc, rule)
    }

    pub(super) fn object<'v>(&self, v: &'v Value, loc: &str) -> Result<&'v Map<String, Value>> {
        v.as_object()
            .ok_or_else(|| self.err(loc, format!("must be a mapping, found {}", kind_of(v))))
    }

    fn positive(&self, v: &Value, loc: &str) -> Result<u64> {
        match v.as_u64() {
            Some(n) if n >= 1 => Ok(n),
            _ => Err(self.err(
                loc,
                format!("must be an integer of at least 1, found {}", render(v)),
            )),
        }
    }

    fn count(&self, v: &Value, loc: &str) -> Result<Count> {
        if v.is_number() {
            let n = self.positive(v, loc)?;
            if n > UNBOUNDED {
                return Err(self.err(loc, format!("must be at most {UNBOUNDED}")));
            }
            return Ok(Count::fixed(n));
        }
        if self.v1 {
            return Err(self.err(
                loc,
                "must be a single integer in a version 1 jobspec (RFC 25)",
            ));
        }
        let map = self.object(v, loc)?;
        for key in map.keys() {
            if !matches!(key.as_str(), "min" | "max" | "operator" | "operand") {
                return Err(self.err(
                    format!("{loc}.{key}"),
                    "is not a count key (min, max, operator, operand)",
                ));
            }
        }
        let min = self.positive(
            map.get("min")
                .ok_or_else(|| self.err(loc, "a count mapping needs \"min\""))?,
            &format!("{loc}.min"),
        )?;
        let present = ["max", "operator", "operand"]
            .iter()
            .filter(|k| map.contains_key(**k))
            .count();
        if present != 0 && present != 3 {
            return Err(self.err(
                loc,
                "\"max\", \"operator\" and \"operand\" go together: give all three or none",
            ));
        }
        if present == 0 {
            return Ok(Count {
                min,
                max: UNBOUNDED,
                operator: '+',
                operand: 1,
            });
        }
        let max = self
            .positive(&map["max"], &format!("{loc}.max"))?
            .min(UNBOUNDED);
        if max < min {
            return Err(self.err(
                format!("{loc}.max"),
                "must be greater than or equal to \"min\"",
            ));
        }
        let operator = match map["operator"].as_str() {
            Some("+") => '+',
            Some("*") => '*',
            Some("^") => '^',
            _ => {
                return Err(self.err(
                    format!("{loc}.operator"),
                    "must be one of \"+\", \"*\", \"^\"",
                ))
            }
        };
        let operand = self.positive(&map["operand"], &format!("{loc}.operand"))?;
        if operator != '+' && operand < 2 {
            return Err(self.err(
                format!("{loc}.operand"),
                format!("must be greater than one for '{operator}'"),
            ));
        }
        if operator == '^' && min < 2 {
            return Err(self.err(format!("{loc}.min"), "must be greater than one for '^'"));
        }
        Ok(Count {
            min,
            max,
            operator,
            operand,
        })
    }

    fn request(
        &self,
        v: &Value,
        loc: &str,
        slots_above: usize,
        slots: &mut Vec<String>,
    ) -> Result<Request> {
        let map = self.object(v, loc)?;
        for key in map.keys() {
            let allowed = matches!(
                key.as_str(),
                "type" | "count" | "unit" | "exclusive" | "label" | "with" | "requires" | "id"
            );
            if !allowed {
                return Err(self.err(
                    format!("{loc}.{key}"),
                    "is not a resource key (type, count, unit, exclusive, label, with)",
                ));
            }
        }
        let kind = match map.get("type") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(other) => {
                return Err(self.err(
                    format!("{loc}.type"),
                    format!("must be a non-empty string, found {}", render(other)),
                ))
            }
            None => return Err(self.err(loc, "a resource needs a \"type\"")),
        };
        let count = self.count(
            map.get("count")
                .ok_or_else(|| self.err(loc, "a resource needs a \"count\""))?,
            &format!("{loc}.count"),
        )?;
        let unit = match map.get("unit") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                return Err(self.err(
                    format!("{loc}.unit"),
                    format!("must be a string, found {}", render(other)),
                ))
            }
        };
        let exclusive = match map.get("exclusive") {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) if s == "true" => Some(true),
            Some(Value::String(s)) if s == "false" => Some(false),
            Some(other) => {
                return Err(self.err(
                    format!("{loc}.exclusive"),
                    format!("must be true or false, found {}", render(other)),
                ))
            }
        };
        let label = match map.get("label") {
            None => None,
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(other) => {
                return Err(self.err(
                    format!("{loc}.label"),
                    format!("must be a non-empty string, found {}", render(other)),
                ))
            }
        };
        let is_slot = kind == "slot";
        if is_slot {
            let label = label
                .clone()
                .ok_or_else(|| self.err(loc, "every slot needs a \"label\""))?;
            if slots_above > 0 {
                return Err(self.err(loc, "a slot cannot sit inside another slot"));
            }
            slots.push(label);
        }
        if self.v1 {
            if !matches!(kind.as_str(), "node" | "slot" | "core" | "gpu") {
                return Err(self.err(
                    format!("{loc}.type"),
                    format!("{kind:?} is not a version 1 resource type (node, slot, core, gpu)"),
                ));
            }
            if exclusive.is_some() && kind != "node" {
                return Err(self.err(
                    format!("{loc}.exclusive"),
                    "only a node may say \"exclusive\" in a version 1 jobspec",
                ));
            }
        }
        let below = slots_above + usize::from(is_slot);
        let with = match map.get("with") {
            None => Vec::new(),
            Some(Value::Array(list)) if !list.is_empty() => list
                .iter()
                .enumerate()
                .map(|(i, child)| self.request(child, &format!("{loc}.with[{i}]"), below, slots))
                .collect::<Result<Vec<_>>>()?,
            Some(other) => {
                return Err(self.err(
                    format!("{loc}.with"),
                    format!("must be a non-empty list, found {}", render(other)),
                ))
            }
        };
        if is_slot && with.is_empty() {
            return Err(self.err(
                loc,
                "a slot must contain the resources of one task (\"with\")",
            ));
        }
        if exclusive == Some(false) && slots_above > 0 {
            return Err(self.err(
                format!("{loc}.exclusive"),
                "resources inside a slot are always exclusive",
            ));
        }
        let mut seen = Vec::new();
        for (i, child) in with.iter().enumerate() {
            if seen.contains(&&child.kind) {
                return Err(self.err(
                    format!("{loc}.with[{i}]"),
                    format!("{:?} appears twice at one level", child.kind),
                ));
            }
            seen.push(&child.kind);
        }
        Ok(Request {
            kind,
            count,
            unit,
            exclusive,
            label,
            with,
        })
    }

    fn v1_shape(&self, resources: &[Request]) -> Result<()> {
        let top = &resources[0];
        let slot = match top.kind.as_str() {
            "slot" => top,
            "node" => match top.with.as_slice() {
                [only] if only.is_slot() => only,
                _ => {
                    return Err(self.err(
                        "resources[0].with",
                        "in a version 1 jobspec a node contains exactly one slot",
                    ))
                }
            },
            _ => {
                return Err(self.err(
                    "resources[0].type",
                    "a version 1 jobspec starts with a node or a slot",
                ))
            }
        };
        let kinds: Vec<&str> = slot.with.iter().map(|r| r.kind.as_str()).collect();
        let ok = matches!(
            kinds.as_slice(),
            ["core"] | ["core", "gpu"] | ["gpu", "core"]
        );
        if !ok || slot.with.iter().any(|r| !r.with.is_empty()) {
            return Err(self.err(
                "resources",
                "a version 1 slot holds core, or core and gpu, and nothing below them",
            ));
        }
        Ok(())
    }

    fn task(&self, v: &Value, loc: &str, slots: &[String]) -> Result<Task> {
        let map = self.object(v, loc)?;
        let command = match map.get("command") {
            Some(Value::Array(list)) => list
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    a.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| self.err(format!("{loc}.command[{i}]"), "must be a string"))
                })
                .collect::<Result<Vec<_>>>()?,
            Some(Value::String(s)) if !self.v1 => vec![s.clone()],
            Some(other) => {
                return Err(self.err(
                    format!("{loc}.command"),
                    format!("must be a list of strings, found {}", render(other)),
                ))
            }
            None => return Err(self.err(loc, "a task needs a \"command\"")),
        };
        if self.v1 && command.is_empty() {
            return Err(self.err(
                format!("{loc}.command"),
                "must not be empty in a version 1 jobspec",
            ));
        }
        let slot = match map.get("slot") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(self.err(
                    format!("{loc}.slot"),
                    format!("must be a slot label, found {}", render(other)),
                ))
            }
            None => return Err(self.err(loc, "a task needs a \"slot\"")),
        };
        // Fluxion's own jobspecs name slots loosely; RFC 25 holds version 1 to it.
        if self.v1 && !slots.contains(&slot) {
            return Err(self.err(
                format!("{loc}.slot"),
                format!(
                    "names no slot of the resources ({slot:?}; slots: {})",
                    slots.join(", ")
                ),
            ));
        }
        let count_map = self.object(
            map.get("count")
                .ok_or_else(|| self.err(loc, "a task needs a \"count\""))?,
            &format!("{loc}.count"),
        )?;
        if count_map.len() != 1 {
            return Err(self.err(
                format!("{loc}.count"),
                "must hold exactly one of per_slot, total (or per_resource)",
            ));
        }
        let (key, value) = count_map
            .iter()
            .next()
            .ok_or_else(|| self.err(format!("{loc}.count"), "is empty"))?;
        let at = format!("{loc}.count.{key}");
        let count = match key.as_str() {
            "per_slot" => {
                let n = self.positive(value, &at)?;
                if self.v1 && n != 1 {
                    return Err(self.err(at, "must be 1 in a version 1 jobspec"));
                }
                TaskCount::PerSlot(n)
            }
            "total" => TaskCount::Total(self.positive(value, &at)?),
            "per_resource" if !self.v1 => {
                let pr = self.object(value, &at)?;
                let kind = pr
                    .get("type")
                    .and_then(Value::as_str)
                    .ok_or_else(|| self.err(format!("{at}.type"), "must be a resource type"))?;
                let count = self.positive(
                    pr.get("count").unwrap_or(&Value::Null),
                    &format!("{at}.count"),
                )?;
                TaskCount::PerResource {
                    kind: kind.to_owned(),
                    count,
                }
            }
            _ => return Err(self.err(at, "is not a task count (per_slot, total)")),
        };
        Ok(Task {
            command,
            slot,
            count,
        })
    }
}

pub(super) fn render(v: &Value) -> String {
    let text = v.to_string();
    if text.len() > 40 {
        format!(
            "{}...",
            &text[..text
                .char_indices()
                .nth(37)
                .map(|(i, _)| i)
                .unwrap_or(text.len())]
        )
    } else {
        text
    }
}

impl Jobspec {
    /// Validate a decoded jobspec document: RFC 14, and RFC 25 when `version` is 1.
    pub fn from_value(document: Value, file: Option<&str>) -> Result<Jobspec> {
        Self::from_value_with(document, file, true)
    }

    /// Validate as Fluxion's matcher reads jobspecs: RFC 14 whatever the version, so that
    /// version 1 documents with resource types beyond RFC 25's are accepted (`strict = false`).
    pub fn from_value_with(document: Value, file: Option<&str>, strict: bool) -> Result<Jobspec> {
        let mut checker = Checker { file, v1: false };
        let top = checker.object(&document, "")?;
        let version = match top.get("version") {
            Some(v) => match v.as_u64() {
                Some(n) if (1..=9999).contains(&n) => n,
                _ => {
                    return Err(checker.err(
                        "version",
                        format!("must be an integer from 1 to 9999, found {}", render(v)),
                    ))
                }
            },
            None => return Err(checker.err("version", "a jobspec needs a \"version\"")),
        };
        checker.v1 = strict && version == 1;
        for key in top.keys() {
            if !matches!(
                key.as_str(),
                "version" | "resources" | "tasks" | "attributes"
            ) {
                return Err(checker.err(
                    key.clone(),
                    "is not a jobspec key (version, resources, tasks, attributes)",
                ));
            }
        }
        let resources_value = top
            .get("resources")
            .ok_or_else(|| checker.err("resources", "a jobspec needs \"resources\""))?;
        let list = match resources_value {
            Value::Array(list) if !list.is_empty() => list,
            other => {
                return Err(checker.err(
                    "resources",
                    format!("must be a non-empty list, found {}", render(other)),
                ))
            }
        };
        if checker.v1 && list.len() != 1 {
            return Err(checker.err(
                "resources",
                "a version 1 jobspec has exactly one top-level resource",
            ));
        }
        let mut slots = Vec::new();
        let resources = list
            .iter()
            .enumerate()
            .map(|(i, r)| checker.request(r, &format!("resources[{i}]"), 0, &mut slots))
            .collect::<Result<Vec<_>>>()?;
        if slots.is_empty() {
            return Err(checker.err(
                "resources",
                "the resources must contain a slot, they contain none",
            ));
        }
        if checker.v1 && slots.len() != 1 {
            return Err(checker.err(
                "resources",
                format!(
                    "a version 1 jobspec contains exactly one slot, this one {}",
                    slots.len()
                ),
            ));
        }
        if checker.v1 {
            checker.v1_shape(&resources)?;
        }
        let tasks = match top.get("tasks") {
            Some(Value::Array(list)) if !list.is_empty() => list
                .iter()
                .enumerate()
                .map(|(i, t)| checker.task(t, &format!("tasks[{i}]"), &slots))
                .collect::<Result<Vec<_>>>()?,
            Some(other) => {
                return Err(checker.err(
                    "tasks",
                    format!("must be a non-empty list, found {}", render(other)),
                ))
            }
            None => return Err(checker.err("tasks", "a jobspec needs \"tasks\"")),
        };
        if checker.v1 && tasks.len() != 1 {
            return Err(checker.err("tasks", "a version 1 jobspec has exactly one task"));
        }
        let (mut duration, mut constraints, mut requires) = (None, None, Vec::new());
        match top.get("attributes") {
            None if checker.v1 => {
                return Err(checker.err(
                    "attributes",
                    "a version 1 jobspec needs attributes.system.duration",
                ))
            }
            None | Some(Value::Null) => {}
            Some(attrs) => {
                let attrs = checker.object(attrs, "attributes")?;
                for key in attrs.keys() {
                    if !matches!(key.as_str(), "system" | "user") {
                        return Err(checker.err(
                            format!("attributes.{key}"),
                            "is not an attribute section (system, user)",
                        ));
                    }
                }
                if let Some(user) = attrs.get("user") {
                    checker.object(user, "attributes.user")?;
                }
                match attrs.get("system") {
                    None if checker.v1 => {
                        return Err(checker.err(
                            "attributes.system",
                            "a version 1 jobspec needs attributes.system.duration",
                        ))
                    }
                    None => {}
                    Some(system) => {
                        let system = checker.object(system, "attributes.system")?;
                        match system.get("duration") {
                            None if checker.v1 => {
                                return Err(checker.err(
                                    "attributes.system.duration",
                                    "is required in a version 1 jobspec",
                                ))
                            }
                            None => {}
                            Some(d) => match d.as_f64() {
                                Some(x) if x >= 0.0 && x.is_finite() => duration = Some(x),
                                _ => {
                                    return Err(checker.err(
                                        "attributes.system.duration",
                                        format!(
                                            "must be a number of seconds, 0 or more, found {}",
                                            render(d)
                                        ),
                                    ))
                                }
                            },
                        }
                        if let Some(c) = system.get("constraints") {
                            constraints =
                                Some(checker.constraint(c, "attributes.system.constraints")?);
                        }
                        if let Some(r) = system.get("requires") {
                            requires = checker.requires(r)?;
                        }
                    }
                }
            }
        }
        Ok(Jobspec {
            version,
            resources,
            tasks,
            duration,
            constraints,
            requires,
            document,
        })
    }
}
