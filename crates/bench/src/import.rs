//! `cargo run --release -p cpts-bench -- import [ROWS]`: imports ROWS (default 1 000 000)
//! SYNTHETIC member rows and compares with a raw SQLite bulk insert of the same rows.
//! PostgreSQL too when CPTS_BENCH_POSTGRES_URL is set (see scripts/with-postgres.sh).

use std::process::Command;
use std::time::{Duration, Instant};

use crate::{python_seconds, rate};

use cpts_app::members::{IncomingMember, MembersImport};
use cpts_app::registry::{Ids, NewCpts};
use cpts_app::{App, Principal};
use cpts_domain::members::ImportMode;
use cpts_domain::registry::{Member, Profession};

const PROFESSIONS: [&str; 4] = ["infirmier", "médecin généraliste", "pharmacien", "masseur-kinésithérapeute"];
const COMMUNES: [&str; 4] = ["75118", "75117", "75119", "75109"];

fn csv_line(i: usize) -> String {
    format!("Nom{i};Prénom{i};{};;{};01/03/2021\n", PROFESSIONS[i % 4], COMMUNES[i % 4])
}

fn members(rows: usize) -> Vec<Member> {
    let profs = [
        Profession::Infirmier,
        Profession::MedecinGeneraliste,
        Profession::Pharmacien,
        Profession::MasseurKinesitherapeute,
    ];
    (0..rows)
        .map(|i| Member {
            last_name: format!("Nom{i}"),
            first_name: format!("Prénom{i}"),
            profession: profs[i % 4],
            rpps: None,
            commune: COMMUNES[i % 4].parse().unwrap_or_else(|_| std::process::exit(3)),
            joined: jiff::civil::date(2021, 3, 1),
            left: None,
        })
        .collect()
}

/// The application's import (plan against the stored members, then one transaction), as the
/// local operator, on members already read.
async fn store_import(url: &str, rows: &[Member]) -> Result<Duration, String> {
    let rules = cpts_engine::rules::RuleSet::builtin().map_err(|e| e.to_string())?;
    let app = App::open(url, rules).await.map_err(|e| e.to_string())?;
    let who = Principal::local_operator(format!("banc-import-{}", std::process::id()));
    let new = NewCpts {
        id: Some("cpts-bench".parse()?),
        name: "CPTS banc d'essai".into(),
        legal_form: None,
        ids: Ids::default(),
    };
    let id = app.create_cpts(&who, new).await.map_err(|e| e.to_string())?.id;
    // Line numbers as a file's: the header is line 1.
    let members: Vec<IncomingMember> = rows.iter().cloned().enumerate().map(|(i, m)| (i + 2, None, m)).collect();
    let cmd = MembersImport { id, members, mode: ImportMode::Add, left_on: None, dry_run: false };
    let t = Instant::now();
    app.import_members(&who, cmd, |_, _| {}).await.map_err(|e| e.to_string())?;
    let d = t.elapsed();
    app.close().await;
    Ok(d)
}

/// The same rows inserted by Python's sqlite3 (C) in one transaction: no parsing, no validation.
const RAW: &str = r#"
import sqlite3, sys, time
path, rows = sys.argv[1], int(sys.argv[2])
con = sqlite3.connect(path)
con.execute("PRAGMA journal_mode=WAL")
con.execute("CREATE TABLE member (cpts_id TEXT NOT NULL, seq BIGINT NOT NULL, last_name TEXT NOT NULL, first_name TEXT NOT NULL, profession TEXT NOT NULL, rpps TEXT, commune TEXT NOT NULL, joined TEXT NOT NULL, left_on TEXT, PRIMARY KEY (cpts_id, seq))")
con.execute("CREATE UNIQUE INDEX member_rpps ON member (cpts_id, rpps)")
profs = ["Infirmier", "MedecinGeneraliste", "Pharmacien", "MasseurKinesitherapeute"]
communes = ["75118", "75117", "75119", "75109"]
data = [("cpts-bench", i + 1, f"Nom{i}", f"Prénom{i}", profs[i % 4], None, communes[i % 4], "2021-03-01", None) for i in range(rows)]
t = time.perf_counter()
with con:
    con.executemany("INSERT INTO member VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", data)
