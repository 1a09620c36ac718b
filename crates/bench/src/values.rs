//! `cargo run --release -p cpts-bench -- values [CPTS] [--full]`: imports the monthly indicator
//! values of CPTS (default 1 000) SYNTHETIC CPTS × 20 indicators, 50 months (1 000 000 values),
//! or 120 months with `--full` (ten years: 2 400 000 values, over a contract and its renewal),
//! and compares with a raw SQLite bulk insert of the same rows.
//!
//! The pipeline is the CLI's (`cpts values import`): the CSV read row by row
//! (`cpts_render::read_table_rows`) → `RawValue` rows → `App::import_values_from`, which
//! checks and writes them by chunks (the policy on each CPTS, their contracts and stored
//! periods, `values::Checker`, `ValuesTx`) in one transaction, one batch.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::{python_seconds, rate};

use cpts_app::contracts::SignContract;
use cpts_app::lifecycle::StepBy;
use cpts_app::registry::{Ids, NewCpts, SetTerritory};
use cpts_app::{App, Clock, Principal};
use cpts_domain::ids::InseeCode;
use cpts_domain::lifecycle::Actor;
use cpts_domain::registry::Territory;
use cpts_app::values::{ReadRow, ValueColumns};
use cpts_engine::rules::RuleSet;
use cpts_store::Provenance;
use jiff::civil::{Date, date};

/// The five national indicators entered monthly (catalogue periodicity `mois`); the other
/// catalogue indicators are quarterly or yearly and refuse months.
const NATIONAL: [&str; 5] = [
    "patients_sans_mt_aides",
    "patients_sans_mt_aides_70",
    "patients_sans_mt_aides_ald",
    "snp_creneaux",
    "snp_taux_reponse",
];
/// The one share among them: entered as numerator and denominator.
const SHARE: &str = "snp_taux_reponse";
const INDICATORS: usize = 20;
/// Objectives per socle mission with a variable part, and their weights (each adds up to 100).
const MISSIONS: [(&str, &[u32]); 3] = [
    ("acces_soins", &[20, 15, 15, 15, 15, 10, 10]),
    ("parcours", &[20, 15, 15, 15, 15, 10, 10]),
    ("prevention", &[20, 20, 15, 15, 15, 15]),
];

fn indicators() -> Vec<String> {
    let specific = (NATIONAL.len() + 1..=INDICATORS).map(|k| format!("ind_{k:02}"));
    NATIONAL.iter().map(|s| s.to_string()).chain(specific).collect()
}

/// Contract annex: three socle missions, the 20 indicators as objectives (and the crisis
/// mission, socle for contracts signed since avenant 2).
fn annex(signed: Date) -> String {
    let mut s = format!("signed: {signed}\npopulation: 38000\nmissions:\n");
    let mut codes = indicators().into_iter();
    for (mission, weights) in MISSIONS {
        s.push_str(&format!(
            "  - code: {mission}\n    start: {signed}\n    fixed: 20000\n    variable: 10000\n    objectives:\n"
        ));
        for w in weights {
            let code = codes.next().unwrap_or_default();
            let (baseline, target) = if code == SHARE { (50, 80) } else { (0, 100) };
            s.push_str(&format!(
                "      - {{indicator: {code}, baseline: {baseline}, target: {target}, weight: {w}}}\n"
            ));
        }
    }
    if signed >= date(2022, 3, 31) {
        s.push_str(&format!("  - {{code: crises, start: {signed}, fixed: 20000, activation: 30000}}\n"));
    }
    s
}

fn cpts_id(i: usize) -> String {
    format!("cpts-banc-{i:04}")
}

/// Month `m` (0-based) from January 2021, as typed: `2021-03`.
fn period(m: usize) -> String {
    format!("{}-{:02}", 2021 + m / 12, m % 12 + 1)
}

