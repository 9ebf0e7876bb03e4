//! The PyO3 binding layer: converts types and maps errors, nothing more.

mod convert;
mod errors;
mod fleet;
mod graph;
mod jobspec;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", crate::VERSION)?;
    errors::register(m)?;
    m.add_class::<jobspec::Jobspec>()?;
    m.add_class::<graph::ResourceGraph>()?;
    m.add_class::<graph::MatchResult>()?;
    m.add_class::<graph::Allocation>()?;
    m.add_class::<graph::Vertex>()?;
    m.add_class::<fleet::CompiledFleet>()?;
    m.add_function(wrap_pyfunction!(jobspec::check_jobspec, m)?)?;
    m.add_function(wrap_pyfunction!(jobspec::load_yaml, m)?)?;
    m.add_function(wrap_pyfunction!(indent_json, m)?)?;
    m.add(
        "REQUIREMENT_KEYS",
        crate::jobspec::REQUIREMENT_KEYS.to_vec(),
    )?;
    m.add("SOFTWARE_TYPES", crate::jobspec::SOFTWARE_TYPES.to_vec())?;
    Ok(())
}

/// `text`, written by `json.dumps(value)`, as `json.dumps(value, indent=indent)` writes it.
#[pyfunction]
#[pyo3(signature = (text, indent = 2))]
fn indent_json(py: Python<'_>, text: &str, indent: usize) -> String {
    py.detach(|| crate::json_layout::indent(text, indent))
}
