//! The member plan of a granular edit (`Store::edit_org` with `GrantSelection`), on every
//! backend, against a model over every member of the organization: the store reads only the
//! members the request names and those granted now, and must plan exactly as if it had
//! read them all. A fixed table of edge cases, then a seeded random sequence of edits mixing
//! granted, ungranted and pending members, other organizations' users and members, unknown
//! and negative ids, duplicates and empty lists, for two kinds; after each, the users
//! `Store::granted_user_ids` lists.

use std::collections::{BTreeMap, BTreeSet};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use scopegate_store::{
    Actor, GrantSelection, GranularEdit, OrgUpdate, Page, Store, StoreError, Unknown,
};
use serde_json::json;

crate::on_both!(member_plans_match_the_model);

/// The kinds edited (the second's grants must never move the first's).
const KINDS: [&str; 2] = ["replay", "other"];

/// The organization under edit, as the model sees it.
struct World {
    org: i64,
    /// Member id → its user (`None`: a pending invite), every member of the organization.
    members: BTreeMap<i64, Option<i64>>,
    /// Ids to draw requests from: this organization's and another's users and members,
    /// unknown and negative ids.
    pool: Vec<i64>,
}

/// The outcome the model expects of an edit.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// The grants after the edit.
    Granted(BTreeSet<i64>),
    /// Rejected with these ids (sorted numerically, distinct), nothing written.
    NotInOrg(Unknown, Vec<String>),
}

fn edit(kind: &str, selection: GrantSelection) -> GranularEdit {
    GranularEdit {
        kind: kind.into(),
        toggle_option: format!("sentry:granular-{kind}-permissions"),
        toggle: None,
        members: Some(selection),
        teams: None,
        toggle_field: "toggle".into(),
        members_field: "members".into(),
    }
}

fn everything() -> Page {
    Page {
        offset: 0,
        limit: 1_000_000,
    }
}

/// The member grants of `kind` in `org`, as stored.
async fn stored(s: &dyn Store, org: i64, kind: &str) -> BTreeSet<i64> {
    s.grants(org)
        .await
        .unwrap()
        .into_iter()
        .filter(|g| g.kind == kind)
        .filter_map(|g| g.member_id)
        .collect()
}

/// What replacing `granted` by `selection` gives, planned over every member of `world`.
fn model(world: &World, granted: &BTreeSet<i64>, selection: &GrantSelection) -> Outcome {
    let (what, requested, valid): (Unknown, &Vec<i64>, BTreeSet<i64>) = match selection {
        GrantSelection::UserIds(ids) => (
            Unknown::Users,
            ids,
            world.members.values().filter_map(|u| *u).collect(),
        ),
        GrantSelection::MemberIds(ids) => (
            Unknown::Members,
            ids,
            world.members.keys().copied().collect(),
        ),
    };
    let bad: BTreeSet<i64> = requested
        .iter()
        .copied()
        .filter(|id| !valid.contains(id))
        .collect();
    if !bad.is_empty() {
        return Outcome::NotInOrg(what, bad.iter().map(ToString::to_string).collect());
    }
    let wanted: BTreeSet<i64> = requested.iter().copied().collect();
    Outcome::Granted(match selection {
        // Members with a user: granted when listed; pending invites keep their grants.
        GrantSelection::UserIds(_) => world
            .members
            .iter()
            .filter(|(m, u)| match u {
                Some(u) => wanted.contains(u),
                None => granted.contains(m),
            })
            .map(|(m, _)| *m)
            .collect(),
        GrantSelection::MemberIds(_) => wanted,
    })
}

