//! Backups: a logical export of every table, the same on both engines (and so from one engine
//! to the other), and its restore in one transaction; and, on SQLite, a consistent copy of the
//! file while the server runs (`VACUUM INTO`).
//!
//! The export is JSON lines (docs/operations.md):
//! 1. a header `{"format":"cpts-sauvegarde","version":1,"schema":12,…}`;
//! 2. for each table, in dependency order, `{"table":"…","columns":[…]}` then one JSON array per
//!    row (integers as numbers, text as strings, NULL as null);
//! 3. a trailer `{"fin":true,"rows":N,"hash":"…"}`: the row count and a BLAKE2s hash of every
//!    byte before it, so a truncated or altered file is refused before anything is committed.

use std::io::{BufRead, Write};

use blake2::{Blake2s256, Digest};
use futures_util::TryStreamExt;
use serde_json::{Value, json};
use sqlx::{Any, Row, Transaction};

use crate::{Backend, Result, Store, StoreError};

/// The marker of a cpts backup, and this format's version.
const FORMAT: &str = "cpts-sauvegarde";
const FORMAT_VERSION: i64 = 1;

/// Every table holding the store's data, parents before children (restored in this order,
/// emptied in the reverse one). Not saved: `schema_version` (the header says it), web
/// sessions and failed logins (transient: a restored store starts with no one signed in), the
/// versions of each CPTS's last write (what cached answers are checked against: emptied, so
/// every process computes its answers again).
pub const TABLES: &[&str] = &[
    "cpts",
    "territory",
    "cpts_area",
    "cpts_revision",
    "member",
    "member_history",
    "structure",
    "mandate",
    "lifecycle_event",
    "statutes",
    "contract",
    "mission_progress",
    "amendment",
    "year_release",
    "year_result",
    "convention",
    "ledger_line",
    "payment",
    "value_batch",
    "value_batch_counter",
    "indicator_value",
    "activity_report",
    "report_result",
    "report_event",
    "account",
    "account_grant",
    "api_token",
    "identity_link",
    "audit",
    "data_version",
];

/// Tables a fresh store fills with one row of its own (counters): replaced, not counted as data.
const SINGLETONS: &[&str] = &["value_batch_counter", "data_version"];

/// Not saved, on purpose (see `TABLES`).
pub const NOT_SAVED: &[&str] = &["schema_version", "web_session", "login_failure", "cpts_change"];

/// Values bound per INSERT statement when restoring: fewer round trips on PostgreSQL; on
/// SQLite, sqlx looks each parameter up by name among all the statement's (time quadratic in
/// their number: 8 000 values per statement made a national restore 6 times slower than on
/// PostgreSQL, 84 % of it in `sqlite3_bind_parameter_name`), so a few hundred.
const CHUNK_VALUES_POSTGRES: usize = 8_000;
const CHUNK_VALUES_SQLITE: usize = 400;

/// What a restore read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restored {
    pub schema: i64,
    pub rows: u64,
    /// The engine the backup was written from (« sqlite », « postgres »).
    pub from: String,
}

fn corrupted(why: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!("sauvegarde illisible ou altérée : {why} ; la base n'a pas été modifiée"))
}

/// A writer that hashes what it passes on.
struct Hashing<W: Write> {
    out: W,
    hash: Blake2s256,
}

