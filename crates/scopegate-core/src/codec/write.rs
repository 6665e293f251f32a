//! Writing decisions (and the requests they answer) as JSON: the one writer of a decision's
//! wire form, for `scopegate check` and `explain`, the service's `/v1/` responses and its
//! decision log.
//!
//! A decision is `{"allowed", "status", "reason", "grant", "missing_scopes", "challenge"}`
//! in that order, plus `"trace"` when explained (`docs/wire.md`). It is serialized straight
//! from [`Decision`] (scope names looked up while writing); nothing is built in between.
//! A [`Lead`] field goes first when the caller has one: the service's `"revision"`,
//! `scopegate check`'s `"line"` or `"file"`.

use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::decision::{Decision, DecisionDoc, Grant, TraceStep};
use crate::policy::Policy;
use crate::request::{Principal, Request, Superuser};
use crate::scope::ScopeSet;

/// A field written before a decision's own: where or when the decision was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lead<'a> {
    /// `"revision": N`, the store revision the service decided at (`docs/consistency.md`).
    Revision(u64),
    /// `"line": N`, the request's line in `scopegate check`'s input.
    Line(usize),
    /// `"file": "…"`, the request file `scopegate check` read it from.
    File(&'a str),
}

impl Lead<'_> {
    /// Writes the field into `out`, an open struct.
    fn write<S: SerializeStruct>(self, out: &mut S) -> Result<(), S::Error> {
        match self {
            Lead::Revision(r) => out.serialize_field("revision", &r),
            Lead::Line(n) => out.serialize_field("line", &n),
            Lead::File(f) => out.serialize_field("file", f),
        }
    }
}

/// A decision in its wire form, for any serde serializer (compact, pretty, a `Value`).
#[derive(Debug, Clone, Copy)]
pub struct DecisionJson<'a> {
    /// The decision.
    pub decision: &'a Decision,
    /// The policy naming its scopes.
    pub policy: &'a Policy,
    /// The explain trace, written as `trace` when present.
    pub trace: Option<&'a [TraceStep]>,
    /// A field written first, when present.
    pub lead: Option<Lead<'a>>,
}

impl<'a> DecisionJson<'a> {
    /// `decision` without a trace or a leading field.
    pub fn new(decision: &'a Decision, policy: &'a Policy) -> DecisionJson<'a> {
        DecisionJson {
            decision,
            policy,
            trace: None,
            lead: None,
        }
    }
}

/// The fields of a decision, in their order: the one place that names them.
#[allow(clippy::too_many_arguments, reason = "one argument per wire field")]
fn decision_fields<S: Serializer>(
    s: S,
    lead: Option<Lead<'_>>,
    allowed: bool,
    status: u16,
    reason: &str,
    grant: &impl Serialize,
    missing_scopes: &impl Serialize,
    challenge: Option<&str>,
    trace: Option<&[TraceStep]>,
) -> Result<S::Ok, S::Error> {
    let len = 6 + usize::from(trace.is_some()) + usize::from(lead.is_some());
    let mut out = s.serialize_struct("Decision", len)?;
    if let Some(lead) = lead {
        lead.write(&mut out)?;
    }
    out.serialize_field("allowed", &allowed)?;
    out.serialize_field("status", &status)?;
    out.serialize_field("reason", reason)?;
    out.serialize_field("grant", grant)?;
    out.serialize_field("missing_scopes", missing_scopes)?;
    out.serialize_field("challenge", &challenge)?;
    if let Some(trace) = trace {
        out.serialize_field("trace", trace)?;
    }
    out.end()
}

impl Serialize for DecisionJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.decision;
        decision_fields(
            s,
            self.lead,
            d.allowed(),
            d.status(),
            d.reason.as_str(),
            &d.grant.map(GrantCodes),
            &ScopeNames(d.missing_scopes, self.policy),
            d.challenge_header(self.policy).as_deref(),
            self.trace,
        )
    }
}

impl Serialize for DecisionDoc {
    /// The same JSON as [`DecisionJson`] (the document is the decision as data).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        decision_fields(
            s,
            None,
            self.allowed,
            self.status,
            self.reason,
            &self.grant,
            &self.missing_scopes,
            self.challenge.as_deref(),
            self.trace.as_deref(),
        )
    }
}

/// A grant path as its list of one or two codes (`["role_scope", "granular_grant"]`).
#[derive(Debug, Clone, Copy)]
pub struct GrantCodes(pub Grant);

