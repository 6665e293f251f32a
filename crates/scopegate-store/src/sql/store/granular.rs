//! Granular grants and the organization edit that changes them (`Store::edit_org`), with the bulk
//! writes of [`bulk`](crate::sql::bulk).

use crate::sql::Dialect as _;

use super::{Backend, Db};

impl Backend {
    /// Deletes a member or a team of `org` inside `tx`, audits the removal, and audits
    /// the granular grants that go with it (`ON DELETE CASCADE`) as one
    /// `granular.revoke` per kind, so that replaying the audit log still yields the
    /// allowlists.
    pub(super) async fn delete_grant_holder(
        &self,
        tx: &mut sqlx::Transaction<'_, Db>,
        org: i64,
        holder: crate::sql::GrantHolder,
        id: i64,
        actor: &crate::Actor,
    ) -> crate::Result<()> {
        let (table, column) = (holder.table(), holder.column());
        let kinds = sqlx::query_as::<_, crate::sql::KindRow>(&format!(
            "SELECT DISTINCT kind FROM granular_grants WHERE organization_id = $1 \
             AND {column} = $2 ORDER BY kind"
        ))
        .bind(org)
        .bind(id)
        .fetch_all(&mut **tx)
        .await?;
        sqlx::query_as::<_, crate::sql::IdRow>(&format!(
            "DELETE FROM {table} WHERE organization_id = $1 AND id = $2 RETURNING id"
        ))
        .bind(org)
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
        let target = holder.target(id);
        self.audit(
            tx,
            Some(org),
            actor,
            holder.remove_event(),
            &target,
            serde_json::json!({}),
        )
        .await?;
        let revokes: Vec<crate::sql::Entry> = kinds
            .iter()
            .map(|k| {
                (
                    "granular.revoke",
                    target.clone(),
                    holder.revoke_data(&k.kind, id),
                )
            })
            .collect();
        self.audit_many(tx, Some(org), actor, &revokes).await
    }

    /// Replaces the member grants of `kind` (planned by `scopegate_core::granular`)
    /// in bulk ([`Bulk`]); pushes one entry per grant and revoke; returns Sentry's summary text.
    ///
    /// [`Bulk`]: crate::sql::bulk::Bulk
    pub(super) async fn replace_member_grants(
        &self,
        tx: &mut sqlx::Transaction<'_, Db>,
        org: i64,
        kind: &str,
        selection: &crate::GrantSelection,
        entries: &mut Vec<crate::sql::Entry>,
    ) -> crate::Result<Option<String>> {
        use scopegate_core::granular::{plan_member_ids, plan_user_ids, MemberRef};
        // Two plain reads, each an index or a sequential scan, joined here rather
        // than in SQL: their cost cannot depend on the planner's statistics (right
        // after a bulk load PostgreSQL assumes empty tables).
        let ids = sqlx::query_as::<_, crate::sql::MemberUserRow>(
            "SELECT id, user_id FROM members WHERE organization_id = $1",
        )
        .bind(org)
        .fetch_all(&mut **tx)
        .await?;
        let granted: std::collections::HashSet<i64> = sqlx::query_scalar::<_, i64>(
            "SELECT member_id FROM granular_grants WHERE organization_id = $1 \
             AND kind = $2 AND member_id IS NOT NULL",
        )
        .bind(org)
        .bind(kind)
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .collect();
        let members = ids
            .iter()
            .map(|r| {
                Ok(MemberRef {
                    member: crate::sql::uid(r.id)?,
                    user: r.user_id.map(crate::sql::uid).transpose()?,
                    granted: granted.contains(&r.id),
                })
            })
            .collect::<crate::Result<Vec<_>>>()?;
        let (what, requested) = match selection {
            crate::GrantSelection::UserIds(ids) => (crate::Unknown::Users, ids),
            crate::GrantSelection::MemberIds(ids) => (crate::Unknown::Members, ids),
        };
        let (ids, negative) = crate::sql::split_ids(requested);
        let planned = match selection {
            crate::GrantSelection::UserIds(_) => plan_user_ids(&members, Some(&ids)),
            crate::GrantSelection::MemberIds(_) => plan_member_ids(&members, &ids),
        };
        let plan = match planned {
            Ok(plan) if negative.is_empty() => plan,
            Ok(_) => return Err(crate::sql::not_in_org(what, negative)),
            Err(bad) => {
                let mut all = negative;
                all.extend(bad.iter().filter_map(|b| i64::try_from(*b).ok()));
                return Err(crate::sql::not_in_org(what, all));
            }
        };
        let to_i64 =
            |v: &[u64]| -> Vec<i64> { v.iter().filter_map(|m| i64::try_from(*m).ok()).collect() };
        let grant = to_i64(&plan.grant);
        let revoke = to_i64(&plan.revoke);
        <Db as crate::sql::bulk::Bulk>::revoke_members(&mut **tx, org, kind, &revoke).await?;
        <Db as crate::sql::bulk::Bulk>::grant_members(&mut **tx, org, kind, &grant).await?;
        for (event, ids) in [("granular.grant", &grant), ("granular.revoke", &revoke)] {
            for id in ids {
                entries.push((
                    event,
                    format!("member:{id}"),
                    serde_json::json!({"kind": kind, "memberId": id}),
                ));
            }
        }
        Ok(plan.summary())
    }

