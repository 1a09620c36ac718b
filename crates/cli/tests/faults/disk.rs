//! The disk full under the SQLite file: the store on a small tmpfs of its own (mounted by the
//! test, which needs root, as CI has), filled up to a few kilobytes, then a large import through
//! the API and through the page: a clear French error, nothing written, the store intact
//! (`PRAGMA integrity_check`, every count as before), reads still served; space freed, the same
//! import succeeds without a restart.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Engine, LOGIN, PASSWORD, Server, big_import, block_on, clean, count, demo_store, scratch, snapshot};

/// Free space left when the disk is « full »: a few pages, less than any import needs.
const KEEP: u64 = 16 << 10;

/// The tmpfs, unmounted when dropped (lazily: a process still holding a file cannot keep it).
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn mount_tmpfs(dir: &Path, size: &str) -> Result<Mount, String> {
    std::fs::create_dir_all(dir).unwrap();
    let o = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .output()
        .map_err(|e| format!("mount introuvable ({e})"))?;
    if o.status.success() {
        Ok(Mount(dir.to_owned()))
    } else {
        let _ = std::fs::remove_dir(dir);
        Err(String::from_utf8_lossy(&o.stderr).trim().to_owned())
    }
}

/// Fill the file system of `file` until it refuses, then give back `keep` bytes.
fn fill(file: &Path, keep: u64) {
    let mut f = std::fs::File::create(file).unwrap();
    let chunk = vec![0x55u8; 64 << 10];
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(28), "remplissage : {e}"); // ENOSPC
                break;
            }
        }
    }
    let len = f.metadata().unwrap().len();
    f.set_len(len.saturating_sub(keep)).unwrap();
    f.sync_all().unwrap();
}

fn integrity(db: &str) -> String {
    use sqlx::{Connection, Row};
    block_on(async {
        let mut c = sqlx::AnyConnection::connect(&format!("sqlite://{db}")).await.unwrap();
        let r = sqlx::query("PRAGMA integrity_check").fetch_one(&mut c).await.unwrap();
        let s: String = r.try_get(0).unwrap();
        c.close().await.unwrap();
        s
    })
}

#[test]
fn disk_full_under_sqlite_says_so_and_keeps_the_store() {
    let work = scratch("disque");
    let dir = work.join("tmpfs");
    let mount = match mount_tmpfs(&dir, "8m") {
        Ok(m) => m,
        Err(why) => {
            let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
            assert!(!ci, "tmpfs impossible à monter sous CI : {why}");
            let _ = writeln!(std::io::stderr(), "skipped: disque plein — tmpfs impossible à monter ({why}) : lancez le test en root");
            return;
        }
    };
    let engine = Engine::Sqlite(dir.clone());
    let db = engine.create("plein");
    let token = demo_store(&db);
    let server = Server::start(&db, &work.join("serveur.log"));
    let api = server.api(&token);
    let mut browser = server.browser();
    assert_eq!(browser.sign_in(LOGIN, PASSWORD).unwrap().status, 303);
    assert_eq!(browser.get("/cpts/cpts-paris-18/indicateurs").unwrap().status, 200);
    let before = snapshot(&db);

    fill(&dir.join("remplissage"), KEEP);
    let csv = big_import();
    let r = api.post("/api/v1/cpts/cpts-paris-18/values/import?file=valeurs.csv", "text/csv", csv.as_bytes()).unwrap();
    assert_eq!(r.status, 503, "{}", r.body);
    let j = r.json();
    assert_eq!(j["code"], "unavailable", "{j}");
    let message = j["message"].as_str().unwrap();
    assert!(message.contains("disque plein") && message.contains("rien n'a été enregistré"), "{message}");
    assert!(r.header("retry-after").is_some());
    let page = browser.upload("/cpts/cpts-paris-18/indicateurs/import", "valeurs.csv", csv.as_bytes()).unwrap();
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(page.body.contains("indisponible") && page.body.contains("disque plein"), "{}", page.body);

    // Nothing written, the file sound, reads served, by the same server.
    assert_eq!(snapshot(&db), before);
    assert_eq!(integrity(&db), "ok");
    let read = api.get("/api/v1/cpts/cpts-paris-18/values").unwrap();
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.json()["total"].as_i64(), Some(52), "{}", read.body);
    assert_eq!(browser.get("/cpts/cpts-paris-18/indicateurs").unwrap().status, 200);
    assert_eq!(browser.get("/cpts/cpts-paris-14/financement").unwrap().status, 200);

    // Space back: the same import lands, without a restart.
    std::fs::remove_file(dir.join("remplissage")).unwrap();
    let r = api.post("/api/v1/cpts/cpts-paris-18/values/import?file=valeurs.csv", "text/csv", csv.as_bytes()).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    // Then writes one after another, on every connection of the pool (SQLite's 4): none was
    // left spent by the failed transaction.
    for n in 101..=108 {
        // Each a new value (the import stored 1): a correction, never « inchangée ».
        let body = serde_json::json!({"rows": [{"indicator": "patients_sans_mt_aides", "period": "2022-03", "value": n.to_string()}]});
        let r = api.post_json("/api/v1/cpts/cpts-paris-18/values", &body).unwrap();
        assert_eq!(r.status, 200, "écriture n° {n} après la place rendue : {}", r.body);
    }
    let after = snapshot(&db);
    assert_eq!(count(&after, "valeurs") - count(&before, "valeurs"), 831 + 8);
    // One audit row per CPTS of the file.
    assert_eq!(count(&after, "audit valeurs") - count(&before, "audit valeurs"), 6 + 8);
    server.kill();
    assert_eq!(integrity(&db), "ok");
    drop(mount);
    clean(&work);
}
