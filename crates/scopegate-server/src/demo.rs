//! Bootstrap: a user with a personal token (`scopegate user create`) and the demo
//! organization (`scopegate serve --demo`).

use scopegate_core::{Policy, ScopeSet};
use scopegate_store::{Actor, NewToken, Result, Secret, Store, TokenKind, User};

/// The scopes of a bootstrap personal token: every scope some org role holds. At check time
/// the token is still bounded by the user's role in each organization.
pub fn personal_token_scopes(policy: &Policy) -> Vec<String> {
    let all = policy
        .org_roles
        .iter()
        .fold(ScopeSet::EMPTY, |acc, r| acc.union(r.scopes));
    policy
        .scopes
        .sorted_names(policy.expand_implied(all))
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// Creates a user and a personal token for them.
pub async fn create_user(
    store: &dyn Store,
    policy: &Policy,
    email: &str,
    superuser: bool,
) -> Result<(User, Secret)> {
    let user = store.create_user(email, superuser).await?;
    let (_, secret) = store
        .create_token(
            &NewToken {
                kind: TokenKind::User,
                user_id: Some(user.id),
                organization_id: None,
                name: Some("bootstrap".into()),
                scopes: personal_token_scopes(policy),
            },
            &Actor::system(),
        )
        .await?;
    Ok((user, secret))
}

/// One demo account.
#[derive(Debug)]
pub struct DemoAccount {
    /// Email.
    pub email: String,
    /// Org role in the demo organization.
    pub role: String,
    /// The personal token.
    pub token: Secret,
}

/// What the demo created.
#[derive(Debug)]
pub struct Demo {
    /// The organization slug.
    pub org: String,
    /// The accounts.
    pub accounts: Vec<DemoAccount>,
    /// An org auth token (the policy's org token scopes: `org:ci`), with no creator.
    pub org_token: Secret,
}

/// Creates the demo organization `demo`: an owner, a manager, two members, teams `backend`
/// and `frontend`, projects `api` and `web`.
pub async fn seed(store: &dyn Store, policy: &Policy) -> Result<Demo> {
    let system = Actor::system();
    let mut accounts = Vec::new();
    let mut users = Vec::new();
    for (email, role) in [
        ("owner@demo.invalid", "owner"),
        ("manager@demo.invalid", "manager"),
        ("alice@demo.invalid", "member"),
        ("bob@demo.invalid", "member"),
    ] {
        let (user, token) = create_user(store, policy, email, false).await?;
        users.push((user, role));
        accounts.push(DemoAccount {
            email: email.into(),
            role: role.into(),
            token,
        });
    }
    let mut members = Vec::new();
    let Some((owner, _)) = users.first() else {
        return Err(scopegate_store::StoreError::NotFound);
    };
    let features = vec![policy.team_roles_feature.clone()];
    let org = store
        .create_org(
            "demo",
            "Demo Organization",
            &features,
            owner.id,
            "owner",
            &system,
        )
        .await?;
    members.push(store.member_of_user(org.id, owner.id).await?);
    for (user, role) in users.iter().skip(1) {
        let invite = store
            .invite_member(org.id, &user.email, role, &system)
            .await?;
        members.push(
            store
                .accept_invite(org.id, invite.id, user.id, &system)
                .await?,
        );
    }
    let backend = store
        .create_team(org.id, "backend", "Backend", &system)
        .await?;
    let frontend = store
        .create_team(org.id, "frontend", "Frontend", &system)
        .await?;
    // alice: backend (team admin); bob: frontend (contributor).
    if let Some(alice) = members.get(2) {
        store
            .set_team_member(org.id, backend.id, alice.id, Some("admin"), &system)
            .await?;
    }
    if let Some(bob) = members.get(3) {
        store
            .set_team_member(org.id, frontend.id, bob.id, None, &system)
            .await?;
    }
    store
        .create_project(org.id, "api", "API", &[backend.id], &system)
        .await?;
    store
        .create_project(org.id, "web", "Web", &[frontend.id], &system)
        .await?;
    // Members see only their teams' projects.
    let closed = scopegate_store::OrgUpdate {
        open_membership: Some(false),
        ..Default::default()
    };
    store.update_org(org.id, &closed, &system).await?;
    let (_, org_token) = store
        .create_token(
            &NewToken {
                kind: TokenKind::Org,
                user_id: None,
                organization_id: Some(org.id),
                name: Some("demo ci".into()),
                // Made by the system: no creator bounds it (docs/decision.md §7).
                scopes: policy
                    .scopes
                    .sorted_names(policy.org_token_scopes)
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
            },
            &system,
        )
        .await?;
    Ok(Demo {
        org: org.slug,
        accounts,
        org_token,
    })
}