    /// Replaces the team grants of `kind` by slugs; pushes one entry per change.
    pub(super) async fn replace_team_grants(
        &self,
        tx: &mut sqlx::Transaction<'_, Db>,
        org: i64,
        kind: &str,
        slugs: &[String],
        entries: &mut Vec<crate::sql::Entry>,
    ) -> crate::Result<()> {
        let teams: Vec<crate::Team> = sqlx::query_as::<_, crate::sql::TeamRow>(&format!(
            "SELECT {} FROM teams WHERE organization_id = $1",
            crate::sql::TEAM_COLS
        ))
        .bind(org)
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
        let mut unknown: Vec<String> = slugs
            .iter()
            .filter(|s| !teams.iter().any(|t| &t.slug == *s))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            unknown.sort();
            unknown.dedup();
            return Err(crate::StoreError::NotInOrganization {
                what: crate::Unknown::Teams,
                ids: unknown,
            });
        }
        let granted: std::collections::BTreeSet<i64> = sqlx::query_as::<_, crate::sql::TeamIdRow>(
            "SELECT team_id FROM granular_grants WHERE organization_id = $1 \
                 AND kind = $2 AND team_id IS NOT NULL",
        )
        .bind(org)
        .bind(kind)
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .map(|r| r.team_id)
        .collect();
        let mut wanted: Vec<&crate::Team> =
            teams.iter().filter(|t| slugs.contains(&t.slug)).collect();
        wanted.sort_by_key(|t| t.id);
        for t in &wanted {
            if !granted.contains(&t.id) {
                sqlx::query(
                    "INSERT INTO granular_grants (organization_id, kind, member_id, \
                     team_id) VALUES ($1, $2, NULL, $3)",
                )
                .bind(org)
                .bind(kind)
                .bind(t.id)
                .execute(&mut **tx)
                .await?;
                entries.push((
                    "granular.grant",
                    format!("team:{}", t.slug),
                    serde_json::json!({"kind": kind, "teamId": t.id, "team": t.slug}),
                ));
            }
        }
        for id in &granted {
            if wanted.iter().any(|t| t.id == *id) {
                continue;
            }
            sqlx::query(
                "DELETE FROM granular_grants WHERE organization_id = $1 AND kind = $2 \
                 AND team_id = $3",
            )
            .bind(org)
            .bind(kind)
            .bind(*id)
            .execute(&mut **tx)
            .await?;
            let slug = teams.iter().find(|t| t.id == *id).map(|t| t.slug.clone());
            entries.push((
                "granular.revoke",
                format!("team:{}", slug.clone().unwrap_or_default()),
                serde_json::json!({"kind": kind, "teamId": id, "team": slug}),
            ));
        }
        Ok(())
    }
}

