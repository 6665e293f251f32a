//! What Sentry's `request.access` answers about teams, for the handlers that apply Sentry's
//! finer team rules after the engine allowed the request (team membership, access requests,
//! project-team links): org-level scopes, team membership, team reach and team-role scopes,
//! all bounded by the calling token (docs/sentry-model.md §3.7).
//!
//! It is read from the very index snapshot the engine decided over ([`Caller::index`], in
//! the organization it resolved, [`Caller::org`]), so the handler and the engine agree on
//! memberships and team-role scopes, and nothing is read from the store.

use scopegate_core::{Principal, ScopeSet};
use scopegate_store::Team;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::AppState;

/// Sentry's wording when a team-membership edit is refused (`ERR_INSUFFICIENT_ROLE`).
pub const ERR_INSUFFICIENT_ROLE: &str =
    "You do not have permission to edit that user's membership.";

/// The caller's access to the teams of one organization.
#[derive(Debug, Clone)]
pub struct TeamAccess {
    /// The policy's scope ids by name, to answer `has_scope("team:write")`.
    policy: std::sync::Arc<scopegate_core::Policy>,
    /// Org-level scopes (the member's role scopes bounded by the token; an org token's).
    scopes: ScopeSet,
    /// The member's org-role scopes, not bounded by the token (Sentry's
    /// `access.get_organization_role()`).
    role_scopes: ScopeSet,
    /// The member's org role (index into the policy's org roles).
    pub org_role: Option<usize>,
    /// Reaches every team: open membership or a global role (Sentry's `has_global_access`).
    pub global: bool,
    /// The organization has the team-roles feature.
    pub team_roles: bool,
    /// Team memberships: team id and the team-role scopes bounded by the token.
    teams: Vec<(i64, ScopeSet)>,
}

impl TeamAccess {
    /// The caller's access in the URL's organization as the engine saw it: read from the
    /// index snapshot `authorize` decided over ([`Caller::index`]), no store read. No access
    /// (empty) when the URL names no organization.
    pub fn of(state: &AppState, caller: &Caller) -> TeamAccess {
        let user = caller.user.as_ref().map(|u| u.id);
        let bound = match &caller.principal {
            Principal::UserToken { scopes, .. } | Principal::OrgToken { scopes, .. } => *scopes,
            _ => ScopeSet::EMPTY,
        };
        let mut access = TeamAccess {
            policy: state.policy.clone(),
            scopes: caller.scopes,
            role_scopes: ScopeSet::EMPTY,
            org_role: None,
            global: matches!(caller.principal, Principal::OrgToken { .. }),
            team_roles: false,
            teams: Vec::new(),
        };
        let world = caller.world();
        let Some(o) = caller
            .org
            .as_ref()
            .and_then(|org| world.org_by_id(u64::try_from(org.id).ok()?))
        else {
            return access;
        };
        access.team_roles = o.team_roles;
        let member = user
            .and_then(|u| u64::try_from(u).ok())
            .and_then(|u| world.member(o, u));
        if let Some(m) = member {
            access.role_scopes = m.scopes;
            access.org_role = Some(m.role);
            access.global = m.global;
            access.teams = m
                .teams
                .iter()
                .filter_map(|(t, s)| {
                    let id = i64::try_from(o.team(*t)?.id).ok()?;
                    Some((id, s.intersection(bound)))
                })
                .collect();
        }
        access
    }

    fn scope(&self, name: &str) -> Option<scopegate_core::ScopeId> {
        self.policy.scopes.id(name)
    }

    /// Holds `name` at the organization level (`access.has_scope`).
    pub fn has_scope(&self, name: &str) -> bool {
        self.scope(name).is_some_and(|s| self.scopes.contains(s))
    }

    /// The member's org role holds `name`, whatever the token (`get_organization_role`).
    pub fn role_has(&self, name: &str) -> bool {
        self.scope(name)
            .is_some_and(|s| self.role_scopes.contains(s))
    }

    /// A member of `team` (`access.has_team_membership`).
    pub fn has_team_membership(&self, team: &Team) -> bool {
        self.teams.iter().any(|(t, _)| *t == team.id)
    }

    /// Reaches `team`: global access or membership (`access.has_team_access`).
    pub fn has_team_access(&self, team: &Team) -> bool {
        self.global || self.has_team_membership(team)
    }

    /// Holds `name` for `team`: team reach, then the org-level scope or the team-role scope
    /// of that membership (`access.has_team_scope`).
    pub fn has_team_scope(&self, team: &Team, name: &str) -> bool {
        let Some(s) = self.scope(name) else {
            return false;
        };
        self.has_team_access(team)
            && (self.scopes.contains(s)
                || self
                    .teams
                    .iter()
                    .any(|(t, set)| *t == team.id && set.contains(s)))
    }

    /// Sentry's `can_admin_team`: a member of the team holding `team:write` for it, or
    /// `org:write` or `member:write`.
    pub fn can_admin_team(&self, team: &Team) -> bool {
        self.has_team_membership(team)
            && (self.has_team_scope(team, "team:write")
                || self.has_scope("org:write")
                || self.has_scope("member:write"))
    }
}

/// The team a URL names by id or slug, as Sentry's `slug__id_or_slug` (a slug is never all
/// digits, so a number is an id); 404 with `detail` when the organization has no such team.
pub async fn team_by_id_or_slug(
    state: &AppState,
    org: i64,
    raw: &str,
    detail: &str,
) -> Result<Team, ApiError> {
    let found = match raw.parse::<i64>() {
        Ok(id) if raw.bytes().all(|b| b.is_ascii_digit()) => state.store.team(org, id).await,
        _ => state.store.team_by_slug(org, raw).await,
    };
    found.map_err(|e| match e {
        scopegate_store::StoreError::NotFound => ApiError::NotFound(detail.to_string()),
        other => other.into(),
    })
}
