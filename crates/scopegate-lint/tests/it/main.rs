//! Integration tests of scopegate-lint: rules over fixtures, the Sentry corpora, OpenAPI
//! semantics, malformed inputs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test helpers may fail loudly"
)]

mod atlassian;
mod corpora;
mod discovery;
mod json;
mod malformed;
mod openapi;
mod prune;
mod rules;

use std::path::{Path, PathBuf};

use scopegate_core::Policy;
use scopegate_lint::output::{render, Format};
use scopegate_lint::{lint_paths, Options, Report};

/// The fixtures directory.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Lints `paths` with `options` (Sentry policy).
pub fn lint_with(paths: &[PathBuf], options: &Options) -> Report {
    let policy = Policy::sentry();
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    lint_paths(&refs, &policy, options).unwrap()
}

/// Lints one fixture with default options and renders it as text with file names relative to
/// the fixtures directory.
pub fn lint_fixture_text(name: &str) -> String {
    let options = Options::new(&Policy::sentry());
    text_of(&lint_with(&[fixture(name)], &options))
}

/// Text output with the fixture directory stripped from file names.
pub fn text_of(report: &Report) -> String {
    let dir = format!(
        "{}/",
        fixture("").display().to_string().trim_end_matches('/')
    );
    render(report, Format::Text).replace(&dir, "")
}

mod matrix;
mod sarif;
