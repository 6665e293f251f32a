//! The routes, one module per resource, and what they share: input checks, role rules and
//! the JSON shapes (camelCase, ids as strings, as Sentry returns them).

use axum::http::Uri;
use axum::Router;
use scopegate_core::ScopeSet;
use scopegate_store::{Organization, StoreError};
use serde::Serialize;

use crate::error::ApiError;
use crate::AppState;

pub mod access_requests;
pub mod bench_noop;
pub mod features;
pub mod granular;
pub mod health;
pub mod member_details;
pub mod member_invite;
pub mod member_teams;
pub mod members;
pub mod organizations;
pub mod projects;
pub mod team_access;
pub mod teams;
pub mod tokens;
pub mod v1;

/// Every route under `/api/` (each one declared in the service manifest).
pub fn api() -> Router<AppState> {
    Router::new()
        .merge(organizations::router())
        .merge(members::router())
        .merge(teams::router())
        .merge(projects::router())
        .merge(tokens::router())
        .merge(granular::router())
        .merge(features::router())
        .merge(member_teams::router())
        .merge(access_requests::router())
}

/// The fallback: 404 with the API's body.
pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("No route for `{}`", uri.path()))
}

/// The fallback of a route for a method it does not have: 405 with the API's body (axum
/// adds the route's `Allow`).
pub async fn method_not_allowed(method: axum::http::Method) -> ApiError {
    ApiError::Denied {
        status: axum::http::StatusCode::METHOD_NOT_ALLOWED,
        detail: format!("Method \"{method}\" not allowed."),
        challenge: None,
    }
}

/// Checks a slug as Sentry does: 1–50 of `a-z 0-9 _ -`, not all digits.
pub fn check_slug(field: &str, slug: &str) -> Result<(), ApiError> {
    let ok = !slug.is_empty()
        && slug.len() <= 50
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && !slug.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "{field}: Enter a valid slug consisting of lowercase letters, numbers, underscores or hyphens. It cannot be entirely numeric. (`{slug}`)"
        )))
    }
}

/// Organization slugs no organization may take: Sentry's `RESERVED_ORGANIZATION_SLUGS`
/// (`sentry/constants.py`), top-level URL segments of its web app.
pub const RESERVED_ORGANIZATION_SLUGS: &[&str] = &[
    "404",
    "500",
    "_admin",
    "_experiment",
    "_static",
    "about",
    "accept",
    "access",
    "account",
    "accountspayable",
    "acl",
    "admin",
    "answers",
    "ap",
    "api",
    "app",
    "at",
    "au1",
    "auth",
    "authentication",
    "avatar",
    "billing",
    "blog",
    "branding",
    "careers",
    "client",
    "clients",
    "community",
    "contact",
    "corp",
    "customers",
    "de",
    "debug",
    "devinfra",
    "docs",
    "enterprise",
    "eu",
    "events",
    "expenses",
    "ext",
    "extension",
    "extensions",
    "features",
    "finance",
    "for",
    "from",
    "get-cli",
    "github-deployment-gate",
    "guide",
    "help",
    "ingest",
    "ingest-beta",
    "integration-platform",
    "integrations",
    "invoice",
    "invoices",
    "ja",
    "jobs",
    "legal",
    "login",
    "logout",
    "lp",
    "mail",
    "manage",
    "my",
    "onboarding",
    "organization-avatar",
    "organizations",
    "out",
    "payment",
    "payments",
    "platforms",
    "plugins",
    "policy",
    "pricing",
    "privacy",
    "project-avatar",
    "projects",
    "receipt",
    "receipts",
    "referrals",
    "register",
    "remote",
    "resources",
    "sa1",
    "sales",
    "security",
    "sentry-apps",
    "settings",
    "signup",
    "sponsorship",
    "ssh",
    "sso",
    "staff",
    "subscribe",
    "support",
    "syntax",
    "syntaxfm",
    "team-avatar",
    "teams",
    "terms",
    "thanks",
    "themonitor",
    "trust",
    "us",
    "vs",
    "welcome",
];

