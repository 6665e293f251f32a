//! World import ([`Store::import_world`](crate::Store::import_world)): what a world document
//! (docs/wire.md §1, the JSON `scopegate check --world` reads) becomes in the store.
//!
//! # What is stored
//!
//! - **Every id as the document gives it** (organizations, users, members, teams, projects,
//!   integrations), so requests written against the document decide the same against the
//!   store; on PostgreSQL the id sequences are then moved past the imported ids.
//! - **Every field the engine reads**: organization features, options, open membership,
//!   2FA and SSO requirements; user 2FA; member role, flags, user (`null`: a pending invite)
//!   and team memberships with their team roles; projects with their active flag and owning
//!   teams; integrations with their installations; granular grants by member or by team.
//! - **Integration scopes as written**: no implied scope is added (unlike
//!   `scopegate integration create`), because the document is what the engine decides over.
//!
//! # Placeholders for what a document does not carry
//!
//! Deterministic, under the reserved `.invalid` top-level domain (RFC 2606), so they can
//! never be anyone's address:
//!
//! | what | stored as |
//! |---|---|
//! | a user's email | `user-{id}@import.invalid` ([`user_email`]) |
//! | a member's email | its user's placeholder; a pending invite: `invite-{member id}@import.invalid` ([`invite_email`]) |
//! | organization, team and project names | their slug |
//! | an integration's slug and name | `integration-{id}` |
//! | superuser | nobody |
//!
//! # Validation
//!
//! Before anything is written: the document must build against the policy
//! (`scopegate_core::World::build`: dangling ids, unknown roles, scopes, kinds, duplicate ids
//! and slugs), and fit the schema (ids below 2^63 − 1; no project owned twice by one team,
//! no integration installed twice on one organization, no duplicate grant). Every problem
//! is reported, located (`projects[2].teams[1]: …`).

use std::collections::{HashMap, HashSet};

use scopegate_core::{Policy, World, WorldDoc};

use crate::{Result, StoreError};

/// The largest id an import accepts: one below `i64::MAX`, so that the next id a backend
/// generates still fits.
pub const MAX_ID: u64 = (i64::MAX - 1) as u64;

/// What [`Store::import_world`](crate::Store::import_world) wrote. Its JSON (field order
/// as declared) is the `world.import` audit entry's data and `world import --format json`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    /// Organizations.
    pub organizations: usize,
    /// Users.
    pub users: usize,
    /// Members and pending invites.
    pub members: usize,
    /// Teams.
    pub teams: usize,
    /// Projects.
    pub projects: usize,
    /// Integrations.
    pub integrations: usize,
    /// Granular grants.
    pub grants: usize,
}

/// The placeholder email of imported user `id`.
pub fn user_email(id: i64) -> String {
    format!("user-{id}@import.invalid")
}

/// The placeholder email of imported pending invite (member) `member`.
pub fn invite_email(member: i64) -> String {
    format!("invite-{member}@import.invalid")
}

/// The placeholder slug (and name) of imported integration `id`.
pub fn integration_slug(id: i64) -> String {
    format!("integration-{id}")
}

/// Checks that `doc` builds against `policy` and fits the schema; every problem, located.
pub(crate) fn validate(doc: &WorldDoc, policy: &Policy) -> Result<()> {
    let mut problems: Vec<String> = match World::build(doc, policy) {
        Ok(_) => Vec::new(),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    };
    let mut id = |path: String, id: u64| {
        if id > MAX_ID {
            problems.push(format!("{path}: id {id} is too large (at most {MAX_ID})"));
        }
    };
    for (i, o) in doc.organizations.iter().enumerate() {
        id(format!("organizations[{i}].id"), o.id);
    }
    for (i, u) in doc.users.iter().enumerate() {
        id(format!("users[{i}].id"), u.id);
    }
    for (i, m) in doc.members.iter().enumerate() {
        id(format!("members[{i}].id"), m.id);
    }
    for (i, t) in doc.teams.iter().enumerate() {
        id(format!("teams[{i}].id"), t.id);
    }
    for (i, p) in doc.projects.iter().enumerate() {
        id(format!("projects[{i}].id"), p.id);
    }
    for (i, it) in doc.integrations.iter().enumerate() {
        id(format!("integrations[{i}].id"), it.id);
    }
    for (i, p) in doc.projects.iter().enumerate() {
        let mut seen = HashSet::new();
        for (j, t) in p.teams.iter().enumerate() {
            if !seen.insert(*t) {
                problems.push(format!(
                    "projects[{i}].teams[{j}]: team {t} is listed twice"
                ));
            }
        }
    }
    for (i, it) in doc.integrations.iter().enumerate() {
        let mut seen = HashSet::new();
        for (j, o) in it.installed_on.iter().enumerate() {
            if !seen.insert(*o) {
                problems.push(format!(
                    "integrations[{i}].installed_on[{j}]: organization {o} is listed twice"
                ));
            }
        }
    }
    let mut grants = HashMap::new();
    for (i, g) in doc.granular_grants.iter().enumerate() {
        if let Some(first) = grants.insert((g.organization, &g.kind, g.member, g.team), i) {
            problems.push(format!(
                "granular_grants[{i}]: the same grant as granular_grants[{first}]"
            ));
        }
    }
    problems.extend(control_characters(doc));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(StoreError::InvalidWorld(problems))
    }
}

