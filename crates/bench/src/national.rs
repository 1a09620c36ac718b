//! `cargo run --release -p cpts-bench -- national [CPTS]`: a national **synthetic** store of
//! CPTS (default 1 000) spread over the real départements, each on real communes of its
//! département, with a signed ACI contract (signatures spread from 2021 to 2025), its ledger, a
//! year of monthly values for 15 indicators and its due ACI lines partly paid, all written
//! through the application (the lifecycle's guards apply, as to a real CPTS); then times the
//! national read models — the CPTS list and the alerts — for the national level, one région
//! (ARS) and one département (CPAM), on SQLite and, with CPTS_BENCH_POSTGRES_URL, PostgreSQL.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cpts_app::contracts::SignContract;
use cpts_app::ledger::Pay;
use cpts_app::lifecycle::StepBy;
use cpts_app::registry::{Ids, NewCpts, SetTerritory};
use cpts_app::values::ImportValues;
use cpts_app::{App, Clock, Principal, Role, Scope};
use cpts_domain::geo::Geo;
use cpts_domain::ids::CptsId;
use cpts_domain::lifecycle::Actor;
use cpts_domain::registry::Territory;
use cpts_domain::values::RawValue;
use cpts_engine::rules::RuleSet;
use cpts_store::{Provenance, Store};
use jiff::civil::{Date, date};

use crate::median;

/// The day the measures are taken on (fixed: the same alerts on every run).
const TODAY: Date = date(2026, 11, 30);
const RUNS: usize = 11;
/// With `--a-jour`: what the CPAM has paid by (two months before the measure).
const PAID_UP_TO: Date = date(2026, 9, 30);

/// Contract annex: three socle missions started at signature, 15 indicators as objectives (and
/// the crisis mission, socle for contracts signed since avenant 2).
fn annex(signed: Date, population: u64) -> String {
    let mut s = format!("signed: {signed}\npopulation: {population}\npopulation_source: INSEE\nmissions:\n");
    let mut k = 0;
    for (mission, n) in [("acces_soins", 5), ("parcours", 5), ("prevention", 5)] {
        s.push_str(&format!(
            "  - code: {mission}\n    start: {signed}\n    fixed: 20000\n    variable: 10000\n    objectives:\n"
        ));
        for _ in 0..n {
            k += 1;
            s.push_str(&format!("      - {{indicator: ind_{k:02}, baseline: 0, target: 100, weight: 20}}\n"));
        }
    }
    // Since avenant 2 (31/03/2022), the crisis mission is a socle one: a contract lacks it no more.
    if signed >= date(2022, 3, 31) {
        s.push_str(&format!("  - {{code: crises, start: {signed}, fixed: 20000, activation: 30000}}\n"));
    }
    s
}

/// The CPTS of the synthetic France: for each, a département and 3 to 12 consecutive communes
/// of it (by code), the first one the seat.
fn territories(geo: &Geo, n: usize) -> Vec<(String, Vec<&cpts_domain::geo::Commune>)> {
    let mut by_dep: BTreeMap<&str, Vec<&cpts_domain::geo::Commune>> = BTreeMap::new();
    for c in geo.communes().iter().filter(|c| c.kind == cpts_domain::geo::Kind::Commune && c.population.is_some()) {
        by_dep.entry(c.departement.as_str()).or_default().push(c);
    }
    let deps: Vec<&str> = by_dep.keys().copied().collect();
    let mut used: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let Some(dep) = deps.get(i % deps.len().max(1)) else { break };
        let communes = by_dep.get(dep).cloned().unwrap_or_default();
        let size = 3 + i % 10;
        let start = used.entry(dep).or_default();
        let picked: Vec<_> = communes.iter().skip(*start).take(size).copied().collect();
        *start += size;
        out.push((format!("cpts-synth-{dep}-{i:04}").to_lowercase(), picked));
    }
    out
}

/// The day every synthetic CPTS's statutes were checked (after `crate::PATH`).
const STATUTES: Date = date(2020, 10, 15);

fn by(on: Date, actor: Actor) -> StepBy {
    StepBy { on, actor, by: "banc national".into(), document: Some("SYNTHÉTIQUE".into()), note: None }
}

