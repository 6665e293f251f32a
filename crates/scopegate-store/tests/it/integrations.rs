//! Integrations (Sentry Apps): create, install, uninstall, list; every write audited in its
//! transaction; exported by `world` (installed here) and `full_world` (everywhere).

use scopegate_core::wire::IntegrationDoc;
use scopegate_core::{Policy, World};
use scopegate_store::{Actor, NewIntegration, Page, Store, StoreError};

crate::on_both!(
    integrations_are_stored_installed_and_exported,
    integration_writes_are_audited_atomically
);

fn bot(slug: &str) -> NewIntegration {
    NewIntegration {
        slug: slug.into(),
        name: "Deploy Bot".into(),
        scopes: vec!["event:read".into(), "org:read".into()],
    }
}

async fn events(s: &dyn Store, org: i64) -> Vec<String> {
    s.audit_log(org, Page::default())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect()
}

async fn integrations_are_stored_installed_and_exported(s: &dyn Store) {
    let u = s.create_user("o@example.com", false).await.unwrap();
    let actor = Actor::user(u.id);
    let acme = s
        .create_org("acme", "Acme", &[], u.id, "owner", &actor)
        .await
        .unwrap();
    let beta = s
        .create_org("beta", "Beta", &[], u.id, "owner", &actor)
        .await
        .unwrap();

    let app = s
        .create_integration(&bot("deploy-bot"), &[acme.id, acme.id], &actor)
        .await
        .unwrap();
    assert_eq!(app.slug, "deploy-bot");
    assert_eq!(app.name, "Deploy Bot");
    assert_eq!(app.scopes, ["event:read", "org:read"]);
    assert_eq!(app.installed_on, [acme.id]);
    assert_eq!(s.integration(app.id).await.unwrap(), app);
    assert!(matches!(
        s.integration(app.id + 100).await,
        Err(StoreError::NotFound)
    ));
    // A taken slug, or an unknown organization to install on: nothing written.
    assert!(matches!(
        s.create_integration(&bot("deploy-bot"), &[], &actor).await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        s.create_integration(&bot("other"), &[beta.id + 100], &actor)
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        s.integrations(Page::default()).await.unwrap(),
        std::slice::from_ref(&app)
    );

    let both = s
        .install_integration(app.id, beta.id, &actor)
        .await
        .unwrap();
    assert_eq!(both.installed_on, [acme.id, beta.id]);
    assert!(matches!(
        s.install_integration(app.id, beta.id, &actor).await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        s.install_integration(app.id + 100, beta.id, &actor).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.install_integration(app.id, beta.id + 100, &actor).await,
        Err(StoreError::NotFound)
    ));

    // Exported: everywhere by `full_world`, only here by `world`.
    let want = |on: Vec<i64>| IntegrationDoc {
        id: app.id as u64,
        scopes: app.scopes.clone(),
        installed_on: on.into_iter().map(|o| o as u64).collect(),
    };
    let full = s.full_world().await.unwrap();
    assert_eq!(full.integrations, [want(vec![acme.id, beta.id])]);
    let world = World::build(&full, &Policy::sentry()).unwrap();
    assert_eq!(
        world.integration(app.id as u64).unwrap().installed_on.len(),
        2
    );
    assert_eq!(
        s.world(Some("beta"), None).await.unwrap().integrations,
        [want(vec![beta.id])]
    );

    let back = s
        .uninstall_integration(app.id, beta.id, &actor)
        .await
        .unwrap();
    assert_eq!(back.installed_on, [acme.id]);
    assert!(matches!(
        s.uninstall_integration(app.id, beta.id, &actor).await,
        Err(StoreError::NotFound)
    ));
    assert!(s
        .world(Some("beta"), None)
        .await
        .unwrap()
        .integrations
        .is_empty());
    assert_eq!(
        events(s, beta.id).await[..2],
        ["integration.uninstall", "integration.install"]
    );
    assert_eq!(events(s, acme.id).await[0], "integration.install");

    // Paging, by id.
    let second = s
        .create_integration(&bot("second"), &[], &actor)
        .await
        .unwrap();
    assert!(second.installed_on.is_empty());
    let page = Page {
        offset: 1,
        limit: 5,
    };
    assert_eq!(s.integrations(page).await.unwrap(), [second]);

    // Deleting an organization uninstalls everything from it.
    s.delete_org(acme.id, &actor).await.unwrap();
    assert!(s.integration(app.id).await.unwrap().installed_on.is_empty());
    World::build(&s.full_world().await.unwrap(), &Policy::sentry()).unwrap();
}

async fn integration_writes_are_audited_atomically(s: &dyn Store) {
    let u = s.create_user("o@example.com", false).await.unwrap();
    let actor = Actor::user(u.id);
    let acme = s
        .create_org("acme", "Acme", &[], u.id, "owner", &actor)
        .await
        .unwrap();
    let before = events(s, acme.id).await;

    s.inject_audit_failure();
    assert!(matches!(
        s.create_integration(&bot("bot"), &[acme.id], &actor).await,
        Err(StoreError::Injected)
    ));
    assert!(s.integrations(Page::default()).await.unwrap().is_empty());

    let app = s
        .create_integration(&bot("bot"), &[], &actor)
        .await
        .unwrap();
    s.inject_audit_failure();
    assert!(matches!(
        s.install_integration(app.id, acme.id, &actor).await,
        Err(StoreError::Injected)
    ));
    assert!(s.integration(app.id).await.unwrap().installed_on.is_empty());
    assert_eq!(events(s, acme.id).await, before);

    s.install_integration(app.id, acme.id, &actor)
        .await
        .unwrap();
    s.inject_audit_failure();
    assert!(matches!(
        s.uninstall_integration(app.id, acme.id, &actor).await,
        Err(StoreError::Injected)
    ));
    assert_eq!(s.integration(app.id).await.unwrap().installed_on, [acme.id]);
    let log = s.audit_log(acme.id, Page::default()).await.unwrap();
    assert_eq!(log[0].event, "integration.install");
    assert_eq!(log[0].actor_user_id, Some(u.id));
    assert_eq!(log[0].target, format!("integration:{}", app.id));
}
