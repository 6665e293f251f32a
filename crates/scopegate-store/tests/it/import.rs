//! World import and export: ids kept, sequences advanced, bad documents write nothing, a
//! non-empty store is refused, and the round trip `import_world` → `full_world` over random
//! worlds (the core's generator, `scopegate_testkit::gen`) gives back the document, with
//! `full_world` equal to every organization's `world`, in the documented order.

use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use scopegate_core::wire::{
    GrantDoc, IntegrationDoc, MemberDoc, MemberFlagsDoc, MemberTeamDoc, OrganizationDoc,
    ProjectDoc, TeamDoc, UserDoc,
};
use scopegate_core::{Policy, World, WorldDoc};
use scopegate_store::{Actor, NewIntegration, Page, Store, StoreError};

crate::on_both!(
    import_keeps_ids_and_later_writes_get_fresh_ones,
    import_of_a_bad_document_writes_nothing,
    import_refuses_a_store_that_is_not_empty,
);

/// `doc` with every list in id order (and grants in field order): what "the same document
/// up to ordering" compares.
pub fn normalized(mut d: WorldDoc) -> WorldDoc {
    d.organizations.sort_by_key(|o| o.id);
    d.users.sort_by_key(|u| u.id);
    for m in &mut d.members {
        m.teams.sort_by_key(|t| t.team);
    }
    d.members.sort_by_key(|m| m.id);
    d.teams.sort_by_key(|t| t.id);
    for p in &mut d.projects {
        p.teams.sort_unstable();
    }
    d.projects.sort_by_key(|p| p.id);
    for i in &mut d.integrations {
        i.installed_on.sort_unstable();
    }
    d.integrations.sort_by_key(|i| i.id);
    d.granular_grants.sort_by(|a, b| {
        (a.organization, &a.kind, a.member, a.team).cmp(&(
            b.organization,
            &b.kind,
            b.member,
            b.team,
        ))
    });
    d
}

/// A small world using every field the engine reads, with ids far from 1.
pub fn sample() -> WorldDoc {
    let mut options = serde_json::Map::new();
    options.insert("sentry:granular-replay-permissions".into(), true.into());
    options.insert("sentry:events_member_admin".into(), 0.into());
    WorldDoc {
        organizations: vec![
            OrganizationDoc {
                id: 41,
                slug: "acme".into(),
                features: vec![
                    "organizations:granular-replay-permissions".into(),
                    "organizations:team-roles".into(),
                ],
                options,
                open_membership: false,
                require_2fa: true,
                require_sso: false,
            },
            OrganizationDoc {
                id: 42,
                slug: "beta".into(),
                open_membership: true,
                require_sso: true,
                ..OrganizationDoc::default()
            },
        ],
        users: vec![
            UserDoc {
                id: 10,
                has_2fa: true,
            },
            UserDoc {
                id: 11,
                has_2fa: false,
            },
        ],
        members: vec![
            MemberDoc {
                id: 100,
                organization: 41,
                user: Some(10),
                role: "owner".into(),
                teams: vec![MemberTeamDoc {
                    team: 500,
                    role: None,
                }],
                flags: MemberFlagsDoc {
                    member_limit_restricted: false,
                    sso_linked: true,
                },
            },
            MemberDoc {
                id: 101,
                organization: 41,
                user: Some(11),
                role: "member".into(),
                teams: vec![
                    MemberTeamDoc {
                        team: 501,
                        role: Some("admin".into()),
                    },
                    MemberTeamDoc {
                        team: 500,
                        role: Some("contributor".into()),
                    },
                ],
                flags: MemberFlagsDoc {
                    member_limit_restricted: true,
                    sso_linked: false,
                },
            },
            MemberDoc {
                id: 102,
                organization: 41,
                user: None,
                role: "admin".into(),
                teams: Vec::new(),
                flags: MemberFlagsDoc::default(),
            },
            MemberDoc {
                id: 103,
                organization: 42,
                user: Some(10),
                role: "manager".into(),
                teams: Vec::new(),
                flags: MemberFlagsDoc::default(),
            },
        ],
        teams: vec![
            TeamDoc {
                id: 500,
                organization: 41,
                slug: "backend".into(),
            },
            TeamDoc {
                id: 501,
                organization: 41,
                slug: "api".into(),
            },
        ],
        projects: vec![
            ProjectDoc {
                id: 5000,
                organization: 41,
                slug: "web".into(),
                teams: vec![501, 500],
                active: true,
            },
            ProjectDoc {
                id: 5001,
                organization: 42,
                slug: "old".into(),
                teams: Vec::new(),
                active: false,
            },
        ],
        integrations: vec![IntegrationDoc {
            id: 77,
            scopes: vec!["event:read".into(), "org:read".into()],
            installed_on: vec![42, 41],
        }],
        granular_grants: vec![
            GrantDoc {
                organization: 41,
                kind: "replay".into(),
                member: Some(102),
                team: None,
            },
            GrantDoc {
                organization: 41,
                kind: "replay".into(),
                member: None,
                team: Some(501),
            },
        ],
    }
}