/// Every string of `doc` (value or key) holding a control character, located: no stored
/// text may hold one (PostgreSQL refuses NUL in `text`; SQLite would store it), so both
/// backends refuse the document the same way.
fn control_characters(doc: &WorldDoc) -> Vec<String> {
    let Ok(value) = serde_json::to_value(doc) else {
        return vec!["the document cannot be read back".into()];
    };
    let mut problems = Vec::new();
    let mut stack = vec![(String::new(), &value)];
    while let Some((path, v)) = stack.pop() {
        match v {
            serde_json::Value::String(s) if s.chars().any(char::is_control) => {
                problems.push(format!("{path}: must not contain control characters"));
            }
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate().rev() {
                    stack.push((format!("{path}[{i}]"), item));
                }
            }
            serde_json::Value::Object(map) => {
                for (k, item) in map.iter().rev() {
                    let field = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    if k.chars().any(char::is_control) {
                        problems.push(format!(
                            "{}: a key must not contain control characters",
                            field.escape_debug()
                        ));
                    }
                    stack.push((field, item));
                }
            }
            _ => {}
        }
    }
    problems
}

/// A validated id as stored.
fn sid(id: u64) -> Result<i64> {
    i64::try_from(id).map_err(|_| StoreError::InvalidWorld(vec![format!("id {id} is too large")]))
}

/// A JSON value as stored (TEXT).
fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A user row: id, email, has 2FA.
pub(crate) type UserRow = (i64, String, bool);
/// An organization row: id, slug, options (JSON), features (JSON), open membership,
/// require 2FA, require SSO.
pub(crate) type OrgRow = (i64, String, String, String, bool, bool, bool);
/// A member row: id, organization, user, email, role, over the member limit, SSO linked.
pub(crate) type MemberRow = (i64, i64, Option<i64>, String, String, bool, bool);
/// A team row: id, organization, slug.
pub(crate) type TeamRow = (i64, i64, String);
/// A project row: id, organization, slug, active.
pub(crate) type ProjectRow = (i64, i64, String, bool);
/// A grant row: organization, kind, member, team.
pub(crate) type GrantRow = (i64, String, Option<i64>, Option<i64>);

/// A validated document as rows, in document order.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    pub(crate) users: Vec<UserRow>,
    pub(crate) orgs: Vec<OrgRow>,
    pub(crate) members: Vec<MemberRow>,
    pub(crate) teams: Vec<TeamRow>,
    /// Team, member, team role.
    pub(crate) team_members: Vec<(i64, i64, Option<String>)>,
    pub(crate) projects: Vec<ProjectRow>,
    /// Project, team.
    pub(crate) project_teams: Vec<(i64, i64)>,
    /// Id, slug (also the name), scopes (JSON).
    pub(crate) integrations: Vec<(i64, String, String)>,
    /// Integration, organization.
    pub(crate) installs: Vec<(i64, i64)>,
    pub(crate) grants: Vec<GrantRow>,
    /// One `world.import` entry per organization: id, slug, counts.
    pub(crate) audit: Vec<(i64, String, serde_json::Value)>,
    pub(crate) summary: ImportSummary,
}

