//! Projects and the teams that own them.

use super::Backend;

impl Backend {
    pub(super) async fn project_teams(
        &self,
        ids: &[i64],
    ) -> crate::Result<Vec<crate::sql::ProjectTeamRow>> {
        let mut out = Vec::new();
        for id in ids {
            out.extend(
                sqlx::query_as::<_, crate::sql::ProjectTeamRow>(
                    "SELECT project_id, team_id FROM project_teams WHERE project_id = $1 \
                     ORDER BY team_id",
                )
                .bind(id)
                .fetch_all(&self.pool)
                .await?,
            );
        }
        Ok(out)
    }

    pub(super) async fn with_teams(
        &self,
        rows: Vec<crate::sql::ProjectRow>,
    ) -> crate::Result<Vec<crate::Project>> {
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let links = self.project_teams(&ids).await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let teams = links
                    .iter()
                    .filter(|l| l.project_id == r.id)
                    .map(|l| l.team_id)
                    .collect();
                r.with_teams(teams)
            })
            .collect())
    }
}

pub(super) async fn create_project(
    store: &Backend,
    org: i64,
    slug: &str,
    name: &str,
    teams: &[i64],
    actor: &crate::Actor,
) -> crate::Result<crate::Project> {
    let mut tx = store.write().await?;
    let row = sqlx::query_as::<_, crate::sql::ProjectRow>(&format!(
        "INSERT INTO projects (organization_id, slug, name, active, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {}",
        crate::sql::PROJECT_COLS
    ))
    .bind(org)
    .bind(slug)
    .bind(name)
    .bind(true)
    .bind(crate::now())
    .fetch_one(&mut **tx)
    .await?;
    tx.project(org, row.id);
    for team in teams {
        Backend::ensure_in_org(&mut tx, "teams", *team, org).await?;
        sqlx::query("INSERT INTO project_teams (project_id, team_id) VALUES ($1, $2)")
            .bind(row.id)
            .bind(team)
            .execute(&mut **tx)
            .await?;
    }
    store
        .audit(
            &mut tx,
            Some(org),
            actor,
            "project.create",
            &format!("project:{slug}"),
            serde_json::json!({"slug": slug, "name": name, "teams": teams}),
        )
        .await?;
    tx.commit().await?;
    Ok(row.with_teams(teams.to_vec()))
}

pub(super) async fn projects(
    store: &Backend,
    org: i64,
    page: crate::Page,
) -> crate::Result<Vec<crate::Project>> {
    let (limit, offset) = crate::sql::page_binds(page);
    let rows = sqlx::query_as::<_, crate::sql::ProjectRow>(&format!(
        "SELECT {} FROM projects WHERE organization_id = $1 ORDER BY slug LIMIT $2 OFFSET $3",
        crate::sql::PROJECT_COLS
    ))
    .bind(org)
    .bind(limit)
    .bind(offset)
    .fetch_all(&store.pool)
    .await?;
    store.with_teams(rows).await
}

pub(super) async fn project_by_slug(
    store: &Backend,
    org: i64,
    slug: &str,
) -> crate::Result<crate::Project> {
    let row = sqlx::query_as::<_, crate::sql::ProjectRow>(&format!(
        "SELECT {} FROM projects WHERE organization_id = $1 AND slug = $2",
        crate::sql::PROJECT_COLS
    ))
    .bind(org)
    .bind(slug)
    .fetch_one(&store.pool)
    .await?;
    let mut v = store.with_teams(vec![row]).await?;
    v.pop().ok_or(crate::StoreError::NotFound)
}

pub(super) async fn delete_project(
    store: &Backend,
    org: i64,
    project: i64,
    actor: &crate::Actor,
) -> crate::Result<()> {
    let mut tx = store.write().await?;
    tx.project(org, project);
    sqlx::query_as::<_, crate::sql::IdRow>(
        "DELETE FROM projects WHERE organization_id = $1 AND id = $2 RETURNING id",
    )
    .bind(org)
    .bind(project)
    .fetch_one(&mut **tx)
    .await?;
    store
        .audit(
            &mut tx,
            Some(org),
            actor,
            "project.remove",
            &format!("project:{project}"),
            serde_json::json!({}),
        )
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn add_project_team(
    store: &Backend,
    org: i64,
    project: i64,
    team: i64,
    actor: &crate::Actor,
) -> crate::Result<bool> {
    let mut tx = store.write().await?;
    tx.project(org, project);
    Backend::ensure_in_org(&mut tx, "projects", project, org).await?;
    Backend::ensure_in_org(&mut tx, "teams", team, org).await?;
    let added = sqlx::query_as::<_, crate::sql::ProjectTeamRow>(
        "INSERT INTO project_teams (project_id, team_id) VALUES ($1, $2) \
             ON CONFLICT (project_id, team_id) DO NOTHING RETURNING project_id, team_id",
    )
    .bind(project)
    .bind(team)
    .fetch_optional(&mut **tx)
    .await?;
    if added.is_some() {
        store
            .audit(
                &mut tx,
                Some(org),
                actor,
                "project-team.add",
                &format!("project:{project}"),
                serde_json::json!({"team": team}),
            )
            .await?;
    }
    tx.commit().await?;
    Ok(added.is_some())
}

pub(super) async fn remove_project_team(
    store: &Backend,
    org: i64,
    project: i64,
    team: i64,
    actor: &crate::Actor,
) -> crate::Result<bool> {
    let mut tx = store.write().await?;
    tx.project(org, project);
    Backend::ensure_in_org(&mut tx, "projects", project, org).await?;
    Backend::ensure_in_org(&mut tx, "teams", team, org).await?;
    let removed = sqlx::query_as::<_, crate::sql::ProjectTeamRow>(
        "DELETE FROM project_teams WHERE project_id = $1 AND team_id = $2 \
             RETURNING project_id, team_id",
    )
    .bind(project)
    .bind(team)
    .fetch_optional(&mut **tx)
    .await?;
    if removed.is_some() {
        store
            .audit(
                &mut tx,
                Some(org),
                actor,
                "project-team.remove",
                &format!("project:{project}"),
                serde_json::json!({"team": team}),
            )
            .await?;
    }
    tx.commit().await?;
    Ok(removed.is_some())
}
