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
    Ok(())
}
