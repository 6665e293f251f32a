//! Organization features (`/api/0/organizations/{org}/features/`): set by superusers only,
//! audited as `org.features`.
//!
//! `PUT` takes `{"features": {"<name>": true | false, …}}` (true enables, false disables;
//! names not in the map are left alone) and answers `{"features": [<enabled names, sorted>]}`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::routing::put;
use axum::{Extension, Router};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::boundary::AppJson;
use crate::error::ApiError;
use crate::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/0/organizations/{organization_id_or_slug}/features/",
        put(set),
    )
}

/// The body of `PUT …/features/`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeaturesBody {
    /// Feature name → enabled.
    pub features: BTreeMap<String, bool>,
}

/// An organization's features.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeaturesOut {
    /// The enabled features, sorted.
    pub features: Vec<String>,
}

/// Checks a feature name: 1–200 characters of `a-z 0-9 : _ - .`.
pub fn check_feature(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b':' | b'_' | b'-' | b'.')
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "features: `{name}` is not a feature name (1 to 200 of a-z, 0-9, `:`, `_`, `-`, `.`)"
        ))
    }
}

async fn set(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    AppJson(body): AppJson<FeaturesBody>,
) -> Result<AppJson<FeaturesOut>, ApiError> {
    if !caller.user.as_ref().is_some_and(|u| u.is_superuser) {
        return Err(ApiError::Forbidden(
            "Only superusers may change organization features.".into(),
        ));
    }
    for name in body.features.keys() {
        check_feature(name).map_err(ApiError::BadRequest)?;
    }
    let org = caller.require_org()?;
    let (enable, disable): (Vec<_>, Vec<_>) = body.features.iter().partition(|(_, on)| **on);
    let enable: Vec<String> = enable.into_iter().map(|(k, _)| k.clone()).collect();
    let disable: Vec<String> = disable.into_iter().map(|(k, _)| k.clone()).collect();
    let org = state
        .store
        .set_features(org.id, &enable, &disable, &caller.actor)
        .await?;
    Ok(AppJson(FeaturesOut {
        features: org.features,
    }))
}
