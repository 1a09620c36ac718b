//! Storage of the registry: SQLite by default (one file, WAL, created on first run) or
//! PostgreSQL when given a `postgres://` URL. One code path (sqlx `Any`), portable SQL,
//! migrations applied at start, every write in a transaction, optimistic locking on CPTS.

mod accounts;
mod audit;
mod backup;
mod contracts;
mod identities;
mod money;
mod national;
mod open;
mod reports;
mod schema;
mod sessions;
mod tokens;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use accounts::{Account, GrantRow};
pub use audit::{AuditEntry, AuditFilter, Stamp};
pub use backup::{NOT_SAVED, Restored, TABLES};
pub use identities::IdentityLink;
pub use money::{CptsMoney, MoneyRow};
pub use national::{ListRow, MoneyTotals, ScopeData};
pub use open::{ACQUIRE_TIMEOUT, CONNECT_TIMEOUT, masked};

pub use reports::{Provenance, StoredValue, ValuesTx};
pub use sessions::SessionRow;
pub use tokens::TokenRow;

use std::collections::BTreeSet;
use std::fmt;

use cpts_domain::ids::{CptsId, InseeCode};
use serde_json::json;
use cpts_domain::members::ImportPlan;
use cpts_domain::registry::{
    Identity, Mandate, Member, Profession, Role, Structure, StructureKind, Territory, check_mandates,
};
use jiff::civil::Date;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Connection, Row, Transaction};

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Errors of the store, said in French.
#[derive(Debug)]
pub enum StoreError {
    NotFound(String),
    AlreadyExists(String),
    /// Optimistic locking: somebody saved in between.
    Conflict {
        id: String,
        expected: i64,
        actual: i64,
    },
    Invalid(String),
    /// The database cannot be used: not a SQLite file, corrupted, unreachable server, another
    /// application's database, a newer schema. Said at once, nothing written.
    Open(String),
    /// The database cannot answer now, though it is ours: the server is down or restarting, the
    /// connection was lost, the pool waited too long, the disk is full. Nothing was written (the
    /// transaction is rolled back); the same request may succeed later. Said in French.
    Unavailable(String),
    Db(sqlx::Error),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NotFound(id) => write!(f, "CPTS « {id} » introuvable"),
            StoreError::AlreadyExists(id) => write!(f, "la CPTS « {id} » existe déjà"),
            StoreError::Conflict { id, expected, actual } => write!(
                f,
                "la CPTS « {id} » a été modifiée par quelqu'un d'autre entre-temps (version {actual}, vous éditiez la version {expected}) : rien n'a été enregistré ; rechargez puis recommencez"
            ),
            StoreError::Invalid(m) | StoreError::Open(m) | StoreError::Unavailable(m) => write!(f, "{m}"),
            StoreError::Db(e) => write!(f, "base de données : {e}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match open::unavailable(&e) {
            Some(m) => StoreError::Unavailable(m),
            None => StoreError::Db(e),
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A stored CPTS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CptsRecord {
    pub id: CptsId,
    pub identity: Identity,
    pub territory: Territory,
    /// The identity's version: incremented by every identity save, which must name the version
    /// it started from. Other writes (territory, members, values, contracts...) leave it alone.
    pub version: i64,
    /// The territory's version, likewise.
    pub territory_version: i64,
}

/// The départements and régions a CPTS belongs to, through its seat and its territory (one
/// spanning two départements is in both): what scopes filter on. Computed by the caller from
/// the geographic reference, stored with every identity or territory write.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Areas {
    pub departements: BTreeSet<String>,
    pub regions: BTreeSet<String>,
}

/// The CPTS a reader may see: all of them, or those named and those in the départements and
/// régions named. Turned into SQL, so rows out of scope are never loaded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Visible {
    pub all: bool,
    pub cpts: BTreeSet<String>,
    pub departements: BTreeSet<String>,
    pub regions: BTreeSet<String>,
    /// And among these CPTS only (those written since an answer was computed).
    pub among: Option<BTreeSet<String>>,
}

impl Visible {
    /// The same scope, restricted to `ids`.
    pub fn among(&self, ids: BTreeSet<String>) -> Visible {
        Visible { among: Some(ids), ..self.clone() }
    }

    pub fn everything() -> Visible {
        Visible { all: true, ..Visible::default() }
    }

    /// Just this CPTS.
    pub fn one(id: &CptsId) -> Visible {
        Visible::of([id])
    }

    /// Just these CPTS.
    pub fn of<'a>(ids: impl IntoIterator<Item = &'a CptsId>) -> Visible {
        Visible { cpts: ids.into_iter().map(ToString::to_string).collect(), ..Visible::default() }
    }

    /// A SQL condition on `column` (a CPTS id), its placeholders numbered from `first`, and the
    /// values to bind in order.
    pub(crate) fn clause(&self, column: &str, first: usize) -> (String, Vec<String>) {
        let (scope, mut values) = self.scope_clause(column, first);
        let Some(among) = &self.among else { return (scope, values) };
        if among.is_empty() {
            return ("1 = 0".into(), Vec::new());
        }
        let start = first + values.len();
        let marks = (start..start + among.len()).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ");
        values.extend(among.iter().cloned());
        (format!("({scope} AND {column} IN ({marks}))"), values)
    }

    fn scope_clause(&self, column: &str, first: usize) -> (String, Vec<String>) {
        if self.all {
            return ("1 = 1".into(), Vec::new());
        }
        let mut values: Vec<String> = Vec::new();
        let mut list = |codes: &BTreeSet<String>| {
            let start = first + values.len();
            values.extend(codes.iter().cloned());
            (start..start + codes.len()).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
        };
        let mut parts = Vec::new();
        if !self.cpts.is_empty() {
            parts.push(format!("{column} IN ({})", list(&self.cpts)));
        }
        for (kind, codes) in [("departement", &self.departements), ("region", &self.regions)] {
            if !codes.is_empty() {
                parts.push(format!(
                    "{column} IN (SELECT cpts_id FROM cpts_area WHERE kind = '{kind}' AND code IN ({}))",
                    list(codes)
                ));
            }
        }
        if parts.is_empty() {
            return ("1 = 0".into(), values);
        }
        (format!("({})", parts.join(" OR ")), values)
    }
}

