//! The store's domain types: what its methods take and return.

use std::fmt;

use crate::TokenKind;

/// Who a granular edit lists: a full replacement of the member grants of a kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantSelection {
    /// By user id, Sentry's `replayAccessMembers`: only members with a user are considered,
    /// on both sides (grants of pending invites are left alone).
    UserIds(Vec<i64>),
    /// By member id (`replayAccessMemberIds`, the generic route), pending invites included.
    MemberIds(Vec<i64>),
}

/// A change to a granular resource kind, applied by
/// [`Store::edit_org`](crate::Store::edit_org) in the same transaction as the organization's
/// other fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GranularEdit {
    /// The resource kind (`replay`).
    pub kind: String,
    /// The organization option holding the kind's toggle.
    pub toggle_option: String,
    /// The new toggle value, if it changes.
    pub toggle: Option<bool>,
    /// The new member list, if it changes.
    pub members: Option<GrantSelection>,
    /// The new team list (slugs), if it changes.
    pub teams: Option<Vec<String>>,
    /// The key of the toggle in the `org.edit` audit entry (`hasGranularReplayPermissions`).
    pub toggle_field: String,
    /// The key of the member list in the `org.edit` audit entry (`replayAccessMembers`).
    pub members_field: String,
}

/// Who made a change, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user, when the change was made by a user (directly or through their token).
    pub user_id: Option<i64>,
    /// A display label (`user:3`, `org-token:7`, `system`).
    pub label: String,
}

impl Actor {
    /// The system itself (the CLI, the demo bootstrap).
    pub fn system() -> Actor {
        Actor {
            user_id: None,
            label: "system".into(),
        }
    }

    /// A user.
    pub fn user(id: i64) -> Actor {
        Actor {
            user_id: Some(id),
            label: format!("user:{id}"),
        }
    }
}

/// One page of a list: skip `offset` rows, return at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Rows to skip.
    pub offset: u32,
    /// Rows to return.
    pub limit: u32,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            offset: 0,
            limit: 100,
        }
    }
}

/// A user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Email, unique.
    pub email: String,
    /// A superuser of the installation.
    pub is_superuser: bool,
    /// Has two-factor authentication.
    pub has_2fa: bool,
}

/// An organization.
#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    /// Id.
    pub id: i64,
    /// Slug, unique.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Options by key (`sentry:events_member_admin`, …).
    pub options: serde_json::Map<String, serde_json::Value>,
    /// Enabled features.
    pub features: Vec<String>,
    /// Any member may see every team and project.
    pub open_membership: bool,
    /// Members must have 2FA.
    pub require_2fa: bool,
    /// Members must sign in through SSO.
    pub require_sso: bool,
    /// Creation time, seconds since the epoch.
    pub created_at: i64,
    /// When the organization is pending deletion (Sentry's `pending_deletion` status): the
    /// time its removal is due, seconds since the epoch. `None`: active.
    pub deletion_scheduled_at: Option<i64>,
}

impl Organization {
    /// Whether the organization is pending deletion.
    pub fn pending_deletion(&self) -> bool {
        self.deletion_scheduled_at.is_some()
    }
}

/// A change to an organization's details; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrgUpdate {
    /// New name.
    pub name: Option<String>,
    /// New slug.
    pub slug: Option<String>,
    /// New open-membership flag.
    pub open_membership: Option<bool>,
    /// New 2FA requirement.
    pub require_2fa: Option<bool>,
    /// New SSO requirement.
    pub require_sso: Option<bool>,
    /// Options to set (merged into the stored ones).
    pub options: serde_json::Map<String, serde_json::Value>,
    /// Restores an organization pending deletion (Sentry's `cancelDeletion`), audited as
    /// `org.restore`; nothing for an active one. Not counted by [`OrgUpdate::is_empty`].
    pub cancel_deletion: bool,
}