impl Rows {
    /// Validates `doc` against `policy` and turns it into rows.
    pub(crate) fn new(doc: &WorldDoc, policy: &Policy) -> Result<Rows> {
        validate(doc, policy)?;
        let mut r = Rows::default();
        for u in &doc.users {
            let id = sid(u.id)?;
            r.users.push((id, user_email(id), u.has_2fa));
        }
        for o in &doc.organizations {
            r.orgs.push((
                sid(o.id)?,
                o.slug.clone(),
                json(&o.options)?,
                json(&o.features)?,
                o.open_membership,
                o.require_2fa,
                o.require_sso,
            ));
        }
        for m in &doc.members {
            let id = sid(m.id)?;
            let user = m.user.map(sid).transpose()?;
            let email = user.map_or_else(|| invite_email(id), user_email);
            r.members.push((
                id,
                sid(m.organization)?,
                user,
                email,
                m.role.clone(),
                m.flags.member_limit_restricted,
                m.flags.sso_linked,
            ));
            for t in &m.teams {
                r.team_members.push((sid(t.team)?, id, t.role.clone()));
            }
        }
        for t in &doc.teams {
            r.teams
                .push((sid(t.id)?, sid(t.organization)?, t.slug.clone()));
        }
        for p in &doc.projects {
            let id = sid(p.id)?;
            r.projects
                .push((id, sid(p.organization)?, p.slug.clone(), p.active));
            for t in &p.teams {
                r.project_teams.push((id, sid(*t)?));
            }
        }
        for it in &doc.integrations {
            let id = sid(it.id)?;
            r.integrations
                .push((id, integration_slug(id), json(&it.scopes)?));
            for o in &it.installed_on {
                r.installs.push((id, sid(*o)?));
            }
        }
        for g in &doc.granular_grants {
            r.grants.push((
                sid(g.organization)?,
                g.kind.clone(),
                g.member.map(sid).transpose()?,
                g.team.map(sid).transpose()?,
            ));
        }
        for o in &doc.organizations {
            let count = |n: usize| serde_json::Value::from(n);
            let members = doc.members.iter().filter(|m| m.organization == o.id);
            let teams = doc.teams.iter().filter(|t| t.organization == o.id);
            let projects = doc.projects.iter().filter(|p| p.organization == o.id);
            let grants = doc
                .granular_grants
                .iter()
                .filter(|g| g.organization == o.id);
            let installed = doc
                .integrations
                .iter()
                .filter(|i| i.installed_on.contains(&o.id));
            r.audit.push((
                sid(o.id)?,
                o.slug.clone(),
                serde_json::json!({
                    "members": count(members.count()),
                    "teams": count(teams.count()),
                    "projects": count(projects.count()),
                    "grants": count(grants.count()),
                    "integrations": count(installed.count()),
                }),
            ));
        }
        r.summary = ImportSummary {
            organizations: doc.organizations.len(),
            users: doc.users.len(),
            members: doc.members.len(),
            teams: doc.teams.len(),
            projects: doc.projects.len(),
            integrations: doc.integrations.len(),
            grants: doc.granular_grants.len(),
        };
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use scopegate_core::wire::{
        GrantDoc, IntegrationDoc, MemberDoc, MemberFlagsDoc, OrganizationDoc, ProjectDoc, TeamDoc,
    };

    use super::*;

    fn problems(doc: &WorldDoc) -> Vec<String> {
        match validate(doc, &Policy::sentry()) {
            Err(StoreError::InvalidWorld(p)) => p,
            other => vec![format!("unexpected: {other:?}")],
        }
    }

    fn org(id: u64, slug: &str) -> OrganizationDoc {
        OrganizationDoc {
            id,
            slug: slug.into(),
            ..OrganizationDoc::default()
        }
    }

    #[test]
    fn schema_problems_are_located() {
        let doc = WorldDoc {
            organizations: vec![org(1, "a"), org(u64::MAX, "b")],
            teams: vec![TeamDoc {
                id: 5,
                organization: 1,
                slug: "t".into(),
            }],
            projects: vec![ProjectDoc {
                id: 6,
                organization: 1,
                slug: "p".into(),
                teams: vec![5, 5],
                active: true,
            }],
            integrations: vec![IntegrationDoc {
                id: 7,
                scopes: vec!["org:read".into()],
                installed_on: vec![1, 1],
            }],
            granular_grants: vec![
                GrantDoc {
                    organization: 1,
                    kind: "replay".into(),
                    member: None,
                    team: Some(5),
                };
                2
            ],
            ..WorldDoc::default()
        };
        assert_eq!(
            problems(&doc),
            [
                format!(
                    "organizations[1].id: id {} is too large (at most {MAX_ID})",
                    u64::MAX
                ),
                "projects[0].teams[1]: team 5 is listed twice".to_string(),
                "integrations[0].installed_on[1]: organization 1 is listed twice".to_string(),
                "granular_grants[1]: the same grant as granular_grants[0]".to_string(),
            ]
        );
    }

    #[test]
    fn engine_problems_come_first_and_every_one_is_reported() {
        let doc = WorldDoc {
            organizations: vec![org(1, "a")],
            members: vec![MemberDoc {
                id: 100,
                organization: 1,
                user: Some(10),
                role: "boss".into(),
                teams: Vec::new(),
                flags: MemberFlagsDoc::default(),
            }],
            integrations: vec![IntegrationDoc {
                id: 7,
                scopes: vec!["event:read".into()],
                installed_on: vec![1, 2, 2],
            }],
            ..WorldDoc::default()
        };
        assert_eq!(
            problems(&doc),
            [
                "members[0].role: unknown org role `boss`",
                "integrations[0].installed_on[1]: unknown organization id 2",
                "integrations[0].installed_on[2]: unknown organization id 2",
                "integrations[0].installed_on[2]: organization 2 is listed twice",
            ]
        );
    }

    #[test]
    fn placeholders_are_deterministic_and_invalid_addresses() {
        assert_eq!(user_email(10), "user-10@import.invalid");
        assert_eq!(invite_email(100), "invite-100@import.invalid");
        assert_eq!(integration_slug(7), "integration-7");
    }
}
