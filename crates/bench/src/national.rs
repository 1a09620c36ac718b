//! `cargo run --release -p cpts-bench -- national [CPTS]`: a national **synthetic** store of
//! CPTS (default 1 000) spread over the real départements, each on real communes of its
//! département, with a signed ACI contract (signatures spread from 2021 to 2025), its ledger, a
//! year of monthly values for 20 indicators and its due ACI lines partly paid; then times the
//! national read models — the CPTS list and the alerts — for the national level, one région
//! (ARS) and one département (CPAM), on SQLite and, with CPTS_BENCH_POSTGRES_URL, PostgreSQL.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cpts_app::{App, Clock, Principal, Role, Scope};
use cpts_domain::agreement::Agreement;
use cpts_domain::book::{Book, Op};
use cpts_domain::geo::Geo;
use cpts_domain::ids::CptsId;
use cpts_domain::ledger::Payment;
use cpts_domain::lifecycle::{Actor, Event, Step};
use cpts_domain::registry::{Identity, Territory};
use cpts_domain::values::{Entry, Period, Reading};
use cpts_engine::rate::Dec;
use cpts_engine::rules::RuleSet;
use cpts_store::{Provenance, Store};
use jiff::civil::{Date, date};

use crate::median;

/// The day the measures are taken on (fixed: the same alerts on every run).
const TODAY: Date = date(2026, 11, 30);
const RUNS: usize = 11;

fn ev(step: Step, on: Date, actor: Actor) -> Event {
    Event {
        step,
        date: on,
        actor,
        by: "banc national".into(),
        document: Some("SYNTHÉTIQUE".into()),
        note: None,
        signatories: step.signatories().to_vec(),
    }
}

