//! `cpts funding …`: one contract year, the schedule, a reform simulation, the rules.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use cpts_engine::dates::fr;
use cpts_engine::money::Cents;
use cpts_engine::report::{LineReport, ScheduleReport, YearReport, schedule_report, year_report};
use cpts_engine::rules::{Grade, RuleSet};
use cpts_engine::simulate::{Totals, simulate};
use cpts_engine::testcase::run_file;

use crate::load::{self, CliError};
use crate::table::Table;

#[derive(Subcommand)]
pub enum FundingCmd {
    /// Calculer et expliquer une année de contrat
    Year {
        /// Dossier du contrat (YAML)
        case: PathBuf,
        /// Année de contrat (1 = de la signature au premier anniversaire)
        #[arg(long, default_value_t = 1)]
        year: u8,
        /// Sortie JSON (montants en centimes)
        #[arg(long)]
        json: bool,
        /// Calculer sous une réforme (identifiant livré ou fichier)
        #[arg(long)]
        reform: Option<String>,
    },
    /// Échéancier daté des versements sur toute la durée du contrat
    Schedule {
        /// Dossier du contrat (YAML)
        case: PathBuf,
        /// Sortie JSON (montants en centimes)
        #[arg(long)]
        json: bool,
        /// Afficher le calcul de chaque versement et de chaque droit annuel
        #[arg(long)]
        detail: bool,
        /// Échelonner sous une réforme (identifiant livré ou fichier)
        #[arg(long)]
        reform: Option<String>,
    },
    /// Comparer une réforme aux règles en vigueur sur des contrats (fichiers ou dossiers)
    Simulate {
        /// Réforme à comparer (identifiant livré ou fichier)
        #[arg(long)]
        reform: String,
        /// Dossiers de contrat (YAML) ou dossiers qui en contiennent
        #[arg(required = true)]
        cases: Vec<PathBuf>,
        /// Sortie JSON (montants en centimes)
        #[arg(long)]
        json: bool,
    },
    /// Lister les paramètres, leurs valeurs datées, grades et sources
    Rules {
        /// Seulement les valeurs de ce grade (P, S ou U)
        #[arg(long)]
        grade: Option<String>,
        /// Sortie JSON
        #[arg(long)]
        json: bool,
    },
    /// Vérifier les règles (couverture des dates, grades, sources)
    Check,
    /// Exécuter des fichiers de cas de test (style OpenFisca)
    Test {
        /// Fichiers de cas de test ou dossiers qui en contiennent
        #[arg(default_value = "tests/funding")]
        paths: Vec<PathBuf>,
    },
}

pub fn run(cmd: FundingCmd, rules_dir: Option<&Path>) -> Result<(), CliError> {
    let base = load::rules(rules_dir)?;
    match cmd {
        FundingCmd::Year { case, year, json, reform } => {
            let rules = with_reform(&base, reform.as_deref())?;
            let c = load::case(&rules, &case)?;
            let r = year_report(&rules, &c, year).map_err(|error| CliError::Engine { file: case.clone(), error })?;
            if json { print_json(&r) } else { emit(&year_text(&r)) }
        }
        FundingCmd::Schedule { case, json, detail, reform } => {
            let rules = with_reform(&base, reform.as_deref())?;
            let c = load::case(&rules, &case)?;
            let r = schedule_report(&rules, &c).map_err(|error| CliError::Engine { file: case.clone(), error })?;
            if json { print_json(&r) } else { emit(&schedule_text(&r, detail)) }
        }
        FundingCmd::Simulate { reform, cases, json } => simulate_cmd(&base, &reform, &cases, json)?,
        FundingCmd::Rules { grade, json } => rules_cmd(&base, grade.as_deref(), json)?,
        FundingCmd::Check => {
            let listing = base.listing();
            let values: Vec<Grade> = listing.iter().flat_map(|(_, _, v)| v.iter().map(|(m, _)| m.grade)).collect();
            let count = |g| values.iter().filter(|x| **x == g).count();
            emit(&format!(
                "Règles valides : {} paramètres, {} valeurs datées ({} [P], {} [S], {} [U]) ; couverture sans trou ni chevauchement.\n",
                listing.len(),
                values.len(),
                count(Grade::P),
                count(Grade::S),
                count(Grade::U)
            ));
        }
        FundingCmd::Test { paths } => test_cmd(&base, &paths)?,
    }
    Ok(())
}

