//! Teams and their memberships (team roles, joining).

use super::Backend;

pub(super) async fn create_team(
    store: &Backend,
    org: i64,
    slug: &str,
    name: &str,
    actor: &crate::Actor,
) -> crate::Result<crate::Team> {
    let mut tx = store.write().await?;
    let row = sqlx::query_as::<_, crate::sql::TeamRow>(&format!(
        "INSERT INTO teams (organization_id, slug, name, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING {}",
        crate::sql::TEAM_COLS
    ))
    .bind(org)
    .bind(slug)
    .bind(name)
    .bind(crate::now())
    .fetch_one(&mut **tx)
    .await?;
    tx.team(org, row.id);
    store
        .audit(
            &mut tx,
            Some(org),
            actor,
            "team.create",
            &format!("team:{}", row.id),
            serde_json::json!({"id": row.id, "slug": slug, "name": name}),
        )
        .await?;
    tx.commit().await?;
    Ok(row.into())
}

pub(super) async fn teams(
    store: &Backend,
    org: i64,
    page: crate::Page,
) -> crate::Result<Vec<crate::Team>> {
    let (limit, offset) = crate::sql::page_binds(page);
    let rows = sqlx::query_as::<_, crate::sql::TeamRow>(&format!(
        "SELECT {} FROM teams WHERE organization_id = $1 ORDER BY slug LIMIT $2 OFFSET $3",
        crate::sql::TEAM_COLS
    ))
    .bind(org)
    .bind(limit)
    .bind(offset)
    .fetch_all(&store.pool)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub(super) async fn team_by_slug(
    store: &Backend,
    org: i64,
    slug: &str,
) -> crate::Result<crate::Team> {
    let row = sqlx::query_as::<_, crate::sql::TeamRow>(&format!(
        "SELECT {} FROM teams WHERE organization_id = $1 AND slug = $2",
        crate::sql::TEAM_COLS
    ))
    .bind(org)
    .bind(slug)
    .fetch_one(&store.pool)
    .await?;
    Ok(row.into())
}

pub(super) async fn delete_team(
    store: &Backend,
    org: i64,
    team: i64,
    actor: &crate::Actor,
) -> crate::Result<()> {
    let mut tx = store.write().await?;
    tx.org(org);
    Backend::lock_org(&mut tx, org).await?;
    store
        .delete_grant_holder(&mut tx, org, crate::sql::GrantHolder::Team, team, actor)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn team_members(
    store: &Backend,
    team: i64,
) -> crate::Result<Vec<crate::TeamMembership>> {
    let rows = sqlx::query_as::<_, crate::sql::TeamMemberRow>(
        "SELECT team_id, member_id, role FROM team_members WHERE team_id = $1 \
             ORDER BY member_id",
    )
    .bind(team)
    .fetch_all(&store.pool)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub(super) async fn set_team_member(
    store: &Backend,
    org: i64,
    team: i64,
    member: i64,
    role: Option<&str>,
    actor: &crate::Actor,
) -> crate::Result<crate::TeamMembership> {
    let mut tx = store.write().await?;
    tx.member(org, member);
    Backend::ensure_in_org(&mut tx, "teams", team, org).await?;
    Backend::ensure_in_org(&mut tx, "members", member, org).await?;
    let row = sqlx::query_as::<_, crate::sql::TeamMemberRow>(
        "INSERT INTO team_members (team_id, member_id, role) VALUES ($1, $2, $3) \
             ON CONFLICT (team_id, member_id) DO UPDATE SET role = excluded.role \
             RETURNING team_id, member_id, role",
    )
    .bind(team)
    .bind(member)
    .bind(role)
    .fetch_one(&mut **tx)
    .await?;
    store
        .audit(
            &mut tx,
            Some(org),
            actor,
            "member.join-team",
            &format!("member:{member}"),
            serde_json::json!({"team": team, "teamRole": role}),
        )
        .await?;
    tx.commit().await?;
    Ok(row.into())
}

pub(super) async fn remove_team_member(
    store: &Backend,
    org: i64,
    team: i64,
    member: i64,
    actor: &crate::Actor,
) -> crate::Result<bool> {
    let mut tx = store.write().await?;
    tx.member(org, member);
    Backend::ensure_in_org(&mut tx, "teams", team, org).await?;
    Backend::ensure_in_org(&mut tx, "members", member, org).await?;
    let removed = sqlx::query_as::<_, crate::sql::TeamMemberRow>(
        "DELETE FROM team_members WHERE team_id = $1 AND member_id = $2 \
             RETURNING team_id, member_id, role",
    )
    .bind(team)
    .bind(member)
    .fetch_optional(&mut **tx)
    .await?;
    if removed.is_some() {
        store
            .audit(
                &mut tx,
                Some(org),
                actor,
                "member.leave-team",
                &format!("member:{member}"),
                serde_json::json!({"team": team}),
            )
            .await?;
    }
    tx.commit().await?;
    Ok(removed.is_some())
}

pub(super) async fn set_team_role(
    store: &Backend,
    org: i64,
    team: i64,
    member: i64,
    role: Option<&str>,
    actor: &crate::Actor,
) -> crate::Result<crate::TeamMembership> {
    let mut tx = store.write().await?;
    tx.member(org, member);
    Backend::ensure_in_org(&mut tx, "teams", team, org).await?;
    Backend::ensure_in_org(&mut tx, "members", member, org).await?;
    let row = sqlx::query_as::<_, crate::sql::TeamMemberRow>(
        "UPDATE team_members SET role = $1 WHERE team_id = $2 AND member_id = $3 \
             RETURNING team_id, member_id, role",
    )
    .bind(role)
    .bind(team)
    .bind(member)
    .fetch_one(&mut **tx)
    .await?;
    store
        .audit(
            &mut tx,
            Some(org),
            actor,
            "member.edit",
            &format!("member:{member}"),
            serde_json::json!({"team": team, "teamRole": role}),
        )
        .await?;
    tx.commit().await?;
    Ok(row.into())
}

pub(super) async fn join_team(
    store: &Backend,
    org: i64,
    team: i64,
    member: i64,
    actor: &crate::Actor,
) -> crate::Result<Option<crate::TeamMembership>> {
    let mut tx = store.write().await?;
    tx.member(org, member);
    Backend::ensure_in_org(&mut tx, "teams", team, org).await?;
    Backend::ensure_in_org(&mut tx, "members", member, org).await?;
    let row = sqlx::query_as::<_, crate::sql::TeamMemberRow>(
        "INSERT INTO team_members (team_id, member_id, role) VALUES ($1, $2, NULL) \
             ON CONFLICT (team_id, member_id) DO NOTHING \
             RETURNING team_id, member_id, role",
    )
    .bind(team)
    .bind(member)
    .fetch_optional(&mut **tx)
    .await?;
    if row.is_some() {
        store
            .audit(
                &mut tx,
                Some(org),
                actor,
                "member.join-team",
                &format!("member:{member}"),
                serde_json::json!({"team": team, "teamRole": null}),
            )
            .await?;
    }
    tx.commit().await?;
    Ok(row.map(Into::into))
}

pub(super) async fn team(store: &Backend, org: i64, id: i64) -> crate::Result<crate::Team> {
    let row = sqlx::query_as::<_, crate::sql::TeamRow>(&format!(
        "SELECT {} FROM teams WHERE organization_id = $1 AND id = $2",
        crate::sql::TEAM_COLS
    ))
    .bind(org)
    .bind(id)
    .fetch_one(&store.pool)
    .await?;
    Ok(row.into())
}

pub(super) async fn update_team(
    store: &Backend,
    org: i64,
    team: i64,
    slug: Option<&str>,
    name: Option<&str>,
    actor: &crate::Actor,
) -> crate::Result<crate::Team> {
    let mut tx = store.write().await?;
    tx.team(org, team);
    let row = sqlx::query_as::<_, crate::sql::TeamRow>(&format!(
        "UPDATE teams SET slug = COALESCE($1, slug), name = COALESCE($2, name) \
             WHERE organization_id = $3 AND id = $4 RETURNING {}",
        crate::sql::TEAM_COLS
    ))
    .bind(slug)
    .bind(name)
    .bind(org)
    .bind(team)
    .fetch_one(&mut **tx)
    .await?;
    store
        .audit(
            &mut tx,
            Some(org),
            actor,
            "team.edit",
            &format!("team:{}", row.id),
            serde_json::json!({"id": row.id, "slug": row.slug, "name": row.name}),
        )
        .await?;
    tx.commit().await?;
    Ok(row.into())
}