/// Contract annex: three socle missions started at signature, 15 indicators as objectives.
fn annex(signed: Date, population: u64) -> String {
    let mut s = format!("signed: {signed}\npopulation: {population}\npopulation_source: INSEE\nmissions:\n");
    let mut k = 0;
    for (mission, n) in [("acces_soins", 5), ("parcours", 5), ("prevention", 5)] {
        s.push_str(&format!("  - code: {mission}\n    start: {signed}\n    fixed: 20000\n    variable: 10000\n    objectives:\n"));
        for _ in 0..n {
            k += 1;
            s.push_str(&format!("      - {{indicator: ind_{k:02}, baseline: 0, target: 100, weight: 20}}\n"));
        }
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

fn stamp() -> cpts_store::Stamp {
    crate::op()
}

/// Build the store (not measured). Returns how many CPTS were written.
async fn build(store: &Store, geo: &Geo, rules: &RuleSet, n: usize) -> Result<usize, String> {
    let err = |e: cpts_store::StoreError| e.to_string();
    let mut written = 0;
    for (i, (id, communes)) in territories(geo, n).into_iter().enumerate() {
        if communes.is_empty() {
            continue;
        }
        let cid: CptsId = id.parse()?;
        let seat = communes.first().map(|c| c.code.clone());
        let identity = Identity {
            name: format!("CPTS synthétique {i:04} ({})", communes.first().map_or("", |c| c.name.as_str())),
            legal_form: "association loi 1901".into(),
            rna: None,
            siret: None,
            finess: None,
            seat: seat.clone(),
        };
        let territory = Territory { communes: communes.iter().map(|c| c.code.clone()).collect() };
        let areas = cpts_app::areas_of(geo, seat.as_ref(), &territory.communes);
        let r = store.create_cpts(&stamp(), &cid, &identity, &areas).await.map_err(err)?;
        store.set_territory(&stamp(), &cid, r.territory_version, &territory, &areas).await.map_err(err)?;
        let population: u64 = communes.iter().filter_map(|c| c.population).sum();
        // Signatures spread over five years, one a month from January 2021.
        let months = i32::try_from(i % 60).unwrap_or(0);
        let signed = date(2021 + i16::try_from(months / 12).unwrap_or(0), i8::try_from(months % 12 + 1).unwrap_or(1), 1);
        store.record_event(&stamp(), &cid, &ev(Step::Declare, date(2020, 6, 1), Actor::Cpts), 0).await.map_err(err)?;
        let (a, _) = Agreement::new(1, &identity.name, &annex(signed, population.max(1)), "CPAM (synthétique)", "ARS (synthétique)", rules)
            .map_err(|e| format!("annexe refusée : {e:?}"))?;
        let plan = Book::open(&a, rules)?;
        store.sign_contract(&stamp(), &cid, &ev(Step::Sign, signed, Actor::Cpam), 1, &a, &plan).await.map_err(err)?;
        // A year of monthly values: the contract's first year.
        let mut entries = Vec::new();
        for k in 1..=15 {
            for m in 0..12 {
                let month = months + m;
                entries.push(Entry {
                    cpts: cid.clone(),
                    indicator: format!("ind_{k:02}"),
                    period: Period::Month(2021 + i16::try_from(month / 12).unwrap_or(0), i8::try_from(month % 12 + 1).unwrap_or(1)),
                    reading: Reading { value: Dec::from_int(i64::try_from((i * 7 + k * 13) % 100).unwrap_or(0)), numerator: None, denominator: None },
                });
            }
        }
        let p = Provenance { source: "import".into(), file: Some("synthétique".into()), by: "banc".into(), role: Actor::Cpts };
        store.add_values(&stamp(), &p, &entries).await.map_err(err)?;
        // The CPAM paid the first due lines of two CPTS in three; the others wait (alerts).
        if i % 3 != 0 {
            let (book, version) = store.book(&cid, &identity.name, None).await.map_err(err)?;
            if let Some(l) = book.lines.iter().find(|l| l.planned.due <= TODAY && l.planned.amount.get() > 0) {
                let pay = Payment { line: l.id, amount: l.planned.amount, on: l.planned.due, by: "CPAM".into(), reference: None };
                let o = book.decide(&Op::Pay(pay), rules, TODAY)?;
                store.save_outcome(&stamp(), &cid, version, &book.agreement, &o, None, TODAY).await.map_err(err)?;
            }
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
    println!("  {label:<52} médiane {:>8.1} ms, meilleur {:>8.1} ms  ({})", ms(med), ms(min), last.as_ref().map(&count).unwrap_or_default());
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
            || rt.block_on(app.alerts(p, None, 30, TODAY)).map(|l| (l.len(), l.iter().map(|c| c.alerts.len()).sum::<usize>())).unwrap_or((0, 0)),
            |(c, a)| format!("{a} alertes sur {c} CPTS"),
        );
    }
}

pub fn run(n: usize) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
    let (Ok(rules), Ok(geo)) = (RuleSet::builtin(), Geo::builtin()) else { return };
    println!("Banc national : {n} CPTS SYNTHÉTIQUES (communes réelles, contrats, grand livre, un an de valeurs), au {TODAY}");
    let dir = std::env::temp_dir().join(format!("cpts-bench-national-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let mut targets = vec![("SQLite".to_string(), dir.join("national.sqlite").display().to_string())];
    if let Ok(url) = std::env::var("CPTS_BENCH_POSTGRES_URL") {
        targets.push(("PostgreSQL".into(), url));
    }
    for (engine, url) in targets {
        let result = rt.block_on(async {
            let store = Store::open(&url).await.map_err(|e| e.to_string())?;
            let t = Instant::now();
            let written = build(&store, &geo, &rules, n).await?;
            eprintln!("  construction : {written} CPTS en {:.1} s (non mesuré)", t.elapsed().as_secs_f64());
            Ok::<_, String>(store)
        });
        match result {
            Ok(store) => {
                let app = App::new(store, rules.clone(), geo.clone(), Clock::on(TODAY));
                measure(&rt, &app, &engine);
                rt.block_on(app.close());
            }
            Err(e) => eprintln!("{engine} : {e}"),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
