//! Member details (`GET`, `PUT`, `DELETE /api/0/organizations/{org}/members/{id}/`), as
//! Sentry's `OrganizationMemberDetailsEndpoint` and its tests define them.
//!
//! The route is guarded by `RelaxedMemberPermission` (manifest): `PUT` admits
//! `member:invite` (a member may resend an invite they sent), `DELETE` admits `member:read`
//! (anyone may leave; a member may cancel an invite they sent). The handlers then apply
//! Sentry's rules, in Sentry's order and with its texts and statuses. Every rule that counts
//! members (the last owner, the last owner or manager) is checked by the store under the
//! organization's lock, in the transaction of the change ([`MemberGuard`]).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Extension;
use scopegate_store::{Guarded, Member, MemberEdit, MemberGuard, Organization};
use serde::{Deserialize, Deserializer};

use super::members::{member_or_me, now, MemberOut};
use super::{option_value, role_scopes};
use crate::auth::Caller;
use crate::boundary::AppJson;
use crate::error::ApiError;
use crate::AppState;

const ERR_INSUFFICIENT_ROLE: &str = "You cannot remove a member who has more access than you.";
const ERR_INSUFFICIENT_SCOPE: &str = "You are missing the member:admin scope.";
const ERR_MEMBER_INVITE: &str = "You cannot modify invitations sent by someone else.";
const ERR_EDIT_WHEN_REINVITING: &str = "You cannot modify member details when resending an invitation. Separate requests are required.";
const ERR_ONLY_OWNER_OR_MANAGER: &str =
    "You cannot remove the only remaining owner or manager of the organization.";
const ERR_ONLY_OWNER_DEMOTE: &str =
    "You cannot change the role of the only remaining owner of the organization.";
const ERR_UNINVITABLE: &str =
    "You cannot send an invitation to a user who is already a full member.";
const ERR_EXPIRED: &str = "You cannot resend an expired invitation without regenerating the token.";
const ERR_NO_PERMISSION: &str = "You do not have permission to perform this action.";

/// Field errors as Sentry's serializers report them: `{"field": ["message", …]}`, 400.
#[derive(Debug, Default)]
pub struct Errors(BTreeMap<String, Vec<String>>);

impl Errors {
    /// Adds `message` to `field`.
    pub fn add(&mut self, field: &str, message: &str) {
        self.0
            .entry(field.to_string())
            .or_default()
            .push(message.to_string());
    }

    /// A 400 with one field error.
    pub fn one(field: &str, message: &str) -> ApiError {
        let mut e = Errors::default();
        e.add(field, message);
        e.into_error()
    }

    fn into_error(self) -> ApiError {
        ApiError::Body {
            status: StatusCode::BAD_REQUEST,
            body: serde_json::json!(self.0),
        }
    }

    /// `Ok` when no field has an error, else the 400.
    pub fn into_result(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.into_error())
        }
    }
}

/// A team and role of `teamRoles`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TeamRoleItem {
    /// The team slug.
    pub team_slug: String,
    /// The team role; `null` for the minimum of the member's org role.
    #[serde(default)]
    pub role: Option<String>,
}

/// The body of a member edit (Sentry's `OrganizationMemberRequestSerializer`, partial).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RoleBody {
    /// The new org role.
    #[serde(default)]
    pub org_role: Option<String>,
    /// The new org role under its deprecated name.
    #[serde(default)]
    pub role: Option<String>,
    /// The member's teams by slug, a full replacement (deprecated; see `teamRoles`).
    #[serde(default)]
    pub teams: Option<Vec<String>>,
    /// The member's teams with team roles, a full replacement (`null` or `[]`: no teams).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<TeamRoleItem>>)]
    pub team_roles: Option<Option<Vec<TeamRoleItem>>>,
    /// Resend a pending invite (alone, or with `regenerate`).
    #[serde(default)]
    pub reinvite: Option<bool>,
    /// With `reinvite`: renew the invite's expiry (needs `member:admin`).
    #[serde(default)]
    pub regenerate: Option<bool>,
}

/// A field that may be present and `null`: `Some(None)`.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

