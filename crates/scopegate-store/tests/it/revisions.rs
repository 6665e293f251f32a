//! Revisions and the catch-up read (issue 13), on both backends: every write kind reports
//! what it touched (an organization whole, or some of its members, teams or projects); a
//! catch-up after a write returns exactly the touched parts, as the full export has them; revisions increase by one per committed write, in commit order; a
//! catch-up from before what the change log holds is `Full`.

use std::collections::BTreeSet;
use std::sync::Arc;

use scopegate_core::world::OrgEdit;
use scopegate_core::WorldDoc;
use scopegate_store::{
    Actor, CatchUp, GrantSelection, GranularEdit, Guarded, Invited, MemberEdit, MemberGuard,
    NewIntegration, NewInvite, NewToken, OrgParts, OrgUpdate, Store, TokenKind, Touched,
};

crate::on_both!(every_write_reports_what_it_touched);

fn orgs(ids: &[i64]) -> Touched {
    Touched {
        orgs: ids.iter().copied().collect(),
        ..Touched::default()
    }
}

/// Some rows of organization `org` touched: members, teams, projects.
fn parts(org: i64, members: &[i64], teams: &[i64], projects: &[i64]) -> Touched {
    let mut t = Touched::default();
    t.parts.insert(
        org,
        OrgParts {
            members: members.iter().copied().collect(),
            teams: teams.iter().copied().collect(),
            projects: projects.iter().copied().collect(),
        },
    );
    t
}

/// The edits a partial catch-up gives for `touched.parts`, as the full export has the rows.
fn expected_edits(full: &WorldDoc, touched: &Touched) -> Vec<OrgEdit> {
    let has = |set: &BTreeSet<i64>, id: u64| set.contains(&(id as i64));
    touched
        .parts
        .iter()
        // An organization changed in nothing the index reads (a rename) has no edit.
        .filter(|(_, p)| !p.is_empty())
        .map(|(org, p)| {
            let org = *org as u64;
            let members: Vec<_> = full
                .members
                .iter()
                .filter(|m| m.organization == org && has(&p.members, m.id))
                .cloned()
                .collect();
            let projects: Vec<_> = full
                .projects
                .iter()
                .filter(|x| x.organization == org && has(&p.projects, x.id))
                .cloned()
                .collect();
            let gone = |set: &BTreeSet<i64>, present: Vec<u64>| -> Vec<u64> {
                set.iter()
                    .map(|id| *id as u64)
                    .filter(|id| !present.contains(id))
                    .collect()
            };
            OrgEdit {
                org,
                removed_members: gone(&p.members, members.iter().map(|m| m.id).collect()),
                removed_projects: gone(&p.projects, projects.iter().map(|x| x.id).collect()),
                grants: full
                    .granular_grants
                    .iter()
                    .filter(|g| g.member.is_some_and(|m| has(&p.members, m)))
                    .cloned()
                    .collect(),
                teams: full
                    .teams
                    .iter()
                    .filter(|t| t.organization == org && has(&p.teams, t.id))
                    .cloned()
                    .collect(),
                members,
                projects,
            }
        })
        .collect()
}

/// The parts of `full` (and of `tokens`) that `touched` names, as a partial catch-up gives
/// them.
fn expected_parts(
    full: &WorldDoc,
    tokens: &[scopegate_store::Token],
    touched: &Touched,
) -> (WorldDoc, Vec<u64>, Vec<i64>) {
    let o: BTreeSet<u64> = touched.orgs.iter().map(|&i| i as u64).collect();
    let doc = WorldDoc {
        organizations: full
            .organizations
            .iter()
            .filter(|x| o.contains(&x.id))
            .cloned()
            .collect(),
        members: full
            .members
            .iter()
            .filter(|x| o.contains(&x.organization))
            .cloned()
            .collect(),
        teams: full
            .teams
            .iter()
            .filter(|x| o.contains(&x.organization))
            .cloned()
            .collect(),
        projects: full
            .projects
            .iter()
            .filter(|x| o.contains(&x.organization))
            .cloned()
            .collect(),
        granular_grants: full
            .granular_grants
            .iter()
            .filter(|x| o.contains(&x.organization))
            .cloned()
            .collect(),
        ..WorldDoc::default()
    };
    let users = full
        .users
        .iter()
        .map(|u| u.id)
        .filter(|id| touched.users.contains(&(*id as i64)))
        .collect();
    let tokens = tokens
        .iter()
        .filter(|t| {
            touched.tokens.contains(&t.id)
                || t.organization_id.is_some_and(|o| touched.orgs.contains(&o))
        })
        .map(|t| t.id)
        .collect();
    (doc, users, tokens)
}

