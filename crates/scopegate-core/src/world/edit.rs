//! [`OrgEdit`]: some members, teams and projects of one organization added, replaced or
//! removed, the rest of its shard kept as it is. [`World::patched`](super::World::patched)
//! applies edits without rebuilding the organization: the cost follows the edit, plus one
//! copy of the shard's lists (no re-derivation of the other members).

use rustc_hash::{FxHashMap, FxHashSet};

use super::buckets::BucketsMut;
use super::error::{Errors, Section};
use super::shard::{build_member, elsewhere, Context, OrgFacts};
use super::{GranularState, Member, MemberIdx, Org, Project, Team, TeamIdx};
use crate::wire::{GrantDoc, MemberDoc, ProjectDoc, TeamDoc};

/// Some rows of one organization changed, the others as they are
/// ([`WorldPatch::edits`](super::WorldPatch::edits)).
///
/// On the world's document an edit means: drop the organization's members whose id is in
/// `members` or `removed_members` and the member grants naming them, its teams whose id is
/// in `teams`, its projects whose id is in `projects` or `removed_projects`; then append
/// `members`, `teams`, `projects` and `grants`. [`World::patched`](super::World::patched)
/// gives the world [`World::build`](super::World::build) would build from that document, or
/// refuses the patch when that build fails. Beyond the document, an edit is refused when it
/// names an organization the world does not hold or the patch removes or sends whole, when
/// an entry names another organization, or when a grant is not a member grant of one of
/// `members` (teams are never removed by an edit, and team grants never change: those
/// changes send the organization whole).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrgEdit {
    /// The organization's id.
    pub org: u64,
    /// Members to add or replace, each complete (its teams included).
    pub members: Vec<MemberDoc>,
    /// Member ids to drop (an unknown id is ignored).
    pub removed_members: Vec<u64>,
    /// Every member grant of the members of `members` (their previous grants are dropped).
    pub grants: Vec<GrantDoc>,
    /// Teams to add or replace (a new slug).
    pub teams: Vec<TeamDoc>,
    /// Projects to add or replace.
    pub projects: Vec<ProjectDoc>,
    /// Project ids to drop (an unknown id is ignored).
    pub removed_projects: Vec<u64>,
}

impl OrgEdit {
    /// Whether the edit changes nothing.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
            && self.removed_members.is_empty()
            && self.grants.is_empty()
            && self.teams.is_empty()
            && self.projects.is_empty()
            && self.removed_projects.is_empty()
    }
}

/// The registries of ids an edit updates.
pub(super) struct IdsEdit<'a> {
    pub teams: &'a mut BucketsMut<u64>,
    pub projects: &'a mut BucketsMut<u64>,
    pub members: &'a mut BucketsMut<u64>,
}

