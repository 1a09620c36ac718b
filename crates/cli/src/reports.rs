//! `cpts values …`, `cpts achievement`, `cpts report …`: indicator values, the year's
//! achievement and variable part, and the activity report's review. Arguments and files are
//! parsed here; the domain checks and decides; the store persists.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use cpts_domain::activity::{self, Act, Context, Received, Report, Sheet, Status};
use cpts_domain::agreement::Agreement;
use cpts_domain::book::Op;
use cpts_domain::ids::CptsId;
use cpts_domain::indicators::Catalogue;
use cpts_domain::lifecycle::Actor;
use cpts_domain::table::{ColumnSpec, LineError, columns, error_list};
use cpts_domain::text::Kind;
use cpts_domain::values::{self, Entry, RawValue, Scope, year_values};
use cpts_engine::contract::Contract;
use cpts_engine::dates::fr;
use cpts_engine::rules::RuleSet;
use cpts_store::{Provenance, Store};
use jiff::civil::Date;

use crate::files::{read_table, write_export, write_table};
use crate::load::{CliError, read};
use crate::registry::{store_err, today};
use crate::table::Table;

/// Who acts, and when.
#[derive(clap::Args)]
pub struct By {
    /// Rôle : cpts, cpam ou ars
    #[arg(long = "as", value_name = "ROLE")]
    pub role: String,
    /// Nom de la personne ou du service
    #[arg(long = "by", value_name = "NOM")]
    pub by: String,
    /// Date de l'étape (par défaut aujourd'hui)
    #[arg(long)]
    pub on: Option<Date>,
}

/// Which report: a CPTS, a contract year (the latest contract by default).
#[derive(clap::Args)]
pub struct Target {
    /// Identifiant de la CPTS (ex. cpts-paris-18)
    pub id: String,
    /// Année du contrat (1 à 5)
    #[arg(long)]
    pub year: u8,
    /// Numéro du contrat (par défaut le dernier signé)
    #[arg(long)]
    pub contract: Option<i64>,
}

