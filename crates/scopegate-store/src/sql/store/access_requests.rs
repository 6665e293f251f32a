//! Requests to join a team in an organization without open membership.

use super::Backend;

pub(super) async fn create_access_request(
    store: &Backend,
    org: i64,
    team: i64,
    member: i64,
    requester: Option<i64>,
) -> crate::Result<(crate::AccessRequest, bool)> {
    let mut tx = store.write().await?;
    Backend::ensure_in_org(&mut tx, "teams", team, org).await?;
    Backend::ensure_in_org(&mut tx, "members", member, org).await?;
    let created = sqlx::query_as::<_, crate::sql::AccessRequestRow>(&format!(
        "INSERT INTO access_requests (organization_id, team_id, member_id, \
             requester_user_id, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (team_id, member_id) DO NOTHING RETURNING {}",
        crate::sql::ACCESS_REQUEST_COLS
    ))
    .bind(org)
    .bind(team)
    .bind(member)
    .bind(requester)
    .bind(crate::now())
    .fetch_optional(&mut **tx)
    .await?;
    let out = match created {
        Some(row) => (row.into(), true),
        None => {
            let row = sqlx::query_as::<_, crate::sql::AccessRequestRow>(&format!(
                "SELECT {} FROM access_requests WHERE team_id = $1 AND member_id = $2",
                crate::sql::ACCESS_REQUEST_COLS
            ))
            .bind(team)
            .bind(member)
            .fetch_one(&mut **tx)
            .await?;
            (row.into(), false)
        }
    };
    tx.commit().await?;
    Ok(out)
}

pub(super) async fn access_requests(
    store: &Backend,
    org: i64,
) -> crate::Result<Vec<crate::AccessRequest>> {
    let rows = sqlx::query_as::<_, crate::sql::AccessRequestRow>(
        "SELECT r.id, r.organization_id, r.team_id, r.member_id, r.requester_user_id, \
             r.created_at FROM access_requests r JOIN members m ON m.id = r.member_id \
             WHERE r.organization_id = $1 AND m.user_id IS NOT NULL AND NOT EXISTS \
             (SELECT 1 FROM team_members t WHERE t.team_id = r.team_id \
             AND t.member_id = r.member_id) ORDER BY r.id",
    )
    .bind(org)
    .fetch_all(&store.pool)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub(super) async fn access_request(
    store: &Backend,
    org: i64,
    id: i64,
) -> crate::Result<crate::AccessRequest> {
    let row = sqlx::query_as::<_, crate::sql::AccessRequestRow>(&format!(
        "SELECT {} FROM access_requests WHERE organization_id = $1 AND id = $2",
        crate::sql::ACCESS_REQUEST_COLS
    ))
    .bind(org)
    .bind(id)
    .fetch_one(&store.pool)
    .await?;
    Ok(row.into())
}

pub(super) async fn resolve_access_request(
    store: &Backend,
    org: i64,
    id: i64,
    approve: bool,
    actor: &crate::Actor,
) -> crate::Result<Option<crate::TeamMembership>> {
    let mut tx = store.write().await?;
    Backend::lock_org(&mut tx, org).await?;
    let request = sqlx::query_as::<_, crate::sql::AccessRequestRow>(&format!(
        "DELETE FROM access_requests WHERE organization_id = $1 AND id = $2 \
             RETURNING {}",
        crate::sql::ACCESS_REQUEST_COLS
    ))
    .bind(org)
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    tx.member(org, request.member_id);
    let target = format!("member:{}", request.member_id);
    let mut created = None;
    if approve {
        let row = sqlx::query_as::<_, crate::sql::TeamMemberRow>(
            "INSERT INTO team_members (team_id, member_id, role) VALUES ($1, $2, NULL) \
                 ON CONFLICT (team_id, member_id) DO NOTHING \
                 RETURNING team_id, member_id, role",
        )
        .bind(request.team_id)
        .bind(request.member_id)
        .fetch_optional(&mut **tx)
        .await?;
        if row.is_some() {
            store
                .audit(
                    &mut tx,
                    Some(org),
                    actor,
                    "member.join-team",
                    &target,
                    serde_json::json!({
                        "team": request.team_id,
                        "teamRole": null,
                        "accessRequest": request.id,
                    }),
                )
                .await?;
        }
        created = row.map(Into::into);
    } else {
        store
            .audit(
                &mut tx,
                Some(org),
                actor,
                "access-request.deny",
                &target,
                serde_json::json!({"team": request.team_id, "accessRequest": request.id}),
            )
            .await?;
    }
    tx.commit().await?;
    Ok(created)
}
