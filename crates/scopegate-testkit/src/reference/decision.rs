//! The reference's decision: [`RefDecision`] in plain strings, how it is built (deny,
//! deny with missing scopes, allow) and the status of each reason code.

use scopegate_core::DecisionDoc;

use super::Scopes;

/// A decision, in plain strings (the wire form of docs/wire.md §4 without the trace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefDecision {
    /// The reason code.
    pub reason: String,
    /// The HTTP status.
    pub status: u16,
    /// The grant path (and the granular path), when allowed.
    pub grant: Option<Vec<String>>,
    /// Sorted scope names.
    pub missing_scopes: Vec<String>,
    /// The `WWW-Authenticate` value.
    pub challenge: Option<String>,
}

impl RefDecision {
    /// The engine's wire decision in the same shape.
    pub fn from_doc(doc: &DecisionDoc) -> RefDecision {
        RefDecision {
            reason: doc.reason.to_string(),
            status: doc.status,
            grant: doc
                .grant
                .as_ref()
                .map(|g| g.iter().map(|s| s.to_string()).collect()),
            missing_scopes: doc.missing_scopes.clone(),
            challenge: doc.challenge.clone(),
        }
    }

    pub(super) fn deny(reason: &str) -> RefDecision {
        RefDecision {
            reason: reason.to_string(),
            status: status_of(reason),
            grant: None,
            missing_scopes: Vec::new(),
            challenge: None,
        }
    }

    pub(super) fn deny_missing(reason: &str, map: &Scopes) -> RefDecision {
        RefDecision {
            missing_scopes: map.iter().cloned().collect(),
            ..RefDecision::deny(reason)
        }
    }

    pub(super) fn allow(path: &str, granular: Option<&str>) -> RefDecision {
        let mut grant = vec![path.to_string()];
        if let Some(g) = granular {
            grant.push(g.to_string());
        }
        RefDecision {
            reason: "allowed".into(),
            status: 200,
            grant: Some(grant),
            missing_scopes: Vec::new(),
            challenge: None,
        }
    }

    /// Whether the request is allowed.
    pub fn allowed(&self) -> bool {
        self.reason == "allowed"
    }

    /// The whole decision as the wire shows it (docs/wire.md §4, without `trace`):
    /// `allowed`, `status`, `reason`, `grant`, `missing_scopes`, `challenge`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "allowed": self.allowed(),
            "status": self.status,
            "reason": self.reason,
            "grant": self.grant,
            "missing_scopes": self.missing_scopes,
            "challenge": self.challenge,
        })
    }
}

/// The status of each reason code (docs/wire.md §4, reason table).
fn status_of(reason: &str) -> u16 {
    match reason {
        "allowed" => 200,
        "not_found" => 404,
        "unauthenticated"
        | "token_organization_mismatch"
        | "sso_required"
        | "2fa_required"
        | "member_disabled_over_limit" => 401,
        _ => 403,
    }
}