/// Asserts that exactly one write committed since `before`, that it touched `expect`, and
/// that the catch-up from `before` gives the touched parts as the full export has them.
/// Returns the new revision.
async fn one_write(s: &dyn Store, before: u64, expect: Touched, what: &str) -> u64 {
    let now = s.revision().await.unwrap();
    assert_eq!(now, before + 1, "{what}: one revision per committed write");
    let CatchUp::Partial {
        revision,
        touched,
        orgs,
        users,
        tokens,
        integrations,
        edits,
    } = s.catch_up(before).await.unwrap()
    else {
        panic!("{what}: a partial catch-up");
    };
    assert_eq!(revision, now, "{what}");
    assert_eq!(touched, expect, "{what}");
    let full = s.full_world().await.unwrap();
    let all_tokens = s.all_tokens().await.unwrap();
    let (doc, user_ids, token_ids) = expected_parts(&full, &all_tokens, &touched);
    assert_eq!(edits, expected_edits(&full, &touched), "{what}");
    assert_eq!(orgs.organizations, doc.organizations, "{what}");
    assert_eq!(orgs.members, doc.members, "{what}");
    assert_eq!(orgs.teams, doc.teams, "{what}");
    assert_eq!(orgs.projects, doc.projects, "{what}");
    assert_eq!(orgs.granular_grants, doc.granular_grants, "{what}");
    assert_eq!(
        users.iter().map(|u| u.id).collect::<Vec<_>>(),
        user_ids,
        "{what}"
    );
    assert_eq!(
        tokens.iter().map(|t| t.id).collect::<Vec<_>>(),
        token_ids,
        "{what}"
    );
    for t in &tokens {
        assert!(all_tokens.contains(t), "{what}: token {} as stored", t.id);
    }
    match integrations {
        Some(i) => {
            assert!(touched.integrations, "{what}");
            assert_eq!(i, full.integrations, "{what}");
        }
        None => assert!(!touched.integrations, "{what}"),
    }
    now
}

