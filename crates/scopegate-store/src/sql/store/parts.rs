//! The catch-up read of the organizations of which only some rows changed
//! ([`Touched::parts`](crate::Touched::parts)): those rows alone, as
//! [`OrgEdit`]s of the core's index.

use std::collections::{BTreeMap, BTreeSet};

use scopegate_core::world::OrgEdit;

use super::Db;
use crate::sql::Dialect as _;

use super::Backend;

/// The edits of `parts` as of the snapshot of `tx`, and the organizations of `parts` that
/// must be read whole instead: gone or pending deletion (the index drops them).
pub(super) async fn edits(
    tx: &mut sqlx::Transaction<'_, Db>,
    parts: &BTreeMap<i64, crate::OrgParts>,
) -> crate::Result<(Vec<OrgEdit>, BTreeSet<i64>)> {
    let orgs = crate::sql::id_list(parts.keys());
    let live: BTreeSet<i64> = sqlx::query_as::<_, crate::sql::IdRow>(&format!(
        "SELECT id FROM organizations WHERE id IN {} AND deletion_scheduled_at IS NULL",
        Backend::id_set(1)
    ))
    .bind(orgs)
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .map(|r| r.id)
    .collect();
    let whole: BTreeSet<i64> = parts
        .keys()
        .copied()
        .filter(|o| !live.contains(o))
        .collect();
    // An organization changed in nothing the index reads (a rename) has no edit: its shard
    // is kept as it is, not copied.
    let parts: Vec<(&i64, &crate::OrgParts)> = parts
        .iter()
        .filter(|(o, p)| live.contains(o) && !p.is_empty())
        .collect();
    if parts.is_empty() {
        return Ok((Vec::new(), whole));
    }
    let ids = |pick: fn(&crate::OrgParts) -> &BTreeSet<i64>| {
        crate::sql::id_list(parts.iter().flat_map(|(_, p)| pick(p)))
    };
    let (members, teams, projects) = (ids(|p| &p.members), ids(|p| &p.teams), ids(|p| &p.projects));
    // The orders of the full export (`export.rs`), so that the rows read here are as it
    // gives them.
    let export = crate::sql::Export {
        orgs: Vec::new(),
        users: Vec::new(),
        members: fetch(
            tx,
            &format!("SELECT {} FROM members", crate::sql::MEMBER_COLS),
            "id",
            &members,
            "organization_id, id",
        )
        .await?,
        links: fetch(
            tx,
            "SELECT tm.team_id, tm.member_id, tm.role FROM team_members tm \
             JOIN teams t ON t.id = tm.team_id",
            "tm.member_id",
            &members,
            "t.organization_id, t.slug, tm.member_id",
        )
        .await?,
        teams: fetch(
            tx,
            &format!("SELECT {} FROM teams", crate::sql::TEAM_COLS),
            "id",
            &teams,
            "organization_id, slug",
        )
        .await?,
        projects: fetch(
            tx,
            &format!("SELECT {} FROM projects", crate::sql::PROJECT_COLS),
            "id",
            &projects,
            "organization_id, slug",
        )
        .await?,
        project_teams: fetch(
            tx,
            "SELECT project_id, team_id FROM project_teams",
            "project_id",
            &projects,
            "project_id, team_id",
        )
        .await?,
        integrations: Vec::new(),
        installs: Vec::new(),
        grants: fetch(
            tx,
            "SELECT organization_id, kind, member_id, team_id FROM granular_grants",
            "member_id",
            &members,
            "organization_id, id",
        )
        .await?,
    };
    let doc = export.into_doc()?;
    let mut edits = Vec::with_capacity(parts.len());
    for (org, p) in parts {
        let id = crate::sql::uid(*org)?;
        let ours = |o: u64| o == id;
        let mut edit = OrgEdit {
            org: id,
            members: doc
                .members
                .iter()
                .filter(|m| ours(m.organization))
                .cloned()
                .collect(),
            teams: doc
                .teams
                .iter()
                .filter(|t| ours(t.organization))
                .cloned()
                .collect(),
            projects: doc
                .projects
                .iter()
                .filter(|x| ours(x.organization))
                .cloned()
                .collect(),
            grants: doc
                .granular_grants
                .iter()
                .filter(|g| ours(g.organization))
                .cloned()
                .collect(),
            ..OrgEdit::default()
        };
        // A touched row not found (or found in another organization) is gone from this one.
        let present: Vec<u64> = edit.members.iter().map(|m| m.id).collect();
        edit.removed_members = gone(&p.members, &present)?;
        let present: Vec<u64> = edit.projects.iter().map(|x| x.id).collect();
        edit.removed_projects = gone(&p.projects, &present)?;
        edits.push(edit);
    }
    Ok((edits, whole))
}

/// The ids of `touched` not in `present`.
fn gone(touched: &BTreeSet<i64>, present: &[u64]) -> crate::Result<Vec<u64>> {
    let mut out = Vec::new();
    for id in touched {
        let id = crate::sql::uid(*id)?;
        if !present.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// The rows of `select` whose `column` is one of the ids of the JSON array `ids`, ordered by
/// `order`; none without a query when `ids` is empty.
async fn fetch<R>(
    tx: &mut sqlx::Transaction<'_, Db>,
    select: &str,
    column: &str,
    ids: &str,
    order: &str,
) -> crate::Result<Vec<R>>
where
    R: for<'r> sqlx::FromRow<'r, <Db as sqlx::Database>::Row> + Send + Unpin,
{
    if ids == "[]" {
        return Ok(Vec::new());
    }
    let sql = format!(
        "{select} WHERE {column} IN {} ORDER BY {order}",
        Backend::id_set(1)
    );
    Ok(sqlx::query_as::<_, R>(&sql)
        .bind(ids.to_string())
        .fetch_all(&mut **tx)
        .await?)
}
