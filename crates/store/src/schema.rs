//! Schema migrations, applied in order at start, each in its own transaction.
//! The SQL is portable between SQLite and PostgreSQL (TEXT, BIGINT; dates as ISO-8601 text).

use sqlx::{AnyConnection, Row};

/// (version, name, statements). Never edit a released migration: add a new one.
const MIGRATIONS: &[(i64, &str, &[&str])] = &[
    (
        1,
        "registry",
        &[
            "CREATE TABLE cpts (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            legal_form TEXT NOT NULL,
            rna TEXT,
            siret TEXT,
            finess TEXT,
            seat TEXT,
            version BIGINT NOT NULL,
            updated_at TEXT NOT NULL
        )",
            "CREATE TABLE territory (
            cpts_id TEXT NOT NULL REFERENCES cpts(id) ON DELETE CASCADE,
            code TEXT NOT NULL,
            PRIMARY KEY (cpts_id, code)
        )",
            "CREATE INDEX territory_by_code ON territory (code)",
            "CREATE TABLE member (
            cpts_id TEXT NOT NULL REFERENCES cpts(id) ON DELETE CASCADE,
            seq BIGINT NOT NULL,
            last_name TEXT NOT NULL,
            first_name TEXT NOT NULL,
            profession TEXT NOT NULL,
            rpps TEXT,
            commune TEXT NOT NULL,
            joined TEXT NOT NULL,
            left_on TEXT,
            PRIMARY KEY (cpts_id, seq)
        )",
            "CREATE UNIQUE INDEX member_rpps ON member (cpts_id, rpps)",
        ],
    ),
    (
        2,
        "structures and governance",
        &[
            "CREATE TABLE structure (
            cpts_id TEXT NOT NULL REFERENCES cpts(id) ON DELETE CASCADE,
            seq BIGINT NOT NULL,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            finess TEXT,
            commune TEXT NOT NULL,
            joined TEXT NOT NULL,
            left_on TEXT,
            PRIMARY KEY (cpts_id, seq)
        )",
            "CREATE TABLE mandate (
            cpts_id TEXT NOT NULL REFERENCES cpts(id) ON DELETE CASCADE,
            seq BIGINT NOT NULL,
            role TEXT NOT NULL,
            person TEXT NOT NULL,
            from_date TEXT NOT NULL,
            until_date TEXT,
            PRIMARY KEY (cpts_id, seq)
        )",
        ],
    ),
    (
        3,
        "lifecycle, contracts, ledger, conventions",
        &[
            "CREATE TABLE lifecycle_event (
            cpts_id TEXT NOT NULL REFERENCES cpts(id) ON DELETE CASCADE,
            seq BIGINT NOT NULL,
            step TEXT NOT NULL,
            stage TEXT NOT NULL,
            event_date TEXT NOT NULL,
            actor TEXT NOT NULL,
            by_name TEXT NOT NULL,
            document TEXT,
            note TEXT,
            signatories TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            PRIMARY KEY (cpts_id, seq)
        )",
            "CREATE TABLE statutes (
            cpts_id TEXT PRIMARY KEY REFERENCES cpts(id) ON DELETE CASCADE,
            checked_on TEXT NOT NULL,
            document TEXT
        )",
            "CREATE TABLE contract (
            cpts_id TEXT NOT NULL REFERENCES cpts(id) ON DELETE CASCADE,
            seq BIGINT NOT NULL,
            annex TEXT NOT NULL,
            signed TEXT NOT NULL,
            cpam TEXT NOT NULL,
            ars TEXT NOT NULL,
            terminated TEXT,
            termination_reason TEXT,
            version BIGINT NOT NULL,
            recorded_at TEXT NOT NULL,
            PRIMARY KEY (cpts_id, seq)
        )",
            "CREATE TABLE mission_progress (
            cpts_id TEXT NOT NULL,
            contract_seq BIGINT NOT NULL,
            mission TEXT NOT NULL,
            started TEXT,
            deployed TEXT,
            PRIMARY KEY (cpts_id, contract_seq, mission),
            FOREIGN KEY (cpts_id, contract_seq) REFERENCES contract(cpts_id, seq) ON DELETE CASCADE
        )",
            "CREATE TABLE amendment (
            cpts_id TEXT NOT NULL,
            contract_seq BIGINT NOT NULL,
            seq BIGINT NOT NULL,
            effective TEXT NOT NULL,
            text TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            PRIMARY KEY (cpts_id, contract_seq, seq),
            FOREIGN KEY (cpts_id, contract_seq) REFERENCES contract(cpts_id, seq) ON DELETE CASCADE
        )",
            "CREATE TABLE year_release (
            cpts_id TEXT NOT NULL,
            contract_seq BIGINT NOT NULL,
            year BIGINT NOT NULL,
            released_on TEXT NOT NULL,
            PRIMARY KEY (cpts_id, contract_seq, year),
            FOREIGN KEY (cpts_id, contract_seq) REFERENCES contract(cpts_id, seq) ON DELETE CASCADE
        )",
            "CREATE TABLE convention (
            cpts_id TEXT NOT NULL REFERENCES cpts(id) ON DELETE CASCADE,
            seq BIGINT NOT NULL,
            kind TEXT NOT NULL,
            funder TEXT NOT NULL,
            purpose TEXT NOT NULL,
            amount BIGINT NOT NULL,
            start_on TEXT NOT NULL,
            end_on TEXT NOT NULL,
            deliverables TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            PRIMARY KEY (cpts_id, seq)
        )",
            "CREATE TABLE ledger_line (
            cpts_id TEXT NOT NULL REFERENCES cpts(id) ON DELETE CASCADE,
            id BIGINT NOT NULL,
            contract_seq BIGINT,
            year BIGINT,
            component TEXT,
            kind TEXT,
            convention_seq BIGINT,
            installment BIGINT,
            funder TEXT NOT NULL,
            due TEXT NOT NULL,
            amount BIGINT NOT NULL,
            paid BIGINT NOT NULL,
            cancelled_on TEXT,
            explanation TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (cpts_id, id)
        )",
            "CREATE TABLE payment (
            cpts_id TEXT NOT NULL,
            line_id BIGINT NOT NULL,
            seq BIGINT NOT NULL,
            paid_on TEXT NOT NULL,
            amount BIGINT NOT NULL,
            recorded_at TEXT NOT NULL,
            PRIMARY KEY (cpts_id, line_id, seq),
            FOREIGN KEY (cpts_id, line_id) REFERENCES ledger_line(cpts_id, id) ON DELETE CASCADE
        )",
        ],
    ),
    (
        4,
        "indicator values, yearly results and activity reports",
        &[
            // Who entered a set of values, how (typed or imported from which file), when.
            "CREATE TABLE value_batch (
            id BIGINT PRIMARY KEY,
            source TEXT NOT NULL,
            file TEXT,
            by_name TEXT NOT NULL,
            role TEXT NOT NULL,
            rows_count BIGINT NOT NULL,
            recorded_at TEXT NOT NULL
        )",
            // Batch numbers come from one counter row: updating it serializes imports, so two
            // imports for different CPTS never take the same number.
            "CREATE TABLE value_batch_counter (n BIGINT NOT NULL)",
            "INSERT INTO value_batch_counter (n) VALUES (0)",
            // Values are never overwritten: a correction marks the previous row replaced.
            "CREATE TABLE indicator_value (
            cpts_id TEXT NOT NULL REFERENCES cpts(id) ON DELETE CASCADE,
            indicator TEXT NOT NULL,
            period TEXT NOT NULL,
            value TEXT NOT NULL,
            numerator TEXT,
            denominator TEXT,
            batch BIGINT NOT NULL REFERENCES value_batch(id),
            replaced_by BIGINT REFERENCES value_batch(id)
        )",
            "CREATE UNIQUE INDEX indicator_value_current ON indicator_value (cpts_id, indicator, period) WHERE replaced_by IS NULL",
            "ALTER TABLE year_release ADD COLUMN crisis_plan BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE year_release ADD COLUMN crisis_declared BIGINT NOT NULL DEFAULT 0",
            // The results of the validated report the engine computes the year with.
            "CREATE TABLE year_result (
            cpts_id TEXT NOT NULL,
            contract_seq BIGINT NOT NULL,
            year BIGINT NOT NULL,
            indicator TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (cpts_id, contract_seq, year, indicator),
            FOREIGN KEY (cpts_id, contract_seq, year) REFERENCES year_release(cpts_id, contract_seq, year) ON DELETE CASCADE
        )",
            "CREATE TABLE activity_report (
            cpts_id TEXT NOT NULL,
            contract_seq BIGINT NOT NULL,
            year BIGINT NOT NULL,
            version BIGINT NOT NULL,
            status TEXT NOT NULL,
            content TEXT NOT NULL,
            steps BIGINT NOT NULL,
            PRIMARY KEY (cpts_id, contract_seq, year, version),
            FOREIGN KEY (cpts_id, contract_seq) REFERENCES contract(cpts_id, seq) ON DELETE CASCADE
        )",
            "CREATE TABLE report_result (
            cpts_id TEXT NOT NULL,
            contract_seq BIGINT NOT NULL,
            year BIGINT NOT NULL,
            version BIGINT NOT NULL,
            indicator TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (cpts_id, contract_seq, year, version, indicator),
            FOREIGN KEY (cpts_id, contract_seq, year, version) REFERENCES activity_report(cpts_id, contract_seq, year, version) ON DELETE CASCADE
        )",
            // Append-only: the review's history.
            "CREATE TABLE report_event (
            cpts_id TEXT NOT NULL,
            contract_seq BIGINT NOT NULL,
            year BIGINT NOT NULL,
            version BIGINT NOT NULL,
            seq BIGINT NOT NULL,
            act TEXT NOT NULL,
            event_date TEXT NOT NULL,
            role TEXT NOT NULL,
            by_name TEXT NOT NULL,
            text TEXT,
            recorded_at TEXT NOT NULL,
            PRIMARY KEY (cpts_id, contract_seq, year, version, seq),
            FOREIGN KEY (cpts_id, contract_seq, year, version) REFERENCES activity_report(cpts_id, contract_seq, year, version) ON DELETE CASCADE
        )",
        ],
    ),
    (
        5,
        "payments: who paid and the transfer's reference",
        &[
            // NULL on payments recorded before: nobody said who paid.
            "ALTER TABLE payment ADD COLUMN paid_by TEXT",
            "ALTER TABLE payment ADD COLUMN reference TEXT",
        ],
    ),
    (
        6,
        "member history",
        &[
            // The state of a member before each correction or removal: never overwritten silently.
            "CREATE TABLE member_history (
            cpts_id TEXT NOT NULL REFERENCES cpts(id) ON DELETE CASCADE,
            seq BIGINT NOT NULL,
            rev BIGINT NOT NULL,
            action TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            last_name TEXT NOT NULL,
            first_name TEXT NOT NULL,
            profession TEXT NOT NULL,
            rpps TEXT,
            commune TEXT NOT NULL,
            joined TEXT NOT NULL,
            left_on TEXT,
            PRIMARY KEY (cpts_id, seq, rev)
        )",
        ],
    ),
    (
        7,
        "accounts, scopes, audit log, registry history",
        &[
            "CREATE TABLE account (
            login TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            password_hash TEXT,
            active BIGINT NOT NULL,
            created_at TEXT NOT NULL
        )",
            // scope: the CPTS id, département or région code the role applies to; '' = national.
            "CREATE TABLE account_grant (
            login TEXT NOT NULL REFERENCES account(login),
            role TEXT NOT NULL,
            scope TEXT NOT NULL,
            granted_at TEXT NOT NULL,
            PRIMARY KEY (login, role, scope)
        )",
            // Append-only (triggers below): who did what, when, to which CPTS, before and after.
            "-- sqlite\nCREATE TABLE audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            login TEXT NOT NULL,
            role TEXT NOT NULL,
            action TEXT NOT NULL,
            cpts_id TEXT,
            before_json TEXT,
            after_json TEXT,
            batch TEXT NOT NULL
        )",
            "-- postgres\nCREATE TABLE audit (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at TEXT NOT NULL,
            login TEXT NOT NULL,
            role TEXT NOT NULL,
            action TEXT NOT NULL,
            cpts_id TEXT,
            before_json TEXT,
            after_json TEXT,
            batch TEXT NOT NULL
        )",
            "CREATE INDEX audit_by_cpts ON audit (cpts_id, id)",
            "CREATE INDEX audit_by_login ON audit (login, id)",
            "CREATE INDEX audit_by_at ON audit (at)",
            "-- sqlite\nCREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'journal d''audit : une ligne écrite ne se modifie pas'); END",
            "-- sqlite\nCREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'journal d''audit : une ligne écrite ne se supprime pas'); END",
            "-- postgres\nCREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'journal d''audit : une ligne écrite ne se modifie ni ne se supprime'; END $$",
            "-- postgres\nCREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
            "-- postgres\nCREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()",
            // The départements and régions a CPTS belongs to (seat and territory): scope filters.
            "CREATE TABLE cpts_area (
            cpts_id TEXT NOT NULL REFERENCES cpts(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            code TEXT NOT NULL,
            PRIMARY KEY (cpts_id, kind, code)
        )",
            "CREATE INDEX cpts_area_by_code ON cpts_area (kind, code, cpts_id)",
            // Identity and territory are edited separately: one version each.
            "ALTER TABLE cpts ADD COLUMN territory_version BIGINT NOT NULL DEFAULT 1",
            // Each state of a CPTS's identity and territory, from when it was recorded.
            "CREATE TABLE cpts_revision (
            cpts_id TEXT NOT NULL REFERENCES cpts(id) ON DELETE CASCADE,
            rev BIGINT NOT NULL,
            recorded_at TEXT NOT NULL,
            name TEXT NOT NULL,
            legal_form TEXT NOT NULL,
            rna TEXT,
            siret TEXT,
            finess TEXT,
            seat TEXT,
            communes TEXT NOT NULL,
            PRIMARY KEY (cpts_id, rev)
        )",
            "-- sqlite\nINSERT INTO cpts_revision (cpts_id, rev, recorded_at, name, legal_form, rna, siret, finess, seat, communes)
            SELECT c.id, 1, c.updated_at, c.name, c.legal_form, c.rna, c.siret, c.finess, c.seat,
                   COALESCE((SELECT group_concat(code, ' ') FROM (SELECT code FROM territory t WHERE t.cpts_id = c.id ORDER BY code)), '')
            FROM cpts c",
            "-- postgres\nINSERT INTO cpts_revision (cpts_id, rev, recorded_at, name, legal_form, rna, siret, finess, seat, communes)
            SELECT c.id, 1, c.updated_at, c.name, c.legal_form, c.rna, c.siret, c.finess, c.seat,
                   COALESCE((SELECT string_agg(code, ' ' ORDER BY code) FROM territory t WHERE t.cpts_id = c.id), '')
            FROM cpts c",
            // National lists read the latest lifecycle step and lines by CPTS.
            "CREATE INDEX ledger_line_by_due ON ledger_line (due)",
        ],
    ),
    (
        8,
        "web sessions",
        &[
            // Server-side sessions of the web app: shared by every server process on the store.
            // `id` is a hash of the cookie's value (a stolen table opens no session); `login`
            // lets a password change or a disabled account end that account's sessions.
            "CREATE TABLE web_session (
            id TEXT PRIMARY KEY,
            login TEXT,
            data TEXT NOT NULL,
            expires_at BIGINT NOT NULL
        )",
            "CREATE INDEX web_session_by_login ON web_session (login)",
            "CREATE INDEX web_session_by_expiry ON web_session (expires_at)",
            // Failed logins, for throttling per account and per address.
            "CREATE TABLE login_failure (
            login TEXT NOT NULL,
            address TEXT NOT NULL,
            at BIGINT NOT NULL
        )",
            "CREATE INDEX login_failure_by_login ON login_failure (login, at)",
            "CREATE INDEX login_failure_by_address ON login_failure (address, at)",
        ],
    ),
    (
        9,
        "ledger lines held by a report",
        &[
            // The report year (contract, year) a line waits for, as the domain says
            // (`Planned::held_by`), written with the line; NULL: held by none. Lines already
            // stored are filled in by `backfill` (the domain decides, not SQL).
            "ALTER TABLE ledger_line ADD COLUMN held_contract BIGINT",
            "ALTER TABLE ledger_line ADD COLUMN held_year BIGINT",
        ],
    ),
    (
        10,
        "api tokens",
        &[
            // Tokens of the JSON API: a user's rights for a machine client. Only a hash of the
            // secret is kept (a copy of the table opens nothing); `prefix` names the token to
            // its owner. A revoked token stays, with when, for the record.
            "CREATE TABLE api_token (
            hash TEXT PRIMARY KEY,
            prefix TEXT NOT NULL,
            login TEXT NOT NULL REFERENCES account (login),
            label TEXT NOT NULL,
            created_at TEXT NOT NULL,
            last_used_at TEXT,
            revoked_at TEXT
        )",
            "CREATE INDEX api_token_by_login ON api_token (login)",
        ],
    ),
    (
        11,
        "data version",
        &[
            // Bumped in the transaction of every audited write, by every process: readers
            // keep scope-wide answers until it moves (a row lock orders it like the commits).
            "CREATE TABLE data_version (id BIGINT PRIMARY KEY, version BIGINT NOT NULL)",
            "INSERT INTO data_version (id, version) VALUES (1, 0)",
        ],
    ),
    (
        12,
        "tamper-evident audit chain",
        &[
            // Each audit row: a hash of its columns and of the previous row's hash (see
            // cpts_domain::audit); the head (last id and hash) beside the data version, updated
            // in the same transaction. Rows already stored are chained by `backfill`, in id
            // order, the append-only triggers lifted for that time only.
            "ALTER TABLE audit ADD COLUMN prev_hash TEXT",
            "ALTER TABLE audit ADD COLUMN hash TEXT",
            "ALTER TABLE data_version ADD COLUMN audit_last_id BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE data_version ADD COLUMN audit_last_hash TEXT NOT NULL DEFAULT '0000000000000000000000000000000000000000000000000000000000000000'",
            "-- sqlite\nDROP TRIGGER audit_no_update",
            "-- postgres\nALTER TABLE audit DISABLE TRIGGER audit_no_change",
        ],
    ),
    (
        13,
        "external identities",
        &[
            // An identity from an OpenID Connect provider (Pro Santé Connect: the RPPS;
            // ProConnect: the subject or the e-mail) linked to an account by an administrator.
            // The link opens the account; it carries no right of its own.
            "CREATE TABLE identity_link (
            provider TEXT NOT NULL,
            subject TEXT NOT NULL,
            login TEXT NOT NULL REFERENCES account (login),
            linked_at TEXT NOT NULL,
            PRIMARY KEY (provider, subject)
        )",
            "CREATE INDEX identity_link_by_login ON identity_link (login)",
            // A session opened through a provider: its session id (`sid`) and subject, each
            // prefixed by the provider, so its back-channel logout ends it.
            "ALTER TABLE web_session ADD COLUMN oidc_sid TEXT",
            "ALTER TABLE web_session ADD COLUMN oidc_sub TEXT",
            "CREATE INDEX web_session_by_oidc_sid ON web_session (oidc_sid)",
            "CREATE INDEX web_session_by_oidc_sub ON web_session (oidc_sub)",
        ],
    ),
    (
        14,
        "changes per CPTS",
        &[
            // The data version of each CPTS's last write ('' for writes outside any CPTS):
            // scope-wide answers are brought up to date by recomputing only the CPTS written since.
            "CREATE TABLE cpts_change (cpts_id TEXT PRIMARY KEY, version BIGINT NOT NULL)",
            "CREATE INDEX cpts_change_by_version ON cpts_change (version)",
        ],
    ),
];

