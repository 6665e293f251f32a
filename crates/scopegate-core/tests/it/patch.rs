//! `World::patched` against `World::build` of the patched document, on random worlds and
//! random patches (two in a row): equal worlds (structurally), the same decision for every
//! one of a set of random requests, untouched organizations shared and not copied, and a
//! patch refused exactly when the build of its document is refused.
//!
//! The patches are what the service's store sends (organizations sent whole again with a
//! change, new organizations, removed ones, users added, changed or removed, integrations
//! replaced, and edits of kept organizations: members added, changed — role, teams, user,
//! grants — or removed, teams added, some before the existing ones, or renamed, projects
//! added, changed or removed), sometimes with a fault: a slug taken by a kept organization,
//! a member naming a user that does not exist, an id another organization holds, a user
//! removed while still a member, an organization removed while an integration is installed
//! on it; in an edit, an unknown role, a user already a member, a team slug taken, an
//! unknown granular kind.
//! `SCOPEGATE_PROPTEST_CASES` / `SCOPEGATE_PROPTEST_SEED` as for the other suites.

use std::collections::BTreeSet;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use serde_json::json;

use scopegate_core::wire::{
    GrantDoc, IntegrationDoc, MemberDoc, MemberTeamDoc, OrganizationDoc, ProjectDoc, TeamDoc,
    UserDoc, WorldDoc,
};
use scopegate_core::world::{OrgEdit, WorldPatch};
use scopegate_core::{Engine, Manifest, Policy, Request, Source, World};

use crate::gen::{self, policy_variant, ORG_ROLES, TEAM_ROLES};
use crate::run::{cases, config};

const DEFAULT_CASES: u32 = 300;

/// The document a patch describes (the semantics documented on `WorldPatch`).
fn apply(doc: &WorldDoc, p: &WorldPatch) -> WorldDoc {
    let gone: BTreeSet<u64> = p
        .removed_orgs
        .iter()
        .copied()
        .chain(p.orgs.organizations.iter().map(|o| o.id))
        .collect();
    let keep = |org: &u64| !gone.contains(org);
    let mut out = WorldDoc {
        organizations: doc
            .organizations
            .iter()
            .filter(|o| keep(&o.id))
            .cloned()
            .collect(),
        users: doc
            .users
            .iter()
            .filter(|u| !p.removed_users.contains(&u.id) && !p.users.iter().any(|x| x.id == u.id))
            .cloned()
            .collect(),
        members: doc
            .members
            .iter()
            .filter(|m| keep(&m.organization))
            .cloned()
            .collect(),
        teams: doc
            .teams
            .iter()
            .filter(|t| keep(&t.organization))
            .cloned()
            .collect(),
        projects: doc
            .projects
            .iter()
            .filter(|x| keep(&x.organization))
            .cloned()
            .collect(),
        integrations: p
            .integrations
            .clone()
            .unwrap_or_else(|| doc.integrations.clone()),
        granular_grants: doc
            .granular_grants
            .iter()
            .filter(|g| keep(&g.organization))
            .cloned()
            .collect(),
    };
    out.organizations
        .extend(p.orgs.organizations.iter().cloned());
    out.users.extend(p.users.iter().cloned());
    out.members.extend(p.orgs.members.iter().cloned());
    out.teams.extend(p.orgs.teams.iter().cloned());
    out.projects.extend(p.orgs.projects.iter().cloned());
    out.granular_grants
        .extend(p.orgs.granular_grants.iter().cloned());
    for e in &p.edits {
        apply_edit(&mut out, e);
    }
    out
}

/// The document an edit describes (the semantics documented on `OrgEdit`).
fn apply_edit(doc: &mut WorldDoc, e: &OrgEdit) {
    let ours = |org: u64| org == e.org;
    let members: BTreeSet<u64> = e
        .members
        .iter()
        .map(|m| m.id)
        .chain(e.removed_members.iter().copied())
        .collect();
    let teams: BTreeSet<u64> = e.teams.iter().map(|t| t.id).collect();
    let projects: BTreeSet<u64> = e
        .projects
        .iter()
        .map(|x| x.id)
        .chain(e.removed_projects.iter().copied())
        .collect();
    doc.members
        .retain(|m| !(ours(m.organization) && members.contains(&m.id)));
    doc.granular_grants
        .retain(|g| !(ours(g.organization) && g.member.is_some_and(|m| members.contains(&m))));
    doc.teams
        .retain(|t| !(ours(t.organization) && teams.contains(&t.id)));
    doc.projects
        .retain(|x| !(ours(x.organization) && projects.contains(&x.id)));
    doc.members.extend(e.members.iter().cloned());
    doc.teams.extend(e.teams.iter().cloned());
    doc.projects.extend(e.projects.iter().cloned());
    doc.granular_grants.extend(e.grants.iter().cloned());
}