/// The CSV file: one line per CPTS, indicator and month (CPTS by CPTS).
fn csv_text(cpts: usize, months: usize) -> String {
    let codes = indicators();
    let mut s = String::from("CPTS;Indicateur;Période;Valeur;Numérateur;Dénominateur\n");
    for i in 0..cpts {
        let id = cpts_id(i);
        for (k, code) in codes.iter().enumerate() {
            for m in 0..months {
                let p = period(m);
                if code == SHARE {
                    let den = 100 + (i + m) % 50;
                    s.push_str(&format!("{id};{code};{p};;{};{den}\n", den * 3 / 4));
                } else {
                    s.push_str(&format!("{id};{code};{p};{};;\n", (i * 7 + k * 13 + m * 3) % 100));
                }
            }
        }
    }
    s
}


fn by(on: Date, actor: Actor) -> StepBy {
    StepBy { on, actor, by: "banc".into(), document: Some("contrat synthétique".into()), note: None }
}

/// A fresh store with `cpts` CPTS, each on its own commune, with its contract signed
/// 1 January 2021 (five years), and with `--full` its renewal signed 1 January 2026; all
/// through the application, as the local operator, on a clock stopped after the last
/// signature. Not measured.
async fn setup(path: &Path, rules: &RuleSet, cpts: usize, full: bool) -> Result<(), String> {
    let mut app = App::open(&path.display().to_string(), rules.clone()).await.map_err(|e| e.to_string())?;
    app.clock = Clock::on(date(2026, 6, 1));
    let who = Principal::local_operator(format!("banc-valeurs-{}", std::process::id()));
    let err = |e: cpts_app::AppError| e.to_string();
    let mut contracts = vec![date(2021, 1, 1)];
    if full {
        contracts.push(date(2026, 1, 1));
    }
    // One commune each (no overlaps to report), among those with a population.
    let communes: Vec<InseeCode> = app
        .geo
        .communes()
        .iter()
        .filter(|c| c.kind == cpts_domain::geo::Kind::Commune && c.population.is_some())
        .map(|c| c.code.clone())
        .take(cpts)
        .collect();
    for (i, commune) in communes.into_iter().enumerate() {
        let new = NewCpts {
            id: Some(cpts_id(i).parse()?),
            name: format!("CPTS banc {i}"),
            legal_form: None,
            ids: Ids::default(),
        };
        let r = app.create_cpts(&who, new).await.map_err(err)?;
        let territory = Territory { communes: [commune].into() };
        app.set_territory(&who, SetTerritory { id: r.id.clone(), version: r.territory_version, territory })
            .await
            .map_err(err)?;
        for (step, actor, on) in crate::PATH {
            app.record_step(&who, &r.id, step, &by(on, actor)).await.map_err(err)?;
        }
        app.set_statutes(&who, &r.id, date(2020, 10, 15), Some("statuts (synthétique)")).await.map_err(err)?;
        for on in &contracts {
            let cmd =
                SignContract { id: r.id.clone(), annex: annex(*on), by: by(*on, Actor::Cpam), cosigner: Actor::Ars };
            app.sign_contract(&who, cmd).await.map_err(err)?;
        }
    }
    app.close().await;
    Ok(())
}

/// Rows of the file as the CLI reads them (`read_table_rows`, then the value columns), one
/// by one: cells untouched.
fn file_rows(file: &Path) -> Result<impl Iterator<Item = ReadRow> + Send + 'static, String> {
    let f = std::fs::File::open(file).map_err(|e| e.to_string())?;
    let rows = cpts_render::read_table_rows(f).map_err(|e| e.to_string())?;
    let columns = ValueColumns::of(&rows.header).map_err(|e| format!("{e:?}"))?;
    Ok(rows.map(move |r| r.map(|(line, cells)| columns.row(line, cells))))
}

#[derive(Default)]
struct Steps {
    /// The file read into rows, alone (nothing kept).
    read: Duration,
    /// `App::import_values_from`: read, check and write, chunk by chunk, one transaction.
    import: Duration,
    /// Of `import`: until the first 1 000 rows are written.
    first_chunk: Duration,
}

