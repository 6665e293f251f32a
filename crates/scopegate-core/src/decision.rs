//! Decisions: a value, never an error path.

use serde::Serialize;

use crate::policy::Policy;
use crate::scope::ScopeSet;

/// Why a decision came out as it did. `Allowed` is the only reason with `allowed: true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// Every step passed.
    Allowed,
    /// Unknown endpoint, organization, project or team, or an inactive project.
    NotFound,
    /// No credential (or one naming an unknown user or integration).
    Unauthenticated,
    /// A user token bound to another organization.
    TokenOrganizationMismatch,
    /// SSO required and not satisfied.
    SsoRequired,
    /// 2FA required and missing.
    TwoFactorRequired,
    /// The member is disabled over the member limit.
    MemberDisabledOverLimit,
    /// The token gate: no token scope is in the scope map.
    InsufficientScope,
    /// Authenticated, not a member, no other access.
    NotAMember,
    /// An org token, API key or integration of (or for) another organization.
    WrongOrganization,
    /// A read-only superuser on an unsafe method, with no other access.
    SuperuserReadOnly,
    /// The object check: no mapped scope held.
    MissingScope,
    /// Scopes held but the project is out of reach.
    NoProjectAccess,
    /// Scopes held but the team is out of reach.
    NoTeamAccess,
    /// The granular guard.
    GranularAccessDenied,
    /// An org token whose creator would be denied the same request.
    CreatorDenied,
}

impl Reason {
    /// The stable code.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Allowed => "allowed",
            Reason::NotFound => "not_found",
            Reason::Unauthenticated => "unauthenticated",
            Reason::TokenOrganizationMismatch => "token_organization_mismatch",
            Reason::SsoRequired => "sso_required",
            Reason::TwoFactorRequired => "2fa_required",
            Reason::MemberDisabledOverLimit => "member_disabled_over_limit",
            Reason::InsufficientScope => "insufficient_scope",
            Reason::NotAMember => "not_a_member",
            Reason::WrongOrganization => "wrong_organization",
            Reason::SuperuserReadOnly => "superuser_read_only",
            Reason::MissingScope => "missing_scope",
            Reason::NoProjectAccess => "no_project_access",
            Reason::NoTeamAccess => "no_team_access",
            Reason::GranularAccessDenied => "granular_access_denied",
            Reason::CreatorDenied => "creator_denied",
        }
    }

    /// The `detail` of a denial's JSON body, as Sentry words it where it has a message
    /// (`""` for [`Reason::Allowed`]). The service and `scopegate-tower` answer denials
    /// with it, so that both word them alike.
    pub fn detail(self) -> &'static str {
        match self {
            Reason::Allowed => "",
            Reason::NotFound => "The requested resource does not exist",
            Reason::Unauthenticated => "Authentication credentials were not provided.",
            Reason::TokenOrganizationMismatch => "Unauthorized organization access.",
            Reason::SsoRequired => "Must login via SSO",
            Reason::TwoFactorRequired => {
                "Organization requires two-factor authentication to be enabled"
            }
            Reason::MemberDisabledOverLimit => {
                "Member is disabled over the organization's member limit"
            }
            Reason::InsufficientScope
            | Reason::NotAMember
            | Reason::WrongOrganization
            | Reason::SuperuserReadOnly
            | Reason::MissingScope
            | Reason::NoProjectAccess
            | Reason::NoTeamAccess
            | Reason::GranularAccessDenied
            | Reason::CreatorDenied => "You do not have permission to perform this action.",
        }
    }

    /// The reason whose stable code ([`Reason::as_str`]) is `code`.
    pub fn from_code(code: &str) -> Option<Reason> {
        Reason::ALL.iter().copied().find(|r| r.as_str() == code)
    }

    /// Every reason.
    pub const ALL: [Reason; 16] = [
        Reason::Allowed,
        Reason::NotFound,
        Reason::Unauthenticated,
        Reason::TokenOrganizationMismatch,
        Reason::SsoRequired,
        Reason::TwoFactorRequired,
        Reason::MemberDisabledOverLimit,
        Reason::InsufficientScope,
        Reason::NotAMember,
        Reason::WrongOrganization,
        Reason::SuperuserReadOnly,
        Reason::MissingScope,
        Reason::NoProjectAccess,
        Reason::NoTeamAccess,
        Reason::GranularAccessDenied,
        Reason::CreatorDenied,
    ];

    /// The HTTP status of the reason.
    pub fn status(self) -> u16 {
        match self {
            Reason::Allowed => 200,
            Reason::NotFound => 404,
            Reason::Unauthenticated
            | Reason::TokenOrganizationMismatch
            | Reason::SsoRequired
            | Reason::TwoFactorRequired
            | Reason::MemberDisabledOverLimit => 401,
            Reason::InsufficientScope
            | Reason::NotAMember
            | Reason::WrongOrganization
            | Reason::SuperuserReadOnly
            | Reason::MissingScope
            | Reason::NoProjectAccess
            | Reason::NoTeamAccess
            | Reason::GranularAccessDenied
            | Reason::CreatorDenied => 403,
        }
    }
}

/// Which path granted access. When several classes guard an endpoint, the decision
/// reports the last path in this order that any class needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GrantPath {
    /// An `OPTIONS` request, allowed before any check.
    Preflight,
    /// Only object-less classes guard the endpoint and the caller is authenticated.
    Authenticated,
    /// A scope of the member's org role.
    RoleScope,
    /// A scope of the member's team role on the object's team.
    TeamRoleScope,
    /// An organization auth token of the organization.
    OrgToken,
    /// A legacy API key of the organization.
    ApiKey,
    /// An integration installed on the organization.
    Integration,
    /// An active superuser.
    Superuser,
    /// Active staff on a staff-aware class.
    Staff,
    /// The system.
    System,
}

