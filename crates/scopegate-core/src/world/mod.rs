//! The world index: the data a decision reads, built once from a [`WorldDoc`] so that a
//! decision is a handful of hash lookups and bit operations.
//!
//! Everything that depends only on the world and the policy is computed here, not per
//! request: each member's role scopes after option trimming, its effective team-role scopes
//! per team (empty when the organization lacks the team-roles feature), its global reach,
//! and for each granular resource kind whether it is listed (directly or through a team)
//! and whether the organization's allowlist is empty.
//!
//! # Shards
//!
//! Each organization is one shard, an [`Org`] behind an [`Arc`]: its row, teams, projects,
//! members (found by user id), granular state and every index over them. The shared parts
//! are the users (in buckets behind [`Arc`]s, so that changing one user copies one small
//! bucket) and the integrations (their `installed_on` lists organization ids). A [`World`]
//! is a map of shards by slug and by id plus those shared parts: cloning it copies a
//! pointer per organization, and [`World::patched`] builds only the organizations a patch
//! names, sharing every other shard with the world it started from.
//!
//! Inside a shard, teams, projects and members are kept in id order, whatever the order of
//! the document: two worlds with the same content are equal ([`PartialEq`]), however they
//! were built.
//!
//! - `build.rs` — [`World::build`]: the document grouped by organization, then each shard.
//! - `shard.rs` — one organization's shard, validated (every problem reported).
//! - `patch.rs` — [`WorldPatch`] and [`World::patched`].
//! - `buckets.rs` — the bucketed maps of the shared parts.
//! - `error.rs` — [`WorldError`], [`WorldErrors`], reported in document order.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::scope::ScopeSet;
use crate::wire::OrganizationDoc;

mod buckets;
mod build;
mod edit;
mod error;
mod patch;
mod shard;

use buckets::Buckets;
pub use edit::OrgEdit;
pub use error::{WorldError, WorldErrors};
pub use patch::WorldPatch;

#[cfg(doc)]
use crate::wire::WorldDoc;

/// Index of a team in its organization ([`Org::team`]).
pub type TeamIdx = u32;
/// Index of a project in its organization.
pub type ProjectIdx = u32;
/// Index of a member in its organization ([`World::members_of`]).
pub type MemberIdx = u32;

/// The state of one granular resource kind in one organization.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GranularState {
    /// The resource's feature is enabled.
    pub feature: bool,
    /// The toggle option is on (enforcement active).
    pub toggle: bool,
    /// The allowlist has at least one entry (a member or a team).
    pub nonempty: bool,
}

/// An organization: one shard of a [`World`], with its teams, projects and members.
#[derive(Debug, Clone, PartialEq)]
pub struct Org {
    /// Id.
    pub id: u64,
    /// Slug.
    pub slug: String,
    /// Open membership: every member reaches every team and project.
    pub open_membership: bool,
    /// 2FA required.
    pub require_2fa: bool,
    /// SSO required.
    pub require_sso: bool,
    /// The team-roles feature is on: team-role scopes count.
    pub team_roles: bool,
    /// Per granular resource kind of the policy, by index.
    pub granular: Vec<GranularState>,
    /// Teams, by id.
    teams: Vec<Team>,
    team_by_slug: FxHashMap<String, TeamIdx>,
    /// Projects, by id.
    projects: Vec<Project>,
    project_by_slug: FxHashMap<String, ProjectIdx>,
    /// Members, by id.
    members: Vec<Member>,
    member_by_user: FxHashMap<u64, MemberIdx>,
    /// The organization's row as given (its options and features are what member-level
    /// edits read, `edit.rs`).
    doc: OrganizationDoc,
    /// Per team (by [`TeamIdx`]): bit `k` set when the team is granted granular kind `k`.
    team_grants: Vec<u64>,
    /// Per granular kind: how many members are listed for it directly (by a member grant).
    direct_counts: Vec<u32>,
}

impl Org {
    /// The team at `idx` (an index of [`Member::teams`] or [`Project::teams`]).
    #[inline]
    pub fn team(&self, idx: TeamIdx) -> Option<&Team> {
        self.teams.get(idx as usize)
    }

    /// The teams, by id.
    pub fn teams(&self) -> &[Team] {
        &self.teams
    }

    /// The projects, by id.
    pub fn projects(&self) -> &[Project] {
        &self.projects
    }

    /// The members (pending invites included), by id.
    pub fn members(&self) -> &[Member] {
        &self.members
    }
}

/// A member.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// Id.
    pub id: u64,
    /// The user; `None` for a pending invite.
    pub user: Option<u64>,
    /// The organization's id.
    pub org: u64,
    /// The org role (index into the policy's org roles).
    pub role: usize,
    /// The role's scopes after the organization's options trimmed them.
    pub scopes: ScopeSet,
    /// Reaches every team and project (global role or open membership).
    pub global: bool,
    /// Team memberships (teams of the member's organization, [`Org::team`]) with the
    /// effective team-role scopes (empty without the feature), by team. Shared: a patch
    /// copies an organization's members without allocating a list per member.
    pub teams: Arc<[(TeamIdx, ScopeSet)]>,
    /// Disabled over the member limit.
    pub member_limit_restricted: bool,
    /// SSO identity linked.
    pub sso_linked: bool,
    /// Bit `k` set: listed for granular resource kind `k` (directly or through a team).
    pub granular_listed: u64,
    /// Bit `k` set: listed for granular resource kind `k` by a member grant.
    granular_direct: u64,
}

impl Member {
    /// The team-role scopes of this member's membership of `team`, if a member of it.
    pub fn team_scopes(&self, team: TeamIdx) -> Option<ScopeSet> {
        self.teams.iter().find(|(t, _)| *t == team).map(|(_, s)| *s)
    }

