//! A small synthetic France (30 CPTS) on SQLite, written twice: its invariants and its
//! determinism.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail by panicking

use std::collections::{BTreeMap, BTreeSet};

use cpts_app::{App, Principal};
use cpts_domain::book::Book;
use cpts_domain::ledger::Source;
use cpts_domain::lifecycle::Stage;
use cpts_engine::rules::RuleSet;
use cpts_synthetic::{Config, Summary, generate};

fn config() -> Config {
    Config { cpts: 30, ..Config::national() }
}

/// What the store holds, read back through the application: (stage per CPTS, latest report
/// status per report, every live ledger line's (due, amount, paid)).
type Fingerprint = (Vec<String>, BTreeMap<String, usize>, Vec<(String, i64, i64)>);

/// Generate into a fresh SQLite file, check the invariants, return what was written.
async fn run(name: &'static str) -> (Summary, Fingerprint) {
    // In memory when the system has it (/dev/shm): the time is the commits' syncs, not the work.
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() };
    let file = dir.join(format!("cpts-synthetic-{name}-{}.sqlite", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let app = App::open(&file.display().to_string(), RuleSet::builtin().unwrap()).await.unwrap();
    assert!(!cpts_synthetic::present(&app).await.unwrap());
    let who = Principal::local_operator("test-synthetique");
    let cfg = config();
    let summary = generate(&app, &who, &cfg, |_| {}).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(summary.cpts, 30, "{summary:?}");
    assert!(cpts_synthetic::present(&app).await.unwrap(), "the store says it is synthetic");
    let today = cfg.today;

    // No commune in two CPTS (a city and its arrondissements would count as overlapping too).
    assert!(app.overlaps(&who).await.unwrap().is_empty());
    let list = app.list(&who, today).await.unwrap();
    let mut communes = BTreeSet::new();
    for e in list.iter() {
        assert!(e.cpts.record.identity.name.contains("synthétique"), "{}", e.cpts.record.identity.name);
        for c in &e.cpts.record.territory.communes {
            assert!(communes.insert(c.clone()), "{c} in two CPTS");
        }
    }

    // Every stage, as the application sees it on the generation day.
    let stages: BTreeSet<Stage> = list.iter().filter_map(|e| e.stage.map(|s| s.0)).collect();
    assert_eq!(stages, Stage::ALL.into_iter().collect(), "{summary:?}");

    // Reports in every state (the latest version of each).
    let mut latest: BTreeMap<(String, i64, u8), (i64, &'static str)> = BTreeMap::new();
    for (id, r) in app.reports(&who, None).await.unwrap() {
        let k = (id.to_string(), r.contract, r.year);
        if latest.get(&k).is_none_or(|(v, _)| *v < r.version) {
            latest.insert(k, (r.version, r.status.code()));
        }
    }
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    for (_, s) in latest.values() {
        *statuses.entry((*s).to_string()).or_default() += 1;
    }
    for s in ["brouillon", "soumis", "en_revue", "a_corriger", "valide"] {
        assert!(statuses.contains_key(s), "no report « {s} »: {statuses:?}");
    }
    assert_eq!(summary.reports.values().sum::<usize>(), latest.len());

    // Contracts signed from 2019 (the ACI in force) to 2026; values; payments.
    let mut years = BTreeSet::new();
    let mut lines = Vec::new();
    for e in list.iter() {
        let id = &e.cpts.record.id;
        let v = app.ledger(&who, id).await.unwrap();
        for a in &v.agreements {
            years.insert(a.signed().year());
            assert!(a.annex.contains("SYNTHÉTIQUE"));
            // Each contract's live ACI lines add up, year by year and component by component,
            // to what the domain plans for it as it stands.
            let mut want: BTreeMap<(u8, String), i64> = BTreeMap::new();
            for p in Book::open(a, &app.rules).unwrap() {
                if let Source::Aci { year, component, .. } = p.source {
                    *want.entry((year, component)).or_default() += p.amount.get();
                }
            }
            let mut have: BTreeMap<(u8, String), i64> = BTreeMap::new();
            for l in v.lines.iter().filter(|l| l.cancelled.is_none()) {
                if let Source::Aci { contract, year, component, .. } = &l.planned.source
                    && *contract == a.seq
                {
                    *have.entry((*year, component.clone())).or_default() += l.planned.amount.get();
                }
            }
            assert_eq!(want, have, "{id}, contrat n° {}", a.seq);
        }
        for l in v.lines.iter().filter(|l| l.cancelled.is_none()) {
            lines.push((format!("{id} {}", l.planned.due), l.planned.amount.get(), l.paid.get()));
        }
        assert!(v.payments.iter().all(|p| p.on <= today && p.by.contains("SYNTHÉTIQUE")));
    }
    assert!(years.contains(&2019) && years.iter().all(|y| (2019..=2026).contains(y)), "{years:?}");
    assert!(summary.values > 10_000 && summary.payments > 50 && summary.paid > 0, "{summary:?}");
    assert_eq!(lines.iter().map(|l| l.2).sum::<i64>(), summary.paid);
    let stages = list.iter().map(|e| format!("{} {:?}", e.cpts.record.id, e.stage)).collect();
    app.close().await;
    let _ = std::fs::remove_file(&file);
    for ext in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", file.display()));
    }
    (summary, (stages, statuses, lines))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_synthetic_france_keeps_its_invariants_and_is_the_same_on_every_run() {
    // Two stores written at once: the same France in both.
    let (first, second) = (tokio::spawn(run("a")), tokio::spawn(run("b")));
    let ((a, fa), (b, fb)) = (first.await.unwrap(), second.await.unwrap());
    assert_eq!(a, b);
    assert_eq!(fa, fb);
}
