//! The [`Store`](crate::Store) implementation, written once and compiled once per backend.
//!
//! `sqlite.rs` and `postgres.rs` each include this module tree (`#[path]`), after naming
//! their store type `Backend` and their sqlx database `Db`: every statement is checked and
//! monomorphized against each backend's concrete types, with no generic sqlx bounds. What
//! differs between the backends is behind [`Dialect`](crate::sql::Dialect) and
//! [`Bulk`](crate::sql::bulk::Bulk).
//!
//! One file per resource; the trait implementation below only delegates to them.
//!
//! INVARIANT: every method taking an `Actor` opens one transaction (writes with
//! `Backend::write`, the backend's `begin_write`, SQLite's `BEGIN IMMEDIATE`), makes its
//! change, names what it touched (`WriteTx::org`, …), writes its audit entry through `audit`
//! in that transaction and commits last (`WriteTx::commit`: the revision bump and the
//! change-log row, in the transaction).

use super::{Backend, Db};
use crate::sql::Dialect as _;

mod access_requests;
mod audit;
mod changes;
mod export;
mod granular;
mod import;
mod integrations;
mod members;
mod organizations;
mod parts;
mod projects;
mod teams;
mod tokens;
mod users;
mod write;

#[async_trait::async_trait]
impl crate::Store for Backend {
    async fn ready(&self) -> crate::Result<()> {
        let probe = async {
            let mut tx = self.begin_write().await?;
            sqlx::query("INSERT INTO store_probe (at, pad) VALUES ($1, $2)")
                .bind(crate::now())
                .bind(" ".repeat(crate::sql::PROBE_BYTES))
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM store_probe")
                .execute(&mut *tx)
                .await?;
            Self::probe_room(&mut tx).await?;
            tx.commit().await?;
            Ok(())
        };
        match tokio::time::timeout(crate::sql::PROBE_TIMEOUT, probe).await {
            Ok(result) => result,
            Err(_) => Err(crate::StoreError::Unavailable(sqlx::Error::PoolTimedOut)),
        }
    }

