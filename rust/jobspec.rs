//! Canonical jobspecs (Flux RFC 14, with RFC 25's stricter V1 rules when `version: 1`) and
//! their RFC 31 constraints: parsed from JSON values, validated with the location of every
//! broken rule.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// A resource count: a fixed integer is `min == max` with `+ 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub min: u64,
    pub max: u64,
    pub operator: char,
    pub operand: u64,
}

/// The largest count an open range stands for (`{min: 2}` means "2 or more").
pub const UNBOUNDED: u64 = u32::MAX as u64;

impl Count {
    pub fn fixed(n: u64) -> Self {
        Count {
            min: n,
            max: n,
            operator: '+',
            operand: 1,
        }
    }

    /// The most that can be taken when `available` are there, or 0 when `min` cannot be met.
    pub fn take(&self, available: u64) -> u64 {
        if self.min > self.max || self.min > available {
            return 0;
        }
        match self.operator {
            '+' => {
                let count = available.min(self.max);
                count - (count - self.min) % self.operand.max(1)
            }
            '*' => {
                let (mut cur, mut count) = (self.min, 0);
                if self.operand == 1 {
                    return cur;
                }
                while cur <= available && cur <= self.max {
                    count = cur;
                    cur = cur.saturating_mul(self.operand);
                }
                count
            }
            '^' => {
                let (mut cur, mut count) = (self.min, 0);
                if self.operand < 2 || cur == 1 {
                    return cur;
                }
                while cur <= available && cur <= self.max {
                    let base = cur;
                    count = cur;
                    for _ in 1..self.operand {
                        cur = cur.saturating_mul(base);
                    }
                }
                count
            }
            _ => 0,
        }
    }

    /// The count taken when nothing limits it.
    pub fn effective_max(&self) -> u64 {
        self.take(UNBOUNDED)
    }
}

/// One level of a resource request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub kind: String,
    pub count: Count,
    pub unit: Option<String>,
    /// `Some(true)` / `Some(false)` when the jobspec says so, `None` when it is silent.
    pub exclusive: Option<bool>,
    pub label: Option<String>,
    pub with: Vec<Request>,
}

