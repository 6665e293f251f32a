//! Granular grants and the organization edit that changes them (`Store::edit_org`), with the bulk
//! writes of [`bulk`](crate::sql::bulk).

use scopegate_core::granular::{AuditEntry, Holder, Plan, TeamRef};

use crate::sql::bulk::Bulk;
use crate::sql::{entry, Dialect as _, GrantHolder};

use super::{Backend, Db};

impl Backend {
    /// Deletes a member or a team of `org` inside `tx`, audits the removal, and audits
    /// the granular grants that go with it (`ON DELETE CASCADE`) as one
    /// `granular.revoke` per kind, planned by `scopegate_core::granular` exactly as an edit
    /// that drops the holder, so that replaying the audit log still yields the allowlists.
    pub(super) async fn delete_grant_holder(
        &self,
        tx: &mut sqlx::Transaction<'_, Db>,
        org: i64,
        holder: GrantHolder,
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
        let (planned, uid) = (holder.planned(), crate::sql::uid(id)?);
        self.audit(
            tx,
            Some(org),
            actor,
            planned.remove_event(),
            &planned.target(uid),
            serde_json::json!({}),
        )
        .await?;
        let revokes: Vec<crate::sql::Entry> = kinds
            .iter()
            .map(|k| entry(AuditEntry::revoke(&k.kind, planned, uid)))
            .collect();
        self.audit_many(tx, Some(org), actor, &revokes).await
    }

    /// Plans the replacement of the member grants of `kind` (`scopegate_core::granular`).
    /// Errors with every requested id that is not a member (or user) of the organization.
    ///
    /// Reads only the members the plan depends on, whatever the organization's size: those
    /// the request names (by user or member id) and those granted `kind` now. A member
    /// outside both sets is neither granted nor revoked, and a requested id matching none
    /// of them is not in the organization, so the plan is the one over every member.
    pub(super) async fn plan_member_grants(
        &self,
        tx: &mut sqlx::Transaction<'_, Db>,
        org: i64,
        kind: &str,
        selection: &crate::GrantSelection,
    ) -> crate::Result<Plan> {
        use scopegate_core::granular::{plan_member_ids, plan_user_ids, MemberRef};
        // By user id: the index `members (organization_id, user_id)`. By member id: the
        // primary key, the organization checked on the rows found (`+` keeps SQLite from
        // choosing the organization's index and reading all its members instead).
        let (what, lookup, requested) = match selection {
            crate::GrantSelection::UserIds(ids) => (
                crate::Unknown::Users,
                "organization_id = $1 AND user_id",
                ids,
            ),
            crate::GrantSelection::MemberIds(ids) => {
                (crate::Unknown::Members, "+organization_id = $1 AND id", ids)
            }
        };
        let (ids, negative) = crate::sql::split_ids(requested);
        let wanted = crate::sql::id_list(requested.iter().filter(|id| **id >= 0));
        // The granted members: `granular_grants (organization_id, kind, …)`, then their
        // rows by primary key. Not a join: PostgreSQL, estimating the grants from
        // statistics taken when the organization had hundreds, chose to hash the
        // organization's members (13,095 rows read for 10 granted).
        let granted = granted_ids(tx, org, kind, GrantHolder::Member).await?;
        let rows = sqlx::query_as::<_, crate::sql::MemberUserRow>(&format!(
            "SELECT id, user_id FROM members WHERE {lookup} IN {requested} \
             UNION SELECT id, user_id FROM members \
             WHERE +organization_id = $1 AND id IN {granted}",
            requested = Backend::id_set(2),
            granted = Backend::id_set(3),
        ))
        .bind(org)
        .bind(wanted)
        .bind(crate::sql::id_list(&granted))
        .fetch_all(&mut **tx)
        .await?;
        let members = rows
            .iter()
            .map(|r| {
                Ok(MemberRef {
                    member: crate::sql::uid(r.id)?,
                    user: r.user_id.map(crate::sql::uid).transpose()?,
                    granted: granted.contains(&r.id),
                })
            })
            .collect::<crate::Result<Vec<_>>>()?;
        let planned = match selection {
            crate::GrantSelection::UserIds(_) => plan_user_ids(&members, Some(&ids)),
            crate::GrantSelection::MemberIds(_) => plan_member_ids(&members, &ids),
        };
        match planned {
            Ok(plan) if negative.is_empty() => Ok(plan),
            Ok(_) => Err(crate::sql::not_in_org(what, negative)),
            Err(bad) => {
                let mut all = negative;
                all.extend(bad.iter().filter_map(|b| i64::try_from(*b).ok()));
                Err(crate::sql::not_in_org(what, all))
            }
        }
    }

