//! Jobspec YAML read in the core, as Flux's own Python tools read it: the events of a YAML
//! parser (`saphyr-parser`) built into a JSON value by PyYAML's safe loader's rules.
//!
//! What PyYAML's safe loader (YAML 1.1 resolution) gives, this gives too:
//! - plain scalars resolve as PyYAML resolves them: `yes/no/on/off/true/false` in PyYAML's
//!   spellings are booleans (`y` and `n` stay text); `~`, `null`, an empty value are null;
//!   integers in decimal, `0x` hexadecimal, `0b` binary, `0`-prefixed octal (`0755` is
//!   493), base 60 (`1:30` is 90), with `_` anywhere after the first digit (`0o17` is
//!   text, as it is to PyYAML); floats need a dot (`1e3` is text, `1.0e+3` a float);
//! - quoted and block scalars are text; `!!str`, `!!int`, `!!float`, `!!bool`, `!!null`,
//!   `!!map` and `!!seq` are honoured (an explicit `!!int` and the like when the text is
//!   written as that type), and the non-specific `!` resolves any scalar as a plain one,
//!   as PyYAML does;
//! - anchors and aliases copy the anchored value; merge keys (`<<: *base`, `<<: [*a, *b]`)
//!   merge as PyYAML merges them (explicit keys win, then the earlier of the merged maps);
//!   a key given twice keeps its first place and its last value.
//!
//! What JSON (so a jobspec) cannot hold is refused with its line and column instead:
//! dates and times (PyYAML makes them `datetime`s: quote them), `.inf`/`.nan`, integers
//! outside -2**63..2**64-1, keys that are not text (`1:`, `yes:`, `null:`, a list),
//! other tags (`!!binary`, `!!set`, `!custom`), more than one document, nesting deeper than
//! 128 levels and aliases that expand to more than a million values. So is a raw U+0085,
//! U+2028 or U+2029 anywhere: YAML 1.1 breaks lines there and the YAML 1.2 parser does not.
//!
//! Where the two grammars differ in flow collections (`[...]`, `{...}`), the parser's YAML
//! 1.2 rules hold: a plain `-` ending a flow item (`[cat, -]`) is refused at its place (write
//! `[cat, "-"]`), and a plain item opening with `:` (`[:x]`), which PyYAML refuses, is text.
//! Block style, the style jobspecs are written in, reads the same in both.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use serde_json::{Map, Number, Value};

use crate::error::{Error, Result};

/// Nesting deeper than this is refused (serde_json's own limit when it reads JSON).
const MAX_DEPTH: usize = 128;
/// Aliases may repeat a value, but the whole document holds at most this many values.
const MAX_VALUES: usize = 1 << 20;

/// Characters YAML 1.1 breaks lines at and YAML 1.2 does not.
const YAML_1_1_BREAKS: [char; 3] = ['\u{85}', '\u{2028}', '\u{2029}'];

/// The value of one YAML document, or the place it stops being a readable jobspec.
pub fn read(text: &str, file: Option<&str>) -> Result<Value> {
    if let Some(at) = text.find(YAML_1_1_BREAKS) {
        let line = text[..at].matches('\n').count() + 1;
        let col = text[..at]
            .rsplit('\n')
            .next()
            .map_or(0, |l| l.chars().count());
        return Err(Error::jobspec(
            file,
            format!("line {line} column {}", col + 1),
            "holds a raw U+0085, U+2028 or U+2029, a line break to YAML 1.1 (PyYAML) and \
             text to YAML 1.2: write it as an escape in double quotes",
        ));
    }
    let mut reader = Reader {
        file,
        anchors: HashMap::new(),
        stack: Vec::new(),
        values: 0,
        documents: 0,
        root: None,
    };
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            let mark = e.marker();
            reader.err_at(
                mark.line(),
                mark.col(),
                format!("is not valid YAML ({})", e.info()),
            )
        })?;
        reader.event(event, span)?;
    }
    Ok(reader.root.unwrap_or(Value::Null))
}

/// A mapping key: text, or PyYAML's merge key `<<`.
enum Key {
    Text(String),
    Merge,
}

enum Frame {
    Sequence {
        items: Vec<Value>,
        anchor: usize,
        start: usize,
    },
    Mapping {
        /// Pairs merged in with `<<`, in the order PyYAML applies them.
        merged: Vec<(String, Value)>,
        explicit: Vec<(String, Value)>,
        /// The key read and waiting for its value.
        key: Option<Key>,
        anchor: usize,
        start: usize,
    },
}

