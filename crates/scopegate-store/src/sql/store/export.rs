//! Exports: the world document of one organization (what the engine decides on) or of the whole
//! store.

use crate::sql::Dialect as _;

use super::{Backend, Db};

impl Backend {
    /// [`Store::world`](crate::Store::world); `include_pending` exports an organization
    /// pending deletion too (otherwise it is treated as unknown).
    pub(super) async fn world_of(
        &self,
        org_slug: Option<&str>,
        also_user: Option<i64>,
        include_pending: bool,
    ) -> crate::Result<scopegate_core::WorldDoc> {
        let org = match org_slug {
            Some(slug) => match crate::Store::org_by_slug(self, slug).await {
                Ok(o) if include_pending || o.deletion_scheduled_at.is_none() => Some(o.id),
                Ok(_) => None,
                Err(crate::StoreError::NotFound) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        let mut doc = match org {
            Some(id) => self.export(&Orgs::One(id)).await?.into_doc()?,
            None => scopegate_core::WorldDoc::default(),
        };
        if let Some(u) = also_user {
            if !doc
                .users
                .iter()
                .any(|r| i64::try_from(r.id).ok() == Some(u))
            {
                let row = sqlx::query_as::<_, crate::sql::WorldUserRow>(
                    "SELECT id, has_2fa FROM users WHERE id = $1",
                )
                .bind(u)
                .fetch_optional(&self.pool)
                .await?;
                if let Some(row) = row {
                    doc.users.push(crate::sql::user_doc(&row)?);
                }
            }
        }
        Ok(doc)
    }

    /// Runs `sql` in `tx`, binding `$1` to the organizations of `org` unless all.
    pub(super) async fn fetch_scoped<R>(
        tx: &mut sqlx::Transaction<'_, Db>,
        sql: &str,
        org: &Orgs,
    ) -> crate::Result<Vec<R>>
    where
        R: for<'r> sqlx::FromRow<'r, <Db as sqlx::Database>::Row> + Send + Unpin,
    {
        let q = sqlx::query_as::<_, R>(sql);
        let q = match org {
            Orgs::All => q,
            Orgs::One(o) => q.bind(*o),
            Orgs::Ids(ids) => q.bind(ids.clone()),
        };
        Ok(q.fetch_all(&mut **tx).await?)
    }

    /// The export of the organizations of `org`: one query per table, from one snapshot, in
    /// document order (see [`Export`]).
    ///
    /// [`Export`]: crate::sql::Export
    pub(super) async fn export(&self, org: &Orgs) -> crate::Result<crate::sql::Export> {
        let mut tx = self.begin_snapshot().await?;
        let export = Self::export_in(&mut tx, org).await?;
        tx.commit().await?;
        Ok(export)
    }

    /// [`Backend::export`] in `tx` (a snapshot already).
    pub(super) async fn export_in(
        tx: &mut sqlx::Transaction<'_, Db>,
        org: &Orgs,
    ) -> crate::Result<crate::sql::Export> {
        use crate::sql::*;
        let only = |column: &str| match org {
            Orgs::One(_) => format!("WHERE {column} = $1"),
            Orgs::Ids(_) => format!("WHERE {column} IN {}", Self::id_set(1)),
            Orgs::All => String::new(),
        };
        let orgs = Self::fetch_scoped(
            tx,
            &format!(
                "SELECT {ORG_COLS} FROM organizations {} ORDER BY id",
                only("id")
            ),
            org,
        )
        .await?;
        let users_sql = match org {
            Orgs::All => "SELECT id, has_2fa FROM users ORDER BY id".to_string(),
            _ => format!(
                "SELECT id, has_2fa FROM users WHERE id IN (SELECT user_id FROM members {}) \
                 ORDER BY id",
                only("organization_id")
            ),
        };
        let users = Self::fetch_scoped(tx, &users_sql, org).await?;
        let members = Self::fetch_scoped(
            tx,
            &format!(
                "SELECT {MEMBER_COLS} FROM members {} ORDER BY organization_id, id",
                only("organization_id")
            ),
            org,
        )
        .await?;
        let links = Self::fetch_scoped(
            tx,
            &format!(
                "SELECT tm.team_id, tm.member_id, tm.role FROM team_members tm \
                 JOIN teams t ON t.id = tm.team_id {} \
                 ORDER BY t.organization_id, t.slug, tm.member_id",
                only("t.organization_id")
            ),
            org,
        )
        .await?;
        let teams = Self::fetch_scoped(
            tx,
            &format!(
                "SELECT {TEAM_COLS} FROM teams {} ORDER BY organization_id, slug",
                only("organization_id")
            ),
            org,
        )
        .await?;
        let projects = Self::fetch_scoped(
            tx,
            &format!(
                "SELECT {PROJECT_COLS} FROM projects {} ORDER BY organization_id, slug",
                only("organization_id")
            ),
            org,
        )
        .await?;
        let project_teams = Self::fetch_scoped(
            tx,
            &format!(
                "SELECT pt.project_id, pt.team_id FROM project_teams pt \
                 JOIN projects p ON p.id = pt.project_id {} \
                 ORDER BY pt.project_id, pt.team_id",
                only("p.organization_id")
            ),
            org,
        )
        .await?;
        let integrations_sql = match org {
            Orgs::All => format!("SELECT {INTEGRATION_COLS} FROM integrations ORDER BY id"),
            _ => format!(
                "SELECT {INTEGRATION_COLS} FROM integrations WHERE id IN \
                 (SELECT integration_id FROM integration_installations {}) ORDER BY id",
                only("organization_id")
            ),
        };
        let integrations = Self::fetch_scoped(tx, &integrations_sql, org).await?;
        let installs = Self::fetch_scoped(
            tx,
            &format!(
                "SELECT integration_id, organization_id FROM integration_installations \
                 {} ORDER BY integration_id, organization_id",
                only("organization_id")
            ),
            org,
        )
        .await?;
        let grants = Self::fetch_scoped(
            tx,
            &format!(
                "SELECT organization_id, kind, member_id, team_id FROM granular_grants \
                 {} ORDER BY organization_id, id",
                only("organization_id")
            ),
            org,
        )
        .await?;
        Ok(Export {
            orgs,
            users,
            members,
            links,
            teams,
            projects,
            project_teams,
            integrations,
            installs,
            grants,
        })
    }
}

pub(super) async fn world(
    store: &Backend,
    org_slug: Option<&str>,
    also_user: Option<i64>,
) -> crate::Result<scopegate_core::WorldDoc> {
    store.world_of(org_slug, also_user, false).await
}

pub(super) async fn world_including_pending(
    store: &Backend,
    org_slug: Option<&str>,
    also_user: Option<i64>,
) -> crate::Result<scopegate_core::WorldDoc> {
    store.world_of(org_slug, also_user, true).await
}

/// Which organizations an export covers.
pub(super) enum Orgs {
    /// Every organization (and every user and integration).
    All,
    /// One organization.
    One(i64),
    /// The organizations whose ids are in this JSON array ([`crate::sql::id_list`]).
    Ids(String),
}

pub(super) async fn full_world(store: &Backend) -> crate::Result<scopegate_core::WorldDoc> {
    without_pending(store.export(&Orgs::All).await?)
}

/// The world document of `export`, organizations pending deletion left out.
pub(super) fn without_pending(
    export: crate::sql::Export,
) -> crate::Result<scopegate_core::WorldDoc> {
    let pending: std::collections::BTreeSet<u64> = export
        .orgs
        .iter()
        .filter(|o| o.deletion_scheduled_at.is_some())
        .filter_map(|o| u64::try_from(o.id).ok())
        .collect();
    let mut doc = export.into_doc()?;
    // INVARIANT: an organization pending deletion is absent from the decision
    // index: `/v1/` decides it as unknown (not_found).
    if !pending.is_empty() {
        let keep = |o: &u64| !pending.contains(o);
        doc.organizations.retain(|o| keep(&o.id));
        doc.members.retain(|m| keep(&m.organization));
        doc.teams.retain(|t| keep(&t.organization));
        doc.projects.retain(|p| keep(&p.organization));
        doc.granular_grants.retain(|g| keep(&g.organization));
        for i in &mut doc.integrations {
            i.installed_on.retain(keep);
        }
    }
    Ok(doc)
}