impl GrantPath {
    /// Every grant path.
    pub const ALL: [GrantPath; 10] = [
        GrantPath::Preflight,
        GrantPath::Authenticated,
        GrantPath::RoleScope,
        GrantPath::TeamRoleScope,
        GrantPath::OrgToken,
        GrantPath::ApiKey,
        GrantPath::Integration,
        GrantPath::Superuser,
        GrantPath::Staff,
        GrantPath::System,
    ];

    /// The stable code.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantPath::Preflight => "preflight",
            GrantPath::Authenticated => "authenticated",
            GrantPath::RoleScope => "role_scope",
            GrantPath::TeamRoleScope => "team_role_scope",
            GrantPath::OrgToken => "org_token",
            GrantPath::ApiKey => "api_key",
            GrantPath::Integration => "integration",
            GrantPath::Superuser => "superuser",
            GrantPath::Staff => "staff",
            GrantPath::System => "system",
        }
    }
}

/// How a granular guard let the request through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GranularPath {
    /// The caller is on the allowlist (directly or through a team).
    GranularGrant,
    /// A bypass principal (superuser, system, or a policy bypass entry).
    GranularBypass,
    /// The feature or the toggle is off.
    GranularOff,
}

impl GranularPath {
    /// Every granular path.
    pub const ALL: [GranularPath; 3] = [
        GranularPath::GranularGrant,
        GranularPath::GranularBypass,
        GranularPath::GranularOff,
    ];

    /// The stable code.
    pub fn as_str(self) -> &'static str {
        match self {
            GranularPath::GranularGrant => "granular_grant",
            GranularPath::GranularBypass => "granular_bypass",
            GranularPath::GranularOff => "granular_off",
        }
    }
}

/// The grant of an allowed decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Grant {
    /// The access path.
    pub path: GrantPath,
    /// The granular guard's path, when one ran.
    pub granular: Option<GranularPath>,
}

/// The outcome of one request. Allocation-free: scope lists are bit sets, rendered to
/// names only when serialized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decision {
    /// The reason (its status is [`Reason::status`]).
    pub reason: Reason,
    /// The grant, when allowed.
    pub grant: Option<Grant>,
    /// The scopes that would have admitted the request (the scope map of the failing
    /// class), for `insufficient_scope` and `missing_scope`.
    pub missing_scopes: ScopeSet,
    /// Set for `insufficient_scope`: the scopes of the `WWW-Authenticate` challenge.
    pub challenge: Option<ScopeSet>,
}

impl Decision {
    /// An allowed decision.
    pub fn allow(grant: Grant) -> Decision {
        Decision {
            reason: Reason::Allowed,
            grant: Some(grant),
            missing_scopes: ScopeSet::EMPTY,
            challenge: None,
        }
    }

    /// A denial without scopes.
    pub fn deny(reason: Reason) -> Decision {
        Decision {
            reason,
            grant: None,
            missing_scopes: ScopeSet::EMPTY,
            challenge: None,
        }
    }

    /// Whether the request is allowed.
    pub fn allowed(&self) -> bool {
        self.reason == Reason::Allowed
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.reason.status()
    }

    /// The `WWW-Authenticate` header value, when the decision carries a challenge.
    pub fn challenge_header(&self, policy: &Policy) -> Option<String> {
        self.challenge.map(|set| {
            format!(
                "Bearer error=\"insufficient_scope\", scope=\"{}\"",
                policy.scopes.sorted_names(set).join(" ")
            )
        })
    }

    /// The decision as data (docs/wire.md; its JSON is written by [`crate::codec::write`]).
    pub fn to_doc(&self, policy: &Policy) -> DecisionDoc {
        DecisionDoc {
            allowed: self.allowed(),
            status: self.status(),
            reason: self.reason.as_str(),
            grant: self.grant.map(|g| {
                let mut v = vec![g.path.as_str()];
                if let Some(gr) = g.granular {
                    v.push(gr.as_str());
                }
                v
            }),
            missing_scopes: policy
                .scopes
                .sorted_names(self.missing_scopes)
                .into_iter()
                .map(str::to_string)
                .collect(),
            challenge: self.challenge_header(policy),
            trace: None,
        }
    }
}

/// A decision as data (for comparing decisions in tests and tools); serialized by
/// [`crate::codec::write`], the same JSON as [`crate::codec::DecisionJson`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionDoc {
    /// Whether the request is allowed.
    pub allowed: bool,
    /// 200, 401, 403 or 404.
    pub status: u16,
    /// The stable reason code.
    pub reason: &'static str,
    /// The grant path (and the granular path as a second element), when allowed.
    pub grant: Option<Vec<&'static str>>,
    /// Sorted scope names.
    pub missing_scopes: Vec<String>,
    /// The `WWW-Authenticate` value, for `insufficient_scope`.
    pub challenge: Option<String>,
    /// The explain trace, when asked for.
    pub trace: Option<Vec<TraceStep>>,
}

/// One step of an explain trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceStep {
    /// The step (`endpoint`, `preflight`, `authentication`, `token_gate`, `objects`,
    /// `access`, `member_state`, `object_check`, `granular`, `decision`).
    pub step: String,
    /// `pass` or `stop`.
    pub outcome: String,
    /// What the step looked at and why it passed or stopped.
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::Reason;

    #[test]
    fn every_code_parses_back_to_its_reason() {
        for r in Reason::ALL {
            assert_eq!(Reason::from_code(r.as_str()), Some(r));
        }
        assert_eq!(Reason::from_code("nope"), None);
    }

    #[test]
    fn only_allowed_has_no_detail() {
        for r in Reason::ALL {
            assert_eq!(r.detail().is_empty(), r == Reason::Allowed, "{r:?}");
        }
    }
}
