//! RFC 31 constraints on `node` vertices: the model, how it is tested against a vertex,
//! and how it is read from `attributes.system.constraints`.

use serde_json::Value;

use super::checker::{kind_of, render, Checker};
use super::hostlist::{parse_idset, Hostlist};
use crate::error::Result;

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

impl Checker<'_> {
    pub(super) fn constraint(&self, v: &Value, loc: &str) -> Result<Constraint> {
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
