//! scopegate-store: what the service stores, behind one async [`Store`] trait, with two
//! sqlx backends chosen by the URL scheme: SQLite (`sqlite://…`, the embedded default,
//! created on first run, WAL) and PostgreSQL (`postgres://…`).
//!
//! # What this crate guarantees
//!
//! - **Audit entries are atomic with the change.** Every write that changes access takes an
//!   [`Actor`] and writes its audit entry in the same transaction; if either fails, neither
//!   is kept.
//! - **Token secrets are never stored.** Only the SHA-256 hash of a token and a short display
//!   prefix are written; the secret is returned once, as a [`Secret`] whose `Debug` redacts it,
//!   and a lookup compares hashes in constant time.
//! - **One error type.** Every sqlx error becomes a [`StoreError`]: no row or a foreign-key
//!   violation (a row deleted meanwhile) → `NotFound`, a unique violation → `Conflict`, a
//!   condition of the storage (full, I/O, busy, unreachable) → `Unavailable`, anything else
//!   → `Database` (never shown to clients).
//!
//! Each backend has its own append-only migrations under `migrations/<backend>/`, embedded in
//! the binary and applied by [`connect`]. Queries are runtime-checked (`sqlx::query_as`), so no
//! database is needed to build; the conformance suite in `tests/it` runs them on both.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use scopegate_core::{Policy, WorldDoc};

pub mod import;
mod postgres;
mod sql;
mod sqlite;
pub mod token;

pub use import::ImportSummary;
pub use postgres::{PostgresStore, CHANGE_CHANNEL};
pub use sqlite::SqliteStore;
pub use token::{hash_secret, Secret, TokenKind};

/// The default database URL: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://scopegate.db";

/// A storage error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness constraint was violated (a duplicate slug, email, membership, …).
    #[error("already exists")]
    Conflict,
    /// The URL names no supported backend.
    #[error("unsupported database URL `{0}`: it must start with `sqlite:` or `postgres://`")]
    UnsupportedUrl(String),
    /// A stored value could not be read back.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// A fault injected by a test ([`Store::inject_audit_failure`]).
    #[error("injected failure")]
    Injected,
    /// The database cannot take the operation now: it is full, an I/O error, its write
    /// lock stayed busy past the timeout, a deadlock or serialization failure, or it is
    /// unreachable (connection refused, pool acquire timeout). Nothing was written; the
    /// operation may be retried later (the API answers 503 with `Retry-After`).
    #[error("storage unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// The database could not be reached when opening the store: the address (host, port,
    /// database; never the password) and the cause.
    #[error("cannot connect to {address}: {cause}")]
    Connect {
        /// `host:port/database`.
        address: String,
        /// What went wrong (connection refused, authentication failed, …).
        cause: String,
    },
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A granular edit named ids that are not in the organization (sorted).
    #[error("not in the organization: {what:?} {ids:?}")]
    NotInOrganization {
        /// What the ids are.
        what: Unknown,
        /// The offending ids (or team slugs), sorted.
        ids: Vec<String>,
    },
    /// A world document to import is invalid: every problem, as `path: message`
    /// (`members[3].role: unknown org role `boss``).
    #[error("invalid world document:\n{}", .0.join("\n"))]
    InvalidWorld(Vec<String>),
    /// [`Store::import_world`] needs a store without users, organizations and integrations.
    #[error(
        "the store is not empty ({users} user(s), {organizations} organization(s), \
         {integrations} integration(s)): a world is imported into an empty store only"
    )]
    NotEmpty {
        /// Stored users.
        users: i64,
        /// Stored organizations.
        organizations: i64,
        /// Stored integrations.
        integrations: i64,
    },
}

/// What a [`StoreError::NotInOrganization`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    /// User ids (`replayAccessMembers`).
    Users,
    /// Member ids (`replayAccessMemberIds`, `members`).
    Members,
    /// Team slugs (`teams`).
    Teams,
}

/// Who a granular edit lists: a full replacement of the member grants of a kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantSelection {
    /// By user id, Sentry's `replayAccessMembers`: only members with a user are considered,
    /// on both sides (grants of pending invites are left alone).
    UserIds(Vec<i64>),
    /// By member id (`replayAccessMemberIds`, the generic route), pending invites included.
    MemberIds(Vec<i64>),
}

