//! The problems of a world document or of a patch ([`WorldError`], [`WorldErrors`]), and the
//! collector that orders them as the document lists its entries.

use std::fmt;

/// A problem in a world document: where (a path such as `members[3]`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorldError {
    /// Path of the offending entry, e.g. `members[3].role`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for WorldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem of a world document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct WorldErrors(pub Vec<WorldError>);

impl WorldErrors {
    /// One line for a log or an error message: the count, then the first `limit` problems
    /// (each `path: message`), then how many more there are:
    /// `2 problem(s): members[0].role: unknown org role `ghost`; teams[1].id: …`.
    pub fn summary(&self, limit: usize) -> String {
        let listed: Vec<String> = self.0.iter().take(limit).map(ToString::to_string).collect();
        let mut text = format!("{} problem(s): {}", self.0.len(), listed.join("; "));
        if self.0.len() > limit {
            text.push_str(&format!("; … and {} more", self.0.len() - limit));
        }
        text
    }
}

/// A list of a world document or of a patch, in the order problems are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Section {
    Organizations,
    Users,
    Teams,
    Projects,
    Members,
    Integrations,
    GranularResources,
    GranularGrants,
    RemovedOrgs,
    RemovedUsers,
    Edits,
}

impl Section {
    fn name(self) -> &'static str {
        match self {
            Section::Organizations => "organizations",
            Section::Users => "users",
            Section::Teams => "teams",
            Section::Projects => "projects",
            Section::Members => "members",
            Section::Integrations => "integrations",
            Section::GranularResources => "granular_resources",
            Section::GranularGrants => "granular_grants",
            Section::RemovedOrgs => "removed_orgs",
            Section::RemovedUsers => "removed_users",
            Section::Edits => "edits",
        }
    }

    /// A list of the organizations' document (`WorldPatch::orgs` in a patch).
    fn in_org_doc(self) -> bool {
        matches!(
            self,
            Section::Organizations
                | Section::Teams
                | Section::Projects
                | Section::Members
                | Section::GranularGrants
        )
    }
}

/// Collects problems with their place, then lists them in document order: by list (in
/// [`Section`] order), then by entry, then in the order they were found.
#[derive(Debug, Default)]
pub(super) struct Errors {
    /// Paths of the organizations' lists start with `orgs.` (a patch's document).
    in_patch: bool,
    found: Vec<(Section, usize, WorldError)>,
}

impl Errors {
    /// A collector for a world document (`in_patch` false) or a patch.
    pub(super) fn new(in_patch: bool) -> Self {
        Errors {
            in_patch,
            found: Vec::new(),
        }
    }

    /// A problem of entry `index` of `section`; `field` follows the entry in the path
    /// (`.role`, `.teams[1].team`, or nothing).
    pub(super) fn at(
        &mut self,
        section: Section,
        index: usize,
        field: impl fmt::Display,
        message: String,
    ) {
        let prefix = if self.in_patch && section.in_org_doc() {
            "orgs."
        } else {
            ""
        };
        let path = format!("{prefix}{}[{index}]{field}", section.name());
        self.found
            .push((section, index, WorldError { path, message }));
    }

    /// A problem of the whole of `section` (no entry).
    pub(super) fn whole(&mut self, section: Section, message: String) {
        let path = section.name().to_string();
        self.found.push((section, 0, WorldError { path, message }));
    }

    /// `Ok(value)` when nothing was found, else every problem in document order.
    pub(super) fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, WorldErrors> {
        if self.found.is_empty() {
            return Ok(value());
        }
        let mut found = self.found;
        // Stable: problems of one entry keep the order they were found in.
        found.sort_by_key(|(section, index, _)| (*section, *index));
        Err(WorldErrors(found.into_iter().map(|(_, _, e)| e).collect()))
    }
}
