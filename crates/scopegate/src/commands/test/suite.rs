//! A policy test file (`*.test.toml`, `docs/policy-tests.md`) read into a [`Suite`]: the
//! policy, manifest and world it names, and its cases, each request validated and each
//! expectation checked against what the engine can answer. Every problem is located
//! (`file:line:column`).

use std::ops::Range;
use std::path::{Path, PathBuf};

use scopegate_core::decision::{GrantPath, GranularPath, Reason};
use scopegate_core::{Manifest, Policy, Request, RequestDoc, Source, World, WorldDoc};
use serde::Deserialize;
use toml::Spanned;

use crate::suggest;

/// The decision reason codes (core's [`Reason::ALL`]).
fn reasons() -> impl Iterator<Item = &'static str> + Clone {
    Reason::ALL.into_iter().map(Reason::as_str)
}

/// The grant path codes (core's [`GrantPath::ALL`] and [`GranularPath::ALL`]).
fn grants() -> impl Iterator<Item = &'static str> + Clone {
    GrantPath::ALL
        .into_iter()
        .map(GrantPath::as_str)
        .chain(GranularPath::ALL.into_iter().map(GranularPath::as_str))
}

/// The statuses a decision has.
const STATUSES: [u16; 4] = [200, 401, 403, 404];

/// A test file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    world: Spanned<toml::Value>,
    manifest: Option<Spanned<String>>,
    policy: Option<Spanned<String>>,
    #[serde(default)]
    cases: Vec<Spanned<CaseDoc>>,
}

/// The `world` table of a file whose world is inline.
#[derive(Deserialize)]
struct InlineWorld {
    world: WorldDoc,
}

/// One `[[cases]]` entry as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseDoc {
    name: Spanned<String>,
    request: Spanned<RequestDoc>,
    allowed: bool,
    status: Option<Spanned<u16>>,
    reason: Option<Spanned<String>>,
    grant: Option<Spanned<Vec<String>>>,
    missing_scopes: Option<Spanned<Vec<String>>>,
}

/// What a case expects: `allowed`, and any of the other fields of a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// Whether the request is allowed.
    pub allowed: bool,
    /// The HTTP status.
    pub status: Option<u16>,
    /// The reason code.
    pub reason: Option<String>,
    /// The grant path (and granular path).
    pub grant: Option<Vec<String>>,
    /// The missing scopes, sorted.
    pub missing_scopes: Option<Vec<String>>,
}

/// One case, ready to decide.
#[derive(Debug)]
pub struct Case {
    /// Its name.
    pub name: String,
    /// Where it is written (`file:line:column` of its table).
    pub location: String,
    /// The request.
    pub request: Request,
    /// The expected decision.
    pub expected: Expected,
}

/// A test file, loaded: everything needed to decide its cases.
#[derive(Debug)]
pub struct Suite {
    /// The file, as named on the command line or found under a directory.
    pub file: PathBuf,
    /// The policy.
    pub policy: Policy,
    /// The manifest, compiled against the policy.
    pub manifest: Manifest,
    /// The world, indexed against the policy.
    pub world: World,
    /// The cases, in file order.
    pub cases: Vec<Case>,
}

/// A test file's text with the locations of its spans.
struct Located<'a> {
    source: &'a Source,
}

impl Located<'_> {
    fn at(&self, span: &Range<usize>, message: impl std::fmt::Display) -> String {
        format!(
            "{}:{}: {message}",
            self.source.name(),
            self.source.location(span.start)
        )
    }

    fn toml_error(&self, e: &toml::de::Error) -> String {
        let message = e.message().trim_end();
        match e.span() {
            Some(span) => self.at(&span, message),
            None => format!("{}: {message}", self.source.name()),
        }
    }
}

/// A path written in a test file: relative to the file's directory.
fn relative(file: &Path, written: &str) -> PathBuf {
    file.parent().unwrap_or(Path::new("")).join(written)
}

