//! One organization's shard ([`Org`]): built from the organization's entries of a document
//! (its row, teams, projects, members and granular grants), validated, every problem
//! reported with its path. [`World::build`](super::World::build) and
//! [`World::patched`](super::World::patched) both build shards here, so a patch is
//! validated exactly as a whole document.

use rustc_hash::FxHashMap;

use super::buckets::Buckets;
use super::error::{Errors, Section};
use super::{truthy, GranularState, Ids, Member, MemberIdx, Org, Project, Team, TeamIdx, User};
use crate::policy::Policy;
use crate::scope::ScopeSet;
use crate::wire::{GrantDoc, MemberDoc, OrganizationDoc, ProjectDoc, TeamDoc};

/// One organization's entries of a document, each with its index in its list.
#[derive(Debug)]
pub(super) struct OrgInput<'d> {
    /// The organization's row.
    pub doc: &'d OrganizationDoc,
    /// Its teams, in document order.
    pub teams: Vec<(usize, &'d TeamDoc)>,
    /// Its projects, in document order.
    pub projects: Vec<(usize, &'d ProjectDoc)>,
    /// Its members, in document order.
    pub members: Vec<(usize, &'d MemberDoc)>,
    /// Its granular grants, in document order.
    pub grants: Vec<(usize, &'d GrantDoc)>,
}

impl<'d> OrgInput<'d> {
    /// An organization with no entries yet.
    pub(super) fn new(doc: &'d OrganizationDoc) -> Self {
        OrgInput {
            doc,
            teams: Vec::new(),
            projects: Vec::new(),
            members: Vec::new(),
            grants: Vec::new(),
        }
    }
}

/// What a shard's validation reads outside its organization: the users and which
/// organization holds each id, both as they are once the build or the patch is done.
pub(super) struct Context<'a> {
    pub policy: &'a Policy,
    pub users: &'a Buckets<User>,
    pub ids: &'a Ids,
}

/// The position of each entry once the entries are sorted by id (stable: equal ids keep
/// document order), so that a shard's lists are in id order whatever the document's.
fn ranks<T>(entries: &[(usize, &T)], id: impl Fn(&T) -> u64) -> Vec<u32> {
    let mut order: Vec<(u64, u32)> = entries
        .iter()
        .enumerate()
        .map(|(k, (_, e))| (id(e), k as u32))
        .collect();
    order.sort_unstable();
    let mut rank = vec![0u32; entries.len()];
    for (pos, (_, k)) in order.iter().enumerate() {
        if let Some(r) = rank.get_mut(*k as usize) {
            *r = pos as u32;
        }
    }
    rank
}

/// Puts `value` at `slot` of `list` (slots are ranks, all distinct).
fn place<T>(list: &mut [Option<T>], slot: u32, value: T) {
    if let Some(s) = list.get_mut(slot as usize) {
        *s = Some(value);
    }
}

/// A reference to `id`, held by organization `owner` when it is not this one: the problem.
pub(super) fn elsewhere(what: &str, id: u64, owner: Option<&u64>) -> String {
    match owner {
        Some(_) => format!("{what} {id} belongs to another organization"),
        None => format!("unknown {what} id {id}"),
    }
}

/// Builds the shard of `input`, reporting every problem to `err`.
pub(super) fn build_org(input: &OrgInput<'_>, cx: &Context<'_>, err: &mut Errors) -> Org {
    let policy = cx.policy;
    let o = input.doc;
    let granular: Vec<GranularState> = policy
        .granular_resources
        .iter()
        .map(|g| GranularState {
            feature: g.enabled_by(&o.features),
            toggle: o.options.get(&g.toggle_option).is_some_and(truthy),
            nonempty: false,
        })
        .collect();
    let facts = OrgFacts::of(o, policy);
    let team_roles = facts.team_roles;

    // Teams.
    let rank = ranks(&input.teams, |t| t.id);
    let mut teams: Vec<Option<Team>> = vec![None; input.teams.len()];
    let mut team_by_slug = FxHashMap::default();
    let mut team_by_id: FxHashMap<u64, TeamIdx> = FxHashMap::default();
    for ((i, t), &idx) in input.teams.iter().zip(&rank) {
        team_by_id.insert(t.id, idx);
        if team_by_slug.insert(t.slug.clone(), idx).is_some() {
            err.at(
                Section::Teams,
                *i,
                ".slug",
                format!(
                    "duplicate team slug `{}` in organization `{}`",
                    t.slug, o.slug
                ),
            );
        }
        let team = Team {
            id: t.id,
            org: o.id,
            slug: t.slug.clone(),
        };
        place(&mut teams, idx, team);
    }
    let team_idx = |t: u64| team_by_id.get(&t).copied();

    // Projects.
    let rank = ranks(&input.projects, |p| p.id);
    let mut projects: Vec<Option<Project>> = vec![None; input.projects.len()];
    let mut project_by_slug = FxHashMap::default();
    for ((i, p), &idx) in input.projects.iter().zip(&rank) {
        let mut owners = Vec::with_capacity(p.teams.len());
        for (j, t) in p.teams.iter().enumerate() {
            match team_idx(*t) {
                Some(ti) => owners.push(ti),
                None => err.at(
                    Section::Projects,
                    *i,
                    format_args!(".teams[{j}]"),
                    elsewhere("team", *t, cx.ids.teams.get(*t)),
                ),
            }
        }
        owners.sort_unstable();
        if project_by_slug.insert(p.slug.clone(), idx).is_some() {
            err.at(
                Section::Projects,
                *i,
                ".slug",
                format!(
                    "duplicate project slug `{}` in organization `{}`",
                    p.slug, o.slug
                ),
            );
        }
        let project = Project {
            id: p.id,
            org: o.id,
            slug: p.slug.clone(),
            teams: owners,
            active: p.active,
        };
        place(&mut projects, idx, project);
    }

    // Members.
    let rank = ranks(&input.members, |m| m.id);
    let mut members: Vec<Option<Member>> = vec![None; input.members.len()];
    let mut member_by_user = FxHashMap::default();
    let mut member_by_id: FxHashMap<u64, MemberIdx> = FxHashMap::default();
    for ((i, m), &idx) in input.members.iter().zip(&rank) {
        let i = *i;
        let mut at = |field: String, message: String| err.at(Section::Members, i, field, message);
        let Some(member) = build_member(m, &facts, &team_idx, cx, &mut at) else {
            continue;
        };
        member_by_id.insert(m.id, idx);
        if let Some(u) = m.user {
            if member_by_user.insert(u, idx).is_some() {
                at(
                    ".user".into(),
                    format!("user {u} is already a member of this organization"),
                );
            }
        }
        place(&mut members, idx, member);
    }

    let mut org = Org {
        id: o.id,
        slug: o.slug.clone(),
        open_membership: o.open_membership,
        require_2fa: o.require_2fa,
        require_sso: o.require_sso,
        team_roles,
        granular,
        teams: teams.into_iter().flatten().collect(),
        team_by_slug,
        projects: projects.into_iter().flatten().collect(),
        project_by_slug,
        members: members.into_iter().flatten().collect(),
        member_by_user,
        doc: o.clone(),
        team_grants: Vec::new(),
        direct_counts: Vec::new(),
    };
    // With problems found, some member slots may be empty and the shard is not used; the
    // grants are still checked.
    org.team_grants = vec![0; org.teams.len()];
    grants(input, cx, &member_by_id, &team_by_id, &mut org, err);
    org.direct_counts = direct_counts(&org.members, org.granular.len());
    org
}

/// For each granular kind (of `kinds`), how many members are listed directly.
pub(super) fn direct_counts(members: &[Member], kinds: usize) -> Vec<u32> {
    let mut counts = vec![0u32; kinds];
    for m in members.iter().filter(|m| m.granular_direct != 0) {
        for (k, c) in counts.iter_mut().enumerate().take(64) {
            if m.granular_direct & (1u64 << k) != 0 {
                *c += 1;
            }
        }
    }
    counts
}

/// What building a member reads of its organization.
pub(super) struct OrgFacts<'a> {
    pub doc: &'a OrganizationDoc,
    pub policy: &'a Policy,
    pub team_roles: bool,
}

impl<'a> OrgFacts<'a> {
    pub(super) fn of(doc: &'a OrganizationDoc, policy: &'a Policy) -> Self {
        OrgFacts {
            doc,
            policy,
            team_roles: doc.features.iter().any(|f| f == &policy.team_roles_feature),
        }
    }
}

/// Builds member `m` of the organization of `o` (its teams found by `team_idx`), reporting
/// every problem to `at` (the field after the entry, the message); `None` when its role is
/// unknown. Whether its user is already a member of the organization is the caller's
/// check; its granular bits are set by [`grants`] (or the edit).
pub(super) fn build_member(
    m: &MemberDoc,
    o: &OrgFacts<'_>,
    team_idx: &impl Fn(u64) -> Option<TeamIdx>,
    cx: &Context<'_>,
    at: &mut impl FnMut(String, String),
) -> Option<Member> {
    let policy = o.policy;
    let option = |key: &str| o.doc.options.get(key).map(truthy);
    let Some((role, role_def)) = policy.org_role(&m.role) else {
        at(".role".into(), format!("unknown org role `{}`", m.role));
        return None;
    };
    let scopes = policy.trim_scopes(role_def.scopes, option);
    let minimum = policy.minimum_team_role(role);
    let mut member_teams = Vec::with_capacity(m.teams.len());
    for (j, mt) in m.teams.iter().enumerate() {
        let Some(ti) = team_idx(mt.team) else {
            at(
                format!(".teams[{j}].team"),
                elsewhere("team", mt.team, cx.ids.teams.get(mt.team)),
            );
            continue;
        };
        let explicit = match &mt.role {
            Some(r) => match policy.team_role(r) {
                Some((idx, _)) => Some(idx),
                None => {
                    at(
                        format!(".teams[{j}].role"),
                        format!("unknown team role `{r}`"),
                    );
                    continue;
                }
            },
            None => None,
        };
        // Effective team role: the minimum for the org role, raised to the explicit
        // role only when the team-roles feature is on and the explicit one is higher.
        let effective = match (minimum, explicit) {
            (Some(min), Some(ex)) if o.team_roles && ex > min => Some(ex),
            (min, _) => min,
        };
        let team_scopes = match effective.and_then(|e| policy.team_roles.get(e)) {
            Some(tr) if o.team_roles => policy.trim_scopes(tr.scopes, option),
            _ => ScopeSet::EMPTY,
        };
        if member_teams.iter().any(|(t, _)| *t == ti) {
            at(
                format!(".teams[{j}].team"),
                format!("duplicate membership of team {}", mt.team),
            );
            continue;
        }
        member_teams.push((ti, team_scopes));
    }
    member_teams.sort_unstable_by_key(|(t, _)| *t);
    if let Some(u) = m.user {
        if !cx.users.contains(u) {
            at(".user".into(), format!("unknown user id {u}"));
        }
    }
    Some(Member {
        id: m.id,
        user: m.user,
        org: o.doc.id,
        role,
        scopes,
        global: role_def.global || o.doc.open_membership,
        teams: member_teams.into(),
        member_limit_restricted: m.flags.member_limit_restricted,
        sso_linked: m.flags.sso_linked,
        granular_listed: 0,
        granular_direct: 0,
    })
}

/// Applies the organization's granular grants: the listed members' bits and the
/// allowlists' `nonempty`.
fn grants(
    input: &OrgInput<'_>,
    cx: &Context<'_>,
    member_by_id: &FxHashMap<u64, MemberIdx>,
    team_by_id: &FxHashMap<u64, TeamIdx>,
    org: &mut Org,
    err: &mut Errors,
) {
    // The members of each team, computed on the first team grant.
    let mut team_members: Option<Vec<Vec<MemberIdx>>> = None;
    for (i, g) in &input.grants {
        let i = *i;
        let Some((kind, _)) = cx.policy.granular(&g.kind) else {
            err.at(
                Section::GranularGrants,
                i,
                ".kind",
                format!("unknown granular resource kind `{}`", g.kind),
            );
            continue;
        };
        if kind >= 64 {
            continue;
        }
        let bit = 1u64 << kind;
        match (g.member, g.team) {
            (Some(m), None) => match member_by_id.get(&m) {
                Some(&mi) => {
                    if let Some(member) = org.members.get_mut(mi as usize) {
                        member.granular_listed |= bit;
                        member.granular_direct |= bit;
                    }
                }
                None => {
                    err.at(
                        Section::GranularGrants,
                        i,
                        ".member",
                        elsewhere("member", m, cx.ids.members.get(m)),
                    );
                    continue;
                }
            },
            (None, Some(t)) => match team_by_id.get(&t) {
                Some(&ti) => {
                    if let Some(bits) = org.team_grants.get_mut(ti as usize) {
                        *bits |= bit;
                    }
                    let by_team = team_members.get_or_insert_with(|| {
                        let mut by_team = vec![Vec::new(); org.teams.len()];
                        for (mi, m) in org.members.iter().enumerate() {
                            for (t, _) in m.teams.iter() {
                                if let Some(list) = by_team.get_mut(*t as usize) {
                                    list.push(mi as MemberIdx);
                                }
                            }
                        }
                        by_team
                    });
                    for mi in by_team.get(ti as usize).into_iter().flatten() {
                        if let Some(member) = org.members.get_mut(*mi as usize) {
                            member.granular_listed |= bit;
                        }
                    }
                }
                None => {
                    err.at(
                        Section::GranularGrants,
                        i,
                        ".team",
                        elsewhere("team", t, cx.ids.teams.get(t)),
                    );
                    continue;
                }
            },
            _ => {
                err.at(
                    Section::GranularGrants,
                    i,
                    "",
                    "a grant names exactly one of `member` and `team`".into(),
                );
                continue;
            }
        }
        if let Some(state) = org.granular.get_mut(kind) {
            state.nonempty = true;
        }
    }
}