#[derive(Subcommand)]
pub enum ValuesCmd {
    /// Saisir une valeur : CPTS, indicateur, période (2021-03, 2021-T1, 2021), valeur ;
    /// pour un taux, la valeur ou --numerator/--denominator. Une période déjà saisie est corrigée.
    Set {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Code de l'indicateur (voir `cpts indicators` et les objectifs du contrat)
        indicator: String,
        /// Période : mois (2021-03 ou 03/2021), trimestre (2021-T1) ou année civile (2021)
        period: String,
        /// Valeur (virgule décimale acceptée) ; pour un taux, facultative avec --numerator et --denominator
        value: Option<String>,
        /// Numérateur d'un taux
        #[arg(long)]
        numerator: Option<String>,
        /// Dénominateur d'un taux
        #[arg(long)]
        denominator: Option<String>,
        #[command(flatten)]
        by: By,
    },
    /// Importer un fichier CSV (;) ou XLSX : colonnes CPTS, Indicateur, Période, Valeur,
    /// Numérateur, Dénominateur. Tout ou rien : chaque ligne fautive est signalée.
    Import {
        /// Fichier CSV (;) ou XLSX des valeurs
        file: PathBuf,
        #[command(flatten)]
        by: By,
    },
    /// Valeurs actuelles d'une CPTS
    List {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Seulement cet indicateur
        #[arg(long)]
        indicator: Option<String>,
    },
    /// Toutes les valeurs saisies, corrections comprises, avec leur provenance
    History {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Seulement cet indicateur
        #[arg(long)]
        indicator: Option<String>,
    },
    /// Exporter les valeurs actuelles (CSV ou XLSX selon l'extension, format de l'import)
    Export {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Fichier à écrire (.csv ou .xlsx)
        file: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum ReportCmd {
    /// Rapports de toutes les CPTS (ou d'une) et leur statut
    List {
        /// Identifiant de la CPTS (toutes par défaut)
        id: Option<String>,
    },
    /// Afficher un rapport (la dernière version par défaut)
    Show {
        #[command(flatten)]
        target: Target,
        /// Version du rapport (par défaut la dernière)
        #[arg(long)]
        version: Option<i64>,
    },
    /// Rédiger ou réécrire le brouillon (YAML : summary, actions, expenses, crisis_plan,
    /// crisis_declared) ; après une validation, crée une nouvelle version
    Draft {
        #[command(flatten)]
        target: Target,
        /// Rapport (YAML : summary, actions, expenses, crisis_plan, crisis_declared)
        #[arg(long)]
        file: PathBuf,
        #[command(flatten)]
        by: By,
    },
    /// Soumettre le rapport (CPTS) : les résultats des indicateurs sont figés
    Submit {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        by: By,
    },
    /// Commenter (CPAM ou ARS) : le rapport passe en revue
    Comment {
        #[command(flatten)]
        target: Target,
        /// Texte du commentaire
        #[arg(long)]
        text: String,
        #[command(flatten)]
        by: By,
    },
    /// Répondre à un commentaire (CPTS)
    Answer {
        #[command(flatten)]
        target: Target,
        /// Texte de la réponse
        #[arg(long)]
        text: String,
        #[command(flatten)]
        by: By,
    },
    /// Demander des corrections (CPAM ou ARS)
    Return {
        #[command(flatten)]
        target: Target,
        /// Ce qui est à corriger
        #[arg(long)]
        text: String,
        #[command(flatten)]
        by: By,
    },
    /// Valider (CPAM) : la part variable est calculée sur les résultats, le solde devient exigible
    Validate {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        by: By,
    },
    /// Exporter le rapport en PDF, CSV ou XLSX (selon l'extension)
    Export {
        #[command(flatten)]
        target: Target,
        /// Version du rapport (par défaut la dernière)
        #[arg(long)]
        version: Option<i64>,
        /// Fichier à écrire (.csv ou .xlsx ; pour un rapport aussi .pdf)
        file: PathBuf,
    },
}

pub enum Action {
    Values(ValuesCmd),
    Achievement { id: String, year: Option<u8>, contract: Option<i64> },
    Report(ReportCmd),
}

pub fn run(action: Action, db: Option<&Path>, rules_dir: Option<&Path>) -> Result<String, CliError> {
    let rules = crate::load::rules(rules_dir)?;
    let catalogue = Catalogue::builtin(&rules).map_err(CliError::Failed)?;
    // Exports compare their output with the open database.
    let url = crate::registry::store_url(db);
    crate::registry::block_on(db, |store| async move {
        match action {
            Action::Values(cmd) => values_cmd(&store, &url, &rules, &catalogue, cmd).await,
            Action::Achievement { id, year, contract } => {
                achievement(&store, &rules, &catalogue, &id, year, contract).await
            }
            Action::Report(cmd) => report_cmd(&store, &url, &rules, &catalogue, cmd).await,
        }
    })
}

fn usage(m: impl Into<String>) -> CliError {
    CliError::Usage(m.into())
}

fn cpts_id(s: &str) -> Result<CptsId, CliError> {
    s.parse().map_err(CliError::Usage)
}

/// `what` names the file, if any: « valeurs.csv : import refusé ».
fn line_errors(errors: &[LineError], what: &str) -> CliError {
    usage(format!("{what}, rien n'a été enregistré ({} erreur(s)) :\n{}", errors.len(), error_list(errors)))
}

fn import_refused(file: &Path) -> String {
    format!("{} : import refusé", file.display())
}

/// A report file's texts, each through the domain's text check (YAML escapes such as `\e`
/// make control characters the raw file does not show).
fn report_texts(file: &Path, text: &str) -> Result<(), CliError> {
    let name = file.display().to_string();
    crate::load::check_texts(&[(&name, Some(text), Kind::Document)])?;
    // Unreadable content is reported by the draft's own parsing, with its line.
    let Ok(c) = activity::Content::read(text) else { return Ok(()) };
    let mut fields = vec![("summary".to_string(), c.summary.clone(), Kind::Text)];
    for (i, a) in c.actions.iter().enumerate() {
        fields.push((format!("actions[{i}].title"), a.title.clone(), Kind::Line));
        fields.push((format!("actions[{i}].mission"), a.mission.clone(), Kind::Line));
        fields.push((format!("actions[{i}].description"), a.description.clone(), Kind::Text));
    }
    for (i, e) in c.expenses.iter().enumerate() {
        fields.push((format!("expenses[{i}].item"), e.item.clone(), Kind::Line));
    }
    let checked: Vec<(String, Option<&str>, Kind)> =
        fields.iter().map(|(f, v, k)| (format!("{name} : {f}"), Some(v.as_str()), *k)).collect();
    let refs: Vec<(&str, Option<&str>, Kind)> = checked.iter().map(|(f, v, k)| (f.as_str(), *v, *k)).collect();
    crate::load::check_texts(&refs)
}

fn provenance(by: &By, source: &str, file: Option<&Path>) -> Result<Provenance, CliError> {
    crate::load::check_texts(&[("--by", Some(&by.by), Kind::Name)])?;
    if by.by.trim().is_empty() {
        return Err(usage("indiquez qui saisit (--by)"));
    }
    Ok(Provenance {
        source: source.into(),
        file: file.and_then(|f| f.file_name()).map(|f| f.to_string_lossy().into_owned()),
        by: by.by.trim().to_string(),
        role: Actor::parse(&by.role).map_err(usage)?,
    })
}

/// Check rows against their CPTS's contracts and stored values, then store them as one batch.
async fn store_rows(
    store: &Store,
    rules: &RuleSet,
    catalogue: &Catalogue,
    rows: &[RawValue],
    p: &Provenance,
    what: &str,
) -> Result<String, CliError> {
    let mut scopes = BTreeMap::new();
    let ids: std::collections::BTreeSet<CptsId> = rows.iter().filter_map(|r| r.cpts.trim().parse().ok()).collect();
    // Only the CPTS the store knows are looked up, each once: a file naming 100 000 unknown
    // CPTS costs one listing, not 200 000 queries.
    let mut names: BTreeMap<CptsId, String> = BTreeMap::new();
    if ids.len() > 16 {
        for (id, name, _) in store.territories().await.map_err(store_err)? {
            if ids.contains(&id) {
                names.insert(id, name);
            }
        }
    } else {
        for id in ids {
            if let Ok(r) = store.get_cpts(&id).await {
                names.insert(id, r.identity.name);
            }
        }
    }
    // Cells that are not a known identifier may be a CPTS's name: one listing resolves them
    // (exact names are accepted, near ones get their identifier suggested by the check).
    let loose = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    let others: std::collections::BTreeSet<String> = rows
        .iter()
        .filter(|r| r.cpts.trim().parse::<CptsId>().map_or(true, |id| !names.contains_key(&id)))
        .map(|r| loose(&r.cpts))
        .collect();
    if !others.is_empty() {
        for (id, name, _) in store.territories().await.map_err(store_err)? {
            if others.contains(&loose(&name)) {
                names.insert(id, name);
            }
        }
    }
    for (id, name) in &names {
        let agreements: Vec<Agreement> =
            store.contracts(id, name).await.map_err(store_err)?.into_iter().map(|(a, _)| a).collect();
        let scope = Scope { name: name.clone(), ..Scope::of(&agreements, rules).map_err(CliError::Failed)? };
        scopes.insert(id.clone(), scope);
    }
    let ids: Vec<CptsId> = scopes.keys().cloned().collect();
    let existing = store.value_periods(&ids).await.map_err(store_err)?;
    let entries = values::check(rows, &scopes, &existing, catalogue).map_err(|e| line_errors(&e, what))?;
    let mut current = Vec::new();
    for id in entries.iter().map(|e| &e.cpts).collect::<std::collections::BTreeSet<_>>() {
        current.extend(store.values(id).await.map_err(store_err)?);
    }
    let (entries, unchanged) = values::without_unchanged(entries, &current);
    let warnings = values::validated_warnings(&entries, &scopes);
    let corrected = entries
        .iter()
        .filter(|e| existing.get(&(e.cpts.clone(), e.indicator.clone())).is_some_and(|ps| ps.contains(&e.period)))
        .count();
    let mut out = if entries.is_empty() {
        format!("Aucune valeur enregistrée : {unchanged} inchangée(s), identique(s) aux valeurs actuelles.\n")
    } else {
        let n_cpts = entries.iter().map(|e| &e.cpts).collect::<std::collections::BTreeSet<_>>().len();
        let batch = store.add_values(&crate::op(), p, &entries).await.map_err(store_err)?;
        format!(
            "{} valeur(s) enregistrée(s) (lot n° {batch}, {n_cpts} CPTS), dont {corrected} correction(s) : les valeurs précédentes restent dans l'historique ; {unchanged} inchangée(s), non enregistrée(s).\n",
            entries.len(),
        )
    };
    for w in warnings {
        out.push_str(&w);
        out.push('\n');
    }
    Ok(out)
}

const VALUE_COLUMNS: &[ColumnSpec<'static>] = &[
    ("CPTS", &["cpts", "identifiant", "identifiant cpts", "id cpts"], true),
    ("Indicateur", &["indicateur", "code indicateur", "code"], true),
    ("Période", &["periode"], true),
    ("Valeur", &["valeur", "taux"], false),
    ("Numérateur", &["numerateur"], false),
    ("Dénominateur", &["denominateur"], false),
];

const VALUE_HEADER: [&str; 6] = ["CPTS", "Indicateur", "Période", "Valeur", "Numérateur", "Dénominateur"];

/// Rows of a values file, cells untouched.
pub fn value_rows(file: &Path) -> Result<Vec<RawValue>, CliError> {
    let table = read_table(file).map_err(|e| usage(format!("{} : {e}", file.display())))?;
    let index = columns(&table, VALUE_COLUMNS).map_err(|e| line_errors(&e, &import_refused(file)))?;
    Ok(table
        .rows
        .iter()
        .map(|(line, cells)| {
            let cell = |c: &str| index.get(c).and_then(|i| cells.get(*i)).cloned().unwrap_or_default();
            RawValue {
                line: *line,
                cpts: cell("CPTS"),
                indicator: cell("Indicateur"),
                period: cell("Période"),
                value: cell("Valeur"),
                numerator: cell("Numérateur"),
                denominator: cell("Dénominateur"),
            }
        })
        .collect())
}

fn entry_row(e: &Entry) -> Vec<String> {
    let opt = |d: Option<cpts_engine::rate::Dec>| d.map_or_else(String::new, |d| d.to_string());
    vec![
        e.cpts.to_string(),
        e.indicator.clone(),
        e.period.to_string(),
        e.reading.value.to_string(),
        opt(e.reading.numerator),
        opt(e.reading.denominator),
    ]
}

async fn values_cmd(
    store: &Store,
    url: &str,
    rules: &RuleSet,
    catalogue: &Catalogue,
    cmd: ValuesCmd,
) -> Result<String, CliError> {
    match cmd {
        ValuesCmd::Set { id, indicator, period, value, numerator, denominator, by } => {
            let p = provenance(&by, "saisie", None)?;
            let row = RawValue {
                line: 0,
                cpts: id,
                indicator,
                period,
                value: value.unwrap_or_default(),
                numerator: numerator.unwrap_or_default(),
                denominator: denominator.unwrap_or_default(),
            };
            store_rows(store, rules, catalogue, &[row], &p, "Saisie refusée").await
        }
        ValuesCmd::Import { file, by } => {
            let p = provenance(&by, "import", Some(&file))?;
            let rows = value_rows(&file)?;
            store_rows(store, rules, catalogue, &rows, &p, &import_refused(&file)).await
        }
        ValuesCmd::List { id, indicator } => {
            let cid = cpts_id(&id)?;
            store.get_cpts(&cid).await.map_err(store_err)?;
            let mut t = Table::new(&[
                ("Indicateur", false),
                ("Période", false),
                ("Valeur", true),
                ("Numérateur", true),
                ("Dénominateur", true),
            ]);
            let mut n = 0;
            for e in store.values(&cid).await.map_err(store_err)? {
                if indicator.as_ref().is_some_and(|i| *i != e.indicator) {
                    continue;
                }
                n += 1;
                t.row(entry_row(&e).into_iter().skip(1).collect());
            }
            Ok(if n == 0 { format!("Aucune valeur pour {cid}.\n") } else { t.render() })
        }
        ValuesCmd::History { id, indicator } => {
            let cid = cpts_id(&id)?;
            let mut t = Table::new(&[
                ("Indicateur", false),
                ("Période", false),
                ("Valeur", true),
                ("Lot", true),
                ("Provenance", false),
                ("Par", false),
                ("Enregistré le", false),
                ("État", false),
            ]);
            for v in store.value_history(&cid, indicator.as_deref()).await.map_err(store_err)? {
                let source = match &v.provenance.file {
                    Some(f) => format!("{} ({f})", v.provenance.source),
                    None => v.provenance.source.clone(),
                };
                t.row(vec![
                    v.entry.indicator.clone(),
                    v.entry.period.to_string(),
                    v.entry.reading.value.to_string(),
                    v.batch.to_string(),
                    source,
                    format!("{} ({})", v.provenance.by, v.provenance.role.code()),
                    v.recorded_at.get(..10).unwrap_or(&v.recorded_at).to_string(),
                    v.replaced_by.map_or_else(|| "actuelle".into(), |b| format!("corrigée (lot {b})")),
                ]);
            }
            Ok(t.render())
        }
        ValuesCmd::Export { id, file } => {
            let cid = cpts_id(&id)?;
            store.get_cpts(&cid).await.map_err(store_err)?;
            let rows: Vec<Vec<String>> = store.values(&cid).await.map_err(store_err)?.iter().map(entry_row).collect();
            let header: Vec<String> = VALUE_HEADER.iter().map(|h| h.to_string()).collect();
            write_table(&file, url, "Valeurs", &header, &rows)?;
            Ok(format!("{} valeur(s) exportée(s) dans {}.\n", rows.len(), file.display()))
        }
    }
}

/// A CPTS's contract with everything a report needs.
struct Loaded {
    cid: CptsId,
    agreement: Agreement,
    contract: Contract,
    values: Vec<Entry>,
    reports: Vec<Report>,
}

async fn load(store: &Store, rules: &RuleSet, id: &str, seq: Option<i64>) -> Result<Loaded, CliError> {
    let cid = cpts_id(id)?;
    let r = store.get_cpts(&cid).await.map_err(store_err)?;
    let (agreement, _) = store.agreement(&cid, &r.identity.name, seq).await.map_err(store_err)?;
    let contract =
        agreement.contract(rules).map_err(|es| CliError::Failed(format!("contrat stocké invalide : {es:?}")))?;
    let values = store.values(&cid).await.map_err(store_err)?;
    let seq = agreement.seq;
    let reports = store.reports(&cid).await.map_err(store_err)?.into_iter().filter(|x| x.contract == seq).collect();
    Ok(Loaded { cid, agreement, contract, values, reports })
}

impl Loaded {
    fn latest(&self, year: u8) -> Option<&Report> {
        self.reports.iter().filter(|r| r.year == year).max_by_key(|r| r.version)
    }

    fn version(&self, year: u8, v: Option<i64>) -> Result<&Report, CliError> {
        let found = match v {
            Some(v) => self.reports.iter().find(|r| r.year == year && r.version == v),
            None => self.latest(year),
        };
        found.ok_or_else(|| {
            usage(format!(
                "pas de rapport pour l'année {year} du contrat n° {} (cpts report draft)",
                self.agreement.seq
            ))
        })
    }

    fn check_year(&self, year: u8) -> Result<(), CliError> {
        let last = self.contract.last_year();
        if year == 0 || year > last {
            return Err(usage(format!("année {year} hors du contrat n° {} (1 à {last})", self.agreement.seq)));
        }
        Ok(())
    }
}

async fn achievement(
    store: &Store,
    rules: &RuleSet,
    catalogue: &Catalogue,
    id: &str,
    year: Option<u8>,
    seq: Option<i64>,
) -> Result<String, CliError> {
    let l = load(store, rules, id, seq).await?;
    let today = today();
    let year = year.or_else(|| l.contract.year_of(today)).unwrap_or_else(|| l.contract.last_year());
    l.check_year(year)?;
    let yv = year_values(&l.contract, year, catalogue, &l.values);
    let (values, state) = match l.agreement.results.get(&year) {
        Some(r) => (r.values.clone(), "résultats du rapport validé".to_string()),
        None => (
            yv.iter().filter_map(|v| v.value.map(|x| (v.indicator.clone(), x))).collect(),
            "provisoire : valeurs saisies à ce jour ; un indicateur sans valeur compte pour sa référence (0 %)"
                .to_string(),
        ),
    };
    let crisis = l.agreement.results.get(&year).map_or((false, false), |r| (r.crisis_plan, r.crisis_declared));
    let a = activity::achievement(rules, catalogue, &l.agreement, year, &values, crisis).map_err(CliError::Failed)?;
    let (start, end) = l.contract.year_bounds(year).unwrap_or((today, today));
    let mut out = format!(
        "{} – contrat n° {}, année {year} (du {} au {}) – {state}\n",
        l.agreement.cpts_name,
        l.agreement.seq,
        fr(start),
        cpts_engine::dates::day_before(end).map(fr).unwrap_or_default()
    );
    let mut t = Table::new(&[
        ("Indicateur", false),
        ("Valeur", true),
        ("Référence", true),
        ("Cible", true),
        ("Atteinte", true),
        ("Poids", true),
        ("Couverture", false),
    ]);
    for o in &a.objectives {
        let cov = yv.iter().find(|v| v.indicator == o.indicator);
        let coverage = cov.map_or_else(String::new, |v| match &v.problem {
            Some(p) => p.clone(),
            None => v.coverage(),
        });
        t.row(vec![
            o.label.clone(),
            o.value.map_or_else(|| cpts_engine::explain::NOT_ENTERED.into(), |v| v.to_string()),
            o.baseline.to_string(),
            o.target.map_or_else(|| "–".into(), |v| v.to_string()),
            o.achieved.to_string(),
            o.weight.to_string(),
            coverage,
        ]);
    }
    out.push_str(&t.render());
    for (mission, amount, text) in &a.variable {
        out.push_str(&format!("\n{mission} – part variable : {amount}\n  {text}\n"));
    }
    out.push_str(&format!("\nPart variable de l'année : {}\n", a.total));
    Ok(out)
}

async fn received(store: &Store, rules: &RuleSet, cid: &CptsId) -> Result<Vec<Received>, CliError> {
    let lines = store.ledger(cid).await.map_err(store_err)?;
    let convs = store.conventions(cid).await.map_err(store_err)?;
    Ok(store
        .payment_records(cid)
        .await
        .map_err(store_err)?
        .into_iter()
        .filter_map(|cpts_domain::ledger::Payment { line, on, amount, .. }| {
            let l = lines.iter().find(|l| l.id == line)?;
            let what = match &l.planned.source {
                cpts_domain::ledger::Source::Convention { convention, installment } => {
                    let purpose = convs
                        .iter()
                        .find(|(n, _)| n == convention)
                        .map_or_else(String::new, |(_, c)| c.purpose.clone());
                    format!("{purpose} – versement {installment}")
                }
                _ => crate::contracts::component_of(rules, &l.planned),
            };
            Some(Received { on, funder: l.planned.funder.clone(), what, amount })
        })
        .collect())
}

async fn report_cmd(
    store: &Store,
    url: &str,
    rules: &RuleSet,
    catalogue: &Catalogue,
    cmd: ReportCmd,
) -> Result<String, CliError> {
    let today = today();
    // A draft's refusal names its file, like every import's.
    let mut source: Option<PathBuf> = None;
    let (target, act, text, by) = match cmd {
        ReportCmd::List { id } => return list(store, id).await,
        ReportCmd::Show { target, version } => {
            let (doc, _) = document(store, rules, catalogue, &target, version, today).await?;
            return Ok(cpts_render::text(&doc));
        }
        ReportCmd::Export { target, version, file } => {
            let (doc, r) = document(store, rules, catalogue, &target, version, today).await?;
            write_export(&file, url, &["pdf", "csv", "xlsx"], |ext| match ext {
                "pdf" => Ok(cpts_render::pdf(&doc)),
                "csv" => cpts_render::csv(&doc),
                _ => cpts_render::xlsx(&doc),
            })?;
            return Ok(format!(
                "Rapport de l'année {} (version {}, {}) exporté dans {}.\n",
                r.year,
                r.version,
                r.status.label(),
                file.display()
            ));
        }
        ReportCmd::Draft { target, file, by } => {
            let text = read(&file)?;
            report_texts(&file, &text)?;
            source = Some(file);
            (target, Act::Rediger, Some(text), by)
        }
        ReportCmd::Submit { target, by } => (target, Act::Soumettre, None, by),
        ReportCmd::Comment { target, text, by } => (target, Act::Commenter, Some(text), by),
        ReportCmd::Answer { target, text, by } => (target, Act::Repondre, Some(text), by),
        ReportCmd::Return { target, text, by } => (target, Act::DemanderCorrection, Some(text), by),
        ReportCmd::Validate { target, by } => (target, Act::Valider, None, by),
    };
    let l = load(store, rules, &target.id, target.contract).await?;
    l.check_year(target.year)?;
    let comment = if act == Act::Rediger { None } else { text.as_deref() };
    crate::load::check_texts(&[("--by", Some(&by.by), Kind::Name), ("--text", comment, Kind::Text)])?;
    let role = Actor::parse(&by.role).map_err(usage)?;
    let on = by.on.unwrap_or(today);
    let yv = year_values(&l.contract, target.year, catalogue, &l.values);
    let ctx = Context { rules, contract: &l.contract, values: &yv, today };
    let refused = |e: activity::Refusal| match &source {
        Some(file) => usage(format!("{} : {e}", file.display())),
        None => usage(e.to_string()),
    };
    let before = l.latest(target.year);
    // A draft starts a report, or a new version after a validated one.
    let (base, is_new) = match (before, act) {
        (None, Act::Rediger) => (Report::draft(l.agreement.seq, target.year, 1, "", &ctx).map_err(refused)?, true),
        (Some(r), Act::Rediger) if r.status == Status::Valide => (r.next_version(&ctx).map_err(refused)?, true),
        (Some(r), _) => (r.clone(), false),
        (None, _) => {
            return Err(usage(format!(
                "pas de rapport pour l'année {} : commencez par « cpts report draft »",
                target.year
            )));
        }
    };
    let next = base.act(act, role, &by.by, on, text.as_deref(), &ctx).map_err(refused)?;
    let prev = if is_new { None } else { Some(&base) };
    if act == Act::Valider {
        let (book, version) =
            store.book(&l.cid, &l.agreement.cpts_name, Some(l.agreement.seq)).await.map_err(store_err)?;
        let outcome = book
            .decide(&Op::Release { year: target.year, on, results: next.year_in() }, rules, today)
            .map_err(usage)?;
        store
            .save_report(&crate::op(), &l.cid, prev, &next, Some((version, &book.agreement, &outcome)), today)
            .await
            .map_err(store_err)?;
        let due: Vec<String> = outcome
            .changes
            .insert
            .iter()
            .filter(|p| matches!(&p.source, cpts_domain::ledger::Source::Aci { year, .. } if *year == target.year))
            .map(|p| format!("  {} : {} ({})", crate::contracts::component_of(rules, p), p.amount, fr(p.due)))
            .collect();
        return Ok(format!(
            "Rapport de l'année {} (version {}) validé le {}. Résultats retenus pour la part variable ; les soldes de l'année deviennent exigibles.\nGrand livre : {} ligne(s) ajoutée(s), {} annulée(s).\n{}",
            target.year,
            next.version,
            fr(on),
            outcome.changes.insert.len(),
            outcome.changes.cancel.len(),
            if due.is_empty() {
                String::new()
            } else {
                format!("Lignes de l'année {} :\n{}\n", target.year, due.join("\n"))
            }
        ));
    }
    store.save_report(&crate::op(), &l.cid, prev, &next, None, today).await.map_err(store_err)?;
    let mut out = format!(
        "Rapport de l'année {} (version {}) : étape « {} » enregistrée ; statut « {} ».\n",
        target.year,
        next.version,
        act.label(),
        next.status.label()
    );
    if act == Act::Soumettre {
        let partial: Vec<String> = yv
            .iter()
            .filter(|v| !v.missing.is_empty())
            .map(|v| format!("{} ({})", v.indicator, v.coverage()))
            .collect();
        if !partial.is_empty() {
            out.push_str(&format!("Attention, périodes incomplètes : {}.\n", partial.join(", ")));
        }
    }
    Ok(out)
}

async fn document(
    store: &Store,
    rules: &RuleSet,
    catalogue: &Catalogue,
    target: &Target,
    version: Option<i64>,
    today: Date,
) -> Result<(cpts_domain::document::Document, Report), CliError> {
    let l = load(store, rules, &target.id, target.contract).await?;
    l.check_year(target.year)?;
    let r = l.version(target.year, version)?.clone();
    let yv = year_values(&l.contract, target.year, catalogue, &l.values);
    let received = received(store, rules, &l.cid).await?;
    let ledger = store.ledger(&l.cid).await.map_err(store_err)?;
    let payments = store.payment_records(&l.cid).await.map_err(store_err)?;
    // Every version but a draft shows its own frozen results (the agreement holds the latest).
    let r0 = store.get_cpts(&l.cid).await.map_err(store_err)?;
    let geo = cpts_domain::geo::Geo::builtin().map_err(CliError::Failed)?;
    let identity = activity::Identity {
        siret: r0.identity.siret.as_ref().map(ToString::to_string),
        finess: r0.identity.finess.as_ref().map(ToString::to_string),
        seat: r0.identity.seat.as_ref().and_then(|s| geo.commune(s)).map(|c| format!("{} ({})", c.name, c.code)),
    };
    let sheet = Sheet {
        rules,
        catalogue,
        agreement: &l.agreement,
        values: &yv,
        received: &received,
        ledger: &ledger,
        payments: &payments,
        today,
        identity: &identity,
    };
    let doc = activity::document(&r, &sheet).map_err(CliError::Failed)?;
    Ok((doc, r))
}

async fn list(store: &Store, id: Option<String>) -> Result<String, CliError> {
    let records = store.list_cpts().await.map_err(store_err)?;
    let mut t = Table::new(&[
        ("CPTS", false),
        ("Contrat", true),
        ("Année", true),
        ("Version", true),
        ("Statut", false),
        ("Dernière étape", false),
    ]);
    let mut n = 0;
    for rec in records.iter().filter(|r| id.as_ref().is_none_or(|i| r.id.as_str() == i)) {
        for r in store.reports(&rec.id).await.map_err(store_err)? {
            n += 1;
            let last =
                r.events.last().map_or_else(String::new, |e| format!("{} le {} par {}", e.act.label(), fr(e.on), e.by));
            t.row(vec![
                rec.id.to_string(),
                r.contract.to_string(),
                r.year.to_string(),
                r.version.to_string(),
                r.status.label().to_string(),
                last,
            ]);
        }
    }
    Ok(if n == 0 { "Aucun rapport d'activité.\n".into() } else { t.render() })
}