    #[cfg(feature = "test-util")]
    fn inject_audit_failure(&self) {
        self.fail_audit
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    async fn create_user(&self, email: &str, is_superuser: bool) -> crate::Result<crate::User> {
        users::create_user(self, email, is_superuser).await
    }

    async fn user(&self, id: i64) -> crate::Result<crate::User> {
        users::user(self, id).await
    }

    async fn user_by_email(&self, email: &str) -> crate::Result<crate::User> {
        users::user_by_email(self, email).await
    }

    async fn is_empty(&self) -> crate::Result<bool> {
        users::is_empty(self).await
    }

    async fn create_org(
        &self,
        slug: &str,
        name: &str,
        features: &[String],
        owner: i64,
        owner_role: &str,
        actor: &crate::Actor,
    ) -> crate::Result<crate::Organization> {
        organizations::create_org(self, slug, name, features, owner, owner_role, actor).await
    }

    async fn org_by_slug(&self, slug: &str) -> crate::Result<crate::Organization> {
        organizations::org_by_slug(self, slug).await
    }

    async fn orgs_of_user(
        &self,
        user: i64,
        page: crate::Page,
    ) -> crate::Result<Vec<crate::Organization>> {
        organizations::orgs_of_user(self, user, page).await
    }

    async fn update_org(
        &self,
        org: i64,
        update: &crate::OrgUpdate,
        actor: &crate::Actor,
    ) -> crate::Result<crate::Organization> {
        organizations::update_org(self, org, update, actor).await
    }

    async fn edit_org(
        &self,
        org: i64,
        update: &crate::OrgUpdate,
        granular: Option<&crate::GranularEdit>,
        actor: &crate::Actor,
    ) -> crate::Result<crate::Organization> {
        granular::edit_org(self, org, update, granular, actor).await
    }

    async fn set_features(
        &self,
        org: i64,
        enable: &[String],
        disable: &[String],
        actor: &crate::Actor,
    ) -> crate::Result<crate::Organization> {
        organizations::set_features(self, org, enable, disable, actor).await
    }

    async fn delete_org(&self, org: i64, actor: &crate::Actor) -> crate::Result<()> {
        organizations::delete_org(self, org, actor).await
    }

    async fn members(&self, org: i64, page: crate::Page) -> crate::Result<Vec<crate::Member>> {
        members::members(self, org, page).await
    }

    async fn member(&self, org: i64, id: i64) -> crate::Result<crate::Member> {
        members::member(self, org, id).await
    }

    async fn member_of_user(&self, org: i64, user: i64) -> crate::Result<crate::Member> {
        members::member_of_user(self, org, user).await
    }

    async fn invite_member(
        &self,
        org: i64,
        email: &str,
        role: &str,
        actor: &crate::Actor,
    ) -> crate::Result<crate::Member> {
        members::invite_member(self, org, email, role, actor).await
    }

    async fn accept_invite(
        &self,
        org: i64,
        member: i64,
        user: i64,
        actor: &crate::Actor,
    ) -> crate::Result<crate::Member> {
        members::accept_invite(self, org, member, user, actor).await
    }

    async fn set_member_role(
        &self,
        org: i64,
        member: i64,
        role: &str,
        actor: &crate::Actor,
    ) -> crate::Result<crate::Member> {
        members::set_member_role(self, org, member, role, actor).await
    }

    async fn remove_member(
        &self,
        org: i64,
        member: i64,
        actor: &crate::Actor,
    ) -> crate::Result<()> {
        members::remove_member(self, org, member, actor).await
    }

    async fn remove_member_guarded(
        &self,
        org: i64,
        member: i64,
        guard: &crate::MemberGuard,
        actor: &crate::Actor,
    ) -> crate::Result<crate::Guarded<()>> {
        members::remove_member_guarded(self, org, member, guard, actor).await
    }

    async fn edit_member(
        &self,
        org: i64,
        member: i64,
        edit: &crate::MemberEdit,
        guard: &crate::MemberGuard,
        actor: &crate::Actor,
    ) -> crate::Result<crate::Guarded<crate::Member>> {
        members::edit_member(self, org, member, edit, guard, actor).await
    }

    async fn invite(
        &self,
        org: i64,
        invite: &crate::NewInvite,
        actor: &crate::Actor,
    ) -> crate::Result<crate::Invited> {
        members::invite(self, org, invite, actor).await
    }

    async fn reinvite(
        &self,
        org: i64,
        member: i64,
        regenerate: bool,
        actor: &crate::Actor,
    ) -> crate::Result<crate::Member> {
        members::reinvite(self, org, member, regenerate, actor).await
    }

    async fn member_teams(&self, org: i64, member: i64) -> crate::Result<Vec<crate::MemberTeam>> {
        members::member_teams(self, org, member).await
    }

    async fn create_team(
        &self,
        org: i64,
        slug: &str,
        name: &str,
        actor: &crate::Actor,
    ) -> crate::Result<crate::Team> {
        teams::create_team(self, org, slug, name, actor).await
    }

    async fn teams(&self, org: i64, page: crate::Page) -> crate::Result<Vec<crate::Team>> {
        teams::teams(self, org, page).await
    }

    async fn team_by_slug(&self, org: i64, slug: &str) -> crate::Result<crate::Team> {
        teams::team_by_slug(self, org, slug).await
    }

    async fn delete_team(&self, org: i64, team: i64, actor: &crate::Actor) -> crate::Result<()> {
        teams::delete_team(self, org, team, actor).await
    }

    async fn team_members(&self, team: i64) -> crate::Result<Vec<crate::TeamMembership>> {
        teams::team_members(self, team).await
    }

    async fn set_team_member(
        &self,
        org: i64,
        team: i64,
        member: i64,
        role: Option<&str>,
        actor: &crate::Actor,
    ) -> crate::Result<crate::TeamMembership> {
        teams::set_team_member(self, org, team, member, role, actor).await
    }

    async fn remove_team_member(
        &self,
        org: i64,
        team: i64,
        member: i64,
        actor: &crate::Actor,
    ) -> crate::Result<bool> {
        teams::remove_team_member(self, org, team, member, actor).await
    }

    async fn set_team_role(
        &self,
        org: i64,
        team: i64,
        member: i64,
        role: Option<&str>,
        actor: &crate::Actor,
    ) -> crate::Result<crate::TeamMembership> {
        teams::set_team_role(self, org, team, member, role, actor).await
    }

    async fn join_team(
        &self,
        org: i64,
        team: i64,
        member: i64,
        actor: &crate::Actor,
    ) -> crate::Result<Option<crate::TeamMembership>> {
        teams::join_team(self, org, team, member, actor).await
    }

    async fn team(&self, org: i64, id: i64) -> crate::Result<crate::Team> {
        teams::team(self, org, id).await
    }

    async fn update_team(
        &self,
        org: i64,
        team: i64,
        slug: Option<&str>,
        name: Option<&str>,
        actor: &crate::Actor,
    ) -> crate::Result<crate::Team> {
        teams::update_team(self, org, team, slug, name, actor).await
    }

    async fn create_access_request(
        &self,
        org: i64,
        team: i64,
        member: i64,
        requester: Option<i64>,
    ) -> crate::Result<(crate::AccessRequest, bool)> {
        access_requests::create_access_request(self, org, team, member, requester).await
    }

    async fn access_requests(&self, org: i64) -> crate::Result<Vec<crate::AccessRequest>> {
        access_requests::access_requests(self, org).await
    }

    async fn access_request(&self, org: i64, id: i64) -> crate::Result<crate::AccessRequest> {
        access_requests::access_request(self, org, id).await
    }

    async fn resolve_access_request(
        &self,
        org: i64,
        id: i64,
        approve: bool,
        actor: &crate::Actor,
    ) -> crate::Result<Option<crate::TeamMembership>> {
        access_requests::resolve_access_request(self, org, id, approve, actor).await
    }

    async fn create_project(
        &self,
        org: i64,
        slug: &str,
        name: &str,
        teams: &[i64],
        actor: &crate::Actor,
    ) -> crate::Result<crate::Project> {
        projects::create_project(self, org, slug, name, teams, actor).await
    }

    async fn projects(&self, org: i64, page: crate::Page) -> crate::Result<Vec<crate::Project>> {
        projects::projects(self, org, page).await
    }

    async fn project_by_slug(&self, org: i64, slug: &str) -> crate::Result<crate::Project> {
        projects::project_by_slug(self, org, slug).await
    }

    async fn delete_project(
        &self,
        org: i64,
        project: i64,
        actor: &crate::Actor,
    ) -> crate::Result<()> {
        projects::delete_project(self, org, project, actor).await
    }

    async fn add_project_team(
        &self,
        org: i64,
        project: i64,
        team: i64,
        actor: &crate::Actor,
    ) -> crate::Result<bool> {
        projects::add_project_team(self, org, project, team, actor).await
    }

    async fn remove_project_team(
        &self,
        org: i64,
        project: i64,
        team: i64,
        actor: &crate::Actor,
    ) -> crate::Result<bool> {
        projects::remove_project_team(self, org, project, team, actor).await
    }

    async fn grants(&self, org: i64) -> crate::Result<Vec<crate::GranularGrant>> {
        granular::grants(self, org).await
    }

    async fn granted_user_ids(&self, org: i64, kind: &str) -> crate::Result<Vec<i64>> {
        granular::granted_user_ids(self, org, kind).await
    }

    async fn granted_team_slugs(&self, org: i64, kind: &str) -> crate::Result<Vec<String>> {
        granular::granted_team_slugs(self, org, kind).await
    }

    async fn create_token(
        &self,
        new: &crate::NewToken,
        actor: &crate::Actor,
    ) -> crate::Result<(crate::Token, crate::Secret)> {
        tokens::create_token(self, new, actor).await
    }

    async fn token_by_secret(&self, secret: &str) -> crate::Result<crate::Token> {
        tokens::token_by_secret(self, secret).await
    }

    async fn user_tokens(&self, user: i64, page: crate::Page) -> crate::Result<Vec<crate::Token>> {
        tokens::user_tokens(self, user, page).await
    }

    async fn org_tokens(&self, org: i64, page: crate::Page) -> crate::Result<Vec<crate::Token>> {
        tokens::org_tokens(self, org, page).await
    }

    async fn token(&self, id: i64) -> crate::Result<crate::Token> {
        tokens::token(self, id).await
    }

    async fn delete_token(&self, id: i64, actor: &crate::Actor) -> crate::Result<()> {
        tokens::delete_token(self, id, actor).await
    }

    async fn reduce_org_token_scopes(
        &self,
        allowed: &[String],
        actor: &crate::Actor,
    ) -> crate::Result<u64> {
        tokens::reduce_org_token_scopes(self, allowed, actor).await
    }

    async fn create_integration(
        &self,
        new: &crate::NewIntegration,
        install_on: &[i64],
        actor: &crate::Actor,
    ) -> crate::Result<crate::Integration> {
        integrations::create_integration(self, new, install_on, actor).await
    }

    async fn integration(&self, id: i64) -> crate::Result<crate::Integration> {
        integrations::integration(self, id).await
    }

    async fn integrations(&self, page: crate::Page) -> crate::Result<Vec<crate::Integration>> {
        integrations::integrations(self, page).await
    }

    async fn install_integration(
        &self,
        integration: i64,
        org: i64,
        actor: &crate::Actor,
    ) -> crate::Result<crate::Integration> {
        integrations::install_integration(self, integration, org, actor).await
    }

    async fn uninstall_integration(
        &self,
        integration: i64,
        org: i64,
        actor: &crate::Actor,
    ) -> crate::Result<crate::Integration> {
        integrations::uninstall_integration(self, integration, org, actor).await
    }

    async fn audit_log(
        &self,
        org: i64,
        page: crate::Page,
    ) -> crate::Result<Vec<crate::AuditEntry>> {
        audit::audit_log(self, org, page).await
    }

    async fn world(
        &self,
        org_slug: Option<&str>,
        also_user: Option<i64>,
    ) -> crate::Result<scopegate_core::WorldDoc> {
        export::world(self, org_slug, also_user).await
    }

    async fn world_including_pending(
        &self,
        org_slug: Option<&str>,
        also_user: Option<i64>,
    ) -> crate::Result<scopegate_core::WorldDoc> {
        export::world_including_pending(self, org_slug, also_user).await
    }

    async fn schedule_org_deletion(
        &self,
        org: i64,
        due_at: i64,
        actor: &crate::Actor,
    ) -> crate::Result<crate::Organization> {
        organizations::schedule_org_deletion(self, org, due_at, actor).await
    }

    async fn purge_orgs_due(&self, now: i64) -> crate::Result<Vec<i64>> {
        organizations::purge_orgs_due(self, now).await
    }

    async fn full_world(&self) -> crate::Result<scopegate_core::WorldDoc> {
        export::full_world(self).await
    }

    async fn import_world(
        &self,
        doc: &scopegate_core::WorldDoc,
        policy: &scopegate_core::Policy,
        actor: &crate::Actor,
    ) -> crate::Result<crate::ImportSummary> {
        import::import_world(self, doc, policy, actor).await
    }

    async fn all_tokens(&self) -> crate::Result<Vec<crate::Token>> {
        tokens::all_tokens(self).await
    }

    async fn revision(&self) -> crate::Result<u64> {
        changes::revision(self).await
    }

    async fn catch_up(&self, after: u64) -> crate::Result<crate::CatchUp> {
        changes::catch_up(self, after).await
    }

    async fn change_feed(&self) -> crate::Result<Option<Box<dyn crate::ChangeFeed>>> {
        self.feed().await
    }

    fn pool_stats(&self) -> crate::PoolStats {
        crate::PoolStats {
            size: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }
    }
}