async fn every_write_reports_what_it_touched(s: &dyn Store) {
    let r0 = s.revision().await.unwrap();
    assert_eq!(r0, 0, "a new store is at revision 0");
    assert!(matches!(
        s.catch_up(0).await.unwrap(),
        CatchUp::Full { revision: 0, .. }
    ));

    let owner = s.create_user("owner@example.com", false).await.unwrap();
    let r = s.revision().await.unwrap();
    assert_eq!(r, 1);
    // From 0 (no index yet): everything.
    assert!(matches!(
        s.catch_up(0).await.unwrap(),
        CatchUp::Full { revision: 1, .. }
    ));
    let actor = Actor::user(owner.id);
    let a = s
        .create_org("alpha", "Alpha", &[], owner.id, "owner", &actor)
        .await
        .unwrap();
    let r = one_write(s, r, orgs(&[a.id]), "create_org").await;
    let b = s
        .create_org("beta", "Beta", &[], owner.id, "owner", &actor)
        .await
        .unwrap();
    let r = one_write(s, r, orgs(&[b.id]), "create_org beta").await;

    let rename = OrgUpdate {
        name: Some("Alpha 2".into()),
        slug: Some("alpha2".into()),
        ..OrgUpdate::default()
    };
    s.update_org(a.id, &rename, &actor).await.unwrap();
    let r = one_write(s, r, orgs(&[a.id]), "update_org").await;
    s.set_features(a.id, &["organizations:team-roles".into()], &[], &actor)
        .await
        .unwrap();
    let r = one_write(s, r, orgs(&[a.id]), "set_features").await;

    let invited = s
        .invite_member(a.id, "m@example.com", "member", &actor)
        .await
        .unwrap();
    let r = one_write(s, r, parts(a.id, &[invited.id], &[], &[]), "invite_member").await;
    let m = s.create_user("m@example.com", false).await.unwrap();
    let r = one_write(
        s,
        r,
        Touched {
            users: [m.id].into(),
            ..Touched::default()
        },
        "create_user m",
    )
    .await;
    s.accept_invite(a.id, invited.id, m.id, &actor)
        .await
        .unwrap();
    let r = one_write(s, r, parts(a.id, &[invited.id], &[], &[]), "accept_invite").await;
    s.set_member_role(a.id, invited.id, "admin", &actor)
        .await
        .unwrap();
    let r = one_write(
        s,
        r,
        parts(a.id, &[invited.id], &[], &[]),
        "set_member_role",
    )
    .await;

    let team = s.create_team(a.id, "ops", "Ops", &actor).await.unwrap();
    let r = one_write(s, r, parts(a.id, &[], &[team.id], &[]), "create_team").await;
    s.set_team_member(a.id, team.id, invited.id, Some("admin"), &actor)
        .await
        .unwrap();
    let r = one_write(
        s,
        r,
        parts(a.id, &[invited.id], &[], &[]),
        "set_team_member",
    )
    .await;
    s.set_team_role(a.id, team.id, invited.id, None, &actor)
        .await
        .unwrap();
    let r = one_write(s, r, parts(a.id, &[invited.id], &[], &[]), "set_team_role").await;
    s.remove_team_member(a.id, team.id, invited.id, &actor)
        .await
        .unwrap();
    let r = one_write(
        s,
        r,
        parts(a.id, &[invited.id], &[], &[]),
        "remove_team_member",
    )
    .await;
    s.join_team(a.id, team.id, invited.id, &actor)
        .await
        .unwrap();
    let r = one_write(s, r, parts(a.id, &[invited.id], &[], &[]), "join_team").await;
    s.update_team(a.id, team.id, Some("ops2"), None, &actor)
        .await
        .unwrap();
    let r = one_write(s, r, parts(a.id, &[], &[team.id], &[]), "update_team").await;
    let guard = MemberGuard {
        owner_role: "owner".into(),
        write_roles: vec!["owner".into(), "manager".into()],
    };
    let edit = MemberEdit {
        role: Some("member".into()),
        clear_team_roles: Vec::new(),
        teams: Some(vec![(team.id, None)]),
    };
    let done = s
        .edit_member(a.id, invited.id, &edit, &guard, &actor)
        .await
        .unwrap();
    assert!(matches!(done, Guarded::Done(_)));
    let r = one_write(s, r, parts(a.id, &[invited.id], &[], &[]), "edit_member").await;

    let p = s
        .create_project(a.id, "web", "Web", &[team.id], &actor)
        .await
        .unwrap();
    let r = one_write(s, r, parts(a.id, &[], &[], &[p.id]), "create_project").await;
    let other = s.create_team(a.id, "dev", "Dev", &actor).await.unwrap();
    let r = one_write(s, r, parts(a.id, &[], &[other.id], &[]), "create_team dev").await;
    s.add_project_team(a.id, p.id, other.id, &actor)
        .await
        .unwrap();
    let r = one_write(s, r, parts(a.id, &[], &[], &[p.id]), "add_project_team").await;
    s.remove_project_team(a.id, p.id, other.id, &actor)
        .await
        .unwrap();
    let r = one_write(s, r, parts(a.id, &[], &[], &[p.id]), "remove_project_team").await;

    let granular = GranularEdit {
        kind: "replay".into(),
        toggle_option: "sentry:granular-replay-permissions".into(),
        toggle: Some(true),
        members: Some(GrantSelection::MemberIds(vec![invited.id])),
        teams: Some(vec!["ops2".into()]),
        toggle_field: "hasGranularReplayPermissions".into(),
        members_field: "replayAccessMembers".into(),
    };
    s.edit_org(a.id, &OrgUpdate::default(), Some(&granular), &actor)
        .await
        .unwrap();
    let r = one_write(s, r, orgs(&[a.id]), "edit_org granular").await;
    // Only member grants: those members. Only the name: nothing to re-read, a revision.
    let members_only = GranularEdit {
        kind: "replay".into(),
        toggle_option: "sentry:granular-replay-permissions".into(),
        toggle: None,
        members: Some(GrantSelection::MemberIds(Vec::new())),
        teams: None,
        toggle_field: "hasGranularReplayPermissions".into(),
        members_field: "replayAccessMembers".into(),
    };
    s.edit_org(a.id, &OrgUpdate::default(), Some(&members_only), &actor)
        .await
        .unwrap();
    let r = one_write(
        s,
        r,
        parts(a.id, &[invited.id], &[], &[]),
        "edit_org members",
    )
    .await;
    let name_only = OrgUpdate {
        name: Some("Alpha 3".into()),
        ..OrgUpdate::default()
    };
    s.update_org(a.id, &name_only, &actor).await.unwrap();
    let r = one_write(s, r, parts(a.id, &[], &[], &[]), "update_org name").await;

    // Access requests grant nothing: no revision. Resolving one (approved) does.
    let before = s.revision().await.unwrap();
    let (req, _) = s
        .create_access_request(a.id, other.id, invited.id, None)
        .await
        .unwrap();
    assert_eq!(s.revision().await.unwrap(), before, "an access request");
    s.resolve_access_request(a.id, req.id, true, &actor)
        .await
        .unwrap();
    let r = one_write(
        s,
        r,
        parts(a.id, &[invited.id], &[], &[]),
        "resolve_access_request",
    )
    .await;

    let invite = NewInvite {
        email: "new@example.com".into(),
        role: "member".into(),
        teams: vec![team.id],
    };
    let Invited::Created(pending) = s.invite(a.id, &invite, &actor).await.unwrap() else {
        panic!("invited");
    };
    let r = one_write(s, r, parts(a.id, &[pending.id], &[], &[]), "invite").await;
    s.reinvite(a.id, pending.id, true, &actor).await.unwrap();
    let r = one_write(s, r, parts(a.id, &[pending.id], &[], &[]), "reinvite").await;
    let removed = s
        .remove_member_guarded(a.id, pending.id, &guard, &actor)
        .await
        .unwrap();
    assert!(matches!(removed, Guarded::Done(())));
    let r = one_write(
        s,
        r,
        parts(a.id, &[pending.id], &[], &[]),
        "remove_member_guarded",
    )
    .await;

    // Tokens: a user token touches the token; an org token is re-read with its organization
    // (its principal carries the organization's slug).
    let (user_token, _) = s
        .create_token(
            &NewToken {
                kind: TokenKind::User,
                user_id: Some(owner.id),
                organization_id: None,
                name: None,
                scopes: vec!["org:read".into()],
            },
            &actor,
        )
        .await
        .unwrap();
    let r = one_write(
        s,
        r,
        Touched {
            tokens: [user_token.id].into(),
            ..Touched::default()
        },
        "create_token user",
    )
    .await;
    let (org_token, _) = s
        .create_token(
            &NewToken {
                kind: TokenKind::Org,
                user_id: Some(owner.id),
                organization_id: Some(b.id),
                name: Some("ci".into()),
                scopes: vec!["org:ci".into(), "project:releases".into()],
            },
            &actor,
        )
        .await
        .unwrap();
    let r = one_write(
        s,
        r,
        Touched {
            tokens: [org_token.id].into(),
            ..Touched::default()
        },
        "create_token org",
    )
    .await;
    s.reduce_org_token_scopes(&["org:ci".into()], &actor)
        .await
        .unwrap();
    let r = one_write(
        s,
        r,
        Touched {
            tokens: [org_token.id].into(),
            ..Touched::default()
        },
        "reduce_org_token_scopes",
    )
    .await;
    s.update_org(
        b.id,
        &OrgUpdate {
            slug: Some("beta2".into()),
            ..OrgUpdate::default()
        },
        &actor,
    )
    .await
    .unwrap();
    let r = one_write(s, r, orgs(&[b.id]), "rename beta, with its token").await;
    s.delete_token(user_token.id, &actor).await.unwrap();
    let r = one_write(
        s,
        r,
        Touched {
            tokens: [user_token.id].into(),
            ..Touched::default()
        },
        "delete_token",
    )
    .await;

    // Integrations.
    let integrations = Touched {
        integrations: true,
        ..Touched::default()
    };
    let bot = NewIntegration {
        slug: "bot".into(),
        name: "Bot".into(),
        scopes: vec!["org:read".into()],
    };
    let i = s.create_integration(&bot, &[a.id], &actor).await.unwrap();
    let r = one_write(s, r, integrations.clone(), "create_integration").await;
    s.install_integration(i.id, b.id, &actor).await.unwrap();
    let r = one_write(s, r, integrations.clone(), "install_integration").await;
    s.uninstall_integration(i.id, b.id, &actor).await.unwrap();
    let r = one_write(s, r, integrations, "uninstall_integration").await;

    // Deletion: pending (the organization leaves the index with its installations),
    // restored, deleted.
    let org_and_integrations = Touched {
        orgs: [a.id].into(),
        integrations: true,
        ..Touched::default()
    };
    s.schedule_org_deletion(a.id, i64::MAX / 2, &actor)
        .await
        .unwrap();
    let r = one_write(s, r, org_and_integrations.clone(), "schedule_org_deletion").await;
    let CatchUp::Partial { orgs: gone, .. } = s.catch_up(r - 1).await.unwrap() else {
        panic!("partial");
    };
    assert!(
        gone.organizations.is_empty(),
        "a pending organization is left out"
    );
    let restore = OrgUpdate {
        cancel_deletion: true,
        ..OrgUpdate::default()
    };
    s.edit_org(a.id, &restore, None, &actor).await.unwrap();
    let r = one_write(s, r, org_and_integrations.clone(), "restore").await;
    s.remove_member(a.id, invited.id, &actor).await.unwrap();
    let r = one_write(s, r, parts(a.id, &[invited.id], &[], &[]), "remove_member").await;
    s.delete_team(a.id, other.id, &actor).await.unwrap();
    let r = one_write(s, r, orgs(&[a.id]), "delete_team").await;
    s.delete_project(a.id, p.id, &actor).await.unwrap();
    let r = one_write(s, r, parts(a.id, &[], &[], &[p.id]), "delete_project").await;
    s.delete_org(a.id, &actor).await.unwrap();
    let r = one_write(s, r, org_and_integrations, "delete_org").await;
    s.schedule_org_deletion(b.id, 10, &actor).await.unwrap();
    let r = one_write(
        s,
        r,
        Touched {
            orgs: [b.id].into(),
            integrations: true,
            ..Touched::default()
        },
        "schedule beta",
    )
    .await;
    assert_eq!(s.purge_orgs_due(20).await.unwrap(), vec![b.id]);
    let r = one_write(
        s,
        r,
        Touched {
            orgs: [b.id].into(),
            integrations: true,
            ..Touched::default()
        },
        "purge_orgs_due",
    )
    .await;

    // Several writes: the union of what they touched; nothing since: an empty partial.
    let c = s
        .create_org("gamma", "Gamma", &[], owner.id, "owner", &actor)
        .await
        .unwrap();
    s.create_team(c.id, "t", "T", &actor).await.unwrap();
    let CatchUp::Partial {
        revision, touched, ..
    } = s.catch_up(r - 2).await.unwrap()
    else {
        panic!("partial");
    };
    assert_eq!(revision, r + 2);
    assert_eq!(touched.orgs, [b.id, c.id].into());
    assert!(touched.integrations);
    let CatchUp::Partial {
        revision, touched, ..
    } = s.catch_up(r + 2).await.unwrap()
    else {
        panic!("partial");
    };
    assert_eq!((revision, touched), (r + 2, Touched::default()));
    // Ahead of the store (a store restored from a backup): everything.
    assert!(matches!(
        s.catch_up(r + 100).await.unwrap(),
        CatchUp::Full { revision, .. } if revision == r + 2
    ));
}

