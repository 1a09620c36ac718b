//! Local accounts and their grants. Passwords arrive hashed (argon2id, by the application):
//! the store never sees one in clear, and the audit log never receives a hash.

use serde_json::json;
use sqlx::Row;

use crate::{Result, Stamp, Store, StoreError};

/// A role given to an account over a scope (a CPTS id, a département or région code, or ''
/// for the national level). Codes are the application's.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GrantRow {
    pub role: String,
    pub scope: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub login: String,
    pub name: String,
    /// PHC string of an argon2id hash; None: no password (cannot log in with one).
    pub password_hash: Option<String>,
    pub active: bool,
    pub grants: Vec<GrantRow>,
}

fn unknown(login: &str) -> StoreError {
    StoreError::Invalid(format!("compte « {login} » introuvable"))
}

impl Store {
    pub async fn create_account(&self, stamp: &Stamp, a: &Account) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query("INSERT INTO account (login, name, password_hash, active, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&a.login)
            .bind(&a.name)
            .bind(a.password_hash.as_deref())
            .bind(i64::from(a.active))
            .bind(stamp.at.to_string())
            .execute(&mut *tx)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(d) if d.is_unique_violation() => {
                    StoreError::Invalid(format!("le compte « {} » existe déjà", a.login))
                }
                _ => StoreError::from(e),
            })?;
        for g in &a.grants {
            Store::insert_grant(&mut tx, stamp, &a.login, g).await?;
        }
        let after = json!({ "compte": a.login, "nom": a.name, "actif": a.active, "mot_de_passe": a.password_hash.is_some(), "roles": grants_json(&a.grants) });
        Store::audit(&mut tx, stamp, None, None, Some(after)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_grant(tx: &mut sqlx::Transaction<'_, sqlx::Any>, stamp: &Stamp, login: &str, g: &GrantRow) -> Result<()> {
        sqlx::query("INSERT INTO account_grant (login, role, scope, granted_at) VALUES ($1, $2, $3, $4)")
            .bind(login)
            .bind(&g.role)
            .bind(&g.scope)
            .bind(stamp.at.to_string())
            .execute(&mut **tx)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(d) if d.is_unique_violation() => {
                    StoreError::Invalid(format!("le compte « {login} » a déjà ce rôle sur ce périmètre"))
                }
                _ => StoreError::from(e),
            })?;
        Ok(())
    }

    /// One account with its grants; None if unknown.
    pub async fn account(&self, login: &str) -> Result<Option<Account>> {
        let Some(r) = sqlx::query("SELECT * FROM account WHERE login = $1").bind(login).fetch_optional(&self.pool).await?
        else {
            return Ok(None);
        };
        let grants = sqlx::query("SELECT role, scope FROM account_grant WHERE login = $1 ORDER BY role, scope")
            .bind(login)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|g| Ok(GrantRow { role: g.try_get("role")?, scope: g.try_get("scope")? }))
            .collect::<std::result::Result<_, sqlx::Error>>()?;
        Ok(Some(Account {
            login: r.try_get("login")?,
            name: r.try_get("name")?,
            password_hash: r.try_get("password_hash")?,
            active: r.try_get::<i64, _>("active")? != 0,
            grants,
        }))
    }

    /// Every account with its grants, by login (two queries).
    pub async fn accounts(&self) -> Result<Vec<Account>> {
        let rows = sqlx::query("SELECT * FROM account ORDER BY login").fetch_all(&self.pool).await?;
        let mut grants: std::collections::HashMap<String, Vec<GrantRow>> = std::collections::HashMap::new();
        for g in sqlx::query("SELECT login, role, scope FROM account_grant ORDER BY role, scope").fetch_all(&self.pool).await? {
            grants.entry(g.try_get("login")?).or_default().push(GrantRow { role: g.try_get("role")?, scope: g.try_get("scope")? });
        }
        rows.iter()
            .map(|r| {
                let login: String = r.try_get("login")?;
                Ok(Account {
                    name: r.try_get("name")?,
                    password_hash: r.try_get("password_hash")?,
                    active: r.try_get::<i64, _>("active")? != 0,
                    grants: grants.remove(&login).unwrap_or_default(),
                    login,
                })
            })
            .collect()
    }

    pub async fn grant(&self, stamp: &Stamp, login: &str, g: &GrantRow) -> Result<()> {
        let mut tx = self.write().await?;
        self.account_in(&mut tx, login).await?;
        Store::insert_grant(&mut tx, stamp, login, g).await?;
        Store::audit(&mut tx, stamp, None, None, Some(json!({ "compte": login, "role": g.role, "perimetre": g.scope }))).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn revoke(&self, stamp: &Stamp, login: &str, g: &GrantRow) -> Result<()> {
        let mut tx = self.write().await?;
        let done = sqlx::query("DELETE FROM account_grant WHERE login = $1 AND role = $2 AND scope = $3")
            .bind(login)
            .bind(&g.role)
            .bind(&g.scope)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Invalid(format!("le compte « {login} » n'a pas ce rôle sur ce périmètre")));
        }
        Store::audit(&mut tx, stamp, None, Some(json!({ "compte": login, "role": g.role, "perimetre": g.scope })), None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Set a new password hash (never written to the audit log); the account's web sessions end.
    pub async fn set_password(&self, stamp: &Stamp, login: &str, hash: &str) -> Result<()> {
        let mut tx = self.write().await?;
        self.account_in(&mut tx, login).await?;
        sqlx::query("UPDATE account SET password_hash = $1 WHERE login = $2").bind(hash).bind(login).execute(&mut *tx).await?;
        // A new password ends every session opened with the old one.
        Store::end_sessions_in(&mut tx, login).await?;
        Store::audit(&mut tx, stamp, None, None, Some(json!({ "compte": login, "mot_de_passe": "changé" }))).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_active(&self, stamp: &Stamp, login: &str, active: bool) -> Result<()> {
        let mut tx = self.write().await?;
        let before = self.account_in(&mut tx, login).await?;
        sqlx::query("UPDATE account SET active = $1 WHERE login = $2").bind(i64::from(active)).bind(login).execute(&mut *tx).await?;
        if !active {
            Store::end_sessions_in(&mut tx, login).await?;
        }
        Store::audit(
            &mut tx,
            stamp,
            None,
            Some(json!({ "compte": login, "actif": before })),
            Some(json!({ "compte": login, "actif": active })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether the account is active, inside a write (it must exist).
    pub(crate) async fn account_in(&self, tx: &mut sqlx::Transaction<'_, sqlx::Any>, login: &str) -> Result<bool> {
        let row = sqlx::query("SELECT active FROM account WHERE login = $1")
            .bind(login)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| unknown(login))?;
        Ok(row.try_get::<i64, _>("active")? != 0)
    }
}

fn grants_json(g: &[GrantRow]) -> serde_json::Value {
    g.iter().map(|g| json!({ "role": g.role, "perimetre": g.scope })).collect()
}