impl RoleBody {
    /// Whether only `reinvite` and `regenerate` are present (Sentry's
    /// `is_reinvite_request_only`).
    fn reinvite_only(&self) -> bool {
        self.org_role.is_none()
            && self.role.is_none()
            && self.teams.is_none()
            && self.team_roles.is_none()
    }
}

/// Whether the caller holds scope `name` in the organization.
pub fn has_scope(state: &AppState, caller: &Caller, name: &str) -> bool {
    state
        .policy
        .scopes
        .id(name)
        .is_some_and(|id| caller.scopes.contains(id))
}

/// Whether the organization has the policy's team-roles feature
/// (`organizations:team-roles`: team roles count, and retired org roles are not assigned).
pub fn team_roles_feature(state: &AppState, org: &Organization) -> bool {
    org.features.contains(&state.policy.team_roles_feature)
}

/// The org roles the caller may assign (Sentry's `get_allowed_org_roles`): none without
/// `member:admin` unless `inviting`; otherwise every role whose option-trimmed scopes are
/// within the caller's (docs/sentry-model.md §2.4).
pub fn allowed_roles(
    state: &AppState,
    caller: &Caller,
    org: &Organization,
    inviting: bool,
) -> Vec<String> {
    if !inviting && !has_scope(state, caller, "member:admin") {
        return Vec::new();
    }
    state
        .policy
        .org_roles
        .iter()
        .filter(|r| role_scopes(state, org, &r.id).is_some_and(|s| s.is_subset(caller.scopes)))
        .map(|r| r.id.clone())
        .collect()
}

/// Sentry's `validate_orgRole` for `field` (`role` or `orgRole`): a known role, within
/// `allowed`, and not retired when `refuse_retired`.
pub fn validate_org_role(
    state: &AppState,
    allowed: &[String],
    field: &str,
    role: &str,
    refuse_retired: bool,
    errors: &mut Errors,
) {
    let Some((_, def)) = state.policy.org_role(role) else {
        errors.add(field, &format!("\"{role}\" is not a valid choice."));
        return;
    };
    if !allowed.iter().any(|a| a == role) {
        errors.add(
            field,
            "You do not have permission to set that org-level role",
        );
    } else if refuse_retired && def.retired {
        errors.add(
            field,
            &format!("The role '{role}' is deprecated and may no longer be assigned."),
        );
    }
}

