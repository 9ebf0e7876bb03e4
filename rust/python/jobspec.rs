//! `fractale.Jobspec`: a validated canonical jobspec, read from a path, text or a dict.

use std::collections::BTreeMap;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use serde_json::Value;

use super::convert::{to_py, to_value};
use crate::error::Error;
use crate::input::{read_bounded, MAX_JOBSPEC_BYTES};
use crate::jobspec::{self, Jobspec as CoreJobspec, Rules};

#[pyclass(name = "Jobspec", module = "fractale", frozen)]
pub struct Jobspec {
    pub inner: Arc<CoreJobspec>,
}

/// Read jobspec text (JSON or YAML, both read in the core) and validate it.
fn parse_text(text: &str, source: Option<&str>, strict: bool) -> PyResult<CoreJobspec> {
    Ok(CoreJobspec::from_text(text, source, strict)?)
}

/// Read YAML text as the core reads a jobspec's: PyYAML's safe loader's values, or a
/// `JobspecError` at the line and column where it stops being what a jobspec can hold.
#[pyfunction]
#[pyo3(signature = (text, source = None))]
pub fn load_yaml(py: Python<'_>, text: &str, source: Option<&str>) -> PyResult<Py<PyAny>> {
    let value = jobspec::yaml::read(text, source)?;
    to_py(py, &value)
}

/// Per resource type, the least and the most a jobspec asks for.
type Tally = BTreeMap<String, (u64, Option<u64>)>;

/// Validate jobspec text (YAML or JSON) by RFC 14/25, or with `lenient` by what flux-core's
/// `validate_jobspec` accepts; return its version and, per resource type (slots included),
/// the least and the most it asks for (`None`: no upper bound). Raises `JobspecError`.
#[pyfunction]
#[pyo3(signature = (text, source = None, *, lenient = false))]
pub fn check_jobspec(text: &str, source: Option<&str>, lenient: bool) -> PyResult<(u64, Tally)> {
    let value = jobspec::read(text, source)?;
    let rules = if lenient { Rules::Flux } else { Rules::Rfc };
    let checked = jobspec::check(value, source, rules)?;
    Ok((checked.version, jobspec::tally(&checked.resources)))
}

/// A jobspec handed over as Python objects, as a JSON value; what cannot be one is a
/// `JobspecError` at its place.
fn document(obj: &Bound<'_, PyAny>, source: Option<&str>) -> PyResult<Value> {
    to_value(obj).map_err(|c| PyErr::from(Error::jobspec(source, c.location, c.problem)))
}

impl Jobspec {
    /// Accept a `Jobspec`, jobspec text or a dict wherever a jobspec is asked for.
    pub fn coerce(obj: &Bound<'_, PyAny>) -> PyResult<Arc<CoreJobspec>> {
        if let Ok(js) = obj.cast::<Jobspec>() {
            return Ok(js.get().inner.clone());
        }
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(Arc::new(parse_text(&s.to_cow()?, None, true)?));
        }
        if let Ok(d) = obj.cast::<PyDict>() {
            let value = document(d.as_any(), None)?;
            return CoreJobspec::from_value(value, None)
                .map(Arc::new)
                .map_err(PyErr::from);
        }
        Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "expected a Jobspec, jobspec text or a dict, got {}",
            obj.get_type().name()?
        )))
    }
}

#[pymethods]
impl Jobspec {
    /// Read a jobspec file (YAML or JSON). `strict=False` reads version 1 documents as
    /// Fluxion's matcher does, without RFC 25's limits on resource types.
    #[staticmethod]
    #[pyo3(signature = (path, *, strict = true))]
    fn from_path(path: std::path::PathBuf, strict: bool) -> PyResult<Jobspec> {
        let name = path.display().to_string();
        let bytes = read_bounded(&path, MAX_JOBSPEC_BYTES, "jobspec", false)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            PyErr::from(Error::jobspec(
                Some(&name),
                format!("byte {}", e.utf8_error().valid_up_to()),
                "expected UTF-8 text",
            ))
        })?;
        Ok(Jobspec {
            inner: Arc::new(parse_text(&text, Some(&name), strict)?),
        })
    }

    /// Parse jobspec text (YAML or JSON); `source` names it in errors.
    #[staticmethod]
    #[pyo3(signature = (text, source = None, *, strict = true))]
    fn from_str(text: &str, source: Option<&str>, strict: bool) -> PyResult<Jobspec> {
        Ok(Jobspec {
            inner: Arc::new(parse_text(text, source, strict)?),
        })
    }

    /// Validate an already parsed jobspec document; `source` names it in errors.
    #[staticmethod]
    #[pyo3(signature = (document, source = None, *, strict = true))]
    fn from_dict(
        document: &Bound<'_, PyDict>,
        source: Option<&str>,
        strict: bool,
    ) -> PyResult<Jobspec> {
        let value = self::document(document.as_any(), source)?;
        Ok(Jobspec {
            inner: Arc::new(CoreJobspec::from_value_with(value, source, strict)?),
        })
    }

    #[getter]
    fn version(&self) -> u64 {
        self.inner.version
    }

    /// `attributes.system.duration` in seconds, when given.
    #[getter]
    fn duration(&self) -> Option<f64> {
        self.inner.duration
    }

    /// `attributes.system.requires`: software requirements, as given.
    #[getter]
    fn requires(&self, py: Python<'_>) -> PyResult<Vec<Py<PyAny>>> {
        self.inner.requires.iter().map(|v| to_py(py, v)).collect()
    }

    #[getter]
    fn constraints(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let c = self
            .inner
            .document
            .pointer("/attributes/system/constraints")
            .cloned()
            .unwrap_or(Value::Null);
        to_py(py, &c)
    }

    /// How many nodes any match takes when the node counts (and every count above them)
    /// are fixed; `None` when a range leaves it to the match or no node is named.
    #[getter]
    fn fixed_node_count(&self) -> Option<u64> {
        self.inner.fixed_node_count()
    }

    /// The least total amount of each resource type the request needs.
    fn counts(&self) -> std::collections::BTreeMap<String, u64> {
        self.inner.counts()
    }

    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_py(py, &self.inner.document)
    }

    fn __repr__(&self) -> String {
        let counts: Vec<String> = self
            .inner
            .counts()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!(
            "Jobspec(version={}, {})",
            self.inner.version,
            counts.join(", ")
        )
    }
}
