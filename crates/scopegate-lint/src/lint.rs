//! The driver: loads inputs, runs the rules of the registry over each, and returns a
//! [`Report`].

use std::path::{Path, PathBuf};
use std::rc::Rc;

use scopegate_core::{ManifestDoc, Policy, Source};

use crate::input::load::{Doc, Loader, Loc};
use crate::input::{discovery, native, openapi, InputError, Kind};
use crate::report::{Finding, Report};
use crate::rules::{self, Context};
use crate::settings::Options;

/// Lints the files at `paths` (each a native manifest or an OpenAPI document).
pub fn lint_paths(
    paths: &[&Path],
    policy: &Policy,
    options: &Options,
) -> Result<Report, InputError> {
    let mut loader = Loader::new();
    let mut report = Report::default();
    let ctx = Context { policy, options };
    let mut errors = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        match lint_one(&mut loader, path, &name, ctx, &mut report) {
            Ok(()) => {}
            Err(e) => errors.extend(e.items),
        }
    }
    if !errors.is_empty() {
        return Err(InputError { items: errors });
    }
    report.findings.retain(|f| options.enabled(f.code));
    report.summary.files = loader.docs().len();
    report.warnings.append(&mut loader.warnings);
    report.sort();
    Ok(report)
}

/// Lints one in-memory document called `name` (`$ref`s to other files resolve from the
/// current directory).
pub fn lint_text(
    name: &str,
    text: &str,
    policy: &Policy,
    options: &Options,
) -> Result<Report, InputError> {
    let mut loader = Loader::new();
    let mut report = Report::default();
    let ctx = Context { policy, options };
    let doc = loader.add_root(Source::new(name, text), None)?;
    lint_doc(&mut loader, doc, ctx, &mut report)?;
    report.findings.retain(|f| options.enabled(f.code));
    report.summary.files = loader.docs().len();
    report.warnings.append(&mut loader.warnings);
    report.sort();
    Ok(report)
}

/// Where the text of a [`Target`] comes from.
#[derive(Debug, Clone)]
pub enum TargetText {
    /// A file on disk.
    File(PathBuf),
    /// Text already read (standard input); `$ref`s resolve from the current directory.
    Text(String),
}

/// One input of a run, with its own settings (a configuration's overrides differ by file).
#[derive(Debug, Clone)]
pub struct Target {
    /// The text.
    pub text: TargetText,
    /// How findings name it.
    pub name: String,
    /// The settings for this input.
    pub options: Options,
    /// Found by walking a directory or expanding a glob rather than named: then a file that
    /// is neither a manifest nor an API description is skipped, not an error.
    pub discovered: bool,
}

/// Lints `targets`, each with its own settings; each finding gets its rule's severity.
pub fn lint_targets(targets: &[Target], policy: &Policy) -> Result<Report, InputError> {
    let mut loader = Loader::new();
    let mut report = Report::default();
    let mut errors = Vec::new();
    let mut skipped = 0;
    for target in targets {
        let ctx = Context {
            policy,
            options: &target.options,
        };
        let loaded = match &target.text {
            TargetText::File(path) => loader.load_root(path, &target.name),
            TargetText::Text(text) => loader.add_root(Source::new(&*target.name, &**text), None),
        };
        let doc = match loaded {
            Ok(doc) => doc,
            Err(e) => {
                if !target.discovered || looks_like_api(&target.text) {
                    errors.extend(e.items);
                }
                continue;
            }
        };
        if target.discovered && crate::input::kind(&doc.source, &doc.root).is_err() {
            skipped += 1;
            continue;
        }
        let start = report.findings.len();
        if let Err(e) = lint_doc(&mut loader, doc, ctx, &mut report) {
            errors.extend(e.items);
            continue;
        }
        // In place: the findings of this target are those from `start` on.
        let mut i = 0;
        report.findings.retain(|f| {
            i += 1;
            i <= start || target.options.enabled(f.code)
        });
        for f in report.findings.get_mut(start..).unwrap_or_default() {
            f.severity = target.options.severity_of(f.code);
        }
    }
    if !errors.is_empty() {
        return Err(InputError { items: errors });
    }
    report.summary.files = loader.docs().len().saturating_sub(skipped);
    report.warnings.append(&mut loader.warnings);
    report.sort();
    Ok(report)
}

/// Whether a discovered file that does not parse looks meant as an input (then its syntax
/// error is reported; otherwise it is some other file, and skipped).
fn looks_like_api(text: &TargetText) -> bool {
    let text = match text {
        TargetText::File(path) => std::fs::read_to_string(path).unwrap_or_default(),
        TargetText::Text(t) => t.clone(),
    };
    [
        "openapi",
        "swagger",
        "discoveryVersion",
        "endpoints",
        "permissions",
    ]
    .iter()
    .any(|w| text.contains(w))
}

fn lint_one(
    loader: &mut Loader,
    path: &Path,
    name: &str,
    ctx: Context<'_>,
    report: &mut Report,
) -> Result<(), InputError> {
    let doc = loader.load_root(path, name)?;
    lint_doc(loader, doc, ctx, report)
}

fn lint_doc(
    loader: &mut Loader,
    doc: Rc<Doc>,
    ctx: Context<'_>,
    report: &mut Report,
) -> Result<(), InputError> {
    let kind = crate::input::kind(&doc.source, &doc.root)?;
    match kind {
        Kind::Native => {
            let manifest = ManifestDoc::from_node(&doc.root, &doc.source)?;
            let input = native::Input {
                source: &doc.source,
                doc: &manifest,
            };
            native::count(&input, ctx.options, &mut report.summary);
            let mut findings: Vec<Finding> = Vec::new();
            for rule in rules::RULES {
                if ctx.options.enabled(rule.code) {
                    (rule.native)(&input, ctx, &mut findings)?;
                }
            }
            report.findings.extend(findings);
        }
        Kind::OpenApi3 | Kind::Swagger2 => {
            let api = openapi::Api::read(loader, Loc::root(doc), kind)?;
            api.count(&mut report.summary);
            report.warnings.extend(api.warnings.iter().cloned());
            for rule in rules::RULES {
                if ctx.options.enabled(rule.code) {
                    (rule.openapi)(&api, ctx, &mut report.findings);
                }
            }
            loader.check_all_refs();
        }
        Kind::Discovery => {
            let api = discovery::read(Loc::root(doc))?;
            api.count(&mut report.summary);
            report.warnings.extend(api.warnings.iter().cloned());
            for rule in rules::RULES {
                if ctx.options.enabled(rule.code) {
                    (rule.openapi)(&api, ctx, &mut report.findings);
                }
            }
        }
    }
    Ok(())
}