impl Request {
    pub fn is_slot(&self) -> bool {
        self.kind == "slot"
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum TaskCount {
    PerSlot(u64),
    Total(u64),
    PerResource { kind: String, count: u64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub command: Vec<String>,
    pub slot: String,
    pub count: TaskCount,
}

/// An RFC 31 constraint on `node` vertices.
#[derive(Debug, Clone, PartialEq)]
pub enum Constraint {
    /// Every listed property present (`^name`: absent).
    Properties(Vec<String>),
    /// The vertex name is in one of these hostlists.
    Hostlist(Vec<Hostlist>),
    /// The vertex rank is in one of these idsets.
    Ranks(Vec<(i64, i64)>),
    And(Vec<Constraint>),
    Or(Vec<Constraint>),
    /// Negates the conjunction of its list.
    Not(Vec<Constraint>),
}

/// Things a constraint can be tested against.
pub trait ConstraintTarget {
    fn name(&self) -> &str;
    fn rank(&self) -> i64;
    fn has_property(&self, key: &str) -> bool;
}

impl Constraint {
    pub fn matches<T: ConstraintTarget + ?Sized>(&self, target: &T) -> bool {
        match self {
            Constraint::Properties(props) => props.iter().all(|p| match p.strip_prefix('^') {
                Some(absent) => !target.has_property(absent),
                None => target.has_property(p),
            }),
            Constraint::Hostlist(lists) => lists.iter().any(|h| h.contains(target.name())),
            Constraint::Ranks(ranges) => {
                let r = target.rank();
                ranges.iter().any(|&(lo, hi)| lo <= r && r <= hi)
            }
            Constraint::And(list) => list.iter().all(|c| c.matches(target)),
            Constraint::Or(list) => list.iter().any(|c| c.matches(target)),
            Constraint::Not(list) => !list.iter().all(|c| c.matches(target)),
        }
    }
}

/// One RFC 29 hostlist term set: `quartz[0-2,5]`, `nid3`, `a[01-10]-ib,b2`.
#[derive(Debug, Clone, PartialEq)]
pub struct Hostlist {
    terms: Vec<HostTerm>,
}

#[derive(Debug, Clone, PartialEq)]
struct HostTerm {
    prefix: String,
    /// `(low, high, zero-padded width)`; empty for a plain host name.
    ranges: Vec<(u64, u64, usize)>,
    suffix: String,
}

impl Hostlist {
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let mut terms = Vec::new();
        let (mut depth, mut start) = (0i32, 0usize);
        let bytes = text.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            match b {
                b'[' => depth += 1,
                b']' => depth -= 1,
                b',' if depth == 0 => {
                    terms.push(HostTerm::parse(&text[start..i])?);
                    start = i + 1;
                }
                _ => {}
            }
            if !(0..=1).contains(&depth) {
                return Err(format!("unbalanced brackets in hostlist {text:?}"));
            }
        }
        if depth != 0 {
            return Err(format!("unbalanced brackets in hostlist {text:?}"));
        }
        terms.push(HostTerm::parse(&text[start..])?);
        Ok(Hostlist { terms })
    }

    pub fn contains(&self, host: &str) -> bool {
        self.terms.iter().any(|t| t.contains(host))
    }
}

impl HostTerm {
    fn parse(text: &str) -> std::result::Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("empty host name in hostlist".into());
        }
        let Some(open) = text.find('[') else {
            return Ok(HostTerm {
                prefix: text.to_owned(),
                ranges: Vec::new(),
                suffix: String::new(),
            });
        };
        let close = text
            .find(']')
            .ok_or_else(|| format!("unbalanced brackets in hostlist {text:?}"))?;
        let mut ranges = Vec::new();
        for part in text[open + 1..close].split(',') {
            let (lo, hi) = match part.split_once('-') {
                Some((lo, hi)) => (lo, hi),
                None => (part, part),
            };
            let parse = |s: &str| {
                s.parse::<u64>().map_err(|_| {
                    format!("{part:?} is not a number or a range in hostlist {text:?}")
                })
            };
            let (l, h) = (parse(lo)?, parse(hi)?);
            if l > h {
                return Err(format!(
                    "range {part:?} runs backwards in hostlist {text:?}"
                ));
            }
            let width = if lo.len() > 1 && lo.starts_with('0') {
                lo.len()
            } else {
                0
            };
            ranges.push((l, h, width));
        }
        Ok(HostTerm {
            prefix: text[..open].to_owned(),
            ranges,
            suffix: text[close + 1..].to_owned(),
        })
    }

    fn contains(&self, host: &str) -> bool {
        if self.ranges.is_empty() {
            return host == self.prefix;
        }
        let Some(middle) = host
            .strip_prefix(&self.prefix)
            .and_then(|rest| rest.strip_suffix(&self.suffix))
        else {
            return false;
        };
        if middle.is_empty() || !middle.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        let Ok(n) = middle.parse::<u64>() else {
            return false;
        };
        self.ranges.iter().any(|&(lo, hi, width)| {
            let padded_ok = if width > 0 {
                middle.len() == width.max(n.to_string().len())
            } else {
                middle == n.to_string()
            };
            lo <= n && n <= hi && padded_ok
        })
    }
}

/// Parse an RFC 22 idset (`"0-3,7"`) into inclusive ranges.
pub fn parse_idset(text: &str) -> std::result::Result<Vec<(i64, i64)>, String> {
    let body = text.trim().trim_start_matches('[').trim_end_matches(']');
    let mut out = Vec::new();
    for part in body.split(',') {
        let part = part.trim();
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        let parse = |s: &str| {
            s.trim()
                .parse::<i64>()
                .map_err(|_| format!("{text:?} is not an idset such as \"0-3,7\""))
        };
        let (l, h) = (parse(lo)?, parse(hi)?);
        if l > h || l < 0 {
            return Err(format!("{text:?} is not an idset such as \"0-3,7\""));
        }
        out.push((l, h));
    }
    Ok(out)
}

/// A validated canonical jobspec.
#[derive(Debug, Clone, PartialEq)]
pub struct Jobspec {
    pub version: u64,
    pub resources: Vec<Request>,
    pub tasks: Vec<Task>,
    pub duration: Option<f64>,
    pub constraints: Option<Constraint>,
    pub requires: Vec<Value>,
    /// The document as given, for writing it back.
    pub document: Value,
}

struct Checker<'a> {
    file: Option<&'a str>,
    /// Apply RFC 25's version 1 rules.
    v1: bool,
}

