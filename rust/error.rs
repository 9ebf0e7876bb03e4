//! The one error type of fractale's core: every failure names the input it came from,
//! the place inside it and what was expected there.

use std::fmt;

/// Where in which input a problem sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The file the input was read from, when it came from a file.
    pub file: Option<String>,
    /// A JSON-path-like location inside the document (`graph.nodes[17].metadata.type`).
    pub location: String,
}

impl Place {
    pub fn new(file: Option<&str>, location: impl Into<String>) -> Self {
        Place {
            file: file.map(str::to_owned),
            location: location.into(),
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.location.is_empty()) {
            (Some(file), false) => write!(f, "{file}: {}", self.location),
            (Some(file), true) => write!(f, "{file}"),
            (None, false) => write!(f, "{}", self.location),
            (None, true) => write!(f, "<input>"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A JSON Graph Format document that is not a valid resource graph.
    Jgf { place: Place, expected: String },
    /// A jobspec that breaks RFC 14/25/31.
    Jobspec { place: Place, rule: String },
    /// A request the matcher cannot act on (an unknown allocation, an unknown policy).
    Match { message: String },
    /// Reading an input failed.
    Io { file: String, message: String },
}

impl Error {
    pub fn jgf(
        file: Option<&str>,
        location: impl Into<String>,
        expected: impl Into<String>,
    ) -> Self {
        Error::Jgf {
            place: Place::new(file, location),
            expected: expected.into(),
        }
    }

    pub fn jobspec(
        file: Option<&str>,
        location: impl Into<String>,
        rule: impl Into<String>,
    ) -> Self {
        Error::Jobspec {
            place: Place::new(file, location),
            rule: rule.into(),
        }
    }

    pub fn matching(message: impl Into<String>) -> Self {
        Error::Match {
            message: message.into(),
        }
    }

    /// The place the error points at, when it points at one.
    pub fn place(&self) -> Option<&Place> {
        match self {
            Error::Jgf { place, .. } | Error::Jobspec { place, .. } => Some(place),
            _ => None,
        }
    }

    /// Attach the file name to an error raised while parsing text that came from it.
    pub fn in_file(mut self, name: &str) -> Self {
        if let Error::Jgf { place, .. } | Error::Jobspec { place, .. } = &mut self {
            if place.file.is_none() {
                place.file = Some(name.to_owned());
            }
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Jgf { place, expected } => write!(f, "{place}: {expected}"),
            Error::Jobspec { place, rule } => write!(f, "{place}: {rule}"),
            Error::Match { message } => write!(f, "{message}"),
            Error::Io { file, message } => write!(f, "{file}: {message}"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jgf_error_names_file_location_and_expectation() {
        let err = Error::jgf(
            Some("rack.json"),
            "graph.nodes[17].metadata.type",
            "expected a string",
        );
        assert_eq!(
            err.to_string(),
            "rack.json: graph.nodes[17].metadata.type: expected a string"
        );
    }

    #[test]
    fn in_file_fills_a_missing_file_name_only() {
        let err =
            Error::jobspec(None, "resources[0].count", "must be at least 1").in_file("job.yaml");
        assert_eq!(
            err.to_string(),
            "job.yaml: resources[0].count: must be at least 1"
        );
        let kept = Error::jobspec(Some("a.yaml"), "version", "x").in_file("b.yaml");
        assert_eq!(kept.place().and_then(|p| p.file.as_deref()), Some("a.yaml"));
    }
}