/// A change to a granular resource kind, applied by [`Store::edit_org`] in the same
/// transaction as the organization's other fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GranularEdit {
    /// The resource kind (`replay`).
    pub kind: String,
    /// The organization option holding the kind's toggle.
    pub toggle_option: String,
    /// The new toggle value, if it changes.
    pub toggle: Option<bool>,
    /// The new member list, if it changes.
    pub members: Option<GrantSelection>,
    /// The new team list (slugs), if it changes.
    pub teams: Option<Vec<String>>,
    /// The key of the toggle in the `org.edit` audit entry (`hasGranularReplayPermissions`).
    pub toggle_field: String,
    /// The key of the member list in the `org.edit` audit entry (`replayAccessMembers`).
    pub members_field: String,
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(ref d) if d.is_unique_violation() => StoreError::Conflict,
            // A row this write refers to was deleted meanwhile (a concurrent deletion of the
            // organization, team, member, project or user): the write is refused whole.
            sqlx::Error::Database(ref d) if d.is_foreign_key_violation() => StoreError::NotFound,
            ref other if is_unavailable(other) => StoreError::Unavailable(e),
            other => StoreError::Database(other),
        }
    }
}

impl StoreError {
    /// Whether the error says the storage cannot serve now (retry later) rather than that
    /// the request or the data is wrong.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable(_) | StoreError::Connect { .. }
        )
    }
}

/// Whether `e` is a condition of the storage, not of the request: see
/// [`StoreError::Unavailable`].
fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => {
            let code = d.code().unwrap_or_default();
            if d.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // SQLite's result codes, extended ones included (the primary code is the
                // low byte): BUSY, LOCKED, NOMEM, READONLY, IOERR, CORRUPT, FULL, CANTOPEN,
                // PROTOCOL.
                code.parse::<u32>()
                    .is_ok_and(|n| matches!(n & 0xff, 5 | 6 | 7 | 8 | 10 | 11 | 13 | 14 | 15))
            } else {
                // PostgreSQL's SQLSTATE: serialization failure, deadlock, lock timeout, connection
                // exceptions, insufficient resources (disk full, out of memory, too many
                // connections), operator intervention (shutdown, cannot connect now),
                // system errors.
                matches!(code.as_ref(), "40001" | "40P01" | "55P03")
                    || ["08", "53", "57", "58"]
                        .iter()
                        .any(|class| code.starts_with(class))
            }
        }
        _ => false,
    }
}

/// The result of a store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Who made a change, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user, when the change was made by a user (directly or through their token).
    pub user_id: Option<i64>,
    /// A display label (`user:3`, `org-token:7`, `system`).
    pub label: String,
}

impl Actor {
    /// The system itself (the CLI, the demo bootstrap).
    pub fn system() -> Actor {
        Actor {
            user_id: None,
            label: "system".into(),
        }
    }

    /// A user.
    pub fn user(id: i64) -> Actor {
        Actor {
            user_id: Some(id),
            label: format!("user:{id}"),
        }
    }
}

/// One page of a list: skip `offset` rows, return at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Rows to skip.
    pub offset: u32,
    /// Rows to return.
    pub limit: u32,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            offset: 0,
            limit: 100,
        }
    }
}

/// A user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Email, unique.
    pub email: String,
    /// A superuser of the installation.
    pub is_superuser: bool,
    /// Has two-factor authentication.
    pub has_2fa: bool,
}

/// An organization.
#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    /// Id.
    pub id: i64,
    /// Slug, unique.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Options by key (`sentry:events_member_admin`, …).
    pub options: serde_json::Map<String, serde_json::Value>,
    /// Enabled features.
    pub features: Vec<String>,
    /// Any member may see every team and project.
    pub open_membership: bool,
    /// Members must have 2FA.
    pub require_2fa: bool,
    /// Members must sign in through SSO.
    pub require_sso: bool,
    /// Creation time, seconds since the epoch.
    pub created_at: i64,
    /// When the organization is pending deletion (Sentry's `pending_deletion` status): the
    /// time its removal is due, seconds since the epoch. `None`: active.
    pub deletion_scheduled_at: Option<i64>,
}

impl Organization {
    /// Whether the organization is pending deletion.
    pub fn pending_deletion(&self) -> bool {
        self.deletion_scheduled_at.is_some()
    }
}