/// A world import touches everything: a catch-up across it is `Full`.
#[tokio::test]
async fn an_import_touches_everything() {
    let db = crate::sqlite().await;
    let s = &*db.store;
    let doc: WorldDoc = serde_json::from_value(serde_json::json!({
        "organizations": [{"id": 1, "slug": "acme"}],
        "users": [{"id": 1}],
        "members": [{"id": 1, "organization": 1, "user": 1, "role": "owner"}],
    }))
    .unwrap();
    s.import_world(&doc, &scopegate_core::Policy::sentry(), &Actor::system())
        .await
        .unwrap();
    assert_eq!(s.revision().await.unwrap(), 1);
    let CatchUp::Full {
        revision, world, ..
    } = s.catch_up(0).await.unwrap()
    else {
        panic!("full");
    };
    assert_eq!(revision, 1);
    assert_eq!(world, s.full_world().await.unwrap());
    let owner = s.create_user("x@example.com", false).await.unwrap();
    assert_eq!(s.revision().await.unwrap(), 2);
    // From before the import: everything, even though the last change is small.
    assert!(matches!(s.catch_up(0).await.unwrap(), CatchUp::Full { .. }));
    let CatchUp::Partial { touched, .. } = s.catch_up(1).await.unwrap() else {
        panic!("partial");
    };
    assert_eq!(touched.users, [owner.id].into());
}