    /// Whether the member is listed for granular kind `kind`.
    pub fn is_listed(&self, kind: usize) -> bool {
        kind < 64 && self.granular_listed & (1u64 << kind) != 0
    }
}

/// A team.
#[derive(Debug, Clone, PartialEq)]
pub struct Team {
    /// Id.
    pub id: u64,
    /// The organization's id.
    pub org: u64,
    /// Slug.
    pub slug: String,
}

/// A project.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// Id.
    pub id: u64,
    /// The organization's id.
    pub org: u64,
    /// Slug.
    pub slug: String,
    /// Owning teams (of the project's organization, [`Org::team`]), in order.
    pub teams: Vec<TeamIdx>,
    /// Active.
    pub active: bool,
}

/// An integration.
#[derive(Debug, Clone, PartialEq)]
pub struct Integration {
    /// Id.
    pub id: u64,
    /// The app's scopes.
    pub scopes: ScopeSet,
    /// Ids of the organizations it is installed on, in order.
    pub installed_on: Vec<u64>,
}

/// A user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct User {
    /// Id.
    pub id: u64,
    /// Has two-factor authentication.
    pub has_2fa: bool,
}

/// Which organization holds each team, project and member id: ids are unique across the
/// world, and a reference to another organization's team or member is reported as such.
#[derive(Debug, Clone, Default)]
struct Ids {
    teams: Buckets<u64>,
    projects: Buckets<u64>,
    members: Buckets<u64>,
}

/// A world index, built against one policy: organizations as shards behind [`Arc`]s, the
/// users and integrations shared (module documentation).
#[derive(Debug, Clone, Default)]
pub struct World {
    org_by_slug: FxHashMap<Arc<str>, Arc<Org>>,
    org_by_id: FxHashMap<u64, Arc<Org>>,
    users: Buckets<User>,
    integrations: Arc<FxHashMap<u64, Integration>>,
    ids: Ids,
    member_count: usize,
}

/// Structural equality: the same organizations (shard by shard, with their teams,
/// projects, members and granular state), users and integrations. Shards shared by both
/// worlds are compared by pointer.
impl PartialEq for World {
    fn eq(&self, other: &Self) -> bool {
        self.org_by_id.len() == other.org_by_id.len()
            && self.member_count == other.member_count
            && self.org_by_id.iter().all(|(id, a)| {
                other
                    .org_by_id
                    .get(id)
                    .is_some_and(|b| Arc::ptr_eq(a, b) || a == b)
            })
            && self.users == other.users
            && (Arc::ptr_eq(&self.integrations, &other.integrations)
                || self.integrations == other.integrations)
    }
}

/// Python-style truthiness of a JSON option value (`null`, `false`, `0`, `""`, `[]`, `{}`
/// are false).
pub fn truthy(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

impl World {
    /// The organization with slug `slug`.
    #[inline]
    pub fn org_by_slug(&self, slug: &str) -> Option<&Org> {
        self.org_by_slug.get(slug).map(|o| &**o)
    }

    /// The organization with id `id`.
    pub fn org_by_id(&self, id: u64) -> Option<&Org> {
        self.org_by_id.get(&id).map(|o| &**o)
    }

    /// Every organization (no defined order).
    pub fn orgs(&self) -> impl Iterator<Item = &Org> {
        self.org_by_id.values().map(|o| &**o)
    }

    /// The number of organizations.
    pub fn org_count(&self) -> usize {
        self.org_by_id.len()
    }

    /// The user with id `id`.
    #[inline]
    pub fn user(&self, id: u64) -> Option<&User> {
        self.users.get(id)
    }

    /// The number of users.
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// The membership of user `user` in organization `org`.
    #[inline]
    pub fn member<'o>(&self, org: &'o Org, user: u64) -> Option<&'o Member> {
        let idx = *org.member_by_user.get(&user)?;
        org.members.get(idx as usize)
    }

    /// Every member of `org` (pending invites included), by id: no scan of other
    /// organizations.
    pub fn members_of<'o>(&self, org: &'o Org) -> &'o [Member] {
        &org.members
    }

    /// The number of members over every organization.
    pub fn member_count(&self) -> usize {
        self.member_count
    }

    /// The team of `org` with slug `slug`.
    #[inline]
    pub fn team_by_slug<'o>(&self, org: &'o Org, slug: &str) -> Option<(TeamIdx, &'o Team)> {
        let idx = *org.team_by_slug.get(slug)?;
        org.teams.get(idx as usize).map(|t| (idx, t))
    }

    /// The team of `org` with id `id`.
    pub fn team_by_id<'o>(&self, org: &'o Org, id: u64) -> Option<&'o Team> {
        let idx = org.teams.binary_search_by_key(&id, |t| t.id).ok()?;
        org.teams.get(idx)
    }

    /// The project of `org` with slug `slug`.
    #[inline]
    pub fn project_by_slug<'o>(
        &self,
        org: &'o Org,
        slug: &str,
    ) -> Option<(ProjectIdx, &'o Project)> {
        let idx = *org.project_by_slug.get(slug)?;
        org.projects.get(idx as usize).map(|p| (idx, p))
    }

    /// The integration with id `id`.
    #[inline]
    pub fn integration(&self, id: u64) -> Option<&Integration> {
        self.integrations.get(&id)
    }

    /// Every integration (no defined order).
    pub fn integrations(&self) -> impl Iterator<Item = &Integration> {
        self.integrations.values()
    }

    /// Whether `self` and `other` share the shard of organization `id` (the same [`Arc`]):
    /// what a patch left untouched is shared, not copied.
    pub fn shares_org(&self, other: &World, id: u64) -> bool {
        match (self.org_by_id.get(&id), other.org_by_id.get(&id)) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}