/// A change to an organization's details; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrgUpdate {
    /// New name.
    pub name: Option<String>,
    /// New slug.
    pub slug: Option<String>,
    /// New open-membership flag.
    pub open_membership: Option<bool>,
    /// New 2FA requirement.
    pub require_2fa: Option<bool>,
    /// New SSO requirement.
    pub require_sso: Option<bool>,
    /// Options to set (merged into the stored ones).
    pub options: serde_json::Map<String, serde_json::Value>,
    /// Restores an organization pending deletion (Sentry's `cancelDeletion`), audited as
    /// `org.restore`; nothing for an active one. Not counted by [`OrgUpdate::is_empty`].
    pub cancel_deletion: bool,
}

impl OrgUpdate {
    /// Whether the update changes nothing.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.slug.is_none()
            && self.open_membership.is_none()
            && self.require_2fa.is_none()
            && self.require_sso.is_none()
            && self.options.is_empty()
    }
}

/// A member of an organization, or a pending invite (no user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Id.
    pub id: i64,
    /// The organization.
    pub organization_id: i64,
    /// The user; `None` for a pending invite.
    pub user_id: Option<i64>,
    /// The invited email, or the user's email.
    pub email: Option<String>,
    /// The org role id.
    pub role: String,
    /// Disabled over the member limit.
    pub member_limit_restricted: bool,
    /// SSO identity linked.
    pub sso_linked: bool,
    /// Creation time, seconds since the epoch.
    pub created_at: i64,
    /// The user who sent the invite (Sentry's `inviter_id`), if known.
    pub inviter_id: Option<i64>,
    /// When a pending invite expires, seconds since the epoch (Sentry's `token_expires_at`).
    pub invite_expires_at: Option<i64>,
}

impl Member {
    /// A pending invite whose expiry has passed at `now` (Sentry's `token_expired`).
    pub fn invite_expired(&self, now: i64) -> bool {
        self.user_id.is_none() && self.invite_expires_at.is_some_and(|t| t <= now)
    }
}

/// How long an invite stays valid, in seconds (Sentry's `INVITE_DAYS_VALID`, 30 days).
pub const INVITE_VALID_SECS: i64 = 30 * 24 * 3600;

/// The member-counting rules a removal or a role change keeps; the store checks them under
/// the organization's lock, in the transaction of the change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberGuard {
    /// The top org role (Sentry's `top_dog`, `owner`): the last member with a user holding
    /// it is neither removed nor given another role.
    pub owner_role: String,
    /// The roles that count as "owner or manager" (their scopes include `org:write`): the
    /// last member with a user holding one of them is not removed.
    pub write_roles: Vec<String>,
}

/// A member edit (`PUT …/members/{id}/`), applied in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberEdit {
    /// The new org role, if it changes.
    pub role: Option<String>,
    /// Explicit team roles reset to `None` when the org role changes (those at or below the
    /// new role's minimum team role, as Sentry's `_change_org_role` does).
    pub clear_team_roles: Vec<String>,
    /// The member's teams, a full replacement: team id and explicit team role.
    pub teams: Option<Vec<(i64, Option<String>)>>,
}

/// A new invite.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewInvite {
    /// The address.
    pub email: String,
    /// The org role.
    pub role: String,
    /// The teams the invitee joins (on acceptance, as a member of them already).
    pub teams: Vec<i64>,
}

/// What became of a guarded member change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guarded<T> {
    /// Done and committed.
    Done(T),
    /// Refused: it would remove the only remaining owner or manager (or owner).
    LastOwner,
}

/// What became of an invite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invited {
    /// Created and committed.
    Created(Member),
    /// The address already has a pending invite.
    AlreadyInvited,
    /// The address belongs to a member already.
    AlreadyMember,
}

/// A member's team, as member details show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberTeam {
    /// The team id.
    pub team_id: i64,
    /// The team slug.
    pub slug: String,
    /// The explicit team role.
    pub role: Option<String>,
}

/// A team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    /// Id.
    pub id: i64,
    /// The organization.
    pub organization_id: i64,
    /// Slug, unique within the organization.
    pub slug: String,
    /// Display name.
    pub name: String,
}

/// A member's membership of a team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamMembership {
    /// The team.
    pub team_id: i64,
    /// The member.
    pub member_id: i64,
    /// The explicit team role; `None` means the minimum for the member's org role.
    pub role: Option<String>,
}