impl Serialize for GrantCodes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let g = self.0;
        let mut out = s.serialize_seq(Some(1 + usize::from(g.granular.is_some())))?;
        out.serialize_element(g.path.as_str())?;
        if let Some(granular) = g.granular {
            out.serialize_element(granular.as_str())?;
        }
        out.end()
    }
}

/// Scope names, sorted.
struct ScopeNames<'a>(ScopeSet, &'a Policy);

impl Serialize for ScopeNames<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_empty() {
            return s.serialize_seq(Some(0))?.end();
        }
        s.collect_seq(self.1.scopes.sorted_names(self.0))
    }
}

/// Appends `decision`'s compact JSON to `out`, `lead` first when given.
pub fn write_decision(
    out: &mut Vec<u8>,
    decision: &Decision,
    policy: &Policy,
    lead: Option<Lead<'_>>,
) {
    let json = DecisionJson {
        lead,
        ..DecisionJson::new(decision, policy)
    };
    // Writing into a `Vec` cannot fail, and every field serializes.
    let _ = serde_json::to_writer(&mut *out, &json);
}

/// `{"revision": N, "decisions": [...]}` (without `"revision"` when `revision` is `None`),
/// compact, sized for `decisions` up front.
pub fn write_batch(
    decisions: impl ExactSizeIterator<Item = Decision>,
    policy: &Policy,
    revision: Option<u64>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(48 + decisions.len() * 128);
    out.push(b'{');
    if let Some(revision) = revision {
        // An integer is its own JSON.
        out.extend_from_slice(format!("\"revision\":{revision},").as_bytes());
    }
    out.extend_from_slice(b"\"decisions\":[");
    for (i, decision) in decisions.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_decision(&mut out, &decision, policy, None);
    }
    out.extend_from_slice(b"]}");
    out
}

/// A request in its wire form (as read, defaults filled in, scopes sorted), for the
/// decision log; `principal` replaces the principal when given (a bearer token's id).
#[derive(Debug, Clone, Copy)]
pub struct RequestJson<'a, P = ()> {
    /// The request.
    pub request: &'a Request,
    /// The policy naming its scopes.
    pub policy: &'a Policy,
    /// Written instead of the request's principal, when present.
    pub principal: Option<&'a P>,
}

impl<P: Serialize> Serialize for RequestJson<'_, P> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.request;
        let mut out = s.serialize_struct("Request", 6)?;
        match self.principal {
            Some(p) => out.serialize_field("principal", p)?,
            None => out.serialize_field("principal", &PrincipalJson(&r.principal, self.policy))?,
        }
        out.serialize_field("endpoint", &r.endpoint)?;
        out.serialize_field("method", r.method.as_str())?;
        out.serialize_field("organization", &r.organization)?;
        out.serialize_field("project", &r.project)?;
        out.serialize_field("team", &r.team)?;
        out.end()
    }
}

/// A principal in its wire form.
struct PrincipalJson<'a>(&'a Principal, &'a Policy);

impl Serialize for PrincipalJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let names = |set: ScopeSet| ScopeNames(set, self.1);
        let mut out = s.serialize_struct("Principal", 5)?;
        match self.0 {
            Principal::Anonymous => out.serialize_field("kind", "anonymous")?,
            Principal::System => out.serialize_field("kind", "system")?,
            Principal::Session {
                user,
                superuser,
                staff,
                sso_ok,
            } => {
                out.serialize_field("kind", "session")?;
                out.serialize_field("user", user)?;
                let superuser = match superuser {
                    Superuser::None => "none",
                    Superuser::Read => "read",
                    Superuser::Write => "write",
                };
                out.serialize_field("superuser", superuser)?;
                out.serialize_field("staff", staff)?;
                out.serialize_field("sso_ok", sso_ok)?;
            }
            Principal::UserToken {
                user,
                scopes,
                organization,
            } => {
                out.serialize_field("kind", "user_token")?;
                out.serialize_field("user", user)?;
                out.serialize_field("scopes", &names(*scopes))?;
                out.serialize_field("organization", organization)?;
            }
            Principal::OrgToken {
                organization,
                scopes,
                creator,
            } => {
                out.serialize_field("kind", "org_token")?;
                out.serialize_field("organization", organization)?;
                out.serialize_field("scopes", &names(*scopes))?;
                out.serialize_field("creator", creator)?;
            }
            Principal::ApiKey {
                organization,
                scopes,
            } => {
                out.serialize_field("kind", "api_key")?;
                out.serialize_field("organization", organization)?;
                out.serialize_field("scopes", &names(*scopes))?;
            }
            Principal::Integration { integration } => {
                out.serialize_field("kind", "integration")?;
                out.serialize_field("integration", integration)?;
            }
        }
        out.end()
    }
}
