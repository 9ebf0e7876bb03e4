//! RFC 29 hostlists (`quartz[0-2,5]`) and RFC 22 idsets (`0-3,7`), as constraints and
//! count strings name hosts and ranks.

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