impl<W: Write> Hashing<W> {
    fn line(&mut self, v: &Value) -> Result<()> {
        let mut s = v.to_string();
        s.push('\n');
        self.hash.update(s.as_bytes());
        self.out.write_all(s.as_bytes()).map_err(|e| StoreError::Invalid(format!("écriture de la sauvegarde impossible : {e}")))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A column's value as JSON: BIGINT as a number, TEXT as a string.
fn value(r: &sqlx::any::AnyRow, i: usize) -> Result<Value> {
    if let Ok(v) = r.try_get::<Option<i64>, _>(i) {
        return Ok(v.map_or(Value::Null, Value::from));
    }
    Ok(r.try_get::<Option<String>, _>(i)?.map_or(Value::Null, Value::from))
}

impl Store {
    /// The schema version of this store.
    pub async fn schema_version(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT MAX(version) AS v FROM schema_version").fetch_one(&self.pool).await?.try_get("v")?)
    }

    /// Write the logical export of every table to `out`, from one consistent snapshot (a
    /// read transaction; REPEATABLE READ on PostgreSQL) while others keep writing. Rows are
    /// streamed, never all in memory. Returns the number of rows written.
    pub async fn export(&self, out: impl Write) -> Result<u64> {
        let mut tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN").await?,
            Backend::Postgres => self.pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?,
        };
        let schema: i64 = sqlx::query("SELECT MAX(version) AS v FROM schema_version").fetch_one(&mut *tx).await?.try_get("v")?;
        let mut w = Hashing { out, hash: Blake2s256::new() };
        let engine = match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        w.line(&json!({"format": FORMAT, "version": FORMAT_VERSION, "schema": schema, "engine": engine, "at": jiff::Timestamp::now().to_string()}))?;
        let mut rows = 0u64;
        for table in TABLES {
            let columns = Self::columns(&mut tx, table).await?;
            w.line(&json!({"table": table, "columns": columns.iter().map(|c| &c.0).collect::<Vec<_>>()}))?;
            let list = columns.iter().map(|c| c.0.as_str()).collect::<Vec<_>>().join(", ");
            // The audit log in id order: its chain reads the same in the file.
            let order = if *table == "audit" { " ORDER BY id" } else { "" };
            let sql = format!("SELECT {list} FROM {table}{order}");
            let mut stream = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut *tx);
            while let Some(r) = stream.try_next().await? {
                let values = (0..r.columns().len()).map(|i| value(&r, i)).collect::<Result<Vec<_>>>()?;
                w.line(&Value::Array(values))?;
                rows += 1;
            }
        }
        let hash = hex(&w.hash.clone().finalize());
        w.line(&json!({"fin": true, "rows": rows, "hash": hash}))?;
        w.out.flush().map_err(|e| StoreError::Invalid(format!("écriture de la sauvegarde impossible : {e}")))?;
        tx.rollback().await?;
        Ok(rows)
    }

    /// A table's columns in this store, in their order, each with whether it holds integers.
    async fn columns(tx: &mut Transaction<'static, Any>, table: &str) -> Result<Vec<(String, bool)>> {
        let rows = match tx.backend_name() {
            "PostgreSQL" => {
                sqlx::query("SELECT CAST(column_name AS TEXT) AS name, CAST(data_type AS TEXT) AS type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position")
                    .bind(table)
                    .fetch_all(&mut **tx)
                    .await?
            }
            _ => sqlx::query("SELECT name, type FROM pragma_table_info($1) ORDER BY cid").bind(table).fetch_all(&mut **tx).await?,
        };
        rows.iter()
            .map(|r| {
                let name: String = r.try_get("name")?;
                let ty: String = r.try_get("type")?;
                Ok((name, ty.to_lowercase().contains("int")))
            })
            .collect()
    }

    /// The database's own tables (cpts's, and any other).
    pub async fn table_names(&self) -> Result<Vec<String>> {
        let mut conn = self.pool.acquire().await?;
        Ok(crate::open::user_tables(&mut conn, self.backend == Backend::Sqlite).await?)
    }

