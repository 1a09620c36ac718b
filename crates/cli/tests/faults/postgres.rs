//! PostgreSQL stopped and restarted under load, on a cluster of the test's own (the shared test
//! server is not stopped under the other tests): while clients read and write through the API and
//! the pages, `pg_ctl stop -m immediate`, for 6 s; every answer is a 200 or a clean 503 with a French
//! message (the API's JSON error shape, code `unavailable`; the error page), none hangs past
//! the bound, the server never panics; PostgreSQL started again, the same server answers again
//! by itself, and every write it acknowledged is there.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::http::{Api, Browser, Reply};
use super::{LIMIT, LOGIN, PASSWORD, Server, block_on, clean, demo_store, scratch};

/// A throwaway PostgreSQL cluster, stopped and removed when dropped.
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    root: bool,
}

fn pg_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

impl Cluster {
    fn pg_ctl(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = if self.root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(self.bin.join("pg_ctl"));
            c
        } else {
            Command::new(self.bin.join("pg_ctl"))
        };
        cmd.arg("-D").arg(&self.data).args(args).output().unwrap()
    }

    fn start(bin: PathBuf, dir: &Path) -> Cluster {
        let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let data = dir.join("pgdata");
        std::fs::create_dir_all(&data).unwrap();
        if root {
            assert!(Command::new("chown").args(["postgres:postgres"]).arg(&data).status().unwrap().success());
        }
        // A free port: taken from the system, then given to PostgreSQL.
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let cluster = Cluster { bin, data, port, root };
        let mut initdb = if root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(cluster.bin.join("initdb"));
            c
        } else {
            Command::new(cluster.bin.join("initdb"))
        };
        let o = initdb.arg("-D").arg(&cluster.data).args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "-N"]).output().unwrap();
        assert!(o.status.success(), "initdb : {}", String::from_utf8_lossy(&o.stderr));
        cluster.up();
        cluster
    }

    fn up(&self) {
        let log = self.data.join("server.log");
        let opts = format!("-p {} -k {} -c listen_addresses=127.0.0.1", self.port, self.data.display());
        let o = self.pg_ctl(&["-l", log.to_str().unwrap(), "-w", "-o", &opts, "start"]);
        assert!(o.status.success(), "pg_ctl start : {}{}", String::from_utf8_lossy(&o.stderr), std::fs::read_to_string(&log).unwrap_or_default());
    }

    /// `pg_ctl stop -m immediate`: the server processes quit at once, without a checkpoint (the
    /// next start recovers from the WAL), as after a crash.
    fn crash(&self) {
        let o = self.pg_ctl(&["-m", "immediate", "-w", "stop"]);
        assert!(o.status.success(), "pg_ctl stop : {}", String::from_utf8_lossy(&o.stderr));
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-m", "immediate", "stop"]);
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// One answer seen by a client: when, which client, what.
struct Seen {
    at: Instant,
    client: &'static str,
    status: u16,
    body: String,
}

/// The API's 503: the error shape, code `unavailable`, a French message; or the page's.
fn clean_503(client: &str, r: &Reply) -> Result<(), String> {
    if client == "page" {
        let ok = r.body.contains("Service momentanément indisponible") && r.body.contains("base de données");
        return if ok { Ok(()) } else { Err(format!("page 503 sans message : {}", r.body)) };
    }
    let j: serde_json::Value = serde_json::from_str(&r.body).map_err(|e| format!("503 non JSON ({e}) : {}", r.body))?;
    let message = j["message"].as_str().unwrap_or_default();
    if j["status"] == 503 && j["code"] == "unavailable" && (message.contains("base de données") || message.contains("PostgreSQL")) {
        Ok(())
    } else {
        Err(format!("503 mal formée : {j}"))
    }
}

#[test]
fn postgres_stopped_under_load_then_back() {
    if std::env::var_os("CPTS_TEST_POSTGRES_URL").is_none() {
        let _ = writeln!(std::io::stderr(), "skipped: PostgreSQL arrêté sous charge — sans CPTS_TEST_POSTGRES_URL (scripts/with-postgres.sh)");
        return;
    }
    let bin = pg_bin().expect("PostgreSQL installé (scripts/with-postgres.sh l'installe)");
    let work = scratch("pg-arret");
    let cluster = Cluster::start(bin, &work);
    let url = cluster.url();
    let token = demo_store(&url);
    let mut server = Server::start(&url, &work.join("serveur.log"));
    let mut browser = server.browser();
    assert_eq!(browser.sign_in(LOGIN, PASSWORD).unwrap().status, 303);

    let stop = Arc::new(AtomicBool::new(false));
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let acked: Arc<Mutex<Vec<u32>>> = Arc::default();
    let record = |seen: &Arc<Mutex<Vec<Seen>>>, client: &'static str, r: std::io::Result<Reply>| -> Reply {
        let r = r.unwrap_or_else(|e| panic!("[{client}] pas de réponse (bornée à {LIMIT:?}) : {e}"));
        seen.lock().unwrap().push(Seen { at: Instant::now(), client, status: r.status, body: r.body.clone() });
        r
    };
    let mut clients = Vec::new();
    // A writer: one value typed again and again (each a correction, kept in the history).
    {
        let (api, stop, seen, acked) = (server.api(&token), stop.clone(), seen.clone(), acked.clone());
        clients.push(std::thread::spawn(move || {
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let body = serde_json::json!({"rows": [{"indicator": "patients_sans_mt_aides", "period": "2022-03", "value": n.to_string()}]});
                let r = record(&seen, "écriture", api.post_json("/api/v1/cpts/cpts-paris-18/values", &body));
                if r.status == 200 {
                    acked.lock().unwrap().push(n);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }));
    }
    // A reader of the API: the national list and a ledger.
    {
        let (api, stop, seen): (Api, _, _) = (server.api(&token), stop.clone(), seen.clone());
        clients.push(std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let path = if i % 2 == 0 { "/api/v1/cpts?per_page=5" } else { "/api/v1/cpts/cpts-paris-14/ledger" };
                record(&seen, "api", api.get(path));
                std::thread::sleep(Duration::from_millis(10));
            }
        }));
    }
    // A signed-in browser reading a CPTS's page.
    {
        let (stop, seen) = (stop.clone(), seen.clone());
        let mut b: Browser = browser;
        clients.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                record(&seen, "page", b.get("/cpts/cpts-paris-18"));
                std::thread::sleep(Duration::from_millis(10));
            }
        }));
    }

    std::thread::sleep(Duration::from_secs(1));
    let down = Instant::now();
    cluster.crash();
    // Longer than the pool's wait for a connection (5 s): requests that wait it out are answered
    // 503, not only those whose connection broke.
    std::thread::sleep(super::OUTAGE);
    cluster.up();
    let back = Instant::now();
    // Until every client has been answered 200 again, then a second more.
    let deadline = back + LIMIT;
    loop {
        let all_back = {
            let seen = seen.lock().unwrap();
            ["écriture", "api", "page"].iter().all(|c| seen.iter().any(|s| s.client == *c && s.at > back && s.status == 200))
        };
        if all_back {
            break;
        }
        assert!(Instant::now() < deadline, "le serveur ne s'est pas rétabli {LIMIT:?} après le redémarrage de PostgreSQL");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    assert!(server.running(), "cpts serve s'est arrêté");

    let seen = seen.lock().unwrap();
    let mut unavailable = 0;
    for s in seen.iter() {
        match s.status {
            200 => {}
            503 => {
                unavailable += 1;
                let r = Reply { status: 503, headers: vec![], body: s.body.clone() };
                clean_503(s.client, &r).unwrap_or_else(|e| panic!("[{}] {e}", s.client));
            }
            other => panic!("[{}] réponse {other} pendant la panne : {}", s.client, s.body),
        }
    }
    assert!(unavailable > 0, "aucune réponse 503 : PostgreSQL n'a pas été vu arrêté");
    let first_ok = seen.iter().filter(|s| s.at > back && s.status == 200).map(|s| s.at).min().unwrap();
    let recovered = first_ok - back;

    // Every acknowledged write is there (each a version of the value).
    let acked = acked.lock().unwrap().clone();
    assert!(!acked.is_empty());
    let stored: Vec<String> = block_on(async {
        use sqlx::{Connection, Row};
        sqlx::any::install_default_drivers();
        let mut c = sqlx::AnyConnection::connect(&url).await.unwrap();
        let rows = sqlx::query("SELECT value FROM indicator_value WHERE cpts_id = 'cpts-paris-18' AND indicator = 'patients_sans_mt_aides' AND period = '2022-03'")
            .fetch_all(&mut c)
            .await
            .unwrap();
        rows.iter().map(|r| r.try_get::<String, _>(0).unwrap()).collect()
    });
    let lost: Vec<&u32> = acked.iter().filter(|n| !stored.contains(&n.to_string())).collect();
    assert!(lost.is_empty(), "écritures confirmées perdues : {lost:?}");
    let answered = seen.len();
    drop(seen);
    server.kill();
    println!(
        "PostgreSQL arrêté (immediate) pendant {} ms sous charge : {answered} réponses, dont {unavailable} « 503 indisponible » ; {} écritures confirmées, toutes présentes ; reprise {} ms après le redémarrage de PostgreSQL (pg_ctl start -w rendu)",
        (back - down).as_millis(),
        acked.len(),
        recovered.as_millis()
    );
    drop(cluster);
    clean(&work);
}