/// Revisions are in commit order: a snapshot at revision `R` holds every write numbered up
/// to `R` and none after (each write here adds one team: a snapshot at `R` holds exactly
/// `R - base` of them), while writers to different organizations run concurrently.
async fn revisions_are_in_commit_order(s: Arc<dyn Store>) {
    let owner = s.create_user("owner@example.com", false).await.unwrap();
    let actor = Actor::user(owner.id);
    let mut org_ids = Vec::new();
    for i in 0..8 {
        let o = s
            .create_org(&format!("o{i}"), "O", &[], owner.id, "owner", &actor)
            .await
            .unwrap();
        org_ids.push(o.id);
    }
    let base = s.revision().await.unwrap();
    let mut writers = Vec::new();
    for (w, org) in org_ids.iter().copied().enumerate() {
        let s = s.clone();
        let actor = actor.clone();
        writers.push(tokio::spawn(async move {
            for k in 0..10 {
                s.create_team(org, &format!("t{w}-{k}"), "T", &actor)
                    .await
                    .unwrap();
            }
        }));
    }
    let reader = {
        let s = s.clone();
        tokio::spawn(async move {
            let mut last = base;
            let mut seen = 0;
            while last < base + 80 {
                let CatchUp::Full {
                    revision, world, ..
                } = s.catch_up(0).await.unwrap()
                else {
                    panic!("full");
                };
                assert!(revision >= last, "revisions never go back");
                assert_eq!(
                    world.teams.len() as u64,
                    revision - base,
                    "a snapshot at revision {revision} holds every write up to it, no other"
                );
                if revision > last {
                    seen += 1;
                }
                last = revision;
            }
            seen
        })
    };
    for w in writers {
        w.await.unwrap();
    }
    let seen = reader.await.unwrap();
    assert!(seen >= 1);
    assert_eq!(s.revision().await.unwrap(), base + 80);
    let CatchUp::Partial { touched, .. } = s.catch_up(base).await.unwrap() else {
        panic!("partial");
    };
    // Team creations: some rows of each organization.
    assert_eq!(
        touched.parts.keys().copied().collect::<BTreeSet<_>>(),
        org_ids.iter().copied().collect()
    );
    assert_eq!(
        touched.parts.values().map(|p| p.teams.len()).sum::<usize>(),
        80
    );
}