    /// Plans the replacement of the team grants of `kind` by slugs
    /// (`scopegate_core::granular::plan_team_slugs`).
    pub(super) async fn plan_team_grants(
        &self,
        tx: &mut sqlx::Transaction<'_, Db>,
        org: i64,
        kind: &str,
        slugs: &[String],
    ) -> crate::Result<Plan> {
        let teams: Vec<crate::sql::IdSlugRow> =
            sqlx::query_as("SELECT id, slug FROM teams WHERE organization_id = $1")
                .bind(org)
                .fetch_all(&mut **tx)
                .await?;
        let granted = granted_ids(tx, org, kind, GrantHolder::Team).await?;
        let refs = teams
            .iter()
            .map(|t| {
                Ok(TeamRef {
                    id: crate::sql::uid(t.id)?,
                    slug: &t.slug,
                    granted: granted.contains(&t.id),
                })
            })
            .collect::<crate::Result<Vec<_>>>()?;
        scopegate_core::granular::plan_team_slugs(&refs, slugs).map_err(|unknown| {
            crate::StoreError::NotInOrganization {
                what: crate::Unknown::Teams,
                ids: unknown,
            }
        })
    }
}

/// The members or teams (`holder`) of `org` that hold a grant of `kind`.
async fn granted_ids(
    tx: &mut sqlx::Transaction<'_, Db>,
    org: i64,
    kind: &str,
    holder: GrantHolder,
) -> crate::Result<std::collections::HashSet<i64>> {
    let column = holder.column();
    let ids = sqlx::query_scalar::<_, i64>(&format!(
        "SELECT {column} FROM granular_grants WHERE organization_id = $1 \
         AND kind = $2 AND {column} IS NOT NULL"
    ))
    .bind(org)
    .bind(kind)
    .fetch_all(&mut **tx)
    .await?;
    Ok(ids.into_iter().collect())
}

/// Applies a planned replacement of `kind`'s grants in bulk ([`Bulk`]) and pushes its audit
/// entries.
///
/// [`Bulk`]: crate::sql::bulk::Bulk
async fn apply(
    tx: &mut sqlx::Transaction<'_, Db>,
    org: i64,
    kind: &str,
    plan: &Plan,
    entries: &mut Vec<crate::sql::Entry>,
) -> crate::Result<()> {
    let holder = match plan.holder {
        Holder::Member => GrantHolder::Member,
        Holder::Team => GrantHolder::Team,
    };
    let to_i64 = |v: &[u64]| -> crate::Result<Vec<i64>> {
        v.iter()
            .map(|id| {
                i64::try_from(*id)
                    .map_err(|_| crate::StoreError::Corrupt(format!("id {id} out of range")))
            })
            .collect()
    };
    <Db as Bulk>::revoke(&mut **tx, org, kind, holder, &to_i64(&plan.revoke)?).await?;
    <Db as Bulk>::grant(&mut **tx, org, kind, holder, &to_i64(&plan.grant)?).await?;
    entries.extend(plan.entries(kind).into_iter().map(entry));
    Ok(())
}

