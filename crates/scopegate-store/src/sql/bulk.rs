//! The bulk writes of a granular edit, per dialect: the one place where the backends' SQL
//! differs on the write path of `Store::edit_org`.
//!
//! PostgreSQL takes each list of ids as one array parameter and writes it in one
//! statement (`= ANY($n)`, `UNNEST($n::…[])`), and the audit entries with one `COPY`: one
//! round trip whatever the list's size, and plans that need no table statistics (right after
//! a bulk load the planner assumes empty tables). SQLite has no array parameters; it writes in batches of [`BATCH`] rows, which costs
//! no round trips in process.
//!
//! INVARIANT: these only write, inside the caller's transaction; the caller locked the
//! organization row, planned the change and commits.

use std::future::Future;

use sqlx::{PgConnection, Postgres, QueryBuilder, Sqlite, SqliteConnection};

use super::{Entry, BATCH};
use crate::{Actor, Result};

/// The bulk writes of a granular edit, implemented by each backend's database type.
pub(crate) trait Bulk: sqlx::Database {
    /// Deletes the direct grants of `kind` held by `members`.
    fn revoke_members(
        conn: &mut Self::Connection,
        org: i64,
        kind: &str,
        members: &[i64],
    ) -> impl Future<Output = Result<()>> + Send;

    /// Inserts a direct grant of `kind` for each of `members`, none of which holds one.
    fn grant_members(
        conn: &mut Self::Connection,
        org: i64,
        kind: &str,
        members: &[i64],
    ) -> impl Future<Output = Result<()>> + Send;

    /// Appends `entries` to the audit log, in order, all dated `now`.
    fn audit(
        conn: &mut Self::Connection,
        org: Option<i64>,
        actor: &Actor,
        entries: &[Entry],
        now: i64,
    ) -> impl Future<Output = Result<()>> + Send;
}

impl Bulk for Postgres {
    async fn revoke_members(
        conn: &mut PgConnection,
        org: i64,
        kind: &str,
        members: &[i64],
    ) -> Result<()> {
        if members.is_empty() {
            return Ok(());
        }
        // Not a prepared statement: planned for each call with the array as a constant, so
        // the membership test is hashed (PostgreSQL 14+) whatever the statistics. A cached
        // generic plan would test each of the organization's grants against the whole array
        // (quadratic: 0.35 s for 5,000 of 10,000 grants before the tables are analyzed).
        sqlx::query(
            "DELETE FROM granular_grants WHERE organization_id = $1 AND kind = $2 \
             AND member_id = ANY($3)",
        )
        .bind(org)
        .bind(kind)
        .bind(members)
        .persistent(false)
        .execute(conn)
        .await?;
        Ok(())
    }

    async fn grant_members(
        conn: &mut PgConnection,
        org: i64,
        kind: &str,
        members: &[i64],
    ) -> Result<()> {
        if members.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO granular_grants (organization_id, kind, member_id, team_id) \
             SELECT $1, $2, m, NULL FROM UNNEST($3::bigint[]) AS u(m)",
        )
        .bind(org)
        .bind(kind)
        .bind(members)
        .execute(conn)
        .await?;
        Ok(())
    }

    async fn audit(
        conn: &mut PgConnection,
        org: Option<i64>,
        actor: &Actor,
        entries: &[Entry],
        now: i64,
    ) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        // COPY: the rows go in one stream, in order (the log's ids), and the server inserts
        // them in batches (faster than INSERT … SELECT FROM UNNEST by about a third).
        let mut rows = String::with_capacity(entries.len() * 96);
        for (event, target, value) in entries {
            push_csv_row(
                &mut rows,
                org,
                actor,
                event,
                target,
                &value.to_string(),
                now,
            );
        }
        let mut copy = conn
            .copy_in_raw(
                "COPY audit_log (organization_id, actor_user_id, actor, event, target, data, \
                 created_at) FROM STDIN WITH (FORMAT csv)",
            )
            .await?;
        if let Err(e) = copy.send(rows.as_bytes()).await {
            // The transaction is lost either way; report the first error.
            let _ = copy.abort("audit write failed").await;
            return Err(e.into());
        }
        copy.finish().await?;
        Ok(())
    }
}