/// A request to join a team (Sentry's `OrganizationAccessRequest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequest {
    /// Id.
    pub id: i64,
    /// The organization.
    pub organization_id: i64,
    /// The team to join.
    pub team_id: i64,
    /// The member who would join.
    pub member_id: i64,
    /// The user who asked on the member's behalf; `None` when the member asked themselves.
    pub requester_user_id: Option<i64>,
    /// Creation time, seconds since the epoch.
    pub created_at: i64,
}

/// A project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// Id.
    pub id: i64,
    /// The organization.
    pub organization_id: i64,
    /// Slug, unique within the organization.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Inactive projects are not found.
    pub active: bool,
    /// Owning team ids.
    pub teams: Vec<i64>,
}

/// A stored API token: never its secret, only the hash of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    /// Id.
    pub id: i64,
    /// User token or org auth token.
    pub kind: TokenKind,
    /// The owner of a user token; the creator of an org auth token, whose access bounds it
    /// (`None`: no creator — made before creators were kept, imported, or by the CLI).
    pub user_id: Option<i64>,
    /// The organization of an org auth token, or the one a user token is bound to.
    pub organization_id: Option<i64>,
    /// The slug of `organization_id`.
    pub organization_slug: Option<String>,
    /// Display name (`None`: a personal token created without one).
    pub name: Option<String>,
    /// The first characters of the secret, for display.
    pub prefix: String,
    /// The last four characters of the secret, for display (`None` for tokens created
    /// before they were kept).
    pub last_characters: Option<String>,
    /// SHA-256 of the secret, lower-case hex.
    pub hash: String,
    /// Stored scopes (implied scopes already added), sorted.
    pub scopes: Vec<String>,
    /// Creation time, seconds since the epoch.
    pub created_at: i64,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The hash is not a secret, but it is an offline-guessable credential verifier:
        // keep it out of logs too.
        f.debug_struct("Token")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("user_id", &self.user_id)
            .field("organization_id", &self.organization_id)
            .field("name", &self.name)
            .field("prefix", &self.prefix)
            .field("last_characters", &self.last_characters)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// A token to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    /// User token or org auth token.
    pub kind: TokenKind,
    /// The owner of a user token; the creator of an org auth token (its access bounds the
    /// token), `None` for an org token with no creator.
    pub user_id: Option<i64>,
    /// The organization (required for org tokens; binds a user token when set).
    pub organization_id: Option<i64>,
    /// Display name (`None`: no name).
    pub name: Option<String>,
    /// Scopes to store, already validated and expanded by the caller.
    pub scopes: Vec<String>,
}

/// An audit log entry.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Id (increasing).
    pub id: i64,
    /// The organization.
    pub organization_id: Option<i64>,
    /// The acting user, if any.
    pub actor_user_id: Option<i64>,
    /// The actor's label.
    pub actor: String,
    /// The event (`member.invite`, `org.edit`, …).
    pub event: String,
    /// What it acted on (`member:4`, `team:backend`, …).
    pub target: String,
    /// Event details.
    pub data: serde_json::Value,
    /// Time, seconds since the epoch.
    pub created_at: i64,
}

/// A granular grant: a member or a team on a resource kind's allowlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GranularGrant {
    /// The resource kind (`replay`).
    pub kind: String,
    /// The member (exactly one of `member_id` and `team_id`).
    pub member_id: Option<i64>,
    /// The team.
    pub team_id: Option<i64>,
}

/// An integration (a Sentry App): an app holding scopes in every organization it is
/// installed on (with global reach: every team and project).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integration {
    /// Id: the `integration` of an `{"kind": "integration"}` principal.
    pub id: i64,
    /// Slug, unique.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Stored scopes (implied scopes already added by the caller).
    pub scopes: Vec<String>,
    /// The organizations it is installed on, by id, ascending.
    pub installed_on: Vec<i64>,
    /// Creation time, seconds since the epoch.
    pub created_at: i64,
}

/// An integration to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIntegration {
    /// Slug, unique.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Scopes to store, already validated and expanded by the caller (as for [`NewToken`]).
    pub scopes: Vec<String>,
}

/// Everything the service stores. One method per use case; every method that changes
/// access takes an [`Actor`] and writes the audit entry in the same transaction.
#[async_trait]
pub trait Store: Send + Sync + fmt::Debug {
    /// Checks that the database takes a write: a small write committed to the probe table
    /// (a rolled-back write never reaches the disk, so it could not see a full one), bounded
    /// in time. Errors are [`StoreError::Unavailable`] when the store cannot write.
    async fn ready(&self) -> Result<()>;