fn kind_of(v: &Value) -> &'static str {
    crate::jgf::describe_value(v, "a mapping")
}

impl<'a> Checker<'a> {
    fn err(&self, loc: impl Into<String>, rule: impl Into<String>) -> Error {
        Error::jobspec(self.file, loc, rule)
    }

    fn object<'v>(&self, v: &'v Value, loc: &str) -> Result<&'v Map<String, Value>> {
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

    fn constraint(&self, v: &Value, loc: &str) -> Result<Constraint> {
        let map = self.object(v, loc)?;
        let mut parts = Vec::new();
        for (op, operand) in map {
            let at = format!("{loc}.{op}");
            let list = operand.as_array().ok_or_else(|| {
                self.err(&at, format!("must be a list, found {}", kind_of(operand)))
            })?;
            let strings = || -> Result<Vec<String>> {
                list.iter()
                    .enumerate()
                    .map(|(i, s)| {
                        s.as_str().map(str::to_owned).ok_or_else(|| {
                            self.err(
                                format!("{at}[{i}]"),
                                format!("must be a string, found {}", render(s)),
                            )
                        })
                    })
                    .collect()
            };
            let part = match op.as_str() {
                "properties" => {
                    let props = strings()?;
                    for (i, p) in props.iter().enumerate() {
                        let bare = p.strip_prefix('^').unwrap_or(p);
                        if bare.is_empty()
                            || bare.contains(['^', '&', '\'', '"', '`', '|', '(', ')'])
                        {
                            return Err(self.err(
                                format!("{at}[{i}]"),
                                format!("{p:?} is not a property name"),
                            ));
                        }
                    }
                    Constraint::Properties(props)
                }
                "hostlist" => Constraint::Hostlist(
                    strings()?
                        .iter()
                        .enumerate()
                        .map(|(i, s)| {
                            Hostlist::parse(s).map_err(|e| self.err(format!("{at}[{i}]"), e))
                        })
                        .collect::<Result<Vec<_>>>()?,
                ),
                "ranks" => {
                    let mut ranges = Vec::new();
                    for (i, r) in list.iter().enumerate() {
                        match r {
                            Value::Number(n) => {
                                let n = n.as_i64().filter(|n| *n >= 0).ok_or_else(|| {
                                    self.err(format!("{at}[{i}]"), "must be a rank of 0 or more")
                                })?;
                                ranges.push((n, n));
                            }
                            Value::String(s) => ranges.extend(
                                parse_idset(s).map_err(|e| self.err(format!("{at}[{i}]"), e))?,
                            ),
                            other => {
                                return Err(self.err(
                                    format!("{at}[{i}]"),
                                    format!(
                                        "must be an idset string or an integer, found {}",
                                        render(other)
                                    ),
                                ))
                            }
                        }
                    }
                    Constraint::Ranks(ranges)
                }
                "and" | "or" | "not" => {
                    let inner = list
                        .iter()
                        .enumerate()
                        .map(|(i, c)| self.constraint(c, &format!("{at}[{i}]")))
                        .collect::<Result<Vec<_>>>()?;
                    match op.as_str() {
                        "and" => Constraint::And(inner),
                        "or" => Constraint::Or(inner),
                        _ => Constraint::Not(inner),
                    }
                }
                _ => {
                    return Err(self.err(
                        &at,
                        "is not a constraint operator (properties, hostlist, ranks, and, or, not)",
                    ))
                }
            };
            parts.push(part);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Constraint::And(parts)
        })
    }
}

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
    fn requires(&self, value: &Value) -> Result<Vec<Value>> {
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

fn render(v: &Value) -> String {
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
        let top = checker.object(&document, "")?.clone();
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

    pub fn from_json_str(text: &str, file: Option<&str>) -> Result<Jobspec> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            Error::jobspec(
                file,
                format!("line {} column {}", e.line(), e.column()),
                format!("is not valid JSON ({e})"),
            )
        })?;
        Self::from_value(value, file)
    }

    /// The least total amount of each type the request needs.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        fn walk(reqs: &[Request], factor: u64, out: &mut BTreeMap<String, u64>) {
            for r in reqs {
                let n = factor.saturating_mul(r.count.min);
                if !r.is_slot() {
                    *out.entry(r.kind.clone()).or_default() += n;
                }
                walk(&r.with, n, out);
            }
        }
        let mut out = BTreeMap::new();
        walk(&self.resources, 1, &mut out);
        out
    }

    /// The slot request and how many slots the whole request asks for at least.
    pub fn slot(&self) -> Option<&Request> {
        fn find(reqs: &[Request]) -> Option<&Request> {
            reqs.iter()
                .find_map(|r| if r.is_slot() { Some(r) } else { find(&r.with) })
        }
        find(&self.resources)
    }
}

