//! The SQL shared by both backends.
//!
//! Both dialects accept the same statements here (`$n` placeholders, `RETURNING`,
//! `ON CONFLICT … DO UPDATE`, `LIMIT … OFFSET …`), so the [`Store`](crate::Store)
//! implementation is written once, in [`impl_store!`], and instantiated per backend with its
//! concrete pool type: no generic sqlx bounds, and each backend compiles its own copy. The
//! exception is the bulk writes of a granular edit, one implementation per dialect in
//! [`bulk`].
//!
//! INVARIANT: every method taking an `Actor` opens one transaction, makes its change, writes
//! its audit entry through `audit` in that transaction and commits last.

use std::collections::HashMap;

use scopegate_core::wire::{
    GrantDoc, IntegrationDoc, MemberDoc, MemberFlagsDoc, MemberTeamDoc, OrganizationDoc,
    ProjectDoc, TeamDoc, UserDoc,
};
use scopegate_core::WorldDoc;

pub(crate) mod bulk;

use crate::{
    AuditEntry, GranularGrant, Integration, Member, Organization, Project, Result, StoreError,
    Team, TeamMembership, Token, TokenKind, User,
};

pub(crate) const USER_COLS: &str = "id, email, is_superuser, has_2fa";
pub(crate) const ORG_COLS: &str =
    "id, slug, name, options, features, open_membership, require_2fa, require_sso, created_at, \
     deletion_scheduled_at";
pub(crate) const MEMBER_COLS: &str = "id, organization_id, user_id, email, role, \
     member_limit_restricted, sso_linked, created_at, inviter_user_id, invite_expires_at";
pub(crate) const TEAM_COLS: &str = "id, organization_id, slug, name";
pub(crate) const PROJECT_COLS: &str = "id, organization_id, slug, name, active";
pub(crate) const TOKEN_SELECT: &str = "SELECT t.id, t.kind, t.user_id, t.organization_id, \
     o.slug AS organization_slug, t.name, t.token_prefix, t.token_last_characters, \
     t.token_hash, t.scopes, t.created_at \
     FROM api_tokens t LEFT JOIN organizations o ON o.id = t.organization_id";