fn with_reform(base: &RuleSet, reform: Option<&str>) -> Result<RuleSet, CliError> {
    match reform {
        Some(r) => load::reform(base, r),
        None => Ok(base.clone()),
    }
}

/// Write to standard output. A reader that goes away (`cpts … | head`) ends the
/// output quietly instead of panicking like `print!` would.
pub fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("erreur : écriture impossible sur la sortie standard ({e})");
    }
}

fn print_json<T: serde::Serialize>(v: &T) {
    match serde_json::to_string_pretty(v) {
        Ok(s) => emit(&(s + "\n")),
        Err(e) => eprintln!("erreur : sérialisation JSON : {e}"),
    }
}

fn marks(flags: &[&str]) -> String {
    flags
        .iter()
        .map(|f| match *f {
            s if s.starts_with("source secondaire") => "[S]",
            s if s.starts_with("montant du contrat") => "[contrat]",
            s if s.starts_with("convention") => "[conv.]",
            _ => "[hyp.]",
        })
        .collect::<Vec<_>>()
        .join(" ")
}

const LEGEND: &str = "Marques : [S] valeur de source secondaire ; [contrat] montant saisi d'après le contrat signé (montant national inconnu [U]) ; [conv.] convention cpts là où les textes se taisent ; [hyp.] hypothèse (résultats non saisis : 100 %).\n";

fn explanations(lines: &[LineReport], out: &mut String) {
    for (i, l) in lines.iter().enumerate() {
        let year = if l.year > 0 { format!("année {} – ", l.year) } else { String::new() };
        out.push_str(&format!("{:>3}. {year}{} : {}\n", i + 1, l.label, l.explanation));
        for s in &l.sources {
            out.push_str(&format!("       {s}\n"));
        }
    }
}

/// Warnings, then the legend of the marks when any amount is marked.
fn footer(w: &[String], flagged: bool, out: &mut String) {
    if !w.is_empty() {
        out.push_str("\nAvertissements\n");
        for x in w {
            out.push_str(&format!("  ! {x}\n"));
        }
    }
    if flagged {
        out.push('\n');
        out.push_str(LEGEND);
    }
}

fn rules_line(r: &cpts_engine::report::RulesUsed) -> String {
    match &r.version {
        Some(v) => format!("{} ({v})", r.label),
        None => r.label.clone(),
    }
}

fn year_text(r: &YearReport) -> String {
    let mut out = format!(
        "{} — année {} du contrat, du {} au {}\nRègles : {}\n{}\n\n",
        r.cpts,
        r.year,
        fr(r.start),
        fr(r.end),
        rules_line(&r.rules),
        r.tier_explanation
    );
    let mut t = Table::new(&[("Composante", false), ("Montant", true), ("Marques", false)]);
    for l in &r.lines {
        t.row(vec![l.label.clone(), l.amount.clone(), marks(&l.flags)]);
    }
    t.row(vec!["Total".into(), r.total.clone(), String::new()]);
    out.push_str(&t.render());
    out.push_str("\nExplications\n");
    explanations(&r.lines, &mut out);
    footer(&r.warnings, r.flagged, &mut out);
    out
}

