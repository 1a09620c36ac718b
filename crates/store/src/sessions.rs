//! Web sessions and failed logins. Not business data: no audit row (the audit says who
//! changed what; a session changes nothing). Instants are Unix seconds.

use sqlx::Row;

use crate::{Result, Store};

/// A stored session: the adapter's own data (JSON), the account it belongs to, its expiry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    pub login: Option<String>,
    pub data: String,
    pub expires_at: i64,
    /// Opened through an OpenID Connect provider: « provider sid » and « provider sub », which
    /// its back-channel logout names.
    pub oidc_sid: Option<String>,
    pub oidc_sub: Option<String>,
}

impl Store {
    /// The session `id` if it has not expired at `now`.
    pub async fn session(&self, id: &str, now: i64) -> Result<Option<SessionRow>> {
        let row = sqlx::query("SELECT login, data, expires_at, oidc_sid, oidc_sub FROM web_session WHERE id = $1 AND expires_at > $2")
            .bind(id)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(SessionRow {
                login: r.try_get("login")?,
                data: r.try_get("data")?,
                expires_at: r.try_get("expires_at")?,
                oidc_sid: r.try_get("oidc_sid")?,
                oidc_sub: r.try_get("oidc_sub")?,
            })
        })
        .transpose()
    }

    /// One statement in its own write transaction; the rows it touched.
    pub(crate) async fn write_one(&self, q: sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments>) -> Result<u64> {
        let mut tx = self.write().await?;
        let done = q.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// A session's row written: created only (`replace` false; false if the id is taken, the
    /// caller draws another) or created or replaced.
    async fn put_session(&self, id: &str, s: &SessionRow, replace: bool) -> Result<bool> {
        let on_conflict = if replace {
            "DO UPDATE SET login = excluded.login, data = excluded.data, expires_at = excluded.expires_at, \
             oidc_sid = excluded.oidc_sid, oidc_sub = excluded.oidc_sub"
        } else {
            "DO NOTHING"
        };
        let sql = format!(
            "INSERT INTO web_session (id, login, data, expires_at, oidc_sid, oidc_sub) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) {on_conflict}"
        );
        let q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(s.login.as_deref())
            .bind(&s.data)
            .bind(s.expires_at)
            .bind(s.oidc_sid.as_deref())
            .bind(s.oidc_sub.as_deref());
        Ok(self.write_one(q).await? == 1)
    }

    /// Create a session; false if the id is taken (the caller draws another).
    pub async fn create_session(&self, id: &str, s: &SessionRow) -> Result<bool> {
        self.put_session(id, s, false).await
    }

    /// Write a session's data and expiry (created if it was not there).
    pub async fn save_session(&self, id: &str, s: &SessionRow) -> Result<()> {
        self.put_session(id, s, true).await.map(|_| ())
    }

    pub async fn delete_session(&self, id: &str) -> Result<()> {
        self.write_one(sqlx::query("DELETE FROM web_session WHERE id = $1").bind(id)).await.map(|_| ())
    }

    /// End the sessions a provider's back-channel logout names: by its session id (`sid`, when
    /// given) else by its subject; the number ended.
    pub async fn end_external_sessions(&self, sid: Option<&str>, sub: Option<&str>) -> Result<u64> {
        let q = match (sid, sub) {
            (Some(sid), _) => sqlx::query("DELETE FROM web_session WHERE oidc_sid = $1").bind(sid.to_owned()),
            (None, Some(sub)) => sqlx::query("DELETE FROM web_session WHERE oidc_sub = $1").bind(sub.to_owned()),
            (None, None) => return Ok(0),
        };
        self.write_one(q).await
    }

    /// End every session of an account, inside the write that makes them invalid.
    pub(crate) async fn end_sessions_in(tx: &mut sqlx::Transaction<'_, sqlx::Any>, login: &str) -> Result<()> {
        sqlx::query("DELETE FROM web_session WHERE login = $1").bind(login).execute(&mut **tx).await?;
        Ok(())
    }

    /// Forget sessions expired at `now` and failed logins older than `failures_before`.
    pub async fn purge_sessions(&self, now: i64, failures_before: i64) -> Result<u64> {
        let mut tx = self.write().await?;
        let n = sqlx::query("DELETE FROM web_session WHERE expires_at <= $1").bind(now).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM login_failure WHERE at < $1").bind(failures_before).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(n.rows_affected())
    }

    /// Failed logins since `since`: (for this login, from this address).
    pub async fn login_failures(&self, login: &str, address: &str, since: i64) -> Result<(i64, i64)> {
        let r = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM login_failure WHERE login = $1 AND at >= $3) AS by_login,
                    (SELECT COUNT(*) FROM login_failure WHERE address = $2 AND at >= $3) AS by_address",
        )
        .bind(login)
        .bind(address)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok((r.try_get("by_login")?, r.try_get("by_address")?))
    }

    pub async fn record_login_failure(&self, login: &str, address: &str, at: i64) -> Result<()> {
        let q = sqlx::query("INSERT INTO login_failure (login, address, at) VALUES ($1, $2, $3)").bind(login).bind(address).bind(at);
        self.write_one(q).await.map(|_| ())
    }

    /// A successful login clears its account's failures (not its address's: one address may
    /// try many accounts).
    pub async fn clear_login_failures(&self, login: &str) -> Result<()> {
        self.write_one(sqlx::query("DELETE FROM login_failure WHERE login = $1").bind(login)).await.map(|_| ())
    }
}
