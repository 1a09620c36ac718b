//! `cargo run --release -p cpts-bench [-- --quick]`: measures the funding engine;
//! `-- import [ROWS]` and `-- values [CPTS] [--full]`: imports (import.rs, values.rs).
//! See docs/benchmarks.md for what each figure means and the reference it is compared to.
//!
//! Contracts are SYNTHETIC: generated here by a seeded generator (no real CPTS).

#![allow(clippy::as_conversions, clippy::cast_precision_loss, clippy::indexing_slicing)] // a harness: timings and fixed pools, never money

mod import;
mod national;
mod spans;
mod values;

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use cpts_engine::compute::{NoTrace, compute_year};
use cpts_engine::contract::Contract;
use cpts_engine::explain::Explanation;
use cpts_engine::input::load_case;
use cpts_engine::report::year_report;
use cpts_engine::rules::RuleSet;
use cpts_engine::simulate::simulate;

/// Deterministic generator (xorshift64*), so every run measures the same contracts.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// A synthetic contract: 4 socle missions (5 with an optional one), 1 to 3 indicators
/// each, results typed for the first years.
fn synthetic(rng: &mut Rng, i: usize) -> String {
    let signed_days = rng.range(0, 1800).cast_signed();
    let signed = jiff::civil::date(2022, 4, 1).checked_add(jiff::Span::new().days(signed_days)).unwrap_or_default();
    let mut population = rng.range(8_000, 320_000);
    if [40_000, 80_000, 175_000].contains(&population) {
        population += 1;
    }
    let mut s =
        format!("cpts: CPTS synthétique {i}\ncontract:\n  signed: {signed}\n  population: {population}\n  missions:\n");
    let mut indicators = Vec::new();
    let optional = rng.range(0, 2) == 1;
    for code in ["acces_soins", "parcours", "prevention", "crises", "qualite"] {
        if code == "qualite" && !optional {
            continue;
        }
        let start = signed.checked_add(jiff::Span::new().days(rng.range(0, 300).cast_signed())).unwrap_or(signed);
        let fixed = rng.range(10, 60) * 1000;
        if code == "crises" {
            s.push_str(&format!(
                "    - {{code: crises, start: {start}, fixed: {fixed}, activation: {}}}\n",
                fixed * 3 / 2
            ));
            continue;
        }
        s.push_str(&format!("    - code: {code}\n      start: {start}\n      fixed: {fixed}\n      variable: {fixed}\n      objectives:\n"));
        let n = rng.range(1, 4);
        let weights: &[u64] = match n {
            1 => &[100],
            2 => &[60, 40],
            _ => &[50, 30, 20],
        };
        for (k, w) in weights.iter().enumerate() {
            let name = format!("{code}_{k}");
            let rule = match rng.range(0, 3) {
                0 => "linear",
                1 => "all_or_nothing",
                _ => "threshold\n          floor: 50",
            };
            s.push_str(&format!(
                "        - indicator: {name}\n          target: {}\n          weight: {w}\n          rule: {rule}\n",
                rng.range(5, 500)
            ));
            indicators.push(name);
        }
    }
    s.push_str("years:\n");
    for y in 1..=3 {
        s.push_str(&format!(
            "  {y}:\n    crisis_plan: true\n    crisis_declared: {}\n    values:\n",
            rng.range(0, 10) == 0
        ));
        for ind in &indicators {
            s.push_str(&format!("      {ind}: {}\n", rng.range(0, 600)));
        }
    }
    s
}

