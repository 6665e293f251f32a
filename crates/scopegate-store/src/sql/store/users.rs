//! Users: creation and lookup by id and by email.

use super::Backend;

pub(super) async fn create_user(
    store: &Backend,
    email: &str,
    is_superuser: bool,
) -> crate::Result<crate::User> {
    let mut tx = store.write().await?;
    let row = sqlx::query_as::<_, crate::sql::UserRow>(&format!(
        "INSERT INTO users (email, is_superuser, has_2fa, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING {}",
        crate::sql::USER_COLS
    ))
    .bind(email)
    .bind(is_superuser)
    .bind(false)
    .bind(crate::now())
    .fetch_one(&mut **tx)
    .await?;
    tx.user(row.id);
    tx.commit().await?;
    Ok(row.into())
}

pub(super) async fn user(store: &Backend, id: i64) -> crate::Result<crate::User> {
    let row = sqlx::query_as::<_, crate::sql::UserRow>(&format!(
        "SELECT {} FROM users WHERE id = $1",
        crate::sql::USER_COLS
    ))
    .bind(id)
    .fetch_one(&store.pool)
    .await?;
    Ok(row.into())
}

pub(super) async fn user_by_email(store: &Backend, email: &str) -> crate::Result<crate::User> {
    let row = sqlx::query_as::<_, crate::sql::UserRow>(&format!(
        "SELECT {} FROM users WHERE email = $1",
        crate::sql::USER_COLS
    ))
    .bind(email)
    .fetch_one(&store.pool)
    .await?;
    Ok(row.into())
}

pub(super) async fn is_empty(store: &Backend) -> crate::Result<bool> {
    let rows = sqlx::query_as::<_, crate::sql::IdRow>("SELECT id FROM organizations LIMIT 1")
        .fetch_all(&store.pool)
        .await?;
    Ok(rows.is_empty())
}