pub(crate) const AUDIT_COLS: &str =
    "id, organization_id, actor_user_id, actor, event, target, data, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    pub(crate) id: i64,
    pub(crate) email: String,
    pub(crate) is_superuser: bool,
    pub(crate) has_2fa: bool,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> User {
        User {
            id: r.id,
            email: r.email,
            is_superuser: r.is_superuser,
            has_2fa: r.has_2fa,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct OrgRow {
    pub(crate) id: i64,
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) options: String,
    pub(crate) features: String,
    pub(crate) open_membership: bool,
    pub(crate) require_2fa: bool,
    pub(crate) require_sso: bool,
    pub(crate) created_at: i64,
    pub(crate) deletion_scheduled_at: Option<i64>,
}

impl TryFrom<OrgRow> for Organization {
    type Error = StoreError;
    fn try_from(r: OrgRow) -> Result<Organization> {
        Ok(Organization {
            id: r.id,
            options: serde_json::from_str(&r.options)
                .map_err(|e| StoreError::Corrupt(format!("organization options: {e}")))?,
            features: serde_json::from_str(&r.features)
                .map_err(|e| StoreError::Corrupt(format!("organization features: {e}")))?,
            slug: r.slug,
            name: r.name,
            open_membership: r.open_membership,
            require_2fa: r.require_2fa,
            require_sso: r.require_sso,
            created_at: r.created_at,
            deletion_scheduled_at: r.deletion_scheduled_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MemberRow {
    pub(crate) id: i64,
    pub(crate) organization_id: i64,
    pub(crate) user_id: Option<i64>,
    pub(crate) email: Option<String>,
    pub(crate) role: String,
    pub(crate) member_limit_restricted: bool,
    pub(crate) sso_linked: bool,
    pub(crate) created_at: i64,
    pub(crate) inviter_user_id: Option<i64>,
    pub(crate) invite_expires_at: Option<i64>,
}

impl From<MemberRow> for Member {
    fn from(r: MemberRow) -> Member {
        Member {
            id: r.id,
            organization_id: r.organization_id,
            user_id: r.user_id,
            email: r.email,
            role: r.role,
            member_limit_restricted: r.member_limit_restricted,
            sso_linked: r.sso_linked,
            created_at: r.created_at,
            inviter_id: r.inviter_user_id,
            invite_expires_at: r.invite_expires_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TeamRow {
    pub(crate) id: i64,
    pub(crate) organization_id: i64,
    pub(crate) slug: String,
    pub(crate) name: String,
}

impl From<TeamRow> for Team {
    fn from(r: TeamRow) -> Team {
        Team {
            id: r.id,
            organization_id: r.organization_id,
            slug: r.slug,
            name: r.name,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TeamMemberRow {
    pub(crate) team_id: i64,
    pub(crate) member_id: i64,
    pub(crate) role: Option<String>,
}

impl From<TeamMemberRow> for TeamMembership {
    fn from(r: TeamMemberRow) -> TeamMembership {
        TeamMembership {
            team_id: r.team_id,
            member_id: r.member_id,
            role: r.role,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ProjectRow {
    pub(crate) id: i64,
    pub(crate) organization_id: i64,
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) active: bool,
}

impl ProjectRow {
    pub(crate) fn with_teams(self, teams: Vec<i64>) -> Project {
        Project {
            id: self.id,
            organization_id: self.organization_id,
            slug: self.slug,
            name: self.name,
            active: self.active,
            teams,
        }
    }
}

pub(crate) const ACCESS_REQUEST_COLS: &str =
    "id, organization_id, team_id, member_id, requester_user_id, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct AccessRequestRow {
    pub(crate) id: i64,
    pub(crate) organization_id: i64,
    pub(crate) team_id: i64,
    pub(crate) member_id: i64,
    pub(crate) requester_user_id: Option<i64>,
    pub(crate) created_at: i64,
}

impl From<AccessRequestRow> for crate::AccessRequest {
    fn from(r: AccessRequestRow) -> crate::AccessRequest {
        crate::AccessRequest {
            id: r.id,
            organization_id: r.organization_id,
            team_id: r.team_id,
            member_id: r.member_id,
            requester_user_id: r.requester_user_id,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ProjectTeamRow {
    pub(crate) project_id: i64,
    pub(crate) team_id: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    pub(crate) id: i64,
    pub(crate) kind: String,
    pub(crate) user_id: Option<i64>,
    pub(crate) organization_id: Option<i64>,
    pub(crate) organization_slug: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) token_prefix: String,
    pub(crate) token_last_characters: Option<String>,
    pub(crate) token_hash: String,
    pub(crate) scopes: String,
    pub(crate) created_at: i64,
}

impl TryFrom<TokenRow> for Token {
    type Error = StoreError;
    fn try_from(r: TokenRow) -> Result<Token> {
        Ok(Token {
            id: r.id,
            kind: TokenKind::parse(&r.kind)
                .ok_or_else(|| StoreError::Corrupt(format!("token kind `{}`", r.kind)))?,
            user_id: r.user_id,
            organization_id: r.organization_id,
            organization_slug: r.organization_slug,
            name: r.name,
            prefix: r.token_prefix,
            last_characters: r.token_last_characters,
            hash: r.token_hash,
            scopes: serde_json::from_str(&r.scopes)
                .map_err(|e| StoreError::Corrupt(format!("token scopes: {e}")))?,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    pub(crate) id: i64,
    pub(crate) organization_id: Option<i64>,
    pub(crate) actor_user_id: Option<i64>,
    pub(crate) actor: String,
    pub(crate) event: String,
    pub(crate) target: String,
    pub(crate) data: String,
    pub(crate) created_at: i64,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StoreError;
    fn try_from(r: AuditRow) -> Result<AuditEntry> {
        Ok(AuditEntry {
            id: r.id,
            organization_id: r.organization_id,
            actor_user_id: r.actor_user_id,
            actor: r.actor,
            event: r.event,
            target: r.target,
            data: serde_json::from_str(&r.data)
                .map_err(|e| StoreError::Corrupt(format!("audit data: {e}")))?,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct GrantRow {
    pub(crate) kind: String,
    pub(crate) member_id: Option<i64>,
    pub(crate) team_id: Option<i64>,
}

impl From<GrantRow> for GranularGrant {
    fn from(r: GrantRow) -> GranularGrant {
        GranularGrant {
            kind: r.kind,
            member_id: r.member_id,
            team_id: r.team_id,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MemberUserRow {
    pub(crate) id: i64,
    pub(crate) user_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct TeamIdRow {
    pub(crate) team_id: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct KindRow {
    pub(crate) kind: String,
}

/// An audit entry to write: event, target, data.
pub(crate) type Entry = (&'static str, String, serde_json::Value);

/// What a granular grant can name besides its organization: deleting one deletes its grants.
#[derive(Debug, Clone, Copy)]
pub(crate) enum GrantHolder {
    /// A member (`granular_grants.member_id`).
    Member,
    /// A team (`granular_grants.team_id`).
    Team,
}

impl GrantHolder {
    /// The table the holder lives in.
    pub(crate) fn table(self) -> &'static str {
        match self {
            GrantHolder::Member => "members",
            GrantHolder::Team => "teams",
        }
    }

    /// The column of `granular_grants` that names the holder.
    pub(crate) fn column(self) -> &'static str {
        match self {
            GrantHolder::Member => "member_id",
            GrantHolder::Team => "team_id",
        }
    }

    /// The audit event of the holder's removal.
    pub(crate) fn remove_event(self) -> &'static str {
        match self {
            GrantHolder::Member => "member.remove",
            GrantHolder::Team => "team.remove",
        }
    }

    /// The audit target naming the holder.
    pub(crate) fn target(self, id: i64) -> String {
        match self {
            GrantHolder::Member => format!("member:{id}"),
            GrantHolder::Team => format!("team:{id}"),
        }
    }

    /// The data of a `granular.revoke` entry for the holder's grant of `kind`.
    pub(crate) fn revoke_data(self, kind: &str, id: i64) -> serde_json::Value {
        match self {
            GrantHolder::Member => serde_json::json!({"kind": kind, "memberId": id}),
            GrantHolder::Team => serde_json::json!({"kind": kind, "teamId": id}),
        }
    }
}

/// The size of the row the readiness probe writes (and deletes) in a committed
/// transaction: a few pages, so that a store that cannot grow fails the probe.
pub(crate) const PROBE_BYTES: usize = 16 * 1024;

/// How long the readiness probe may wait (for the write lock, a connection, the commit).
pub(crate) const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Rows per batched statement (well under both backends' bind-parameter limits).
pub(crate) const BATCH: usize = 500;

/// Splits requested ids into engine ids and the ones that cannot be ids (negative).
pub(crate) fn split_ids(ids: &[i64]) -> (Vec<u64>, Vec<i64>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for id in ids {
        match u64::try_from(*id) {
            Ok(u) => ok.push(u),
            Err(_) => bad.push(*id),
        }
    }
    (ok, bad)
}

/// The error for ids not in the organization, sorted numerically.
pub(crate) fn not_in_org(what: crate::Unknown, mut ids: Vec<i64>) -> StoreError {
    ids.sort_unstable();
    ids.dedup();
    StoreError::NotInOrganization {
        what,
        ids: ids.iter().map(ToString::to_string).collect(),
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct IdRow {
    pub(crate) id: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct WorldUserRow {
    pub(crate) id: i64,
    pub(crate) has_2fa: bool,
}

/// A stored id as the engine's unsigned id.
pub(crate) fn uid(id: i64) -> Result<u64> {
    u64::try_from(id).map_err(|_| StoreError::Corrupt(format!("negative id {id}")))
}

pub(crate) fn org_doc(o: &Organization) -> Result<OrganizationDoc> {
    Ok(OrganizationDoc {
        id: uid(o.id)?,
        slug: o.slug.clone(),
        features: o.features.clone(),
        options: o.options.clone(),
        open_membership: o.open_membership,
        require_2fa: o.require_2fa,
        require_sso: o.require_sso,
    })
}

pub(crate) fn user_doc(r: &WorldUserRow) -> Result<UserDoc> {
    Ok(UserDoc {
        id: uid(r.id)?,
        has_2fa: r.has_2fa,
    })
}

#[derive(sqlx::FromRow)]
pub(crate) struct OrgGrantRow {
    pub(crate) organization_id: i64,
    pub(crate) kind: String,
    pub(crate) member_id: Option<i64>,
    pub(crate) team_id: Option<i64>,
}

pub(crate) const INTEGRATION_COLS: &str = "id, slug, name, scopes, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct IntegrationRow {
    pub(crate) id: i64,
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) scopes: String,
    pub(crate) created_at: i64,
}

impl IntegrationRow {
    /// The integration, installed on `installed_on` (ascending).
    pub(crate) fn with_installs(self, installed_on: Vec<i64>) -> Result<Integration> {
        Ok(Integration {
            id: self.id,
            scopes: serde_json::from_str(&self.scopes)
                .map_err(|e| StoreError::Corrupt(format!("integration scopes: {e}")))?,
            slug: self.slug,
            name: self.name,
            installed_on,
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct InstallRow {
    pub(crate) integration_id: i64,
    pub(crate) organization_id: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct CountsRow {
    pub(crate) users: i64,
    pub(crate) organizations: i64,
    pub(crate) integrations: i64,
}

/// The rows of an export ([`Store::world`](crate::Store::world),
/// [`Store::full_world`](crate::Store::full_world)), one query per table, each in the order
/// of the document:
///
/// - `orgs` by id; `members` by organization, id; `teams` and `projects` by organization,
///   slug; `grants` by organization, id; `users` and `integrations` by id;
/// - `links` (team memberships) by the team's organization and slug, then member: each
///   member's teams come out in team slug order;
/// - `project_teams` by project, team; `installs` by integration, organization.
pub(crate) struct Export {
    pub(crate) orgs: Vec<OrgRow>,
    pub(crate) users: Vec<WorldUserRow>,
    pub(crate) members: Vec<MemberRow>,
    pub(crate) links: Vec<TeamMemberRow>,
    pub(crate) teams: Vec<TeamRow>,
    pub(crate) projects: Vec<ProjectRow>,
    pub(crate) project_teams: Vec<ProjectTeamRow>,
    pub(crate) integrations: Vec<IntegrationRow>,
    pub(crate) installs: Vec<InstallRow>,
    pub(crate) grants: Vec<OrgGrantRow>,
}

impl Export {
    /// The world document of these rows.
    pub(crate) fn into_doc(self) -> Result<WorldDoc> {
        let mut doc = WorldDoc::default();
        for o in self.orgs {
            doc.organizations
                .push(org_doc(&Organization::try_from(o)?)?);
        }
        for u in &self.users {
            doc.users.push(user_doc(u)?);
        }
        let mut links: HashMap<i64, Vec<MemberTeamDoc>> = HashMap::new();
        for l in self.links {
            links.entry(l.member_id).or_default().push(MemberTeamDoc {
                team: uid(l.team_id)?,
                role: l.role,
            });
        }
        for m in self.members {
            doc.members.push(MemberDoc {
                id: uid(m.id)?,
                organization: uid(m.organization_id)?,
                user: m.user_id.map(uid).transpose()?,
                teams: links.remove(&m.id).unwrap_or_default(),
                role: m.role,
                flags: MemberFlagsDoc {
                    member_limit_restricted: m.member_limit_restricted,
                    sso_linked: m.sso_linked,
                },
            });
        }
        for t in self.teams {
            doc.teams.push(TeamDoc {
                id: uid(t.id)?,
                organization: uid(t.organization_id)?,
                slug: t.slug,
            });
        }
        let mut owners: HashMap<i64, Vec<u64>> = HashMap::new();
        for l in &self.project_teams {
            owners
                .entry(l.project_id)
                .or_default()
                .push(uid(l.team_id)?);
        }
        for p in self.projects {
            doc.projects.push(ProjectDoc {
                id: uid(p.id)?,
                organization: uid(p.organization_id)?,
                slug: p.slug,
                teams: owners.remove(&p.id).unwrap_or_default(),
                active: p.active,
            });
        }
        let mut installs: HashMap<i64, Vec<u64>> = HashMap::new();
        for i in &self.installs {
            installs
                .entry(i.integration_id)
                .or_default()
                .push(uid(i.organization_id)?);
        }
        for i in self.integrations {
            doc.integrations.push(IntegrationDoc {
                id: uid(i.id)?,
                scopes: serde_json::from_str(&i.scopes)
                    .map_err(|e| StoreError::Corrupt(format!("integration scopes: {e}")))?,
                installed_on: installs.remove(&i.id).unwrap_or_default(),
            });
        }
        for g in self.grants {
            doc.granular_grants.push(GrantDoc {
                organization: uid(g.organization_id)?,
                kind: g.kind,
                member: g.member_id.map(uid).transpose()?,
                team: g.team_id.map(uid).transpose()?,
            });
        }
        Ok(doc)
    }
}

/// The offset and limit of a page, as SQL integers.
pub(crate) fn page_binds(page: crate::Page) -> (i64, i64) {
    (i64::from(page.limit), i64::from(page.offset))
}

/// Writes the [`Store`](crate::Store) implementation for a backend struct with fields
/// `pool: sqlx::Pool<$db>` and `fail_audit: AtomicBool`.
macro_rules! impl_store {
    ($name:ident, $db:ty) => {
        impl $name {
            /// Writes an audit entry inside `tx`.
            async fn audit(
                &self,
                tx: &mut sqlx::Transaction<'_, $db>,
                org: Option<i64>,
                actor: &$crate::Actor,
                event: &str,
                target: &str,
                data: serde_json::Value,
            ) -> $crate::Result<()> {
                if self
                    .fail_audit
                    .swap(false, std::sync::atomic::Ordering::SeqCst)
                {
                    return Err($crate::StoreError::Injected);
                }
                sqlx::query(
                    "INSERT INTO audit_log (organization_id, actor_user_id, actor, event, \
                     target, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(org)
                .bind(actor.user_id)
                .bind(&actor.label)
                .bind(event)
                .bind(target)
                .bind(data.to_string())
                .bind($crate::now())
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            /// Writes `entries` inside `tx`, in order, in bulk ([`Bulk::audit`]).
            ///
            /// [`Bulk::audit`]: $crate::sql::bulk::Bulk::audit
            async fn audit_many(
                &self,
                tx: &mut sqlx::Transaction<'_, $db>,
                org: Option<i64>,
                actor: &$crate::Actor,
                entries: &[$crate::sql::Entry],
            ) -> $crate::Result<()> {
                if entries.is_empty() {
                    return Ok(());
                }
                if self
                    .fail_audit
                    .swap(false, std::sync::atomic::Ordering::SeqCst)
                {
                    return Err($crate::StoreError::Injected);
                }
                <$db as $crate::sql::bulk::Bulk>::audit(&mut **tx, org, actor, entries, $crate::now())
                    .await
            }

            /// [`Store::world`]; `include_pending` exports an organization pending deletion
            /// too (otherwise it is treated as unknown).
            async fn world_of(
                &self,
                org_slug: Option<&str>,
                also_user: Option<i64>,
                include_pending: bool,
            ) -> $crate::Result<scopegate_core::WorldDoc> {
                let org = match org_slug {
                    Some(slug) => match $crate::Store::org_by_slug(self, slug).await {
                        Ok(o) if include_pending || o.deletion_scheduled_at.is_none() => Some(o.id),
                        Ok(_) => None,
                        Err($crate::StoreError::NotFound) => None,
                        Err(e) => return Err(e),
                    },
                    None => None,
                };
                let mut doc = match org {
                    Some(id) => self.export(Some(id)).await?.into_doc()?,
                    None => scopegate_core::WorldDoc::default(),
                };
                if let Some(u) = also_user {
                    if !doc.users.iter().any(|r| i64::try_from(r.id).ok() == Some(u)) {
                        let row = sqlx::query_as::<_, $crate::sql::WorldUserRow>(
                            "SELECT id, has_2fa FROM users WHERE id = $1",
                        )
                        .bind(u)
                        .fetch_optional(&self.pool)
                        .await?;
                        if let Some(row) = row {
                            doc.users.push($crate::sql::user_doc(&row)?);
                        }
                    }
                }
                Ok(doc)
            }

            /// Locks the organization row for the rest of `tx` and returns it: edits of one
            /// organization are serialized (the first statement is a write, so SQLite takes
            /// its write lock before any read; PostgreSQL takes the row lock), and every read
            /// after it sees the latest committed state.
            async fn lock_org(
                tx: &mut sqlx::Transaction<'_, $db>,
                org: i64,
            ) -> $crate::Result<$crate::Organization> {
                sqlx::query_as::<_, $crate::sql::OrgRow>(&format!(
                    "UPDATE organizations SET id = id WHERE id = $1 RETURNING {}",
                    $crate::sql::ORG_COLS
                ))
                .bind(org)
                .fetch_one(&mut **tx)
                .await?
                .try_into()
            }

            /// The member `id` of `org`, read inside `tx`.
            async fn member_in(
                tx: &mut sqlx::Transaction<'_, $db>,
                org: i64,
                id: i64,
            ) -> $crate::Result<$crate::sql::MemberRow> {
                Ok(sqlx::query_as::<_, $crate::sql::MemberRow>(&format!(
                    "SELECT {} FROM members WHERE organization_id = $1 AND id = $2",
                    $crate::sql::MEMBER_COLS
                ))
                .bind(org)
                .bind(id)
                .fetch_one(&mut **tx)
                .await?)
            }

            /// Whether removing `target` (`new_role` `None`) or giving it `new_role` breaks
            /// `guard`: it is the last member with a user holding the owner role, or one of the
            /// "owner or manager" roles. Pending invites never count. Call with the
            /// organization locked, so that the count holds until the change commits.
            async fn breaks_guard(
                tx: &mut sqlx::Transaction<'_, $db>,
                target: &$crate::sql::MemberRow,
                new_role: Option<&str>,
                guard: &$crate::MemberGuard,
            ) -> $crate::Result<bool> {
                if target.user_id.is_none() {
                    return Ok(false);
                }
                let counts = sqlx::query_as::<_, (String, i64)>(
                    "SELECT role, COUNT(*) FROM members WHERE organization_id = $1 \
                     AND user_id IS NOT NULL AND id <> $2 GROUP BY role",
                )
                .bind(target.organization_id)
                .bind(target.id)
                .fetch_all(&mut **tx)
                .await?;
                let others = |roles: &[String]| -> i64 {
                    counts
                        .iter()
                        .filter(|(r, _)| roles.contains(r))
                        .map(|(_, n)| *n)
                        .sum()
                };
                let owner = std::slice::from_ref(&guard.owner_role);
                let loses = |roles: &[String]| {
                    roles.contains(&target.role)
                        && !new_role.is_some_and(|r| roles.iter().any(|x| x == r))
                        && others(roles) == 0
                };
                Ok(loses(owner) || loses(&guard.write_roles))
            }

            /// Replaces `member`'s teams inside `tx` (each team checked to be in `org`), one
            /// audit entry per change; returns the new team slugs, sorted.
            async fn replace_member_teams(
                &self,
                tx: &mut sqlx::Transaction<'_, $db>,
                org: i64,
                member: i64,
                teams: &[(i64, Option<String>)],
                actor: &$crate::Actor,
            ) -> $crate::Result<Vec<String>> {
                let current = sqlx::query_as::<_, (i64, String, Option<String>)>(
                    "SELECT t.id, t.slug, tm.role FROM team_members tm \
                     JOIN teams t ON t.id = tm.team_id WHERE tm.member_id = $1",
                )
                .bind(member)
                .fetch_all(&mut **tx)
                .await?;
                let mut wanted: std::collections::BTreeMap<i64, Option<String>> =
                    std::collections::BTreeMap::new();
                for (team, role) in teams {
                    wanted.insert(*team, role.clone());
                }
                let target = format!("member:{member}");
                for (team, slug, _) in &current {
                    if !wanted.contains_key(team) {
                        sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND member_id = $2")
                            .bind(team)
                            .bind(member)
                            .execute(&mut **tx)
                            .await?;
                        self.audit(tx, Some(org), actor, "member.leave-team", &target,
                            serde_json::json!({"team": team, "teamSlug": slug}))
                            .await?;
                    }
                }
                let mut slugs = Vec::new();
                for (team, role) in &wanted {
                    let slug = sqlx::query_as::<_, (String,)>(
                        "SELECT slug FROM teams WHERE organization_id = $1 AND id = $2",
                    )
                    .bind(org)
                    .bind(team)
                    .fetch_one(&mut **tx)
                    .await?
                    .0;
                    let before = current.iter().find(|(t, _, _)| t == team);
                    if before.is_some_and(|(_, _, r)| r == role) {
                        slugs.push(slug);
                        continue;
                    }
                    sqlx::query(
                        "INSERT INTO team_members (team_id, member_id, role) VALUES ($1, $2, $3) \
                         ON CONFLICT (team_id, member_id) DO UPDATE SET role = excluded.role",
                    )
                    .bind(team)
                    .bind(member)
                    .bind(role)
                    .execute(&mut **tx)
                    .await?;
                    self.audit(tx, Some(org), actor, "member.join-team", &target,
                        serde_json::json!({"team": team, "teamSlug": slug, "teamRole": role}))
                        .await?;
                    slugs.push(slug);
                }
                slugs.sort();
                Ok(slugs)
            }

            /// Deletes a member or a team of `org` inside `tx`, audits the removal, and audits
            /// the granular grants that go with it (`ON DELETE CASCADE`) as one
            /// `granular.revoke` per kind, so that replaying the audit log still yields the
            /// allowlists.
            async fn delete_grant_holder(
                &self,
                tx: &mut sqlx::Transaction<'_, $db>,
                org: i64,
                holder: $crate::sql::GrantHolder,
                id: i64,
                actor: &$crate::Actor,
            ) -> $crate::Result<()> {
                let (table, column) = (holder.table(), holder.column());
                let kinds = sqlx::query_as::<_, $crate::sql::KindRow>(&format!(
                    "SELECT DISTINCT kind FROM granular_grants WHERE organization_id = $1 \
                     AND {column} = $2 ORDER BY kind"
                ))
                .bind(org)
                .bind(id)
                .fetch_all(&mut **tx)
                .await?;
                sqlx::query_as::<_, $crate::sql::IdRow>(&format!(
                    "DELETE FROM {table} WHERE organization_id = $1 AND id = $2 RETURNING id"
                ))
                .bind(org)
                .bind(id)
                .fetch_one(&mut **tx)
                .await?;
                let target = holder.target(id);
                self.audit(tx, Some(org), actor, holder.remove_event(), &target, serde_json::json!({}))
                    .await?;
                let revokes: Vec<$crate::sql::Entry> = kinds
                    .iter()
                    .map(|k| ("granular.revoke", target.clone(), holder.revoke_data(&k.kind, id)))
                    .collect();
                self.audit_many(tx, Some(org), actor, &revokes).await
            }

            /// Replaces the member grants of `kind` (planned by `scopegate_core::granular`)
            /// in bulk ([`Bulk`]); pushes one entry per grant and revoke; returns Sentry's summary text.
            ///
            /// [`Bulk`]: $crate::sql::bulk::Bulk
            async fn replace_member_grants(
                &self,
                tx: &mut sqlx::Transaction<'_, $db>,
                org: i64,
                kind: &str,
                selection: &$crate::GrantSelection,
                entries: &mut Vec<$crate::sql::Entry>,
            ) -> $crate::Result<Option<String>> {
                use scopegate_core::granular::{plan_member_ids, plan_user_ids, MemberRef};
                // Two plain reads, each an index or a sequential scan, joined here rather
                // than in SQL: their cost cannot depend on the planner's statistics (right
                // after a bulk load PostgreSQL assumes empty tables).
                let ids = sqlx::query_as::<_, $crate::sql::MemberUserRow>(
                    "SELECT id, user_id FROM members WHERE organization_id = $1",
                )
                .bind(org)
                .fetch_all(&mut **tx)
                .await?;
                let granted: std::collections::HashSet<i64> = sqlx::query_scalar::<_, i64>(
                    "SELECT member_id FROM granular_grants WHERE organization_id = $1 \
                     AND kind = $2 AND member_id IS NOT NULL",
                )
                .bind(org)
                .bind(kind)
                .fetch_all(&mut **tx)
                .await?
                .into_iter()
                .collect();
                let members = ids
                    .iter()
                    .map(|r| {
                        Ok(MemberRef {
                            member: $crate::sql::uid(r.id)?,
                            user: r.user_id.map($crate::sql::uid).transpose()?,
                            granted: granted.contains(&r.id),
                        })
                    })
                    .collect::<$crate::Result<Vec<_>>>()?;
                let (what, requested) = match selection {
                    $crate::GrantSelection::UserIds(ids) => ($crate::Unknown::Users, ids),
                    $crate::GrantSelection::MemberIds(ids) => ($crate::Unknown::Members, ids),
                };
                let (ids, negative) = $crate::sql::split_ids(requested);
                let planned = match selection {
                    $crate::GrantSelection::UserIds(_) => plan_user_ids(&members, Some(&ids)),
                    $crate::GrantSelection::MemberIds(_) => plan_member_ids(&members, &ids),
                };
                let plan = match planned {
                    Ok(plan) if negative.is_empty() => plan,
                    Ok(_) => return Err($crate::sql::not_in_org(what, negative)),
                    Err(bad) => {
                        let mut all = negative;
                        all.extend(bad.iter().filter_map(|b| i64::try_from(*b).ok()));
                        return Err($crate::sql::not_in_org(what, all));
                    }
                };
                let to_i64 = |v: &[u64]| -> Vec<i64> {
                    v.iter().filter_map(|m| i64::try_from(*m).ok()).collect()
                };
                let grant = to_i64(&plan.grant);
                let revoke = to_i64(&plan.revoke);
                <$db as $crate::sql::bulk::Bulk>::revoke_members(&mut **tx, org, kind, &revoke)
                    .await?;
                <$db as $crate::sql::bulk::Bulk>::grant_members(&mut **tx, org, kind, &grant)
                    .await?;
                for (event, ids) in [("granular.grant", &grant), ("granular.revoke", &revoke)] {
                    for id in ids {
                        entries.push((
                            event,
                            format!("member:{id}"),
                            serde_json::json!({"kind": kind, "memberId": id}),
                        ));
                    }
                }
                Ok(plan.summary())
            }

            /// Replaces the team grants of `kind` by slugs; pushes one entry per change.
            async fn replace_team_grants(
                &self,
                tx: &mut sqlx::Transaction<'_, $db>,
                org: i64,
                kind: &str,
                slugs: &[String],
                entries: &mut Vec<$crate::sql::Entry>,
            ) -> $crate::Result<()> {
                let teams: Vec<$crate::Team> = sqlx::query_as::<_, $crate::sql::TeamRow>(&format!(
                    "SELECT {} FROM teams WHERE organization_id = $1",
                    $crate::sql::TEAM_COLS
                ))
                .bind(org)
                .fetch_all(&mut **tx)
                .await?
                .into_iter()
                .map(Into::into)
                .collect();
                let mut unknown: Vec<String> = slugs
                    .iter()
                    .filter(|s| !teams.iter().any(|t| &t.slug == *s))
                    .cloned()
                    .collect();
                if !unknown.is_empty() {
                    unknown.sort();
                    unknown.dedup();
                    return Err($crate::StoreError::NotInOrganization {
                        what: $crate::Unknown::Teams,
                        ids: unknown,
                    });
                }
                let granted: std::collections::BTreeSet<i64> =
                    sqlx::query_as::<_, $crate::sql::TeamIdRow>(
                        "SELECT team_id FROM granular_grants WHERE organization_id = $1 \
                         AND kind = $2 AND team_id IS NOT NULL",
                    )
                    .bind(org)
                    .bind(kind)
                    .fetch_all(&mut **tx)
                    .await?
                    .into_iter()
                    .map(|r| r.team_id)
                    .collect();
                let mut wanted: Vec<&$crate::Team> =
                    teams.iter().filter(|t| slugs.contains(&t.slug)).collect();
                wanted.sort_by_key(|t| t.id);
                for t in &wanted {
                    if !granted.contains(&t.id) {
                        sqlx::query(
                            "INSERT INTO granular_grants (organization_id, kind, member_id, \
                             team_id) VALUES ($1, $2, NULL, $3)",
                        )
                        .bind(org)
                        .bind(kind)
                        .bind(t.id)
                        .execute(&mut **tx)
                        .await?;
                        entries.push((
                            "granular.grant",
                            format!("team:{}", t.slug),
                            serde_json::json!({"kind": kind, "teamId": t.id, "team": t.slug}),
                        ));
                    }
                }
                for id in &granted {
                    if wanted.iter().any(|t| t.id == *id) {
                        continue;
                    }
                    sqlx::query(
                        "DELETE FROM granular_grants WHERE organization_id = $1 AND kind = $2 \
                         AND team_id = $3",
                    )
                    .bind(org)
                    .bind(kind)
                    .bind(*id)
                    .execute(&mut **tx)
                    .await?;
                    let slug = teams.iter().find(|t| t.id == *id).map(|t| t.slug.clone());
                    entries.push((
                        "granular.revoke",
                        format!("team:{}", slug.clone().unwrap_or_default()),
                        serde_json::json!({"kind": kind, "teamId": id, "team": slug}),
                    ));
                }
                Ok(())
            }

            /// Fails with `NotFound` unless row `id` of `table` belongs to `org`.
            async fn ensure_in_org(
                tx: &mut sqlx::Transaction<'_, $db>,
                table: &'static str,
                id: i64,
                org: i64,
            ) -> $crate::Result<()> {
                sqlx::query_as::<_, $crate::sql::IdRow>(&format!(
                    "SELECT id FROM {table} WHERE id = $1 AND organization_id = $2"
                ))
                .bind(id)
                .bind(org)
                .fetch_one(&mut **tx)
                .await?;
                Ok(())
            }

            async fn project_teams(&self, ids: &[i64]) -> $crate::Result<Vec<$crate::sql::ProjectTeamRow>> {
                let mut out = Vec::new();
                for id in ids {
                    out.extend(
                        sqlx::query_as::<_, $crate::sql::ProjectTeamRow>(
                            "SELECT project_id, team_id FROM project_teams WHERE project_id = $1 \
                             ORDER BY team_id",
                        )
                        .bind(id)
                        .fetch_all(&self.pool)
                        .await?,
                    );
                }
                Ok(out)
            }

            async fn with_teams(
                &self,
                rows: Vec<$crate::sql::ProjectRow>,
            ) -> $crate::Result<Vec<$crate::Project>> {
                let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
                let links = self.project_teams(&ids).await?;
                Ok(rows
                    .into_iter()
                    .map(|r| {
                        let teams = links
                            .iter()
                            .filter(|l| l.project_id == r.id)
                            .map(|l| l.team_id)
                            .collect();
                        r.with_teams(teams)
                    })
                    .collect())
            }

            /// Takes a consistent snapshot for the reads of `tx` (see the backend's
            /// `read_snapshot`), so that an export never mixes two states.
            async fn snapshot(tx: &mut sqlx::Transaction<'_, $db>) -> $crate::Result<()> {
                Self::read_snapshot(tx).await
            }

            /// Runs `sql` in `tx`, binding `$1` to `org` when one is given.
            async fn fetch_scoped<R>(
                tx: &mut sqlx::Transaction<'_, $db>,
                sql: &str,
                org: Option<i64>,
            ) -> $crate::Result<Vec<R>>
            where
                R: for<'r> sqlx::FromRow<'r, <$db as sqlx::Database>::Row> + Send + Unpin,
            {
                let mut q = sqlx::query_as::<_, R>(sql);
                if let Some(o) = org {
                    q = q.bind(o);
                }
                Ok(q.fetch_all(&mut **tx).await?)
            }

            /// The export of one organization (`Some`) or of everything (`None`): one query
            /// per table, from one snapshot, in document order (see [`Export`]).
            ///
            /// [`Export`]: $crate::sql::Export
            async fn export(&self, org: Option<i64>) -> $crate::Result<$crate::sql::Export> {
                use $crate::sql::*;
                let only = |column: &str| match org {
                    Some(_) => format!("WHERE {column} = $1"),
                    None => String::new(),
                };
                let mut tx = self.pool.begin().await?;
                Self::snapshot(&mut tx).await?;
                let orgs = Self::fetch_scoped(
                    &mut tx,
                    &format!("SELECT {ORG_COLS} FROM organizations {} ORDER BY id", only("id")),
                    org,
                )
                .await?;
                let users_sql = match org {
                    Some(_) => "SELECT u.id, u.has_2fa FROM users u JOIN members m \
                                ON m.user_id = u.id WHERE m.organization_id = $1 ORDER BY u.id",
                    None => "SELECT id, has_2fa FROM users ORDER BY id",
                };
                let users = Self::fetch_scoped(&mut tx, users_sql, org).await?;
                let members = Self::fetch_scoped(
                    &mut tx,
                    &format!(
                        "SELECT {MEMBER_COLS} FROM members {} ORDER BY organization_id, id",
                        only("organization_id")
                    ),
                    org,
                )
                .await?;
                let links = Self::fetch_scoped(
                    &mut tx,
                    &format!(
                        "SELECT tm.team_id, tm.member_id, tm.role FROM team_members tm \
                         JOIN teams t ON t.id = tm.team_id {} \
                         ORDER BY t.organization_id, t.slug, tm.member_id",
                        only("t.organization_id")
                    ),
                    org,
                )
                .await?;
                let teams = Self::fetch_scoped(
                    &mut tx,
                    &format!(
                        "SELECT {TEAM_COLS} FROM teams {} ORDER BY organization_id, slug",
                        only("organization_id")
                    ),
                    org,
                )
                .await?;
                let projects = Self::fetch_scoped(
                    &mut tx,
                    &format!(
                        "SELECT {PROJECT_COLS} FROM projects {} ORDER BY organization_id, slug",
                        only("organization_id")
                    ),
                    org,
                )
                .await?;
                let project_teams = Self::fetch_scoped(
                    &mut tx,
                    &format!(
                        "SELECT pt.project_id, pt.team_id FROM project_teams pt \
                         JOIN projects p ON p.id = pt.project_id {} \
                         ORDER BY pt.project_id, pt.team_id",
                        only("p.organization_id")
                    ),
                    org,
                )
                .await?;
                let integrations_sql = match org {
                    Some(_) => format!(
                        "SELECT {INTEGRATION_COLS} FROM integrations WHERE id IN \
                         (SELECT integration_id FROM integration_installations \
                         WHERE organization_id = $1) ORDER BY id"
                    ),
                    None => format!("SELECT {INTEGRATION_COLS} FROM integrations ORDER BY id"),
                };
                let integrations = Self::fetch_scoped(&mut tx, &integrations_sql, org).await?;
                let installs = Self::fetch_scoped(
                    &mut tx,
                    &format!(
                        "SELECT integration_id, organization_id FROM integration_installations \
                         {} ORDER BY integration_id, organization_id",
                        only("organization_id")
                    ),
                    org,
                )
                .await?;
                let grants = Self::fetch_scoped(
                    &mut tx,
                    &format!(
                        "SELECT organization_id, kind, member_id, team_id FROM granular_grants \
                         {} ORDER BY organization_id, id",
                        only("organization_id")
                    ),
                    org,
                )
                .await?;
                tx.commit().await?;
                Ok(Export {
                    orgs,
                    users,
                    members,
                    links,
                    teams,
                    projects,
                    project_teams,
                    integrations,
                    installs,
                    grants,
                })
            }

            /// Inserts `rows` with the statement head `head` (`INSERT INTO t (cols) `),
            /// [`BATCH`] rows per statement.
            ///
            /// [`BATCH`]: $crate::sql::BATCH
            async fn insert_rows<T, F>(
                tx: &mut sqlx::Transaction<'_, $db>,
                head: &str,
                rows: &[T],
                bind: F,
            ) -> $crate::Result<()>
            where
                T: Sync,
                F: Fn(&mut sqlx::query_builder::Separated<'_, '_, $db, &'static str>, &T) + Sync,
            {
                for chunk in rows.chunks($crate::sql::BATCH) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(head);
                    qb.push_values(chunk, |mut b, row| bind(&mut b, row));
                    qb.build().execute(&mut **tx).await?;
                }
                Ok(())
            }

            /// Writes audit entries of several organizations inside `tx`, batched.
            async fn audit_each(
                &self,
                tx: &mut sqlx::Transaction<'_, $db>,
                actor: &$crate::Actor,
                entries: &[(Option<i64>, $crate::sql::Entry)],
            ) -> $crate::Result<()> {
                if self
                    .fail_audit
                    .swap(false, std::sync::atomic::Ordering::SeqCst)
                {
                    return Err($crate::StoreError::Injected);
                }
                let now = $crate::now();
                Self::insert_rows(
                    tx,
                    "INSERT INTO audit_log (organization_id, actor_user_id, actor, event, \
                     target, data, created_at) ",
                    entries,
                    |b, (org, (event, target, data))| {
                        b.push_bind(*org)
                            .push_bind(actor.user_id)
                            .push_bind(actor.label.clone())
                            .push_bind(*event)
                            .push_bind(target.clone())
                            .push_bind(data.to_string())
                            .push_bind(now);
                    },
                )
                .await
            }

            /// Integration `id` with its installations, read in `tx`.
            async fn integration_in(
                tx: &mut sqlx::Transaction<'_, $db>,
                id: i64,
            ) -> $crate::Result<$crate::Integration> {
                let row = sqlx::query_as::<_, $crate::sql::IntegrationRow>(&format!(
                    "SELECT {} FROM integrations WHERE id = $1",
                    $crate::sql::INTEGRATION_COLS
                ))
                .bind(id)
                .fetch_one(&mut **tx)
                .await?;
                let installs = sqlx::query_as::<_, $crate::sql::InstallRow>(
                    "SELECT integration_id, organization_id FROM integration_installations \
                     WHERE integration_id = $1 ORDER BY organization_id",
                )
                .bind(id)
                .fetch_all(&mut **tx)
                .await?;
                row.with_installs(installs.into_iter().map(|i| i.organization_id).collect())
            }

            /// Installs `integration` (named `slug`) on `org` inside `tx`, audited.
            async fn install_in(
                &self,
                tx: &mut sqlx::Transaction<'_, $db>,
                integration: i64,
                slug: &str,
                org: i64,
                actor: &$crate::Actor,
            ) -> $crate::Result<()> {
                sqlx::query_as::<_, $crate::sql::IdRow>("SELECT id FROM organizations WHERE id = $1")
                    .bind(org)
                    .fetch_one(&mut **tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO integration_installations (integration_id, organization_id, \
                     created_at) VALUES ($1, $2, $3)",
                )
                .bind(integration)
                .bind(org)
                .bind($crate::now())
                .execute(&mut **tx)
                .await?;
                self.audit(
                    tx,
                    Some(org),
                    actor,
                    "integration.install",
                    &format!("integration:{integration}"),
                    serde_json::json!({"integration": integration, "slug": slug}),
                )
                .await
            }
        }

        #[async_trait::async_trait]
        impl $crate::Store for $name {
            async fn ready(&self) -> $crate::Result<()> {
                let probe = async {
                    let mut tx = self.begin_write().await?;
                    sqlx::query("INSERT INTO store_probe (at, pad) VALUES ($1, $2)")
                        .bind($crate::now())
                        .bind(" ".repeat($crate::sql::PROBE_BYTES))
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM store_probe").execute(&mut *tx).await?;
                    Self::probe_room(&mut tx).await?;
                    tx.commit().await?;
                    Ok(())
                };
                match tokio::time::timeout($crate::sql::PROBE_TIMEOUT, probe).await {
                    Ok(result) => result,
                    Err(_) => Err($crate::StoreError::Unavailable(sqlx::Error::PoolTimedOut)),
                }
            }

            fn inject_audit_failure(&self) {
                self.fail_audit
                    .store(true, std::sync::atomic::Ordering::SeqCst);
            }

            async fn create_user(&self, email: &str, is_superuser: bool) -> $crate::Result<$crate::User> {
                let row = sqlx::query_as::<_, $crate::sql::UserRow>(&format!(
                    "INSERT INTO users (email, is_superuser, has_2fa, created_at) \
                     VALUES ($1, $2, $3, $4) RETURNING {}",
                    $crate::sql::USER_COLS
                ))
                .bind(email)
                .bind(is_superuser)
                .bind(false)
                .bind($crate::now())
                .fetch_one(&self.pool)
                .await?;
                Ok(row.into())
            }

            async fn user(&self, id: i64) -> $crate::Result<$crate::User> {
                let row = sqlx::query_as::<_, $crate::sql::UserRow>(&format!(
                    "SELECT {} FROM users WHERE id = $1",
                    $crate::sql::USER_COLS
                ))
                .bind(id)
                .fetch_one(&self.pool)
                .await?;
                Ok(row.into())
            }

            async fn user_by_email(&self, email: &str) -> $crate::Result<$crate::User> {
                let row = sqlx::query_as::<_, $crate::sql::UserRow>(&format!(
                    "SELECT {} FROM users WHERE email = $1",
                    $crate::sql::USER_COLS
                ))
                .bind(email)
                .fetch_one(&self.pool)
                .await?;
                Ok(row.into())
            }

            async fn is_empty(&self) -> $crate::Result<bool> {
                let rows = sqlx::query_as::<_, $crate::sql::IdRow>(
                    "SELECT id FROM organizations LIMIT 1",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.is_empty())
            }

            async fn create_org(
                &self,
                slug: &str,
                name: &str,
                features: &[String],
                owner: i64,
                owner_role: &str,
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::Organization> {
                let mut tx = self.begin_write().await?;
                let now = $crate::now();
                let row = sqlx::query_as::<_, $crate::sql::OrgRow>(&format!(
                    "INSERT INTO organizations (slug, name, options, features, open_membership, \
                     require_2fa, require_sso, created_at) VALUES ($1, $2, '{{}}', $7, $3, $4, \
                     $5, $6) RETURNING {}",
                    $crate::sql::ORG_COLS
                ))
                .bind(slug)
                .bind(name)
                .bind(true)
                .bind(false)
                .bind(false)
                .bind(now)
                .bind(
                    serde_json::to_string(features)
                        .map_err(|e| $crate::StoreError::Corrupt(e.to_string()))?,
                )
                .fetch_one(&mut *tx)
                .await?;
                let org = $crate::Organization::try_from(row)?;
                let member = sqlx::query_as::<_, $crate::sql::IdRow>(
                    "INSERT INTO members (organization_id, user_id, email, role, created_at) \
                     VALUES ($1, $2, (SELECT email FROM users WHERE id = $2), $3, $4) RETURNING id",
                )
                .bind(org.id)
                .bind(owner)
                .bind(owner_role)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                self.audit(
                    &mut tx,
                    Some(org.id),
                    actor,
                    "org.create",
                    &format!("org:{}", org.slug),
                    serde_json::json!({"slug": slug, "name": name, "owner": owner, "ownerMember": member.id}),
                )
                .await?;
                tx.commit().await?;
                Ok(org)
            }

            async fn org_by_slug(&self, slug: &str) -> $crate::Result<$crate::Organization> {
                let row = sqlx::query_as::<_, $crate::sql::OrgRow>(&format!(
                    "SELECT {} FROM organizations WHERE slug = $1",
                    $crate::sql::ORG_COLS
                ))
                .bind(slug)
                .fetch_one(&self.pool)
                .await?;
                row.try_into()
            }

            async fn orgs_of_user(
                &self,
                user: i64,
                page: $crate::Page,
            ) -> $crate::Result<Vec<$crate::Organization>> {
                let (limit, offset) = $crate::sql::page_binds(page);
                let cols: Vec<String> = $crate::sql::ORG_COLS
                    .split(", ")
                    .map(|c| format!("o.{c}"))
                    .collect();
                let rows = sqlx::query_as::<_, $crate::sql::OrgRow>(&format!(
                    "SELECT {} FROM organizations o JOIN members m ON m.organization_id = o.id \
                     WHERE m.user_id = $1 AND o.deletion_scheduled_at IS NULL \
                     ORDER BY o.slug LIMIT $2 OFFSET $3",
                    cols.join(", ")
                ))
                .bind(user)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn update_org(
                &self,
                org: i64,
                update: &$crate::OrgUpdate,
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::Organization> {
                self.edit_org(org, update, None, actor).await
            }

            async fn edit_org(
                &self,
                org: i64,
                update: &$crate::OrgUpdate,
                granular: Option<&$crate::GranularEdit>,
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::Organization> {
                let mut tx = self.begin_write().await?;
                let current = Self::lock_org(&mut tx, org).await?;
                let mut options = current.options.clone();
                for (k, v) in &update.options {
                    options.insert(k.clone(), v.clone());
                }
                let mut summary = serde_json::Map::new();
                let mut entries: Vec<$crate::sql::Entry> = Vec::new();
                if let Some(g) = granular {
                    if let Some(new) = g.toggle {
                        let old = current
                            .options
                            .get(&g.toggle_option)
                            .map(|v| v.as_bool().unwrap_or(false));
                        if let Some(text) = scopegate_core::granular::toggle_summary(old, new) {
                            summary.insert(g.toggle_field.clone(), text.into());
                        }
                        options.insert(g.toggle_option.clone(), new.into());
                        let was = old.unwrap_or(false);
                        if was != new {
                            entries.push((
                                "granular.toggle",
                                format!("granular:{}", g.kind),
                                serde_json::json!({"kind": g.kind, "from": was, "to": new}),
                            ));
                        }
                    }
                    if let Some(selection) = &g.members {
                        let text =
                            self.replace_member_grants(&mut tx, org, &g.kind, selection, &mut entries).await?;
                        if let Some(text) = text {
                            summary.insert(g.members_field.clone(), text.into());
                        }
                    }
                    if let Some(slugs) = &g.teams {
                        self.replace_team_grants(&mut tx, org, &g.kind, slugs, &mut entries).await?;
                    }
                }
                let row = sqlx::query_as::<_, $crate::sql::OrgRow>(&format!(
                    "UPDATE organizations SET name = COALESCE($2, name), slug = COALESCE($3, slug), \
                     open_membership = COALESCE($4, open_membership), \
                     require_2fa = COALESCE($5, require_2fa), \
                     require_sso = COALESCE($6, require_sso), options = $7, \
                     deletion_scheduled_at = CASE WHEN $8 THEN NULL ELSE deletion_scheduled_at END \
                     WHERE id = $1 RETURNING {}",
                    $crate::sql::ORG_COLS
                ))
                .bind(org)
                .bind(update.name.as_deref())
                .bind(update.slug.as_deref())
                .bind(update.open_membership)
                .bind(update.require_2fa)
                .bind(update.require_sso)
                .bind(serde_json::Value::Object(options).to_string())
                .bind(update.cancel_deletion)
                .fetch_one(&mut *tx)
                .await?;
                let updated = $crate::Organization::try_from(row)?;
                let restored = update.cancel_deletion && current.pending_deletion();
                if restored {
                    self.audit(
                        &mut tx,
                        Some(org),
                        actor,
                        "org.restore",
                        &format!("org:{org}"),
                        serde_json::json!({
                            "id": org,
                            "slug": updated.slug,
                            "name": updated.name,
                            "status": "active",
                        }),
                    )
                    .await?;
                }
                if (granular.is_none() && !restored) || !update.is_empty() || !summary.is_empty() {
                    let mut data = serde_json::json!({
                        "name": update.name,
                        "slug": update.slug,
                        "openMembership": update.open_membership,
                        "require2FA": update.require_2fa,
                        "requireSso": update.require_sso,
                        "options": update.options,
                    });
                    if let Some(map) = data.as_object_mut() {
                        map.extend(summary);
                    }
                    self.audit(
                        &mut tx,
                        Some(org),
                        actor,
                        "org.edit",
                        &format!("org:{}", updated.slug),
                        data,
                    )
                    .await?;
                }
                self.audit_many(&mut tx, Some(org), actor, &entries).await?;
                tx.commit().await?;
                Ok(updated)
            }

            async fn set_features(
                &self,
                org: i64,
                enable: &[String],
                disable: &[String],
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::Organization> {
                let mut tx = self.begin_write().await?;
                let current = Self::lock_org(&mut tx, org).await?;
                let mut features = current.features.clone();
                let mut enabled = Vec::new();
                let mut disabled = Vec::new();
                for f in enable {
                    if !features.contains(f) {
                        features.push(f.clone());
                        enabled.push(f.clone());
                    }
                }
                for f in disable {
                    if features.contains(f) && !enable.contains(f) {
                        features.retain(|x| x != f);
                        disabled.push(f.clone());
                    }
                }
                features.sort();
                let row = sqlx::query_as::<_, $crate::sql::OrgRow>(&format!(
                    "UPDATE organizations SET features = $2 WHERE id = $1 RETURNING {}",
                    $crate::sql::ORG_COLS
                ))
                .bind(org)
                .bind(
                    serde_json::to_string(&features)
                        .map_err(|e| $crate::StoreError::Corrupt(e.to_string()))?,
                )
                .fetch_one(&mut *tx)
                .await?;
                let updated = $crate::Organization::try_from(row)?;
                self.audit(
                    &mut tx,
                    Some(org),
                    actor,
                    "org.features",
                    &format!("org:{}", updated.slug),
                    serde_json::json!({"enabled": enabled, "disabled": disabled}),
                )
                .await?;
                tx.commit().await?;
                Ok(updated)
            }

            async fn delete_org(&self, org: i64, actor: &$crate::Actor) -> $crate::Result<()> {
                let mut tx = self.begin_write().await?;
                let gone = sqlx::query_as::<_, $crate::sql::IdRow>(
                    "DELETE FROM organizations WHERE id = $1 RETURNING id",
                )
                .bind(org)
                .fetch_one(&mut *tx)
                .await?;
                self.audit(
                    &mut tx,
                    Some(gone.id),
                    actor,
                    "org.remove",
                    &format!("org:{org}"),
                    serde_json::json!({}),
                )
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn members(&self, org: i64, page: $crate::Page) -> $crate::Result<Vec<$crate::Member>> {
                let (limit, offset) = $crate::sql::page_binds(page);
                let rows = sqlx::query_as::<_, $crate::sql::MemberRow>(&format!(
                    "SELECT {} FROM members WHERE organization_id = $1 ORDER BY id LIMIT $2 OFFSET $3",
                    $crate::sql::MEMBER_COLS
                ))
                .bind(org)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn member(&self, org: i64, id: i64) -> $crate::Result<$crate::Member> {
                let row = sqlx::query_as::<_, $crate::sql::MemberRow>(&format!(
                    "SELECT {} FROM members WHERE organization_id = $1 AND id = $2",
                    $crate::sql::MEMBER_COLS
                ))
                .bind(org)
                .bind(id)
                .fetch_one(&self.pool)
                .await?;
                Ok(row.into())
            }

            async fn member_of_user(&self, org: i64, user: i64) -> $crate::Result<$crate::Member> {
                let row = sqlx::query_as::<_, $crate::sql::MemberRow>(&format!(
                    "SELECT {} FROM members WHERE organization_id = $1 AND user_id = $2",
                    $crate::sql::MEMBER_COLS
                ))
                .bind(org)
                .bind(user)
                .fetch_one(&self.pool)
                .await?;
                Ok(row.into())
            }

            async fn invite_member(
                &self,
                org: i64,
                email: &str,
                role: &str,
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::Member> {
                let mut tx = self.begin_write().await?;
                let now = $crate::now();
                let row = sqlx::query_as::<_, $crate::sql::MemberRow>(&format!(
                    "INSERT INTO members (organization_id, email, role, created_at, \
                     inviter_user_id, invite_expires_at) VALUES ($1, $2, $3, $4, $5, $6) \
                     RETURNING {}",
                    $crate::sql::MEMBER_COLS
                ))
                .bind(org)
                .bind(email)
                .bind(role)
                .bind(now)
                .bind(actor.user_id)
                .bind(now + $crate::INVITE_VALID_SECS)
                .fetch_one(&mut *tx)
                .await?;
                self.audit(
                    &mut tx,
                    Some(org),
                    actor,
                    "member.invite",
                    &format!("member:{}", row.id),
                    serde_json::json!({"email": email, "role": role}),
                )
                .await?;
                tx.commit().await?;
                Ok(row.into())
            }

            async fn accept_invite(
                &self,
                org: i64,
                member: i64,
                user: i64,
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::Member> {
                let mut tx = self.begin_write().await?;
                let row = sqlx::query_as::<_, $crate::sql::MemberRow>(&format!(
                    "UPDATE members SET user_id = $3 WHERE organization_id = $1 AND id = $2 \
                     AND user_id IS NULL RETURNING {}",
                    $crate::sql::MEMBER_COLS
                ))
                .bind(org)
                .bind(member)
                .bind(user)
                .fetch_one(&mut *tx)
                .await?;
                self.audit(
                    &mut tx,
                    Some(org),
                    actor,
                    "member.accept-invite",
                    &format!("member:{member}"),
                    serde_json::json!({"user": user, "role": row.role}),
                )
                .await?;
                tx.commit().await?;
                Ok(row.into())
            }

            async fn set_member_role(
                &self,
                org: i64,
                member: i64,
                role: &str,
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::Member> {
                let mut tx = self.begin_write().await?;
                let row = sqlx::query_as::<_, $crate::sql::MemberRow>(&format!(
                    "UPDATE members SET role = $3 WHERE organization_id = $1 AND id = $2 RETURNING {}",
                    $crate::sql::MEMBER_COLS
                ))
                .bind(org)
                .bind(member)
                .bind(role)
                .fetch_one(&mut *tx)
                .await?;
                self.audit(
                    &mut tx,
                    Some(org),
                    actor,
                    "member.edit",
                    &format!("member:{member}"),
                    serde_json::json!({"role": role}),
                )
                .await?;
                tx.commit().await?;
                Ok(row.into())
            }

            async fn remove_member(&self, org: i64, member: i64, actor: &$crate::Actor) -> $crate::Result<()> {
                let mut tx = self.begin_write().await?;
                Self::lock_org(&mut tx, org).await?;
                self.delete_grant_holder(&mut tx, org, $crate::sql::GrantHolder::Member, member, actor)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn remove_member_guarded(
                &self,
                org: i64,
                member: i64,
                guard: &$crate::MemberGuard,
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::Guarded<()>> {
                let mut tx = self.begin_write().await?;
                Self::lock_org(&mut tx, org).await?;
                let target = Self::member_in(&mut tx, org, member).await?;
                if Self::breaks_guard(&mut tx, &target, None, guard).await? {
                    return Ok($crate::Guarded::LastOwner);
                }
                self.delete_grant_holder(&mut tx, org, $crate::sql::GrantHolder::Member, member, actor)
                    .await?;
                if let Some(user) = target.user_id {
                    // Sentry removes the pending invites the removed member sent.
                    let invites = sqlx::query_as::<_, $crate::sql::IdRow>(
                        "SELECT id FROM members WHERE organization_id = $1 \
                         AND inviter_user_id = $2 AND user_id IS NULL ORDER BY id",
                    )
                    .bind(org)
                    .bind(user)
                    .fetch_all(&mut *tx)
                    .await?;
                    for invite in invites {
                        self.delete_grant_holder(
                            &mut tx,
                            org,
                            $crate::sql::GrantHolder::Member,
                            invite.id,
                            actor,
                        )
                        .await?;
                    }
                }
                tx.commit().await?;
                Ok($crate::Guarded::Done(()))
            }

            async fn edit_member(
                &self,
                org: i64,
                member: i64,
                edit: &$crate::MemberEdit,
                guard: &$crate::MemberGuard,
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::Guarded<$crate::Member>> {
                let mut tx = self.begin_write().await?;
                Self::lock_org(&mut tx, org).await?;
                let target = Self::member_in(&mut tx, org, member).await?;
                let new_role = edit.role.as_deref().filter(|r| *r != target.role);
                if let Some(role) = new_role {
                    if Self::breaks_guard(&mut tx, &target, Some(role), guard).await? {
                        return Ok($crate::Guarded::LastOwner);
                    }
                }
                let mut data = serde_json::Map::new();
                if let Some(teams) = &edit.teams {
                    let slugs = self.replace_member_teams(&mut tx, org, member, teams, actor).await?;
                    data.insert("teams".into(), slugs.into());
                }
                if let Some(role) = new_role {
                    sqlx::query("UPDATE members SET role = $3 WHERE organization_id = $1 AND id = $2")
                        .bind(org)
                        .bind(member)
                        .bind(role)
                        .execute(&mut *tx)
                        .await?;
                    for lesser in &edit.clear_team_roles {
                        sqlx::query(
                            "UPDATE team_members SET role = NULL WHERE member_id = $1 AND role = $2",
                        )
                        .bind(member)
                        .bind(lesser)
                        .execute(&mut *tx)
                        .await?;
                    }
                    data.insert("previousRole".into(), target.role.clone().into());
                }
                let row = Self::member_in(&mut tx, org, member).await?;
                data.insert("role".into(), row.role.clone().into());
                self.audit(
                    &mut tx,
                    Some(org),
                    actor,
                    "member.edit",
                    &format!("member:{member}"),
                    serde_json::Value::Object(data),
                )
                .await?;
                tx.commit().await?;
                Ok($crate::Guarded::Done(row.into()))
            }

            async fn invite(
                &self,
                org: i64,
                invite: &$crate::NewInvite,
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::Invited> {
                let mut tx = self.begin_write().await?;
                Self::lock_org(&mut tx, org).await?;
                let existing = sqlx::query_as::<_, (Option<i64>,)>(
                    "SELECT m.user_id FROM members m LEFT JOIN users u ON u.id = m.user_id \
                     WHERE m.organization_id = $1 \
                     AND (lower(m.email) = lower($2) OR lower(u.email) = lower($2))",
                )
                .bind(org)
                .bind(&invite.email)
                .fetch_all(&mut *tx)
                .await?;
                if existing.iter().any(|(u,)| u.is_some()) {
                    return Ok($crate::Invited::AlreadyMember);
                }
                if !existing.is_empty() {
                    return Ok($crate::Invited::AlreadyInvited);
                }
                let now = $crate::now();
                let row = sqlx::query_as::<_, $crate::sql::MemberRow>(&format!(
                    "INSERT INTO members (organization_id, email, role, created_at, \
                     inviter_user_id, invite_expires_at) VALUES ($1, $2, $3, $4, $5, $6) \
                     RETURNING {}",
                    $crate::sql::MEMBER_COLS
                ))
                .bind(org)
                .bind(&invite.email)
                .bind(&invite.role)
                .bind(now)
                .bind(actor.user_id)
                .bind(now + $crate::INVITE_VALID_SECS)
                .fetch_one(&mut *tx)
                .await?;
                let mut teams = invite.teams.clone();
                teams.sort_unstable();
                teams.dedup();
                for team in &teams {
                    Self::ensure_in_org(&mut tx, "teams", *team, org).await?;
                    sqlx::query("INSERT INTO team_members (team_id, member_id, role) VALUES ($1, $2, NULL)")
                        .bind(team)
                        .bind(row.id)
                        .execute(&mut *tx)
                        .await?;
                }
                self.audit(
                    &mut tx,
                    Some(org),
                    actor,
                    "member.invite",
                    &format!("member:{}", row.id),
                    serde_json::json!({"email": invite.email, "role": invite.role, "teams": teams}),
                )
                .await?;
                tx.commit().await?;
                Ok($crate::Invited::Created(row.into()))
            }

            async fn reinvite(
                &self,
                org: i64,
                member: i64,
                regenerate: bool,
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::Member> {
                let mut tx = self.begin_write().await?;
                let row = if regenerate {
                    sqlx::query_as::<_, $crate::sql::MemberRow>(&format!(
                        "UPDATE members SET invite_expires_at = $3 WHERE organization_id = $1 \
                         AND id = $2 AND user_id IS NULL RETURNING {}",
                        $crate::sql::MEMBER_COLS
                    ))
                    .bind(org)
                    .bind(member)
                    .bind($crate::now() + $crate::INVITE_VALID_SECS)
                    .fetch_one(&mut *tx)
                    .await?
                } else {
                    sqlx::query_as::<_, $crate::sql::MemberRow>(&format!(
                        "SELECT {} FROM members WHERE organization_id = $1 AND id = $2 \
                         AND user_id IS NULL",
                        $crate::sql::MEMBER_COLS
                    ))
                    .bind(org)
                    .bind(member)
                    .fetch_one(&mut *tx)
                    .await?
                };
                self.audit(
                    &mut tx,
                    Some(org),
                    actor,
                    "member.reinvite",
                    &format!("member:{member}"),
                    serde_json::json!({"email": row.email, "regenerate": regenerate}),
                )
                .await?;
                tx.commit().await?;
                Ok(row.into())
            }

            async fn member_teams(&self, org: i64, member: i64) -> $crate::Result<Vec<$crate::MemberTeam>> {
                let rows = sqlx::query_as::<_, (i64, String, Option<String>)>(
                    "SELECT t.id, t.slug, tm.role FROM team_members tm JOIN teams t ON t.id = tm.team_id \
                     WHERE t.organization_id = $1 AND tm.member_id = $2 ORDER BY t.slug",
                )
                .bind(org)
                .bind(member)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(team_id, slug, role)| $crate::MemberTeam { team_id, slug, role })
                    .collect())
            }

            async fn create_team(
                &self,
                org: i64,
                slug: &str,
                name: &str,
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::Team> {
                let mut tx = self.begin_write().await?;
                let row = sqlx::query_as::<_, $crate::sql::TeamRow>(&format!(
                    "INSERT INTO teams (organization_id, slug, name, created_at) \
                     VALUES ($1, $2, $3, $4) RETURNING {}",
                    $crate::sql::TEAM_COLS
                ))
                .bind(org)
                .bind(slug)
                .bind(name)
                .bind($crate::now())
                .fetch_one(&mut *tx)
                .await?;
                self.audit(
                    &mut tx,
                    Some(org),
                    actor,
                    "team.create",
                    &format!("team:{slug}"),
                    serde_json::json!({"slug": slug, "name": name}),
                )
                .await?;
                tx.commit().await?;
                Ok(row.into())
            }

            async fn teams(&self, org: i64, page: $crate::Page) -> $crate::Result<Vec<$crate::Team>> {
                let (limit, offset) = $crate::sql::page_binds(page);
                let rows = sqlx::query_as::<_, $crate::sql::TeamRow>(&format!(
                    "SELECT {} FROM teams WHERE organization_id = $1 ORDER BY slug LIMIT $2 OFFSET $3",
                    $crate::sql::TEAM_COLS
                ))
                .bind(org)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn team_by_slug(&self, org: i64, slug: &str) -> $crate::Result<$crate::Team> {
                let row = sqlx::query_as::<_, $crate::sql::TeamRow>(&format!(
                    "SELECT {} FROM teams WHERE organization_id = $1 AND slug = $2",
                    $crate::sql::TEAM_COLS
                ))
                .bind(org)
                .bind(slug)
                .fetch_one(&self.pool)
                .await?;
                Ok(row.into())
            }

            async fn delete_team(&self, org: i64, team: i64, actor: &$crate::Actor) -> $crate::Result<()> {
                let mut tx = self.begin_write().await?;
                Self::lock_org(&mut tx, org).await?;
                self.delete_grant_holder(&mut tx, org, $crate::sql::GrantHolder::Team, team, actor)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn team_members(&self, team: i64) -> $crate::Result<Vec<$crate::TeamMembership>> {
                let rows = sqlx::query_as::<_, $crate::sql::TeamMemberRow>(
                    "SELECT team_id, member_id, role FROM team_members WHERE team_id = $1 \
                     ORDER BY member_id",
                )
                .bind(team)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn set_team_member(
                &self,
                org: i64,
                team: i64,
                member: i64,
                role: Option<&str>,
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::TeamMembership> {
                let mut tx = self.begin_write().await?;
                Self::ensure_in_org(&mut tx, "teams", team, org).await?;
                Self::ensure_in_org(&mut tx, "members", member, org).await?;
                let row = sqlx::query_as::<_, $crate::sql::TeamMemberRow>(
                    "INSERT INTO team_members (team_id, member_id, role) VALUES ($1, $2, $3) \
                     ON CONFLICT (team_id, member_id) DO UPDATE SET role = excluded.role \
                     RETURNING team_id, member_id, role",
                )
                .bind(team)
                .bind(member)
                .bind(role)
                .fetch_one(&mut *tx)
                .await?;
                self.audit(
                    &mut tx,
                    Some(org),
                    actor,
                    "member.join-team",
                    &format!("member:{member}"),
                    serde_json::json!({"team": team, "teamRole": role}),
                )
                .await?;
                tx.commit().await?;
                Ok(row.into())
            }

            async fn remove_team_member(
                &self,
                org: i64,
                team: i64,
                member: i64,
                actor: &$crate::Actor,
            ) -> $crate::Result<bool> {
                let mut tx = self.begin_write().await?;
                Self::ensure_in_org(&mut tx, "teams", team, org).await?;
                Self::ensure_in_org(&mut tx, "members", member, org).await?;
                let removed = sqlx::query_as::<_, $crate::sql::TeamMemberRow>(
                    "DELETE FROM team_members WHERE team_id = $1 AND member_id = $2 \
                     RETURNING team_id, member_id, role",
                )
                .bind(team)
                .bind(member)
                .fetch_optional(&mut *tx)
                .await?;
                if removed.is_some() {
                    self.audit(
                        &mut tx,
                        Some(org),
                        actor,
                        "member.leave-team",
                        &format!("member:{member}"),
                        serde_json::json!({"team": team}),
                    )
                    .await?;
                }
                tx.commit().await?;
                Ok(removed.is_some())
            }

            async fn set_team_role(
                &self,
                org: i64,
                team: i64,
                member: i64,
                role: Option<&str>,
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::TeamMembership> {
                let mut tx = self.begin_write().await?;
                Self::ensure_in_org(&mut tx, "teams", team, org).await?;
                Self::ensure_in_org(&mut tx, "members", member, org).await?;
                let row = sqlx::query_as::<_, $crate::sql::TeamMemberRow>(
                    "UPDATE team_members SET role = $1 WHERE team_id = $2 AND member_id = $3 \
                     RETURNING team_id, member_id, role",
                )
                .bind(role)
                .bind(team)
                .bind(member)
                .fetch_one(&mut *tx)
                .await?;
                self.audit(
                    &mut tx,
                    Some(org),
                    actor,
                    "member.edit",
                    &format!("member:{member}"),
                    serde_json::json!({"team": team, "teamRole": role}),
                )
                .await?;
                tx.commit().await?;
                Ok(row.into())
            }

            async fn join_team(
                &self,
                org: i64,
                team: i64,
                member: i64,
                actor: &$crate::Actor,
            ) -> $crate::Result<Option<$crate::TeamMembership>> {
                let mut tx = self.begin_write().await?;
                Self::ensure_in_org(&mut tx, "teams", team, org).await?;
                Self::ensure_in_org(&mut tx, "members", member, org).await?;
                let row = sqlx::query_as::<_, $crate::sql::TeamMemberRow>(
                    "INSERT INTO team_members (team_id, member_id, role) VALUES ($1, $2, NULL) \
                     ON CONFLICT (team_id, member_id) DO NOTHING \
                     RETURNING team_id, member_id, role",
                )
                .bind(team)
                .bind(member)
                .fetch_optional(&mut *tx)
                .await?;
                if row.is_some() {
                    self.audit(
                        &mut tx,
                        Some(org),
                        actor,
                        "member.join-team",
                        &format!("member:{member}"),
                        serde_json::json!({"team": team, "teamRole": null}),
                    )
                    .await?;
                }
                tx.commit().await?;
                Ok(row.map(Into::into))
            }

            async fn team(&self, org: i64, id: i64) -> $crate::Result<$crate::Team> {
                let row = sqlx::query_as::<_, $crate::sql::TeamRow>(&format!(
                    "SELECT {} FROM teams WHERE organization_id = $1 AND id = $2",
                    $crate::sql::TEAM_COLS
                ))
                .bind(org)
                .bind(id)
                .fetch_one(&self.pool)
                .await?;
                Ok(row.into())
            }

            async fn update_team(
                &self,
                org: i64,
                team: i64,
                slug: Option<&str>,
                name: Option<&str>,
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::Team> {
                let mut tx = self.begin_write().await?;
                let row = sqlx::query_as::<_, $crate::sql::TeamRow>(&format!(
                    "UPDATE teams SET slug = COALESCE($1, slug), name = COALESCE($2, name) \
                     WHERE organization_id = $3 AND id = $4 RETURNING {}",
                    $crate::sql::TEAM_COLS
                ))
                .bind(slug)
                .bind(name)
                .bind(org)
                .bind(team)
                .fetch_one(&mut *tx)
                .await?;
                self.audit(
                    &mut tx,
                    Some(org),
                    actor,
                    "team.edit",
                    &format!("team:{}", row.slug),
                    serde_json::json!({"id": row.id, "slug": row.slug, "name": row.name}),
                )
                .await?;
                tx.commit().await?;
                Ok(row.into())
            }

            async fn create_access_request(
                &self,
                org: i64,
                team: i64,
                member: i64,
                requester: Option<i64>,
            ) -> $crate::Result<($crate::AccessRequest, bool)> {
                let mut tx = self.begin_write().await?;
                Self::ensure_in_org(&mut tx, "teams", team, org).await?;
                Self::ensure_in_org(&mut tx, "members", member, org).await?;
                let created = sqlx::query_as::<_, $crate::sql::AccessRequestRow>(&format!(
                    "INSERT INTO access_requests (organization_id, team_id, member_id, \
                     requester_user_id, created_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (team_id, member_id) DO NOTHING RETURNING {}",
                    $crate::sql::ACCESS_REQUEST_COLS
                ))
                .bind(org)
                .bind(team)
                .bind(member)
                .bind(requester)
                .bind($crate::now())
                .fetch_optional(&mut *tx)
                .await?;
                let out = match created {
                    Some(row) => (row.into(), true),
                    None => {
                        let row = sqlx::query_as::<_, $crate::sql::AccessRequestRow>(&format!(
                            "SELECT {} FROM access_requests WHERE team_id = $1 AND member_id = $2",
                            $crate::sql::ACCESS_REQUEST_COLS
                        ))
                        .bind(team)
                        .bind(member)
                        .fetch_one(&mut *tx)
                        .await?;
                        (row.into(), false)
                    }
                };
                tx.commit().await?;
                Ok(out)
            }

            async fn access_requests(&self, org: i64) -> $crate::Result<Vec<$crate::AccessRequest>> {
                let rows = sqlx::query_as::<_, $crate::sql::AccessRequestRow>(
                    "SELECT r.id, r.organization_id, r.team_id, r.member_id, r.requester_user_id, \
                     r.created_at FROM access_requests r JOIN members m ON m.id = r.member_id \
                     WHERE r.organization_id = $1 AND m.user_id IS NOT NULL AND NOT EXISTS \
                     (SELECT 1 FROM team_members t WHERE t.team_id = r.team_id \
                     AND t.member_id = r.member_id) ORDER BY r.id",
                )
                .bind(org)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn access_request(&self, org: i64, id: i64) -> $crate::Result<$crate::AccessRequest> {
                let row = sqlx::query_as::<_, $crate::sql::AccessRequestRow>(&format!(
                    "SELECT {} FROM access_requests WHERE organization_id = $1 AND id = $2",
                    $crate::sql::ACCESS_REQUEST_COLS
                ))
                .bind(org)
                .bind(id)
                .fetch_one(&self.pool)
                .await?;
                Ok(row.into())
            }

            async fn resolve_access_request(
                &self,
                org: i64,
                id: i64,
                approve: bool,
                actor: &$crate::Actor,
            ) -> $crate::Result<Option<$crate::TeamMembership>> {
                let mut tx = self.begin_write().await?;
                Self::lock_org(&mut tx, org).await?;
                let request = sqlx::query_as::<_, $crate::sql::AccessRequestRow>(&format!(
                    "DELETE FROM access_requests WHERE organization_id = $1 AND id = $2 \
                     RETURNING {}",
                    $crate::sql::ACCESS_REQUEST_COLS
                ))
                .bind(org)
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
                let target = format!("member:{}", request.member_id);
                let mut created = None;
                if approve {
                    let row = sqlx::query_as::<_, $crate::sql::TeamMemberRow>(
                        "INSERT INTO team_members (team_id, member_id, role) VALUES ($1, $2, NULL) \
                         ON CONFLICT (team_id, member_id) DO NOTHING \
                         RETURNING team_id, member_id, role",
                    )
                    .bind(request.team_id)
                    .bind(request.member_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if row.is_some() {
                        self.audit(
                            &mut tx,
                            Some(org),
                            actor,
                            "member.join-team",
                            &target,
                            serde_json::json!({
                                "team": request.team_id,
                                "teamRole": null,
                                "accessRequest": request.id,
                            }),
                        )
                        .await?;
                    }
                    created = row.map(Into::into);
                } else {
                    self.audit(
                        &mut tx,
                        Some(org),
                        actor,
                        "access-request.deny",
                        &target,
                        serde_json::json!({"team": request.team_id, "accessRequest": request.id}),
                    )
                    .await?;
                }
                tx.commit().await?;
                Ok(created)
            }

            async fn create_project(
                &self,
                org: i64,
                slug: &str,
                name: &str,
                teams: &[i64],
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::Project> {
                let mut tx = self.begin_write().await?;
                let row = sqlx::query_as::<_, $crate::sql::ProjectRow>(&format!(
                    "INSERT INTO projects (organization_id, slug, name, active, created_at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING {}",
                    $crate::sql::PROJECT_COLS
                ))
                .bind(org)
                .bind(slug)
                .bind(name)
                .bind(true)
                .bind($crate::now())
                .fetch_one(&mut *tx)
                .await?;
                for team in teams {
                    Self::ensure_in_org(&mut tx, "teams", *team, org).await?;
                    sqlx::query("INSERT INTO project_teams (project_id, team_id) VALUES ($1, $2)")
                        .bind(row.id)
                        .bind(team)
                        .execute(&mut *tx)
                        .await?;
                }
                self.audit(
                    &mut tx,
                    Some(org),
                    actor,
                    "project.create",
                    &format!("project:{slug}"),
                    serde_json::json!({"slug": slug, "name": name, "teams": teams}),
                )
                .await?;
                tx.commit().await?;
                Ok(row.with_teams(teams.to_vec()))
            }

            async fn projects(&self, org: i64, page: $crate::Page) -> $crate::Result<Vec<$crate::Project>> {
                let (limit, offset) = $crate::sql::page_binds(page);
                let rows = sqlx::query_as::<_, $crate::sql::ProjectRow>(&format!(
                    "SELECT {} FROM projects WHERE organization_id = $1 ORDER BY slug LIMIT $2 OFFSET $3",
                    $crate::sql::PROJECT_COLS
                ))
                .bind(org)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?;
                self.with_teams(rows).await
            }

            async fn project_by_slug(&self, org: i64, slug: &str) -> $crate::Result<$crate::Project> {
                let row = sqlx::query_as::<_, $crate::sql::ProjectRow>(&format!(
                    "SELECT {} FROM projects WHERE organization_id = $1 AND slug = $2",
                    $crate::sql::PROJECT_COLS
                ))
                .bind(org)
                .bind(slug)
                .fetch_one(&self.pool)
                .await?;
                let mut v = self.with_teams(vec![row]).await?;
                v.pop().ok_or($crate::StoreError::NotFound)
            }

            async fn delete_project(&self, org: i64, project: i64, actor: &$crate::Actor) -> $crate::Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query_as::<_, $crate::sql::IdRow>(
                    "DELETE FROM projects WHERE organization_id = $1 AND id = $2 RETURNING id",
                )
                .bind(org)
                .bind(project)
                .fetch_one(&mut *tx)
                .await?;
                self.audit(
                    &mut tx,
                    Some(org),
                    actor,
                    "project.remove",
                    &format!("project:{project}"),
                    serde_json::json!({}),
                )
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn add_project_team(
                &self,
                org: i64,
                project: i64,
                team: i64,
                actor: &$crate::Actor,
            ) -> $crate::Result<bool> {
                let mut tx = self.begin_write().await?;
                Self::ensure_in_org(&mut tx, "projects", project, org).await?;
                Self::ensure_in_org(&mut tx, "teams", team, org).await?;
                let added = sqlx::query_as::<_, $crate::sql::ProjectTeamRow>(
                    "INSERT INTO project_teams (project_id, team_id) VALUES ($1, $2) \
                     ON CONFLICT (project_id, team_id) DO NOTHING RETURNING project_id, team_id",
                )
                .bind(project)
                .bind(team)
                .fetch_optional(&mut *tx)
                .await?;
                if added.is_some() {
                    self.audit(
                        &mut tx,
                        Some(org),
                        actor,
                        "project-team.add",
                        &format!("project:{project}"),
                        serde_json::json!({"team": team}),
                    )
                    .await?;
                }
                tx.commit().await?;
                Ok(added.is_some())
            }

            async fn remove_project_team(
                &self,
                org: i64,
                project: i64,
                team: i64,
                actor: &$crate::Actor,
            ) -> $crate::Result<bool> {
                let mut tx = self.begin_write().await?;
                Self::ensure_in_org(&mut tx, "projects", project, org).await?;
                Self::ensure_in_org(&mut tx, "teams", team, org).await?;
                let removed = sqlx::query_as::<_, $crate::sql::ProjectTeamRow>(
                    "DELETE FROM project_teams WHERE project_id = $1 AND team_id = $2 \
                     RETURNING project_id, team_id",
                )
                .bind(project)
                .bind(team)
                .fetch_optional(&mut *tx)
                .await?;
                if removed.is_some() {
                    self.audit(
                        &mut tx,
                        Some(org),
                        actor,
                        "project-team.remove",
                        &format!("project:{project}"),
                        serde_json::json!({"team": team}),
                    )
                    .await?;
                }
                tx.commit().await?;
                Ok(removed.is_some())
            }

            async fn grants(&self, org: i64) -> $crate::Result<Vec<$crate::GranularGrant>> {
                let rows = sqlx::query_as::<_, $crate::sql::GrantRow>(
                    "SELECT kind, member_id, team_id FROM granular_grants WHERE organization_id = $1 \
                     ORDER BY id",
                )
                .bind(org)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn create_token(
                &self,
                new: &$crate::NewToken,
                actor: &$crate::Actor,
            ) -> $crate::Result<($crate::Token, $crate::Secret)> {
                let secret = $crate::Secret::generate(new.kind);
                let scopes = serde_json::to_string(&new.scopes)
                    .map_err(|e| $crate::StoreError::Corrupt(e.to_string()))?;
                let mut tx = self.begin_write().await?;
                let id = sqlx::query_as::<_, $crate::sql::IdRow>(
                    "INSERT INTO api_tokens (kind, user_id, organization_id, name, token_hash, \
                     token_prefix, scopes, created_at, token_last_characters) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                )
                .bind(new.kind.as_str())
                .bind(new.user_id)
                .bind(new.organization_id)
                .bind(&new.name)
                .bind(secret.hash())
                .bind(secret.display_prefix())
                .bind(scopes)
                .bind($crate::now())
                .bind(secret.last_characters())
                .fetch_one(&mut *tx)
                .await?
                .id;
                let event = match new.kind {
                    $crate::TokenKind::User => "api-token.create",
                    $crate::TokenKind::Org => "org-auth-token.create",
                    $crate::TokenKind::Service => "service-token.create",
                };
                self.audit(
                    &mut tx,
                    new.organization_id,
                    actor,
                    event,
                    &format!("token:{id}"),
                    serde_json::json!({"name": new.name, "scopes": new.scopes, "user": new.user_id}),
                )
                .await?;
                let row = sqlx::query_as::<_, $crate::sql::TokenRow>(&format!(
                    "{} WHERE t.id = $1",
                    $crate::sql::TOKEN_SELECT
                ))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok((row.try_into()?, secret))
            }

            async fn token_by_secret(&self, secret: &str) -> $crate::Result<$crate::Token> {
                let hash = $crate::token::hash_secret(secret);
                let row = sqlx::query_as::<_, $crate::sql::TokenRow>(&format!(
                    "{} WHERE t.token_hash = $1",
                    $crate::sql::TOKEN_SELECT
                ))
                .bind(&hash)
                .fetch_one(&self.pool)
                .await?;
                let token: $crate::Token = row.try_into()?;
                // The index found the row; confirm in constant time all the same.
                if $crate::token::hashes_match(&token.hash, &hash) {
                    Ok(token)
                } else {
                    Err($crate::StoreError::NotFound)
                }
            }

            async fn user_tokens(&self, user: i64, page: $crate::Page) -> $crate::Result<Vec<$crate::Token>> {
                let (limit, offset) = $crate::sql::page_binds(page);
                let rows = sqlx::query_as::<_, $crate::sql::TokenRow>(&format!(
                    "{} WHERE t.kind = 'user' AND t.user_id = $1 ORDER BY t.id LIMIT $2 OFFSET $3",
                    $crate::sql::TOKEN_SELECT
                ))
                .bind(user)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn org_tokens(&self, org: i64, page: $crate::Page) -> $crate::Result<Vec<$crate::Token>> {
                let (limit, offset) = $crate::sql::page_binds(page);
                let rows = sqlx::query_as::<_, $crate::sql::TokenRow>(&format!(
                    "{} WHERE t.kind = 'org' AND t.organization_id = $1 ORDER BY t.id LIMIT $2 OFFSET $3",
                    $crate::sql::TOKEN_SELECT
                ))
                .bind(org)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn token(&self, id: i64) -> $crate::Result<$crate::Token> {
                let row = sqlx::query_as::<_, $crate::sql::TokenRow>(&format!(
                    "{} WHERE t.id = $1",
                    $crate::sql::TOKEN_SELECT
                ))
                .bind(id)
                .fetch_one(&self.pool)
                .await?;
                row.try_into()
            }

            async fn delete_token(&self, id: i64, actor: &$crate::Actor) -> $crate::Result<()> {
                let mut tx = self.begin_write().await?;
                let row = sqlx::query_as::<_, $crate::sql::TokenRow>(&format!(
                    "{} WHERE t.id = $1",
                    $crate::sql::TOKEN_SELECT
                ))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM api_tokens WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let event = match row.kind.as_str() {
                    "org" => "org-auth-token.remove",
                    "service" => "service-token.remove",
                    _ => "api-token.remove",
                };
                self.audit(
                    &mut tx,
                    row.organization_id,
                    actor,
                    event,
                    &format!("token:{id}"),
                    serde_json::json!({"name": row.name}),
                )
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn reduce_org_token_scopes(
                &self,
                allowed: &[String],
                actor: &$crate::Actor,
            ) -> $crate::Result<u64> {
                let mut tx = self.pool.begin().await?;
                // Take the write lock before reading (SQLite; on PostgreSQL the rows are
                // locked by the UPDATE itself): no token changes between read and write.
                sqlx::query("UPDATE api_tokens SET id = id WHERE kind = 'org'")
                    .execute(&mut *tx)
                    .await?;
                let rows = sqlx::query_as::<_, $crate::sql::TokenRow>(&format!(
                    "{} WHERE t.kind = 'org' ORDER BY t.id",
                    $crate::sql::TOKEN_SELECT
                ))
                .fetch_all(&mut *tx)
                .await?;
                let mut changed = 0u64;
                for row in rows {
                    let token: $crate::Token = row.try_into()?;
                    let kept: Vec<String> = token
                        .scopes
                        .iter()
                        .filter(|s| allowed.contains(s))
                        .cloned()
                        .collect();
                    if kept.len() == token.scopes.len() {
                        continue;
                    }
                    let text = serde_json::to_string(&kept)
                        .map_err(|e| $crate::StoreError::Corrupt(e.to_string()))?;
                    sqlx::query("UPDATE api_tokens SET scopes = $1 WHERE id = $2")
                        .bind(text)
                        .bind(token.id)
                        .execute(&mut *tx)
                        .await?;
                    self.audit(
                        &mut tx,
                        token.organization_id,
                        actor,
                        "org-auth-token.edit",
                        &format!("token:{}", token.id),
                        serde_json::json!({
                            "name": token.name,
                            "scopes": {"from": token.scopes, "to": kept},
                            "reason": "the policy's org_token_scopes",
                        }),
                    )
                    .await?;
                    changed += 1;
                }
                tx.commit().await?;
                Ok(changed)
            }

            async fn create_integration(
                &self,
                new: &$crate::NewIntegration,
                install_on: &[i64],
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::Integration> {
                let scopes = serde_json::to_string(&new.scopes)
                    .map_err(|e| $crate::StoreError::Corrupt(e.to_string()))?;
                let mut tx = self.begin_write().await?;
                let id = sqlx::query_as::<_, $crate::sql::IdRow>(
                    "INSERT INTO integrations (slug, name, scopes, created_at) \
                     VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(&new.slug)
                .bind(&new.name)
                .bind(scopes)
                .bind($crate::now())
                .fetch_one(&mut *tx)
                .await?
                .id;
                self.audit(
                    &mut tx,
                    None,
                    actor,
                    "integration.create",
                    &format!("integration:{id}"),
                    serde_json::json!({"slug": new.slug, "name": new.name, "scopes": new.scopes}),
                )
                .await?;
                let mut orgs = install_on.to_vec();
                orgs.sort_unstable();
                orgs.dedup();
                for org in orgs {
                    self.install_in(&mut tx, id, &new.slug, org, actor).await?;
                }
                let created = Self::integration_in(&mut tx, id).await?;
                tx.commit().await?;
                Ok(created)
            }

            async fn integration(&self, id: i64) -> $crate::Result<$crate::Integration> {
                let mut tx = self.pool.begin().await?;
                let found = Self::integration_in(&mut tx, id).await?;
                tx.commit().await?;
                Ok(found)
            }

            async fn integrations(
                &self,
                page: $crate::Page,
            ) -> $crate::Result<Vec<$crate::Integration>> {
                let (limit, offset) = $crate::sql::page_binds(page);
                let mut tx = self.pool.begin().await?;
                Self::snapshot(&mut tx).await?;
                let rows = sqlx::query_as::<_, $crate::sql::IntegrationRow>(&format!(
                    "SELECT {} FROM integrations ORDER BY id LIMIT $1 OFFSET $2",
                    $crate::sql::INTEGRATION_COLS
                ))
                .bind(limit)
                .bind(offset)
                .fetch_all(&mut *tx)
                .await?;
                let installs = sqlx::query_as::<_, $crate::sql::InstallRow>(
                    "SELECT integration_id, organization_id FROM integration_installations \
                     WHERE integration_id IN (SELECT id FROM integrations ORDER BY id \
                     LIMIT $1 OFFSET $2) ORDER BY integration_id, organization_id",
                )
                .bind(limit)
                .bind(offset)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                let mut by_integration: std::collections::HashMap<i64, Vec<i64>> =
                    std::collections::HashMap::new();
                for i in installs {
                    by_integration
                        .entry(i.integration_id)
                        .or_default()
                        .push(i.organization_id);
                }
                rows.into_iter()
                    .map(|r| {
                        let on = by_integration.remove(&r.id).unwrap_or_default();
                        r.with_installs(on)
                    })
                    .collect()
            }

            async fn install_integration(
                &self,
                integration: i64,
                org: i64,
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::Integration> {
                let mut tx = self.begin_write().await?;
                let current = Self::integration_in(&mut tx, integration).await?;
                self.install_in(&mut tx, integration, &current.slug, org, actor)
                    .await?;
                let updated = Self::integration_in(&mut tx, integration).await?;
                tx.commit().await?;
                Ok(updated)
            }

            async fn uninstall_integration(
                &self,
                integration: i64,
                org: i64,
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::Integration> {
                let mut tx = self.begin_write().await?;
                let current = Self::integration_in(&mut tx, integration).await?;
                sqlx::query_as::<_, $crate::sql::InstallRow>(
                    "DELETE FROM integration_installations WHERE integration_id = $1 \
                     AND organization_id = $2 RETURNING integration_id, organization_id",
                )
                .bind(integration)
                .bind(org)
                .fetch_one(&mut *tx)
                .await?;
                self.audit(
                    &mut tx,
                    Some(org),
                    actor,
                    "integration.uninstall",
                    &format!("integration:{integration}"),
                    serde_json::json!({"integration": integration, "slug": current.slug}),
                )
                .await?;
                let updated = Self::integration_in(&mut tx, integration).await?;
                tx.commit().await?;
                Ok(updated)
            }

            async fn audit_log(&self, org: i64, page: $crate::Page) -> $crate::Result<Vec<$crate::AuditEntry>> {
                let (limit, offset) = $crate::sql::page_binds(page);
                let rows = sqlx::query_as::<_, $crate::sql::AuditRow>(&format!(
                    "SELECT {} FROM audit_log WHERE organization_id = $1 ORDER BY id DESC \
                     LIMIT $2 OFFSET $3",
                    $crate::sql::AUDIT_COLS
                ))
                .bind(org)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn world(
                &self,
                org_slug: Option<&str>,
                also_user: Option<i64>,
            ) -> $crate::Result<scopegate_core::WorldDoc> {
                self.world_of(org_slug, also_user, false).await
            }

            async fn world_including_pending(
                &self,
                org_slug: Option<&str>,
                also_user: Option<i64>,
            ) -> $crate::Result<scopegate_core::WorldDoc> {
                self.world_of(org_slug, also_user, true).await
            }

            async fn schedule_org_deletion(
                &self,
                org: i64,
                due_at: i64,
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::Organization> {
                let mut tx = self.begin_write().await?;
                let current = Self::lock_org(&mut tx, org).await?;
                if current.deletion_scheduled_at.is_some() {
                    // Already pending: Sentry keeps the one schedule (and writes nothing).
                    tx.commit().await?;
                    return Ok(current);
                }
                let row = sqlx::query_as::<_, $crate::sql::OrgRow>(&format!(
                    "UPDATE organizations SET deletion_scheduled_at = $2 WHERE id = $1 RETURNING {}",
                    $crate::sql::ORG_COLS
                ))
                .bind(org)
                .bind(due_at)
                .fetch_one(&mut *tx)
                .await?;
                let updated = $crate::Organization::try_from(row)?;
                self.audit(
                    &mut tx,
                    Some(org),
                    actor,
                    "org.remove",
                    &format!("org:{org}"),
                    serde_json::json!({
                        "id": org,
                        "slug": updated.slug,
                        "name": updated.name,
                        "status": "pending_deletion",
                        "deletionScheduledAt": due_at,
                    }),
                )
                .await?;
                tx.commit().await?;
                Ok(updated)
            }

            async fn purge_orgs_due(&self, now: i64) -> $crate::Result<Vec<i64>> {
                let due = sqlx::query_as::<_, $crate::sql::IdRow>(
                    "SELECT id FROM organizations WHERE deletion_scheduled_at IS NOT NULL \
                     AND deletion_scheduled_at <= $1 ORDER BY id",
                )
                .bind(now)
                .fetch_all(&self.pool)
                .await?;
                let mut removed = Vec::new();
                for row in due {
                    let mut tx = self.begin_write().await?;
                    // Only if still due: a restore may have won the race since the scan.
                    let gone = sqlx::query_as::<_, $crate::sql::IdRow>(
                        "DELETE FROM organizations WHERE id = $1 \
                         AND deletion_scheduled_at IS NOT NULL AND deletion_scheduled_at <= $2 \
                         RETURNING id",
                    )
                    .bind(row.id)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some(gone) = gone {
                        // The organization's log outlives it (no foreign key): the entry is
                        // kept under its id.
                        self.audit(
                            &mut tx,
                            Some(gone.id),
                            &$crate::Actor::system(),
                            "org.delete",
                            &format!("org:{}", gone.id),
                            serde_json::json!({"id": gone.id}),
                        )
                        .await?;
                        removed.push(gone.id);
                    }
                    tx.commit().await?;
                }
                Ok(removed)
            }

            async fn full_world(&self) -> $crate::Result<scopegate_core::WorldDoc> {
                let export = self.export(None).await?;
                let pending: std::collections::BTreeSet<u64> = export
                    .orgs
                    .iter()
                    .filter(|o| o.deletion_scheduled_at.is_some())
                    .filter_map(|o| u64::try_from(o.id).ok())
                    .collect();
                let mut doc = export.into_doc()?;
                // INVARIANT: an organization pending deletion is absent from the decision
                // index: `/v1/` decides it as unknown (not_found).
                if !pending.is_empty() {
                    let keep = |o: &u64| !pending.contains(o);
                    doc.organizations.retain(|o| keep(&o.id));
                    doc.members.retain(|m| keep(&m.organization));
                    doc.teams.retain(|t| keep(&t.organization));
                    doc.projects.retain(|p| keep(&p.organization));
                    doc.granular_grants.retain(|g| keep(&g.organization));
                    for i in &mut doc.integrations {
                        i.installed_on.retain(keep);
                    }
                }
                Ok(doc)
            }

            async fn import_world(
                &self,
                doc: &scopegate_core::WorldDoc,
                policy: &scopegate_core::Policy,
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::ImportSummary> {
                let rows = $crate::import::Rows::new(doc, policy)?;
                let mut tx = self.begin_write().await?;
                let counts = sqlx::query_as::<_, $crate::sql::CountsRow>(
                    "SELECT (SELECT COUNT(*) FROM users) AS users, \
                     (SELECT COUNT(*) FROM organizations) AS organizations, \
                     (SELECT COUNT(*) FROM integrations) AS integrations",
                )
                .fetch_one(&mut *tx)
                .await?;
                if counts.users != 0 || counts.organizations != 0 || counts.integrations != 0 {
                    return Err($crate::StoreError::NotEmpty {
                        users: counts.users,
                        organizations: counts.organizations,
                        integrations: counts.integrations,
                    });
                }
                let now = $crate::now();
                Self::insert_rows(
                    &mut tx,
                    "INSERT INTO users (id, email, is_superuser, has_2fa, created_at) ",
                    &rows.users,
                    |b, (id, email, has_2fa)| {
                        b.push_bind(*id)
                            .push_bind(email.clone())
                            .push_bind(false)
                            .push_bind(*has_2fa)
                            .push_bind(now);
                    },
                )
                .await?;
                Self::insert_rows(
                    &mut tx,
                    "INSERT INTO organizations (id, slug, name, options, features, \
                     open_membership, require_2fa, require_sso, created_at) ",
                    &rows.orgs,
                    |b, (id, slug, options, features, open, tfa, sso)| {
                        b.push_bind(*id)
                            .push_bind(slug.clone())
                            .push_bind(slug.clone())
                            .push_bind(options.clone())
                            .push_bind(features.clone())
                            .push_bind(*open)
                            .push_bind(*tfa)
                            .push_bind(*sso)
                            .push_bind(now);
                    },
                )
                .await?;
                Self::insert_rows(
                    &mut tx,
                    "INSERT INTO members (id, organization_id, user_id, email, role, \
                     member_limit_restricted, sso_linked, created_at) ",
                    &rows.members,
                    |b, (id, org, user, email, role, limit, sso)| {
                        b.push_bind(*id)
                            .push_bind(*org)
                            .push_bind(*user)
                            .push_bind(email.clone())
                            .push_bind(role.clone())
                            .push_bind(*limit)
                            .push_bind(*sso)
                            .push_bind(now);
                    },
                )
                .await?;
                Self::insert_rows(
                    &mut tx,
                    "INSERT INTO teams (id, organization_id, slug, name, created_at) ",
                    &rows.teams,
                    |b, (id, org, slug)| {
                        b.push_bind(*id)
                            .push_bind(*org)
                            .push_bind(slug.clone())
                            .push_bind(slug.clone())
                            .push_bind(now);
                    },
                )
                .await?;
                Self::insert_rows(
                    &mut tx,
                    "INSERT INTO team_members (team_id, member_id, role) ",
                    &rows.team_members,
                    |b, (team, member, role)| {
                        b.push_bind(*team).push_bind(*member).push_bind(role.clone());
                    },
                )
                .await?;
                Self::insert_rows(
                    &mut tx,
                    "INSERT INTO projects (id, organization_id, slug, name, active, created_at) ",
                    &rows.projects,
                    |b, (id, org, slug, active)| {
                        b.push_bind(*id)
                            .push_bind(*org)
                            .push_bind(slug.clone())
                            .push_bind(slug.clone())
                            .push_bind(*active)
                            .push_bind(now);
                    },
                )
                .await?;
                Self::insert_rows(
                    &mut tx,
                    "INSERT INTO project_teams (project_id, team_id) ",
                    &rows.project_teams,
                    |b, (project, team)| {
                        b.push_bind(*project).push_bind(*team);
                    },
                )
                .await?;
                Self::insert_rows(
                    &mut tx,
                    "INSERT INTO integrations (id, slug, name, scopes, created_at) ",
                    &rows.integrations,
                    |b, (id, slug, scopes)| {
                        b.push_bind(*id)
                            .push_bind(slug.clone())
                            .push_bind(slug.clone())
                            .push_bind(scopes.clone())
                            .push_bind(now);
                    },
                )
                .await?;
                Self::insert_rows(
                    &mut tx,
                    "INSERT INTO integration_installations (integration_id, organization_id, \
                     created_at) ",
                    &rows.installs,
                    |b, (integration, org)| {
                        b.push_bind(*integration).push_bind(*org).push_bind(now);
                    },
                )
                .await?;
                Self::insert_rows(
                    &mut tx,
                    "INSERT INTO granular_grants (organization_id, kind, member_id, team_id) ",
                    &rows.grants,
                    |b, (org, kind, member, team)| {
                        b.push_bind(*org)
                            .push_bind(kind.clone())
                            .push_bind(*member)
                            .push_bind(*team);
                    },
                )
                .await?;
                Self::after_import(&mut tx).await?;
                let summary = rows.summary;
                let mut entries: Vec<(Option<i64>, $crate::sql::Entry)> = rows
                    .audit
                    .into_iter()
                    .map(|(org, slug, data)| (Some(org), ("world.import", format!("org:{slug}"), data)))
                    .collect();
                entries.push((
                    None,
                    (
                        "world.import",
                        "world".to_string(),
                        serde_json::json!({
                            "organizations": summary.organizations,
                            "users": summary.users,
                            "members": summary.members,
                            "teams": summary.teams,
                            "projects": summary.projects,
                            "integrations": summary.integrations,
                            "grants": summary.grants,
                        }),
                    ),
                ));
                self.audit_each(&mut tx, actor, &entries).await?;
                tx.commit().await?;
                Ok(summary)
            }

            async fn all_tokens(&self) -> $crate::Result<Vec<$crate::Token>> {
                let rows = sqlx::query_as::<_, $crate::sql::TokenRow>(&format!(
                    "{} ORDER BY t.id",
                    $crate::sql::TOKEN_SELECT
                ))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn change_feed(
                &self,
            ) -> $crate::Result<Option<Box<dyn $crate::ChangeFeed>>> {
                self.feed().await
            }
        }
    };
}

pub(crate) use impl_store;