struct Reader<'f> {
    file: Option<&'f str>,
    /// Anchored values and how many values each holds.
    anchors: HashMap<usize, (Value, usize)>,
    stack: Vec<Frame>,
    values: usize,
    documents: usize,
    root: Option<Value>,
}

/// What a scalar resolves to.
enum Resolved {
    Text,
    Null,
    Bool(bool),
    Int,
    Float,
    Timestamp,
    Merge,
    ValueKey,
}

impl Reader<'_> {
    fn err_at(&self, line: usize, col: usize, rule: impl Into<String>) -> Error {
        Error::jobspec(
            self.file,
            format!("line {line} column {}", col + 1),
            rule.into(),
        )
    }

    fn err(&self, span: Span, rule: impl Into<String>) -> Error {
        self.err_at(span.start.line(), span.start.col(), rule)
    }

    fn event(&mut self, event: Event<'_>, span: Span) -> Result<()> {
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(self.err(
                        span,
                        "starts a second document: a jobspec is one YAML document",
                    ));
                }
            }
            Event::Alias(id) => {
                let Some((value, count)) = self.anchors.get(&id).cloned() else {
                    return Err(self.err(span, "names an anchor that is not defined"));
                };
                self.count(count, span)?;
                self.push(value, span)?;
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.count(1, span)?;
                if self.wants_key() {
                    let key = self.key(&text, style, tag.as_deref(), span)?;
                    if anchor != 0 {
                        if let Key::Text(text) = &key {
                            self.anchors
                                .insert(anchor, (Value::String(text.clone()), 1));
                        }
                    }
                    if let Some(Frame::Mapping { key: slot, .. }) = self.stack.last_mut() {
                        *slot = Some(key);
                    }
                    return Ok(());
                }
                let value = self.scalar(text, style, tag.as_deref(), span)?;
                if anchor != 0 {
                    self.anchors.insert(anchor, (value.clone(), 1));
                }
                self.push(value, span)?;
            }
            Event::SequenceStart(anchor, tag) => {
                self.open(tag.as_deref(), "seq", span)?;
                self.stack.push(Frame::Sequence {
                    items: Vec::new(),
                    anchor,
                    start: self.values,
                });
            }
            Event::MappingStart(anchor, tag) => {
                self.open(tag.as_deref(), "map", span)?;
                self.stack.push(Frame::Mapping {
                    merged: Vec::new(),
                    explicit: Vec::new(),
                    key: None,
                    anchor,
                    start: self.values,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, anchor, start) = match self.stack.pop() {
                    Some(Frame::Sequence {
                        items,
                        anchor,
                        start,
                    }) => (Value::Array(items), anchor, start),
                    Some(Frame::Mapping {
                        merged,
                        explicit,
                        anchor,
                        start,
                        ..
                    }) => {
                        let mut map = Map::new();
                        for (key, value) in merged.into_iter().chain(explicit) {
                            map.insert(key, value);
                        }
                        (Value::Object(map), anchor, start)
                    }
                    None => return Ok(()),
                };
                if anchor != 0 {
                    self.anchors
                        .insert(anchor, (value.clone(), self.values - start));
                }
                self.push(value, span)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
        Ok(())
    }

    fn count(&mut self, values: usize, span: Span) -> Result<()> {
        self.values = self.values.saturating_add(values);
        if self.values > MAX_VALUES {
            return Err(self.err(
                span,
                format!("makes the document hold more than {MAX_VALUES} values"),
            ));
        }
        Ok(())
    }

    /// A collection starts: its tag must be its own kind's, and it must not be a key.
    fn open(&mut self, tag: Option<&Tag>, kind: &str, span: Span) -> Result<()> {
        self.count(1, span)?;
        if let Some(tag) = tag {
            if !(tag.is_yaml_core_schema() && tag.suffix == kind) {
                return Err(self.err(
                    span,
                    format!("has the tag {tag}, which a jobspec does not read"),
                ));
            }
        }
        if self.wants_key() {
            return Err(self.err(span, "is a key that is not text"));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.err(span, format!("nests deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn wants_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Mapping { key: None, .. }))
    }

    /// A finished value goes into the collection being read, or becomes the document.
    fn push(&mut self, value: Value, span: Span) -> Result<()> {
        let frame = match self.stack.last_mut() {
            None => {
                self.root = Some(value);
                return Ok(());
            }
            Some(frame) => frame,
        };
        match frame {
            Frame::Sequence { items, .. } => items.push(value),
            Frame::Mapping {
                merged,
                explicit,
                key,
                ..
            } => match key.take() {
                None => match value {
                    Value::String(text) => *key = Some(Key::Text(text)),
                    _ => return Err(self.err(span, "is a key that is not text")),
                },
                Some(Key::Text(text)) => explicit.push((text, value)),
                Some(Key::Merge) => match value {
                    Value::Object(map) => merged.extend(map),
                    Value::Array(list) if list.iter().all(Value::is_object) => {
                        for map in list.into_iter().rev() {
                            if let Value::Object(map) = map {
                                merged.extend(map);
                            }
                        }
                    }
                    _ => {
                        return Err(self.err(
                            span,
                            "is merged with <<, so it must be a mapping or a list of mappings",
                        ))
                    }
                },
            },
        }
        Ok(())
    }

    fn key(&self, text: &str, style: ScalarStyle, tag: Option<&Tag>, span: Span) -> Result<Key> {
        if tag.is_none() && style == ScalarStyle::Plain {
            match resolve(text) {
                Resolved::Text | Resolved::ValueKey => return Ok(Key::Text(text.to_owned())),
                Resolved::Merge => return Ok(Key::Merge),
                _ => {}
            }
        }
        match self.scalar(Cow::Borrowed(text), style, tag, span)? {
            Value::String(text) => Ok(Key::Text(text)),
            _ => Err(self.err(
                span,
                format!("is a key that is not text ({text:?} reads as a number, a boolean or null: quote it)"),
            )),
        }
    }

    fn scalar(
        &self,
        text: Cow<'_, str>,
        style: ScalarStyle,
        tag: Option<&Tag>,
        span: Span,
    ) -> Result<Value> {
        let resolved = match tag {
            None if style == ScalarStyle::Plain => resolve(&text),
            None => Resolved::Text,
            // PyYAML resolves a scalar tagged with the non-specific `!` as if it were plain.
            Some(tag) if tag.handle.is_empty() && tag.suffix == "!" => resolve(&text),
            Some(tag) if tag.is_yaml_core_schema() => match (tag.suffix.as_str(), resolve(&text)) {
                ("str", _) => Resolved::Text,
                ("null", Resolved::Null) => Resolved::Null,
                ("bool", Resolved::Bool(b)) => Resolved::Bool(b),
                ("int", Resolved::Int) => Resolved::Int,
                ("float", Resolved::Float) => Resolved::Float,
                ("float", Resolved::Int) if is_decimal(&text) => Resolved::Float,
                (kind @ ("null" | "bool" | "int" | "float"), _) => {
                    return Err(self.err(
                        span,
                        format!("is tagged !!{kind} but {text:?} is not written as one"),
                    ))
                }
                _ => {
                    return Err(self.err(
                        span,
                        format!("has the tag {tag}, which a jobspec does not read"),
                    ))
                }
            },
            Some(tag) => {
                return Err(self.err(
                    span,
                    format!("has the tag {tag}, which a jobspec does not read"),
                ))
            }
        };
        let value = match resolved {
            Resolved::Text => Value::String(text.into_owned()),
            Resolved::Null => Value::Null,
            Resolved::Bool(b) => Value::Bool(b),
            Resolved::Int => integer(&text).map_err(|rule| self.err(span, rule))?,
            Resolved::Float => float(&text).map_err(|rule| self.err(span, rule))?,
            Resolved::Timestamp => {
                return Err(self.err(
                    span,
                    format!(
                        "{text:?} reads as a date or time, which a jobspec cannot hold: quote it"
                    ),
                ))
            }
            Resolved::Merge | Resolved::ValueKey => {
                return Err(self.err(
                    span,
                    format!("{text:?} is a YAML key marker, not a value: quote it"),
                ))
            }
        };
        Ok(value)
    }
}

/// What PyYAML's resolver makes of a plain scalar (its YAML 1.1 regular expressions).
fn resolve(text: &str) -> Resolved {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Resolved::Bool(true)
        }
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Resolved::Bool(false)
        }
        "<<" => return Resolved::Merge,
        "=" => return Resolved::ValueKey,
        _ => {}
    }
    let s = text.as_bytes();
    if is_float(s) {
        Resolved::Float
    } else if is_int(s) {
        Resolved::Int
    } else if is_timestamp(s) {
        Resolved::Timestamp
    } else {
        Resolved::Text
    }
}

