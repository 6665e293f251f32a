//! The rows read from the database, and their conversions into the store's types.

use crate::{
    AuditEntry, GranularGrant, Integration, Member, Organization, Project, Result, StoreError,
    Team, TeamMembership, Token, TokenKind, User,
};

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    pub(crate) id: i64,
    pub(crate) email: String,
    pub(crate) is_superuser: bool,
    pub(crate) has_2fa: bool,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> User {
        User {
            id: r.id,
            email: r.email,
            is_superuser: r.is_superuser,
            has_2fa: r.has_2fa,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct OrgRow {
    pub(crate) id: i64,
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) options: String,
    pub(crate) features: String,
    pub(crate) open_membership: bool,
    pub(crate) require_2fa: bool,
    pub(crate) require_sso: bool,
    pub(crate) created_at: i64,
    pub(crate) deletion_scheduled_at: Option<i64>,
}

impl TryFrom<OrgRow> for Organization {
    type Error = StoreError;
    fn try_from(r: OrgRow) -> Result<Organization> {
        Ok(Organization {
            id: r.id,
            options: serde_json::from_str(&r.options)
                .map_err(|e| StoreError::Corrupt(format!("organization options: {e}")))?,
            features: serde_json::from_str(&r.features)
                .map_err(|e| StoreError::Corrupt(format!("organization features: {e}")))?,
            slug: r.slug,
            name: r.name,
            open_membership: r.open_membership,
            require_2fa: r.require_2fa,
            require_sso: r.require_sso,
            created_at: r.created_at,
            deletion_scheduled_at: r.deletion_scheduled_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MemberRow {
    pub(crate) id: i64,
    pub(crate) organization_id: i64,
    pub(crate) user_id: Option<i64>,
    pub(crate) email: Option<String>,
    pub(crate) role: String,
    pub(crate) member_limit_restricted: bool,
    pub(crate) sso_linked: bool,
    pub(crate) created_at: i64,
    pub(crate) inviter_user_id: Option<i64>,
    pub(crate) invite_expires_at: Option<i64>,
}

impl From<MemberRow> for Member {
    fn from(r: MemberRow) -> Member {
        Member {
            id: r.id,
            organization_id: r.organization_id,
            user_id: r.user_id,
            email: r.email,
            role: r.role,
            member_limit_restricted: r.member_limit_restricted,
            sso_linked: r.sso_linked,
            created_at: r.created_at,
            inviter_id: r.inviter_user_id,
            invite_expires_at: r.invite_expires_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TeamRow {
    pub(crate) id: i64,
    pub(crate) organization_id: i64,
    pub(crate) slug: String,
    pub(crate) name: String,
}

impl From<TeamRow> for Team {
    fn from(r: TeamRow) -> Team {
        Team {
            id: r.id,
            organization_id: r.organization_id,
            slug: r.slug,
            name: r.name,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TeamMemberRow {
    pub(crate) team_id: i64,
    pub(crate) member_id: i64,
    pub(crate) role: Option<String>,
}

impl From<TeamMemberRow> for TeamMembership {
    fn from(r: TeamMemberRow) -> TeamMembership {
        TeamMembership {
            team_id: r.team_id,
            member_id: r.member_id,
            role: r.role,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ProjectRow {
    pub(crate) id: i64,
    pub(crate) organization_id: i64,
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) active: bool,
}

impl ProjectRow {
    pub(crate) fn with_teams(self, teams: Vec<i64>) -> Project {
        Project {
            id: self.id,
            organization_id: self.organization_id,
            slug: self.slug,
            name: self.name,
            active: self.active,
            teams,
        }
    }
}

pub(crate) const ACCESS_REQUEST_COLS: &str =
    "id, organization_id, team_id, member_id, requester_user_id, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct AccessRequestRow {
    pub(crate) id: i64,
    pub(crate) organization_id: i64,
    pub(crate) team_id: i64,
    pub(crate) member_id: i64,
    pub(crate) requester_user_id: Option<i64>,
    pub(crate) created_at: i64,
}

impl From<AccessRequestRow> for crate::AccessRequest {
    fn from(r: AccessRequestRow) -> crate::AccessRequest {
        crate::AccessRequest {
            id: r.id,
            organization_id: r.organization_id,
            team_id: r.team_id,
            member_id: r.member_id,
            requester_user_id: r.requester_user_id,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ProjectTeamRow {
    pub(crate) project_id: i64,
    pub(crate) team_id: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    pub(crate) id: i64,
    pub(crate) kind: String,
    pub(crate) user_id: Option<i64>,
    pub(crate) organization_id: Option<i64>,
    pub(crate) organization_slug: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) token_prefix: String,
    pub(crate) token_last_characters: Option<String>,
    pub(crate) token_hash: String,
    pub(crate) scopes: String,
    pub(crate) created_at: i64,
}

impl TryFrom<TokenRow> for Token {
    type Error = StoreError;
    fn try_from(r: TokenRow) -> Result<Token> {
        Ok(Token {
            id: r.id,
            kind: TokenKind::parse(&r.kind)
                .ok_or_else(|| StoreError::Corrupt(format!("token kind `{}`", r.kind)))?,
            user_id: r.user_id,
            organization_id: r.organization_id,
            organization_slug: r.organization_slug,
            name: r.name,
            prefix: r.token_prefix,
            last_characters: r.token_last_characters,
            hash: r.token_hash,
            scopes: serde_json::from_str(&r.scopes)
                .map_err(|e| StoreError::Corrupt(format!("token scopes: {e}")))?,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    pub(crate) id: i64,
    pub(crate) organization_id: Option<i64>,
    pub(crate) actor_user_id: Option<i64>,
    pub(crate) actor: String,
    pub(crate) event: String,
    pub(crate) target: String,
    pub(crate) data: String,
    pub(crate) created_at: i64,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StoreError;
    fn try_from(r: AuditRow) -> Result<AuditEntry> {
        Ok(AuditEntry {
            id: r.id,
            organization_id: r.organization_id,
            actor_user_id: r.actor_user_id,
            actor: r.actor,
            event: r.event,
            target: r.target,
            data: serde_json::from_str(&r.data)
                .map_err(|e| StoreError::Corrupt(format!("audit data: {e}")))?,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct GrantRow {
    pub(crate) kind: String,
    pub(crate) member_id: Option<i64>,
    pub(crate) team_id: Option<i64>,
}

impl From<GrantRow> for GranularGrant {
    fn from(r: GrantRow) -> GranularGrant {
        GranularGrant {
            kind: r.kind,
            member_id: r.member_id,
            team_id: r.team_id,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MemberUserRow {
    pub(crate) id: i64,
    pub(crate) user_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct IdSlugRow {
    pub(crate) id: i64,
    pub(crate) slug: String,
}

#[derive(sqlx::FromRow)]
pub(crate) struct KindRow {
    pub(crate) kind: String,
}

#[derive(sqlx::FromRow)]
pub(crate) struct IdRow {
    pub(crate) id: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct WorldUserRow {
    pub(crate) id: i64,
    pub(crate) has_2fa: bool,
}

#[derive(sqlx::FromRow)]
pub(crate) struct OrgGrantRow {
    pub(crate) organization_id: i64,
    pub(crate) kind: String,
    pub(crate) member_id: Option<i64>,
    pub(crate) team_id: Option<i64>,
}

pub(crate) const INTEGRATION_COLS: &str = "id, slug, name, scopes, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct IntegrationRow {
    pub(crate) id: i64,
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) scopes: String,
    pub(crate) created_at: i64,
}

impl IntegrationRow {
    /// The integration, installed on `installed_on` (ascending).
    pub(crate) fn with_installs(self, installed_on: Vec<i64>) -> Result<Integration> {
        Ok(Integration {
            id: self.id,
            scopes: serde_json::from_str(&self.scopes)
                .map_err(|e| StoreError::Corrupt(format!("integration scopes: {e}")))?,
            slug: self.slug,
            name: self.name,
            installed_on,
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct InstallRow {
    pub(crate) integration_id: i64,
    pub(crate) organization_id: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct CountsRow {
    pub(crate) users: i64,
    pub(crate) organizations: i64,
    pub(crate) integrations: i64,
}

/// A row of the change log (`store_changes`).
#[derive(sqlx::FromRow)]
pub(crate) struct ChangeRow {
    pub(crate) revision: i64,
    pub(crate) touched: String,
}