/// Draws choices from a byte string (shrinks towards zero: the plainest patch).
struct Dice<'a>(std::slice::Iter<'a, u8>);

impl Dice<'_> {
    fn next(&mut self) -> u8 {
        self.0.next().copied().unwrap_or(0)
    }
    /// True with probability about `percent` %.
    fn chance(&mut self, percent: u32) -> bool {
        u32::from(self.next()) * 100 < percent * 256
    }
    fn below(&mut self, n: usize) -> usize {
        usize::from(self.next()) % n.max(1)
    }
}

/// The entries of organization `id` of `doc`, as a patch sends them.
fn org_entries(doc: &WorldDoc, id: u64) -> WorldDoc {
    WorldDoc {
        organizations: doc
            .organizations
            .iter()
            .filter(|o| o.id == id)
            .cloned()
            .collect(),
        members: doc
            .members
            .iter()
            .filter(|m| m.organization == id)
            .cloned()
            .collect(),
        teams: doc
            .teams
            .iter()
            .filter(|t| t.organization == id)
            .cloned()
            .collect(),
        projects: doc
            .projects
            .iter()
            .filter(|x| x.organization == id)
            .cloned()
            .collect(),
        granular_grants: doc
            .granular_grants
            .iter()
            .filter(|g| g.organization == id)
            .cloned()
            .collect(),
        ..WorldDoc::default()
    }
}

fn append(to: &mut WorldDoc, from: WorldDoc) {
    to.organizations.extend(from.organizations);
    to.members.extend(from.members);
    to.teams.extend(from.teams);
    to.projects.extend(from.projects);
    to.granular_grants.extend(from.granular_grants);
}

/// A random patch of `cur`; `src` supplies new organizations (ids moved by `round`).
fn make_patch(cur: &WorldDoc, src: &WorldDoc, d: &mut Dice<'_>, round: u64) -> WorldPatch {
    let mut p = WorldPatch::default();
    let base = 10_000 * round;
    // Organizations of `cur`: kept, sent again (changed), or removed.
    for o in &cur.organizations {
        match d.below(4) {
            0 => {}
            1 => {
                if d.chance(75) {
                    p.edits.push(make_edit(cur, o.id, d, round));
                }
            }
            2 => {
                let mut e = org_entries(cur, o.id);
                match d.below(6) {
                    0 => {}
                    1 => e.organizations[0].open_membership ^= true,
                    2 => e.organizations[0].slug = format!("r{}{}", o.id, round),
                    3 if !e.members.is_empty() => {
                        let k = d.below(e.members.len());
                        e.members[k].role = ORG_ROLES[d.below(ORG_ROLES.len())].into();
                    }
                    4 if !e.members.is_empty() => {
                        let gone = e.members.remove(d.below(e.members.len()));
                        e.granular_grants.retain(|g| g.member != Some(gone.id));
                    }
                    _ => e.organizations[0]
                        .features
                        .push("organizations:team-roles".into()),
                }
                append(&mut p.orgs, e);
            }
            _ => p.removed_orgs.push(o.id),
        }
    }
    if d.chance(10) {
        p.removed_orgs.push(999); // unknown: ignored
    }
    // New organizations from `src`, every id moved out of `cur`'s way.
    for o in &src.organizations {
        if !d.chance(50) {
            continue;
        }
        let mut e = org_entries(src, o.id);
        let id = base + 100 + o.id;
        e.organizations[0].id = id;
        e.organizations[0].slug = format!("n{id}");
        for t in &mut e.teams {
            t.organization = id;
            t.id += base;
        }
        for x in &mut e.projects {
            x.organization = id;
            x.id += base;
            x.teams.iter_mut().for_each(|t| *t += base);
        }
        let mut taken = BTreeSet::new();
        for m in &mut e.members {
            m.organization = id;
            m.id += base;
            m.teams.iter_mut().for_each(|t| t.team += base);
            // `src`'s users are `cur`'s when they exist; one user per organization.
            m.user = m
                .user
                .filter(|u| cur.users.iter().any(|x| x.id == *u) && taken.insert(*u));
        }
        for g in &mut e.granular_grants {
            g.organization = id;
            g.member = g.member.map(|m| m + base);
            g.team = g.team.map(|t| t + base);
        }
        append(&mut p.orgs, e);
    }
    // Users: new ones, changed ones, removed ones.
    for k in 0..d.below(3) {
        p.users.push(UserDoc {
            id: base + 1_000 + k as u64,
            has_2fa: d.chance(50),
        });
    }
    for u in &cur.users {
        if d.chance(15) {
            p.users.push(UserDoc {
                id: u.id,
                has_2fa: !u.has_2fa,
            });
        } else if d.chance(6) {
            p.removed_users.push(u.id);
        }
    }
    // Integrations: sometimes replaced, installed on organizations of the result.
    if d.chance(30) {
        let after = apply(cur, &p);
        let orgs: Vec<u64> = after.organizations.iter().map(|o| o.id).collect();
        let list = (0..d.below(3))
            .map(|k| IntegrationDoc {
                id: 70 + k as u64,
                scopes: vec!["org:read".into(), "project:read".into()],
                installed_on: orgs.iter().copied().filter(|_| d.chance(50)).collect(),
            })
            .collect();
        p.integrations = Some(list);
    }
    fault(cur, &mut p, d, base);
    p
}