/// How a jobspec is judged by `fractale jobspec validate|count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rules {
    /// RFC 14, and RFC 25 for version 1: what fractale matches.
    Rfc,
    /// What flux-core's `validate_jobspec` accepts (see `flux_check`).
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
        Rules::Flux => FluxRules { file }.document(&document),
    }
}

/// How many of each type a request asks for, slots included (as flux-core's
/// `resource_counts` gives them): the least, and the most (`None` when a range is open).
pub fn tally(resources: &[Request]) -> BTreeMap<String, (u64, Option<u64>)> {
    fn walk(
        reqs: &[Request],
        least: u64,
        most: Option<u64>,
        out: &mut BTreeMap<String, (u64, Option<u64>)>,
    ) {
        for r in reqs {
            let n = least.saturating_mul(r.count.min);
            let m = match (most, r.count.max) {
                (Some(f), c) if c < UNBOUNDED => Some(f.saturating_mul(c)),
                _ => None,
            };
            let entry = out.entry(r.kind.clone()).or_insert((0, Some(0)));
            entry.0 = entry.0.saturating_add(n);
            entry.1 = match (entry.1, m) {
                (Some(a), Some(b)) => Some(a.saturating_add(b)),
                _ => None,
            };
            walk(&r.with, n, m, out);
        }
    }
    let mut out = BTreeMap::new();
    walk(resources, 1, Some(1), &mut out);
    out
}