/// Edit `k` of a patch applied to `old` (the organization's current shard): the new shard,
/// every problem reported to `err` under `edits[k]`. `cx.ids` is the registry before the
/// edits; `ids` receives their changes.
pub(super) fn apply(
    old: &Org,
    edit: &OrgEdit,
    k: usize,
    cx: &Context<'_>,
    ids: IdsEdit<'_>,
    err: &mut Errors,
) -> Org {
    let mut at = |field: String, message: String| err.at(Section::Edits, k, field, message);
    let mut org = old.clone();
    let oid = org.id;
    let not_ours =
        |what: &str, list: &str, i: usize, other: u64, at: &mut dyn FnMut(String, String)| {
            at(
                format!(".{list}[{i}].organization"),
                format!("{what} of organization {other} in the edit of organization {oid}"),
            );
        };

    // Teams: replaced in place, new ones inserted in id order (members' and projects'
    // team indices moved when a new id falls between existing ones).
    let mut given: FxHashSet<u64> = FxHashSet::default();
    let mut added: Vec<Team> = Vec::new();
    for (i, t) in edit.teams.iter().enumerate() {
        if t.organization != oid {
            not_ours("team", "teams", i, t.organization, &mut at);
            continue;
        }
        if !given.insert(t.id) || ids.teams.get(t.id).is_some_and(|o| *o != oid) {
            at(
                format!(".teams[{i}].id"),
                format!("duplicate team id {}", t.id),
            );
            continue;
        }
        let team = Team {
            id: t.id,
            org: oid,
            slug: t.slug.clone(),
        };
        match org.teams.binary_search_by_key(&t.id, |x| x.id) {
            Ok(pos) => {
                if let Some(slot) = org.teams.get_mut(pos) {
                    *slot = team;
                }
            }
            Err(_) => {
                ids.teams.insert(t.id, oid);
                added.push(team);
            }
        }
    }
    if !added.is_empty() {
        insert_teams(&mut org, added);
    }
    if !edit.teams.is_empty() {
        org.team_by_slug.clear();
        for (idx, t) in org.teams.iter().enumerate() {
            if org
                .team_by_slug
                .insert(t.slug.clone(), idx as TeamIdx)
                .is_some()
            {
                let i = edit
                    .teams
                    .iter()
                    .position(|x| x.slug == t.slug)
                    .unwrap_or(0);
                at(
                    format!(".teams[{i}].slug"),
                    format!(
                        "duplicate team slug `{}` in organization `{}`",
                        t.slug, org.slug
                    ),
                );
            }
        }
    }
    let team_idx = |id: u64| {
        org.teams
            .binary_search_by_key(&id, |t| t.id)
            .ok()
            .map(|p| p as TeamIdx)
    };

    // Projects.
    let mut given: FxHashSet<u64> = FxHashSet::default();
    let mut projects: Vec<Project> = Vec::new();
    for (i, p) in edit.projects.iter().enumerate() {
        if p.organization != oid {
            not_ours("project", "projects", i, p.organization, &mut at);
            continue;
        }
        if !given.insert(p.id) || ids.projects.get(p.id).is_some_and(|o| *o != oid) {
            at(
                format!(".projects[{i}].id"),
                format!("duplicate project id {}", p.id),
            );
            continue;
        }
        let mut owners = Vec::with_capacity(p.teams.len());
        for (j, t) in p.teams.iter().enumerate() {
            match team_idx(*t) {
                Some(ti) => owners.push(ti),
                None => at(
                    format!(".projects[{i}].teams[{j}]"),
                    elsewhere("team", *t, cx.ids.teams.get(*t)),
                ),
            }
        }
        owners.sort_unstable();
        projects.push(Project {
            id: p.id,
            org: oid,
            slug: p.slug.clone(),
            teams: owners,
            active: p.active,
        });
    }
    let dropped: FxHashSet<u64> = edit.removed_projects.iter().copied().collect();
    if !projects.is_empty() || !dropped.is_empty() {
        let replaced: FxHashSet<u64> = projects.iter().map(|p| p.id).collect();
        org.projects
            .retain(|p| !replaced.contains(&p.id) && !dropped.contains(&p.id));
        for id in dropped.iter().filter(|id| !replaced.contains(id)) {
            if old.projects.binary_search_by_key(id, |p| p.id).is_ok() {
                ids.projects.remove(*id);
            }
        }
        for p in &projects {
            ids.projects.insert(p.id, oid);
        }
        org.projects.extend(projects);
        org.projects.sort_by_key(|p| p.id);
        org.project_by_slug.clear();
        for (idx, p) in org.projects.iter().enumerate() {
            if org
                .project_by_slug
                .insert(p.slug.clone(), idx as u32)
                .is_some()
            {
                let i = edit
                    .projects
                    .iter()
                    .position(|x| x.slug == p.slug)
                    .unwrap_or(0);
                at(
                    format!(".projects[{i}].slug"),
                    format!(
                        "duplicate project slug `{}` in organization `{}`",
                        p.slug, org.slug
                    ),
                );
            }
        }
    }

    // Members: the ones that go (removed or replaced), then the given ones built as a
    // whole document builds them.
    let going: FxHashSet<u64> = edit
        .removed_members
        .iter()
        .copied()
        .chain(edit.members.iter().map(|m| m.id))
        .filter(|id| org.members.binary_search_by_key(id, |m| m.id).is_ok())
        .collect();
    let facts = OrgFacts::of(&old.doc, cx.policy);
    let mut users: FxHashMap<u64, usize> = FxHashMap::default();
    let mut given: FxHashSet<u64> = FxHashSet::default();
    let mut built: Vec<Member> = Vec::with_capacity(edit.members.len());
    for (i, m) in edit.members.iter().enumerate() {
        if m.organization != oid {
            not_ours("member", "members", i, m.organization, &mut at);
            continue;
        }
        if !given.insert(m.id) || ids.members.get(m.id).is_some_and(|o| *o != oid) {
            at(
                format!(".members[{i}].id"),
                format!("duplicate member id {}", m.id),
            );
            continue;
        }
        let mut at_member = |field: String, message: String| {
            at(format!(".members[{i}]{field}"), message);
        };
        let Some(member) = build_member(m, &facts, &team_idx, cx, &mut at_member) else {
            continue;
        };
        if let Some(u) = m.user {
            let held = org
                .member_by_user
                .get(&u)
                .and_then(|idx| org.members.get(*idx as usize))
                .is_some_and(|x| !going.contains(&x.id));
            if held || users.insert(u, i).is_some() {
                at_member(
                    ".user".into(),
                    format!("user {u} is already a member of this organization"),
                );
            }
        }
        built.push(member);
    }

    // Their grants: member grants of the given members only.
    let mut direct: FxHashMap<u64, u64> = FxHashMap::default();
    for (i, g) in edit.grants.iter().enumerate() {
        if g.organization != oid {
            not_ours("grant", "grants", i, g.organization, &mut at);
            continue;
        }
        let Some((kind, _)) = cx.policy.granular(&g.kind) else {
            at(
                format!(".grants[{i}].kind"),
                format!("unknown granular resource kind `{}`", g.kind),
            );
            continue;
        };
        match (g.member, g.team) {
            (Some(m), None) if given.contains(&m) => {
                if kind < 64 {
                    *direct.entry(m).or_default() |= 1u64 << kind;
                }
            }
            _ => at(
                format!(".grants[{i}]"),
                "an edit's grants are member grants of its members".into(),
            ),
        }
    }

    // The member list: the ones that go out, the built ones in, in id order.
    for m in org.members.iter().filter(|m| going.contains(&m.id)) {
        count(&mut org.direct_counts, m.granular_direct, false);
        if !given.contains(&m.id) {
            ids.members.remove(m.id);
        }
    }
    for m in &mut built {
        m.granular_direct = direct.get(&m.id).copied().unwrap_or(0);
        m.granular_listed = m.granular_direct
            | m.teams
                .iter()
                .filter_map(|(t, _)| org.team_grants.get(*t as usize))
                .fold(0, |a, b| a | b);
        count(&mut org.direct_counts, m.granular_direct, true);
        ids.members.insert(m.id, oid);
    }
    place_members(&mut org, &going, built);
    let teams_granted = org.team_grants.iter().fold(0u64, |a, b| a | b);
    for (kind, state) in org.granular.iter_mut().enumerate() {
        let by_team = kind < 64 && teams_granted & (1u64 << kind) != 0;
        let direct = org.direct_counts.get(kind).is_some_and(|c| *c > 0);
        *state = GranularState {
            nonempty: by_team || direct,
            ..*state
        };
    }
    org
}