    /// Makes the next audit write fail (fault injection for the atomicity tests).
    fn inject_audit_failure(&self);

    // Users.

    /// Creates a user.
    async fn create_user(&self, email: &str, is_superuser: bool) -> Result<User>;
    /// A user by id.
    async fn user(&self, id: i64) -> Result<User>;
    /// A user by email.
    async fn user_by_email(&self, email: &str) -> Result<User>;
    /// Whether any organization exists (the demo bootstrap runs on an empty database only).
    async fn is_empty(&self) -> Result<bool>;

    // Organizations.

    /// Creates an organization with `features`, and `owner` as its member with role
    /// `owner_role`.
    async fn create_org(
        &self,
        slug: &str,
        name: &str,
        features: &[String],
        owner: i64,
        owner_role: &str,
        actor: &Actor,
    ) -> Result<Organization>;
    /// An organization by slug.
    async fn org_by_slug(&self, slug: &str) -> Result<Organization>;
    /// The organizations `user` is a member of, by slug.
    async fn orgs_of_user(&self, user: i64, page: Page) -> Result<Vec<Organization>>;
    /// Changes an organization's details.
    async fn update_org(&self, org: i64, update: &OrgUpdate, actor: &Actor)
        -> Result<Organization>;
    /// Changes an organization's details and, in the same transaction, the granular access
    /// of `granular` (toggle, member and team grants), writing the `org.edit` entry with
    /// Sentry's summary text and one `granular.toggle` / `granular.grant` /
    /// `granular.revoke` entry per effective change. Concurrent edits of one organization
    /// are serialized (the organization row is locked first). Any error changes nothing.
    async fn edit_org(
        &self,
        org: i64,
        update: &OrgUpdate,
        granular: Option<&GranularEdit>,
        actor: &Actor,
    ) -> Result<Organization>;
    /// Enables and disables organization features (superuser-only at the API), audited as
    /// `org.features`.
    async fn set_features(
        &self,
        org: i64,
        enable: &[String],
        disable: &[String],
        actor: &Actor,
    ) -> Result<Organization>;
    /// Deletes an organization and everything in it, now.
    async fn delete_org(&self, org: i64, actor: &Actor) -> Result<()>;
    /// Marks an organization pending deletion, its removal due at `due_at` (seconds since the
    /// epoch), audited as `org.remove`; an organization already pending keeps its schedule
    /// and nothing is written. A pending organization is hidden from
    /// [`Store::orgs_of_user`], [`Store::world`] and [`Store::full_world`] (only
    /// [`Store::world_including_pending`] and [`Store::org_by_slug`] still find it).
    async fn schedule_org_deletion(
        &self,
        org: i64,
        due_at: i64,
        actor: &Actor,
    ) -> Result<Organization>;
    /// Removes every organization whose deletion is due at `now` (the background task),
    /// each in its own transaction with an `org.delete` entry by `system`; returns their ids.
    async fn purge_orgs_due(&self, now: i64) -> Result<Vec<i64>>;

    // Members.