pub(super) async fn edit_org(
    store: &Backend,
    org: i64,
    update: &crate::OrgUpdate,
    granular: Option<&crate::GranularEdit>,
    actor: &crate::Actor,
) -> crate::Result<crate::Organization> {
    let mut tx = store.begin_write().await?;
    let current = Backend::lock_org(&mut tx, org).await?;
    let mut options = current.options.clone();
    for (k, v) in &update.options {
        options.insert(k.clone(), v.clone());
    }
    let mut summary = serde_json::Map::new();
    let mut entries: Vec<crate::sql::Entry> = Vec::new();
    if let Some(g) = granular {
        if let Some(new) = g.toggle {
            let old = current
                .options
                .get(&g.toggle_option)
                .map(|v| v.as_bool().unwrap_or(false));
            if let Some(text) = scopegate_core::granular::toggle_summary(old, new) {
                summary.insert(g.toggle_field.clone(), text.into());
            }
            options.insert(g.toggle_option.clone(), new.into());
            let was = old.unwrap_or(false);
            if was != new {
                entries.push((
                    "granular.toggle",
                    format!("granular:{}", g.kind),
                    serde_json::json!({"kind": g.kind, "from": was, "to": new}),
                ));
            }
        }
        if let Some(selection) = &g.members {
            let text = store
                .replace_member_grants(&mut tx, org, &g.kind, selection, &mut entries)
                .await?;
            if let Some(text) = text {
                summary.insert(g.members_field.clone(), text.into());
            }
        }
        if let Some(slugs) = &g.teams {
            store
                .replace_team_grants(&mut tx, org, &g.kind, slugs, &mut entries)
                .await?;
        }
    }
    let row = sqlx::query_as::<_, crate::sql::OrgRow>(&format!(
        "UPDATE organizations SET name = COALESCE($2, name), slug = COALESCE($3, slug), \
             open_membership = COALESCE($4, open_membership), \
             require_2fa = COALESCE($5, require_2fa), \
             require_sso = COALESCE($6, require_sso), options = $7, \
             deletion_scheduled_at = CASE WHEN $8 THEN NULL ELSE deletion_scheduled_at END \
             WHERE id = $1 RETURNING {}",
        crate::sql::ORG_COLS
    ))
    .bind(org)
    .bind(update.name.as_deref())
    .bind(update.slug.as_deref())
    .bind(update.open_membership)
    .bind(update.require_2fa)
    .bind(update.require_sso)
    .bind(serde_json::Value::Object(options).to_string())
    .bind(update.cancel_deletion)
    .fetch_one(&mut *tx)
    .await?;
    let updated = crate::Organization::try_from(row)?;
    let restored = update.cancel_deletion && current.pending_deletion();
    if restored {
        store
            .audit(
                &mut tx,
                Some(org),
                actor,
                "org.restore",
                &format!("org:{org}"),
                serde_json::json!({
                    "id": org,
                    "slug": updated.slug,
                    "name": updated.name,
                    "status": "active",
                }),
            )
            .await?;
    }
    if (granular.is_none() && !restored) || !update.is_empty() || !summary.is_empty() {
        let mut data = serde_json::json!({
            "name": update.name,
            "slug": update.slug,
            "openMembership": update.open_membership,
            "require2FA": update.require_2fa,
            "requireSso": update.require_sso,
            "options": update.options,
        });
        if let Some(map) = data.as_object_mut() {
            map.extend(summary);
        }
        store
            .audit(
                &mut tx,
                Some(org),
                actor,
                "org.edit",
                &format!("org:{}", updated.slug),
                data,
            )
            .await?;
    }
    store
        .audit_many(&mut tx, Some(org), actor, &entries)
        .await?;
    tx.commit().await?;
    Ok(updated)
}

pub(super) async fn grants(store: &Backend, org: i64) -> crate::Result<Vec<crate::GranularGrant>> {
    let rows = sqlx::query_as::<_, crate::sql::GrantRow>(
        "SELECT kind, member_id, team_id FROM granular_grants WHERE organization_id = $1 \
             ORDER BY id",
    )
    .bind(org)
    .fetch_all(&store.pool)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}