/// Sentry's message for an organization slug that does not match its pattern.
pub const ORG_SLUG_INVALID: &str =
    "Enter a valid slug consisting of letters, numbers, or hyphens. It cannot be entirely numeric.";

/// Checks an organization slug as Sentry's `BaseOrganizationSerializer` does, in its order:
/// the pattern (lowercase letters, digits and hyphens, at most 50, not all digits, no leading
/// or trailing hyphen; surrounding whitespace trimmed first, as DRF does), then at least 3
/// characters, then not reserved, then no whitespace in the value as sent. Errors are DRF's
/// field-keyed list body on `field`; the trimmed slug is returned.
pub fn check_org_slug(field: &str, raw: &str) -> Result<String, ApiError> {
    let fail = |m: String| ApiError::field_list(field, m);
    let slug = raw.trim();
    let bytes = slug.as_bytes();
    let pattern = !bytes.is_empty()
        && bytes.len() <= 50
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && !bytes.iter().all(u8::is_ascii_digit)
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if !pattern {
        return Err(fail(ORG_SLUG_INVALID.to_string()));
    }
    if slug.len() < 3 {
        return Err(fail(format!(
            "This slug \"{slug}\" is too short. Minimum of 3 characters."
        )));
    }
    if RESERVED_ORGANIZATION_SLUGS.contains(&slug) {
        return Err(fail(format!(
            "This slug \"{slug}\" is reserved and not allowed."
        )));
    }
    if raw.chars().any(char::is_whitespace) {
        return Err(fail(format!(
            "The slug \"{slug}\" should not contain any whitespace."
        )));
    }
    Ok(slug.to_string())
}

/// Checks a display name: 1–64 characters after trimming.
pub fn check_name(field: &str, name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(format!(
            "{field}: must be 1 to 64 characters, none of them control characters"
        )));
    }
    Ok(name.to_string())
}

/// A slug made from a name (`My Team` → `my-team`).
pub fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    out.chars().take(50).collect()
}

/// A 409 with `detail` for a conflict, other store errors unchanged.
pub fn conflict(detail: &'static str) -> impl Fn(StoreError) -> ApiError {
    move |e| match e {
        StoreError::Conflict => ApiError::Conflict(detail.into()),
        other => other.into(),
    }
}

/// A 404 with `detail` for a missing row, other store errors unchanged.
pub fn missing(detail: &'static str) -> impl Fn(StoreError) -> ApiError {
    move |e| match e {
        StoreError::NotFound => ApiError::NotFound(detail.into()),
        other => other.into(),
    }
}

/// Parses an id path segment (404 when it is not a number).
pub fn parse_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::NotFound("The requested resource does not exist".into()))
}

/// The organization named by the URL (the engine already found it).
pub async fn org(state: &AppState, slug: &str) -> Result<Organization, ApiError> {
    state
        .store
        .org_by_slug(slug)
        .await
        .map_err(missing("The requested resource does not exist"))
}

/// An organization option's value as the engine reads it.
pub fn option_value(org: &Organization, key: &str) -> Option<bool> {
    org.options.get(key).map(scopegate_core::world::truthy)
}

/// The scopes of org role `role` in `org` (after the organization's options), if it exists.
pub fn role_scopes(state: &AppState, org: &Organization, role: &str) -> Option<ScopeSet> {
    state
        .policy
        .org_role(role)
        .map(|(_, r)| state.policy.trim_scopes(r.scopes, |k| option_value(org, k)))
}

/// Seconds since the epoch as RFC 3339.
pub fn date(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The sorted names of `set`.
pub fn scope_names(state: &AppState, set: ScopeSet) -> Vec<String> {
    state
        .policy
        .scopes
        .sorted_names(set)
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// A user as embedded in other objects.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserOut {
    /// Id.
    pub id: String,
    /// Email.
    pub email: String,
}
