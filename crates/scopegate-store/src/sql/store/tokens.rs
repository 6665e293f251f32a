//! API tokens: creation (hashed secrets), lookup by secret, listing, deletion, and the reduction of
//! organization tokens' scopes.

use super::Backend;

pub(super) async fn create_token(
    store: &Backend,
    new: &crate::NewToken,
    actor: &crate::Actor,
) -> crate::Result<(crate::Token, crate::Secret)> {
    let secret = crate::Secret::generate(new.kind);
    let scopes = serde_json::to_string(&new.scopes)
        .map_err(|e| crate::StoreError::Corrupt(e.to_string()))?;
    let mut tx = store.write().await?;
    let id = sqlx::query_as::<_, crate::sql::IdRow>(
        "INSERT INTO api_tokens (kind, user_id, organization_id, name, token_hash, \
             token_prefix, scopes, created_at, token_last_characters) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(new.kind.as_str())
    .bind(new.user_id)
    .bind(new.organization_id)
    .bind(&new.name)
    .bind(secret.hash())
    .bind(secret.display_prefix())
    .bind(scopes)
    .bind(crate::now())
    .bind(secret.last_characters())
    .fetch_one(&mut **tx)
    .await?
    .id;
    tx.token(id);
    let event = match new.kind {
        crate::TokenKind::User => "api-token.create",
        crate::TokenKind::Org => "org-auth-token.create",
        crate::TokenKind::Service => "service-token.create",
    };
    store
        .audit(
            &mut tx,
            new.organization_id,
            actor,
            event,
            &format!("token:{id}"),
            serde_json::json!({"name": new.name, "scopes": new.scopes, "user": new.user_id}),
        )
        .await?;
    let row = sqlx::query_as::<_, crate::sql::TokenRow>(&format!(
        "{} WHERE t.id = $1",
        crate::sql::TOKEN_SELECT
    ))
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    tx.commit().await?;
    Ok((row.try_into()?, secret))
}

pub(super) async fn token_by_secret(store: &Backend, secret: &str) -> crate::Result<crate::Token> {
    let hash = crate::token::hash_secret(secret);
    let row = sqlx::query_as::<_, crate::sql::TokenRow>(&format!(
        "{} WHERE t.token_hash = $1",
        crate::sql::TOKEN_SELECT
    ))
    .bind(&hash)
    .fetch_one(&store.pool)
    .await?;
    let token: crate::Token = row.try_into()?;
    // The index found the row; confirm in constant time all the same.
    if crate::token::hashes_match(&token.hash, &hash) {
        Ok(token)
    } else {
        Err(crate::StoreError::NotFound)
    }
}

pub(super) async fn user_tokens(
    store: &Backend,
    user: i64,
    page: crate::Page,
) -> crate::Result<Vec<crate::Token>> {
    let (limit, offset) = crate::sql::page_binds(page);
    let rows = sqlx::query_as::<_, crate::sql::TokenRow>(&format!(
        "{} WHERE t.kind = 'user' AND t.user_id = $1 ORDER BY t.id LIMIT $2 OFFSET $3",
        crate::sql::TOKEN_SELECT
    ))
    .bind(user)
    .bind(limit)
    .bind(offset)
    .fetch_all(&store.pool)
    .await?;
    rows.into_iter().map(TryInto::try_into).collect()
}

pub(super) async fn org_tokens(
    store: &Backend,
    org: i64,
    page: crate::Page,
) -> crate::Result<Vec<crate::Token>> {
    let (limit, offset) = crate::sql::page_binds(page);
    let rows = sqlx::query_as::<_, crate::sql::TokenRow>(&format!(
        "{} WHERE t.kind = 'org' AND t.organization_id = $1 ORDER BY t.id LIMIT $2 OFFSET $3",
        crate::sql::TOKEN_SELECT
    ))
    .bind(org)
    .bind(limit)
    .bind(offset)
    .fetch_all(&store.pool)
    .await?;
    rows.into_iter().map(TryInto::try_into).collect()
}

pub(super) async fn token(store: &Backend, id: i64) -> crate::Result<crate::Token> {
    let row = sqlx::query_as::<_, crate::sql::TokenRow>(&format!(
        "{} WHERE t.id = $1",
        crate::sql::TOKEN_SELECT
    ))
    .bind(id)
    .fetch_one(&store.pool)
    .await?;
    row.try_into()
}

pub(super) async fn delete_token(
    store: &Backend,
    id: i64,
    actor: &crate::Actor,
) -> crate::Result<()> {
    let mut tx = store.write().await?;
    let row = sqlx::query_as::<_, crate::sql::TokenRow>(&format!(
        "{} WHERE t.id = $1",
        crate::sql::TOKEN_SELECT
    ))
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    tx.token(id);
    sqlx::query("DELETE FROM api_tokens WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    let event = match row.kind.as_str() {
        "org" => "org-auth-token.remove",
        "service" => "service-token.remove",
        _ => "api-token.remove",
    };
    store
        .audit(
            &mut tx,
            row.organization_id,
            actor,
            event,
            &format!("token:{id}"),
            serde_json::json!({"name": row.name}),
        )
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn reduce_org_token_scopes(
    store: &Backend,
    allowed: &[String],
    actor: &crate::Actor,
) -> crate::Result<u64> {
    let mut tx = store.write().await?;
    // Take the write lock before reading (SQLite; on PostgreSQL the rows are
    // locked by the UPDATE itself): no token changes between read and write.
    sqlx::query("UPDATE api_tokens SET id = id WHERE kind = 'org'")
        .execute(&mut **tx)
        .await?;
    let rows = sqlx::query_as::<_, crate::sql::TokenRow>(&format!(
        "{} WHERE t.kind = 'org' ORDER BY t.id",
        crate::sql::TOKEN_SELECT
    ))
    .fetch_all(&mut **tx)
    .await?;
    let mut changed = 0u64;
    for row in rows {
        let token: crate::Token = row.try_into()?;
        let kept: Vec<String> = token
            .scopes
            .iter()
            .filter(|s| allowed.contains(s))
            .cloned()
            .collect();
        if kept.len() == token.scopes.len() {
            continue;
        }
        let text =
            serde_json::to_string(&kept).map_err(|e| crate::StoreError::Corrupt(e.to_string()))?;
        sqlx::query("UPDATE api_tokens SET scopes = $1 WHERE id = $2")
            .bind(text)
            .bind(token.id)
            .execute(&mut **tx)
            .await?;
        tx.token(token.id);
        store
            .audit(
                &mut tx,
                token.organization_id,
                actor,
                "org-auth-token.edit",
                &format!("token:{}", token.id),
                serde_json::json!({
                    "name": token.name,
                    "scopes": {"from": token.scopes, "to": kept},
                    "reason": "the policy's org_token_scopes",
                }),
            )
            .await?;
        changed += 1;
    }
    tx.commit().await?;
    Ok(changed)
}

pub(super) async fn all_tokens(store: &Backend) -> crate::Result<Vec<crate::Token>> {
    let rows = sqlx::query_as::<_, crate::sql::TokenRow>(&format!(
        "{} ORDER BY t.id",
        crate::sql::TOKEN_SELECT
    ))
    .fetch_all(&store.pool)
    .await?;
    rows.into_iter().map(TryInto::try_into).collect()
}
