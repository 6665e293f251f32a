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

mod changes;
mod error;
pub mod import;
mod postgres;
mod sql;
mod sqlite;
pub mod token;
mod types;

pub use changes::{CatchUp, OrgParts, Touched, CHANGE_RETENTION_ROWS, CHANGE_RETENTION_SECS};
pub use error::{Result, StoreError, Unknown};
pub use import::ImportSummary;
pub use postgres::{PostgresStore, CHANGE_CHANNEL};
pub use sqlite::SqliteStore;
pub use token::{hash_secret, Secret, TokenKind};
pub use types::*;

/// The default database URL: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://scopegate.db";

/// Everything the service stores. One method per use case; every method that changes
/// access takes an [`Actor`] and writes the audit entry in the same transaction.
#[async_trait]
pub trait Store: Send + Sync + fmt::Debug {
    /// Checks that the database takes a write: a small write committed to the probe table
    /// (a rolled-back write never reaches the disk, so it could not see a full one), bounded
    /// in time. Errors are [`StoreError::Unavailable`] when the store cannot write.
    async fn ready(&self) -> Result<()>;

    /// Makes the next audit write fail (fault injection for the atomicity tests; feature
    /// `test-util`).
    #[cfg(feature = "test-util")]
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
    /// The user ids of the organization's members granted `kind` directly (members without
    /// a user left out), ascending, without duplicates: the read side of
    /// `replayAccessMembers`, one indexed read whatever the organization's size.
    async fn granted_user_ids(&self, org: i64, kind: &str) -> Result<Vec<i64>>;
    /// The slugs of the organization's teams granted `kind`, sorted, without duplicates:
    /// the read side of a granular allowlist's teams, one indexed read whatever the
    /// organization's size.
    async fn granted_team_slugs(&self, org: i64, kind: &str) -> Result<Vec<String>>;

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
    /// The revision of the last committed write (0 before any): every write transaction
    /// that changes what the index reads bumps it as it commits (see [`Touched`]).
    async fn revision(&self) -> Result<u64>;
    /// From one snapshot: what changed after revision `after` ([`CatchUp::Partial`]), or
    /// everything ([`CatchUp::Full`]) when `after` is 0, ahead of the store, older than the
    /// change log reaches, or when a change since touched everything (an import).
    async fn catch_up(&self, after: u64) -> Result<CatchUp>;
    /// A feed of changes committed by any process sharing this database (PostgreSQL:
    /// `LISTEN scopegate_changes`, notified by every committed write); `None` where the
    /// backend has no such feed (SQLite: single-replica).
    async fn change_feed(&self) -> Result<Option<Box<dyn ChangeFeed>>>;
    /// The connection pool's use now (for the service's metrics).
    fn pool_stats(&self) -> PoolStats;
}

/// A connection pool's use ([`Store::pool_stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections (idle and in use).
    pub size: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// The most connections the pool opens.
    pub max: u32,
}

/// Notifications of committed changes ([`Store::change_feed`]).
#[async_trait]
pub trait ChangeFeed: Send {
    /// Waits for the next notification and returns the revision it announces (`None` when
    /// the payload names none). After an error (a lost connection), notifications may have
    /// been missed: catch up.
    async fn next(&mut self) -> Result<Option<u64>>;
}

/// Opens the database at `url` (`sqlite:` or `postgres://`), creating a SQLite file if
/// missing, and applies the backend's migrations.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    connect_with(url, OpenMode::CreateIfMissing).await
}

/// Whether opening a store may create its database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OpenMode {
    /// Create a SQLite file that does not exist (what `serve` and `migrate` do).
    #[default]
    CreateIfMissing,
    /// The database must exist: a missing SQLite file is [`StoreError::Connect`] and nothing
    /// is created, so a mistyped URL is an error rather than a new, empty world. (PostgreSQL
    /// never creates a database on connecting: an unknown one is already an error.)
    MustExist,
}

/// [`connect`], with the [`OpenMode`] saying whether a missing SQLite file may be created.
pub async fn connect_with(url: &str, mode: OpenMode) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect_with(url, mode).await?))
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

#[cfg(feature = "test-util")]
pub mod testing {
    //! Helpers for test suites (this crate's and the server's; feature `test-util`).

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