/// A cursor over a scalar's bytes, for the resolver's patterns.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a [u8]) -> Self {
        Cursor { s, i: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, f: impl Fn(u8) -> bool) -> bool {
        match self.peek() {
            Some(c) if f(c) => {
                self.i += 1;
                true
            }
            _ => false,
        }
    }

    fn byte(&mut self, b: u8) -> bool {
        self.eat(|c| c == b)
    }

    fn sign(&mut self) {
        self.eat(|c| c == b'-' || c == b'+');
    }

    fn run(&mut self, f: impl Fn(u8) -> bool) -> usize {
        let start = self.i;
        while self.eat(&f) {}
        self.i - start
    }

    fn rest(&self) -> &'a [u8] {
        &self.s[self.i..]
    }

    fn done(&self) -> bool {
        self.i == self.s.len()
    }

    /// `(?::[0-5]?[0-9])+`: base 60 groups, at least one.
    fn sexagesimal(&mut self) -> bool {
        let mut groups = 0;
        while self.peek() == Some(b':') {
            self.i += 1;
            let two = matches!(self.rest(), [b'0'..=b'5', b'0'..=b'9', ..]);
            if !self.eat(|c| c.is_ascii_digit()) {
                return false;
            }
            if two {
                self.i += 1;
            }
            groups += 1;
        }
        groups > 0
    }

    /// `(?:[eE][-+][0-9]+)?$`
    fn exponent_then_end(&mut self) -> bool {
        if self.eat(|c| c == b'e' || c == b'E') {
            return self.eat(|c| c == b'-' || c == b'+') && digits(self) > 0 && self.done();
        }
        self.done()
    }
}