/// Reads and validates the test file at `file`.
pub fn load(file: &Path) -> Result<Suite, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("{}: cannot read: {e}", file.display()))?;
    let source = Source::new(file.display().to_string(), text);
    let here = Located { source: &source };
    let doc: FileDoc = toml::from_str(source.text()).map_err(|e| here.toml_error(&e))?;

    let policy = match &doc.policy {
        Some(p) => crate::load_policy(Some(&relative(file, p.get_ref())))
            .map_err(|e| here.at(&p.span(), format!("{e:#}")))?,
        None => Policy::sentry(),
    };
    let manifest = match &doc.manifest {
        Some(m) => crate::load_manifest(&relative(file, m.get_ref()), &policy)
            .map_err(|e| here.at(&m.span(), format!("{e:#}")))?,
        None => {
            let service = Source::new(
                "<scopegate service manifest>",
                scopegate_server::SERVICE_MANIFEST,
            );
            Manifest::load(&service, &policy).map_err(|d| format!("invalid manifest:\n{d}"))?
        }
    };
    let world = load_world(&doc, file, &here, &policy)?;

    let mut cases: Vec<Case> = Vec::new();
    if doc.cases.is_empty() {
        return Err(format!(
            "{}: no `[[cases]]`: a test file holds at least one case",
            source.name()
        ));
    }
    for case in doc.cases {
        let span = case.span();
        let case = case.into_inner();
        if cases.iter().any(|c| &c.name == case.name.get_ref()) {
            return Err(here.at(
                &case.name.span(),
                format!("duplicate case name `{}`", case.name.get_ref()),
            ));
        }
        cases.push(load_case(case, &span, &here, &policy, &manifest)?);
    }
    Ok(Suite {
        file: file.to_path_buf(),
        policy,
        manifest,
        world,
        cases,
    })
}

fn load_world(
    doc: &FileDoc,
    file: &Path,
    here: &Located<'_>,
    policy: &Policy,
) -> Result<World, String> {
    let span = doc.world.span();
    let world_doc = match doc.world.get_ref() {
        toml::Value::String(path) => {
            return crate::load_world(&relative(file, path), policy)
                .map_err(|e| here.at(&span, format!("{e:#}")));
        }
        toml::Value::Table(_) => {
            toml::from_str::<InlineWorld>(here.source.text())
                .map_err(|e| here.toml_error(&e))?
                .world
        }
        other => {
            return Err(here.at(
                &span,
                format!(
                    "`world`: a path to a world document (string) or an inline table, not a {}",
                    other.type_str()
                ),
            ))
        }
    };
    World::build(&world_doc, policy).map_err(|e| {
        let problems: Vec<String> = e.0.iter().map(|p| format!("  world.{p}")).collect();
        here.at(&span, format!("invalid world:\n{}", problems.join("\n")))
    })
}

fn load_case(
    case: CaseDoc,
    span: &Range<usize>,
    here: &Located<'_>,
    policy: &Policy,
    manifest: &Manifest,
) -> Result<Case, String> {
    let name = case.name.into_inner();
    let in_case =
        |span: &Range<usize>, message: String| here.at(span, format!("case `{name}`: {message}"));
    let request_span = case.request.span();
    let request_doc = case.request.into_inner();
    if manifest.endpoint_id(&request_doc.endpoint).is_none() {
        let known = manifest.endpoints.iter().map(|e| e.name.as_str());
        return Err(in_case(
            &request_span,
            format!(
                "unknown endpoint `{}`{}",
                request_doc.endpoint,
                suggest::hint(&request_doc.endpoint, known)
            ),
        ));
    }
    let request = Request::from_doc(request_doc, policy)
        .map_err(|e| in_case(&request_span, format!("invalid request: {e}")))?;
    if let Some(status) = &case.status {
        if !STATUSES.contains(status.get_ref()) {
            return Err(in_case(
                &status.span(),
                format!(
                    "`status`: {} is not a decision's status (200, 401, 403 or 404)",
                    status.get_ref()
                ),
            ));
        }
    }
    if let Some(reason) = &case.reason {
        let r = reason.get_ref();
        if !reasons().any(|known| known == r) {
            return Err(in_case(
                &reason.span(),
                format!(
                    "`reason`: unknown reason `{r}`{}",
                    suggest::hint(r, reasons())
                ),
            ));
        }
    }
    if let Some(grant) = &case.grant {
        if let Some(g) = grant
            .get_ref()
            .iter()
            .find(|g| !grants().any(|known| known == g.as_str()))
        {
            return Err(in_case(
                &grant.span(),
                format!(
                    "`grant`: unknown grant path `{g}`{}",
                    suggest::hint(g, grants())
                ),
            ));
        }
    }
    if let Some(missing) = &case.missing_scopes {
        if let Some(s) = missing
            .get_ref()
            .iter()
            .find(|s| policy.scopes.id(s).is_none())
        {
            return Err(in_case(
                &missing.span(),
                format!(
                    "`missing_scopes`: unknown scope `{s}`{}",
                    suggest::hint(s, policy.scopes.names())
                ),
            ));
        }
    }
    let expected = Expected {
        allowed: case.allowed,
        status: case.status.map(Spanned::into_inner),
        reason: case.reason.map(Spanned::into_inner),
        grant: case.grant.map(Spanned::into_inner),
        missing_scopes: case.missing_scopes.map(|m| {
            let mut v = m.into_inner();
            v.sort();
            v
        }),
    };
    Ok(Case {
        location: format!(
            "{}:{}",
            here.source.name(),
            here.source.location(span.start)
        ),
        name,
        request,
        expected,
    })
}
