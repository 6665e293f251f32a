//! Wire shapes (docs/wire.md): the JSON documents `scopegate check` and the service's
//! `/v1/check` read and write. These are plain serde types, converted at the edge into the
//! engine's own types ([`crate::world::World`], [`crate::request::Request`]).

use serde::{Deserialize, Serialize};

/// The data a decision reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorldDoc {
    /// Organizations.
    #[serde(default)]
    pub organizations: Vec<OrganizationDoc>,
    /// Users.
    #[serde(default)]
    pub users: Vec<UserDoc>,
    /// Organization members (pending invites have no user).
    #[serde(default)]
    pub members: Vec<MemberDoc>,
    /// Teams.
    #[serde(default)]
    pub teams: Vec<TeamDoc>,
    /// Projects.
    #[serde(default)]
    pub projects: Vec<ProjectDoc>,
    /// Integrations (Sentry Apps).
    #[serde(default)]
    pub integrations: Vec<IntegrationDoc>,
    /// Granular grants, by member or by team.
    #[serde(default)]
    pub granular_grants: Vec<GrantDoc>,
}

/// An organization.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationDoc {
    /// Id.
    pub id: u64,
    /// Slug, unique.
    pub slug: String,
    /// Enabled features.
    #[serde(default)]
    pub features: Vec<String>,
    /// Options by key (values are JSON; truthiness as in Python).
    #[serde(default)]
    pub options: serde_json::Map<String, serde_json::Value>,
    /// Any member may see every team and project.
    #[serde(default)]
    pub open_membership: bool,
    /// Members must have two-factor authentication.
    #[serde(default)]
    pub require_2fa: bool,
    /// Members must sign in through SSO.
    #[serde(default)]
    pub require_sso: bool,
}

/// A user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserDoc {
    /// Id.
    pub id: u64,
    /// Whether the user has two-factor authentication set up.
    #[serde(default = "yes")]
    pub has_2fa: bool,
}

fn yes() -> bool {
    true
}

/// A session's `sso_ok` when the request leaves it out: SSO done (the one default, shared
/// by [`PrincipalDoc`] and [`crate::codec::read`]).
pub const DEFAULT_SSO_OK: bool = true;

fn default_sso_ok() -> bool {
    DEFAULT_SSO_OK
}

/// A member of an organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberDoc {
    /// Id.
    pub id: u64,
    /// The organization's id.
    pub organization: u64,
    /// The user's id; `null` for a pending invite.
    #[serde(default)]
    pub user: Option<u64>,
    /// The org role id.
    pub role: String,
    /// Team memberships.
    #[serde(default)]
    pub teams: Vec<MemberTeamDoc>,
    /// Flags.
    #[serde(default)]
    pub flags: MemberFlagsDoc,
}

/// A member's membership of a team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberTeamDoc {
    /// The team's id.
    pub team: u64,
    /// The explicit team role; `null` means the minimum for the member's org role.
    #[serde(default)]
    pub role: Option<String>,
}

/// Member flags.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberFlagsDoc {
    /// Disabled because the organization is over its member limit.
    #[serde(default)]
    pub member_limit_restricted: bool,
    /// The member's SSO identity is linked and valid.
    #[serde(default)]
    pub sso_linked: bool,
}

/// A team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamDoc {
    /// Id.
    pub id: u64,
    /// The organization's id.
    pub organization: u64,
    /// Slug, unique within the organization.
    pub slug: String,
}

/// A project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectDoc {
    /// Id.
    pub id: u64,
    /// The organization's id.
    pub organization: u64,
    /// Slug, unique within the organization.
    pub slug: String,
    /// Owning teams.
    #[serde(default)]
    pub teams: Vec<u64>,
    /// Inactive projects are not found.
    #[serde(default = "yes")]
    pub active: bool,
}

/// An integration (a Sentry App): its scopes and where it is installed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationDoc {
    /// Id.
    pub id: u64,
    /// The app's scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Organization ids it is installed on.
    #[serde(default)]
    pub installed_on: Vec<u64>,
}

/// A granular grant: a member or a team on a resource kind's allowlist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantDoc {
    /// The organization's id.
    pub organization: u64,
    /// The resource kind (`replay`).
    pub kind: String,
    /// The member's id (exactly one of `member` and `team`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<u64>,
    /// The team's id (exactly one of `member` and `team`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<u64>,
}

/// A request to decide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestDoc {
    /// Who is asking.
    pub principal: PrincipalDoc,
    /// The manifest endpoint name.
    pub endpoint: String,
    /// The HTTP method, upper case.
    pub method: String,
    /// The organization slug named by the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// The project slug named by the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The team slug named by the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

/// Superuser mode of a session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuperuserDoc {
    /// Not an active superuser.
    #[default]
    None,
    /// Active read-only superuser.
    Read,
    /// Active read-write superuser.
    Write,
}

/// A principal, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PrincipalDoc {
    /// No credential.
    Anonymous,
    /// A signed-in user.
    Session {
        /// The user's id.
        user: u64,
        /// Active superuser mode.
        #[serde(default)]
        superuser: SuperuserDoc,
        /// Active staff mode.
        #[serde(default)]
        staff: bool,
        /// SSO completed for the organization in this session.
        #[serde(default = "default_sso_ok")]
        sso_ok: bool,
    },
    /// A personal user token.
    UserToken {
        /// The user's id.
        user: u64,
        /// The token's scopes.
        #[serde(default)]
        scopes: Vec<String>,
        /// The organization slug the token is bound to, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        organization: Option<String>,
    },
    /// An organization auth token.
    OrgToken {
        /// The organization slug of the token.
        organization: String,
        /// The token's scopes.
        #[serde(default)]
        scopes: Vec<String>,
        /// The user who minted the token: the token is never allowed where this user is
        /// denied (`docs/decision.md` §7). Absent for tokens with no creator (imported, or
        /// made by the CLI).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        creator: Option<u64>,
    },
    /// A legacy API key.
    ApiKey {
        /// The organization slug of the key.
        organization: String,
        /// The key's scopes.
        #[serde(default)]
        scopes: Vec<String>,
    },
    /// An integration's installation token.
    Integration {
        /// The integration's id.
        integration: u64,
    },
    /// The system itself.
    System,
}