fn digits(c: &mut Cursor<'_>) -> usize {
    c.run(|b| b.is_ascii_digit())
}

fn digits_or_underscores(c: &mut Cursor<'_>) -> usize {
    c.run(|b| b.is_ascii_digit() || b == b'_')
}

fn is_float(s: &[u8]) -> bool {
    // [-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?
    let mut c = Cursor::new(s);
    c.sign();
    if c.eat(|b| b.is_ascii_digit()) {
        digits_or_underscores(&mut c);
        let after_digits = c.i;
        if c.byte(b'.') {
            digits_or_underscores(&mut c);
            if c.exponent_then_end() {
                return true;
            }
        }
        // [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
        c.i = after_digits;
        if c.sexagesimal() && c.byte(b'.') {
            digits_or_underscores(&mut c);
            if c.done() {
                return true;
            }
        }
    }
    // \.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
    let mut c = Cursor::new(s);
    if c.byte(b'.') && c.eat(|b| b.is_ascii_digit()) {
        digits_or_underscores(&mut c);
        if c.exponent_then_end() {
            return true;
        }
    }
    // [-+]?\.(?:inf|Inf|INF) and \.(?:nan|NaN|NAN)
    let unsigned = s.strip_prefix(b"-").or(s.strip_prefix(b"+")).unwrap_or(s);
    matches!(unsigned, b".inf" | b".Inf" | b".INF") || matches!(s, b".nan" | b".NaN" | b".NAN")
}

fn is_int(s: &[u8]) -> bool {
    let mut c = Cursor::new(s);
    c.sign();
    let body = c.rest();
    let all = |rest: &[u8], f: fn(u8) -> bool| !rest.is_empty() && rest.iter().all(|&b| f(b));
    if let Some(rest) = body.strip_prefix(b"0b") {
        return all(rest, |b| b == b'0' || b == b'1' || b == b'_');
    }
    if let Some(rest) = body.strip_prefix(b"0x") {
        return all(rest, |b| b.is_ascii_hexdigit() || b == b'_');
    }
    match body {
        [b'0'] => true,
        [b'0', rest @ ..] => all(rest, |b| (b'0'..=b'7').contains(&b) || b == b'_'),
        [b'1'..=b'9', ..] => {
            c.i += 1;
            digits_or_underscores(&mut c);
            c.done() || (c.sexagesimal() && c.done())
        }
        _ => false,
    }
}

fn is_timestamp(s: &[u8]) -> bool {
    let mut c = Cursor::new(s);
    let fixed = |c: &mut Cursor<'_>, n: usize| (0..n).all(|_| c.eat(|b| b.is_ascii_digit()));
    let one_or_two = |c: &mut Cursor<'_>| {
        let n = digits(c);
        (1..=2).contains(&n)
    };
    if !(fixed(&mut c, 4) && c.byte(b'-')) {
        return false;
    }
    let date = c.i;
    if fixed(&mut c, 2) && c.byte(b'-') && fixed(&mut c, 2) && c.done() {
        return true;
    }
    c.i = date;
    if !(one_or_two(&mut c) && c.byte(b'-') && one_or_two(&mut c)) {
        return false;
    }
    if !(c.eat(|b| b == b'T' || b == b't') || c.run(|b| b == b' ' || b == b'\t') > 0) {
        return false;
    }
    if !(one_or_two(&mut c) && c.byte(b':') && fixed(&mut c, 2) && c.byte(b':') && fixed(&mut c, 2))
    {
        return false;
    }
    if c.byte(b'.') {
        digits(&mut c);
    }
    if c.done() {
        return true;
    }
    c.run(|b| b == b' ' || b == b'\t');
    if c.byte(b'Z') {
        return c.done();
    }
    if !(c.eat(|b| b == b'-' || b == b'+') && one_or_two(&mut c)) {
        return false;
    }
    if c.byte(b':') && !fixed(&mut c, 2) {
        return false;
    }
    c.done()
}