fn schedule_text(r: &ScheduleReport, detail: bool) -> String {
    let mut out = format!(
        "{} — échéancier du contrat signé le {}{}\nRègles : {}\n\n",
        r.cpts,
        fr(r.signed),
        match (r.terminated, r.end) {
            (Some(t), _) => format!(", résilié le {}", fr(t)),
            (None, Some(e)) => format!(", jusqu'au {}", fr(e)),
            _ => String::new(),
        },
        rules_line(&r.rules)
    );
    let mut t =
        Table::new(&[("Date", false), ("Année", true), ("Composante", false), ("Nature", false), ("Montant", true)]);
    for p in &r.payments {
        t.row(vec![fr(p.date), p.year.to_string(), p.label.clone(), p.kind_label.into(), p.amount.clone()]);
    }
    out.push_str(&t.render());
    // The lettre d'intention payment comes before the contract years: one line of its own in
    // the yearly table, and in every total (the same total as `funding simulate`).
    let letter = r.payments.iter().find(|p| p.year == 0);
    out.push_str(&format!(
        "\nTotal versé {} = droits {}{}{}\n",
        r.total_paid_cents,
        r.total_entitlement_cents,
        letter.map_or(String::new(), |p| format!(
            ", dont {} versés à la validation de la lettre d'intention, avant le contrat",
            p.amount
        )),
        if r.repaid_cents == Cents::ZERO { String::new() } else { format!(" (dont {} à reverser)", r.repaid_cents) }
    ));
    let mut y = Table::new(&[("Année", false), ("Début", false), ("Taille", true), ("Droit de l'année", true)]);
    if let Some(p) = letter {
        y.row(vec!["lettre d'intention".into(), fr(p.date), String::new(), p.amount.clone()]);
    }
    for x in &r.years {
        y.row(vec![x.year.to_string(), fr(x.start), x.tier.to_string(), x.total_cents.to_string()]);
    }
    y.row(vec!["Total".into(), String::new(), String::new(), r.total_entitlement_cents.to_string()]);
    out.push('\n');
    out.push_str(&y.render());
    if detail {
        out.push_str("\nCalcul des versements\n");
        for p in &r.payments {
            out.push_str(&format!("  {} {} ({}) : {}\n", fr(p.date), p.label, p.kind_label, p.explanation));
        }
        out.push_str("\nDroits annuels expliqués\n");
        explanations(&r.lines, &mut out);
    }
    footer(&r.warnings, r.flagged, &mut out);
    out
}

fn simulate_cmd(base: &RuleSet, reform_id: &str, paths: &[PathBuf], json: bool) -> Result<(), CliError> {
    let reform = load::reform(base, reform_id)?;
    let files = load::expand(paths)?;
    let mut contracts = Vec::new();
    for f in &files {
        contracts.push(load::case(base, f)?);
    }
    let sim = simulate(base, &reform, &contracts).map_err(|_| CliError::Failed("dépassement de capacité".into()))?;
    let info = reform.reform.as_ref();
    if json {
        let cases: Vec<serde_json::Value> = sim
            .cases
            .iter()
            .map(|c| match c {
                Ok(d) => serde_json::json!({
                    "cpts": d.name,
                    "baseline_cents": d.baseline.total,
                    "reform_cents": d.reform.total,
                    "diff_cents": d.diff.total,
                    "diff": totals_json(&d.diff),
                    "tier_changes": d.tier_changes.iter().map(|(y, a, b)| serde_json::json!({"year": y, "baseline": a.0, "reform": b.0})).collect::<Vec<_>>(),
                }),
                Err((name, e)) => serde_json::json!({"cpts": name, "error": e.to_string()}),
            })
            .collect();
        print_json(&serde_json::json!({
            "reform": info.map(|i| &i.id),
            "reformed_parameters": reform.reformed,
            "cases": cases,
            "baseline_cents": sim.baseline.total,
            "reform_cents": sim.reform.total,
            "diff_cents": sim.diff.total,
            "diff": totals_json(&sim.diff),
        }));
        return Ok(());
    }
    let mut out = format!(
        "Réforme : {} {}\nParamètres remplacés : {}\nDroits cumulés sur la durée de chaque contrat (versement à la validation de la lettre d'intention compris, comme l'échéancier), réforme − règles en vigueur.\n\n",
        info.map_or("?", |i| i.label.as_str()),
        info.map_or(String::new(), |i| i.grade.to_string()),
        reform.reformed.join(", ")
    );
    let mut t = Table::new(&[
        ("CPTS", false),
        ("En vigueur", true),
        ("Réforme", true),
        ("Écart", true),
        ("dont fonctionnement", true),
        ("Tailles", false),
    ]);
    for c in &sim.cases {
        match c {
            Ok(d) => t.row(vec![
                d.name.clone(),
                d.baseline.total.to_string(),
                d.reform.total.to_string(),
                d.diff.total.to_string(),
                d.diff.operating.to_string(),
                d.tier_changes
                    .iter()
                    .map(|(y, a, b)| format!("an {y} : {} → {}", a.0, b.0))
                    .collect::<Vec<_>>()
                    .join(", "),
            ]),
            Err((name, e)) => t.row(vec![
                name.clone(),
                format!("erreur : {e}"),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]),
        }
    }
    t.row(vec![
        format!("Total ({} contrats)", sim.cases.len()),
        sim.baseline.total.to_string(),
        sim.reform.total.to_string(),
        sim.diff.total.to_string(),
        sim.diff.operating.to_string(),
        String::new(),
    ]);
    out.push_str(&t.render());
    emit(&out);
    Ok(())
}