async fn import_keeps_ids_and_later_writes_get_fresh_ones(s: &dyn Store) {
    let policy = Policy::sentry();
    let doc = sample();
    let summary = s
        .import_world(&doc, &policy, &Actor::system())
        .await
        .unwrap();
    assert_eq!((summary.organizations, summary.members), (2, 4));
    let back = s.full_world().await.unwrap();
    assert_eq!(normalized(back.clone()), normalized(doc.clone()));
    // The documented order: teams by slug, a member's teams by team slug, owners by id.
    assert_eq!(back.teams[0].slug, "api");
    assert_eq!(back.members[1].teams[0].team, 501);
    assert_eq!(back.projects[0].teams, [500, 501]);
    assert_eq!(back.integrations[0].installed_on, [41, 42]);
    World::build(&back, &policy).unwrap();

    // The stored rows behind the document: placeholders, names, the invite.
    assert_eq!(s.user(10).await.unwrap().email, "user-10@import.invalid");
    let acme = s.org_by_slug("acme").await.unwrap();
    assert_eq!((acme.id, acme.name.as_str()), (41, "acme"));
    let invite = s.member(41, 102).await.unwrap();
    assert_eq!(invite.email.as_deref(), Some("invite-102@import.invalid"));
    assert_eq!(invite.user_id, None);
    assert_eq!(
        s.member_of_user(41, 11).await.unwrap().email.as_deref(),
        Some("user-11@import.invalid")
    );
    let app = s.integration(77).await.unwrap();
    assert_eq!(app.slug, "integration-77");
    assert_eq!(app.scopes, ["event:read", "org:read"]);

    // One `world.import` entry per organization, with its counts.
    let log = s.audit_log(41, Page::default()).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].event, "world.import");
    assert_eq!(log[0].target, "org:acme");
    assert_eq!(log[0].data["members"], 3);
    assert_eq!(log[0].data["grants"], 2);
    assert_eq!(log[0].data["integrations"], 1);

    // Every later write gets an id past the imported ones (PostgreSQL's sequences moved).
    let actor = Actor::system();
    let user = s.create_user("new@example.com", false).await.unwrap();
    assert!(user.id > 11, "{}", user.id);
    let org = s
        .create_org("gamma", "Gamma", &[], user.id, "owner", &actor)
        .await
        .unwrap();
    assert!(org.id > 42, "{}", org.id);
    let member = s.member_of_user(org.id, user.id).await.unwrap();
    assert!(member.id > 103, "{}", member.id);
    let team = s.create_team(41, "new", "New", &actor).await.unwrap();
    assert!(team.id > 501, "{}", team.id);
    let project = s
        .create_project(41, "new", "New", &[team.id], &actor)
        .await
        .unwrap();
    assert!(project.id > 5001, "{}", project.id);
    let integration = s
        .create_integration(
            &NewIntegration {
                slug: "later".into(),
                name: "Later".into(),
                scopes: vec!["org:read".into()],
            },
            &[41],
            &actor,
        )
        .await
        .unwrap();
    assert!(integration.id > 77, "{}", integration.id);
    World::build(&s.full_world().await.unwrap(), &policy).unwrap();
}

async fn assert_empty(s: &dyn Store) {
    assert_eq!(s.full_world().await.unwrap(), WorldDoc::default());
    assert!(s.is_empty().await.unwrap());
}

async fn import_of_a_bad_document_writes_nothing(s: &dyn Store) {
    let policy = Policy::sentry();
    let actor = Actor::system();
    let mut unknown_role = sample();
    unknown_role.members[3].role = "boss".into();
    let mut dangling = sample();
    dangling.granular_grants[0].member = Some(999);
    let mut twice = sample();
    twice.projects[0].teams = vec![500, 500];
    // PostgreSQL refuses NUL in `text`: a located problem on both backends, not a
    // database error (issue 11).
    let mut nul = sample();
    nul.teams[0].slug = "ba\u{0}ck".into();
    let mut c1 = sample();
    c1.organizations[1].slug = "beta\u{85}".into();
    for (doc, problem) in [
        (&nul, "teams[0].slug: must not contain control characters"),
        (
            &c1,
            "organizations[1].slug: must not contain control characters",
        ),
        (&unknown_role, "members[3].role: unknown org role `boss`"),
        (
            &dangling,
            "granular_grants[0].member: unknown member id 999",
        ),
        (&twice, "projects[0].teams[1]: team 500 is listed twice"),
    ] {
        match s.import_world(doc, &policy, &actor).await {
            Err(StoreError::InvalidWorld(problems)) => assert_eq!(problems, [problem]),
            other => panic!("{problem}: {other:?}"),
        }
        assert_empty(s).await;
    }
    // A failure in the middle of the writes (the audit entries are written last) rolls
    // every row back.
    s.inject_audit_failure();
    assert!(matches!(
        s.import_world(&sample(), &policy, &actor).await,
        Err(StoreError::Injected)
    ));
    assert_empty(s).await;
    assert!(matches!(s.user(10).await, Err(StoreError::NotFound)));
    // And nothing is left behind that would stop a good import.
    s.import_world(&sample(), &policy, &actor).await.unwrap();
    assert_eq!(
        normalized(s.full_world().await.unwrap()),
        normalized(sample())
    );
}