/// `[-+]?[0-9][0-9_]*`: what `!!float` also reads.
fn is_decimal(text: &str) -> bool {
    let mut c = Cursor::new(text.as_bytes());
    c.sign();
    c.eat(|b| b.is_ascii_digit()) && {
        digits_or_underscores(&mut c);
        c.done()
    }
}

/// An integer as PyYAML constructs it, within what JSON numbers hold here.
fn integer(text: &str) -> std::result::Result<Value, String> {
    let cleaned: String = text.chars().filter(|&c| c != '_').collect();
    let (negative, body) = match cleaned.as_bytes().first() {
        Some(b'-') => (true, &cleaned[1..]),
        Some(b'+') => (false, &cleaned[1..]),
        _ => (false, cleaned.as_str()),
    };
    let out_of_range =
        || format!("{text:?} is outside the integers a jobspec holds (-2**63 to 2**64-1)");
    let not_int = || format!("{text:?} is not an integer");
    let magnitude: u128 = if body == "0" {
        0
    } else if let Some(bits) = body.strip_prefix("0b") {
        u128::from_str_radix(bits, 2).map_err(|e| radix_error(e, &not_int, &out_of_range))?
    } else if let Some(hex) = body.strip_prefix("0x") {
        u128::from_str_radix(hex, 16).map_err(|e| radix_error(e, &not_int, &out_of_range))?
    } else if body.starts_with('0') {
        u128::from_str_radix(body, 8).map_err(|e| radix_error(e, &not_int, &out_of_range))?
    } else if body.contains(':') {
        let mut total: u128 = 0;
        let mut base: u128 = 1;
        for part in body.rsplit(':') {
            let digit: u128 = part
                .parse()
                .map_err(|e| radix_error(e, &not_int, &out_of_range))?;
            total = digit
                .checked_mul(base)
                .and_then(|d| total.checked_add(d))
                .ok_or_else(out_of_range)?;
            base = base.saturating_mul(60);
        }
        total
    } else {
        body.parse()
            .map_err(|e| radix_error(e, &not_int, &out_of_range))?
    };
    let number = if negative && magnitude != 0 {
        if magnitude > 1 << 63 {
            return Err(out_of_range());
        }
        Number::from((-(magnitude as i128)) as i64)
    } else {
        Number::from(u64::try_from(magnitude).map_err(|_| out_of_range())?)
    };
    Ok(Value::Number(number))
}

fn radix_error(
    e: std::num::ParseIntError,
    not_int: &dyn Fn() -> String,
    out_of_range: &dyn Fn() -> String,
) -> String {
    match e.kind() {
        std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => out_of_range(),
        _ => not_int(),
    }
}

/// A float as PyYAML constructs it; infinities and NaN are refused (JSON has none).
fn float(text: &str) -> std::result::Result<Value, String> {
    let cleaned = text.replace('_', "").to_ascii_lowercase();
    let (sign, body) = match cleaned.as_bytes().first() {
        Some(b'-') => (-1.0, &cleaned[1..]),
        Some(b'+') => (1.0, &cleaned[1..]),
        _ => (1.0, cleaned.as_str()),
    };
    let not_float = || format!("{text:?} is not a number");
    let magnitude = if body.contains(':') {
        let mut total = 0.0f64;
        let mut base = 1.0f64;
        for part in body.rsplit(':') {
            let digit: f64 = part.parse().map_err(|_| not_float())?;
            total += digit * base;
            base *= 60.0;
        }
        total
    } else if body == ".inf" || body == ".nan" {
        f64::INFINITY
    } else {
        body.parse::<f64>().map_err(|_| not_float())?
    };
    Number::from_f64(sign * magnitude)
        .map(Value::Number)
        .ok_or_else(|| format!("{text:?} is infinite or not a number, which a jobspec cannot hold"))
}