/// Appends one `audit_log` row in COPY's CSV format: every text quoted (a quote doubled),
/// an absent number as an empty field (NULL).
fn push_csv_row(
    out: &mut String,
    org: Option<i64>,
    actor: &Actor,
    event: &str,
    target: &str,
    data: &str,
    now: i64,
) {
    use std::fmt::Write as _;
    let quoted = |out: &mut String, text: &str| {
        out.push('"');
        out.push_str(&text.replace('"', "\"\""));
        out.push('"');
    };
    if let Some(org) = org {
        let _ = write!(out, "{org}");
    }
    out.push(',');
    if let Some(user) = actor.user_id {
        let _ = write!(out, "{user}");
    }
    out.push(',');
    quoted(out, &actor.label);
    out.push(',');
    quoted(out, event);
    out.push(',');
    quoted(out, target);
    out.push(',');
    quoted(out, data);
    let _ = writeln!(out, ",{now}");
}

impl Bulk for Sqlite {
    async fn revoke_members(
        conn: &mut SqliteConnection,
        org: i64,
        kind: &str,
        members: &[i64],
    ) -> Result<()> {
        for chunk in members.chunks(BATCH) {
            let mut qb =
                QueryBuilder::<Sqlite>::new("DELETE FROM granular_grants WHERE organization_id = ");
            qb.push_bind(org)
                .push(" AND kind = ")
                .push_bind(kind.to_string());
            qb.push(" AND member_id IN (");
            let mut sep = qb.separated(", ");
            for id in chunk {
                sep.push_bind(*id);
            }
            sep.push_unseparated(")");
            qb.build().execute(&mut *conn).await?;
        }
        Ok(())
    }

    async fn grant_members(
        conn: &mut SqliteConnection,
        org: i64,
        kind: &str,
        members: &[i64],
    ) -> Result<()> {
        for chunk in members.chunks(BATCH) {
            let mut qb = QueryBuilder::<Sqlite>::new(
                "INSERT INTO granular_grants (organization_id, kind, member_id, team_id) ",
            );
            qb.push_values(chunk, |mut b, id| {
                b.push_bind(org)
                    .push_bind(kind.to_string())
                    .push_bind(*id)
                    .push_bind(None::<i64>);
            });
            qb.build().execute(&mut *conn).await?;
        }
        Ok(())
    }

    async fn audit(
        conn: &mut SqliteConnection,
        org: Option<i64>,
        actor: &Actor,
        entries: &[Entry],
        now: i64,
    ) -> Result<()> {
        for chunk in entries.chunks(BATCH) {
            let mut qb = QueryBuilder::<Sqlite>::new(
                "INSERT INTO audit_log (organization_id, actor_user_id, actor, event, \
                 target, data, created_at) ",
            );
            qb.push_values(chunk, |mut b, (event, target, data)| {
                b.push_bind(org)
                    .push_bind(actor.user_id)
                    .push_bind(actor.label.clone())
                    .push_bind(*event)
                    .push_bind(target.clone())
                    .push_bind(data.to_string())
                    .push_bind(now);
            });
            qb.build().execute(&mut *conn).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_quote_text_and_leave_absent_numbers_empty() {
        let mut out = String::new();
        let actor = Actor {
            user_id: None,
            label: "system".into(),
        };
        push_csv_row(
            &mut out,
            Some(7),
            &actor,
            "granular.grant",
            "member:3",
            r#"{"a":"x\"y,z"}"#,
            42,
        );
        push_csv_row(&mut out, None, &actor, "e", "multi\nline", "", 1);
        assert_eq!(
            out,
            "7,,\"system\",\"granular.grant\",\"member:3\",\"{\"\"a\"\":\"\"x\\\"\"y,z\"\"}\",42\n\
             ,,\"system\",\"e\",\"multi\nline\",\"\",1\n"
        );
    }
}
