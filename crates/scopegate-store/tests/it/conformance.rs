//! One story per area, run on every backend.

use scopegate_core::{Policy, World};
use scopegate_store::{
    hash_secret, Actor, GrantSelection, GranularEdit, NewToken, OrgUpdate, Page, Store, StoreError,
    TokenKind,
};

crate::on_both!(
    users,
    organizations,
    members_and_invites,
    teams_projects_and_world,
    tokens_store_only_a_hash,
    audit_is_atomic_with_the_change,
    audit_log_is_newest_first_and_paged,
);

async fn users(s: &dyn Store) {
    let a = s.create_user("a@example.com", true).await.unwrap();
    assert!(a.is_superuser);
    assert_eq!(s.user(a.id).await.unwrap(), a);
    assert_eq!(s.user_by_email("a@example.com").await.unwrap(), a);
    assert!(matches!(
        s.create_user("a@example.com", false).await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        s.user(a.id + 100).await,
        Err(StoreError::NotFound)
    ));
    assert!(s.is_empty().await.unwrap());
}

async fn organizations(s: &dyn Store) {
    let u = s.create_user("o@example.com", false).await.unwrap();
    let actor = Actor::user(u.id);
    let org = s
        .create_org("acme", "Acme", &[], u.id, "owner", &actor)
        .await
        .unwrap();
    assert!(!s.is_empty().await.unwrap());
    assert_eq!(org.slug, "acme");
    assert!(org.open_membership);
    assert!(matches!(
        s.create_org("acme", "Other", &[], u.id, "owner", &actor)
            .await,
        Err(StoreError::Conflict)
    ));
    let owner = s.member_of_user(org.id, u.id).await.unwrap();
    assert_eq!(owner.role, "owner");

    let mut update = OrgUpdate {
        name: Some("Acme Inc".into()),
        open_membership: Some(false),
        ..OrgUpdate::default()
    };
    update
        .options
        .insert("sentry:events_member_admin".into(), false.into());
    let changed = s.update_org(org.id, &update, &actor).await.unwrap();
    assert_eq!(changed.name, "Acme Inc");
    assert_eq!(changed.slug, "acme");
    assert!(!changed.open_membership);
    assert_eq!(
        changed.options.get("sentry:events_member_admin"),
        Some(&serde_json::Value::Bool(false))
    );
    // Options merge: setting another keeps the first.
    let mut second = OrgUpdate::default();
    second
        .options
        .insert("sentry:alerts_member_write".into(), false.into());
    let merged = s.update_org(org.id, &second, &actor).await.unwrap();
    assert_eq!(merged.options.len(), 2);
    assert_eq!(s.org_by_slug("acme").await.unwrap(), merged);

    s.create_org("beta", "Beta", &[], u.id, "owner", &actor)
        .await
        .unwrap();
    let rename = OrgUpdate {
        slug: Some("beta".into()),
        ..OrgUpdate::default()
    };
    assert!(matches!(
        s.update_org(org.id, &rename, &actor).await,
        Err(StoreError::Conflict)
    ));
    let slugs: Vec<String> = s
        .orgs_of_user(u.id, Page::default())
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.slug)
        .collect();
    assert_eq!(slugs, ["acme", "beta"]);
    let one = Page {
        offset: 1,
        limit: 1,
    };
    assert_eq!(s.orgs_of_user(u.id, one).await.unwrap().len(), 1);

    s.delete_org(org.id, &actor).await.unwrap();
    assert!(matches!(
        s.org_by_slug("acme").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.member_of_user(org.id, u.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.delete_org(org.id, &actor).await,
        Err(StoreError::NotFound)
    ));
}