/// What a migration computes in Rust after its statements, in its transaction: values only
/// the domain can decide, for the rows already stored.
async fn backfill(version: i64, tx: &mut sqlx::Transaction<'static, sqlx::Any>) -> crate::Result<()> {
    if version == 9 {
        let rows = sqlx::query("SELECT * FROM ledger_line").fetch_all(&mut **tx).await?;
        for r in &rows {
            let line = crate::contracts::line_of(r)?;
            let Some((contract, year)) = line.planned.held_by() else { continue };
            sqlx::query("UPDATE ledger_line SET held_contract = $1, held_year = $2 WHERE cpts_id = $3 AND id = $4")
                .bind(contract)
                .bind(i64::from(year))
                .bind(r.try_get::<String, _>("cpts_id")?)
                .bind(line.id)
                .execute(&mut **tx)
                .await?;
        }
    }
    if version == 12 {
        chain_existing(tx).await?;
    }
    Ok(())
}

/// The append-only trigger on UPDATE, as migration 7 wrote it (SQLite: dropped to chain the
/// rows already there, then written again).
/// The append-only trigger on DELETE, as migration 7 wrote it (SQLite: dropped and written
/// again inside a restore's transaction, which empties the log it replaces).
pub(crate) const SQLITE_NO_DELETE: &str = "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'journal d''audit : une ligne écrite ne se supprime pas'); END";