/// Adds or removes `bits` to the per-kind counts of directly listed members.
fn count(counts: &mut [u32], bits: u64, add: bool) {
    for (k, c) in counts.iter_mut().enumerate().take(64) {
        if bits & (1u64 << k) != 0 {
            *c = if add { *c + 1 } else { c.saturating_sub(1) };
        }
    }
}

/// Inserts new teams (ids not in `org`) in id order; when one falls before an existing
/// team, every team index held by a member or a project moves (the order is kept, so their
/// lists stay sorted).
fn insert_teams(org: &mut Org, mut added: Vec<Team>) {
    added.sort_by_key(|t| t.id);
    let last = org.teams.last().map(|t| t.id);
    if added.first().is_some_and(|t| last.is_none_or(|l| t.id > l)) {
        org.team_grants.extend(std::iter::repeat_n(0, added.len()));
        org.teams.extend(added);
        return;
    }
    let mut teams: Vec<(Team, Option<usize>)> = org
        .teams
        .drain(..)
        .enumerate()
        .map(|(i, t)| (t, Some(i)))
        .chain(added.into_iter().map(|t| (t, None)))
        .collect();
    teams.sort_by_key(|(t, _)| t.id);
    let mut remap = vec![0 as TeamIdx; teams.len()];
    let mut grants = vec![0u64; teams.len()];
    for (new, (_, old)) in teams.iter().enumerate() {
        let Some(old) = *old else { continue };
        if let (Some(r), Some(g)) = (remap.get_mut(old), grants.get_mut(new)) {
            *r = new as TeamIdx;
            *g = org.team_grants.get(old).copied().unwrap_or(0);
        }
    }
    let remap_idx = |t: TeamIdx| remap.get(t as usize).copied().unwrap_or(t);
    let moved = |t: &mut TeamIdx| *t = remap_idx(*t);
    for m in &mut org.members {
        if !m.teams.is_empty() {
            m.teams = m.teams.iter().map(|&(t, s)| (remap_idx(t), s)).collect();
        }
    }
    for p in &mut org.projects {
        p.teams.iter_mut().for_each(moved);
    }
    org.teams = teams.into_iter().map(|(t, _)| t).collect();
    org.team_grants = grants;
}