fn replay(org: u64, member: u64) -> GrantDoc {
    GrantDoc {
        organization: org,
        kind: "replay".into(),
        member: Some(member),
        team: None,
    }
}

/// A random edit of organization `org` of `cur`: members changed (role, teams, user,
/// grants), removed or added (some with ids before the existing ones), teams renamed or
/// added (some before the existing ones), projects added, changed or removed.
fn make_edit(cur: &WorldDoc, org: u64, d: &mut Dice<'_>, round: u64) -> OrgEdit {
    let base = 10_000 * round;
    let mut e = OrgEdit {
        org,
        ..OrgEdit::default()
    };
    let members: Vec<&MemberDoc> = cur
        .members
        .iter()
        .filter(|m| m.organization == org)
        .collect();
    let mut teams: Vec<u64> = cur
        .teams
        .iter()
        .filter(|t| t.organization == org)
        .map(|t| t.id)
        .collect();
    let mut free: Vec<u64> = cur
        .users
        .iter()
        .map(|u| u.id)
        .filter(|u| !members.iter().any(|m| m.user == Some(*u)))
        .collect();
    let grants_of = |m: u64| -> Vec<GrantDoc> {
        cur.granular_grants
            .iter()
            .filter(|g| g.member == Some(m))
            .cloned()
            .collect()
    };
    // Teams first: members and projects may name the new ones.
    if d.chance(25) {
        if let Some(t) = cur
            .teams
            .iter()
            .filter(|t| t.organization == org)
            .nth(d.below(teams.len()))
        {
            e.teams.push(TeamDoc {
                slug: format!("x{}r{round}", t.id),
                ..t.clone()
            });
        }
    }
    if d.chance(30) {
        let id = if d.chance(40) {
            300 + 50 * round + org % 50
        } else {
            base + 4_000 + org % 97
        };
        e.teams.push(TeamDoc {
            id,
            organization: org,
            slug: format!("n{id}"),
        });
        teams.push(id);
    }
    let pick_team = |d: &mut Dice<'_>| teams.get(d.below(teams.len())).copied();
    for m in &members {
        let mut x = (*m).clone();
        let mut grants = grants_of(m.id);
        match d.below(8) {
            0 => x.role = ORG_ROLES[d.below(ORG_ROLES.len())].into(),
            1 => {
                if !x.teams.is_empty() && d.chance(50) {
                    x.teams.remove(d.below(x.teams.len()));
                } else if let Some(t) = pick_team(d) {
                    if !x.teams.iter().any(|mt| mt.team == t) {
                        let role = d.chance(40).then(|| TEAM_ROLES[d.below(2)].to_string());
                        x.teams.push(MemberTeamDoc { team: t, role });
                    }
                }
            }
            2 => {
                grants = if grants.is_empty() {
                    vec![replay(org, m.id)]
                } else {
                    Vec::new()
                }
            }
            3 => {
                x.user = match x.user {
                    Some(_) => None,
                    None if !free.is_empty() => Some(free.remove(d.below(free.len()))),
                    None => None,
                }
            }
            4 => {
                e.removed_members.push(m.id);
                continue;
            }
            _ => continue,
        }
        e.members.push(x);
        e.grants.extend(grants);
    }
    for n in 0..d.below(3) as u64 {
        let id = if d.chance(30) {
            20 + 10 * round + n
        } else {
            base + 3_000 + (org % 97) * 10 + n
        };
        let user = if d.chance(50) && !free.is_empty() {
            Some(free.remove(d.below(free.len())))
        } else {
            None
        };
        let teams = pick_team(d)
            .filter(|_| d.chance(60))
            .map(|team| MemberTeamDoc { team, role: None })
            .into_iter()
            .collect();
        e.members.push(MemberDoc {
            id,
            organization: org,
            user,
            role: ORG_ROLES[d.below(ORG_ROLES.len())].into(),
            teams,
            flags: Default::default(),
        });
        if d.chance(40) {
            e.grants.push(replay(org, id));
        }
    }
    let projects: Vec<&ProjectDoc> = cur
        .projects
        .iter()
        .filter(|x| x.organization == org)
        .collect();
    if d.chance(25) {
        let id = base + 6_000 + org % 97;
        e.projects.push(ProjectDoc {
            id,
            organization: org,
            slug: format!("q{id}"),
            teams: pick_team(d).into_iter().collect(),
            active: d.chance(80),
        });
    }
    if !projects.is_empty() && d.chance(25) {
        let x = projects[d.below(projects.len())];
        if d.chance(50) {
            e.removed_projects.push(x.id);
        } else {
            e.projects.push(ProjectDoc {
                teams: pick_team(d).into_iter().collect(),
                active: !x.active,
                ..x.clone()
            });
        }
    }
    e
}