/// Applies `selection` to `kind` and checks the outcome, the stored grants of both kinds
/// and the audit entries against the model; updates `grants`.
async fn check(
    s: &dyn Store,
    world: &World,
    grants: &mut BTreeMap<&'static str, BTreeSet<i64>>,
    kind: &'static str,
    selection: GrantSelection,
    actor: &Actor,
) {
    let before = grants[kind].clone();
    let expected = model(world, &before, &selection);
    let logged = s.audit_log(world.org, everything()).await.unwrap().len();
    let result = s
        .edit_org(
            world.org,
            &OrgUpdate::default(),
            Some(&edit(kind, selection.clone())),
            actor,
        )
        .await;
    let mut log = s.audit_log(world.org, everything()).await.unwrap();
    log.reverse();
    let new = &log[logged..];
    match (&expected, result) {
        (Outcome::NotInOrg(what, ids), Err(StoreError::NotInOrganization { what: w, ids: i })) => {
            assert_eq!((&w, &i), (what, ids), "{kind} {selection:?}");
            assert!(new.is_empty(), "a rejected edit audits nothing");
        }
        (Outcome::Granted(after), Ok(_)) => {
            let added: Vec<i64> = after.difference(&before).copied().collect();
            let removed: Vec<i64> = before.difference(after).copied().collect();
            let mut events: Vec<(String, Option<i64>)> = Vec::new();
            if !added.is_empty() || !removed.is_empty() {
                events.push(("org.edit".into(), None));
            }
            events.extend(added.iter().map(|m| ("granular.grant".into(), Some(*m))));
            events.extend(removed.iter().map(|m| ("granular.revoke".into(), Some(*m))));
            let got: Vec<(String, Option<i64>)> = new
                .iter()
                .map(|e| (e.event.clone(), e.data["memberId"].as_i64()))
                .collect();
            assert_eq!(got, events, "{kind} {selection:?}");
            for e in &new[1.min(new.len())..] {
                assert_eq!(e.data["kind"], json!(kind));
            }
            if let Some(first) = new.first() {
                let submitted = match &selection {
                    GrantSelection::UserIds(ids) | GrantSelection::MemberIds(ids) => {
                        ids.iter().collect::<BTreeSet<_>>().len()
                    }
                };
                let mut parts = Vec::new();
                if !added.is_empty() {
                    parts.push(format!("added {} user(s)", added.len()));
                }
                if !removed.is_empty() {
                    parts.push(format!("removed {} user(s)", removed.len()));
                }
                let text = format!(
                    "{} (total: {submitted} user(s) with access)",
                    parts.join(" and ")
                );
                assert_eq!(first.data["members"], json!(text), "{kind} {selection:?}");
            }
            grants.insert(kind, after.clone());
        }
        (expected, got) => panic!("{kind} {selection:?}: expected {expected:?}, got {got:?}"),
    }
    for k in KINDS {
        assert_eq!(
            stored(s, world.org, k).await,
            grants[k],
            "{k} after {selection:?}"
        );
        // What `replayAccessMembers` reads back: the granted members' users, ascending.
        let listed: BTreeSet<i64> = grants[k].iter().filter_map(|m| world.members[m]).collect();
        assert_eq!(
            s.granted_user_ids(world.org, k).await.unwrap(),
            listed.into_iter().collect::<Vec<_>>(),
            "{k} after {selection:?}"
        );
    }
}

/// An organization of 12 members with a user and 3 pending invites, and another one with
/// 4 members, one of whom is also in the first (as is its owner).
async fn setup(s: &dyn Store) -> (World, Actor) {
    let owner = s.create_user("owner@example.com", false).await.unwrap();
    let actor = Actor::user(owner.id);
    let org = s
        .create_org("acme", "Acme", &[], owner.id, "owner", &actor)
        .await
        .unwrap()
        .id;
    let other = s
        .create_org("umbrella", "Umbrella", &[], owner.id, "owner", &actor)
        .await
        .unwrap()
        .id;
    let mut pool = Vec::new();
    for i in 0..12 {
        let email = format!("u{i}@example.com");
        let u = s.create_user(&email, false).await.unwrap();
        let m = s
            .invite_member(org, &email, "member", &actor)
            .await
            .unwrap();
        s.accept_invite(org, m.id, u.id, &actor).await.unwrap();
        pool.push(u.id);
        if i == 0 {
            let m = s
                .invite_member(other, &email, "member", &actor)
                .await
                .unwrap();
            s.accept_invite(other, m.id, u.id, &actor).await.unwrap();
            pool.push(m.id);
        }
    }
    for i in 0..3 {
        s.invite_member(org, &format!("pending{i}@example.com"), "member", &actor)
            .await
            .unwrap();
    }
    for i in 0..3 {
        let email = format!("elsewhere{i}@example.com");
        let u = s.create_user(&email, false).await.unwrap();
        let m = s
            .invite_member(other, &email, "member", &actor)
            .await
            .unwrap();
        s.accept_invite(other, m.id, u.id, &actor).await.unwrap();
        pool.extend([u.id, m.id]);
    }
    let members: BTreeMap<i64, Option<i64>> = s
        .members(org, everything())
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.id, m.user_id))
        .collect();
    assert_eq!(members.len(), 16);
    pool.extend(members.keys().copied());
    pool.extend(members.values().filter_map(|u| *u));
    pool.extend([999_999, -1, -7, 0]);
    pool.sort_unstable();
    pool.dedup();
    // A team grant of the edited kind: a member plan never touches it.
    let team = s.create_team(org, "ops", "Ops", &actor).await.unwrap();
    let mut teams = edit("replay", GrantSelection::MemberIds(Vec::new()));
    teams.members = None;
    teams.teams = Some(vec![team.slug.clone()]);
    s.edit_org(org, &OrgUpdate::default(), Some(&teams), &actor)
        .await
        .unwrap();
    (World { org, members, pool }, actor)
}

