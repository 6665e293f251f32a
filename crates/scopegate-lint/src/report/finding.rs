//! One finding, and the identity of the rule that found it.

use serde::Serialize;

use crate::settings::Severity;

/// A rule's identity, as findings carry it: its stable code and its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleId {
    /// The stable code (`SG001`).
    pub code: &'static str,
    /// The name (`readonly-scope-on-mutation`).
    pub name: &'static str,
}

/// Where a finding comes from: the kind of input it was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    /// A native manifest (TOML or JSON).
    Native,
    /// An OpenAPI 3.x or Swagger 2.0 document.
    Openapi,
}

/// One finding (the JSON schema of docs/lint-rules.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule code (`SG001`).
    pub code: &'static str,
    /// The rule name (`readonly-scope-on-mutation`).
    pub rule: &'static str,
    /// The endpoint: the endpoint class name (native) or the URL path (OpenAPI).
    pub endpoint: String,
    /// The URL path, when known.
    pub path: Option<String>,
    /// The HTTP method, when the finding is about one.
    pub method: Option<String>,
    /// The scopes concerned (sorted).
    pub scopes: Vec<String>,
    /// The permission class (native) or security schemes (OpenAPI) the finding is about.
    pub via: Option<String>,
    /// The human message.
    pub message: String,
    /// The file, as named on the command line (or reached through `$ref`).
    pub file: String,
    /// One-based line.
    pub line: usize,
    /// One-based column.
    pub column: usize,
    /// A JSON pointer into `file` (OpenAPI inputs).
    pub pointer: Option<String>,
    /// The kind of input.
    #[serde(skip)]
    pub input: InputKind,
    /// How much it matters (from the run's settings); serialized only when not `error`, so
    /// the JSON of an unconfigured run is unchanged.
    #[serde(
        skip_serializing_if = "is_error",
        serialize_with = "serialize_severity"
    )]
    pub severity: Severity,
}

fn is_error(s: &Severity) -> bool {
    *s == Severity::Error
}

fn serialize_severity<S: serde::Serializer>(s: &Severity, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s.as_str())
}

impl Finding {
    /// The key a baseline records: (file, code, endpoint, method).
    pub fn baseline_key(&self) -> (String, String, String, String) {
        (
            self.file.clone(),
            self.code.to_string(),
            self.endpoint.clone(),
            self.method.clone().unwrap_or_default(),
        )
    }
}