impl OrgUpdate {
    /// Whether the update changes nothing.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.slug.is_none()
            && self.open_membership.is_none()
            && self.require_2fa.is_none()
            && self.require_sso.is_none()
            && self.options.is_empty()
    }
}

/// A member of an organization, or a pending invite (no user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Id.
    pub id: i64,
    /// The organization.
    pub organization_id: i64,
    /// The user; `None` for a pending invite.
    pub user_id: Option<i64>,
    /// The invited email, or the user's email.
    pub email: Option<String>,
    /// The org role id.
    pub role: String,
    /// Disabled over the member limit.
    pub member_limit_restricted: bool,
    /// SSO identity linked.
    pub sso_linked: bool,
    /// Creation time, seconds since the epoch.
    pub created_at: i64,
    /// The user who sent the invite (Sentry's `inviter_id`), if known.
    pub inviter_id: Option<i64>,
    /// When a pending invite expires, seconds since the epoch (Sentry's `token_expires_at`).
    pub invite_expires_at: Option<i64>,
}

impl Member {
    /// A pending invite whose expiry has passed at `now` (Sentry's `token_expired`).
    pub fn invite_expired(&self, now: i64) -> bool {
        self.user_id.is_none() && self.invite_expires_at.is_some_and(|t| t <= now)
    }
}

/// How long an invite stays valid, in seconds (Sentry's `INVITE_DAYS_VALID`, 30 days).
pub const INVITE_VALID_SECS: i64 = 30 * 24 * 3600;

/// The member-counting rules a removal or a role change keeps; the store checks them under
/// the organization's lock, in the transaction of the change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberGuard {
    /// The top org role (Sentry's `top_dog`, `owner`): the last member with a user holding
    /// it is neither removed nor given another role.
    pub owner_role: String,
    /// The roles that count as "owner or manager" (their scopes include `org:write`): the
    /// last member with a user holding one of them is not removed.
    pub write_roles: Vec<String>,
}

/// A member edit (`PUT …/members/{id}/`), applied in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberEdit {
    /// The new org role, if it changes.
    pub role: Option<String>,
    /// Explicit team roles reset to `None` when the org role changes (those at or below the
    /// new role's minimum team role, as Sentry's `_change_org_role` does).
    pub clear_team_roles: Vec<String>,
    /// The member's teams, a full replacement: team id and explicit team role.
    pub teams: Option<Vec<(i64, Option<String>)>>,
}

/// A new invite.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewInvite {
    /// The address.
    pub email: String,
    /// The org role.
    pub role: String,
    /// The teams the invitee joins (on acceptance, as a member of them already).
    pub teams: Vec<i64>,
}

/// What became of a guarded member change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guarded<T> {
    /// Done and committed.
    Done(T),
    /// Refused: it would remove the only remaining owner or manager (or owner).
    LastOwner,
}

/// What became of an invite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invited {
    /// Created and committed.
    Created(Member),
    /// The address already has a pending invite.
    AlreadyInvited,
    /// The address belongs to a member already.
    AlreadyMember,
}

/// A member's team, as member details show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberTeam {
    /// The team id.
    pub team_id: i64,
    /// The team slug.
    pub slug: String,
    /// The explicit team role.
    pub role: Option<String>,
}

/// A team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    /// Id.
    pub id: i64,
    /// The organization.
    pub organization_id: i64,
    /// Slug, unique within the organization.
    pub slug: String,
    /// Display name.
    pub name: String,
}

/// A member's membership of a team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamMembership {
    /// The team.
    pub team_id: i64,
    /// The member.
    pub member_id: i64,
    /// The explicit team role; `None` means the minimum for the member's org role.
    pub role: Option<String>,
}

/// A request to join a team (Sentry's `OrganizationAccessRequest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequest {
    /// Id.
    pub id: i64,
    /// The organization.
    pub organization_id: i64,
    /// The team to join.
    pub team_id: i64,
    /// The member who would join.
    pub member_id: i64,
    /// The user who asked on the member's behalf; `None` when the member asked themselves.
    pub requester_user_id: Option<i64>,
    /// Creation time, seconds since the epoch.
    pub created_at: i64,
}

