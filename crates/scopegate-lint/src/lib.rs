//! scopegate-lint: the guardrail (docs/lint-rules.md).
//!
//! - [`load`]: inputs detected by content — the native manifest (TOML or JSON), OpenAPI 3.x
//!   and Swagger 2.0 (JSON or YAML) — with local `$ref`s resolved across files; Google API
//!   Discovery documents ([`discovery`]) and Jira's `x-atlassian-oauth2-scopes`
//!   ([`atlassian`]) read into the same operations.
//! - [`rules`]: the rules SG001–SG006, one module per rule, and their registry.
//! - [`lint`]: runs the rules over inputs and returns a [`Report`].
//! - [`output`]: text, JSON, SARIF 2.1.0, GitHub annotations and Markdown.
//! - [`baseline`]: known findings, so that only new ones fail.
//! - [`matrix`] and [`diff`]: who may call what, and what a change grants or takes away,
//!   computed with the engine itself.

pub mod atlassian;
pub mod baseline;
pub mod diff;
pub mod discovery;
pub mod finding;
pub mod json;
pub mod lint;
pub mod load;
pub mod matrix;
pub mod native;
pub mod openapi;
pub mod output;
pub mod readonly;
pub mod rules;
pub mod text;
pub mod yaml;

pub use finding::{Finding, Report, Summary};
pub use lint::{lint_paths, lint_text, Options, PublishFilter, ScopeList};
pub use load::InputError;
pub use readonly::ReadonlyScopes;
