//! `cargo run --release -p cpts-bench -- national [CPTS]`: the **synthetic** France of the
//! crate cpts-synthetic (default 1 000 CPTS on real communes, every lifecycle stage, contracts
//! 2019–2026 with their ledgers and payments, monthly values, reports in every state; see
//! docs/synthetic.md), written through the application; then times the national read models —
//! the CPTS list and the alerts — for the national level, one région (ARS) and one département
//! (CPAM), on SQLite and, with CPTS_BENCH_POSTGRES_URL, PostgreSQL. `--sans-valeurs`: the same
//! France without indicator values nor reports (a faster build; the lists and alerts read neither).
//! `--base URL`: measure on a store already holding it (`cpts demo --national --store URL`).
use std::time::{Duration, Instant};

use cpts_app::{App, Clock, Principal, Role, Scope};
use cpts_domain::geo::Geo;
use cpts_engine::rules::RuleSet;
use cpts_store::Store;
use jiff::civil::{Date, date};

use crate::median;

/// The day the measures are taken on (fixed: the same alerts on every run): the synthetic
/// France's generation day.
const TODAY: Date = date(2026, 11, 30);
const RUNS: usize = 11;

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

/// `existing`: measure on a store that already holds the synthetic France (`cpts demo
/// --national --store URL`, same day) instead of building one.
pub fn run(n: usize, values: bool, existing: Option<String>) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
    let (Ok(rules), Ok(geo)) = (RuleSet::builtin(), Geo::builtin()) else { return };
    println!(
        "Banc national : {n} CPTS SYNTHÉTIQUES (cpts-synthetic : communes réelles, toutes les étapes, contrats, grand livre, paiements{}), au {TODAY}", if values { ", valeurs et rapports" } else { "" }
    );
    let dir = std::env::temp_dir().join(format!("cpts-bench-national-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let mut targets = vec![("SQLite".to_string(), dir.join("national.sqlite").display().to_string())];
    if let Ok(url) = std::env::var("CPTS_BENCH_POSTGRES_URL") {
        targets.push(("PostgreSQL".into(), url));
    }
    if let Some(url) = &existing {
        let engine = if url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" };
        targets = vec![(format!("{engine} (base existante)"), url.clone())];
    }
    for (engine, url) in targets {
        let result = rt.block_on(async {
            let store = Store::open(&url).await.map_err(|e| e.to_string())?;
            let app = App::new(store, rules.clone(), geo.clone(), Clock::on(TODAY));
            if existing.is_some() {
                return Ok(app);
            }
            let t = Instant::now();
            let who = Principal::local_operator(format!("banc-national-{}", std::process::id()));
            let config = cpts_synthetic::Config { cpts: n, today: TODAY, values };
            let built = cpts_synthetic::generate(&app, &who, &config, |k| {
                if k % 200 == 0 {
                    eprintln!("  {k} CPTS écrites");
                }
            })
            .await;
            match built {
                Ok(s) => {
                    eprintln!("  construction : {} CPTS, {} valeurs en {:.1} s (non mesuré)", s.cpts, s.values, t.elapsed().as_secs_f64());
                    Ok(app)
                }
                Err(e) => {
                    app.close().await;
                    Err(e.to_string())
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
