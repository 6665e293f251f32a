//! Inviting a member (`POST /api/0/organizations/{org}/members/`), as Sentry's
//! `OrganizationMemberIndexEndpoint.post` and its `OrganizationMemberRequestSerializer` do:
//! validation errors are Sentry's field-keyed lists (`{"email": ["Enter a valid email
//! address."]}`), all of them at once, with status 400.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use scopegate_store::{Invited, NewInvite, Organization};
use serde::Deserialize;

use super::member_details::{
    allowed_roles, has_scope, team_roles_feature, validate_org_role, Errors, TeamRoleItem,
};
use super::members::MemberOut;
use crate::auth::Caller;
use crate::boundary::AppJson;
use crate::error::ApiError;
use crate::AppState;

/// Domains Sentry refuses invites to (its `INVALID_EMAIL_ADDRESS_PATTERN`, `\@qq\.com$`,
/// read by `AllowedEmailField`): an address there is "not a valid email address".
pub const BLOCKED_INVITE_DOMAINS: &[&str] = &["qq.com"];

/// The longest address an invite takes (Sentry's `max_length=75` on the email field).
pub const MAX_INVITE_EMAIL: usize = 75;

/// The body of an invite (Sentry's `OrganizationMemberRequestSerializer`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InviteBody {
    /// The address to invite.
    pub email: String,
    /// The org role (default `member`).
    #[serde(default)]
    pub org_role: Option<String>,
    /// The org role under its deprecated name.
    #[serde(default)]
    pub role: Option<String>,
    /// Team slugs the invitee joins (deprecated; `teamRoles` is the newer form).
    #[serde(default)]
    pub teams: Option<Vec<String>>,
    /// Teams the invitee joins; the team roles are not applied to invites (as in Sentry).
    #[serde(default)]
    pub team_roles: Option<Vec<TeamRoleItem>>,
    /// Whether to email the invite (accepted; scopegate sends no email).
    #[serde(default)]
    pub send_invite: Option<bool>,
    /// Accepted for compatibility; no effect on a new invite.
    #[serde(default)]
    pub reinvite: Option<bool>,
    /// Accepted for compatibility; no effect on a new invite.
    #[serde(default)]
    pub regenerate: Option<bool>,
}

/// Validates an address as Django's `EmailValidator` does (the domain `localhost` is
/// allowed; a domain is dot-separated labels of letters, digits and inner hyphens ending in a
/// label of 2 to 63 characters, or an IP literal in brackets), then refuses
/// [`BLOCKED_INVITE_DOMAINS`]. Returns the trimmed address, or the message.
pub fn check_email(raw: &str) -> Result<String, &'static str> {
    const INVALID: &str = "Enter a valid email address.";
    let email = raw.trim();
    if email.is_empty() {
        return Err("This field may not be blank.");
    }
    if email.chars().count() > MAX_INVITE_EMAIL {
        return Err("Ensure this field has no more than 75 characters.");
    }
    let Some((user, domain)) = email.rsplit_once('@') else {
        return Err(INVALID);
    };
    if !valid_user(user) || !valid_domain(domain) {
        return Err(INVALID);
    }
    if BLOCKED_INVITE_DOMAINS
        .iter()
        .any(|d| d.eq_ignore_ascii_case(domain))
    {
        return Err(INVALID);
    }
    Ok(email.to_string())
}

/// Django's `user_regex`: a dot-atom, or a quoted string.
fn valid_user(user: &str) -> bool {
    const ATOM: &str = "!#$%&'*+/=?^_`{}|~-";
    let atom_char = |c: char| c.is_ascii_alphanumeric() || ATOM.contains(c);
    if let Some(inner) = user.strip_prefix('"').and_then(|u| u.strip_suffix('"')) {
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            let ok = match c {
                '\\' => chars
                    .next()
                    .is_some_and(|e| matches!(e as u32, 1..=9 | 11 | 12 | 14..=127)),
                '"' => false,
                c => matches!(c as u32, 1..=8 | 11 | 12 | 14..=31 | 32..=127),
            };
            if !ok {
                return false;
            }
        }
        return true;
    }
    !user.is_empty()
        && user
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(atom_char))
}

/// Django's `validate_domain_part`: the allowlisted `localhost`, a dotted domain name, or an
/// IP literal.
fn valid_domain(domain: &str) -> bool {
    if domain == "localhost" {
        return true;
    }
    if let Some(literal) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        let literal = literal.strip_prefix("IPv6:").unwrap_or(literal);
        return literal.parse::<std::net::IpAddr>().is_ok();
    }
    let Some((labels, tld)) = domain.rsplit_once('.') else {
        return false;
    };
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let tld_ok = (2..=63).contains(&tld.len())
        && tld.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !tld.ends_with('-');
    tld_ok && labels.split('.').all(label_ok)
}

