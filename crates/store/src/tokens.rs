//! API tokens: a user's rights lent to a machine client. The store sees only a hash of the
//! secret. Creating and revoking are audited; a use is recorded (`last_used_at`) without an
//! audit row, as a session is (it changes no business data).

use serde_json::json;
use sqlx::Row;

use crate::{Result, Stamp, Store, StoreError};

/// A token as its owner sees it (never its secret nor its hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRow {
    /// The first characters of the secret: enough for the owner to tell tokens apart.
    pub prefix: String,
    pub login: String,
    pub label: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

fn row_of(r: &sqlx::any::AnyRow) -> std::result::Result<TokenRow, sqlx::Error> {
    Ok(TokenRow {
        prefix: r.try_get("prefix")?,
        login: r.try_get("login")?,
        label: r.try_get("label")?,
        created_at: r.try_get("created_at")?,
        last_used_at: r.try_get("last_used_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

impl Store {
    pub async fn create_token(&self, stamp: &Stamp, hash: &str, t: &TokenRow) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query("INSERT INTO api_token (hash, prefix, login, label, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(hash)
            .bind(&t.prefix)
            .bind(&t.login)
            .bind(&t.label)
            .bind(stamp.at.to_string())
            .execute(&mut *tx)
            .await?;
        let after = json!({ "jeton": t.prefix, "compte": t.login, "libelle": t.label });
        Store::audit(&mut tx, stamp, None, None, Some(after)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The tokens of an account, newest first.
    pub async fn tokens_of(&self, login: &str) -> Result<Vec<TokenRow>> {
        let rows = sqlx::query("SELECT * FROM api_token WHERE login = $1 ORDER BY created_at DESC, prefix")
            .bind(login)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(row_of).collect::<std::result::Result<_, _>>()?)
    }

    /// The token with this hash, if it was not revoked.
    pub async fn live_token(&self, hash: &str) -> Result<Option<TokenRow>> {
        let row = sqlx::query("SELECT * FROM api_token WHERE hash = $1 AND revoked_at IS NULL")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(row_of).transpose()?)
    }

    /// Revoke `login`'s live token named by `prefix`.
    pub async fn revoke_token(&self, stamp: &Stamp, login: &str, prefix: &str) -> Result<()> {
        let mut tx = self.write().await?;
        let done = sqlx::query("UPDATE api_token SET revoked_at = $1 WHERE login = $2 AND prefix = $3 AND revoked_at IS NULL")
            .bind(stamp.at.to_string())
            .bind(login)
            .bind(prefix)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Invalid(format!("aucun jeton actif « {prefix} » pour le compte « {login} »")));
        }
        Store::audit(&mut tx, stamp, None, Some(json!({ "jeton": prefix, "compte": login, "actif": true })), Some(json!({ "jeton": prefix, "compte": login, "actif": false }))).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Record a use of the token (the caller decides how often: not at every request).
    pub async fn touch_token(&self, hash: &str, at: &str) -> Result<()> {
        self.write_one(sqlx::query("UPDATE api_token SET last_used_at = $1 WHERE hash = $2").bind(at).bind(hash)).await.map(|_| ())
    }
}
