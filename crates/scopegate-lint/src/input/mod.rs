//! Reading inputs: syntax and kind detected by content, and the models the rules read.
//!
//! - [`discover`]: the files a path argument names (a file, a directory, a glob).
//! - [`load`]: documents loaded once each, local `$ref`s followed across files.
//! - [`json`] and [`yaml`]: the parsers into the core's positioned [`Node`] tree (TOML is
//!   the core's own).
//! - [`native`]: the native manifest as the rules read it.
//! - [`openapi`]: OpenAPI 3.x and Swagger 2.0 operations with their effective security,
//!   Jira's `x-atlassian-oauth2-scopes` ([`atlassian`]) among them.
//! - [`discovery`]: Google API Discovery documents, read into the same operations.
//!
//! Every input error is a core [`Diagnostics`]: located by file, line and column.

use scopegate_core::source::{Diagnostics, Node};
use scopegate_core::Source;

pub mod atlassian;
pub mod discover;
pub mod discovery;
pub mod json;
pub mod load;
pub mod native;
pub mod openapi;
pub mod yaml;

/// Errors in the inputs: each located (file, line, column). The CLI exits 2 on them.
pub type InputError = Diagnostics;

/// The syntax of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// JSON.
    Json,
    /// TOML.
    Toml,
    /// YAML.
    Yaml,
}

/// What an input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A native manifest (`permissions`, `endpoints`).
    Native,
    /// OpenAPI 3.x (`openapi`).
    OpenApi3,
    /// Swagger 2.0 (`swagger`).
    Swagger2,
    /// A Google API Discovery document (`discoveryVersion`; [`discovery`]).
    Discovery,
}

/// Detects the syntax from the file name, else from the content.
pub fn syntax(name: &str, text: &str) -> Syntax {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".json") {
        return Syntax::Json;
    }
    if lower.ends_with(".toml") {
        return Syntax::Toml;
    }
    if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        return Syntax::Yaml;
    }
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') || (trimmed.starts_with('[') && !toml_header(trimmed)) {
        return Syntax::Json;
    }
    let yamlish = text.lines().any(|l| {
        l.starts_with("openapi:")
            || l.starts_with("swagger:")
            || l.starts_with("---")
            || l.starts_with("paths:")
    });
    if yamlish {
        Syntax::Yaml
    } else {
        Syntax::Toml
    }
}

/// Whether the first line of `text` is a TOML table header (`[name]`, `[[a.b]]`), which a
/// JSON array cannot be.
fn toml_header(text: &str) -> bool {
    let line = text.lines().next().unwrap_or("").trim();
    let inner = line
        .strip_prefix("[[")
        .and_then(|l| l.strip_suffix("]]"))
        .or_else(|| line.strip_prefix('[').and_then(|l| l.strip_suffix(']')));
    inner.is_some_and(|name| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-. \"'".contains(c))
    })
}

/// Parses `source` in `syntax` into a positioned tree.
pub fn parse(source: &Source, syntax: Syntax) -> Result<Node, InputError> {
    let result = match syntax {
        Syntax::Yaml => yaml::parse(source.text()),
        Syntax::Json => json::parse(source.text()),
        Syntax::Toml => source.parse_as(scopegate_core::source::Syntax::Toml),
    };
    result.map_err(|p| InputError::new(source, vec![p]))
}

/// Detects what a parsed document is.
pub fn kind(source: &Source, root: &Node) -> Result<Kind, InputError> {
    if root.as_table().is_none() {
        return Err(InputError::at(
            source,
            root.span.start,
            format!(
                "expected a table (a manifest or an OpenAPI document), found {}",
                root.value.kind()
            ),
        ));
    }
    if let Some(v) = root.get("openapi") {
        return match v.as_str() {
            Some(s) if s.starts_with('3') => Ok(Kind::OpenApi3),
            _ => Err(InputError::at(
                source,
                v.span.start,
                "`openapi` must be a version string `3.x.y`",
            )),
        };
    }
    if let Some(v) = root.get("swagger") {
        return match v.as_str() {
            Some(s) if s.starts_with('2') => Ok(Kind::Swagger2),
            _ => Err(InputError::at(
                source,
                v.span.start,
                "`swagger` must be the version string `2.0`",
            )),
        };
    }
    if discovery::is_discovery(root) {
        return Ok(Kind::Discovery);
    }
    if scopegate_core::manifest::is_manifest(root) {
        return Ok(Kind::Native);
    }
    Err(InputError::at(
        source,
        root.span.start,
        "neither a scopegate manifest (no `permissions` or `endpoints`) nor an API description (no `openapi`, `swagger` or `discoveryVersion`)",
    ))
}
