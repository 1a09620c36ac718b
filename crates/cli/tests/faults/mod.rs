//! Faults against the real `cpts serve` (issue 15):
//! - the server killed with SIGKILL in the middle of a report validation, a payment and a large
//!   value import, sent through the pages (session, CSRF) and through the API (bearer token), on
//!   SQLite and PostgreSQL: after a restart the store is exactly as before or exactly as after the
//!   write (never in between), `cpts ledger check` passes, and the audit matches the data;
//! - PostgreSQL stopped and restarted under load (`postgres` module);
//! - the disk full under the SQLite file (`disk` module).
//!
//! Times measured here (restart to first answer, recovery after PostgreSQL is back) are printed
//! as figures for docs/benchmarks.md, never asserted: a test fails on wrong answers, not on speed.

mod disk;
mod http;
mod postgres;

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use http::{Api, Browser, Reply};

use crate::common::{root, text};

/// No answer within this is a hang: the test fails (the pool waits 5 s at most for a connection).
pub const LIMIT: Duration = Duration::from_secs(30);

/// How long PostgreSQL stays stopped under load: past the store's ACQUIRE_TIMEOUT.
pub const OUTAGE: Duration = Duration::from_secs(6);

/// The account every fault test acts with: the CPAM agent of Paris validates reports, pays ACI
/// lines and imports values in the demo's CPTS.
pub const LOGIN: &str = "cpam.paris";
pub const PASSWORD: &str = "mot de passe des tests de pannes";

/// The demo's day when Paris 14's year-1 report is in review and Paris 20's advance is due.
pub const TODAY: &str = "2022-01-15";

/// A test's own folder (logs, SQLite files), removed by `clean` when it passes.
pub fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cpts-cli-faults-{}", std::process::id())).join(test);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn clean(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    if let Some(parent) = dir.parent() {
        // The last test out removes the process's folder.
        let _ = std::fs::remove_dir(parent);
    }
}

/// `cpts` on a database, or the test fails with what it said.
pub fn cpts_ok(db: &str, args: &[&str], stdin: Option<&str>) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cpts"));
    cmd.arg("--db").arg(db).args(args).current_dir(root()).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.spawn().unwrap();
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    let o = child.wait_with_output().unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "cpts {args:?} : {out}{err}");
    out
}

/// A store with the Paris demo, the CPAM agent's account and an API token: (token).
pub fn demo_store(db: &str) -> String {
    cpts_ok(db, &["demo"], None);
    let grant = ["user", "add", LOGIN, "--name", "Agent CPAM de Paris (tests de pannes)", "--role", "agent-cpam", "--scope", "75", "--password-stdin"];
    cpts_ok(db, &grant, Some(PASSWORD));
    let out = cpts_ok(db, &["--user", LOGIN, "token", "add", "tests de pannes"], None);
    out.split_whitespace().find(|w| w.starts_with("cpts_")).unwrap_or_else(|| panic!("jeton absent : {out}")).to_owned()
}

/// A running `cpts serve`; killed with SIGKILL when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

