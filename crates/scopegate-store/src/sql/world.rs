//! The world document of exported rows.

use std::collections::HashMap;

use scopegate_core::wire::{
    GrantDoc, IntegrationDoc, MemberDoc, MemberFlagsDoc, MemberTeamDoc, OrganizationDoc,
    ProjectDoc, TeamDoc, UserDoc,
};
use scopegate_core::WorldDoc;

use super::rows::{
    InstallRow, IntegrationRow, MemberRow, OrgGrantRow, OrgRow, ProjectRow, ProjectTeamRow,
    TeamMemberRow, TeamRow, WorldUserRow,
};
use super::uid;
use crate::{Organization, Result, StoreError};

pub(crate) fn org_doc(o: &Organization) -> Result<OrganizationDoc> {
    Ok(OrganizationDoc {
        id: uid(o.id)?,
        slug: o.slug.clone(),
        features: o.features.clone(),
        options: o.options.clone(),
        open_membership: o.open_membership,
        require_2fa: o.require_2fa,
        require_sso: o.require_sso,
    })
}

pub(crate) fn user_doc(r: &WorldUserRow) -> Result<UserDoc> {
    Ok(UserDoc {
        id: uid(r.id)?,
        has_2fa: r.has_2fa,
    })
}

/// The rows of an export ([`Store::world`](crate::Store::world),
/// [`Store::full_world`](crate::Store::full_world)), one query per table, each in the order
/// of the document:
///
/// - `orgs` by id; `members` by organization, id; `teams` and `projects` by organization,
///   slug; `grants` by organization, id; `users` and `integrations` by id;
/// - `links` (team memberships) by the team's organization and slug, then member: each
///   member's teams come out in team slug order;
/// - `project_teams` by project, team; `installs` by integration, organization.
pub(crate) struct Export {
    pub(crate) orgs: Vec<OrgRow>,
    pub(crate) users: Vec<WorldUserRow>,
    pub(crate) members: Vec<MemberRow>,
    pub(crate) links: Vec<TeamMemberRow>,
    pub(crate) teams: Vec<TeamRow>,
    pub(crate) projects: Vec<ProjectRow>,
    pub(crate) project_teams: Vec<ProjectTeamRow>,
    pub(crate) integrations: Vec<IntegrationRow>,
    pub(crate) installs: Vec<InstallRow>,
    pub(crate) grants: Vec<OrgGrantRow>,
}

impl Export {
    /// The world document of these rows.
    pub(crate) fn into_doc(self) -> Result<WorldDoc> {
        let mut doc = WorldDoc::default();
        for o in self.orgs {
            doc.organizations
                .push(org_doc(&Organization::try_from(o)?)?);
        }
        for u in &self.users {
            doc.users.push(user_doc(u)?);
        }
        let mut links: HashMap<i64, Vec<MemberTeamDoc>> = HashMap::new();
        for l in self.links {
            links.entry(l.member_id).or_default().push(MemberTeamDoc {
                team: uid(l.team_id)?,
                role: l.role,
            });
        }
        for m in self.members {
            doc.members.push(MemberDoc {
                id: uid(m.id)?,
                organization: uid(m.organization_id)?,
                user: m.user_id.map(uid).transpose()?,
                teams: links.remove(&m.id).unwrap_or_default(),
                role: m.role,
                flags: MemberFlagsDoc {
                    member_limit_restricted: m.member_limit_restricted,
                    sso_linked: m.sso_linked,
                },
            });
        }
        for t in self.teams {
            doc.teams.push(TeamDoc {
                id: uid(t.id)?,
                organization: uid(t.organization_id)?,
                slug: t.slug,
            });
        }
        let mut owners: HashMap<i64, Vec<u64>> = HashMap::new();
        for l in &self.project_teams {
            owners
                .entry(l.project_id)
                .or_default()
                .push(uid(l.team_id)?);
        }
        for p in self.projects {
            doc.projects.push(ProjectDoc {
                id: uid(p.id)?,
                organization: uid(p.organization_id)?,
                slug: p.slug,
                teams: owners.remove(&p.id).unwrap_or_default(),
                active: p.active,
            });
        }
        let mut installs: HashMap<i64, Vec<u64>> = HashMap::new();
        for i in &self.installs {
            installs
                .entry(i.integration_id)
                .or_default()
                .push(uid(i.organization_id)?);
        }
        for i in self.integrations {
            doc.integrations.push(IntegrationDoc {
                id: uid(i.id)?,
                scopes: serde_json::from_str(&i.scopes)
                    .map_err(|e| StoreError::Corrupt(format!("integration scopes: {e}")))?,
                installed_on: installs.remove(&i.id).unwrap_or_default(),
            });
        }
        for g in self.grants {
            doc.granular_grants.push(GrantDoc {
                organization: uid(g.organization_id)?,
                kind: g.kind,
                member: g.member_id.map(uid).transpose()?,
                team: g.team_id.map(uid).transpose()?,
            });
        }
        Ok(doc)
    }
}
