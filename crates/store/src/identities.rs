//! External identities (OpenID Connect providers) linked to accounts by an administrator.
//! Linking and unlinking are audited; the link opens the account and gives no right of its own.

use serde_json::json;
use sqlx::Row;

use crate::{Result, Stamp, Store, StoreError};

/// A link: the provider's code (`psc`, `proconnect`), the identity's key there, the account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityLink {
    pub provider: String,
    pub subject: String,
    pub login: String,
    pub linked_at: String,
}

fn link_of(r: &sqlx::any::AnyRow) -> std::result::Result<IdentityLink, sqlx::Error> {
    Ok(IdentityLink {
        provider: r.try_get("provider")?,
        subject: r.try_get("subject")?,
        login: r.try_get("login")?,
        linked_at: r.try_get("linked_at")?,
    })
}

impl Store {
    pub async fn link_identity(&self, stamp: &Stamp, provider: &str, subject: &str, login: &str) -> Result<()> {
        let mut tx = self.write().await?;
        self.account_in(&mut tx, login).await?;
        sqlx::query("INSERT INTO identity_link (provider, subject, login, linked_at) VALUES ($1, $2, $3, $4)")
            .bind(provider)
            .bind(subject)
            .bind(login)
            .bind(stamp.at.to_string())
            .execute(&mut *tx)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(d) if d.is_unique_violation() => {
                    StoreError::Invalid(format!("l'identité {provider} « {subject} » est déjà rattachée à un compte : détachez-la d'abord"))
                }
                _ => StoreError::Db(e),
            })?;
        Store::audit(&mut tx, stamp, None, None, Some(json!({ "compte": login, "fournisseur": provider, "identite": subject }))).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Remove a link; the sessions it opened end with it.
    pub async fn unlink_identity(&self, stamp: &Stamp, provider: &str, subject: &str) -> Result<()> {
        let mut tx = self.write().await?;
        let row = sqlx::query("SELECT * FROM identity_link WHERE provider = $1 AND subject = $2")
            .bind(provider)
            .bind(subject)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::Invalid(format!("aucun compte n'est rattaché à l'identité {provider} « {subject} »")))?;
        let link = link_of(&row)?;
        sqlx::query("DELETE FROM identity_link WHERE provider = $1 AND subject = $2").bind(provider).bind(subject).execute(&mut *tx).await?;
        // Sessions opened through this provider for this account: a provider's identity no
        // longer linked must not keep the account open.
        sqlx::query("DELETE FROM web_session WHERE login = $1 AND oidc_sub LIKE $2")
            .bind(&link.login)
            .bind(format!("{provider} %"))
            .execute(&mut *tx)
            .await?;
        Store::audit(&mut tx, stamp, None, Some(json!({ "compte": link.login, "fournisseur": provider, "identite": subject })), None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every link, by account then provider.
    pub async fn identity_links(&self) -> Result<Vec<IdentityLink>> {
        let rows = sqlx::query("SELECT * FROM identity_link ORDER BY login, provider, subject").fetch_all(&self.pool).await?;
        Ok(rows.iter().map(link_of).collect::<std::result::Result<_, _>>()?)
    }

    /// The account linked to the first of `subjects` that is linked for `provider` (one query).
    pub async fn linked_account(&self, provider: &str, subjects: &[String]) -> Result<Option<IdentityLink>> {
        if subjects.is_empty() {
            return Ok(None);
        }
        let marks: Vec<String> = (0..subjects.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!("SELECT * FROM identity_link WHERE provider = $1 AND subject IN ({})", marks.join(", "));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(provider);
        for s in subjects {
            q = q.bind(s);
        }
        let rows = q.fetch_all(&self.pool).await?;
        let links = rows.iter().map(link_of).collect::<std::result::Result<Vec<_>, _>>()?;
        // In the caller's order of preference.
        Ok(subjects.iter().find_map(|s| links.iter().find(|l| &l.subject == s).cloned()))
    }
}