fn contracts(rules: &RuleSet, n: usize) -> Vec<Contract> {
    let mut rng = Rng(0x5eed_c975);
    (0..n)
        .map(|i| {
            let text = synthetic(&mut rng, i);
            load_case(&text, rules).unwrap_or_else(|e| {
                eprintln!("contrat synthétique invalide : {e:?}\n{text}");
                std::process::exit(3)
            })
        })
        .collect()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// Best of `runs` timings of `f`.
fn best(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn per_sec(n: usize, d: Duration) -> String {
    let rate = n as f64 / d.as_secs_f64();
    if rate >= 1e6 { format!("{:.1} M/s", rate / 1e6) } else { format!("{:.0} k/s", rate / 1e3) }
}

/// `N` per second over `d`, with the unit's plural (« lignes », « valeurs »).
fn rate(n: usize, d: Duration, unit: &str) -> String {
    format!("{:.2} s, {:.0} {unit}/s", d.as_secs_f64(), n as f64 / d.as_secs_f64())
}

/// Run a Python script that prints the seconds it measured (the raw SQLite baselines).
fn python_seconds(script: &str, args: &[&str]) -> Option<Duration> {
    Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .map(Duration::from_secs_f64)
}

/// The steps a synthetic CPTS takes before it may sign (declaration, letter of intent, phase 1,
/// projet de santé validated by the ARS), on the same dates for every CPTS.
const PATH: [(cpts_domain::lifecycle::Step, cpts_domain::lifecycle::Actor, jiff::civil::Date); 6] = {
    use cpts_domain::lifecycle::{Actor, Step};
    use jiff::civil::date;
    [
        (Step::Declare, Actor::Cpts, date(2020, 1, 6)),
        (Step::Formalise, Actor::Cpts, date(2020, 2, 3)),
        (Step::ValidateLetter, Actor::Ars, date(2020, 3, 2)),
        (Step::StartPhase1, Actor::Ars, date(2020, 4, 1)),
        (Step::SubmitProject, Actor::Cpts, date(2020, 9, 1)),
        (Step::ValidateProject, Actor::Ars, date(2020, 10, 1)),
    ]
};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).is_some_and(|a| a == "import") {
        let rows = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(1_000_000);
        import::run(rows);
        return;
    }
    if args.get(1).is_some_and(|a| a == "national") {
        let cpts = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(1000);
        let base = args.iter().position(|a| a == "--base").and_then(|k| args.get(k + 1)).cloned();
        national::run(cpts, !args.iter().any(|a| a == "--sans-valeurs"), base);
        return;
    }
    if args.get(1).is_some_and(|a| a == "values") {
        let cpts = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(1000);
        values::run(cpts, args.iter().any(|a| a == "--full"));
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let rules = RuleSet::builtin().unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(3)
    });
    let reform = match rules.builtin_reform("projet-cnam-2019-04") {
        Some(Ok(r)) => r,
        _ => std::process::exit(3),
    };
    let runs = if quick { 2 } else { 7 };
    let only_trace = std::env::args().any(|a| a == "--only-trace");
    let pool = contracts(&rules, 1000);
    // Every (contract, year) pair of the pool, cycled to the batch size.
    let pairs: Vec<(usize, u8)> =
        pool.iter().enumerate().flat_map(|(i, c)| (1..=c.years()).map(move |y| (i, y))).collect();
    let batch = if quick { 50_000 } else { 500_000 };
    println!(
        "cpts-bench — {} contrats synthétiques, {} paires contrat-année ; meilleur de {runs} essais\n",
        pool.len(),
        pairs.len()
    );

    if only_trace {
        // For profilers: the traced loop only.
        let mut ex = Explanation::default();
        for k in 0..50_000 {
            let (i, y) = pairs[k % pairs.len()];
            ex.clear();
            let _ = black_box(compute_year(&rules, &pool[i], y, &mut ex));
            black_box(&ex);
        }
        return;
    }
    // (a) batch throughput, no trace, one thread and two.
    let run_batch = |lo: usize, hi: usize| {
        let mut sum = 0i64;
        for k in lo..hi {
            let (i, y) = pairs[k % pairs.len()];
            if let Ok(a) = compute_year(&rules, &pool[i], y, &mut NoTrace) {
                sum = sum.wrapping_add(a.total.get());
            }
        }
        black_box(sum)
    };
    let d1 = best(runs, || {
        run_batch(0, batch);
    });
    if std::env::args().any(|a| a == "--only-batch") {
        return;
    }
    let d2 = best(runs, || {
        std::thread::scope(|s| {
            let h = s.spawn(|| run_batch(0, batch / 2));
            run_batch(batch / 2, batch);
            let _ = h.join();
        });
    });
    if std::env::args().any(|a| a == "--only-batch") {
        return; // for profilers: setup and the batch only
    }
    println!(
        "(a) lot sans explication, {batch} années-CPTS : {:.1} ms sur 1 cœur ({}), {:.1} ms sur 2 cœurs ({})",
        d1.as_secs_f64() * 1e3,
        per_sec(batch, d1),
        d2.as_secs_f64() * 1e3,
        per_sec(batch, d2)
    );

    // (a') with explanations recorded (structured trace), and rendered to French text.
    let n_ex = if quick { 5_000 } else { 50_000 };
    // One explanation buffer reused across years (`clear` keeps its memory), as a batch would.
    let mut ex = Explanation::default();
    let de = best(runs, || {
        for k in 0..n_ex {
            let (i, y) = pairs[k % pairs.len()];
            ex.clear();
            let _ = black_box(compute_year(&rules, &pool[i], y, &mut ex));
            black_box(&ex);
        }
    });
    let traced = |lo: usize, hi: usize| {
        let mut ex = Explanation::default();
        for k in lo..hi {
            let (i, y) = pairs[k % pairs.len()];
            ex.clear();
            let _ = black_box(compute_year(&rules, &pool[i], y, &mut ex));
        }
        black_box(ex.lines.len())
    };
    let de2 = best(runs, || {
        std::thread::scope(|s| {
            let h = s.spawn(|| traced(0, n_ex / 2));
            traced(n_ex / 2, n_ex);
            let _ = h.join();
        });
    });
    let df = best(runs, || {
        for k in 0..n_ex {
            let (i, y) = pairs[k % pairs.len()];
            let mut fresh = Explanation::default();
            let _ = black_box(compute_year(&rules, &pool[i], y, &mut fresh));
            black_box(&fresh);
        }
    });
    let dr = best(runs, || {
        for k in 0..n_ex {
            let (i, y) = pairs[k % pairs.len()];
            let _ = black_box(year_report(&rules, &pool[i], y));
        }
    });
    let per5k = |d: Duration| d.as_secs_f64() * 1e3 * 5000.0 / n_ex as f64;
    println!(
        "    avec explication ({n_ex} années-CPTS, temps ramené à 5 000) : trace {:.2} ms ({}), sur 2 cœurs {:.2} ms ({}) ; trace dans un tampon neuf par année {:.2} ms ({}) ; trace rendue en texte français avec sources {:.2} ms ({})",
        per5k(de),
        per_sec(n_ex, de),
        per5k(de2),
        per_sec(n_ex, de2),
        per5k(df),
        per_sec(n_ex, df),
        per5k(dr),
        per_sec(n_ex, dr)
    );

    // (b) latency of one CPTS-year computed and explained (rendered).
    let lat: Vec<Duration> = (0..2000)
        .map(|k| {
            let (i, y) = pairs[(k * 7) % pairs.len()];
            let t = Instant::now();
            let _ = black_box(year_report(&rules, &pool[i], y));
            t.elapsed()
        })
        .collect();
    println!("(b) une année-CPTS calculée et expliquée : médiane {:.1} µs", median(lat).as_secs_f64() * 1e6);

    // (c) whole-France reform simulation: 1 000 CPTS × 5 years, baseline vs reform.
    let mut listed = 0usize;
    let ds = best(runs, || {
        if let Ok(sim) = simulate(&rules, &reform, &pool) {
            listed = sim.cases.iter().filter(|c| c.as_ref().is_ok_and(|d| d.diff.total.get() != 0)).count();
            black_box(&sim);
        }
    });
    println!(
        "(c) simulation France entière, {} CPTS × 5 ans, en vigueur contre réforme : {:.2} ms ({listed} CPTS dont le droit change, écarts listés)",
        pool.len(),
        ds.as_secs_f64() * 1e3
    );

    // (d) process start to first result, rules loaded: the release binary, best and median of 20.
    let exe = std::env::current_exe().ok().and_then(|p| p.parent().map(|d| d.join("cpts")));
    match exe.filter(|p| p.exists()) {
        Some(exe) => {
            let times: Vec<Duration> = (0..20)
                .filter_map(|_| {
                    let t = Instant::now();
                    let ok = Command::new(&exe)
                        .args(["funding", "year", "examples/cpts-exemple.yaml", "--json"])
                        .output()
                        .ok()?
                        .status
                        .success();
                    ok.then(|| t.elapsed())
                })
                .collect();
            let min = times.iter().min().copied().unwrap_or_default();
            println!(
                "(d) démarrage du processus jusqu'au premier résultat (cpts funding year --json) : médiane {:.1} ms, meilleur {:.1} ms",
                median(times).as_secs_f64() * 1e3,
                min.as_secs_f64() * 1e3
            );
        }
        None => println!("(d) binaire cpts introuvable à côté du banc : lancez `cargo build --release` d'abord"),
    }
}
