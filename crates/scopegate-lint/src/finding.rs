//! Findings and the report of a lint run.

use serde::Serialize;

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

/// Counts over what a run examined.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Input files read (including files reached through `$ref`).
    pub files: usize,
    /// Endpoints (native) and paths (OpenAPI).
    pub endpoints: usize,
    /// Endpoint methods examined.
    pub operations: usize,
    /// Of those, mutations (POST, PUT, PATCH, DELETE).
    pub mutations: usize,
    /// Findings reported.
    pub findings: usize,
}

/// The result of a lint run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Findings, sorted.
    pub findings: Vec<Finding>,
    /// Counts.
    pub summary: Summary,
    /// Warnings (dangling `$ref`s outside what the rules read, undefined schemes, …).
    pub warnings: Vec<String>,
}

impl Report {
    /// Sorts findings into their stable order: by file, code, endpoint, method, message.
    pub fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            (&a.file, a.code, &a.endpoint, &a.method, &a.message, a.line).cmp(&(
                &b.file,
                b.code,
                &b.endpoint,
                &b.method,
                &b.message,
                b.line,
            ))
        });
        self.summary.findings = self.findings.len();
    }
}