/// The invite handler.
pub async fn invite(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
    AppJson(body): AppJson<InviteBody>,
) -> Result<Response, ApiError> {
    let org = super::org(&state, &slug).await?;
    let mut errors = Errors::default();
    let email = check_email(&body.email)
        .map_err(|m| errors.add("email", m))
        .ok();
    // Invites need no member:admin: the roles are those within the caller's scopes.
    let allowed = allowed_roles(&state, &caller, &org, true);
    let retired_refused = team_roles_feature(&state, &org);
    for (field, value) in [("role", &body.role), ("orgRole", &body.org_role)] {
        if let Some(role) = value {
            validate_org_role(&state, &allowed, field, role, retired_refused, &mut errors);
        }
    }
    let role = body
        .org_role
        .clone()
        .or_else(|| body.role.clone())
        .unwrap_or_else(|| "member".to_string());
    let teams = invite_teams(&state, &org, &body, &mut errors).await?;
    errors.into_result()?;
    let Some(email) = email else {
        return Err(ApiError::Internal("email validated without a value".into()));
    };
    if !teams.is_empty() {
        check_member_team_ceiling(&state, &caller, &org, &teams).await?;
    }
    let new = NewInvite {
        email: email.clone(),
        role,
        teams: teams.iter().map(|(id, _)| *id).collect(),
    };
    match state.store.invite(org.id, &new, &caller.actor).await? {
        Invited::Created(member) => {
            Ok((StatusCode::CREATED, AppJson(MemberOut::from(member))).into_response())
        }
        Invited::AlreadyInvited => Err(Errors::one(
            "email",
            &format!("The user {email} has already been invited"),
        )),
        Invited::AlreadyMember => Err(Errors::one(
            "email",
            &format!("The user {email} is already a member"),
        )),
    }
}

/// The teams of an invite (`teamRoles` wins over `teams`, as in Sentry), by id and slug;
/// unknown slugs are a field error.
async fn invite_teams(
    state: &AppState,
    org: &Organization,
    body: &InviteBody,
    errors: &mut Errors,
) -> Result<Vec<(i64, String)>, ApiError> {
    let mut out = Vec::new();
    if let Some(items) = &body.team_roles {
        let mut roles_ok = true;
        for item in items {
            if let Some(r) = &item.role {
                roles_ok &= state.policy.team_role(r).is_some();
            }
        }
        if !roles_ok {
            errors.add("teamRoles", "Invalid team-role");
            return Ok(out);
        }
        let slugs: Vec<String> = items.iter().map(|i| i.team_slug.clone()).collect();
        match super::member_details::resolve_teams(state, org, &slugs).await? {
            Some(teams) => out = teams,
            None => errors.add("teamRoles", "Invalid teams"),
        }
        if !items.is_empty() {
            return Ok(out);
        }
    }
    if let Some(slugs) = &body.teams {
        match super::member_details::resolve_teams(state, org, slugs).await? {
            Some(teams) => out = teams,
            None => errors.add("teams", "Invalid teams"),
        }
    }
    Ok(out)
}

/// Sentry: a member inviting (member:invite without member:admin) into an organization
/// without open membership may only name teams they are on.
async fn check_member_team_ceiling(
    state: &AppState,
    caller: &Caller,
    org: &Organization,
    teams: &[(i64, String)],
) -> Result<(), ApiError> {
    let is_member =
        !has_scope(state, caller, "member:admin") && has_scope(state, caller, "member:invite");
    if !is_member || org.open_membership {
        return Ok(());
    }
    let mine: Vec<i64> = match caller.member_id {
        Some(id) => state
            .store
            .member_teams(org.id, id)
            .await?
            .into_iter()
            .map(|t| t.team_id)
            .collect(),
        None => Vec::new(),
    };
    if teams.iter().all(|(id, _)| mine.contains(id)) {
        Ok(())
    } else {
        Err(ApiError::BadRequest(
            "You cannot assign members to teams you are not a member of.".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::check_email;

    #[test]
    fn emails_follow_djangos_validator() {
        for ok in [
            "eric@localhost",
            "jane@gmail.com",
            "a.b+c@sub.example.co",
            "x@[127.0.0.1]",
            "x@[IPv6:::1]",
            "\"odd person\"@example.com",
        ] {
            assert_eq!(check_email(ok).as_deref(), Ok(ok), "{ok}");
        }
        for bad in [
            "plain",
            "a@b",
            "a@-b.com",
            "a@b.c",
            "a..b@example.com",
            "@example.com",
            "a@example.com-",
            "1234@qq.com",
            "1234@QQ.com",
        ] {
            assert_eq!(
                check_email(bad),
                Err("Enter a valid email address."),
                "{bad}"
            );
        }
        let long = format!("{}@example.com", "a".repeat(70));
        assert_eq!(
            check_email(&long),
            Err("Ensure this field has no more than 75 characters.")
        );
    }
}