    /// The organization's members and invites, oldest first.
    async fn members(&self, org: i64, page: Page) -> Result<Vec<Member>>;
    /// A member by id.
    async fn member(&self, org: i64, id: i64) -> Result<Member>;
    /// The member for `user`.
    async fn member_of_user(&self, org: i64, user: i64) -> Result<Member>;
    /// Invites `email` with `role` (a pending member without a user).
    async fn invite_member(
        &self,
        org: i64,
        email: &str,
        role: &str,
        actor: &Actor,
    ) -> Result<Member>;
    /// Accepts a pending invite as `user`.
    async fn accept_invite(
        &self,
        org: i64,
        member: i64,
        user: i64,
        actor: &Actor,
    ) -> Result<Member>;
    /// Changes a member's org role, without the counting rules (setup and tooling; the API
    /// changes roles through [`Store::edit_member`]).
    async fn set_member_role(
        &self,
        org: i64,
        member: i64,
        role: &str,
        actor: &Actor,
    ) -> Result<Member>;
    /// Removes a member or an invite, without the counting rules (setup and tooling; the API
    /// removes through [`Store::remove_member_guarded`]).
    async fn remove_member(&self, org: i64, member: i64, actor: &Actor) -> Result<()>;
    /// Removes a member or an invite under the organization's lock, unless `guard` forbids
    /// it; with the member go the pending invites they sent (each audited).
    async fn remove_member_guarded(
        &self,
        org: i64,
        member: i64,
        guard: &MemberGuard,
        actor: &Actor,
    ) -> Result<Guarded<()>>;
    /// Edits a member's role and teams in one transaction under the organization's lock,
    /// unless `guard` forbids the role change; audited (`member.edit`, one
    /// `member.join-team` / `member.leave-team` per team change).
    async fn edit_member(
        &self,
        org: i64,
        member: i64,
        edit: &MemberEdit,
        guard: &MemberGuard,
        actor: &Actor,
    ) -> Result<Guarded<Member>>;
    /// Invites `invite.email` under the organization's lock, unless a member or an invite has
    /// that address (a user's email counts); the invite remembers `actor.user_id` as inviter.
    async fn invite(&self, org: i64, invite: &NewInvite, actor: &Actor) -> Result<Invited>;
    /// Resends a pending invite (`member.reinvite`); `regenerate` renews its expiry.
    async fn reinvite(
        &self,
        org: i64,
        member: i64,
        regenerate: bool,
        actor: &Actor,
    ) -> Result<Member>;
    /// A member's teams, by slug.
    async fn member_teams(&self, org: i64, member: i64) -> Result<Vec<MemberTeam>>;

    // Teams.

    /// Creates a team.
    async fn create_team(&self, org: i64, slug: &str, name: &str, actor: &Actor) -> Result<Team>;
    /// The organization's teams, by slug.
    async fn teams(&self, org: i64, page: Page) -> Result<Vec<Team>>;
    /// A team by slug.
    async fn team_by_slug(&self, org: i64, slug: &str) -> Result<Team>;
    /// Deletes a team.
    async fn delete_team(&self, org: i64, team: i64, actor: &Actor) -> Result<()>;
    /// A team's memberships.
    async fn team_members(&self, team: i64) -> Result<Vec<TeamMembership>>;
    /// Adds a member to a team, or changes their team role when already in it.
    async fn set_team_member(
        &self,
        org: i64,
        team: i64,
        member: i64,
        role: Option<&str>,
        actor: &Actor,
    ) -> Result<TeamMembership>;
    /// Removes a member from a team, audited as `member.leave-team`. Idempotent, as in
    /// Sentry: `false` (and no audit entry) when the member was not on the team; `NotFound`
    /// when the team or the member is not in `org`.
    async fn remove_team_member(
        &self,
        org: i64,
        team: i64,
        member: i64,
        actor: &Actor,
    ) -> Result<bool>;
    /// Changes the explicit team role of a member already on the team (`None`: the minimum
    /// for the org role), audited as `member.edit` (Sentry's entry); `NotFound` when the
    /// member is not on the team.
    async fn set_team_role(
        &self,
        org: i64,
        team: i64,
        member: i64,
        role: Option<&str>,
        actor: &Actor,
    ) -> Result<TeamMembership>;
    /// Adds a member to a team with no explicit role, audited as `member.join-team`; `None`
    /// (nothing written) when already on it, whatever its role (never a downgrade).
    async fn join_team(
        &self,
        org: i64,
        team: i64,
        member: i64,
        actor: &Actor,
    ) -> Result<Option<TeamMembership>>;
    /// A team by id.
    async fn team(&self, org: i64, id: i64) -> Result<Team>;
    /// Changes a team's slug and/or name, audited as `team.edit`; a taken slug is `Conflict`.
    async fn update_team(
        &self,
        org: i64,
        team: i64,
        slug: Option<&str>,
        name: Option<&str>,
        actor: &Actor,
    ) -> Result<Team>;

    // Access requests (Sentry's OrganizationAccessRequest).

