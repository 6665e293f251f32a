//! Imports: a whole world document written in one transaction.

use crate::sql::Dialect as _;

use super::{Backend, Db};

impl Backend {
    /// Inserts `rows` with the statement head `head` (`INSERT INTO t (cols) `),
    /// [`BATCH`] rows per statement.
    ///
    /// [`BATCH`]: crate::sql::BATCH
    pub(super) async fn insert_rows<T, F>(
        tx: &mut sqlx::Transaction<'_, Db>,
        head: &str,
        rows: &[T],
        bind: F,
    ) -> crate::Result<()>
    where
        T: Sync,
        F: Fn(&mut sqlx::query_builder::Separated<'_, '_, Db, &'static str>, &T) + Sync,
    {
        for chunk in rows.chunks(crate::sql::BATCH) {
            let mut qb = sqlx::QueryBuilder::<Db>::new(head);
            qb.push_values(chunk, |mut b, row| bind(&mut b, row));
            qb.build().execute(&mut **tx).await?;
        }
        Ok(())
    }
}

pub(super) async fn import_world(
    store: &Backend,
    doc: &scopegate_core::WorldDoc,
    policy: &scopegate_core::Policy,
    actor: &crate::Actor,
) -> crate::Result<crate::ImportSummary> {
    let rows = crate::import::Rows::new(doc, policy)?;
    let mut tx = store.write().await?;
    tx.everything();
    let counts = sqlx::query_as::<_, crate::sql::CountsRow>(
        "SELECT (SELECT COUNT(*) FROM users) AS users, \
             (SELECT COUNT(*) FROM organizations) AS organizations, \
             (SELECT COUNT(*) FROM integrations) AS integrations",
    )
    .fetch_one(&mut **tx)
    .await?;
    if counts.users != 0 || counts.organizations != 0 || counts.integrations != 0 {
        return Err(crate::StoreError::NotEmpty {
            users: counts.users,
            organizations: counts.organizations,
            integrations: counts.integrations,
        });
    }
    let now = crate::now();
    Backend::insert_rows(
        &mut tx,
        "INSERT INTO users (id, email, is_superuser, has_2fa, created_at) ",
        &rows.users,
        |b, (id, email, has_2fa)| {
            b.push_bind(*id)
                .push_bind(email.clone())
                .push_bind(false)
                .push_bind(*has_2fa)
                .push_bind(now);
        },
    )
    .await?;
    Backend::insert_rows(
        &mut tx,
        "INSERT INTO organizations (id, slug, name, options, features, \
             open_membership, require_2fa, require_sso, created_at) ",
        &rows.orgs,
        |b, (id, slug, options, features, open, tfa, sso)| {
            b.push_bind(*id)
                .push_bind(slug.clone())
                .push_bind(slug.clone())
                .push_bind(options.clone())
                .push_bind(features.clone())
                .push_bind(*open)
                .push_bind(*tfa)
                .push_bind(*sso)
                .push_bind(now);
        },
    )
    .await?;
    Backend::insert_rows(
        &mut tx,
        "INSERT INTO members (id, organization_id, user_id, email, role, \
             member_limit_restricted, sso_linked, created_at) ",
        &rows.members,
        |b, (id, org, user, email, role, limit, sso)| {
            b.push_bind(*id)
                .push_bind(*org)
                .push_bind(*user)
                .push_bind(email.clone())
                .push_bind(role.clone())
                .push_bind(*limit)
                .push_bind(*sso)
                .push_bind(now);
        },
    )
    .await?;
    Backend::insert_rows(
        &mut tx,
        "INSERT INTO teams (id, organization_id, slug, name, created_at) ",
        &rows.teams,
        |b, (id, org, slug)| {
            b.push_bind(*id)
                .push_bind(*org)
                .push_bind(slug.clone())
                .push_bind(slug.clone())
                .push_bind(now);
        },
    )
    .await?;
    Backend::insert_rows(
        &mut tx,
        "INSERT INTO team_members (team_id, member_id, role) ",
        &rows.team_members,
        |b, (team, member, role)| {
            b.push_bind(*team)
                .push_bind(*member)
                .push_bind(role.clone());
        },
    )
    .await?;
    Backend::insert_rows(
        &mut tx,
        "INSERT INTO projects (id, organization_id, slug, name, active, created_at) ",
        &rows.projects,
        |b, (id, org, slug, active)| {
            b.push_bind(*id)
                .push_bind(*org)
                .push_bind(slug.clone())
                .push_bind(slug.clone())
                .push_bind(*active)
                .push_bind(now);
        },
    )
    .await?;
    Backend::insert_rows(
        &mut tx,
        "INSERT INTO project_teams (project_id, team_id) ",
        &rows.project_teams,
        |b, (project, team)| {
            b.push_bind(*project).push_bind(*team);
        },
    )
    .await?;
    Backend::insert_rows(
        &mut tx,
        "INSERT INTO integrations (id, slug, name, scopes, created_at) ",
        &rows.integrations,
        |b, (id, slug, scopes)| {
            b.push_bind(*id)
                .push_bind(slug.clone())
                .push_bind(slug.clone())
                .push_bind(scopes.clone())
                .push_bind(now);
        },
    )
    .await?;
    Backend::insert_rows(
        &mut tx,
        "INSERT INTO integration_installations (integration_id, organization_id, \
             created_at) ",
        &rows.installs,
        |b, (integration, org)| {
            b.push_bind(*integration).push_bind(*org).push_bind(now);
        },
    )
    .await?;
    Backend::insert_rows(
        &mut tx,
        "INSERT INTO granular_grants (organization_id, kind, member_id, team_id) ",
        &rows.grants,
        |b, (org, kind, member, team)| {
            b.push_bind(*org)
                .push_bind(kind.clone())
                .push_bind(*member)
                .push_bind(*team);
        },
    )
    .await?;
    Backend::after_import(&mut tx).await?;
    let summary = rows.summary;
    let mut entries: Vec<(Option<i64>, crate::sql::Entry)> = rows
        .audit
        .into_iter()
        .map(|(org, slug, data)| (Some(org), ("world.import", format!("org:{slug}"), data)))
        .collect();
    entries.push((
        None,
        (
            "world.import",
            "world".to_string(),
            serde_json::json!(summary),
        ),
    ));
    store.audit_each(&mut tx, actor, &entries).await?;
    tx.commit().await?;
    Ok(summary)
}
