//! Organization deletion as Sentry does it: `DELETE /api/0/organizations/{org}/` marks the
//! organization pending deletion (202) with its removal due after a grace period
//! ([`DEFAULT_GRACE`], `AppState::with_org_deletion_grace`); [`spawn`] runs the background
//! task that removes what is due ([`purge_due`]); `PUT … {"cancelDeletion": true}` restores
//! it before then.
//!
//! # What this module guarantees
//!
//! - **A pending organization grants nothing**: it is hidden from the organization list,
//!   every route but organization details answers 404 for it (`auth::authorize` decides over
//!   a world without it), and the decision index (`/v1/`) does not hold it.
//! - **Removal is audited and only of what is still due**: each organization is removed in
//!   its own transaction with its `org.delete` entry, re-checking that its deletion is still
//!   scheduled and due (a restore that commits first wins).

use std::time::Duration;

use scopegate_store::StoreError;

use crate::AppState;

/// The default grace period between `DELETE` and removal: one day, as Sentry's
/// `ONE_DAY` countdown.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(24 * 60 * 60);

/// How often the background task looks for organizations due for removal.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(60);

/// Removes every organization whose deletion is due now, then rebuilds the decision index
/// when any was removed; returns their ids.
pub async fn purge_due(state: &AppState) -> Result<Vec<i64>, StoreError> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let removed = state.store.purge_orgs_due(now).await?;
    if !removed.is_empty() {
        if let Err(e) = state.index.catch_up(&*state.store, &state.policy).await {
            tracing::error!(error = %e, "cannot rebuild the decision index");
        }
        tracing::info!(organizations = ?removed, "removed organizations pending deletion");
    }
    Ok(removed)
}

/// Runs [`purge_due`] every [`PURGE_INTERVAL`] until the runtime stops.
pub fn spawn(state: &AppState) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PURGE_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = purge_due(&state).await {
                tracing::error!(error = %e, "cannot remove organizations pending deletion");
            }
        }
    })
}
