//! Every core error becomes one Python exception class, in this one place.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

use crate::error::Error;

create_exception!(
    fractale,
    FractaleError,
    PyException,
    "Base class of every fractale error."
);
create_exception!(
    fractale,
    JGFError,
    FractaleError,
    "A JSON Graph Format document that is not a valid resource graph."
);
create_exception!(
    fractale,
    JobspecError,
    FractaleError,
    "A jobspec that breaks the canonical jobspec rules."
);
create_exception!(
    fractale,
    MatchError,
    FractaleError,
    "A matching request that cannot be acted on."
);

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("FractaleError", py.get_type::<FractaleError>())?;
    m.add("JGFError", py.get_type::<JGFError>())?;
    m.add("JobspecError", py.get_type::<JobspecError>())?;
    m.add("MatchError", py.get_type::<MatchError>())?;
    Ok(())
}

/// Core errors become Python exceptions with `?`; the attributes need the GIL, which every
/// caller of a binding already holds.
impl From<Error> for PyErr {
    fn from(err: Error) -> PyErr {
        Python::attach(|py| to_pyerr(py, err))
    }
}

/// The exception for an error, carrying `file`, `location` and `expected` as attributes.
fn to_pyerr(py: Python<'_>, err: Error) -> PyErr {
    let message = err.to_string();
    let pyerr = match &err {
        Error::Jgf { .. } => JGFError::new_err(message),
        Error::Jobspec { .. } => JobspecError::new_err(message),
        Error::Match { .. } => MatchError::new_err(message),
        Error::Io { .. } => FractaleError::new_err(message),
    };
    let value = pyerr.value(py);
    let (file, location, expected) = match &err {
        Error::Jgf { place, expected } => (
            place.file.clone(),
            Some(place.location.clone()),
            Some(expected.clone()),
        ),
        Error::Jobspec { place, rule } => (
            place.file.clone(),
            Some(place.location.clone()),
            Some(rule.clone()),
        ),
        Error::Io { file, message } => (Some(file.clone()), None, Some(message.clone())),
        Error::Match { message } => (None, None, Some(message.clone())),
    };
    // Attributes are best effort: the message already says everything.
    let _ = value.setattr("file", file);
    let _ = value.setattr("location", location);
    let _ = value.setattr("expected", expected);
    pyerr
}