async fn import_refuses_a_store_that_is_not_empty(s: &dyn Store) {
    let policy = Policy::sentry();
    s.create_user("first@example.com", false).await.unwrap();
    match s.import_world(&sample(), &policy, &Actor::system()).await {
        Err(StoreError::NotEmpty {
            users,
            organizations,
            integrations,
        }) => assert_eq!((users, organizations, integrations), (1, 0, 0)),
        other => panic!("{other:?}"),
    }
    assert!(matches!(s.user(10).await, Err(StoreError::NotFound)));
    assert!(s.is_empty().await.unwrap());
}

/// The round trip on one store: import `doc`, export it, compare; and `full_world` is every
/// organization's `world` put together, in the documented order.
async fn round_trip(s: &dyn Store, doc: &WorldDoc) -> Result<(), TestCaseError> {
    let policy = Policy::sentry();
    s.import_world(doc, &policy, &Actor::system())
        .await
        .map_err(|e| TestCaseError::fail(format!("import failed: {e}")))?;
    let back = s.full_world().await.unwrap();
    proptest::prop_assert_eq!(normalized(back.clone()), normalized(doc.clone()));

    let mut parts = WorldDoc::default();
    for o in &back.organizations {
        let part = s.world(Some(&o.slug), None).await.unwrap();
        proptest::prop_assert!(part.users.iter().all(|u| back.users.contains(u)));
        for i in &part.integrations {
            proptest::prop_assert_eq!(&i.installed_on, &vec![o.id]);
        }
        parts.organizations.extend(part.organizations);
        parts.members.extend(part.members);
        parts.teams.extend(part.teams);
        parts.projects.extend(part.projects);
        parts.granular_grants.extend(part.granular_grants);
    }
    proptest::prop_assert_eq!(&parts.organizations, &back.organizations);
    proptest::prop_assert_eq!(&parts.members, &back.members);
    proptest::prop_assert_eq!(&parts.teams, &back.teams);
    proptest::prop_assert_eq!(&parts.projects, &back.projects);
    proptest::prop_assert_eq!(&parts.granular_grants, &back.granular_grants);

    // The order: organizations by id; members by organization then id; teams and projects
    // by organization then slug; a member's teams by team slug; owners ascending; grants by
    // organization, in the order written.
    let org_pos = |id: u64| back.organizations.iter().position(|o| o.id == id);
    let team_slug = |id: u64| {
        back.teams
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.slug.clone())
    };
    proptest::prop_assert!(back.organizations.windows(2).all(|w| w[0].id < w[1].id));
    proptest::prop_assert!(back
        .members
        .windows(2)
        .all(|w| (org_pos(w[0].organization), w[0].id) < (org_pos(w[1].organization), w[1].id)));
    let teams_in_order = back.teams.windows(2).all(|w| {
        (org_pos(w[0].organization), &w[0].slug) < (org_pos(w[1].organization), &w[1].slug)
    });
    proptest::prop_assert!(teams_in_order, "teams out of order: {:?}", back.teams);
    let projects_in_order = back.projects.windows(2).all(|w| {
        (org_pos(w[0].organization), &w[0].slug) < (org_pos(w[1].organization), &w[1].slug)
    });
    proptest::prop_assert!(
        projects_in_order,
        "projects out of order: {:?}",
        back.projects
    );
    for m in &back.members {
        let slugs: Vec<_> = m.teams.iter().map(|t| team_slug(t.team)).collect();
        proptest::prop_assert!(slugs.windows(2).all(|w| w[0] < w[1]), "{:?}", m);
    }
    for p in &back.projects {
        proptest::prop_assert!(p.teams.windows(2).all(|w| w[0] < w[1]));
    }
    let mut written: Vec<&GrantDoc> = doc.granular_grants.iter().collect();
    written.sort_by_key(|g| org_pos(g.organization));
    proptest::prop_assert_eq!(back.granular_grants.iter().collect::<Vec<_>>(), written);
    Ok(())
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0x1A9_0127),
        ..Config::default()
    })
}

#[test]
fn random_worlds_round_trip_on_sqlite() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    runner(48)
        .run(&scopegate_testkit::gen::world(), |doc| {
            rt.block_on(async {
                let db = crate::sqlite().await;
                round_trip(&*db.store, &doc).await
            })
        })
        .unwrap();
}

#[test]
fn random_worlds_round_trip_on_postgres() {
    if std::env::var("SCOPEGATE_TEST_DATABASE_URL").is_err() {
        eprintln!("skipped: SCOPEGATE_TEST_DATABASE_URL unset");
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    runner(8)
        .run(&scopegate_testkit::gen::world(), |doc| {
            rt.block_on(async {
                let db = crate::postgres().await.unwrap();
                let result = round_trip(&*db.store, &doc).await;
                if result.is_ok() {
                    db.cleanup().await;
                }
                result
            })
        })
        .unwrap();
}