async fn member_plans_match_the_model(s: &dyn Store) {
    let (world, actor) = setup(s).await;
    let mut grants: BTreeMap<&'static str, BTreeSet<i64>> =
        KINDS.iter().map(|k| (*k, BTreeSet::new())).collect();
    let users: Vec<i64> = world.members.values().filter_map(|u| *u).collect();
    let ids: Vec<i64> = world.members.keys().copied().collect();
    let invites: Vec<i64> = world
        .members
        .iter()
        .filter(|(_, u)| u.is_none())
        .map(|(m, _)| *m)
        .collect();
    // The table: every member id (pending invites too), then by user id (the invites keep
    // their grants), duplicates, empty lists (`replayAccessMembers: null` is an empty
    // list), a member id given as a user id, and rejections naming every bad id.
    let table: Vec<(&'static str, GrantSelection)> = vec![
        ("replay", GrantSelection::MemberIds(ids.clone())),
        ("replay", GrantSelection::UserIds(users[..5].to_vec())),
        (
            "replay",
            GrantSelection::UserIds(vec![users[1], users[1], users[7]]),
        ),
        (
            "other",
            GrantSelection::MemberIds(vec![invites[0], ids[3], invites[0]]),
        ),
        ("replay", GrantSelection::UserIds(Vec::new())),
        ("replay", GrantSelection::MemberIds(invites.clone())),
        (
            "replay",
            GrantSelection::UserIds(vec![users[2], 999_999, -4, -4, users[2]]),
        ),
        (
            "replay",
            GrantSelection::MemberIds(vec![invites[1], users[11] + 1_000, -1]),
        ),
        ("replay", GrantSelection::MemberIds(Vec::new())),
        ("other", GrantSelection::UserIds(Vec::new())),
    ];
    for (kind, selection) in table {
        check(s, &world, &mut grants, kind, selection, &actor).await;
    }
    let mut rng = StdRng::seed_from_u64(13);
    for _ in 0..60 {
        let kind = KINDS[rng.random_range(0..KINDS.len())];
        let n = rng.random_range(0..9);
        // Mostly this organization's ids (so that most edits succeed), sometimes any.
        let valid_only = rng.random_bool(0.7);
        let by_user = rng.random_bool(0.5);
        let own = if by_user { &users } else { &ids };
        let list: Vec<i64> = (0..n)
            .map(|_| {
                if valid_only {
                    own[rng.random_range(0..own.len())]
                } else {
                    world.pool[rng.random_range(0..world.pool.len())]
                }
            })
            .collect();
        let selection = if by_user {
            GrantSelection::UserIds(list)
        } else {
            GrantSelection::MemberIds(list)
        };
        check(s, &world, &mut grants, kind, selection, &actor).await;
    }
    // The team grant is still there.
    let teams = s
        .grants(world.org)
        .await
        .unwrap()
        .into_iter()
        .filter(|g| g.team_id.is_some())
        .count();
    assert_eq!(teams, 1);
}