async fn members_and_invites(s: &dyn Store) {
    let owner = s.create_user("owner@example.com", false).await.unwrap();
    let bob = s.create_user("bob@example.com", false).await.unwrap();
    let actor = Actor::user(owner.id);
    let org = s
        .create_org("acme", "Acme", &[], owner.id, "owner", &actor)
        .await
        .unwrap();

    let invite = s
        .invite_member(org.id, "bob@example.com", "member", &actor)
        .await
        .unwrap();
    assert_eq!(invite.user_id, None);
    assert_eq!(invite.email.as_deref(), Some("bob@example.com"));
    assert!(matches!(
        s.invite_member(org.id, "bob@example.com", "member", &actor)
            .await,
        Err(StoreError::Conflict)
    ));
    let accepted = s
        .accept_invite(org.id, invite.id, bob.id, &Actor::user(bob.id))
        .await
        .unwrap();
    assert_eq!(accepted.user_id, Some(bob.id));
    // An accepted invite cannot be accepted again.
    assert!(matches!(
        s.accept_invite(org.id, invite.id, bob.id, &Actor::user(bob.id))
            .await,
        Err(StoreError::NotFound)
    ));
    let promoted = s
        .set_member_role(org.id, invite.id, "manager", &actor)
        .await
        .unwrap();
    assert_eq!(promoted.role, "manager");
    assert_eq!(s.members(org.id, Page::default()).await.unwrap().len(), 2);
    let second = Page {
        offset: 1,
        limit: 10,
    };
    assert_eq!(s.members(org.id, second).await.unwrap(), vec![promoted]);

    s.remove_member(org.id, invite.id, &actor).await.unwrap();
    assert!(matches!(
        s.member(org.id, invite.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.remove_member(org.id, invite.id, &actor).await,
        Err(StoreError::NotFound)
    ));
}

async fn teams_projects_and_world(s: &dyn Store) {
    let policy = Policy::sentry();
    let owner = s.create_user("owner@example.com", false).await.unwrap();
    let dev = s.create_user("dev@example.com", false).await.unwrap();
    let stranger = s.create_user("stranger@example.com", false).await.unwrap();
    let actor = Actor::user(owner.id);
    let org = s
        .create_org("acme", "Acme", &[], owner.id, "owner", &actor)
        .await
        .unwrap();
    let other = s
        .create_org("other", "Other", &[], stranger.id, "owner", &actor)
        .await
        .unwrap();
    let invite = s
        .invite_member(org.id, "dev@example.com", "member", &actor)
        .await
        .unwrap();
    let m = s
        .accept_invite(org.id, invite.id, dev.id, &actor)
        .await
        .unwrap();

    let backend = s
        .create_team(org.id, "backend", "Backend", &actor)
        .await
        .unwrap();
    let frontend = s
        .create_team(org.id, "frontend", "Frontend", &actor)
        .await
        .unwrap();
    assert!(matches!(
        s.create_team(org.id, "backend", "Again", &actor).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(s.team_by_slug(org.id, "backend").await.unwrap(), backend);
    // A team of another organization cannot be used.
    let foreign = s.create_team(other.id, "ops", "Ops", &actor).await.unwrap();
    assert!(matches!(
        s.set_team_member(org.id, foreign.id, m.id, None, &actor)
            .await,
        Err(StoreError::NotFound)
    ));

    s.set_team_member(org.id, backend.id, m.id, None, &actor)
        .await
        .unwrap();
    let changed = s
        .set_team_member(org.id, backend.id, m.id, Some("admin"), &actor)
        .await
        .unwrap();
    assert_eq!(changed.role.as_deref(), Some("admin"));
    assert_eq!(s.team_members(backend.id).await.unwrap(), vec![changed]);

    let api = s
        .create_project(org.id, "api", "API", &[backend.id], &actor)
        .await
        .unwrap();
    assert_eq!(api.teams, vec![backend.id]);
    assert!(s
        .add_project_team(org.id, api.id, frontend.id, &actor)
        .await
        .unwrap());
    // Idempotent, as Sentry's `project.add_team`: nothing changes, nothing is audited.
    let audited = s.audit_log(org.id, Page::default()).await.unwrap().len();
    assert!(!s
        .add_project_team(org.id, api.id, frontend.id, &actor)
        .await
        .unwrap());
    assert_eq!(
        s.project_by_slug(org.id, "api").await.unwrap().teams,
        vec![backend.id, frontend.id]
    );
    assert!(s
        .remove_project_team(org.id, api.id, frontend.id, &actor)
        .await
        .unwrap());
    assert!(!s
        .remove_project_team(org.id, api.id, frontend.id, &actor)
        .await
        .unwrap());
    let log = s.audit_log(org.id, Page::default()).await.unwrap();
    assert_eq!(
        log.len(),
        audited + 1,
        "only the effective removal is audited"
    );
    assert_eq!(log[0].event, "project-team.remove");
    assert!(matches!(
        s.create_project(org.id, "api", "Again", &[], &actor).await,
        Err(StoreError::Conflict)
    ));
    s.edit_org(
        org.id,
        &OrgUpdate::default(),
        Some(&GranularEdit {
            kind: "replay".into(),
            toggle_option: "sentry:granular-replay-permissions".into(),
            toggle: None,
            members: Some(GrantSelection::MemberIds(vec![m.id])),
            teams: None,
            toggle_field: "hasGranularReplayPermissions".into(),
            members_field: "replayAccessMembers".into(),
        }),
        &actor,
    )
    .await
    .unwrap();
    assert_eq!(s.grants(org.id).await.unwrap().len(), 1);

    let doc = s.world(Some("acme"), Some(stranger.id)).await.unwrap();
    assert_eq!(doc.organizations.len(), 1);
    assert_eq!(doc.members.len(), 2);
    assert_eq!(doc.teams.len(), 2);
    assert_eq!(doc.projects.len(), 1);
    assert_eq!(doc.granular_grants.len(), 1);
    assert_eq!(doc.users.len(), 3, "members' users plus the caller");
    let dev_doc = doc
        .members
        .iter()
        .find(|x| x.user == Some(dev.id as u64))
        .unwrap();
    assert_eq!(dev_doc.teams.len(), 1);
    assert_eq!(dev_doc.teams[0].role.as_deref(), Some("admin"));
    let world = World::build(&doc, &policy).unwrap();
    assert!(world.org_by_slug("acme").is_some());
    assert!(world.org_by_slug("other").is_none());

    let none = s.world(Some("missing"), None).await.unwrap();
    assert!(none.organizations.is_empty() && none.users.is_empty());

    s.delete_team(org.id, backend.id, &actor).await.unwrap();
    assert!(s
        .project_by_slug(org.id, "api")
        .await
        .unwrap()
        .teams
        .is_empty());
    s.delete_project(org.id, api.id, &actor).await.unwrap();
    assert!(s
        .projects(org.id, Page::default())
        .await
        .unwrap()
        .is_empty());
}

async fn tokens_store_only_a_hash(s: &dyn Store) {
    let u = s.create_user("t@example.com", false).await.unwrap();
    let actor = Actor::user(u.id);
    let org = s
        .create_org("acme", "Acme", &[], u.id, "owner", &actor)
        .await
        .unwrap();
    let (token, secret) = s
        .create_token(
            &NewToken {
                kind: TokenKind::User,
                user_id: Some(u.id),
                organization_id: None,
                name: Some("ci".into()),
                scopes: vec!["org:read".into()],
            },
            &actor,
        )
        .await
        .unwrap();
    assert!(secret.expose().starts_with("sgu_"));
    assert_eq!(token.hash, hash_secret(secret.expose()));
    assert!(!format!("{token:?} {secret:?}").contains(secret.expose()));
    assert!(!format!("{token:?}").contains(&token.hash));
    let found = s.token_by_secret(secret.expose()).await.unwrap();
    assert_eq!(found, token);
    assert!(matches!(
        s.token_by_secret("sgu_wrong").await,
        Err(StoreError::NotFound)
    ));

    let (org_token, org_secret) = s
        .create_token(
            &NewToken {
                kind: TokenKind::Org,
                user_id: None,
                organization_id: Some(org.id),
                name: Some("deploy".into()),
                scopes: vec!["org:ci".into()],
            },
            &actor,
        )
        .await
        .unwrap();
    assert!(org_secret.expose().starts_with("sntrys_"));
    assert_eq!(org_token.organization_slug.as_deref(), Some("acme"));
    assert_eq!(
        s.org_tokens(org.id, Page::default()).await.unwrap(),
        vec![org_token.clone()]
    );
    assert_eq!(
        s.user_tokens(u.id, Page::default()).await.unwrap(),
        vec![token]
    );
    s.delete_token(org_token.id, &actor).await.unwrap();
    assert!(matches!(
        s.token_by_secret(org_secret.expose()).await,
        Err(StoreError::NotFound)
    ));
    let events: Vec<String> = s
        .audit_log(org.id, Page::default())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(
        events,
        [
            "org-auth-token.remove",
            "org-auth-token.create",
            "org.create"
        ]
    );
}

async fn audit_is_atomic_with_the_change(s: &dyn Store) {
    let u = s.create_user("a@example.com", false).await.unwrap();
    let actor = Actor::user(u.id);
    let org = s
        .create_org("acme", "Acme", &[], u.id, "owner", &actor)
        .await
        .unwrap();
    let before = s.audit_log(org.id, Page::default()).await.unwrap();

    s.inject_audit_failure();
    assert!(matches!(
        s.create_team(org.id, "backend", "Backend", &actor).await,
        Err(StoreError::Injected)
    ));
    assert!(matches!(
        s.team_by_slug(org.id, "backend").await,
        Err(StoreError::NotFound)
    ));
    s.inject_audit_failure();
    assert!(s
        .invite_member(org.id, "x@example.com", "member", &actor)
        .await
        .is_err());
    assert_eq!(s.members(org.id, Page::default()).await.unwrap().len(), 1);
    s.inject_audit_failure();
    let update = OrgUpdate {
        name: Some("Changed".into()),
        ..OrgUpdate::default()
    };
    assert!(s.update_org(org.id, &update, &actor).await.is_err());
    assert_eq!(s.org_by_slug("acme").await.unwrap().name, "Acme");
    assert_eq!(s.audit_log(org.id, Page::default()).await.unwrap(), before);

    // The fault is one-shot: the next write goes through with its entry.
    s.create_team(org.id, "backend", "Backend", &actor)
        .await
        .unwrap();
    assert_eq!(
        s.audit_log(org.id, Page::default()).await.unwrap().len(),
        before.len() + 1
    );
}

async fn audit_log_is_newest_first_and_paged(s: &dyn Store) {
    let u = s.create_user("a@example.com", false).await.unwrap();
    let actor = Actor::user(u.id);
    let org = s
        .create_org("acme", "Acme", &[], u.id, "owner", &actor)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for slug in ["a", "b", "c"] {
        ids.push(s.create_team(org.id, slug, slug, &actor).await.unwrap().id);
    }
    let all = s.audit_log(org.id, Page::default()).await.unwrap();
    let targets: Vec<&str> = all.iter().map(|e| e.target.as_str()).collect();
    // Teams are named by id (their slug can change); `data` keeps the slug.
    let team = |i: usize| format!("team:{}", ids[i]);
    assert_eq!(targets, [team(2), team(1), team(0), "org:acme".into()]);
    assert!(all
        .iter()
        .all(|e| e.actor == "user:1" || e.actor_user_id == Some(u.id)));
    assert_eq!(all[0].data["slug"], "c");
    let page = s
        .audit_log(
            org.id,
            Page {
                offset: 2,
                limit: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].target, team(0));
}