/// flux-core's acceptance rules, read from `flux.job.Jobspec.validate_jobspec` (the
/// `Jobspec` and `JobspecV1` constructors): all four top-level keys present and no other;
/// counts as integers (0 allowed except for node, slot and core), range mappings or
/// RFC 45 strings ("4", "1-8", "2+", "2-16:2:*"); resource keys beyond the known ones
/// ignored; any resource type, nested slots and any duration in versions above 1; in
/// version 1 integer counts, a numeric duration and tasks counted per_slot or total.
struct FluxRules<'a> {
    file: Option<&'a str>,
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

    fn document(&self, document: &Value) -> Result<Checked> {
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
            if !n.as_u64().is_some_and(|n| n >= 1) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(resources: Value) -> Value {
        json!({"version": 9999, "resources": resources, "attributes": {"system": {"duration": 3600}},
               "tasks": [{"command": ["app"], "slot": "task", "count": {"per_slot": 1}}]})
    }

    #[test]
    fn parses_node_slot_core_with_counts() {
        let js = Jobspec::from_value(spec(json!([{"type": "node", "count": 2, "with": [{"type": "slot", "label": "task", "count": 1, "with": [{"type": "core", "count": 4}]}]}])), None).unwrap();
        assert_eq!(js.resources[0].count, Count::fixed(2));
        assert_eq!(js.counts()["core"], 8);
        assert_eq!(js.duration, Some(3600.0));
        assert_eq!(js.slot().unwrap().label.as_deref(), Some("task"));
    }

    #[test]
    fn a_range_takes_what_is_there_up_to_max() {
        let c = Count {
            min: 2,
            max: 6,
            operator: '+',
            operand: 1,
        };
        assert_eq!(c.take(1), 0);
        assert_eq!(c.take(4), 4);
        assert_eq!(c.take(10), 6);
        let stepped = Count {
            min: 2,
            max: 10,
            operator: '+',
            operand: 3,
        };
        assert_eq!(stepped.take(7), 5);
        let doubling = Count {
            min: 2,
            max: 16,
            operator: '*',
            operand: 2,
        };
        assert_eq!(doubling.take(9), 8);
    }

    #[test]
    fn min_alone_means_as_many_as_there_are() {
        let js = Jobspec::from_value(spec(json!([{"type": "slot", "label": "task", "count": {"min": 2}, "with": [{"type": "core", "count": 1}]}])), None).unwrap();
        assert_eq!(js.resources[0].count.max, UNBOUNDED);
    }

    #[test]
    fn zero_count_is_rejected_with_its_location() {
        let err = Jobspec::from_value(spec(json!([{"type": "slot", "label": "task", "count": 1, "with": [{"type": "core", "count": 0}]}])), Some("j.yaml")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "j.yaml: resources[0].with[0].count: must be an integer of at least 1, found 0"
        );
    }

    #[test]
    fn a_slot_is_required() {
        let err = Jobspec::from_value(
            spec(json!([{"type": "node", "count": 1, "with": [{"type": "core", "count": 1}]}])),
            None,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("must contain a slot, they contain none"),
            "{err}"
        );
    }

    #[test]
    fn nested_slots_are_rejected() {
        let inner = json!({"type": "slot", "label": "b", "count": 1, "with": [{"type": "core", "count": 1}]});
        let err = Jobspec::from_value(
            spec(json!([{"type": "slot", "label": "task", "count": 1, "with": [inner]}])),
            None,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("cannot sit inside another slot"),
            "{err}"
        );
    }

    #[test]
    fn lenient_reading_accepts_version_1_with_any_types() {
        let mut doc = spec(
            json!([{"type": "cluster", "count": 1, "with": [{"type": "slot", "label": "task", "count": 1, "with": [{"type": "socket", "count": 2}]}]}]),
        );
        doc["version"] = json!(1);
        assert!(Jobspec::from_value(doc.clone(), None).is_err());
        assert!(Jobspec::from_value_with(doc, None, false).is_ok());
    }

    /// The canonical jobspec flux-core's own tests call valid: socket levels, a count of
    /// memory, and a duration written as a string.
    fn flux_canonical() -> Value {
        json!({"version": 9999, "attributes": {"system": {"duration": "3600"}},
               "resources": [{"type": "node", "count": 1, "with": [
                   {"type": "memory", "count": 256},
                   {"type": "socket", "count": 2, "with": [
                       {"type": "gpu", "count": 4},
                       {"type": "slot", "count": 2, "label": "default", "with": [
                           {"type": "L3cache", "count": 1, "with": [
                               {"type": "core", "count": 4, "with": [{"type": "pu", "count": 1}]}]}]}]}]}],
               "tasks": [{"command": ["app"], "slot": "default", "count": {"per_slot": 1}}]})
    }

    fn rule_of(result: Result<Checked>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn flux_rules_accept_what_validate_jobspec_accepts() {
        let err = rule_of(check(flux_canonical(), None, Rules::Rfc));
        assert!(err.contains("attributes.system.duration"), "{err}");
        let checked = check(flux_canonical(), None, Rules::Flux).unwrap();
        let counts = tally(&checked.resources);
        assert_eq!(counts["core"], (16, Some(16)));
        assert_eq!(counts["slot"], (4, Some(4)));
        assert_eq!(counts["memory"], (256, Some(256)));
        // A version 1 jobspec with nested slots and an ssd, as flux submit writes them.
        let v1 = json!({"version": 1, "attributes": {"system": {"duration": 0}},
            "resources": [{"type": "slot", "count": 1, "label": "default", "with": [
                {"type": "node", "count": 1, "exclusive": true, "with": [
                    {"type": "slot", "count": 1, "label": "task", "with": [{"type": "core", "count": 1}]}]},
                {"type": "ssd", "count": 20480, "exclusive": true}]}],
            "tasks": [{"command": ["hostname"], "slot": "task", "count": {"per_slot": 1}}]});
        assert!(check(v1.clone(), None, Rules::Rfc).is_err());
        assert_eq!(
            tally(&check(v1, None, Rules::Flux).unwrap().resources)["slot"],
            (2, Some(2))
        );
    }

    #[test]
    fn flux_rules_read_count_strings_and_ranges() {
        let mut doc = flux_canonical();
        doc["resources"][0]["count"] = json!("2-4");
        doc["resources"][0]["with"][0]["count"] = json!({"min": 8});
        doc["resources"][0]["with"][1]["count"] = json!("2+");
        let counts = tally(&check(doc.clone(), None, Rules::Flux).unwrap().resources);
        assert_eq!(counts["node"], (2, Some(4)));
        assert_eq!(counts["memory"], (16, None));
        assert_eq!(counts["socket"], (4, None));
        doc["resources"][0]["count"] = json!("2-16:2:*");
        assert!(check(doc.clone(), None, Rules::Flux).is_ok());
        for (bad, place) in [
            (json!("many"), "resources[0].count"),
            (json!("2-16:1:*"), "resources[0].count"),
            (json!({"min": 4, "max": 2}), "resources[0].count"),
            (json!(0), "resources[0].count"),
            (json!(1.5), "resources[0].count"),
        ] {
            doc["resources"][0]["count"] = bad;
            let err = rule_of(check(doc.clone(), None, Rules::Flux));
            assert!(err.starts_with(place), "{err}");
        }
    }

    #[test]
    fn flux_rules_refuse_what_flux_refuses() {
        let cases = [
            ("/attributes", Value::Null, "attributes: is required"),
            (
                "/tasks/0/command",
                json!("app"),
                "tasks[0].command: must be a list",
            ),
            (
                "/tasks/0/count",
                json!({"per_slot": 1, "total": 2}),
                "tasks[0].count: must hold exactly one",
            ),
            (
                "/resources/0/with/1/with/1/label",
                Value::Null,
                "every slot needs a \"label\"",
            ),
            (
                "/resources/0/exclusive",
                json!("yes"),
                "resources[0].exclusive: must be true or false",
            ),
            (
                "/attributes/other",
                json!({}),
                "attributes.other: is not an attribute section",
            ),
        ];
        for (pointer, value, expected) in cases {
            let mut doc = flux_canonical();
            let (parent, key) = pointer.rsplit_once('/').unwrap();
            let target = doc
                .pointer_mut(if parent.is_empty() { "" } else { parent })
                .unwrap();
            let map = target.as_object_mut().unwrap();
            if value.is_null() {
                map.remove(key);
            } else {
                map.insert(key.to_owned(), value);
            }
            let err = rule_of(check(doc, None, Rules::Flux));
            assert!(err.contains(expected), "{pointer}: {err}");
        }
        let mut v1 = flux_canonical();
        v1["version"] = json!(1);
        let err = rule_of(check(v1.clone(), None, Rules::Flux));
        assert!(
            err.contains("attributes.system.duration: must be a number in a version 1"),
            "{err}"
        );
        v1["attributes"]["system"]["duration"] = json!(60);
        v1["resources"][0]["count"] = json!("2");
        let err = rule_of(check(v1, None, Rules::Flux));
        assert!(
            err.contains("must be an integer in a version 1 jobspec"),
            "{err}"
        );
    }

    #[test]
    fn software_requirements_are_checked_where_they_are_written() {
        let mut doc = spec(
            json!([{"type": "slot", "label": "task", "count": 1, "with": [{"type": "core", "count": 1}]}]),
        );
        doc["attributes"]["system"]["requires"] = json!({"software": [{"name": "curl", "type": "binary", "os": "ubuntu22.04"}, "gromacs>=2023"]});
        let js = Jobspec::from_value(doc.clone(), None).unwrap();
        assert_eq!(js.requires.len(), 1);
        for (requires, place) in [
            (
                json!({"software": [{"name": "curl", "colour": "red"}]}),
                "attributes.system.requires.software[0].colour",
            ),
            (
                json!({"software": [{"name": "curl", "type": "script"}]}),
                "attributes.system.requires.software[0].type",
            ),
            (
                json!({"licenses": ["matlab"]}),
                "attributes.system.requires.licenses",
            ),
            (
                json!([{"software": [{"version": "1"}]}]),
                "attributes.system.requires[0].software[0]",
            ),
            (
                json!([{"name": "x", "version": [1]}]),
                "attributes.system.requires[0].version",
            ),
        ] {
            doc["attributes"]["system"]["requires"] = requires;
            let err = Jobspec::from_value(doc.clone(), None).unwrap_err();
            assert_eq!(
                err.place().map(|p| p.location.as_str()),
                Some(place),
                "{err}"
            );
        }
    }

    #[test]
    fn unlabeled_slot_is_rejected() {
        let err = Jobspec::from_value(
            spec(json!([{"type": "slot", "count": 1, "with": [{"type": "core", "count": 1}]}])),
            None,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "resources[0]: every slot needs a \"label\""
        );
    }

    #[test]
    fn task_must_name_an_existing_slot() {
        let mut doc = spec(
            json!([{"type": "slot", "label": "other", "count": 1, "with": [{"type": "core", "count": 1}]}]),
        );
        doc["tasks"][0]["slot"] = json!("task");
        doc["version"] = json!(1);
        let err = Jobspec::from_value(doc, None).unwrap_err();
        assert!(
            err.to_string().starts_with("tasks[0].slot: names no slot"),
            "{err}"
        );
    }

    #[test]
    fn version_1_rejects_sockets_and_ranges() {
        let mut doc = spec(
            json!([{"type": "node", "count": 1, "with": [{"type": "slot", "label": "task", "count": 1, "with": [{"type": "socket", "count": 1}]}]}]),
        );
        doc["version"] = json!(1);
        let err = Jobspec::from_value(doc.clone(), None).unwrap_err();
        assert!(
            err.to_string().contains("not a version 1 resource type"),
            "{err}"
        );
        doc["resources"] = json!([{"type": "slot", "label": "task", "count": {"min": 1}, "with": [{"type": "core", "count": 1}]}]);
        let err = Jobspec::from_value(doc, None).unwrap_err();
        assert!(err.to_string().contains("single integer"), "{err}");
    }

    #[test]
    fn version_1_needs_a_duration() {
        let mut doc = spec(
            json!([{"type": "slot", "label": "task", "count": 1, "with": [{"type": "core", "count": 1}]}]),
        );
        doc["version"] = json!(1);
        doc["attributes"] = json!({"system": {}});
        let err = Jobspec::from_value(doc, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "attributes.system.duration: is required in a version 1 jobspec"
        );
    }

    #[test]
    fn version_1_accepts_flux_submit_shape() {
        let mut doc = spec(
            json!([{"type": "node", "count": 2, "exclusive": true, "with": [{"type": "slot", "label": "task", "count": 4, "with": [{"type": "core", "count": 2}, {"type": "gpu", "count": 1}]}]}]),
        );
        doc["version"] = json!(1);
        assert!(Jobspec::from_value(doc, None).is_ok());
    }

    struct Host(&'static str, i64, &'static [&'static str]);
    impl ConstraintTarget for Host {
        fn name(&self) -> &str {
            self.0
        }
        fn rank(&self) -> i64 {
            self.1
        }
        fn has_property(&self, key: &str) -> bool {
            self.2.contains(&key)
        }
    }

    fn constraint(c: Value) -> Constraint {
        let mut doc = spec(
            json!([{"type": "slot", "label": "task", "count": 1, "with": [{"type": "core", "count": 1}]}]),
        );
        doc["attributes"]["system"]["constraints"] = c;
        Jobspec::from_value(doc, None).unwrap().constraints.unwrap()
    }

    #[test]
    fn constraints_combine_properties_hostlists_and_ranks() {
        let c = constraint(
            json!({"or": [{"properties": ["ssd", "^slow"]}, {"hostlist": ["quartz[0-2,5]"]}, {"ranks": ["7-8"]}]}),
        );
        assert!(c.matches(&Host("x", 0, &["ssd"])));
        assert!(!c.matches(&Host("x", 0, &["ssd", "slow"])));
        assert!(c.matches(&Host("quartz5", 0, &[])));
        assert!(!c.matches(&Host("quartz3", 0, &[])));
        assert!(c.matches(&Host("x", 8, &[])));
        let not = constraint(json!({"not": [{"hostlist": ["nid3"]}]}));
        assert!(!not.matches(&Host("nid3", 0, &[])));
        assert!(not.matches(&Host("nid4", 0, &[])));
    }

    #[test]
    fn zero_padded_hostlists_match_padded_names_only() {
        let h = Hostlist::parse("node[01-10]").unwrap();
        assert!(h.contains("node01"));
        assert!(h.contains("node10"));
        assert!(!h.contains("node1"));
    }

    #[test]
    fn unknown_constraint_operator_is_rejected() {
        let mut doc = spec(
            json!([{"type": "slot", "label": "task", "count": 1, "with": [{"type": "core", "count": 1}]}]),
        );
        doc["attributes"]["system"]["constraints"] = json!({"xor": []});
        let err = Jobspec::from_value(doc, None).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("attributes.system.constraints.xor: is not a constraint operator"),
            "{err}"
        );
    }
}