    /// Records that `member` asks (or is asked, by `requester`) to join `team`; at most one
    /// request per (team, member): `(request, false)` when one existed already. Not audited:
    /// a request grants nothing.
    async fn create_access_request(
        &self,
        org: i64,
        team: i64,
        member: i64,
        requester: Option<i64>,
    ) -> Result<(AccessRequest, bool)>;
    /// The organization's open access requests, by id: those of members with a user who are
    /// not on the team yet (as Sentry lists them).
    async fn access_requests(&self, org: i64) -> Result<Vec<AccessRequest>>;
    /// An access request by id.
    async fn access_request(&self, org: i64, id: i64) -> Result<AccessRequest>;
    /// Approves (`approve`) or denies an access request in one transaction under the
    /// organization's lock: the request is deleted and, when approved, the membership is
    /// created (`member.join-team`, Sentry's entry; nothing when already on the team); a
    /// denial is audited as `access-request.deny`. Returns the membership created, if any.
    async fn resolve_access_request(
        &self,
        org: i64,
        id: i64,
        approve: bool,
        actor: &Actor,
    ) -> Result<Option<TeamMembership>>;

    // Projects.

    /// Creates a project owned by `teams`.
    async fn create_project(
        &self,
        org: i64,
        slug: &str,
        name: &str,
        teams: &[i64],
        actor: &Actor,
    ) -> Result<Project>;
    /// The organization's projects, by slug.
    async fn projects(&self, org: i64, page: Page) -> Result<Vec<Project>>;
    /// A project by slug.
    async fn project_by_slug(&self, org: i64, slug: &str) -> Result<Project>;
    /// Deletes a project.
    async fn delete_project(&self, org: i64, project: i64, actor: &Actor) -> Result<()>;
    /// Gives a project to a team, audited as `project-team.add` (Sentry's name). Idempotent:
    /// `false` (and no audit entry) when the team had it already.
    async fn add_project_team(
        &self,
        org: i64,
        project: i64,
        team: i64,
        actor: &Actor,
    ) -> Result<bool>;
    /// Takes a project from a team, audited as `project-team.remove`. Idempotent: `false`
    /// (and no audit entry) when the team did not have it.
    async fn remove_project_team(
        &self,
        org: i64,
        project: i64,
        team: i64,
        actor: &Actor,
    ) -> Result<bool>;

    // Granular grants.

    /// The organization's granular grants.
    async fn grants(&self, org: i64) -> Result<Vec<GranularGrant>>;

    // Tokens.

    /// Creates a token and returns it with its secret (shown once, never stored).
    async fn create_token(&self, new: &NewToken, actor: &Actor) -> Result<(Token, Secret)>;
    /// The token whose secret is `secret` (hash lookup, constant-time confirmation).
    async fn token_by_secret(&self, secret: &str) -> Result<Token>;
    /// A user's personal tokens.
    async fn user_tokens(&self, user: i64, page: Page) -> Result<Vec<Token>>;
    /// An organization's auth tokens.
    async fn org_tokens(&self, org: i64, page: Page) -> Result<Vec<Token>>;
    /// A token by id.
    async fn token(&self, id: i64) -> Result<Token>;
    /// Deletes a token.
    async fn delete_token(&self, id: i64, actor: &Actor) -> Result<()>;
    /// Reduces every stored org auth token's scopes to those among `allowed` (the policy's
    /// `org_token_scopes`), in one transaction, with one `org-auth-token.edit` audit entry
    /// per changed token (`{"scopes": {"from": [...], "to": [...]}}`). Never adds a scope: a
    /// token holding none of `allowed` is left with none. Returns how many tokens changed.
    async fn reduce_org_token_scopes(&self, allowed: &[String], actor: &Actor) -> Result<u64>;

    // Integrations.

    /// Creates an integration and installs it on `install_on` (organization ids) in one
    /// transaction, audited as `integration.create` (no organization) and one
    /// `integration.install` per organization. An unknown organization is `NotFound`, a
    /// taken slug `Conflict`; either way nothing is written.
    async fn create_integration(
        &self,
        new: &NewIntegration,
        install_on: &[i64],
        actor: &Actor,
    ) -> Result<Integration>;
    /// An integration by id.
    async fn integration(&self, id: i64) -> Result<Integration>;
    /// Every integration, by id.
    async fn integrations(&self, page: Page) -> Result<Vec<Integration>>;
    /// Installs an integration on an organization, audited as `integration.install`.
    /// `NotFound` when either does not exist, `Conflict` when already installed.
    async fn install_integration(
        &self,
        integration: i64,
        org: i64,
        actor: &Actor,
    ) -> Result<Integration>;
    /// Uninstalls an integration from an organization, audited as `integration.uninstall`.
    /// `NotFound` when it is not installed there.
    async fn uninstall_integration(
        &self,
        integration: i64,
        org: i64,
        actor: &Actor,
    ) -> Result<Integration>;