/// A project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// Id.
    pub id: i64,
    /// The organization.
    pub organization_id: i64,
    /// Slug, unique within the organization.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Inactive projects are not found.
    pub active: bool,
    /// Owning team ids.
    pub teams: Vec<i64>,
}

/// A stored API token: never its secret, only the hash of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    /// Id.
    pub id: i64,
    /// User token or org auth token.
    pub kind: TokenKind,
    /// The owner of a user token; the creator of an org auth token, whose access bounds it
    /// (`None`: no creator — made before creators were kept, imported, or by the CLI).
    pub user_id: Option<i64>,
    /// The organization of an org auth token, or the one a user token is bound to.
    pub organization_id: Option<i64>,
    /// The slug of `organization_id`.
    pub organization_slug: Option<String>,
    /// Display name (`None`: a personal token created without one).
    pub name: Option<String>,
    /// The first characters of the secret, for display.
    pub prefix: String,
    /// The last four characters of the secret, for display (`None` for tokens created
    /// before they were kept).
    pub last_characters: Option<String>,
    /// SHA-256 of the secret, lower-case hex.
    pub hash: String,
    /// Stored scopes (implied scopes already added), sorted.
    pub scopes: Vec<String>,
    /// Creation time, seconds since the epoch.
    pub created_at: i64,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The hash is not a secret, but it is an offline-guessable credential verifier:
        // keep it out of logs too.
        f.debug_struct("Token")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("user_id", &self.user_id)
            .field("organization_id", &self.organization_id)
            .field("name", &self.name)
            .field("prefix", &self.prefix)
            .field("last_characters", &self.last_characters)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// A token to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    /// User token or org auth token.
    pub kind: TokenKind,
    /// The owner of a user token; the creator of an org auth token (its access bounds the
    /// token), `None` for an org token with no creator.
    pub user_id: Option<i64>,
    /// The organization (required for org tokens; binds a user token when set).
    pub organization_id: Option<i64>,
    /// Display name (`None`: no name).
    pub name: Option<String>,
    /// Scopes to store, already validated and expanded by the caller.
    pub scopes: Vec<String>,
}

/// An audit log entry.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Id (increasing).
    pub id: i64,
    /// The organization.
    pub organization_id: Option<i64>,
    /// The acting user, if any.
    pub actor_user_id: Option<i64>,
    /// The actor's label.
    pub actor: String,
    /// The event (`member.invite`, `org.edit`, …).
    pub event: String,
    /// What it acted on (`member:4`, `team:backend`, …).
    pub target: String,
    /// Event details.
    pub data: serde_json::Value,
    /// Time, seconds since the epoch.
    pub created_at: i64,
}

/// A granular grant: a member or a team on a resource kind's allowlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GranularGrant {
    /// The resource kind (`replay`).
    pub kind: String,
    /// The member (exactly one of `member_id` and `team_id`).
    pub member_id: Option<i64>,
    /// The team.
    pub team_id: Option<i64>,
}

/// An integration (a Sentry App): an app holding scopes in every organization it is
/// installed on (with global reach: every team and project).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integration {
    /// Id: the `integration` of an `{"kind": "integration"}` principal.
    pub id: i64,
    /// Slug, unique.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Stored scopes (implied scopes already added by the caller).
    pub scopes: Vec<String>,
    /// The organizations it is installed on, by id, ascending.
    pub installed_on: Vec<i64>,
    /// Creation time, seconds since the epoch.
    pub created_at: i64,
}

/// An integration to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIntegration {
    /// Slug, unique.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Scopes to store, already validated and expanded by the caller (as for [`NewToken`]).
    pub scopes: Vec<String>,
}