/// The teams named by `slugs` (id, slug), or `None` when any is not a team of `org`.
pub async fn resolve_teams(
    state: &AppState,
    org: &Organization,
    slugs: &[String],
) -> Result<Option<Vec<(i64, String)>>, ApiError> {
    let mut out = Vec::new();
    for slug in slugs {
        match state.store.team_by_slug(org.id, slug).await {
            Ok(t) => out.push((t.id, t.slug)),
            Err(scopegate_store::StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Some(out))
}

/// The guard of the organization's member-counting rules: the top org role, and the roles
/// whose (option-trimmed) scopes include `org:write` ("owner or manager").
pub fn guard(state: &AppState, org: &Organization) -> MemberGuard {
    let write = state.policy.scopes.id("org:write");
    MemberGuard {
        owner_role: state
            .policy
            .org_roles
            .last()
            .map(|r| r.id.clone())
            .unwrap_or_default(),
        write_roles: state
            .policy
            .org_roles
            .iter()
            .filter(|r| {
                let scopes = state.policy.trim_scopes(r.scopes, |k| option_value(org, k));
                write.is_some_and(|w| scopes.contains(w))
            })
            .map(|r| r.id.clone())
            .collect(),
    }
}

/// `GET`: the member with its teams; `me` is the caller.
pub async fn details(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((slug, member)): Path<(String, String)>,
) -> Result<AppJson<MemberOut>, ApiError> {
    let org = super::org(&state, &slug).await?;
    let member = member_or_me(&state, org.id, &member, &caller).await?;
    respond(&state, &org, member).await
}

async fn respond(
    state: &AppState,
    org: &Organization,
    member: Member,
) -> Result<AppJson<MemberOut>, ApiError> {
    let teams = state.store.member_teams(org.id, member.id).await?;
    Ok(AppJson(MemberOut::from(member).with_teams(teams)))
}

fn forbidden_field(field: &str, message: &str) -> ApiError {
    ApiError::Body {
        status: StatusCode::FORBIDDEN,
        body: serde_json::json!({ field: message }),
    }
}

/// `PUT`: resend an invite, or change the org role and teams in one transaction.
pub async fn edit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((slug, member)): Path<(String, String)>,
    AppJson(body): AppJson<RoleBody>,
) -> Result<AppJson<MemberOut>, ApiError> {
    let Some(user) = caller.user.as_ref() else {
        return Err(ApiError::BadRequest("Only a user may edit members.".into()));
    };
    let org = super::org(&state, &slug).await?;
    let member = member_or_me(&state, org.id, &member, &caller).await?;
    let allowed = allowed_roles(&state, &caller, &org, false);

    // The serializer: every field error at once.
    let mut errors = Errors::default();
    for (field, value) in [("role", &body.role), ("orgRole", &body.org_role)] {
        if let Some(role) = value {
            validate_org_role(&state, &allowed, field, role, false, &mut errors);
        }
    }
    let teams = edit_teams(&state, &caller, &org, &body, &mut errors).await?;
    errors.into_result()?;

    let admin = has_scope(&state, &caller, "member:admin");
    if !admin && has_scope(&state, &caller, "member:invite") {
        // A member may only resend the pending invites they sent.
        if !(member.user_id.is_none() && body.reinvite_only()) {
            return Err(ApiError::Forbidden(ERR_NO_PERMISSION.into()));
        }
        if member.inviter_id != Some(user.id) {
            return Err(ApiError::Forbidden(ERR_MEMBER_INVITE.into()));
        }
    }

    if body.reinvite == Some(true) {
        if !body.reinvite_only() {
            return Err(ApiError::Forbidden(ERR_EDIT_WHEN_REINVITING.into()));
        }
        if member.user_id.is_some() {
            return Err(ApiError::BadRequest(ERR_UNINVITABLE.into()));
        }
        let regenerate = body.regenerate == Some(true);
        if regenerate && !admin {
            return Err(ApiError::BadRequest(ERR_INSUFFICIENT_SCOPE.into()));
        }
        if !regenerate && member.invite_expired(now()) {
            return Err(ApiError::BadRequest(ERR_EXPIRED.into()));
        }
        let member = state
            .store
            .reinvite(org.id, member.id, regenerate, &caller.actor)
            .await?;
        return respond(&state, &org, member).await;
    }

    let assigned = body.org_role.clone().or_else(|| body.role.clone());
    let new_role = assigned.filter(|r| *r != member.role);
    if let Some(role) = &new_role {
        if !allowed.contains(role) {
            return Err(forbidden_field(
                "role",
                "You do not have permission to assign the given role.",
            ));
        }
        if !allowed.contains(&member.role) {
            return Err(forbidden_field(
                "role",
                "You do not have permission to assign a role to the given user.",
            ));
        }
        if caller.member_id == Some(member.id) {
            return Err(ApiError::BadRequest(
                "You cannot make changes to your own role.".into(),
            ));
        }
        let retired = state.policy.org_role(role).is_some_and(|(_, r)| r.retired);
        if team_roles_feature(&state, &org) && retired {
            return Err(ApiError::BadRequest(format!(
                "The role '{role}' is deprecated and may no longer be assigned."
            )));
        }
    }
    let edit = MemberEdit {
        clear_team_roles: new_role
            .as_deref()
            .map(|r| lesser_team_roles(&state, r))
            .unwrap_or_default(),
        role: new_role,
        teams,
    };
    match state
        .store
        .edit_member(
            org.id,
            member.id,
            &edit,
            &guard(&state, &org),
            &caller.actor,
        )
        .await
    {
        Ok(Guarded::Done(member)) => respond(&state, &org, member).await,
        Ok(Guarded::LastOwner) => Err(ApiError::Forbidden(ERR_ONLY_OWNER_DEMOTE.into())),
        Err(scopegate_store::StoreError::NotFound) => Err(Errors::one("teams", "Invalid teams")),
        Err(e) => Err(e.into()),
    }
}

/// The team roles at or below the minimum team role of org role `role` (Sentry's
/// `_change_org_role` resets them to `null`).
fn lesser_team_roles(state: &AppState, role: &str) -> Vec<String> {
    let Some(min) = state
        .policy
        .org_role(role)
        .and_then(|(i, _)| state.policy.minimum_team_role(i))
    else {
        return Vec::new();
    };
    state
        .policy
        .team_roles
        .iter()
        .take(min + 1)
        .map(|t| t.id.clone())
        .collect()
}

/// The new teams of an edit: `teamRoles` (team roles kept only with the team-roles feature,
/// each within the caller's scopes) or else `teams`; `None` when neither is present.
async fn edit_teams(
    state: &AppState,
    caller: &Caller,
    org: &Organization,
    body: &RoleBody,
    errors: &mut Errors,
) -> Result<Option<Vec<(i64, Option<String>)>>, ApiError> {
    if let Some(items) = &body.team_roles {
        let items = items.as_deref().unwrap_or_default();
        let mut ceiling_ok = true;
        for item in items {
            let Some(role) = &item.role else { continue };
            let Some((_, def)) = state.policy.team_role(role) else {
                errors.add("teamRoles", "Invalid team-role");
                return Ok(None);
            };
            let scopes = state
                .policy
                .trim_scopes(def.scopes, |k| option_value(org, k));
            ceiling_ok &= scopes.is_subset(caller.scopes);
        }
        if !ceiling_ok {
            errors.add(
                "teamRoles",
                "You do not have permission to assign the given team role.",
            );
            return Ok(None);
        }
        let slugs: Vec<String> = items.iter().map(|i| i.team_slug.clone()).collect();
        let Some(teams) = resolve_teams(state, org, &slugs).await? else {
            errors.add("teamRoles", "Invalid teams");
            return Ok(None);
        };
        let keep_roles = team_roles_feature(state, org);
        return Ok(Some(
            teams
                .into_iter()
                .zip(items)
                .map(|((id, _), item)| (id, item.role.clone().filter(|_| keep_roles)))
                .collect(),
        ));
    }
    if let Some(slugs) = &body.teams {
        let Some(teams) = resolve_teams(state, org, slugs).await? else {
            errors.add("teams", "Invalid teams");
            return Ok(None);
        };
        return Ok(Some(teams.into_iter().map(|(id, _)| (id, None)).collect()));
    }
    Ok(None)
}

/// `DELETE`: leave the organization, cancel an invite one sent, or remove a member one
/// outranks.
pub async fn remove(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((slug, member)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let org = super::org(&state, &slug).await?;
    let member = member_or_me(&state, org.id, &member, &caller).await?;
    let (Some(acting), Some(user)) = (caller.member_id, caller.user.as_ref()) else {
        return Err(ApiError::BadRequest(ERR_INSUFFICIENT_ROLE.into()));
    };
    if acting != member.id {
        if !has_scope(&state, &caller, "member:admin") {
            if !has_scope(&state, &caller, "member:invite") {
                return Err(ApiError::BadRequest(ERR_INSUFFICIENT_SCOPE.into()));
            }
            // A member may cancel the pending invites they sent, nothing else.
            if member.user_id.is_some() {
                return Err(ApiError::BadRequest(ERR_INSUFFICIENT_SCOPE.into()));
            }
            if member.inviter_id != Some(user.id) {
                return Err(ApiError::BadRequest(ERR_MEMBER_INVITE.into()));
            }
        } else {
            let current = role_scopes(&state, &org, &member.role).unwrap_or_default();
            if !current.is_subset(caller.scopes) {
                return Err(ApiError::BadRequest(ERR_INSUFFICIENT_ROLE.into()));
            }
        }
    }
    match state
        .store
        .remove_member_guarded(org.id, member.id, &guard(&state, &org), &caller.actor)
        .await
    {
        Ok(Guarded::Done(())) => Ok(StatusCode::NO_CONTENT),
        Ok(Guarded::LastOwner) => Err(ApiError::Forbidden(ERR_ONLY_OWNER_OR_MANAGER.into())),
        Err(scopegate_store::StoreError::NotFound) => Err(ApiError::NotFound(
            "The requested resource does not exist".into(),
        )),
        Err(e) => Err(e.into()),
    }
}
