//! Requests and principals, in the engine's own types (scopes as bits).

use std::fmt;

use crate::method::Method;
use crate::policy::Policy;
use crate::scope::ScopeSet;
use crate::wire::{PrincipalDoc, RequestDoc};

/// Active superuser mode of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Superuser {
    /// Not an active superuser.
    #[default]
    None,
    /// Read-only: the read-only scopes, safe methods only.
    Read,
    /// Read-write: every scope.
    Write,
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// No credential.
    Anonymous,
    /// A signed-in user.
    Session {
        /// The user's id.
        user: u64,
        /// Active superuser mode.
        superuser: Superuser,
        /// Active staff mode.
        staff: bool,
        /// SSO completed for the organization.
        sso_ok: bool,
    },
    /// A personal user token.
    UserToken {
        /// The user's id.
        user: u64,
        /// The token's scopes.
        scopes: ScopeSet,
        /// The organization slug the token is bound to.
        organization: Option<String>,
    },
    /// An organization auth token.
    OrgToken {
        /// The token's organization slug.
        organization: String,
        /// The token's scopes.
        scopes: ScopeSet,
        /// The user who minted it, whose access bounds it (`None`: no creator).
        creator: Option<u64>,
    },
    /// A legacy API key.
    ApiKey {
        /// The key's organization slug.
        organization: String,
        /// The key's scopes.
        scopes: ScopeSet,
    },
    /// An integration's installation token.
    Integration {
        /// The integration's id.
        integration: u64,
    },
    /// The system itself.
    System,
}

/// A request to decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Who is asking.
    pub principal: Principal,
    /// The manifest endpoint name.
    pub endpoint: String,
    /// The method.
    pub method: Method,
    /// The organization slug named by the URL.
    pub organization: Option<String>,
    /// The project slug named by the URL.
    pub project: Option<String>,
    /// The team slug named by the URL.
    pub team: Option<String>,
}

/// A request that does not fit the policy: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestError {
    /// The field, e.g. `principal.scopes`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.field, self.message)
    }
}

impl std::error::Error for RequestError {}

impl Request {
    /// Converts a request built in code ([`RequestDoc`]), checking its method and scope names against `policy`.
    pub fn from_doc(doc: RequestDoc, policy: &Policy) -> Result<Request, RequestError> {
        let method = doc.method.parse::<Method>().map_err(|e| RequestError {
            field: "method".into(),
            message: e.to_string(),
        })?;
        let scopes = |names: &[String]| {
            scope_set(policy, names.iter().map(String::as_str)).map_err(|message| RequestError {
                field: "principal.scopes".into(),
                message,
            })
        };
        let principal = match doc.principal {
            PrincipalDoc::Anonymous => Principal::Anonymous,
            PrincipalDoc::Session {
                user,
                superuser,
                staff,
                sso_ok,
            } => Principal::Session {
                user,
                superuser: superuser.into(),
                staff,
                sso_ok,
            },
            PrincipalDoc::UserToken {
                user,
                scopes: s,
                organization,
            } => Principal::UserToken {
                user,
                scopes: scopes(&s)?,
                organization,
            },
            PrincipalDoc::OrgToken {
                organization,
                scopes: s,
                creator,
            } => Principal::OrgToken {
                organization,
                scopes: scopes(&s)?,
                creator,
            },
            PrincipalDoc::ApiKey {
                organization,
                scopes: s,
            } => Principal::ApiKey {
                organization,
                scopes: scopes(&s)?,
            },
            PrincipalDoc::Integration { integration } => Principal::Integration { integration },
            PrincipalDoc::System => Principal::System,
        };
        Ok(Request {
            principal,
            endpoint: doc.endpoint,
            method,
            organization: doc.organization,
            project: doc.project,
            team: doc.team,
        })
    }

    /// Parses a JSON request into a [`RequestDoc`] and converts it against `policy` (serde's
    /// messages, for tools and tests; the CLI and the service read JSON with
    /// [`crate::codec::read`], whose errors name the field).
    pub fn from_json(text: &str, policy: &Policy) -> Result<Request, RequestError> {
        let doc: RequestDoc = serde_json::from_str(text).map_err(|e| RequestError {
            field: "request".into(),
            message: e.to_string(),
        })?;
        Request::from_doc(doc, policy)
    }
}

/// `names` as a scope set of `policy`, or the error naming the first unknown one.
pub fn scope_set<'n>(
    policy: &Policy,
    names: impl IntoIterator<Item = &'n str>,
) -> Result<ScopeSet, String> {
    policy
        .scopes
        .parse_set(names)
        .map_err(|bad| format!("unknown scope `{bad}`"))
}