    /// Whether the store holds any data (a fresh store's counters aside).
    pub async fn is_empty(&self) -> Result<bool> {
        for table in TABLES.iter().filter(|t| !SINGLETONS.contains(t)) {
            let sql = format!("SELECT 1 AS one FROM {table} LIMIT 1");
            if sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_optional(&self.pool).await?.is_some() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Restore a logical export into this store, all or nothing (one write transaction: a
    /// file that is truncated, altered or from a newer schema leaves the store as it was).
    /// A non-empty store is refused unless `replace`. The restored audit rows keep their
    /// hashes and the head its place; the restore's own audit row follows them in the same
    /// transaction, chained on them.
    pub async fn restore(&self, input: impl BufRead, replace: bool, stamp: &crate::Stamp) -> Result<Restored> {
        let mut tx = self.write().await?;
        let done = self.restore_in(&mut tx, input, replace).await;
        match done {
            Ok(r) => {
                Self::audit(
                    &mut tx,
                    stamp,
                    None,
                    None,
                    Some(json!({"sauvegarde": {"schema": r.schema, "lignes": r.rows, "moteur": r.from}, "remplacement": replace})),
                )
                .await?;
                tx.commit().await?;
                Ok(r)
            }
            Err(e) => {
                tx.rollback().await?;
                Err(match e {
                    StoreError::Invalid(m) if m.contains("n'a pas été modifiée") => StoreError::Invalid(m),
                    other => StoreError::Invalid(format!("restauration impossible : {other} ; la base n'a pas été modifiée")),
                })
            }
        }
    }

    async fn restore_in(&self, tx: &mut Transaction<'static, Any>, input: impl BufRead, replace: bool) -> Result<Restored> {
        let mut lines = input.lines();
        let mut hash = Blake2s256::new();
        let mut next = |hash: &mut Blake2s256| -> Result<Option<String>> {
            match lines.next() {
                None => Ok(None),
                Some(Err(e)) => Err(corrupted(e)),
                Some(Ok(l)) => {
                    hash.update(l.as_bytes());
                    hash.update(b"\n");
                    Ok(Some(l))
                }
            }
        };
        let parse = |l: &str| serde_json::from_str::<Value>(l).map_err(|e| corrupted(format!("ligne illisible ({e})")));
        let header = parse(&next(&mut hash)?.ok_or_else(|| corrupted("fichier vide"))?)?;
        if header.get("format").and_then(Value::as_str) != Some(FORMAT) {
            return Err(StoreError::Invalid("ce fichier n'est pas une sauvegarde cpts (en-tête « cpts-sauvegarde » absent) ; la base n'a pas été modifiée".into()));
        }
        let version = header.get("version").and_then(Value::as_i64).unwrap_or(0);
        if version > FORMAT_VERSION {
            return Err(StoreError::Invalid(format!("sauvegarde au format {version}, plus récent que celui que cette version de cpts lit ({FORMAT_VERSION}) : mettez cpts à jour ; la base n'a pas été modifiée")));
        }
        let schema = header.get("schema").and_then(Value::as_i64).ok_or_else(|| corrupted("version du schéma absente"))?;
        let ours: i64 = sqlx::query("SELECT MAX(version) AS v FROM schema_version").fetch_one(&mut **tx).await?.try_get("v")?;
        if schema > ours {
            return Err(StoreError::Invalid(format!("sauvegarde d'une version plus récente de cpts (schéma {schema}, cette version connaît jusqu'au schéma {ours}) : mettez cpts à jour avant de la restaurer ; la base n'a pas été modifiée")));
        }
        if schema < ours {
            return Err(StoreError::Invalid(format!("sauvegarde d'une version plus ancienne de cpts (schéma {schema}, cette base est au schéma {ours}) : restaurez-la avec la version de cpts qui l'a écrite, puis ouvrez la base avec celle-ci (elle la met à niveau) ; la base n'a pas été modifiée")));
        }
        let from = header.get("engine").and_then(Value::as_str).unwrap_or("?").to_string();
        let postgres = tx.backend_name() == "PostgreSQL";

        // The data version only moves forward (readers' caches, in every process, are keyed
        // on it): the restored one is raised past the current one.
        let current: i64 = sqlx::query("SELECT version FROM data_version WHERE id = 1").fetch_one(&mut **tx).await?.try_get("version")?;
        // Empty the store (refused if it holds data and no replacement was asked), the audit
        // log's triggers lifted inside this transaction only.
        let mut holds = false;
        for table in TABLES.iter().filter(|t| !SINGLETONS.contains(t)) {
            let sql = format!("SELECT 1 AS one FROM {table} LIMIT 1");
            holds |= sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_optional(&mut **tx).await?.is_some();
        }
        if holds && !replace {
            return Err(StoreError::Invalid("la base n'est pas vide : restaurer remplacerait toutes ses données (--remplacer pour le faire) ; la base n'a pas été modifiée".into()));
        }
        if postgres {
            sqlx::query("ALTER TABLE audit DISABLE TRIGGER audit_no_change").execute(&mut **tx).await?;
        } else {
            sqlx::query("DROP TRIGGER audit_no_delete").execute(&mut **tx).await?;
        }
        for table in TABLES.iter().rev().chain(NOT_SAVED.iter().filter(|t| **t != "schema_version")) {
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}"))).execute(&mut **tx).await?;
        }
        if postgres {
            sqlx::query("ALTER TABLE audit ENABLE TRIGGER audit_no_change").execute(&mut **tx).await?;
        } else {
            sqlx::query(crate::schema::SQLITE_NO_DELETE).execute(&mut **tx).await?;
        }

        // The tables, in order, each as the header line then its rows.
        let mut rows = 0u64;
        let mut expected = TABLES.iter();
        let mut table: Option<(String, Vec<(String, bool)>)> = None;
        let mut chunk: Vec<Vec<Value>> = Vec::new();
        let (trailer, before_trailer) = loop {
            let before = hash.clone();
            let Some(line) = next(&mut hash)? else { return Err(corrupted("fichier tronqué (fin de sauvegarde absente)")) };
            let v = parse(&line)?;
            if let Value::Array(values) = v {
                let Some((_, cols)) = &table else { return Err(corrupted("ligne de données avant toute table")) };
                if values.len() != cols.len() {
                    return Err(corrupted(format!("ligne de {} valeurs pour {} colonnes", values.len(), cols.len())));
                }
                chunk.push(values);
                rows += 1;
                if chunk.len() * cols.len().max(1) >= if postgres { CHUNK_VALUES_POSTGRES } else { CHUNK_VALUES_SQLITE } {
                    Self::insert_chunk(tx, table.as_ref(), &mut chunk).await?;
                }
                continue;
            }
            Self::insert_chunk(tx, table.as_ref(), &mut chunk).await?;
            if v.get("fin").is_some() {
                break (v, before);
            }
            let name = v.get("table").and_then(Value::as_str).ok_or_else(|| corrupted("ligne inattendue"))?.to_string();
            if expected.next().copied() != Some(name.as_str()) {
                return Err(corrupted(format!("table « {name} » inattendue à cette place")));
            }
            let cols: Vec<String> = v
                .get("columns")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect())
                .unwrap_or_default();
            let ours = Self::columns(tx, &name).await?;
            if cols.len() != ours.len() || cols.iter().zip(&ours).any(|(a, b)| *a != b.0) {
                return Err(corrupted(format!("colonnes de la table « {name} » différentes de celles de la base")));
            }
            table = Some((name, ours));
        };
        if expected.next().is_some() {
            return Err(corrupted("des tables manquent"));
        }
        if trailer.get("hash").and_then(Value::as_str) != Some(hex(&before_trailer.finalize()).as_str()) {
            return Err(corrupted("empreinte du fichier différente de celle écrite à la sauvegarde"));
        }
        if trailer.get("rows").and_then(Value::as_u64) != Some(rows) {
            return Err(corrupted("nombre de lignes différent de celui écrit à la sauvegarde"));
        }
        if next(&mut hash)?.is_some_and(|l| !l.trim().is_empty()) {
            return Err(corrupted("lignes après la fin de la sauvegarde"));
        }
        sqlx::query("UPDATE data_version SET version = CASE WHEN version > $1 THEN version ELSE $1 END WHERE id = 1")
            .bind(current)
            .execute(&mut **tx)
            .await?;
        if postgres {
            // The identity goes on after the restored ids.
            sqlx::query("SELECT setval(pg_get_serial_sequence('audit', 'id'), GREATEST((SELECT MAX(id) FROM audit), (SELECT audit_last_id FROM data_version WHERE id = 1), 1))")
                .execute(&mut **tx)
                .await?;
        }
        Ok(Restored { schema, rows, from })
    }

    /// Insert the rows gathered for `table` in one statement, and empty `chunk`.
    async fn insert_chunk(tx: &mut Transaction<'static, Any>, table: Option<&(String, Vec<(String, bool)>)>, chunk: &mut Vec<Vec<Value>>) -> Result<()> {
        let Some((name, cols)) = table else { return Ok(()) };
        if chunk.is_empty() {
            return Ok(());
        }
        let postgres = tx.backend_name() == "PostgreSQL";
        let list = cols.iter().map(|c| c.0.as_str()).collect::<Vec<_>>().join(", ");
        let mut n = 0usize;
        let tuples: Vec<String> = chunk
            .iter()
            .map(|_| {
                let ps: Vec<String> = cols
                    .iter()
                    .map(|_| {
                        n += 1;
                        format!("${n}")
                    })
                    .collect();
                format!("({})", ps.join(", "))
            })
            .collect();
        let overriding = if postgres && name == "audit" { " OVERRIDING SYSTEM VALUE" } else { "" };
        let sql = format!("INSERT INTO {name} ({list}){overriding} VALUES {}", tuples.join(", "));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in chunk.iter() {
            for (v, (col, int)) in row.iter().zip(cols) {
                q = match (v, int) {
                    (Value::Null, true) => q.bind(None::<i64>),
                    (Value::Null, false) => q.bind(None::<String>),
                    (Value::Number(n), true) => q.bind(n.as_i64().ok_or_else(|| corrupted(format!("{name}.{col} : entier attendu")))?),
                    (Value::String(s), false) => q.bind(s.clone()),
                    _ => return Err(corrupted(format!("{name}.{col} : valeur du mauvais type"))),
                };
            }
        }
        q.execute(&mut **tx).await?;
        chunk.clear();
        Ok(())
    }

    /// A consistent copy of the SQLite file at `to` while others may write (`VACUUM INTO`):
    /// itself a store, opened as is with `--db`. Refused on PostgreSQL (use the logical
    /// export, or pg_dump) and onto an existing file.
    pub async fn copy_sqlite(&self, to: &std::path::Path) -> Result<()> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Invalid("la copie de fichier ne vaut que pour SQLite : sur PostgreSQL, la sauvegarde logique (.jsonl) ou pg_dump".into()));
        }
        if to.exists() {
            return Err(StoreError::Invalid(format!("{} existe déjà : cpts n'écrase pas un fichier", to.display())));
        }
        sqlx::query("VACUUM INTO $1").bind(to.display().to_string()).execute(&self.pool).await?;
        Ok(())
    }
}