/// How a process reads the store. A server reads the same pages again and again: SQLite maps
/// the file into memory (below). A one-shot command reads each page about once: the map would
/// gain it nothing, and its pages would count in the command's memory (RSS) as its own — 100
/// MB of a 2.4 M-value import, shared with the system's file cache and released by it, but
/// reported; read with read(), they stay in that cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reads {
    Repeated,
    Once,
}

/// A handle on the database: clones share its connection pool (closing one closes it for all).
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Parsed contract annexes: an annex never changes once signed, and parsing it (YAML, then
    /// checks against the rules) was most of a national alert list's time.
    annexes: national::AnnexCache,
}

fn parse<T: std::str::FromStr<Err = String>>(v: Option<String>) -> Result<Option<T>> {
    v.map(|s| s.parse().map_err(StoreError::Invalid)).transpose()
}

/// Binds the six identity columns, in the order name, legal_form, rna, siret, finess, seat.
fn bind_identity<'q>(
    q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>,
    identity: &'q Identity,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments> {
    q.bind(&identity.name)
        .bind(&identity.legal_form)
        .bind(identity.rna.as_ref().map(ToString::to_string))
        .bind(identity.siret.as_ref().map(ToString::to_string))
        .bind(identity.finess.as_ref().map(ToString::to_string))
        .bind(identity.seat.as_ref().map(ToString::to_string))
}

/// Identifiers bound per query (far within every engine's limit on parameters).
pub const IDS_PER_QUERY: usize = 500;

/// A query built by cpts from its own SQL and numbered placeholders (never user text), with
/// its values bound in order.
fn bound(sql: String, values: &[String]) -> sqlx::query::Query<'_, Any, sqlx::any::AnyArguments> {
    values.iter().fold(sqlx::query(sqlx::AssertSqlSafe(sql)), |q, v| q.bind(v))
}

fn date(s: &str) -> Result<Date> {
    s.parse().map_err(|e| StoreError::Invalid(format!("date stockée illisible « {s} » : {e}")))
}

impl Store {
    /// Open (and create, for SQLite) the database, then apply pending migrations.
    /// `url`: `sqlite://FILE` or `postgres://…`; a bare path means a SQLite file.
    /// Refused at once (`StoreError::Open`, nothing written) when the database cannot be ours:
    /// see `open`.
    pub async fn open(url: &str) -> Result<Store> {
        Store::open_with(url, Reads::Repeated).await
    }