/// Sometimes, one fault the validation must report.
fn fault(cur: &WorldDoc, p: &mut WorldPatch, d: &mut Dice<'_>, base: u64) {
    if !d.chance(25) {
        return;
    }
    let patched = |p: &WorldPatch| p.orgs.organizations.first().map(|o| o.id);
    if let Some(e) = p.edits.first_mut() {
        if d.chance(50) {
            edit_fault(cur, e, d);
            return;
        }
    }
    match d.below(5) {
        // A slug another organization of the result holds.
        0 => {
            let kept = apply(cur, p).organizations;
            if let (Some(first), Some(other)) = (patched(p), kept.get(d.below(kept.len().max(1)))) {
                if other.id != first {
                    let slug = other.slug.clone();
                    if let Some(o) = p.orgs.organizations.first_mut() {
                        o.slug = slug;
                    }
                }
            }
        }
        // A member naming a user that does not exist.
        1 => {
            if let Some(m) = p.orgs.members.first_mut() {
                m.user = Some(base + 9_999);
            }
        }
        // A team id a kept organization holds.
        2 => {
            let after = apply(cur, p);
            if let (Some(t), Some(other)) = (p.orgs.teams.first_mut(), after.teams.first()) {
                t.id = other.id;
            }
        }
        // A user removed while a member somewhere.
        3 => {
            if let Some(u) = cur.members.iter().find_map(|m| m.user) {
                p.removed_users.push(u);
            }
        }
        // An organization removed while an integration is installed on it.
        _ => {
            if let Some(o) = cur.integrations.iter().flat_map(|i| &i.installed_on).next() {
                p.removed_orgs.push(*o);
                p.integrations = None;
            }
        }
    }
}

/// One fault in edit `e`: an unknown role, a user already a member of the organization, a
/// team slug the organization holds, an unknown granular kind.
fn edit_fault(cur: &WorldDoc, e: &mut OrgEdit, d: &mut Dice<'_>) {
    let held = |e: &OrgEdit| {
        cur.members.iter().find(|m| {
            m.organization == e.org
                && m.user.is_some()
                && !e.members.iter().any(|x| x.id == m.id)
                && !e.removed_members.contains(&m.id)
        })
    };
    match d.below(4) {
        0 => {
            if let Some(m) = e.members.first_mut() {
                m.role = "ghost".into();
            }
        }
        1 => {
            if let (Some(user), Some(m)) = (held(e).and_then(|m| m.user), e.members.first_mut()) {
                m.user = Some(user);
            }
        }
        2 => {
            let slug = cur
                .teams
                .iter()
                .find(|t| t.organization == e.org && !e.teams.iter().any(|x| x.id == t.id))
                .map(|t| t.slug.clone());
            if let (Some(slug), Some(t)) = (slug, e.teams.first_mut()) {
                t.slug = slug;
            }
        }
        _ => {
            if let Some(g) = e.grants.first_mut() {
                g.kind = "nope".into();
            }
        }
    }
}