/// Replaces the members of `going` by `built` (any order), keeping the list in id order and
/// `member_by_user` true. A member replaced by one of the same id stays in place; only a
/// removal or an insertion before the end moves the others (and rebuilds the user map).
fn place_members(org: &mut Org, going: &FxHashSet<u64>, mut built: Vec<Member>) {
    built.sort_by_key(|m| m.id);
    let pos = |org: &Org, id: u64| org.members.binary_search_by_key(&id, |x| x.id).ok();
    // The users of the members that go are free first (a user may move between them).
    for id in going {
        if let Some(u) = pos(org, *id).and_then(|p| org.members.get(p)?.user) {
            org.member_by_user.remove(&u);
        }
    }
    let kept: FxHashSet<u64> = built.iter().map(|m| m.id).collect();
    let removals = going.iter().any(|id| !kept.contains(id));
    let last = org.members.last().map(|m| m.id);
    let inside = built
        .iter()
        .any(|m| pos(org, m.id).is_none() && last.is_some_and(|l| m.id < l));
    if !removals && !inside {
        for m in built {
            match pos(org, m.id) {
                Some(p) => {
                    if let Some(u) = m.user {
                        org.member_by_user.insert(u, p as MemberIdx);
                    }
                    if let Some(slot) = org.members.get_mut(p) {
                        *slot = m;
                    }
                }
                None => {
                    if let Some(u) = m.user {
                        org.member_by_user.insert(u, org.members.len() as MemberIdx);
                    }
                    org.members.push(m);
                }
            }
        }
        return;
    }
    org.members.retain(|m| !going.contains(&m.id));
    org.members.extend(built);
    org.members.sort_by_key(|m| m.id);
    org.member_by_user.clear();
    for (idx, m) in org.members.iter().enumerate() {
        if let Some(u) = m.user {
            org.member_by_user.insert(u, idx as MemberIdx);
        }
    }
}
