//! Tokens: the creator of an org auth token, the fields Sentry shows (a personal token
//! without a name, the last characters of the secret), and the reduction of stored org
//! token scopes to the policy's set (security issue 11).

use scopegate_store::{Actor, NewToken, Page, Store, StoreError, TokenKind};

crate::on_both!(
    tokens_keep_their_creator_name_and_last_characters,
    org_token_scopes_are_reduced_to_the_policy_and_audited,
    reducing_org_token_scopes_is_atomic_with_its_audit,
);

async fn setup(s: &dyn Store) -> (i64, i64, Actor) {
    let u = s.create_user("t@example.com", false).await.unwrap();
    let actor = Actor::user(u.id);
    let org = s
        .create_org("acme", "Acme", &[], u.id, "owner", &actor)
        .await
        .unwrap();
    (u.id, org.id, actor)
}

fn org_token(org: i64, creator: Option<i64>, scopes: &[&str]) -> NewToken {
    NewToken {
        kind: TokenKind::Org,
        user_id: creator,
        organization_id: Some(org),
        name: Some("deploy".into()),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
    }
}

async fn tokens_keep_their_creator_name_and_last_characters(s: &dyn Store) {
    let (user, org, actor) = setup(s).await;
    let (personal, secret) = s
        .create_token(
            &NewToken {
                kind: TokenKind::User,
                user_id: Some(user),
                organization_id: None,
                name: None,
                scopes: vec!["org:read".into()],
            },
            &actor,
        )
        .await
        .unwrap();
    assert_eq!(personal.name, None);
    let last = personal.last_characters.clone().unwrap();
    assert_eq!(last.len(), 4);
    assert!(secret.expose().ends_with(&last));
    assert_eq!(s.token(personal.id).await.unwrap(), personal);

    let (made, org_secret) = s
        .create_token(&org_token(org, Some(user), &["org:ci"]), &actor)
        .await
        .unwrap();
    assert_eq!(made.user_id, Some(user));
    assert!(org_secret
        .expose()
        .ends_with(made.last_characters.as_deref().unwrap()));
    // An org token is no personal token of its creator.
    assert_eq!(
        s.user_tokens(user, Page::default()).await.unwrap(),
        vec![personal]
    );
    assert_eq!(
        s.org_tokens(org, Page::default()).await.unwrap(),
        vec![made]
    );
}

async fn org_token_scopes_are_reduced_to_the_policy_and_audited(s: &dyn Store) {
    let (user, org, actor) = setup(s).await;
    let (wide, _) = s
        .create_token(
            &org_token(org, None, &["event:admin", "org:ci", "project:read"]),
            &actor,
        )
        .await
        .unwrap();
    let (exact, _) = s
        .create_token(&org_token(org, Some(user), &["org:ci"]), &actor)
        .await
        .unwrap();
    let (outside, _) = s
        .create_token(&org_token(org, None, &["project:read"]), &actor)
        .await
        .unwrap();
    let (personal, _) = s
        .create_token(
            &NewToken {
                kind: TokenKind::User,
                user_id: Some(user),
                organization_id: None,
                name: None,
                scopes: vec!["project:read".into()],
            },
            &actor,
        )
        .await
        .unwrap();
    let before = s.audit_log(org, Page::default()).await.unwrap().len();

    let allowed = vec!["org:ci".to_string()];
    assert_eq!(
        s.reduce_org_token_scopes(&allowed, &Actor::system())
            .await
            .unwrap(),
        2
    );
    assert_eq!(s.token(wide.id).await.unwrap().scopes, ["org:ci"]);
    assert_eq!(s.token(exact.id).await.unwrap(), exact);
    // Never adds a scope: a token holding none of the policy's is left with none.
    assert!(s.token(outside.id).await.unwrap().scopes.is_empty());
    // Personal tokens are not org tokens.
    assert_eq!(s.token(personal.id).await.unwrap(), personal);

    let log = s.audit_log(org, Page::default()).await.unwrap();
    assert_eq!(log.len(), before + 2);
    let edits: Vec<_> = log.iter().take(2).rev().collect();
    assert_eq!(edits[0].event, "org-auth-token.edit");
    assert_eq!(edits[0].target, format!("token:{}", wide.id));
    assert_eq!(edits[0].actor, "system");
    assert_eq!(
        edits[0].data["scopes"],
        serde_json::json!({"from": ["event:admin", "org:ci", "project:read"], "to": ["org:ci"]})
    );
    assert_eq!(edits[1].target, format!("token:{}", outside.id));
    assert_eq!(
        edits[1].data["scopes"],
        serde_json::json!({"from": ["project:read"], "to": []})
    );

    // Idempotent: nothing left to change, nothing audited.
    assert_eq!(
        s.reduce_org_token_scopes(&allowed, &Actor::system())
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        s.audit_log(org, Page::default()).await.unwrap().len(),
        before + 2
    );
}

async fn reducing_org_token_scopes_is_atomic_with_its_audit(s: &dyn Store) {
    let (_, org, actor) = setup(s).await;
    let (a, _) = s
        .create_token(&org_token(org, None, &["org:ci", "project:read"]), &actor)
        .await
        .unwrap();
    let (b, _) = s
        .create_token(&org_token(org, None, &["event:admin", "org:ci"]), &actor)
        .await
        .unwrap();
    let log = s.audit_log(org, Page::default()).await.unwrap();
    s.inject_audit_failure();
    assert!(matches!(
        s.reduce_org_token_scopes(&["org:ci".to_string()], &Actor::system())
            .await,
        Err(StoreError::Injected)
    ));
    // Nothing changed: neither token, nor the log.
    assert_eq!(s.token(a.id).await.unwrap(), a);
    assert_eq!(s.token(b.id).await.unwrap(), b);
    assert_eq!(s.audit_log(org, Page::default()).await.unwrap(), log);
}