const SQLITE_NO_UPDATE: &str = "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'journal d''audit : une ligne écrite ne se modifie pas'); END";

/// Migration 12: the rows already in the log chained in id order, a page at a time, then the
/// head set and the triggers back.
async fn chain_existing(tx: &mut sqlx::Transaction<'static, sqlx::Any>) -> crate::Result<()> {
    let postgres = tx.backend_name() == "PostgreSQL";
    let mut prev = cpts_domain::audit::GENESIS.to_string();
    let mut last = 0i64;
    loop {
        let rows = sqlx::query("SELECT * FROM audit WHERE id > $1 ORDER BY id LIMIT 5000").bind(last).fetch_all(&mut **tx).await?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let row = crate::audit::chain_row(r)?;
            let hash = cpts_domain::audit::ChainRow { prev_hash: Some(prev.clone()), ..row.clone() }.computed();
            sqlx::query("UPDATE audit SET prev_hash = $1, hash = $2 WHERE id = $3")
                .bind(&prev)
                .bind(&hash)
                .bind(row.id)
                .execute(&mut **tx)
                .await?;
            prev = hash;
            last = row.id;
        }
    }
    sqlx::query("UPDATE data_version SET audit_last_id = $1, audit_last_hash = $2 WHERE id = 1")
        .bind(last)
        .bind(&prev)
        .execute(&mut **tx)
        .await?;
    let again = if postgres { "ALTER TABLE audit ENABLE TRIGGER audit_no_change" } else { SQLITE_NO_UPDATE };
    sqlx::query(again).execute(&mut **tx).await?;
    Ok(())
}