print(time.perf_counter() - t)
"#;

pub fn run(rows: usize) {
    let dir = std::env::temp_dir().join(format!("cpts-bench-import-{}", std::process::id()));
    if std::fs::create_dir_all(&dir).is_err() {
        std::process::exit(3);
    }
    println!("Import de {rows} lignes de membres SYNTHÉTIQUES (générées par le banc)\n");
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(_) => std::process::exit(3),
    };

    // 1. End to end: the release `cpts members import` on a CSV file (parse, validate, store).
    let csv = dir.join("membres.csv");
    let mut text = String::from("Nom;Prénom;Profession;RPPS;Commune d'exercice;Date d'adhésion\n");
    for i in 0..rows {
        text.push_str(&csv_line(i));
    }
    let exe = std::env::current_exe().ok().and_then(|p| p.parent().map(|d| d.join("cpts")));
    let e2e = exe.filter(|p| p.exists()).and_then(|exe| {
        std::fs::write(&csv, &text).ok()?;
        let db = dir.join("e2e.sqlite");
        let db = db.to_str()?;
        Command::new(&exe).args(["--db", db, "create", "CPTS banc d'essai", "--id", "cpts-bench"]).output().ok()?;
        let t = Instant::now();
        let ok = Command::new(&exe)
            .args(["--db", db, "members", "import", "cpts-bench", csv.to_str()?])
            .output()
            .ok()?
            .status
            .success();
        ok.then(|| t.elapsed())
    });
    match e2e {
        Some(d) => {
            println!("cpts members import (CSV → validation → SQLite, processus complet) : {}", rate(rows, d, "lignes"))
        }
        None => println!("cpts members import : binaire cpts introuvable (cargo build --release d'abord)"),
    }

    // 2. The application alone, on members already read and validated.
    let data = members(rows);
    let sqlite = dir.join("store.sqlite");
    let store = rt.block_on(store_import(&sqlite.display().to_string(), &data));
    match &store {
        Ok(d) => println!("App::import_members, SQLite (plan puis une transaction) : {}", rate(rows, *d, "lignes")),
        Err(e) => println!("App::import_members, SQLite : erreur {e}"),
    }

    // 3. Raw SQLite bulk insert of the same rows.
    let raw = python_seconds(RAW, &[dir.join("raw.sqlite").to_str().unwrap_or("raw.sqlite"), &rows.to_string()]);
    match raw {
        Some(d) => {
            println!(
                "SQLite brut (python3 sqlite3.executemany, même schéma, une transaction) : {}",
                rate(rows, d, "lignes")
            );
            if let Ok(s) = &store {
                println!("  ratio application / brut : {:.2} (temps)", s.as_secs_f64() / d.as_secs_f64());
            }
            if let Some(e) = e2e {
                println!("  ratio cpts de bout en bout / brut : {:.2} (temps)", e.as_secs_f64() / d.as_secs_f64());
            }
        }
        None => println!("SQLite brut : python3 indisponible"),
    }

    // 4. PostgreSQL.
    if let Ok(admin) = std::env::var("CPTS_BENCH_POSTGRES_URL") {
        match rt.block_on(store_import(&admin, &data)) {
            Ok(d) => {
                println!("App::import_members, PostgreSQL (plan puis une transaction) : {}", rate(rows, d, "lignes"))
            }
            Err(e) => println!("App::import_members, PostgreSQL : erreur {e}"),
        }
    } else {
        println!(
            "PostgreSQL : définir CPTS_BENCH_POSTGRES_URL (scripts/with-postgres.sh le fournit sous le nom CPTS_TEST_POSTGRES_URL)"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