/// The CLI's pipeline in process, as the local operator.
async fn pipeline(db: &Path, file: &Path, rules: &RuleSet) -> Result<(Steps, usize), String> {
    let app = App::open(&db.display().to_string(), rules.clone()).await.map_err(|e| e.to_string())?;
    let who = Principal::local_operator("banc-valeurs");
    let mut steps = Steps::default();
    let t = Instant::now();
    let mut n = 0;
    for r in file_rows(file)? {
        r.map_err(|e| e.to_string())?;
        n += 1;
    }
    steps.read = t.elapsed();

    let p =
        Provenance { source: "import".into(), file: Some("valeurs.csv".into()), by: "banc".into(), role: Actor::Cpts };
    let t = Instant::now();
    let mut first = None;
    let done = app
        .import_values_from(&who, file_rows(file)?, &p, |_| {
            first.get_or_insert_with(|| t.elapsed());
        })
        .await
        .map_err(|e| e.to_string())?;
    steps.import = t.elapsed();
    steps.first_chunk = first.unwrap_or_default();
    app.close().await;
    if done.stored != n {
        return Err(format!("{} valeurs enregistrées pour {n} lignes", done.stored));
    }
    Ok((steps, done.stored))
}

/// The same rows inserted by Python's sqlite3 (C) in one transaction into a table with the same
/// columns and the same partial unique index: no parsing, no validation, no foreign keys.
const RAW: &str = r#"
import sqlite3, sys, time
path, cpts, months = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
codes = sys.argv[4].split(",")
con = sqlite3.connect(path)
con.execute("PRAGMA journal_mode=WAL")
con.execute("CREATE TABLE indicator_value (cpts_id TEXT NOT NULL, indicator TEXT NOT NULL, period TEXT NOT NULL, value TEXT NOT NULL, numerator TEXT, denominator TEXT, batch BIGINT NOT NULL, replaced_by BIGINT)")
con.execute("CREATE UNIQUE INDEX indicator_value_current ON indicator_value (cpts_id, indicator, period) WHERE replaced_by IS NULL")
data = []
for i in range(cpts):
    cid = f"cpts-banc-{i:04}"
    for k, code in enumerate(codes):
        for m in range(months):
            p = f"{2021 + m // 12}-{m % 12 + 1:02}"
            if code == "snp_taux_reponse":
                den = 100 + (i + m) % 50
                num = den * 3 // 4
                data.append((cid, code, p, f"{100 * num / den:.2f}", str(num), str(den), 1))
            else:
                data.append((cid, code, p, str((i * 7 + k * 13 + m * 3) % 100), None, None, 1))
t = time.perf_counter()
with con:
    con.executemany("INSERT INTO indicator_value VALUES (?, ?, ?, ?, ?, ?, ?, NULL)", data)
print(time.perf_counter() - t)
"#;

fn fail(m: &str) -> ! {
    eprintln!("{m}");
    std::process::exit(3)
}