pub(super) async fn edit_org(
    store: &Backend,
    org: i64,
    update: &crate::OrgUpdate,
    granular: Option<&crate::GranularEdit>,
    actor: &crate::Actor,
) -> crate::Result<crate::Organization> {
    let mut tx = store.write().await?;
    let current = Backend::lock_org(&mut tx, org).await?;
    let mut options = current.options.clone();
    // The members whose grants the edit changes, and whether a team's did.
    let mut regranted: Vec<u64> = Vec::new();
    let mut teams_regranted = false;
    for (k, v) in &update.options {
        options.insert(k.clone(), v.clone());
    }
    let mut summary = serde_json::Map::new();
    let mut entries: Vec<crate::sql::Entry> = Vec::new();
    if let Some(g) = granular {
        // Plan everything first (the reads and the checks), then write.
        let toggle = g.toggle.map(|new| {
            scopegate_core::granular::plan_toggle(
                &g.kind,
                current.options.get(&g.toggle_option),
                new,
            )
        });
        let members = match &g.members {
            Some(selection) => Some(
                store
                    .plan_member_grants(&mut tx, org, &g.kind, selection)
                    .await?,
            ),
            None => None,
        };
        let teams = match &g.teams {
            Some(slugs) => Some(store.plan_team_grants(&mut tx, org, &g.kind, slugs).await?),
            None => None,
        };
        if let Some(toggle) = toggle {
            if let Some(text) = toggle.summary {
                summary.insert(g.toggle_field.clone(), text.into());
            }
            options.insert(g.toggle_option.clone(), toggle.value.into());
            entries.extend(toggle.entry.map(entry));
        }
        if let Some(plan) = &members {
            regranted.extend(plan.grant.iter().chain(&plan.revoke));
            apply(&mut tx, org, &g.kind, plan, &mut entries).await?;
            if let Some(text) = plan.summary() {
                summary.insert(g.members_field.clone(), text.into());
            }
        }
        if let Some(plan) = &teams {
            teams_regranted |= !plan.grant.is_empty() || !plan.revoke.is_empty();
            apply(&mut tx, org, &g.kind, plan, &mut entries).await?;
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
    .fetch_one(&mut **tx)
    .await?;
    let updated = crate::Organization::try_from(row)?;
    let restored = update.cancel_deletion && current.pending_deletion();
    // The index re-reads the organization whole when its row as the index reads it (slug,
    // options, features, flags) or a team's grants changed; otherwise only the members
    // whose grants changed (a rename alone: nothing, but a revision).
    let row_changed = crate::sql::org_doc(&current)? != crate::sql::org_doc(&updated)?;
    if restored || row_changed || teams_regranted {
        tx.org(org);
    } else {
        tx.org_unindexed(org);
        for id in regranted {
            let id = i64::try_from(id)
                .map_err(|_| crate::StoreError::Corrupt(format!("member id {id} out of range")))?;
            tx.member(org, id);
        }
    }
    if restored {
        // Back in the index, with the installations on it.
        tx.integrations();
    }
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

pub(super) async fn granted_user_ids(
    store: &Backend,
    org: i64,
    kind: &str,
) -> crate::Result<Vec<i64>> {
    // Each grant's member by primary key (a subquery per grant, one statement), not a
    // join: with statistics taken when the organization had hundreds of grants, PostgreSQL
    // hashed a sequential scan of every member (22 ms in the 100,000-member bench world,
    // 0.2 ms this way).
    let users = sqlx::query_scalar::<_, Option<i64>>(
        "SELECT (SELECT m.user_id FROM members m WHERE m.id = g.member_id) \
         FROM granular_grants g \
         WHERE g.organization_id = $1 AND g.kind = $2 AND g.member_id IS NOT NULL",
    )
    .bind(org)
    .bind(kind)
    .fetch_all(&store.pool)
    .await?;
    let mut users: Vec<i64> = users.into_iter().flatten().collect();
    users.sort_unstable();
    users.dedup();
    Ok(users)
}

pub(super) async fn granted_team_slugs(
    store: &Backend,
    org: i64,
    kind: &str,
) -> crate::Result<Vec<String>> {
    // Each grant's team by primary key, as `granted_user_ids` reads members (not a join).
    let slugs = sqlx::query_scalar::<_, Option<String>>(
        "SELECT (SELECT t.slug FROM teams t WHERE t.id = g.team_id) \
         FROM granular_grants g \
         WHERE g.organization_id = $1 AND g.kind = $2 AND g.team_id IS NOT NULL",
    )
    .bind(org)
    .bind(kind)
    .fetch_all(&store.pool)
    .await?;
    let mut slugs: Vec<String> = slugs.into_iter().flatten().collect();
    slugs.sort_unstable();
    slugs.dedup();
    Ok(slugs)
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
