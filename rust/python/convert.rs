//! Conversions between Python objects and JSON values, for documents crossing the boundary.
//!
//! A document handed over as Python objects is bounded like one handed over as text: nested
//! no deeper than the text readers allow, numbers within what JSON documents hold here
//! (finite, integers within 64 bits). What breaks those rules is a `Conversion` naming where,
//! which the caller turns into its own error (a `JGFError` for a graph, a `JobspecError`
//! for a jobspec).

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// As deep as serde_json lets a JSON text nest (its recursion limit).
pub const MAX_DEPTH: usize = 128;

/// Where a Python document cannot become JSON, and why.
pub struct Conversion {
    /// A JSON-path-like location (`resources[0].with[1]`), empty for the document itself.
    pub location: String,
    pub problem: String,
}

/// A Python document (dicts, lists, tuples, strings, numbers, booleans, None) as a JSON value.
pub fn to_value(obj: &Bound<'_, PyAny>) -> Result<Value, Conversion> {
    let mut location = Vec::new();
    convert(obj, &mut location).map_err(|problem| Conversion {
        location: render(&location),
        problem,
    })
}

enum Step {
    Key(String),
    Index(usize),
}

/// The location as `a.b[0].c`; a deep one keeps its first and last steps around `…`.
fn render(location: &[Step]) -> String {
    const ENDS: usize = 4;
    if location.len() > 2 * ENDS {
        let (head, tail) = (&location[..ENDS], &location[location.len() - ENDS..]);
        return format!("{}…{}", render(head), render_steps(tail, true));
    }
    render_steps(location, false)
}

fn render_steps(location: &[Step], continued: bool) -> String {
    let mut out = String::new();
    for step in location {
        match step {
            Step::Key(k) if out.is_empty() && !continued => out.push_str(k),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn convert(obj: &Bound<'_, PyAny>, location: &mut Vec<Step>) -> Result<Value, String> {
    if location.len() > MAX_DEPTH {
        return Err(format!(
            "expected a document nested at most {MAX_DEPTH} levels deep"
        ));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err("expected an integer between -2**63 and 2**64-1".to_owned());
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let x = f.value();
        return Number::from_f64(x)
            .map(Value::Number)
            .ok_or_else(|| format!("expected a finite number, found {x}"));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return s
            .to_cow()
            .map(|s| Value::String(s.into_owned()))
            .map_err(|_| "expected a string of Unicode text".to_owned());
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, v) in d.iter() {
            let key = match k.cast::<PyString>() {
                Ok(s) => s.to_cow().map(|s| s.into_owned()),
                Err(_) => k.str().and_then(|s| s.to_cow().map(|s| s.into_owned())),
            }
            .map_err(|_| "expected keys that are text".to_owned())?;
            location.push(Step::Key(key.clone()));
            let value = convert(&v, location)?;
            location.pop();
            map.insert(key, value);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return items(l.iter(), location);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return items(t.iter(), location);
    }
    let kind = obj
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "value".to_owned());
    Err(format!(
        "expected a dict, list, string, number, boolean or None, found a {kind}"
    ))
}

fn items<'py>(
    values: impl Iterator<Item = Bound<'py, PyAny>>,
    location: &mut Vec<Step>,
) -> Result<Value, String> {
    let mut out = Vec::new();
    for (i, v) in values.enumerate() {
        location.push(Step::Index(i));
        out.push(convert(&v, location)?);
        location.pop();
    }
    Ok(Value::Array(out))
}

/// A JSON value as plain Python objects.
pub fn to_py(py: Python<'_>, value: &Value) -> PyResult<Py<PyAny>> {
    Ok(match value {
        Value::Null => py.None(),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any().unbind(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any().unbind()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any().unbind()
            } else {
                n.as_f64()
                    .unwrap_or(f64::NAN)
                    .into_pyobject(py)?
                    .into_any()
                    .unbind()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any().unbind(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any().unbind()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, to_py(py, v)?)?;
            }
            dict.into_any().unbind()
        }
    })
}