    // Audit log.

    /// The organization's audit log, newest first.
    async fn audit_log(&self, org: i64, page: Page) -> Result<Vec<AuditEntry>>;

    // The world.

    /// The stored world of one organization as the engine reads it: the organization, its
    /// members (and their users), teams, projects, grants and the integrations installed on
    /// it (their `installed_on` naming this organization only), plus the user `also_user`
    /// (the caller, so that authentication can find them). An unknown slug gives a world
    /// without organizations.
    /// An organization pending deletion is treated as unknown.
    async fn world(&self, org_slug: Option<&str>, also_user: Option<i64>) -> Result<WorldDoc>;
    /// [`Store::world`], an organization pending deletion included (for the organization
    /// details routes, which Sentry still answers for it: restore, redo the deletion).
    async fn world_including_pending(
        &self,
        org_slug: Option<&str>,
        also_user: Option<i64>,
    ) -> Result<WorldDoc>;

    // The decision API's index.

    /// The whole stored world: every organization (as [`Store::world`] exports each, in id
    /// order), every user and every integration, read from one snapshot with one query per
    /// table whatever the number of organizations.
    async fn full_world(&self) -> Result<WorldDoc>;
    /// Writes a whole world document into an empty store, in one transaction, keeping every
    /// id (see [`import`] for what is stored and the placeholders it makes up). The document
    /// is validated first (it must build against `policy`, and fit the schema):
    /// [`StoreError::InvalidWorld`] lists every problem; a store holding users,
    /// organizations or integrations is refused ([`StoreError::NotEmpty`]). On any error
    /// nothing is written. Audited as one `world.import` entry per organization and one
    /// without organization for the whole document.
    async fn import_world(
        &self,
        doc: &WorldDoc,
        policy: &Policy,
        actor: &Actor,
    ) -> Result<ImportSummary>;
    /// Every stored token (hashes only), by id.
    async fn all_tokens(&self) -> Result<Vec<Token>>;
    /// A feed of changes committed by any process sharing this database (PostgreSQL:
    /// `LISTEN scopegate_changes`, fed by triggers); `None` where the backend has no such
    /// feed (SQLite: single-replica).
    async fn change_feed(&self) -> Result<Option<Box<dyn ChangeFeed>>>;
}

/// Notifications of committed changes ([`Store::change_feed`]).
#[async_trait]
pub trait ChangeFeed: Send {
    /// Waits for the next notification. After an error (a lost connection), notifications
    /// may have been missed: resynchronize.
    async fn next(&mut self) -> Result<()>;
}

/// Opens the database at `url` (`sqlite:` or `postgres://`), creating a SQLite file if
/// missing, and applies the backend's migrations.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::connect(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(redact_url(url)))
    }
}

/// `url` with any password replaced by `***`, for logs and errors.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (auth, host) = match rest.split_once('@') {
        Some((a, h)) => (a, h),
        None => return url.to_string(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

/// Seconds since the epoch.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}

pub mod testing {
    //! Helpers for test suites (this crate's and the server's).

    use sqlx::Connection;

    /// Creates a uniquely named database on the server of `base_url` (through its `postgres`
    /// database) and returns the URL of the new database.
    pub async fn fresh_postgres_database(base_url: &str) -> crate::Result<String> {
        let (server, _) = base_url
            .rsplit_once('/')
            .ok_or_else(|| crate::StoreError::UnsupportedUrl(crate::redact_url(base_url)))?;
        let mut conn = sqlx::PgConnection::connect(&format!("{server}/postgres")).await?;
        let name = format!(
            "scopegate_test_{}_{}",
            std::process::id(),
            hex::encode(rand::random::<[u8; 6]>())
        );
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        Ok(format!("{server}/{name}"))
    }

    /// Drops the database of `url` (made by [`fresh_postgres_database`]), closing any
    /// connection still open to it.
    pub async fn drop_postgres_database(url: &str) -> crate::Result<()> {
        let (server, name) = url
            .rsplit_once('/')
            .ok_or_else(|| crate::StoreError::UnsupportedUrl(crate::redact_url(url)))?;
        if !name.starts_with("scopegate_test_")
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(crate::StoreError::UnsupportedUrl(crate::redact_url(url)));
        }
        let mut conn = sqlx::PgConnection::connect(&format!("{server}/postgres")).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        Ok(())
    }
}
