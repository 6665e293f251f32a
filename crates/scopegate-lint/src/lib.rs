//! scopegate-lint: the guardrail (docs/lint-rules.md).
//!
//! Layers, each importing only those above it:
//!
//! - [`settings`]: the settings of a run (read-only scopes, scope-list meaning, which
//!   methods and rules); imports nothing else of the crate.
//! - [`report`]: findings, counts, the [`RuleId`] a finding names, and baselines.
//! - [`input`]: inputs detected by content — the native manifest (TOML or JSON), OpenAPI 3.x
//!   and Swagger 2.0 (JSON or YAML) with local `$ref`s resolved across files, Jira's
//!   `x-atlassian-oauth2-scopes` ([`input::atlassian`]) among their operations, and Google
//!   API Discovery documents ([`input::discovery`]) read into the same operations — and the
//!   models the rules read. Errors are the core's located
//!   [`scopegate_core::source::Diagnostics`].
//! - [`rules`]: the rules SG001–SG006, one module per rule, and their registry.
//! - [`lint`]: the driver: runs the rules over inputs and returns a [`Report`].
//! - [`config`]: `scopegate.toml`, found once, resolved per file with each value's origin.
//! - [`output`]: text, JSON, SARIF 2.1.0, GitHub annotations, Markdown, JUnit XML and
//!   GitLab code quality.
//! - [`matrix`] (and [`matrix::diff`]): who may call what, and what a change grants or takes
//!   away, computed with the engine itself.

pub mod config;
pub mod input;
pub mod lint;
pub mod matrix;
pub mod output;
pub mod report;
pub mod rules;
pub mod settings;

pub use input::InputError;
pub use lint::{lint_paths, lint_targets, lint_text, Target, TargetText};
pub use report::{Finding, Report, RuleId, Summary};
pub use settings::{Options, PublishFilter, ReadonlyScopes, ScopeList, Severity};