/// Build the store through the application, as the local operator, on the measure day's
/// clock (not measured). Each CPTS takes the minimal valid path of a real one: created with
/// its seat, its territory, the six steps to a validated projet de santé, its statutes
/// checked, its contract signed (the parties follow from the seat), a year of values
/// imported, and two in three get their first due line paid. Returns how many were written.
async fn build(app: &App, n: usize, paid_up: bool) -> Result<usize, String> {
    let who = Principal::local_operator(format!("banc-national-{}", std::process::id()));
    let err = |e: cpts_app::AppError| e.to_string();
    let mut written = 0;
    for (i, (id, communes)) in territories(&app.geo, n).into_iter().enumerate() {
        if communes.is_empty() {
            continue;
        }
        let cid: CptsId = id.parse()?;
        let name = format!("CPTS synthétique {i:04} ({})", communes.first().map_or("", |c| c.name.as_str()));
        let seat = communes.first().map(|c| c.code.clone());
        let ids = Ids { seat, ..Ids::default() };
        let r =
            app.create_cpts(&who, NewCpts { id: Some(cid.clone()), name, legal_form: None, ids }).await.map_err(err)?;
        let territory = Territory { communes: communes.iter().map(|c| c.code.clone()).collect() };
        let cmd = SetTerritory { id: cid.clone(), version: r.territory_version, territory };
        app.set_territory(&who, cmd).await.map_err(err)?;
        for (step, actor, on) in crate::PATH {
            app.record_step(&who, &cid, step, &by(on, actor)).await.map_err(err)?;
        }
        app.set_statutes(&who, &cid, STATUTES, Some("statuts (synthétique)")).await.map_err(err)?;
        let population: u64 = communes.iter().filter_map(|c| c.population).sum();
        // Signatures spread over five years, one a month from January 2021.
        let months = i32::try_from(i % 60).unwrap_or(0);
        let signed =
            date(2021 + i16::try_from(months / 12).unwrap_or(0), i8::try_from(months % 12 + 1).unwrap_or(1), 1);
        let sign = SignContract {
            id: cid.clone(),
            annex: annex(signed, population.max(1)),
            by: by(signed, Actor::Cpam),
            cosigner: Actor::Ars,
        };
        app.sign_contract(&who, sign).await.map_err(err)?;
        // A year of monthly values: the contract's first year, imported as a file's rows.
        let mut rows = Vec::new();
        for k in 1..=15 {
            for m in 0..12 {
                let month = months + m;
                rows.push(RawValue {
                    line: rows.len() + 2,
                    cpts: id.clone(),
                    indicator: format!("ind_{k:02}"),
                    period: format!("{}-{:02}", 2021 + month / 12, month % 12 + 1),
                    value: ((i * 7 + k * 13) % 100).to_string(),
                    numerator: String::new(),
                    denominator: String::new(),
                });
            }
        }
        let provenance = Provenance {
            source: "import".into(),
            file: Some("synthétique".into()),
            by: "banc".into(),
            role: Actor::Cpts,
        };
        app.import_values(&who, ImportValues { rows, provenance }).await.map_err(err)?;
        let book = app.book(&who, &cid, None).await.map_err(err)?;
        let payable = |l: &&cpts_domain::ledger::Line| l.planned.amount.get() > 0 && l.waiting_for(&book.gates, TODAY).is_none();
        let lines: Vec<_> = if paid_up {
            // A CPAM up to date: every line payable by two months ago paid on its day, but the
            // last one in one CPTS in ten (late).
            let due: Vec<_> = book.lines.iter().filter(payable).filter(|l| l.planned.due <= PAID_UP_TO).collect();
            let keep = if i % 10 == 0 { due.len().saturating_sub(1) } else { due.len() };
            due.into_iter().take(keep).collect()
        } else {
            // The first due line of two CPTS in three; the others wait (alerts).
            book.lines.iter().filter(payable).filter(|l| l.planned.due <= TODAY && i % 3 != 0).take(1).collect()
        };
        for l in lines {
            let pay = Pay { id: cid.clone(), line: l.id, on: l.planned.due, amount: Some(l.planned.amount), by: "CPAM".into(), reference: None };
            app.pay(&who, pay).await.map_err(err)?;
        }
        written += 1;
        if written % 200 == 0 {
            eprintln!("  {written} CPTS écrites");
        }
    }
    Ok(written)
}