impl Server {
    /// Start `cpts serve` on `db` (a free port), and wait until it says where it listens.
    pub fn start(db: &str, log: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cpts"))
            .args(["--db", db, "serve", "--bind", "127.0.0.1:0", "--on", TODAY])
            .current_dir(root())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + LIMIT;
        loop {
            let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) else {
                let _ = child.kill();
                let _ = child.wait();
                panic!("cpts serve n'a pas donné son adresse :\n{}", std::fs::read_to_string(log).unwrap_or_default());
            };
            if let Some(rest) = line.strip_prefix("cpts sert sur http://") {
                let addr = rest.split_whitespace().next().unwrap().parse().unwrap();
                return Server { child, addr, log: log.to_owned() };
            }
        }
    }

    pub fn api(&self, token: &str) -> Api {
        Api { addr: self.addr, token: token.to_owned(), limit: LIMIT }
    }

    pub fn browser(&self) -> Browser {
        Browser::new(self.addr, LIMIT)
    }

    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// SIGKILL, then the log must show no panic.
    pub fn kill(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        assert!(!log.contains("panicked"), "le serveur a paniqué :\n{log}");
        log
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start the server and time it until its first successful answer to a read that needs the
/// store (the API's CPTS list): the recovery time after a crash.
pub fn start_and_answer(db: &str, log: &Path, token: &str) -> (Server, Duration) {
    let started = Instant::now();
    let server = Server::start(db, log);
    let api = server.api(token);
    loop {
        match api.get("/api/v1/cpts?per_page=1") {
            Ok(r) if r.status == 200 => return (server, started.elapsed()),
            Ok(r) if r.status == 503 => {}
            Ok(r) => panic!("première réponse après redémarrage : {} {}", r.status, r.body),
            Err(_) => {}
        }
        assert!(started.elapsed() < LIMIT, "le serveur redémarré ne répond pas");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A test's database on one engine: SQLite files, or PostgreSQL databases on the test server.
#[derive(Clone)]
pub enum Engine {
    Sqlite(PathBuf),
    Postgres { admin: String },
}

impl Engine {
    pub fn name(&self) -> &'static str {
        match self {
            Engine::Sqlite(_) => "sqlite",
            Engine::Postgres { .. } => "postgres",
        }
    }

    /// The `--db` of database `name`.
    pub fn url(&self, name: &str) -> String {
        match self {
            Engine::Sqlite(dir) => dir.join(format!("{name}.sqlite")).display().to_string(),
            Engine::Postgres { admin } => {
                let (base, _) = admin.rsplit_once('/').unwrap();
                format!("{base}/{}", pg_name(name))
            }
        }
    }

    /// A new, empty database `name`.
    pub fn create(&self, name: &str) -> String {
        self.drop_db(name);
        if let Engine::Postgres { admin } = self {
            psql(admin, &format!("CREATE DATABASE {}", pg_name(name)));
        }
        self.url(name)
    }

    /// Database `to`, a copy of `from` (no server may be using `from`).
    pub fn copy(&self, from: &str, to: &str) -> String {
        self.drop_db(to);
        match self {
            Engine::Sqlite(_) => {
                for suffix in ["", "-wal"] {
                    let src = format!("{}{suffix}", self.url(from));
                    if Path::new(&src).exists() {
                        std::fs::copy(&src, format!("{}{suffix}", self.url(to))).unwrap();
                    }
                }
            }
            Engine::Postgres { admin } => psql(admin, &format!("CREATE DATABASE {} TEMPLATE {}", pg_name(to), pg_name(from))),
        }
        self.url(to)
    }

    pub fn drop_db(&self, name: &str) {
        match self {
            Engine::Sqlite(_) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", self.url(name)));
                }
            }
            Engine::Postgres { admin } => psql(admin, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", pg_name(name))),
        }
    }
}

fn pg_name(name: &str) -> String {
    format!("cpts_faults_{}_{}", std::process::id(), name.replace('-', "_"))
}

pub fn psql(url: &str, sql: &str) {
    let o = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .unwrap_or_else(|e| panic!("psql introuvable ({e}) : il crée les bases PostgreSQL de test"));
    assert!(o.status.success(), "{sql} : {}", text(&o).1);
}

/// PostgreSQL when CPTS_TEST_POSTGRES_URL is set (scripts/with-postgres.sh; CI sets it).
pub fn postgres_engine() -> Option<Engine> {
    std::env::var("CPTS_TEST_POSTGRES_URL").ok().map(|admin| Engine::Postgres { admin })
}

/// What a write may change, counted in the store: every business table a validation, a payment
/// or an import touches, and the audit rows by action. Two states are equal when all agree.
const COUNTS: &[(&str, &str)] = &[
    ("audit", "SELECT COUNT(*) FROM audit"),
    ("audit valeurs", "SELECT COUNT(*) FROM audit WHERE action = 'valeurs'"),
    ("audit paiement", "SELECT COUNT(*) FROM audit WHERE action = 'paiement.aci'"),
    ("audit instruction", "SELECT COUNT(*) FROM audit WHERE action = 'rapport.instruction'"),
    ("valeurs", "SELECT COUNT(*) FROM indicator_value"),
    ("valeurs remplacées", "SELECT COUNT(*) FROM indicator_value WHERE replaced_by IS NOT NULL"),
    ("lots", "SELECT COUNT(*) FROM value_batch"),
    ("lignes", "SELECT COUNT(*) FROM ledger_line"),
    ("lignes annulées", "SELECT COUNT(*) FROM ledger_line WHERE cancelled_on IS NOT NULL"),
    ("payé", "SELECT CAST(COALESCE(SUM(paid), 0) AS BIGINT) FROM ledger_line"),
    ("paiements", "SELECT COUNT(*) FROM payment"),
    ("rapports validés", "SELECT COUNT(*) FROM activity_report WHERE status = 'valide'"),
    ("événements de rapport", "SELECT COUNT(*) FROM report_event"),
    ("années libérées", "SELECT COUNT(*) FROM year_release"),
];

pub type Snapshot = Vec<(&'static str, i64)>;

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

/// The counts of `COUNTS` in the database at `db` (its `--db`).
pub fn snapshot(db: &str) -> Snapshot {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let url = if db.starts_with("postgres") { db.to_owned() } else { format!("sqlite://{db}") };
    block_on(async {
        let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
        let mut out = Vec::new();
        for (what, sql) in COUNTS {
            let row = sqlx::query(*sql).fetch_one(&mut conn).await.unwrap();
            out.push((*what, row.try_get::<i64, _>(0).unwrap()));
        }
        conn.close().await.unwrap();
        out
    })
}

pub fn count(s: &Snapshot, what: &str) -> i64 {
    s.iter().find(|(w, _)| *w == what).map(|(_, n)| *n).unwrap()
}

/// The write under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Validate,
    Pay,
    Import,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Channel {
    Web,
    Api,
}

/// The import: every objective indicator of the six signed demo CPTS over the five years of
/// their contracts (835 rows; the stored periods corrected, the others new).
pub fn big_import() -> String {
    // (CPTS, month of signature, its indicators in the demo with their periodicity)
    type Signed = (&'static str, i32, i32, &'static [(&'static str, char)]);
    const SIGNED: &[Signed] = &[
        ("cpts-paris-18", 2019, 12, &[("patients_sans_mt_aides", 'M'), ("snp_taux_reponse", 'R'), ("campagnes_prevention", 'Q'), ("protocoles_pluripro", 'Y')]),
        ("cpts-paris-14", 2020, 1, &[("patients_sans_mt_aides", 'M'), ("snp_taux_reponse", 'R'), ("campagnes_prevention", 'Q'), ("protocoles_pluripro", 'Y')]),
        ("cpts-paris-13", 2020, 1, &[("patients_sans_mt_aides", 'M'), ("snp_taux_reponse", 'R'), ("campagnes_prevention", 'Q'), ("protocoles_pluripro", 'Y')]),
        ("cpts-paris-20", 2020, 11, &[("patients_sans_mt_aides", 'M'), ("snp_taux_reponse", 'R'), ("campagnes_prevention", 'Q')]),
        ("cpts-paris-10", 2021, 6, &[("patients_sans_mt_aides", 'M'), ("snp_taux_reponse", 'R'), ("campagnes_prevention", 'Q')]),
        ("cpts-paris-8", 2021, 9, &[("patients_sans_mt_aides", 'M'), ("snp_taux_reponse", 'R')]),
    ];
    let mut csv = String::from("CPTS;Indicateur;Période;Valeur;Numérateur;Dénominateur\n");
    for (cpts, year, month, indicators) in SIGNED {
        for (indicator, kind) in *indicators {
            for k in 0..60 {
                let m0 = month - 1 + k;
                let (y, m) = (year + m0 / 12, m0 % 12 + 1);
                let line = match kind {
                    'M' => format!("{cpts};{indicator};{y}-{m:02};{};;", 1 + k % 9),
                    'R' => format!("{cpts};{indicator};{y}-{m:02};;{};{}", 50 + k % 40, 100 + k % 17),
                    'Q' if m % 3 == 1 => format!("{cpts};{indicator};{y}-T{};{};;", (m - 1) / 3 + 1, 1 + k % 9),
                    'Y' if m == 1 => format!("{cpts};{indicator};{y};{};;", 1 + k % 9),
                    _ => continue,
                };
                csv.push_str(&line);
                csv.push('\n');
            }
        }
    }
    csv
}

/// What a round needs of its server before the write: a signed-in browser on the form's page,
/// or nothing for the API.
fn prepare(op: Op, channel: Channel, server: &Server) -> Option<Browser> {
    if channel == Channel::Api {
        return None;
    }
    let mut b = server.browser();
    let r = b.sign_in(LOGIN, PASSWORD).unwrap();
    assert_eq!(r.status, 303, "connexion : {}", r.body);
    let page = match op {
        Op::Validate => "/cpts/cpts-paris-14/rapports/1/1",
        Op::Pay => "/cpts/cpts-paris-20/financement",
        Op::Import => "/cpts/cpts-paris-18/indicateurs",
    };
    let r = b.get(page).unwrap();
    assert_eq!(r.status, 200, "{page} : {}", r.body);
    Some(b)
}

/// Send the write; the reply, or the transport error when the server died first.
fn perform(op: Op, browser: Option<Browser>, api: &Api) -> std::io::Result<Reply> {
    match (op, browser) {
        (Op::Validate, Some(mut b)) => b.post("/cpts/cpts-paris-14/rapports/1/1/valider", &[("texte", "")]),
        (Op::Pay, Some(mut b)) => b.post(
            "/cpts/cpts-paris-20/financement/paiements",
            &[("line", "2"), ("on", "10/01/2022"), ("amount", ""), ("by", "CPAM de Paris"), ("reference", "VIR-PANNE")],
        ),
        (Op::Import, Some(mut b)) => b.upload("/cpts/cpts-paris-18/indicateurs/import", "valeurs.csv", big_import().as_bytes()),
        (Op::Validate, None) => api.post_json("/api/v1/cpts/cpts-paris-14/reports/1/1/acts", &serde_json::json!({"act": "valider"})),
        (Op::Pay, None) => api.post_json(
            "/api/v1/cpts/cpts-paris-20/ledger/payments",
            &serde_json::json!({"line": 2, "on": "2022-01-10", "by": "CPAM de Paris", "reference": "VIR-PANNE"}),
        ),
        (Op::Import, None) => api.post("/api/v1/cpts/cpts-paris-18/values/import?file=valeurs.csv", "text/csv", big_import().as_bytes()),
    }
}

fn succeeded(channel: Channel, r: &Reply) -> bool {
    match channel {
        Channel::Web => r.status == 303,
        Channel::Api => r.status == 200 || r.status == 201,
    }
}

/// The changes a completed write makes, by count: (count, expected change).
fn expected_change(op: Op) -> &'static [(&'static str, i64)] {
    match op {
        // Paris 14's year-1 report validated: one audit row, one event, the year released.
        Op::Validate => &[("audit", 1), ("audit instruction", 1), ("rapports validés", 1), ("événements de rapport", 1), ("années libérées", 1)],
        // Paris 20's operating advance (67 500,00 €) paid in one transfer.
        Op::Pay => &[("audit", 1), ("audit paiement", 1), ("paiements", 1), ("payé", 6_750_000)],
        // 831 values stored in one batch, 184 of them correcting a stored one, 4 unchanged; one
        // audit row for each of the six CPTS.
        Op::Import => &[("audit", 6), ("audit valeurs", 6), ("lots", 1), ("valeurs", 831), ("valeurs remplacées", 184)],
    }
}

/// A small deterministic generator (xorshift): the kill delays vary between rounds and runs.
struct Draw(u64);

impl Draw {
    fn new() -> Draw {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        Draw(u64::try_from(t % u128::from(u64::MAX)).unwrap() | 1)
    }

    /// In [0, 1).
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        f64::from(u32::try_from(self.0 >> 40).unwrap()) / f64::from(1u32 << 24)
    }
}

/// Kill rounds per write and channel, besides the one killed after the answer.
const KILLS: usize = 2;

/// One engine: every write through both channels, killed at random points.
fn sigkill_rounds(engine: &Engine, dir: &Path) -> Vec<Duration> {
    let e = engine.name();
    let base = engine.create("base");
    let token = demo_store(&base);
    let mut draw = Draw::new();
    let mut recoveries = Vec::new();
    let mut summary = Vec::new();
    for op in [Op::Validate, Op::Pay, Op::Import] {
        for channel in [Channel::Web, Channel::Api] {
            let tag = format!("{e}-{op:?}-{channel:?}").to_lowercase();
            // Round 0: the write completes, then the kill: its effect must survive, and it gives
            // the write's duration, around which the other rounds kill.
            let db = engine.copy("base", &tag);
            let server = Server::start(&db, &dir.join(format!("{tag}-0.log")));
            let browser = prepare(op, channel, &server);
            let before = snapshot(&db);
            let sent = Instant::now();
            let r = perform(op, browser, &server.api(&token)).unwrap();
            let took = sent.elapsed();
            assert!(succeeded(channel, &r), "[{tag}] {} {}", r.status, r.body);
            server.kill();
            let (server, recovery) = start_and_answer(&db, &dir.join(format!("{tag}-0r.log")), &token);
            recoveries.push(recovery);
            let after = snapshot(&db);
            for (what, delta) in expected_change(op) {
                assert_eq!(count(&after, what) - count(&before, what), *delta, "[{tag}] {what} : avant {before:?}, après {after:?}");
            }
            let changed: Vec<&str> = before.iter().zip(&after).filter(|(b, a)| b != a).map(|((w, _), _)| *w).collect();
            let expected: Vec<&str> = expected_change(op).iter().map(|(w, _)| *w).collect();
            // A validation also releases the year's balances: ledger lines inserted and cancelled.
            let released = |w: &str| op == Op::Validate && (w == "lignes" || w == "lignes annulées");
            assert!(changed.iter().all(|w| expected.contains(w) || released(w)), "[{tag}] changements inattendus : {changed:?}");
            server.kill();
            cpts_ok(&db, &["ledger", "check"], None);
            engine.drop_db(&tag);
            let (mut landed, mut lost) = (0, 0);
            for round in 1..=KILLS {
                let name = format!("{tag}-{round}");
                let db = engine.copy("base", &name);
                let server = Server::start(&db, &dir.join(format!("{name}.log")));
                let browser = prepare(op, channel, &server);
                let api = server.api(&token);
                // Anywhere from the request's start to a little past its usual end.
                let delay = took.mul_f64(1.3 * draw.unit());
                let sender = std::thread::spawn(move || perform(op, browser, &api));
                std::thread::sleep(delay);
                server.kill();
                let answered = sender.join().unwrap().ok().filter(|r| succeeded(channel, r));
                let (server, recovery) = start_and_answer(&db, &dir.join(format!("{name}r.log")), &token);
                recoveries.push(recovery);
                let now = snapshot(&db);
                server.kill();
                let committed = if now == after {
                    true
                } else {
                    assert_eq!(now, before, "[{name}] tué après {delay:?} : ni avant ni après l'écriture");
                    false
                };
                // An answered write is durable.
                assert!(answered.is_none() || committed, "[{name}] écriture confirmée puis perdue");
                // The audit row is there iff its data is: equal snapshots say so for every
                // count, these say it in words.
                for (what, _) in expected_change(op) {
                    assert_eq!(count(&now, what) == count(&after, what), committed, "[{name}] {what}");
                }
                cpts_ok(&db, &["ledger", "check"], None);
                if committed {
                    landed += 1;
                } else {
                    lost += 1;
                }
                engine.drop_db(&name);
            }
            summary.push(format!("{tag}: écriture {took:?}, {landed} tuée(s) après validation, {lost} avant"));
        }
    }
    engine.drop_db("base");
    println!("{}", summary.join("\n"));
    recoveries
}

fn millis(d: &[Duration]) -> String {
    let mut ms: Vec<u128> = d.iter().map(Duration::as_millis).collect();
    ms.sort_unstable();
    let n = ms.len();
    format!("{n} redémarrages : min {} ms, médiane {} ms, max {} ms", ms[0], ms[n / 2], ms[n - 1])
}

fn sigkill_on(engine: &Engine, dir: &Path) {
    let recoveries = sigkill_rounds(engine, dir);
    // A figure for docs/benchmarks.md (restart of the debug binary, store opened, first answer).
    println!("[{}] temps de reprise après SIGKILL (lancement → première réponse) : {}", engine.name(), millis(&recoveries));
    clean(dir);
}

#[test]
fn sigkill_mid_write_sqlite() {
    let dir = scratch("sigkill-sqlite");
    sigkill_on(&Engine::Sqlite(dir.clone()), &dir);
}

#[test]
fn sigkill_mid_write_postgres() {
    match postgres_engine() {
        Some(engine) => sigkill_on(&engine, &scratch("sigkill-postgres")),
        None => {
            let _ = writeln!(std::io::stderr(), "skipped: SIGKILL sur PostgreSQL — sans CPTS_TEST_POSTGRES_URL (scripts/with-postgres.sh)");
        }
    }
}