#[tokio::test]
async fn revisions_are_in_commit_order_sqlite() {
    let db = crate::sqlite().await;
    revisions_are_in_commit_order(db.store.clone()).await;
}

#[tokio::test]
async fn revisions_are_in_commit_order_postgres() {
    if let Some(db) = crate::postgres().await {
        revisions_are_in_commit_order(db.store.clone()).await;
        db.cleanup().await;
    }
}

/// A catch-up from before what the pruned change log holds is `Full`.
async fn pruned_log_gives_everything(s: &dyn Store, url: &str) {
    let owner = s.create_user("owner@example.com", false).await.unwrap();
    let actor = Actor::user(owner.id);
    let o = s
        .create_org("o", "O", &[], owner.id, "owner", &actor)
        .await
        .unwrap();
    s.create_team(o.id, "t", "T", &actor).await.unwrap();
    assert_eq!(s.revision().await.unwrap(), 3);
    assert!(matches!(
        s.catch_up(1).await.unwrap(),
        CatchUp::Partial { .. }
    ));
    // What pruning does to the oldest rows.
    prune_below(url, 3).await;
    assert!(matches!(
        s.catch_up(1).await.unwrap(),
        CatchUp::Full { revision: 3, .. }
    ));
    let CatchUp::Partial { touched, .. } = s.catch_up(2).await.unwrap() else {
        panic!("the log still reaches back to 2");
    };
    assert_eq!(touched.parts.keys().copied().collect::<Vec<_>>(), [o.id]);
}