fn totals_json(t: &Totals) -> serde_json::Value {
    serde_json::json!({
        "operating_cents": t.operating,
        "fixed_cents": t.fixed,
        "variable_cents": t.variable,
        "activation_cents": t.activation,
        "lettre_intention_cents": t.lettre_intention,
        "total_cents": t.total,
    })
}

fn rules_cmd(rules: &RuleSet, grade: Option<&str>, json: bool) -> Result<(), CliError> {
    let want = match grade.map(str::to_ascii_uppercase).as_deref() {
        None => None,
        Some("P") => Some(Grade::P),
        Some("S") => Some(Grade::S),
        Some("U") => Some(Grade::U),
        Some(other) => return Err(CliError::Usage(format!("grade « {other} » inconnu : P, S ou U"))),
    };
    let mut rows = Vec::new();
    for (key, label, values) in rules.listing() {
        for (meta, value) in values {
            // A value graded per tier is listed under each grade one of its tiers has.
            if want.is_some_and(|g| g != meta.grade && !meta.per_tier.iter().any(|p| p.grade == g)) {
                continue;
            }
            rows.push((key.clone(), label.to_string(), value, meta.clone()));
        }
    }
    if json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|(k, l, v, m)| {
                serde_json::json!({
                    "parameter": k, "label": l, "value": v, "grade": m.grade, "from": m.from, "until": m.until,
                    "source": m.source, "source_title": rules.source(&m.source).map(|s| &s.title),
                    "reference": m.reference, "note": m.note, "checked": m.checked,
                    "per_tier": m.per_tier,
                })
            })
            .collect();
        print_json(&v);
        return Ok(());
    }
    let mut out = String::new();
    for (k, l, v, m) in rows {
        let period = match m.until {
            Some(u) => format!("du {} au {}", fr(m.from), fr(u)),
            None => format!("depuis le {}", fr(m.from)),
        };
        out.push_str(&format!("{} {k} — {l}\n    {period} : {v}\n", m.grade));
        let src = rules.source(&m.source).map_or(m.source.clone(), |s| s.title.clone());
        out.push_str(&format!("    source : {src}{}\n", m.reference.map(|r| format!(", {r}")).unwrap_or_default()));
        if let Some(n) = m.note {
            out.push_str(&format!("    note : {n}\n"));
        }
        for (p, t) in m.per_tier.iter().zip(1u8..) {
            let src = rules.source(&p.source).map_or(p.source.clone(), |s| s.short.clone());
            let note = p.note.as_ref().map(|n| format!(" — {n}")).unwrap_or_default();
            out.push_str(&format!("    taille {t} : {} {src}{note}\n", p.grade));
        }
        out.push_str(&format!("    vérifié le {}\n", fr(m.checked)));
    }
    emit(&out);
    Ok(())
}

fn test_cmd(rules: &RuleSet, paths: &[PathBuf]) -> Result<(), CliError> {
    let (mut passed, mut failed) = (0usize, 0usize);
    for f in load::expand(paths)? {
        let text = load::read(&f)?;
        let outcomes = run_file(&text, rules).map_err(|e| CliError::Input {
            file: f.clone(),
            errors: vec![cpts_engine::input::InputError { field: String::new(), message: e, line: None }],
        })?;
        for o in outcomes {
            if o.failures.is_empty() {
                passed += 1;
            } else {
                failed += 1;
                let mut report = format!("ÉCHEC {} — {}\n", f.display(), o.name);
                for x in o.failures {
                    report.push_str(&format!("    {x}\n"));
                }
                emit(&report);
            }
        }
    }
    emit(&format!("{passed} passed, {failed} failed\n"));
    if passed + failed == 0 {
        return Err(CliError::Failed(
            "aucun test exécuté (liste `tests` vide, ou dossier sans fichier .yaml) : un passage sans test est un échec"
                .into(),
        ));
    }
    if failed > 0 { Err(CliError::Failed(format!("{failed} cas en échec"))) } else { Ok(()) }
}