/// A statement for one engine only starts with this comment line.
fn applies(statement: &str, backend: crate::Backend) -> bool {
    match statement.split_once('\n') {
        Some(("-- sqlite", _)) => backend == crate::Backend::Sqlite,
        Some(("-- postgres", _)) => backend == crate::Backend::Postgres,
        _ => true,
    }
}

/// The newest schema version this binary knows.
fn latest() -> i64 {
    MIGRATIONS.iter().map(|m| m.0).max().unwrap_or(0)
}

/// Before migrating: the database must be empty or a cpts store this binary can read. Another
/// application's database would otherwise silently receive our tables; a store made by a newer
/// cpts could be written with rules it does not know. `tables`: the database's own tables.
pub async fn check(conn: &mut AnyConnection, tables: &[String], shown: &str) -> Result<(), String> {
    if tables.is_empty() {
        return Ok(());
    }
    let foreign = || {
        let listed: Vec<&str> = tables.iter().take(5).map(String::as_str).collect();
        let more = if tables.len() > 5 { ", …" } else { "" };
        format!(
            "{shown} contient des tables ({}{more}) mais pas celles de cpts : c'est la base d'une autre application, cpts n'y écrit pas ; donnez une base cpts ou un fichier nouveau",
            listed.join(", ")
        )
    };
    if !tables.iter().any(|t| t == "schema_version") {
        return Err(foreign());
    }
    // Our marker: the first migration's row, with its name.
    let first = sqlx::query("SELECT name FROM schema_version WHERE version = 1")
        .fetch_optional(&mut *conn)
        .await
        .map_err(|_| foreign())?
        .map(|r| r.try_get::<String, _>("name"))
        .transpose()
        .map_err(|_| foreign())?;
    if first.as_deref() != MIGRATIONS.first().map(|m| m.1) {
        return Err(foreign());
    }
    let newest: i64 = sqlx::query("SELECT MAX(version) AS v FROM schema_version")
        .fetch_one(&mut *conn)
        .await
        .and_then(|r| r.try_get("v"))
        .map_err(|e| format!("{shown} : version du schéma illisible ({e})"))?;
    if newest > latest() {
        return Err(format!(
            "{shown} : base créée par une version plus récente de cpts (schéma {newest}, cette version connaît jusqu'au schéma {}) : mettez cpts à jour avant de l'utiliser",
            latest()
        ));
    }
    Ok(())
}

/// Apply pending migrations, each in its own write transaction (two processes opening a new
/// store at once: the second waits, then finds the migration done).
pub async fn migrate(store: &crate::Store) -> crate::Result<()> {
    sqlx::query("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        .execute(&store.pool)
        .await?;
    for (version, name, statements) in MIGRATIONS {
        let mut tx = store.write().await?;
        let done = sqlx::query("SELECT version FROM schema_version WHERE version = $1")
            .bind(*version)
            .fetch_optional(&mut *tx)
            .await?;
        if done.map(|r| r.try_get::<i64, _>("version")).transpose()?.is_some() {
            continue;
        }
        for s in statements.iter().filter(|s| applies(s, store.backend)) {
            sqlx::query(*s).execute(&mut *tx).await?;
        }
        backfill(*version, &mut tx).await?;
        sqlx::query("INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)")
            .bind(*version)
            .bind(*name)
            .bind(jiff::Timestamp::now().to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(())
}