async fn prune_below(url: &str, revision: i64) {
    use sqlx::Connection;
    let sql = "DELETE FROM store_changes WHERE revision < $1";
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query(sql)
            .bind(revision)
            .execute(&mut c)
            .await
            .unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(sql)
            .bind(revision)
            .execute(&mut c)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn pruned_log_gives_everything_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let s = scopegate_store::connect(&url).await.unwrap();
    pruned_log_gives_everything(&*s, &url).await;
}

#[tokio::test]
async fn pruned_log_gives_everything_postgres() {
    if let Some(db) = crate::postgres().await {
        let url = db.postgres_url.clone().unwrap();
        pruned_log_gives_everything(&*db.store, &url).await;
        db.cleanup().await;
    }
}

/// PostgreSQL announces each committed change with its revision; SQLite has no feed.
#[tokio::test]
async fn the_change_feed_names_the_revision() {
    let db = crate::sqlite().await;
    assert!(db.store.change_feed().await.unwrap().is_none());
    let Some(db) = crate::postgres().await else {
        return;
    };
    let s = &*db.store;
    let mut feed = s.change_feed().await.unwrap().unwrap();
    let owner = s.create_user("owner@example.com", false).await.unwrap();
    s.create_org("o", "O", &[], owner.id, "owner", &Actor::user(owner.id))
        .await
        .unwrap();
    assert_eq!(feed.next().await.unwrap(), Some(1));
    assert_eq!(feed.next().await.unwrap(), Some(2));
    drop(feed);
    db.cleanup().await;
}
