//! Running the rules over inputs.

use std::path::Path;

use scopegate_core::{ManifestDoc, Policy};

use crate::finding::{Finding, Report};
use crate::load::{InputError, Kind, Loader, Loc};
use crate::readonly::ReadonlyScopes;
use crate::{native, openapi, rules};

/// How a scope list inside one security scheme reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScopeList {
    /// Every listed scope is required (the OpenAPI meaning).
    #[default]
    All,
    /// Any one listed scope suffices (how Sentry, Slack and Google write their lists).
    Any,
}

/// Which endpoint methods of a native manifest are examined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PublishFilter {
    /// Every method present in `publish_status`, whatever its status (Sentry's guard).
    #[default]
    All,
    /// Only methods whose status is `public`.
    Public,
}

/// The settings of a lint run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The read-only scopes.
    pub readonly: ReadonlyScopes,
    /// How OpenAPI scope lists read.
    pub scope_list: ScopeList,
    /// Which native methods are examined.
    pub publish_status: PublishFilter,
    /// Codes or code prefixes to run (empty: all).
    pub select: Vec<String>,
    /// Codes or code prefixes not to run.
    pub ignore: Vec<String>,
}

impl Options {
    /// The defaults for `policy`: its read-only scopes, `all` lists, every status, every rule.
    pub fn new(policy: &Policy) -> Self {
        Options {
            readonly: ReadonlyScopes::from_policy(policy),
            scope_list: ScopeList::All,
            publish_status: PublishFilter::All,
            select: Vec::new(),
            ignore: Vec::new(),
        }
    }

    /// Whether the rule `code` runs.
    pub fn enabled(&self, code: &str) -> bool {
        let matches = |p: &String| code.eq_ignore_ascii_case(p) || code.starts_with(p.as_str());
        (self.select.is_empty() || self.select.iter().any(matches))
            && !self.ignore.iter().any(matches)
    }
}

/// What the rules read: the policy and the options.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The policy (its scope registry, for SG004).
    pub policy: &'a Policy,
    /// The options.
    pub options: &'a Options,
}

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
            Err(e) => errors.extend(e.0),
        }
    }
    if !errors.is_empty() {
        return Err(InputError(errors));
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
    let doc = loader.add_root(crate::text::Text::new(name, text), None)?;
    lint_doc(&mut loader, doc, ctx, &mut report)?;
    report.findings.retain(|f| options.enabled(f.code));
    report.summary.files = loader.docs().len();
    report.warnings.append(&mut loader.warnings);
    report.sort();
    Ok(report)
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
    doc: std::rc::Rc<crate::load::Doc>,
    ctx: Context<'_>,
    report: &mut Report,
) -> Result<(), InputError> {
    let kind = crate::load::kind(&doc.source, &doc.root)?;
    match kind {
        Kind::Native => {
            let source = doc.source.source();
            let manifest =
                ManifestDoc::from_node(&doc.root, &source).map_err(|d| InputError(d.items))?;
            let input = native::Input {
                source: &source,
                doc: &manifest,
            };
            native::count(&input, ctx, &mut report.summary);
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
            let api = crate::discovery::read(Loc::root(doc))?;
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
