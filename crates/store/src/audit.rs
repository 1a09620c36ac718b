//! The audit log: one row per write, in the write's own transaction, never changed afterwards
//! (the database refuses UPDATE and DELETE on it: triggers of migration 7).

use cpts_domain::ids::CptsId;
use serde_json::Value;
use sqlx::{Any, Row, Transaction};

use crate::{Result, Store, StoreError};

/// Who writes (account login and the role the write was allowed under), what (an action code),
/// and in which request or batch: given to every write, recorded with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub login: String,
    pub role: String,
    pub action: String,
    pub batch: String,
    pub at: jiff::Timestamp,
}

/// One row of the audit log: every column as stored (JSON as written), its hashes included.
/// The chain's row type, so that the log is read in one place (`chain_row`).
pub type AuditEntry = cpts_domain::audit::ChainRow;

/// Which rows to read, newest first.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub cpts: Option<String>,
    pub login: Option<String>,
    /// RFC 3339 instant: rows at or after it.
    pub since: Option<String>,
    /// Only CPTS in this set (a scope); None: every row.
    pub within: Option<crate::Visible>,
    pub limit: i64,
    /// Rows skipped first (a page of the log).
    pub offset: i64,
}

impl Store {
    /// Append the audit row of a write, inside its transaction, chained onto the previous
    /// row. The head row (`data_version`) is updated first: on PostgreSQL that locks it until
    /// commit, so two writers never chain onto the same row (SQLite's writer is alone); the
    /// row's id is drawn after the lock, so ids grow in chain order.
    pub(crate) async fn audit(
        tx: &mut Transaction<'_, Any>,
        stamp: &Stamp,
        cpts: Option<&CptsId>,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Result<()> {
        Self::audit_json(tx, stamp, cpts, before.map(|v| v.to_string()), after.map(|v| v.to_string())).await
    }

    /// `audit` with the states already written as JSON text (a value batch's detail comes
    /// from the database as text: parsing it only to write it again cost seconds at 1 M values).
    pub(crate) async fn audit_json(
        tx: &mut Transaction<'_, Any>,
        stamp: &Stamp,
        cpts: Option<&CptsId>,
        before: Option<String>,
        after: Option<String>,
    ) -> Result<()> {
        // Every business write is audited: the data version moves with it, in its transaction.
        let head = sqlx::query("UPDATE data_version SET version = version + 1 WHERE id = 1 RETURNING version, audit_last_hash")
            .fetch_one(&mut **tx)
            .await?;
        let prev: String = head.try_get("audit_last_hash")?;
        let version: i64 = head.try_get("version")?;
        let id = Self::next_audit_id(tx).await?;
        let at = stamp.at.to_string();
        let cpts = cpts.map(CptsId::as_str);
        let hash = cpts_domain::audit::row_hash(
            &prev,
            id,
            &at,
            &stamp.login,
            &stamp.role,
            &stamp.action,
            cpts,
            before.as_deref(),
            after.as_deref(),
            &stamp.batch,
        );
        let insert = match tx.backend_name() {
            "PostgreSQL" => "INSERT INTO audit (id, at, login, role, action, cpts_id, before_json, after_json, batch, prev_hash, hash) OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            _ => "INSERT INTO audit (id, at, login, role, action, cpts_id, before_json, after_json, batch, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        };
        sqlx::query(insert)
            .bind(id)
            .bind(&at)
            .bind(&stamp.login)
            .bind(&stamp.role)
            .bind(&stamp.action)
            .bind(cpts)
            .bind(before)
            .bind(after)
            .bind(&stamp.batch)
            .bind(&prev)
            .bind(&hash)
            .execute(&mut **tx)
            .await?;
        sqlx::query("UPDATE data_version SET audit_last_id = $1, audit_last_hash = $2 WHERE id = 1")
            .bind(id)
            .bind(&hash)
            .execute(&mut **tx)
            .await?;
        // The CPTS written records the version ('' for a write outside any CPTS).
        sqlx::query(
            "INSERT INTO cpts_change (cpts_id, version) VALUES ($1, $2) ON CONFLICT (cpts_id) DO UPDATE SET version = excluded.version",
        )
        .bind(cpts.unwrap_or(""))
        .bind(version)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The data version of the last write to the CPTS `id` or outside any CPTS (0: none since
    /// versions were recorded).
    pub async fn cpts_version(&self, id: &CptsId) -> Result<i64> {
        let row = sqlx::query("SELECT MAX(version) AS v FROM cpts_change WHERE cpts_id IN ($1, '')")
            .bind(id.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<Option<i64>, _>("v")?.unwrap_or(0))
    }

    /// The CPTS written after data version `since` (up to now), or None when something outside
    /// any CPTS was written too (then nothing scope-wide can be trusted piecewise).
    pub async fn changed_since(&self, since: i64) -> Result<Option<std::collections::BTreeSet<String>>> {
        let rows = sqlx::query("SELECT cpts_id FROM cpts_change WHERE version > $1").bind(since).fetch_all(&self.pool).await?;
        let mut ids = std::collections::BTreeSet::new();
        for r in &rows {
            let id: String = r.try_get("cpts_id")?;
            if id.is_empty() {
                return Ok(None);
            }
            ids.insert(id);
        }
        Ok(Some(ids))
    }

    /// The id the next audit row takes: from the identity's sequence on PostgreSQL (a
    /// rolled-back write leaves a gap, as before), after the highest ever given on SQLite.
    async fn next_audit_id(tx: &mut Transaction<'_, Any>) -> Result<i64> {
        let sql = match tx.backend_name() {
            "PostgreSQL" => "SELECT nextval(pg_get_serial_sequence('audit', 'id')) AS id",
            _ => "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'audit'), 0), COALESCE((SELECT MAX(id) FROM audit), 0)) + 1 AS id",
        };
        Ok(sqlx::query(sql).fetch_one(&mut **tx).await?.try_get("id")?)
    }

    /// The head of the audit chain: the last row's id and hash, as the last write left them.
    pub async fn audit_head(&self) -> Result<cpts_domain::audit::Head> {
        let row = sqlx::query("SELECT audit_last_id, audit_last_hash FROM data_version WHERE id = 1").fetch_one(&self.pool).await?;
        Ok(cpts_domain::audit::Head { last_id: row.try_get("audit_last_id")?, last_hash: row.try_get("audit_last_hash")? })
    }

    /// Up to `limit` audit rows after `after_id`, in id order, with their hashes: a page of
    /// the chain's walk.
    pub async fn audit_chain_page(&self, after_id: i64, limit: i64) -> Result<Vec<cpts_domain::audit::ChainRow>> {
        let rows = sqlx::query("SELECT * FROM audit WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(chain_row).collect()
    }

    /// The data's version: it changes with every committed write (read models are cached on it).
    pub async fn data_version(&self) -> Result<i64> {
        let row = sqlx::query("SELECT version FROM data_version WHERE id = 1").fetch_one(&self.pool).await?;
        Ok(row.try_get("version")?)
    }

    /// Run one statement as is. For the tests that check what the database itself refuses
    /// (the audit log's triggers); never called by cpts.
    #[doc(hidden)]
    pub async fn execute_raw_for_tests(&self, sql: &'static str) -> Result<u64> {
        Ok(sqlx::query(sql).execute(&self.pool).await?.rows_affected())
    }

    /// The integer columns of a query's rows, as is. For the tests that check what is stored
    /// beside what the domain reads back; never called by cpts.
    #[doc(hidden)]
    pub async fn fetch_raw_for_tests(&self, sql: &'static str) -> Result<Vec<Vec<Option<i64>>>> {
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| (0..r.len()).map(|i| r.try_get::<Option<i64>, _>(i).map_err(StoreError::from)).collect())
            .collect()
    }

    /// Whether the log holds a write of this batch (e.g. the synthetic France's, written in the
    /// same transactions as its data and never removed): one read, meant once per process.
    pub async fn has_batch(&self, batch: &str) -> Result<bool> {
        let row = sqlx::query("SELECT 1 AS one FROM audit WHERE batch = $1 LIMIT 1").bind(batch).fetch_optional(&self.pool).await?;
        Ok(row.is_some())
    }

    /// How many audit rows the filter keeps (its limit and offset aside).
    pub async fn audit_count(&self, f: &AuditFilter) -> Result<u64> {
        let (sql, args) = Self::audit_where(f, "SELECT COUNT(*) AS n FROM audit");
        let row = crate::bound(sql, &args).fetch_one(&self.pool).await?;
        let n: i64 = row.try_get("n")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Audit rows, newest first, filtered in the database.
    pub async fn audit_log(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let (mut sql, args) = Self::audit_where(f, "SELECT * FROM audit");
        sql.push_str(&format!(" ORDER BY id DESC LIMIT {} OFFSET {}", f.limit.max(0), f.offset.max(0)));
        let rows = crate::bound(sql, &args).fetch_all(&self.pool).await?;
        rows.iter().map(chain_row).collect()
    }

    /// `select` with the filter's conditions, and their values.
    fn audit_where(f: &AuditFilter, select: &str) -> (String, Vec<String>) {
        let mut sql = format!("{select} WHERE 1 = 1");
        let mut args: Vec<String> = Vec::new();
        let mut param = |sql: &mut String, clause: &str, v: &str| {
            args.push(v.to_string());
            sql.push_str(&clause.replace('?', &format!("${}", args.len())));
        };
        if let Some(c) = &f.cpts {
            param(&mut sql, " AND cpts_id = ?", c);
        }
        if let Some(l) = &f.login {
            param(&mut sql, " AND login = ?", l);
        }
        if let Some(s) = &f.since {
            param(&mut sql, " AND at >= ?", s);
        }
        if let Some(v) = &f.within {
            let (clause, values) = v.clause("cpts_id", args.len() + 1);
            sql.push_str(&format!(" AND {clause}"));
            args.extend(values);
        }
        (sql, args)
    }
}

/// An audit row with its hashes, as stored.
pub(crate) fn chain_row(r: &sqlx::any::AnyRow) -> Result<cpts_domain::audit::ChainRow> {
    Ok(cpts_domain::audit::ChainRow {
        id: r.try_get("id")?,
        at: r.try_get("at")?,
        login: r.try_get("login")?,
        role: r.try_get("role")?,
        action: r.try_get("action")?,
        cpts: r.try_get("cpts_id")?,
        before: r.try_get("before_json")?,
        after: r.try_get("after_json")?,
        batch: r.try_get("batch")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}