fn timed<T>(label: &str, f: impl Fn() -> T, count: impl Fn(&T) -> String) {
    let mut times = Vec::with_capacity(RUNS);
    let mut last = None;
    for _ in 0..RUNS {
        let t = Instant::now();
        let out = f();
        times.push(t.elapsed());
        last = Some(out);
    }
    let min = times.iter().min().copied().unwrap_or_default();
    let med = median(times);
    println!(
        "  {label:<52} médiane {:>8.1} ms, meilleur {:>8.1} ms  ({})",
        ms(med),
        ms(min),
        last.as_ref().map(&count).unwrap_or_default()
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn measure(rt: &tokio::runtime::Runtime, app: &App, engine: &str) {
    println!("\n{engine} :");
    let national = Principal::local_operator("banc");
    let region = cpts_app::policy::Principal {
        login: "ars-bretagne".into(),
        name: "ARS Bretagne".into(),
        grants: [cpts_app::Grant { role: Role::AgentArs, scope: Scope::Region("53".into()) }].into(),
        request: "banc".into(),
    };
    let dep = cpts_app::policy::Principal {
        login: "cpam-29".into(),
        name: "CPAM du Finistère".into(),
        grants: [cpts_app::Grant { role: Role::AgentCpam, scope: Scope::Departement("29".into()) }].into(),
        request: "banc".into(),
    };
    timed(
        "lecture seule des données nationales (scope_data)",
        || rt.block_on(app.store.scope_data(&cpts_store::Visible::everything(), date(2026, 12, 30))).map(|d| d.records.len()).unwrap_or(0),
        |n| format!("{n} CPTS"),
    );
    timed(
        "lecture seule de la liste (list_rows)",
        || rt.block_on(app.store.list_rows(&cpts_store::Visible::everything(), TODAY)).map(|d| d.len()).unwrap_or(0),
        |n| format!("{n} CPTS"),
    );
    for (who, p) in [("France", &national), ("région 53 (ARS)", &region), ("département 29 (CPAM)", &dep)] {
        timed(
            &format!("liste des CPTS, {who}"),
            || rt.block_on(app.list(p, TODAY)).map(|l| l.len()).unwrap_or_else(|e| {
                eprintln!("liste : {e}");
                0
            }),
            |n| format!("{n} CPTS"),
        );
        timed(
            &format!("alertes, {who}"),
            || {
                rt.block_on(app.alerts(p, None, 30, TODAY))
                    .map(|l| (l.len(), l.iter().map(|c| c.alerts.len()).sum::<usize>()))
                    .unwrap_or((0, 0))
            },
            |(c, a)| format!("{a} alertes sur {c} CPTS"),
        );
    }
}

pub fn run(n: usize, paid_up: bool) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
    let (Ok(rules), Ok(geo)) = (RuleSet::builtin(), Geo::builtin()) else { return };
    println!(
        "Banc national : {n} CPTS SYNTHÉTIQUES (communes réelles, contrats, grand livre, un an de valeurs), au {TODAY}{}", if paid_up { " ; CPAM à jour de ses paiements" } else { "" }
    );
    let dir = std::env::temp_dir().join(format!("cpts-bench-national-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let mut targets = vec![("SQLite".to_string(), dir.join("national.sqlite").display().to_string())];
    if let Ok(url) = std::env::var("CPTS_BENCH_POSTGRES_URL") {
        targets.push(("PostgreSQL".into(), url));
    }
    for (engine, url) in targets {
        let result = rt.block_on(async {
            let store = Store::open(&url).await.map_err(|e| e.to_string())?;
            let app = App::new(store, rules.clone(), geo.clone(), Clock::on(TODAY));
            let t = Instant::now();
            match build(&app, n, paid_up).await {
                Ok(written) => {
                    eprintln!("  construction : {written} CPTS en {:.1} s (non mesuré)", t.elapsed().as_secs_f64());
                    Ok(app)
                }
                Err(e) => {
                    app.close().await;
                    Err(e)
                }
            }
        });
        match result {
            Ok(app) => {
                measure(&rt, &app, &engine);
                rt.block_on(app.close());
            }
            Err(e) => eprintln!("{engine} : {e}"),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