/// This process's peak resident memory in kB (Linux).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The release `cpts values import` as a new process, under `/usr/bin/time` when it exists
/// (for the peak RSS). Returns the time and the peak RSS in kB.
fn cli(db: &Path, file: &Path) -> Option<(Duration, Option<u64>)> {
    let exe = std::env::current_exe().ok().and_then(|p| p.parent().map(|d| d.join("cpts")))?;
    if !exe.exists() {
        return None;
    }
    let args = ["--db", db.to_str()?, "values", "import", file.to_str()?, "--as", "cpts", "--by", "banc"];
    let timed = Path::new("/usr/bin/time").exists();
    let mut cmd = if timed {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-f").arg("%M").arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    let t = Instant::now();
    let out = cmd.args(args).output().ok()?;
    let d = t.elapsed();
    if !out.status.success() {
        eprintln!("cpts values import : {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let rss = timed
        .then(|| String::from_utf8_lossy(&out.stderr).lines().last().and_then(|l| l.trim().parse().ok()))
        .flatten();
    Some((d, rss))
}

pub fn run(cpts: usize, full: bool) {
    let months = if full { 120 } else { 50 };
    let n = cpts * INDICATORS * months;
    let dir = std::env::temp_dir().join(format!("cpts-bench-values-{}", std::process::id()));
    if std::fs::create_dir_all(&dir).is_err() {
        fail("dossier temporaire impossible");
    }
    println!(
        "Import de {n} valeurs d'indicateurs SYNTHÉTIQUES : {cpts} CPTS × {INDICATORS} indicateurs × {months} mois{}\n",
        if full { " (dix ans, contrat et renouvellement)" } else { "" }
    );
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap_or_else(|_| fail("tokio"));
    let rules = RuleSet::builtin().unwrap_or_else(|e| fail(&e.to_string()));

    // Setup, not measured: the CPTS and their signed contracts, then a copy for the CLI.
    let t = Instant::now();
    let db = dir.join("store.sqlite");
    if let Err(e) = rt.block_on(setup(&db, &rules, cpts, full)) {
        fail(&format!("préparation : {e}"));
    }
    let e2e_db = dir.join("e2e.sqlite");
    if std::fs::copy(&db, &e2e_db).is_err() {
        fail("copie de la base impossible");
    }
    let file = dir.join("valeurs.csv");
    if std::fs::write(&file, csv_text(cpts, months)).is_err() {
        fail("écriture du CSV impossible");
    }
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    println!(
        "(préparation non mesurée : {cpts} CPTS et leurs contrats signés, fichier CSV de {:.0} Mo, {:.1} s)\n",
        size as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    // 1. End to end: the release `cpts values import` on the CSV file.
    let e2e = cli(&e2e_db, &file);
    match e2e {
        Some((d, rss)) => println!(
            "cpts values import (CSV → contrôle → SQLite, processus complet) : {}{}",
            rate(n, d, "valeurs"),
            rss.map_or_else(String::new, |kb| format!(", pic de mémoire {:.0} Mo", kb as f64 / 1024.0))
        ),
        None => {
            println!("cpts values import : binaire cpts introuvable ou import refusé (cargo build --release d'abord)")
        }
    }

    // 2. The same pipeline in process, step by step.
    let (done, phases) = crate::spans::timed(|| rt.block_on(pipeline(&db, &file, &rules)));
    let steps = match done {
        Ok((s, stored)) if stored == n => s,
        Ok((_, stored)) => fail(&format!("{stored} valeurs enregistrées au lieu de {n}")),
        Err(e) => fail(&format!("import refusé : {e}")),
    };
    println!(
        "  lecture seule du CSV en lignes brutes (read_table_rows, rien de gardé) : {}",
        rate(n, steps.read, "valeurs")
    );
    println!(
        "  (c) import en processus (App::import_values_from : lecture, droits, contrats, contrôle, écriture SQLite par tranches de 10 000 lignes, une transaction) : {} (dont {:.2} s jusqu'aux 1 000 premières lignes écrites){}",
        rate(n, steps.import, "valeurs"),
        steps.first_chunk.as_secs_f64(),
        peak_rss().map_or_else(String::new, |kb| format!(", pic de mémoire du banc {:.0} Mo", kb as f64 / 1024.0))
    );

    println!("  phases de (c), temps réel de chaque étape (attentes de la base comprises), sommé sur les tranches :");
    for (name, (d, count)) in &phases {
        println!(
            "    {name:<28} {:>7.2} s  {:>5.1} %  ({count} fois)",
            d.as_secs_f64(),
            100.0 * d.as_secs_f64() / steps.import.as_secs_f64()
        );
    }

    // 3. Raw SQLite bulk insert of the same rows.
    let raw = python_seconds(
        RAW,
        &[
            dir.join("raw.sqlite").to_str().unwrap_or("raw.sqlite"),
            &cpts.to_string(),
            &months.to_string(),
            &indicators().join(","),
        ],
    );
    match raw {
        Some(d) => {
            println!(
                "(d) SQLite brut (python3 sqlite3.executemany, mêmes colonnes et index unique partiel, une transaction) : {}",
                rate(n, d, "valeurs")
            );
            let ratio = |x: Duration| x.as_secs_f64() / d.as_secs_f64();
            println!(
                "(e) ratios (temps) : import en processus / brut {:.2}{}",
                ratio(steps.import),
                e2e.map_or_else(String::new, |(e, _)| format!(" ; cpts de bout en bout / brut {:.2}", ratio(e)))
            );
        }
        None => println!("SQLite brut : python3 indisponible"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}