#[test]
fn patched_equals_and_decides_as_the_build_of_the_patched_document() {
    let mut runner = TestRunner::new(config(cases(DEFAULT_CASES)));
    let strategy = (
        gen::world(),
        gen::world(),
        vec(any::<u8>(), 96),
        gen::manifest(),
        vec(gen::request_spec(), 40..=60),
        any::<u8>(),
    );
    let tally = std::cell::Cell::new([0u32; 3]);
    let result = runner.run(&strategy, |(doc, src, dice, manifest, specs, which)| {
        let policy = &policy_variant(which);
        let text = manifest.json.to_string();
        let compiled = Manifest::load(&Source::new("generated.json", text.as_str()), policy)
            .map_err(|d| TestCaseError::fail(format!("generated manifest rejected: {d}")))?;
        let mut world = World::build(&doc, policy)
            .map_err(|e| TestCaseError::fail(format!("generated world rejected: {e}")))?;
        let mut cur = doc;
        let mut d = Dice(dice.iter());
        for round in 1..=2 {
            let patch = make_patch(&cur, &src, &mut d, round);
            let next = apply(&cur, &patch);
            let (built, patched) = (World::build(&next, policy), world.patched(&patch, policy));
            let mut t = tally.get();
            match (built, patched) {
                (Ok(built), Ok(patched)) => {
                    t[0] += 1;
                    t[2] += u32::from(patch.edits.iter().any(|e| !e.is_empty()));
                    prop_assert!(patched == built, "patched ≠ built\n{patch:#?}");
                    prop_assert!(built == patched);
                    let a = Engine::new(policy, &compiled, &patched);
                    let b = Engine::new(policy, &compiled, &built);
                    // (The request generator needs an organization to name.)
                    let named = if next.organizations.is_empty() {
                        &[][..]
                    } else {
                        &specs[..]
                    };
                    for spec in named {
                        let rd = spec.resolve(&next, &manifest.model);
                        let request = Request::from_doc(rd.clone(), policy)
                            .map_err(|e| TestCaseError::fail(format!("request: {e}")))?;
                        prop_assert_eq!(a.decide(&request), b.decide(&request), "{:?}", rd);
                    }
                    for o in &cur.organizations {
                        let touched = patch.removed_orgs.contains(&o.id)
                            || patch.orgs.organizations.iter().any(|x| x.id == o.id)
                            || patch.edits.iter().any(|e| e.org == o.id);
                        prop_assert_eq!(world.shares_org(&patched, o.id), !touched);
                    }
                    world = patched;
                    cur = next;
                }
                (Err(want), Err(got)) => {
                    t[1] += 1;
                    for e in &got.0 {
                        let known = [
                            "orgs.",
                            "users[",
                            "removed_",
                            "integrations[",
                            "granular_",
                            "edits[",
                        ];
                        prop_assert!(
                            known.iter().any(|k| e.path.starts_with(k)),
                            "{e} (build: {want})"
                        );
                    }
                    tally.set(t);
                    break;
                }
                (Ok(_), Err(e)) => {
                    return Err(TestCaseError::fail(format!(
                        "patched refused a patch whose document builds: {e}\n{patch:#?}"
                    )))
                }
                (Err(e), Ok(_)) => {
                    return Err(TestCaseError::fail(format!(
                        "patched accepted a patch whose document does not build: {e}\n{patch:#?}"
                    )))
                }
            }
            tally.set(t);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let [ok, refused, edited] = tally.get();
    eprintln!("{ok} patches applied ({edited} with edits), {refused} refused");
    // The generator must exercise both sides, and edits.
    assert!(
        ok > 100 && refused > 20 && edited > ok / 4,
        "{ok} patches applied ({edited} with edits), {refused} refused"
    );
}

fn sentry_world() -> (Policy, World, WorldDoc) {
    let doc: WorldDoc = serde_json::from_value(json!({
        "organizations": [{"id": 1, "slug": "acme"}, {"id": 2, "slug": "beta"}],
        "users": [{"id": 10}, {"id": 11}, {"id": 12}],
        "teams": [{"id": 5, "organization": 1, "slug": "t"}, {"id": 6, "organization": 2, "slug": "t"}],
        "members": [
            {"id": 100, "organization": 1, "user": 10, "role": "owner", "teams": [{"team": 5}]},
            {"id": 101, "organization": 2, "user": 11, "role": "member", "teams": [{"team": 6}]},
        ],
        "integrations": [{"id": 7, "scopes": ["org:read"], "installed_on": [2]}],
    }))
    .unwrap();
    let policy = Policy::sentry();
    let world = World::build(&doc, &policy).unwrap();
    (policy, world, doc)
}

fn org_doc(id: u64, slug: &str) -> OrganizationDoc {
    OrganizationDoc {
        id,
        slug: slug.into(),
        ..OrganizationDoc::default()
    }
}

fn patch_errors(world: &World, policy: &Policy, patch: &WorldPatch) -> String {
    match world.patched(patch, policy) {
        Ok(_) => panic!("the patch should be refused"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_patch_is_refused_with_paths_into_the_patch() {
    let (policy, world, _) = sentry_world();
    let orgs = serde_json::from_value(json!({
        "organizations": [{"id": 3, "slug": "beta"}],
        "teams": [{"id": 6, "organization": 3, "slug": "x"}, {"id": 8, "organization": 2, "slug": "y"}],
        "members": [{"id": 102, "organization": 3, "user": 99, "role": "member", "teams": [{"team": 5}]}],
    }))
    .unwrap();
    let user = |has_2fa| UserDoc { id: 12, has_2fa };
    let mut p = WorldPatch {
        orgs,
        removed_orgs: vec![2],
        users: vec![user(false), user(true)],
        removed_users: vec![11],
        integrations: None,
        edits: Vec::new(),
    };
    let e = patch_errors(&world, &policy, &p);
    assert_eq!(
        e.lines().collect::<Vec<_>>(),
        [
            "users[1].id: duplicate user id 12",
            "orgs.teams[1].organization: unknown organization id 2",
            "orgs.members[0].teams[0].team: team 5 belongs to another organization",
            "orgs.members[0].user: unknown user id 99",
            "removed_orgs[0]: integration 7 is still installed on organization 2",
        ],
        "{e}"
    );
    // Organization 2 removed: its slug is free, its team id too; user 11 went with it.
    // Kept, it holds them.
    p.removed_orgs.clear();
    p.users.pop();
    let e = patch_errors(&world, &policy, &p);
    for want in [
        "orgs.organizations[0].slug: duplicate organization slug `beta`",
        "orgs.teams[0].id: duplicate team id 6",
        "orgs.teams[1].organization: organization 2 is not in the patch",
        "removed_users[0]: user 11 is still a member of organization `beta`",
    ] {
        assert!(e.contains(want), "{want} in\n{e}");
    }
}

#[test]
fn patching_one_organization_shares_the_others_and_the_untouched_users() {
    let (policy, world, doc) = sentry_world();
    let copy = world.clone();
    assert!(copy.shares_org(&world, 1) && copy.shares_org(&world, 2));
    let mut p = WorldPatch::default();
    p.orgs.organizations.push(org_doc(1, "acme-renamed"));
    p.users.push(UserDoc {
        id: 13,
        has_2fa: false,
    });
    let after = world.patched(&p, &policy).unwrap();
    assert!(after.shares_org(&world, 2) && !after.shares_org(&world, 1));
    assert!(after.org_by_slug("acme").is_none());
    let acme = after.org_by_slug("acme-renamed").unwrap();
    assert!(
        after.members_of(acme).is_empty(),
        "the org was sent without members"
    );
    assert_eq!(after.member_count(), 1);
    assert_eq!(after.user_count(), 4);
    // The same world from its document.
    let mut doc = doc;
    doc.organizations[0].slug = "acme-renamed".into();
    doc.members.retain(|m| m.organization != 1);
    doc.teams.retain(|t| t.organization != 1);
    doc.users.push(UserDoc {
        id: 13,
        has_2fa: false,
    });
    assert!(after == World::build(&doc, &policy).unwrap());
    assert!(after != world);
    // The patched world's own patch: the untouched bucket of users is shared still.
    let again = after.patched(&WorldPatch::default(), &policy).unwrap();
    assert!(again == after && again.shares_org(&after, 1) && again.shares_org(&after, 2));
    let beta = again.org_by_slug("beta").unwrap();
    assert_eq!(
        again.team_by_id(beta, 6).map(|t| t.slug.as_str()),
        Some("t")
    );
    assert!(again.team_by_id(beta, 5).is_none(), "team 5 is acme's");
}