    /// `open`, for a process that reads as `reads` says.
    pub async fn open_with(url: &str, reads: Reads) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (url, backend, file) = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (url.to_string(), Backend::Postgres, None)
        } else {
            let path = url.strip_prefix("sqlite://").unwrap_or(url);
            let file = std::path::PathBuf::from(path.split('?').next().unwrap_or(path));
            open::check_sqlite_file(&file)?;
            (format!("sqlite://{path}?mode=rwc"), Backend::Sqlite, Some(file))
        };
        let shown = file.as_ref().map_or_else(|| masked(&url), |f| f.display().to_string());
        // One connection first: its error is the real one, and the checks run before any write.
        let mut first = open::first_connection(&url, file.as_deref()).await?;
        let tables = open::user_tables(&mut first, backend == Backend::Sqlite).await?;
        let checked = schema::check(&mut first, &tables, &shown).await;
        first.close().await?;
        checked.map_err(StoreError::Open)?;
        let options = |max: u32| {
            AnyPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(open::ACQUIRE_TIMEOUT)
                // A connection back in the pool still inside a transaction is spent: when a write
                // fails with SQLITE_FULL, SQLite has already rolled the transaction back, sqlx's
                // ROLLBACK then fails and its count of open transactions stays at 1, so every
                // later write on that connection failed with « begin_with at non-zero
                // transaction depth » (seen once the disk had room again). Closed, and replaced.
                .before_acquire(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
                .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL for concurrent readers; foreign keys on; wait rather than fail on a busy file.
                        sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA busy_timeout = 5000").execute(&mut *conn).await?;
                        // Reads through a memory map of the file rather than a read() call per
                        // page (a national read scans tens of thousands of ledger lines: 15–20 ms
                        // less); an address range of up to 256 MiB, the pages the OS's cache.
                        if reads == Reads::Repeated {
                            sqlx::query("PRAGMA mmap_size = 268435456").execute(&mut *conn).await?;
                        }
                    } else {
                        // No JIT compilation: on a national read (tens of thousands of ledger
                        // lines aggregated as JSON) PostgreSQL judged it worth compiling and
                        // spent 20–40 ms doing so, more than it saved; cpts's queries are short.
                        sqlx::query("SET jit = off").execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
        };
        // Migrations on one connection of their own, closed once done. In the pool, a connection
        // opened while the schema changed could prepare a `SELECT *` on the columns it had read
        // before an ALTER; SQLite re-prepares it on the new columns when it runs, and sqlx,
        // still holding the old ones, panics reading a row: the query never answered (seen
        // with `cpts demo` on a new file under load).
        let boot = Store { pool: options(1).connect(&url).await?, backend, annexes: national::AnnexCache::default() };
        let migrated = schema::migrate(&boot).await;
        boot.pool.close().await;
        migrated?;
        let pool = options(if backend == Backend::Sqlite { 4 } else { 8 }).connect(&url).await?;
        Ok(Store { pool, backend, annexes: national::AnnexCache::default() })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): a
    /// deferred transaction that reads then writes cannot wait for another writer (SQLite
    /// refuses the upgrade with « database is locked » whatever the busy timeout), while an
    /// immediate one waits its turn. PostgreSQL locks rows as they are written.
    async fn write(&self) -> Result<Transaction<'static, Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    pub async fn close(self) {
        self.pool.close().await;
    }

    /// Create a CPTS (version 1, empty territory).
    pub async fn create_cpts(&self, stamp: &Stamp, id: &CptsId, identity: &Identity, areas: &Areas) -> Result<CptsRecord> {
        identity.check_text().map_err(StoreError::Invalid)?;
        let mut tx = self.write().await?;
        let exists = sqlx::query("SELECT 1 FROM cpts WHERE id = $1").bind(id.as_str()).fetch_optional(&mut *tx).await?;
        if exists.is_some() {
            return Err(StoreError::AlreadyExists(id.to_string()));
        }
        let q = sqlx::query(
            "INSERT INTO cpts (name, legal_form, rna, siret, finess, seat, id, updated_at, version, territory_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, 1)",
        );
        bind_identity(q, identity)
            .bind(id.as_str())
            .bind(stamp.at.to_string())
            .execute(&mut *tx)
            .await
            .map_err(|e| match &e {
                // Two creations at once: the second finds the first's row at insert time.
                sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::AlreadyExists(id.to_string()),
                _ => StoreError::from(e),
            })?;
        let record = CptsRecord {
            id: id.clone(),
            identity: identity.clone(),
            territory: Territory { communes: BTreeSet::new() },
            version: 1,
            territory_version: 1,
        };
        Store::write_areas(&mut tx, id, areas).await?;
        Store::revision(&mut tx, stamp, &record).await?;
        Store::audit(&mut tx, stamp, Some(id), None, Some(json!({ "identite": identity }))).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// The identity columns of a `cpts` or `cpts_revision` row.
    fn identity_of(row: &AnyRow) -> Result<Identity> {
        Ok(Identity {
            name: row.try_get("name")?,
            legal_form: row.try_get("legal_form")?,
            rna: parse(row.try_get("rna")?)?,
            siret: parse(row.try_get("siret")?)?,
            finess: parse(row.try_get("finess")?)?,
            seat: parse(row.try_get("seat")?)?,
        })
    }

    /// A row of `records_sql`: the CPTS with its communes (space-separated).
    fn record(row: &AnyRow) -> Result<CptsRecord> {
        let codes: Option<String> = row.try_get("communes")?;
        Ok(CptsRecord {
            id: row.try_get::<String, _>("id")?.parse().map_err(StoreError::Invalid)?,
            identity: Store::identity_of(row)?,
            territory: Store::communes(codes.unwrap_or_default().split_whitespace().map(str::to_string))?,
            version: row.try_get("version")?,
            territory_version: row.try_get("territory_version")?,
        })
    }

    /// The CPTS matching `clause` (on `c.id`), each with its communes aggregated by the
    /// database: one row per CPTS, whatever the size of its territory.
    fn records_sql(&self, clause: &str) -> String {
        let communes = match self.backend {
            Backend::Sqlite => "group_concat(t.code, ' ')",
            Backend::Postgres => "string_agg(t.code, ' ')",
        };
        format!(
            "SELECT c.*, (SELECT {communes} FROM territory t WHERE t.cpts_id = c.id) AS communes FROM cpts c WHERE {clause} ORDER BY c.id"
        )
    }

    fn communes(codes: impl IntoIterator<Item = String>) -> Result<Territory> {
        let communes = codes
            .into_iter()
            .map(|c| c.parse::<InseeCode>().map_err(StoreError::Invalid))
            .collect::<Result<BTreeSet<_>>>()?;
        Ok(Territory { communes })
    }

    pub async fn get_cpts(&self, id: &CptsId) -> Result<CptsRecord> {
        self.list_cpts_in(&Visible::one(id)).await?.pop().ok_or_else(|| StoreError::NotFound(id.to_string()))
    }

    /// The CPTS's identity and territory as they were recorded at `at` (None: it did not exist
    /// yet). Versions are those of today's record.
    pub async fn cpts_as_of(&self, id: &CptsId, at: jiff::Timestamp) -> Result<Option<CptsRecord>> {
        let now = self.get_cpts(id).await?;
        let row = sqlx::query("SELECT * FROM cpts_revision WHERE cpts_id = $1 AND recorded_at <= $2 ORDER BY rev DESC LIMIT 1")
            .bind(id.as_str())
            .bind(at.to_string())
            .fetch_optional(&self.pool)
            .await?;
        let Some(r) = row else { return Ok(None) };
        let communes: String = r.try_get("communes")?;
        let territory = Store::communes(communes.split_whitespace().map(str::to_string))?;
        Ok(Some(CptsRecord { identity: Store::identity_of(&r)?, territory, ..now }))
    }

    /// Every CPTS, with its territory, in id order.
    pub async fn list_cpts(&self) -> Result<Vec<CptsRecord>> {
        self.list_cpts_in(&Visible::everything()).await
    }

    /// The CPTS visible in a scope, with their territories: one query whatever their number
    /// (each CPTS's communes aggregated by the database, one row per CPTS).
    pub async fn list_cpts_in(&self, visible: &Visible) -> Result<Vec<CptsRecord>> {
        let (clause, values) = visible.clause("c.id", 1);
        let rows = bound(self.records_sql(&clause), &values).fetch_all(&self.pool).await?;
        rows.iter().map(Store::record).collect()
    }

    /// The areas (départements, régions) of every visible CPTS.
    pub async fn areas_in(&self, visible: &Visible) -> Result<std::collections::BTreeMap<String, Areas>> {
        let (clause, values) = visible.clause("cpts_id", 1);
        let sql = format!("SELECT cpts_id, kind, code FROM cpts_area WHERE {clause}");
        let mut out: std::collections::BTreeMap<String, Areas> = std::collections::BTreeMap::new();
        for r in bound(sql, &values).fetch_all(&self.pool).await? {
            let a = out.entry(r.try_get("cpts_id")?).or_default();
            let code: String = r.try_get("code")?;
            match r.try_get::<String, _>("kind")?.as_str() {
                "departement" => a.departements.insert(code),
                _ => a.regions.insert(code),
            };
        }
        Ok(out)
    }

    /// The CPTS's areas.
    pub async fn areas(&self, id: &CptsId) -> Result<Areas> {
        Ok(self.areas_in(&Visible::one(id)).await?.remove(id.as_str()).unwrap_or_default())
    }

    /// Replace the areas of every CPTS given (their seat or territory, or the reference, changed).
    pub async fn set_areas(&self, stamp: &Stamp, all: &[(CptsId, Areas)]) -> Result<()> {
        let mut tx = self.write().await?;
        for (id, areas) in all {
            Store::lock(&mut tx, self.backend, id).await?;
            Store::write_areas(&mut tx, id, areas).await?;
            Store::audit(&mut tx, stamp, Some(id), None, Some(areas_json(areas))).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn write_areas(tx: &mut Transaction<'_, Any>, id: &CptsId, areas: &Areas) -> Result<()> {
        sqlx::query("DELETE FROM cpts_area WHERE cpts_id = $1").bind(id.as_str()).execute(&mut **tx).await?;
        for (kind, codes) in [("departement", &areas.departements), ("region", &areas.regions)] {
            for code in codes {
                sqlx::query("INSERT INTO cpts_area (cpts_id, kind, code) VALUES ($1, $2, $3)")
                    .bind(id.as_str())
                    .bind(kind)
                    .bind(code)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        Ok(())
    }

    /// Keep the new state of a CPTS's identity and territory, for reading it as of a date.
    async fn revision(tx: &mut Transaction<'_, Any>, stamp: &Stamp, r: &CptsRecord) -> Result<()> {
        let row = sqlx::query("SELECT COALESCE(MAX(rev), 0) AS n FROM cpts_revision WHERE cpts_id = $1")
            .bind(r.id.as_str())
            .fetch_one(&mut **tx)
            .await?;
        let rev = row.try_get::<i64, _>("n")? + 1;
        let communes: Vec<&str> = r.territory.communes.iter().map(InseeCode::as_str).collect();
        let q = sqlx::query(
            "INSERT INTO cpts_revision (name, legal_form, rna, siret, finess, seat, cpts_id, rev, recorded_at, communes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        );
        bind_identity(q, &r.identity)
            .bind(r.id.as_str())
            .bind(rev)
            .bind(stamp.at.to_string())
            .bind(communes.join(" "))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Take the CPTS for a write: it must exist; on PostgreSQL its row is locked until the end
    /// of the transaction, so two writes to one CPTS wait for each other instead of conflicting
    /// (on SQLite, `BEGIN IMMEDIATE` already serializes writers).
    async fn lock(tx: &mut Transaction<'_, Any>, backend: Backend, id: &CptsId) -> Result<()> {
        Store::lock_many(tx, backend, std::slice::from_ref(id)).await
    }

    /// `lock` for many CPTS, one query per `IDS_PER_QUERY` of them; each must exist (else
    /// « introuvable », the first missing one named).
    async fn lock_many(tx: &mut Transaction<'_, Any>, backend: Backend, ids: &[CptsId]) -> Result<()> {
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let (clause, values) = Visible::of(chunk).clause("id", 1);
            let sql = match backend {
                Backend::Sqlite => format!("SELECT id FROM cpts WHERE {clause}"),
                // In one order, so that two writers locking overlapping sets never wait on each other in a cycle.
                Backend::Postgres => format!("SELECT id FROM cpts WHERE {clause} ORDER BY id FOR UPDATE"),
            };
            let found: BTreeSet<String> =
                bound(sql, &values).fetch_all(&mut **tx).await?.iter().map(|r| r.try_get("id")).collect::<std::result::Result<_, _>>()?;
            if let Some(missing) = chunk.iter().find(|id| !found.contains(id.as_str())) {
                return Err(StoreError::NotFound(missing.to_string()));
            }
        }
        Ok(())
    }

    /// The CPTS, locked for a write that must start from `expected` of the version `column`.
    async fn claim_version(
        &self,
        tx: &mut Transaction<'_, Any>,
        stamp: &Stamp,
        id: &CptsId,
        column: &str,
        expected: i64,
    ) -> Result<CptsRecord> {
        Store::lock(tx, self.backend, id).await?;
        let row = bound(self.records_sql("c.id = $1"), &[id.to_string()]).fetch_one(&mut **tx).await?;
        let record = Store::record(&row)?;
        let actual = if column == "version" { record.version } else { record.territory_version };
        if actual != expected {
            return Err(StoreError::Conflict { id: id.to_string(), expected, actual });
        }
        // `column` is one of ours, never user text.
        let sql = format!("UPDATE cpts SET {column} = {column} + 1, updated_at = $1 WHERE id = $2");
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(stamp.at.to_string()).bind(id.as_str()).execute(&mut **tx).await?;
        Ok(record)
    }

    /// Save a new identity; refused if the identity changed since `expected_version`.
    pub async fn update_identity(
        &self,
        stamp: &Stamp,
        id: &CptsId,
        expected_version: i64,
        identity: &Identity,
        areas: &Areas,
    ) -> Result<i64> {
        identity.check_text().map_err(StoreError::Invalid)?;
        let mut tx = self.write().await?;
        let before = self.claim_version(&mut tx, stamp, id, "version", expected_version).await?;
        let q = sqlx::query(
            "UPDATE cpts SET name = $1, legal_form = $2, rna = $3, siret = $4, finess = $5, seat = $6 WHERE id = $7",
        );
        bind_identity(q, identity).bind(id.as_str()).execute(&mut *tx).await?;
        Store::write_areas(&mut tx, id, areas).await?;
        let after = CptsRecord { identity: identity.clone(), version: before.version + 1, ..before.clone() };
        Store::revision(&mut tx, stamp, &after).await?;
        Store::audit(
            &mut tx,
            stamp,
            Some(id),
            Some(json!({ "identite": before.identity })),
            Some(json!({ "identite": identity })),
        )
        .await?;
        tx.commit().await?;
        Ok(after.version)
    }

    /// Replace the territory; refused if the territory changed since `expected_version`.
    pub async fn set_territory(
        &self,
        stamp: &Stamp,
        id: &CptsId,
        expected_version: i64,
        t: &Territory,
        areas: &Areas,
    ) -> Result<i64> {
        let mut tx = self.write().await?;
        let before = self.claim_version(&mut tx, stamp, id, "territory_version", expected_version).await?;
        sqlx::query("DELETE FROM territory WHERE cpts_id = $1").bind(id.as_str()).execute(&mut *tx).await?;
        for code in &t.communes {
            sqlx::query("INSERT INTO territory (cpts_id, code) VALUES ($1, $2)")
                .bind(id.as_str())
                .bind(code.as_str())
                .execute(&mut *tx)
                .await?;
        }
        Store::write_areas(&mut tx, id, areas).await?;
        let after = CptsRecord { territory: t.clone(), territory_version: before.territory_version + 1, ..before.clone() };
        Store::revision(&mut tx, stamp, &after).await?;
        Store::audit(
            &mut tx,
            stamp,
            Some(id),
            Some(json!({ "territoire": before.territory })),
            Some(json!({ "territoire": t })),
        )
        .await?;
        tx.commit().await?;
        Ok(after.territory_version)
    }

    /// Every CPTS with its territory (for overlap reports).
    pub async fn territories(&self) -> Result<Vec<(CptsId, String, Territory)>> {
        Ok(self.list_cpts().await?.into_iter().map(|r| (r.id, r.identity.name, r.territory)).collect())
    }

    /// Add members in one transaction: all land, or none (a duplicate RPPS refuses the whole import).
    pub async fn import_members(&self, stamp: &Stamp, id: &CptsId, members: &[Member]) -> Result<usize> {
        self.import_members_with_progress(stamp, id, members, |_| {}).await
    }

    /// As `import_members`, calling `progress` with the rows written so far (not yet committed).
    pub async fn import_members_with_progress(
        &self,
        stamp: &Stamp,
        id: &CptsId,
        members: &[Member],
        progress: impl FnMut(usize),
    ) -> Result<usize> {
        let plan = ImportPlan { added: members.iter().cloned().enumerate().collect(), ..ImportPlan::default() };
        self.apply_member_import(stamp, id, &plan, progress).await?;
        Ok(members.len())
    }

    /// Apply an import plan (`cpts_domain::members::plan_import`) in one transaction: all of it, or
    /// nothing. Each corrected or ended member's previous state goes to the history first; a member
    /// changed by someone else since the plan was made refuses the whole plan.
    pub async fn apply_member_import(
        &self,
        stamp: &Stamp,
        id: &CptsId,
        plan: &ImportPlan,
        mut progress: impl FnMut(usize),
    ) -> Result<()> {
        for (n, m) in plan
            .added
            .iter()
            .map(|(_, m)| m)
            .chain(plan.changed.iter().chain(&plan.ended).map(|c| &c.after))
            .enumerate()
        {
            m.check_text().map_err(|e| {
                StoreError::Invalid(format!("membre n° {} : {e} ; import refusé, rien n'a été enregistré", n + 1))
            })?;
        }
        let mut tx = self.write().await?;
        Store::lock(&mut tx, self.backend, id).await?;
        for c in plan.changed.iter().chain(&plan.ended) {
            let now = Store::member_in(&mut tx, id, c.seq).await?;
            if now.as_ref() != Some(&c.before) {
                return Err(StoreError::Invalid(format!(
                    "le membre n° {} a été modifié entre-temps : rien n'a été enregistré ; recommencez",
                    c.seq
                )));
            }
            Store::archive_member(&mut tx, stamp, id, c.seq, "modification").await?;
            Store::write_member(&mut tx, id, c.seq, &c.after).await?;
        }
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS n FROM member WHERE cpts_id = $1")
            .bind(id.as_str())
            .fetch_one(&mut *tx)
            .await?;
        let mut seq: i64 = row.try_get("n")?;
        // Multi-row inserts: far fewer round trips; under both engines' parameter limits.
        let mut written = 0usize;
        let added: Vec<&Member> = plan.added.iter().map(|(_, m)| m).collect();
        for chunk in added.chunks(500) {
            let sql = format!(
                "INSERT INTO member (cpts_id, seq, last_name, first_name, profession, rpps, commune, joined, left_on) VALUES {}",
                reports::placeholders(self.backend, chunk.len(), 9)
            );
            // Built only from placeholders: no user text goes into the SQL.
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for m in chunk {
                seq += 1;
                q = bind_member(q.bind(id.as_str()).bind(seq), m);
            }
            q.execute(&mut *tx).await.map_err(|e| match &e {
                sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Invalid(
                    "RPPS déjà présent parmi les membres de cette CPTS : import refusé, rien n'a été enregistré".into(),
                ),
                _ => StoreError::from(e),
            })?;
            written += chunk.len();
            progress(written);
        }
        let changed = |cs: &[cpts_domain::members::MemberChange]| -> Vec<serde_json::Value> {
            cs.iter().map(|c| json!({ "numero": c.seq, "avant": c.before, "apres": c.after })).collect()
        };
        Store::audit(
            &mut tx,
            stamp,
            Some(id),
            None,
            Some(json!({
                "ajoutes": plan.added.iter().map(|(_, m)| m).collect::<Vec<_>>(),
                "modifies": changed(&plan.changed),
                "partis": changed(&plan.ended),
            })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One stored member, inside a transaction.
    async fn member_in(tx: &mut Transaction<'_, Any>, id: &CptsId, seq: i64) -> Result<Option<Member>> {
        let row = sqlx::query("SELECT * FROM member WHERE cpts_id = $1 AND seq = $2")
            .bind(id.as_str())
            .bind(seq)
            .fetch_optional(&mut **tx)
            .await?;
        row.as_ref().map(member_of).transpose()
    }

    /// One stored member by its number.
    pub async fn member(&self, id: &CptsId, seq: i64) -> Result<Option<Member>> {
        let row = sqlx::query("SELECT * FROM member WHERE cpts_id = $1 AND seq = $2")
            .bind(id.as_str())
            .bind(seq)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(member_of).transpose()
    }

    /// Copy a member's current state to its history (before a correction or a removal).
    async fn archive_member(tx: &mut Transaction<'_, Any>, stamp: &Stamp, id: &CptsId, seq: i64, action: &str) -> Result<()> {
        let row = sqlx::query("SELECT COALESCE(MAX(rev), 0) AS n FROM member_history WHERE cpts_id = $1 AND seq = $2")
            .bind(id.as_str())
            .bind(seq)
            .fetch_one(&mut **tx)
            .await?;
        let rev = row
            .try_get::<i64, _>("n")?
            .checked_add(1)
            .ok_or_else(|| StoreError::Invalid("historique du membre plein".into()))?;
        sqlx::query(
            "INSERT INTO member_history (cpts_id, seq, rev, action, recorded_at, last_name, first_name, profession, rpps, commune, joined, left_on)
             SELECT cpts_id, seq, $3, $4, $5, last_name, first_name, profession, rpps, commune, joined, left_on FROM member WHERE cpts_id = $1 AND seq = $2",
        )
        .bind(id.as_str())
        .bind(seq)
        .bind(rev)
        .bind(action)
        .bind(stamp.at.to_string())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Overwrite a member's row (its previous state archived by the caller).
    async fn write_member(tx: &mut Transaction<'_, Any>, id: &CptsId, seq: i64, m: &Member) -> Result<()> {
        bind_member(
            sqlx::query(
                "UPDATE member SET last_name = $1, first_name = $2, profession = $3, rpps = $4, commune = $5, joined = $6, left_on = $7 WHERE cpts_id = $8 AND seq = $9",
            ),
            m,
        )
        .bind(id.as_str())
        .bind(seq)
        .execute(&mut **tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Invalid(format!(
                "RPPS déjà porté par un autre membre de cette CPTS : membre n° {seq} non modifié"
            )),
            _ => StoreError::from(e),
        })?;
        Ok(())
    }

    /// Correct a member (departure included); its previous state is kept in the history.
    pub async fn update_member(&self, stamp: &Stamp, id: &CptsId, seq: i64, m: &Member) -> Result<()> {
        m.check_text().map_err(StoreError::Invalid)?;
        let mut tx = self.write().await?;
        Store::lock(&mut tx, self.backend, id).await?;
        let before = Store::member_in(&mut tx, id, seq).await?.ok_or_else(|| no_member(id, seq))?;
        if before == *m {
            return Ok(());
        }
        Store::archive_member(&mut tx, stamp, id, seq, "modification").await?;
        Store::write_member(&mut tx, id, seq, m).await?;
        Store::audit(
            &mut tx,
            stamp,
            Some(id),
            Some(json!({ "numero": seq, "membre": before })),
            Some(json!({ "numero": seq, "membre": m })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Remove a member entered by mistake; its last state is kept in the history.
    pub async fn remove_member(&self, stamp: &Stamp, id: &CptsId, seq: i64) -> Result<Member> {
        let mut tx = self.write().await?;
        Store::lock(&mut tx, self.backend, id).await?;
        let before = Store::member_in(&mut tx, id, seq).await?.ok_or_else(|| no_member(id, seq))?;
        Store::archive_member(&mut tx, stamp, id, seq, "suppression").await?;
        sqlx::query("DELETE FROM member WHERE cpts_id = $1 AND seq = $2")
            .bind(id.as_str())
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        Store::audit(&mut tx, stamp, Some(id), Some(json!({ "numero": seq, "membre": before })), None).await?;
        tx.commit().await?;
        Ok(before)
    }

    /// The previous states of the CPTS's members, by member, oldest first.
    pub async fn member_history(&self, id: &CptsId) -> Result<Vec<MemberRevision>> {
        let rows = sqlx::query("SELECT * FROM member_history WHERE cpts_id = $1 ORDER BY seq, rev")
            .bind(id.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let action: String = r.try_get("action")?;
                Ok(MemberRevision {
                    seq: r.try_get("seq")?,
                    removed: action == "suppression",
                    recorded_at: r.try_get("recorded_at")?,
                    before: member_of(r)?,
                })
            })
            .collect()
    }

    /// The rows of one of our per-CPTS tables, in order.
    async fn rows_of(&self, table: &str, id: &CptsId) -> Result<Vec<AnyRow>> {
        // `table` is one of ours, never user text.
        let sql = format!("SELECT * FROM {table} WHERE cpts_id = $1 ORDER BY seq");
        Ok(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_all(&self.pool).await?)
    }

    /// The `joined` and `left_on` columns.
    fn membership_dates(r: &AnyRow) -> Result<(Date, Option<Date>)> {
        Ok((
            date(&r.try_get::<String, _>("joined")?)?,
            r.try_get::<Option<String>, _>("left_on")?.map(|s| date(&s)).transpose()?,
        ))
    }

    pub async fn members(&self, id: &CptsId) -> Result<Vec<Member>> {
        Ok(self.numbered_members(id).await?.into_iter().map(|(_, m)| m).collect())
    }

    /// The members with their numbers (for corrections), former members included.
    pub async fn numbered_members(&self, id: &CptsId) -> Result<Vec<(i64, Member)>> {
        let rows = self.rows_of("member", id).await?;
        rows.iter().map(|r| Ok((r.try_get("seq")?, member_of(r)?))).collect()
    }

    pub async fn count_members(&self, id: &CptsId) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM member WHERE cpts_id = $1")
            .bind(id.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    async fn next_seq(tx: &mut Transaction<'_, Any>, table: &str, id: &CptsId) -> Result<i64> {
        // `table` is one of ours, never user text.
        let sql = format!("SELECT COALESCE(MAX(seq), 0) AS n FROM {table} WHERE cpts_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_one(&mut **tx).await?;
        Ok(row.try_get::<i64, _>("n")? + 1)
    }

    /// Add a member structure; returns its number.
    pub async fn add_structure(&self, stamp: &Stamp, id: &CptsId, s: &Structure) -> Result<i64> {
        s.check_text().map_err(StoreError::Invalid)?;
        let mut tx = self.write().await?;
        Store::lock(&mut tx, self.backend, id).await?;
        let seq = Store::next_seq(&mut tx, "structure", id).await?;
        sqlx::query("INSERT INTO structure (cpts_id, seq, name, kind, finess, commune, joined, left_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(id.as_str())
            .bind(seq)
            .bind(&s.name)
            .bind(s.kind.code())
            .bind(s.finess.as_ref().map(ToString::to_string))
            .bind(s.commune.to_string())
            .bind(s.joined.to_string())
            .bind(s.left.map(|d| d.to_string()))
            .execute(&mut *tx)
            .await?;
        Store::audit(&mut tx, stamp, Some(id), None, Some(json!({ "numero": seq, "structure": s }))).await?;
        tx.commit().await?;
        Ok(seq)
    }

    pub async fn structures(&self, id: &CptsId) -> Result<Vec<(i64, Structure)>> {
        let rows = self.rows_of("structure", id).await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                let (joined, left) = Store::membership_dates(r)?;
                Ok((
                    r.try_get("seq")?,
                    Structure {
                        name: r.try_get("name")?,
                        kind: StructureKind::from_code(&kind).ok_or_else(|| {
                            StoreError::Invalid(format!("type de structure stocké inconnu « {kind} »"))
                        })?,
                        finess: parse(r.try_get("finess")?)?,
                        commune: r.try_get::<String, _>("commune")?.parse().map_err(StoreError::Invalid)?,
                        joined,
                        left,
                    },
                ))
            })
            .collect()
    }

    async fn mandates_in(conn: &mut sqlx::AnyConnection, id: &CptsId) -> Result<Vec<(i64, Mandate)>> {
        let rows = sqlx::query("SELECT * FROM mandate WHERE cpts_id = $1 ORDER BY from_date, seq")
            .bind(id.as_str())
            .fetch_all(&mut *conn)
            .await?;
        rows.iter()
            .map(|r| {
                let role: String = r.try_get("role")?;
                Ok((
                    r.try_get("seq")?,
                    Mandate {
                        role: Role::from_code(&role)
                            .ok_or_else(|| StoreError::Invalid(format!("rôle stocké inconnu « {role} »")))?,
                        person: r.try_get("person")?,
                        from: date(&r.try_get::<String, _>("from_date")?)?,
                        until: r.try_get::<Option<String>, _>("until_date")?.map(|s| date(&s)).transpose()?,
                    },
                ))
            })
            .collect()
    }

    /// Every mandate, in the order they started: the governance history.
    pub async fn mandates(&self, id: &CptsId) -> Result<Vec<(i64, Mandate)>> {
        let mut conn = self.pool.acquire().await?;
        Store::mandates_in(&mut conn, id).await
    }

    /// Add a mandate; refused (nothing written) if it breaks the governance rules.
    pub async fn add_mandate(&self, stamp: &Stamp, id: &CptsId, m: &Mandate) -> Result<i64> {
        m.check_text().map_err(StoreError::Invalid)?;
        let mut tx = self.write().await?;
        Store::lock(&mut tx, self.backend, id).await?;
        let mut all: Vec<Mandate> = Store::mandates_in(&mut tx, id).await?.into_iter().map(|(_, m)| m).collect();
        all.push(m.clone());
        check_mandates(&all).map_err(StoreError::Invalid)?;
        let seq = Store::next_seq(&mut tx, "mandate", id).await?;
        sqlx::query(
            "INSERT INTO mandate (cpts_id, seq, role, person, from_date, until_date) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.as_str())
        .bind(seq)
        .bind(m.role.code())
        .bind(&m.person)
        .bind(m.from.to_string())
        .bind(m.until.map(|d| d.to_string()))
        .execute(&mut *tx)
        .await?;
        Store::audit(&mut tx, stamp, Some(id), None, Some(json!({ "numero": seq, "mandat": m }))).await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// Close a mandate on `until` (kept in the history).
    pub async fn end_mandate(&self, stamp: &Stamp, id: &CptsId, seq: i64, until: Date) -> Result<()> {
        let mut tx = self.write().await?;
        Store::lock(&mut tx, self.backend, id).await?;
        let mut all = Store::mandates_in(&mut tx, id).await?;
        let target = all
            .iter_mut()
            .find(|(s, _)| *s == seq)
            .ok_or_else(|| StoreError::Invalid(format!("mandat n° {seq} introuvable")))?;
        let before = target.1.clone();
        target.1.until = Some(until);
        let after = target.1.clone();
        check_mandates(&all.into_iter().map(|(_, m)| m).collect::<Vec<_>>()).map_err(StoreError::Invalid)?;
        sqlx::query("UPDATE mandate SET until_date = $1 WHERE cpts_id = $2 AND seq = $3")
            .bind(until.to_string())
            .bind(id.as_str())
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        Store::audit(
            &mut tx,
            stamp,
            Some(id),
            Some(json!({ "numero": seq, "mandat": before })),
            Some(json!({ "numero": seq, "mandat": after })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A member's previous state, kept when it was corrected or removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRevision {
    pub seq: i64,
    /// Removed (else corrected) at `recorded_at`.
    pub removed: bool,
    pub recorded_at: String,
    pub before: Member,
}

fn areas_json(a: &Areas) -> serde_json::Value {
    json!({ "departements": a.departements, "regions": a.regions })
}

fn no_member(id: &CptsId, seq: i64) -> StoreError {
    StoreError::Invalid(format!("membre n° {seq} introuvable dans la CPTS « {id} »"))
}

/// A member from a `member` or `member_history` row.
fn member_of(r: &AnyRow) -> Result<Member> {
    let profession: String = r.try_get("profession")?;
    let (joined, left) = Store::membership_dates(r)?;
    Ok(Member {
        last_name: r.try_get("last_name")?,
        first_name: r.try_get("first_name")?,
        profession: Profession::from_code(&profession)
            .ok_or_else(|| StoreError::Invalid(format!("profession stockée inconnue « {profession} »")))?,
        rpps: parse(r.try_get("rpps")?)?,
        commune: r.try_get::<String, _>("commune")?.parse().map_err(StoreError::Invalid)?,
        joined,
        left,
    })
}

/// The member columns after `cpts_id, seq`, in table order.
fn bind_member<'q>(
    q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>,
    m: &'q Member,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments> {
    q.bind(&m.last_name)
        .bind(&m.first_name)
        .bind(m.profession.code())
        .bind(m.rpps.as_ref().map(|r| r.to_string()))
        .bind(m.commune.to_string())
        .bind(m.joined.to_string())
        .bind(m.left.map(|d| d.to_string()))
}
