//! The fast request parser of the decision API: a request (or a batch) deserialized straight
//! into typed, borrowed fields; anything unusual falls back to the slow path.

use std::fmt;

use axum::body::Bytes;
use scopegate_core::wire::SuperuserDoc;
use scopegate_core::{Method, Policy, Principal, Request, ScopeSet, Superuser};
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::{bearer_principal, MAX_BATCH};
use crate::index::Index;
use crate::AppState;

/// The fast path: a request parsed straight into typed, borrowed fields, with no `Value` in
/// between. Anything unusual (an unknown field, a missing or misplaced one, an unknown
/// scope, an escaped `kind`, `method` or secret) falls back to [`parse_one`](super::parse_one), which words
/// the error; so both paths accept the same requests.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FastRequest<'a> {
    #[serde(borrow)]
    principal: FastPrincipal<'a>,
    endpoint: String,
    method: &'a str,
    #[serde(default)]
    organization: Option<String>,
    #[serde(default)]
    project: Option<String>,
    #[serde(default)]
    team: Option<String>,
}

/// Every principal field of §4.1 (and `token` of a bearer), flat.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FastPrincipal<'a> {
    kind: &'a str,
    #[serde(default, borrow)]
    token: Option<&'a str>,
    #[serde(default)]
    user: Option<u64>,
    #[serde(default)]
    superuser: Option<SuperuserDoc>,
    #[serde(default)]
    staff: Option<bool>,
    #[serde(default)]
    sso_ok: Option<bool>,
    #[serde(default, borrow)]
    scopes: Option<Vec<&'a str>>,
    #[serde(default)]
    organization: Option<String>,
    #[serde(default)]
    integration: Option<u64>,
    #[serde(default)]
    creator: Option<u64>,
}

impl FastPrincipal<'_> {
    /// Whether only the fields in `allowed` (besides `kind`) are present.
    fn only(&self, allowed: &[&str]) -> bool {
        [
            ("token", self.token.is_some()),
            ("user", self.user.is_some()),
            ("superuser", self.superuser.is_some()),
            ("staff", self.staff.is_some()),
            ("sso_ok", self.sso_ok.is_some()),
            ("scopes", self.scopes.is_some()),
            ("organization", self.organization.is_some()),
            ("integration", self.integration.is_some()),
            ("creator", self.creator.is_some()),
        ]
        .iter()
        .all(|(name, present)| !present || allowed.contains(name))
    }

    /// The scopes, or `None` for an unknown one.
    fn scopes(&self, policy: &Policy) -> Option<ScopeSet> {
        let names = self.scopes.as_deref().unwrap_or_default();
        policy.scopes.parse_set(names.iter().copied()).ok()
    }

    /// The principal (as `Request::from_doc` converts it), or `None` to take the slow path.
    fn convert(self, policy: &Policy, index: &Index) -> Option<Principal> {
        Some(match self.kind {
            "bearer" if self.only(&["token"]) => bearer_principal(index.token(self.token?)),
            "anonymous" if self.only(&[]) => Principal::Anonymous,
            "system" if self.only(&[]) => Principal::System,
            "session" if self.only(&["user", "superuser", "staff", "sso_ok"]) => {
                Principal::Session {
                    user: self.user?,
                    superuser: match self.superuser.unwrap_or_default() {
                        SuperuserDoc::None => Superuser::None,
                        SuperuserDoc::Read => Superuser::Read,
                        SuperuserDoc::Write => Superuser::Write,
                    },
                    staff: self.staff.unwrap_or(false),
                    sso_ok: self.sso_ok.unwrap_or(true),
                }
            }
            "user_token" if self.only(&["user", "scopes", "organization"]) => {
                Principal::UserToken {
                    user: self.user?,
                    scopes: self.scopes(policy)?,
                    organization: self.organization,
                }
            }
            "org_token" if self.only(&["scopes", "organization", "creator"]) => {
                Principal::OrgToken {
                    scopes: self.scopes(policy)?,
                    organization: self.organization?,
                    creator: self.creator,
                }
            }
            "api_key" if self.only(&["scopes", "organization"]) => Principal::ApiKey {
                scopes: self.scopes(policy)?,
                organization: self.organization?,
            },
            "integration" if self.only(&["integration"]) => Principal::Integration {
                integration: self.integration?,
            },
            _ => return None,
        })
    }
}

impl FastRequest<'_> {
    /// The request, or `None` to take the slow path.
    fn convert(self, state: &AppState, index: &Index) -> Option<Request> {
        let method = self.method.parse::<Method>().ok()?;
        Some(Request {
            principal: self.principal.convert(&state.policy, index)?,
            endpoint: self.endpoint,
            method,
            organization: self.organization,
            project: self.project,
            team: self.team,
        })
    }
}

/// Parses one request on the fast path when the decision log is off (the log keeps the
/// request as sent, which the slow path builds).
pub(super) fn fast_one(body: &Bytes, state: &AppState, index: &Index) -> Option<Request> {
    // A body that may hold a control character takes the slow path, which refuses it.
    if state.decision_log.is_some() || crate::boundary::may_hold_control(body) {
        return None;
    }
    serde_json::from_slice::<FastRequest<'_>>(body)
        .ok()?
        .convert(state, index)
}

/// A batch body on the fast path: `{"requests": [...]}` or a bare array, each request
/// converted as it is read. `None` (or an error) means: take the slow path, which words
/// the error (and answers 413 past [`MAX_BATCH`]).
pub(super) struct FastBatch<'s> {
    pub(super) state: &'s AppState,
    pub(super) index: &'s Index,
}

/// The array of a batch, on the fast path.
struct FastList<'s>(FastBatch<'s>);

impl<'de> DeserializeSeed<'de> for FastBatch<'_> {
    type Value = Option<Vec<Request>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FastBatch<'_> {
    type Value = Option<Vec<Request>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a batch")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        FastList(self).visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let Some("requests") = map.next_key::<&'de str>()? else {
            return Ok(None);
        };
        let requests = map.next_value_seed(FastList(self))?;
        if map.next_key::<&'de str>()?.is_some() {
            return Ok(None);
        }
        Ok(requests)
    }
}

impl<'de> DeserializeSeed<'de> for FastList<'_> {
    type Value = Option<Vec<Request>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FastList<'_> {
    type Value = Option<Vec<Request>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of requests")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let FastBatch { state, index } = self.0;
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(16).min(MAX_BATCH));
        while let Some(r) = seq.next_element::<FastRequest<'de>>()? {
            if out.len() >= MAX_BATCH {
                return Ok(None);
            }
            let Some(request) = r.convert(state, index) else {
                return Ok(None);
            };
            out.push(request);
        }
        Ok(Some(out))
    }
}
