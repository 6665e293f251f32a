//! Members and invitations: listing, invites, acceptance, roles, removal under the last-owner
//! guard, team memberships of a member.

use super::{Backend, Db};

impl Backend {
    /// The member `id` of `org`, read inside `tx`.
    pub(super) async fn member_in(
        tx: &mut sqlx::Transaction<'_, Db>,
        org: i64,
        id: i64,
    ) -> crate::Result<crate::sql::MemberRow> {
        Ok(sqlx::query_as::<_, crate::sql::MemberRow>(&format!(
            "SELECT {} FROM members WHERE organization_id = $1 AND id = $2",
            crate::sql::MEMBER_COLS
        ))
        .bind(org)
        .bind(id)
        .fetch_one(&mut **tx)
        .await?)
    }

    /// Whether removing `target` (`new_role` `None`) or giving it `new_role` breaks
    /// `guard`: it is the last member with a user holding the owner role, or one of the
    /// "owner or manager" roles. Pending invites never count. Call with the
    /// organization locked, so that the answer holds until the change commits.
    pub(super) async fn breaks_guard(
        tx: &mut sqlx::Transaction<'_, Db>,
        target: &crate::sql::MemberRow,
        new_role: Option<&str>,
        guard: &crate::MemberGuard,
    ) -> crate::Result<bool> {
        if target.user_id.is_none() {
            return Ok(false);
        }
        let owner = std::slice::from_ref(&guard.owner_role);
        for roles in [owner, guard.write_roles.as_slice()] {
            let loses = roles.contains(&target.role)
                && !new_role.is_some_and(|r| roles.iter().any(|x| x == r));
            if loses && !Self::others_hold(tx, target, roles).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether a member of `target`'s organization other than `target`, with a user,
    /// holds one of `roles`: one index lookup per role (`members (organization_id,
    /// role)`), not a count of the organization's members.
    async fn others_hold(
        tx: &mut sqlx::Transaction<'_, Db>,
        target: &crate::sql::MemberRow,
        roles: &[String],
    ) -> crate::Result<bool> {
        for role in roles {
            let other = sqlx::query_as::<_, crate::sql::IdRow>(
                "SELECT id FROM members WHERE organization_id = $1 AND role = $2 \
                 AND user_id IS NOT NULL AND id <> $3 LIMIT 1",
            )
            .bind(target.organization_id)
            .bind(role)
            .bind(target.id)
            .fetch_optional(&mut **tx)
            .await?;
            if other.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Replaces `member`'s teams inside `tx` (each team checked to be in `org`), one
    /// audit entry per change; returns the new team slugs, sorted.
    pub(super) async fn replace_member_teams(
        &self,
        tx: &mut sqlx::Transaction<'_, Db>,
        org: i64,
        member: i64,
        teams: &[(i64, Option<String>)],
        actor: &crate::Actor,
    ) -> crate::Result<Vec<String>> {
        let current = sqlx::query_as::<_, (i64, String, Option<String>)>(
            "SELECT t.id, t.slug, tm.role FROM team_members tm \
             JOIN teams t ON t.id = tm.team_id WHERE tm.member_id = $1",
        )
        .bind(member)
        .fetch_all(&mut **tx)
        .await?;
        let mut wanted: std::collections::BTreeMap<i64, Option<String>> =
            std::collections::BTreeMap::new();
        for (team, role) in teams {
            wanted.insert(*team, role.clone());
        }
        let target = format!("member:{member}");
        for (team, slug, _) in &current {
            if !wanted.contains_key(team) {
                sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND member_id = $2")
                    .bind(team)
                    .bind(member)
                    .execute(&mut **tx)
                    .await?;
                self.audit(
                    tx,
                    Some(org),
                    actor,
                    "member.leave-team",
                    &target,
                    serde_json::json!({"team": team, "teamSlug": slug}),
                )
                .await?;
            }
        }
        let mut slugs = Vec::new();
        for (team, role) in &wanted {
            let slug = sqlx::query_as::<_, (String,)>(
                "SELECT slug FROM teams WHERE organization_id = $1 AND id = $2",
            )
            .bind(org)
            .bind(team)
            .fetch_one(&mut **tx)
            .await?
            .0;
            let before = current.iter().find(|(t, _, _)| t == team);
            if before.is_some_and(|(_, _, r)| r == role) {
                slugs.push(slug);
                continue;
            }
            sqlx::query(
                "INSERT INTO team_members (team_id, member_id, role) VALUES ($1, $2, $3) \
                 ON CONFLICT (team_id, member_id) DO UPDATE SET role = excluded.role",
            )
            .bind(team)
            .bind(member)
            .bind(role)
            .execute(&mut **tx)
            .await?;
            self.audit(
                tx,
                Some(org),
                actor,
                "member.join-team",
                &target,
                serde_json::json!({"team": team, "teamSlug": slug, "teamRole": role}),
            )
            .await?;
            slugs.push(slug);
        }
        slugs.sort();
        Ok(slugs)
    }
}

pub(super) async fn members(
    store: &Backend,
    org: i64,
    page: crate::Page,
) -> crate::Result<Vec<crate::Member>> {
    let (limit, offset) = crate::sql::page_binds(page);
    let rows = sqlx::query_as::<_, crate::sql::MemberRow>(&format!(
        "SELECT {} FROM members WHERE organization_id = $1 ORDER BY id LIMIT $2 OFFSET $3",
        crate::sql::MEMBER_COLS
    ))
    .bind(org)
    .bind(limit)
    .bind(offset)
    .fetch_all(&store.pool)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub(super) async fn member(store: &Backend, org: i64, id: i64) -> crate::Result<crate::Member> {
    let row = sqlx::query_as::<_, crate::sql::MemberRow>(&format!(
        "SELECT {} FROM members WHERE organization_id = $1 AND id = $2",
        crate::sql::MEMBER_COLS
    ))
    .bind(org)
    .bind(id)
    .fetch_one(&store.pool)
    .await?;
    Ok(row.into())
}

pub(super) async fn member_of_user(
    store: &Backend,
    org: i64,
    user: i64,
) -> crate::Result<crate::Member> {
    let row = sqlx::query_as::<_, crate::sql::MemberRow>(&format!(
        "SELECT {} FROM members WHERE organization_id = $1 AND user_id = $2",
        crate::sql::MEMBER_COLS
    ))
    .bind(org)
    .bind(user)
    .fetch_one(&store.pool)
    .await?;
    Ok(row.into())
}

pub(super) async fn invite_member(
    store: &Backend,
    org: i64,
    email: &str,
    role: &str,
    actor: &crate::Actor,
) -> crate::Result<crate::Member> {
    let mut tx = store.write().await?;
    let now = crate::now();
    let row = sqlx::query_as::<_, crate::sql::MemberRow>(&format!(
        "INSERT INTO members (organization_id, email, role, created_at, \
             inviter_user_id, invite_expires_at) VALUES ($1, $2, $3, $4, $5, $6) \
             RETURNING {}",
        crate::sql::MEMBER_COLS
    ))
    .bind(org)
    .bind(email)
    .bind(role)
    .bind(now)
    .bind(actor.user_id)
    .bind(now + crate::INVITE_VALID_SECS)
    .fetch_one(&mut **tx)
    .await?;
    tx.member(org, row.id);
    store
        .audit(
            &mut tx,
            Some(org),
            actor,
            "member.invite",
            &format!("member:{}", row.id),
            serde_json::json!({"email": email, "role": role}),
        )
        .await?;
    tx.commit().await?;
    Ok(row.into())
}

pub(super) async fn accept_invite(
    store: &Backend,
    org: i64,
    member: i64,
    user: i64,
    actor: &crate::Actor,
) -> crate::Result<crate::Member> {
    let mut tx = store.write().await?;
    tx.member(org, member);
    let row = sqlx::query_as::<_, crate::sql::MemberRow>(&format!(
        "UPDATE members SET user_id = $3 WHERE organization_id = $1 AND id = $2 \
             AND user_id IS NULL RETURNING {}",
        crate::sql::MEMBER_COLS
    ))
    .bind(org)
    .bind(member)
    .bind(user)
    .fetch_one(&mut **tx)
    .await?;
    store
        .audit(
            &mut tx,
            Some(org),
            actor,
            "member.accept-invite",
            &format!("member:{member}"),
            serde_json::json!({"user": user, "role": row.role}),
        )
        .await?;
    tx.commit().await?;
    Ok(row.into())
}

pub(super) async fn set_member_role(
    store: &Backend,
    org: i64,
    member: i64,
    role: &str,
    actor: &crate::Actor,
) -> crate::Result<crate::Member> {
    let mut tx = store.write().await?;
    tx.member(org, member);
    let row = sqlx::query_as::<_, crate::sql::MemberRow>(&format!(
        "UPDATE members SET role = $3 WHERE organization_id = $1 AND id = $2 RETURNING {}",
        crate::sql::MEMBER_COLS
    ))
    .bind(org)
    .bind(member)
    .bind(role)
    .fetch_one(&mut **tx)
    .await?;
    store
        .audit(
            &mut tx,
            Some(org),
            actor,
            "member.edit",
            &format!("member:{member}"),
            serde_json::json!({"role": role}),
        )
        .await?;
    tx.commit().await?;
    Ok(row.into())
}

pub(super) async fn remove_member(
    store: &Backend,
    org: i64,
    member: i64,
    actor: &crate::Actor,
) -> crate::Result<()> {
    let mut tx = store.write().await?;
    tx.member(org, member);
    Backend::lock_org(&mut tx, org).await?;
    store
        .delete_grant_holder(&mut tx, org, crate::sql::GrantHolder::Member, member, actor)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn remove_member_guarded(
    store: &Backend,
    org: i64,
    member: i64,
    guard: &crate::MemberGuard,
    actor: &crate::Actor,
) -> crate::Result<crate::Guarded<()>> {
    let mut tx = store.write().await?;
    tx.member(org, member);
    Backend::lock_org(&mut tx, org).await?;
    let target = Backend::member_in(&mut tx, org, member).await?;
    if Backend::breaks_guard(&mut tx, &target, None, guard).await? {
        return Ok(crate::Guarded::LastOwner);
    }
    store
        .delete_grant_holder(&mut tx, org, crate::sql::GrantHolder::Member, member, actor)
        .await?;
    if let Some(user) = target.user_id {
        // Sentry removes the pending invites the removed member sent.
        let invites = sqlx::query_as::<_, crate::sql::IdRow>(
            "SELECT id FROM members WHERE organization_id = $1 \
                 AND inviter_user_id = $2 AND user_id IS NULL ORDER BY id",
        )
        .bind(org)
        .bind(user)
        .fetch_all(&mut **tx)
        .await?;
        for invite in invites {
            tx.member(org, invite.id);
            store
                .delete_grant_holder(
                    &mut tx,
                    org,
                    crate::sql::GrantHolder::Member,
                    invite.id,
                    actor,
                )
                .await?;
        }
    }
    tx.commit().await?;
    Ok(crate::Guarded::Done(()))
}

pub(super) async fn edit_member(
    store: &Backend,
    org: i64,
    member: i64,
    edit: &crate::MemberEdit,
    guard: &crate::MemberGuard,
    actor: &crate::Actor,
) -> crate::Result<crate::Guarded<crate::Member>> {
    let mut tx = store.write().await?;
    tx.member(org, member);
    Backend::lock_org(&mut tx, org).await?;
    let target = Backend::member_in(&mut tx, org, member).await?;
    let new_role = edit.role.as_deref().filter(|r| *r != target.role);
    if let Some(role) = new_role {
        if Backend::breaks_guard(&mut tx, &target, Some(role), guard).await? {
            return Ok(crate::Guarded::LastOwner);
        }
    }
    let mut data = serde_json::Map::new();
    if let Some(teams) = &edit.teams {
        let slugs = store
            .replace_member_teams(&mut tx, org, member, teams, actor)
            .await?;
        data.insert("teams".into(), slugs.into());
    }
    if let Some(role) = new_role {
        sqlx::query("UPDATE members SET role = $3 WHERE organization_id = $1 AND id = $2")
            .bind(org)
            .bind(member)
            .bind(role)
            .execute(&mut **tx)
            .await?;
        for lesser in &edit.clear_team_roles {
            sqlx::query("UPDATE team_members SET role = NULL WHERE member_id = $1 AND role = $2")
                .bind(member)
                .bind(lesser)
                .execute(&mut **tx)
                .await?;
        }
        data.insert("previousRole".into(), target.role.clone().into());
    }
    let row = Backend::member_in(&mut tx, org, member).await?;
    data.insert("role".into(), row.role.clone().into());
    store
        .audit(
            &mut tx,
            Some(org),
            actor,
            "member.edit",
            &format!("member:{member}"),
            serde_json::Value::Object(data),
        )
        .await?;
    tx.commit().await?;
    Ok(crate::Guarded::Done(row.into()))
}

pub(super) async fn invite(
    store: &Backend,
    org: i64,
    invite: &crate::NewInvite,
    actor: &crate::Actor,
) -> crate::Result<crate::Invited> {
    let mut tx = store.write().await?;
    Backend::lock_org(&mut tx, org).await?;
    // The members whose own email or whose user's email is the address, case-insensitively:
    // index lookups whatever the organization's size (`members (organization_id,
    // lower(email))`; `users (lower(email))`, then `members (organization_id, user_id)`).
    // An `OR` across a join read every member of the organization; a join of `users` and
    // `members` let SQLite, without statistics, start from the organization's members.
    let existing = sqlx::query_as::<_, (Option<i64>,)>(
        "SELECT user_id FROM members WHERE organization_id = $1 \
             AND lower(email) = lower($2) \
         UNION ALL SELECT user_id FROM members WHERE organization_id = $1 \
             AND user_id IN (SELECT id FROM users WHERE lower(email) = lower($2))",
    )
    .bind(org)
    .bind(&invite.email)
    .fetch_all(&mut **tx)
    .await?;
    if existing.iter().any(|(u,)| u.is_some()) {
        return Ok(crate::Invited::AlreadyMember);
    }
    if !existing.is_empty() {
        return Ok(crate::Invited::AlreadyInvited);
    }
    let now = crate::now();
    let row = sqlx::query_as::<_, crate::sql::MemberRow>(&format!(
        "INSERT INTO members (organization_id, email, role, created_at, \
             inviter_user_id, invite_expires_at) VALUES ($1, $2, $3, $4, $5, $6) \
             RETURNING {}",
        crate::sql::MEMBER_COLS
    ))
    .bind(org)
    .bind(&invite.email)
    .bind(&invite.role)
    .bind(now)
    .bind(actor.user_id)
    .bind(now + crate::INVITE_VALID_SECS)
    .fetch_one(&mut **tx)
    .await?;
    tx.member(org, row.id);
    let mut teams = invite.teams.clone();
    teams.sort_unstable();
    teams.dedup();
    for team in &teams {
        Backend::ensure_in_org(&mut tx, "teams", *team, org).await?;
        sqlx::query("INSERT INTO team_members (team_id, member_id, role) VALUES ($1, $2, NULL)")
            .bind(team)
            .bind(row.id)
            .execute(&mut **tx)
            .await?;
    }
    store
        .audit(
            &mut tx,
            Some(org),
            actor,
            "member.invite",
            &format!("member:{}", row.id),
            serde_json::json!({"email": invite.email, "role": invite.role, "teams": teams}),
        )
        .await?;
    tx.commit().await?;
    Ok(crate::Invited::Created(row.into()))
}

pub(super) async fn reinvite(
    store: &Backend,
    org: i64,
    member: i64,
    regenerate: bool,
    actor: &crate::Actor,
) -> crate::Result<crate::Member> {
    let mut tx = store.write().await?;
    tx.member(org, member);
    let row = if regenerate {
        sqlx::query_as::<_, crate::sql::MemberRow>(&format!(
            "UPDATE members SET invite_expires_at = $3 WHERE organization_id = $1 \
                 AND id = $2 AND user_id IS NULL RETURNING {}",
            crate::sql::MEMBER_COLS
        ))
        .bind(org)
        .bind(member)
        .bind(crate::now() + crate::INVITE_VALID_SECS)
        .fetch_one(&mut **tx)
        .await?
    } else {
        sqlx::query_as::<_, crate::sql::MemberRow>(&format!(
            "SELECT {} FROM members WHERE organization_id = $1 AND id = $2 \
                 AND user_id IS NULL",
            crate::sql::MEMBER_COLS
        ))
        .bind(org)
        .bind(member)
        .fetch_one(&mut **tx)
        .await?
    };
    store
        .audit(
            &mut tx,
            Some(org),
            actor,
            "member.reinvite",
            &format!("member:{member}"),
            serde_json::json!({"email": row.email, "regenerate": regenerate}),
        )
        .await?;
    tx.commit().await?;
    Ok(row.into())
}

pub(super) async fn member_teams(
    store: &Backend,
    org: i64,
    member: i64,
) -> crate::Result<Vec<crate::MemberTeam>> {
    let rows = sqlx::query_as::<_, (i64, String, Option<String>)>(
        "SELECT t.id, t.slug, tm.role FROM team_members tm JOIN teams t ON t.id = tm.team_id \
             WHERE t.organization_id = $1 AND tm.member_id = $2 ORDER BY t.slug",
    )
    .bind(org)
    .bind(member)
    .fetch_all(&store.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(team_id, slug, role)| crate::MemberTeam {
            team_id,
            slug,
            role,
        })
        .collect())
}
