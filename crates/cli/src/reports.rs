//! `cpts values …`, `cpts achievement`, `cpts report …`: thin adapters over the
//! application's values, achievement and report use cases. Arguments and files are read here
//! and the typed results formatted; the application checks, decides and stores.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use cpts_app::AppError;
use cpts_app::reports::{NO_REPORT, ReportAct, ReportRef, line_label};
use cpts_app::values::{ReadRow, VALUE_HEADER, ValueColumns, ValuesImported, export_row};
use cpts_domain::activity::Act;
use cpts_domain::ids::CptsId;
use cpts_domain::lifecycle::Actor;
use cpts_domain::table::{LineError, error_list};
use cpts_domain::text::Kind;
use cpts_domain::values::RawValue;
use cpts_engine::dates::fr;
use cpts_store::Provenance;
use jiff::civil::Date;

use crate::files::{table_rows, write_export, write_table};
use cpts_render::TableRows;
use crate::load::{CliError, read};
use crate::session::{self, Ctx, app_err};
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
    // Files are read before the store opens: nothing is held while they load.
    let action = match action {
        Action::Values(ValuesCmd::Import { file, by }) => {
            let provenance = provenance(&by, "import", Some(&file))?;
            let (rows, columns) = file_rows(&file)?;
            Prepared::Import { rows, columns, file, provenance }
        }
        Action::Report(ReportCmd::Draft { target, file, by }) => {
            Prepared::Draft { text: read(&file)?, target, file, by }
        }
        other => Prepared::Other(other),
    };
    session::run(db, rules_dir, |ctx| async move {
        match action {
            Prepared::Import { rows, columns, file, provenance } => {
                let rows = rows.map(|r| r.map(|(line, cells)| columns.row(line, cells)));
                import(&ctx, rows, provenance, &import_refused(&file)).await
            }
            Prepared::Draft { text, target, file, by } => {
                report_act(&ctx, target, Act::Rediger, Some(text), Some(file), by).await
            }
            Prepared::Other(Action::Values(cmd)) => values_cmd(&ctx, cmd).await,
            Prepared::Other(Action::Achievement { id, year, contract }) => achievement(&ctx, &id, year, contract).await,
            Prepared::Other(Action::Report(cmd)) => report_cmd(&ctx, cmd).await,
        }
    })
}

/// An action with its file read.
enum Prepared {
    /// A values file: its header read (its columns), its rows read as the import goes.
    Import { rows: TableRows<'static>, columns: ValueColumns, file: PathBuf, provenance: Provenance },
    Draft { text: String, target: Target, file: PathBuf, by: By },
    Other(Action),
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

/// A values file opened, its header read: its rows, read as they are imported.
fn file_rows(file: &Path) -> Result<(TableRows<'static>, ValueColumns), CliError> {
    let rows = table_rows(file).map_err(|e| usage(format!("{} : {e}", file.display())))?;
    let columns = ValueColumns::of(&rows.header).map_err(|e| line_errors(&e, &import_refused(file)))?;
    Ok((rows, columns))
}

/// Enter or import rows (read as the import goes: a file is never held whole); line errors
/// listed under `what`.
async fn import(
    ctx: &Ctx,
    rows: impl Iterator<Item = ReadRow>,
    provenance: Provenance,
    what: &str,
) -> Result<String, CliError> {
    let done = ctx.app.import_values_from(&ctx.who, rows, &provenance, |_| {}).await.map_err(|e| match e {
        AppError::Invalid(errors) => {
            let lines: Vec<LineError> = errors
                .into_iter()
                .map(|f| LineError { line: f.line.unwrap_or(0), column: f.field, message: f.message })
                .collect();
            line_errors(&lines, what)
        }
        e => app_err(e),
    })?;
    Ok(imported_text(&done))
}

fn imported_text(d: &ValuesImported) -> String {
    let mut out = match d.batch {
        None => format!("Aucune valeur enregistrée : {} inchangée(s), identique(s) aux valeurs actuelles.\n", d.unchanged),
        Some(batch) => format!(
            "{} valeur(s) enregistrée(s) (lot n° {batch}, {} CPTS), dont {} correction(s) : les valeurs précédentes restent dans l'historique ; {} inchangée(s), non enregistrée(s).\n",
            d.stored, d.cpts, d.corrected, d.unchanged,
        ),
    };
    for w in &d.warnings {
        out.push_str(w);
        out.push('\n');
    }
    out
}

async fn values_cmd(ctx: &Ctx, cmd: ValuesCmd) -> Result<String, CliError> {
    let (app, who) = (&ctx.app, &ctx.who);
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
            import(ctx, std::iter::once(Ok(row)), p, "Saisie refusée").await
        }
        // Read before the session opens (see `run`).
        ValuesCmd::Import { .. } => Err(CliError::Failed("import : fichier non lu".into())),
        ValuesCmd::List { id, indicator } => {
            let cid = cpts_id(&id)?;
            let values = app.values(who, &cid, indicator.as_deref()).await.map_err(app_err)?;
            let mut t = Table::new(&[
                ("Indicateur", false),
                ("Période", false),
                ("Valeur", true),
                ("Numérateur", true),
                ("Dénominateur", true),
            ]);
            for e in &values {
                t.row(export_row(e).into_iter().skip(1).collect());
            }
            Ok(if values.is_empty() { format!("Aucune valeur pour {cid}.\n") } else { t.render() })
        }
        ValuesCmd::History { id, indicator } => {
            let cid = cpts_id(&id)?;
            let history = app.value_history(who, &cid, indicator.as_deref()).await.map_err(app_err)?;
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
            for v in history {
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
            let rows: Vec<Vec<String>> =
                app.values(who, &cid, None).await.map_err(app_err)?.iter().map(export_row).collect();
            let header: Vec<String> = VALUE_HEADER.iter().map(|h| h.to_string()).collect();
            write_table(&file, &ctx.url, "Valeurs", &header, &rows)?;
            Ok(format!("{} valeur(s) exportée(s) dans {}.\n", rows.len(), file.display()))
        }
    }
}

async fn achievement(ctx: &Ctx, id: &str, year: Option<u8>, seq: Option<i64>) -> Result<String, CliError> {
    let cid = cpts_id(id)?;
    let y = ctx.app.achievement(&ctx.who, &cid, year, seq).await.map_err(app_err)?;
    let state = if y.validated {
        "résultats du rapport validé"
    } else {
        "provisoire : valeurs saisies à ce jour ; un indicateur sans valeur compte pour sa référence (0 %)"
    };
    let mut out = format!(
        "{} – contrat n° {}, année {} (du {} au {}) – {state}\n",
        y.cpts_name,
        y.contract,
        y.year,
        fr(y.start),
        y.last_day.map(fr).unwrap_or_default()
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
    let a = &y.achievement;
    for o in &a.objectives {
        let cov = y.values.iter().find(|v| v.indicator == o.indicator);
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

fn report_ref(t: &Target) -> Result<ReportRef, CliError> {
    Ok(ReportRef { cpts: cpts_id(&t.id)?, year: t.year, contract: t.contract })
}

/// A missing report, with how to start one.
fn no_report(e: AppError, hint: &str) -> CliError {
    match e {
        AppError::NotFound(m) if m.starts_with(NO_REPORT) => usage(format!("{m}{hint}")),
        e => app_err(e),
    }
}

async fn report_cmd(ctx: &Ctx, cmd: ReportCmd) -> Result<String, CliError> {
    let (target, act, text, by) = match cmd {
        ReportCmd::List { id } => return list(ctx, id).await,
        ReportCmd::Show { target, version } => {
            let d = ctx
                .app
                .report_document(&ctx.who, &report_ref(&target)?, version)
                .await
                .map_err(|e| no_report(e, " (cpts report draft)"))?;
            return Ok(cpts_render::text(&d.document));
        }
        ReportCmd::Export { target, version, file } => {
            let d = ctx
                .app
                .report_document(&ctx.who, &report_ref(&target)?, version)
                .await
                .map_err(|e| no_report(e, " (cpts report draft)"))?;
            write_export(&file, &ctx.url, &["pdf", "csv", "xlsx"], |ext| match ext {
                "pdf" => Ok(cpts_render::pdf(&d.document)),
                "csv" => cpts_render::csv(&d.document),
                _ => cpts_render::xlsx(&d.document),
            })?;
            let r = &d.report;
            return Ok(format!(
                "Rapport de l'année {} (version {}, {}) exporté dans {}.\n",
                r.year,
                r.version,
                r.status.label(),
                file.display()
            ));
        }
        // Read before the session opens (see `run`).
        ReportCmd::Draft { .. } => return Err(CliError::Failed("brouillon : fichier non lu".into())),
        ReportCmd::Submit { target, by } => (target, Act::Soumettre, None, by),
        ReportCmd::Comment { target, text, by } => (target, Act::Commenter, Some(text), by),
        ReportCmd::Answer { target, text, by } => (target, Act::Repondre, Some(text), by),
        ReportCmd::Return { target, text, by } => (target, Act::DemanderCorrection, Some(text), by),
        ReportCmd::Validate { target, by } => (target, Act::Valider, None, by),
    };
    report_act(ctx, target, act, text, None, by).await
}

async fn report_act(
    ctx: &Ctx,
    target: Target,
    act: Act,
    text: Option<String>,
    file: Option<PathBuf>,
    by: By,
) -> Result<String, CliError> {
    let comment = if act == Act::Rediger { None } else { text.as_deref() };
    crate::load::check_texts(&[("--by", Some(&by.by), Kind::Name), ("--text", comment, Kind::Text)])?;
    let role = Actor::parse(&by.role).map_err(usage)?;
    let cmd = ReportAct {
        target: report_ref(&target)?,
        act,
        text,
        source: file.map(|f| f.display().to_string()),
        role,
        by: by.by,
        on: by.on,
    };
    let year = target.year;
    let done = ctx.app.report_act(&ctx.who, cmd).await.map_err(|e| match e {
        // The draft's texts, as every text given on the command line.
        AppError::Invalid(_) => usage(format!("refusé, rien n'a été enregistré : {e}")),
        e => no_report(e, " : commencez par « cpts report draft »"),
    })?;
    let r = &done.report;
    if let Some(released) = &done.released {
        let rules = &ctx.app.rules;
        let due: Vec<String> =
            released.due.iter().map(|p| format!("  {} : {} ({})", line_label(rules, p), p.amount, fr(p.due))).collect();
        return Ok(format!(
            "Rapport de l'année {year} (version {}) validé le {}. Résultats retenus pour la part variable ; les soldes de l'année deviennent exigibles.\nGrand livre : {} ligne(s) ajoutée(s), {} annulée(s).\n{}",
            r.version,
            fr(done.on),
            released.inserted,
            released.cancelled,
            if due.is_empty() { String::new() } else { format!("Lignes de l'année {year} :\n{}\n", due.join("\n")) }
        ));
    }
    let mut out = format!(
        "Rapport de l'année {year} (version {}) : étape « {} » enregistrée ; statut « {} ».\n",
        r.version,
        act.label(),
        r.status.label()
    );
    if !done.incomplete.is_empty() {
        let partial: Vec<String> =
            done.incomplete.iter().map(|v| format!("{} ({})", v.indicator, v.coverage())).collect();
        out.push_str(&format!("Attention, périodes incomplètes : {}.\n", partial.join(", ")));
    }
    Ok(out)
}

async fn list(ctx: &Ctx, id: Option<String>) -> Result<String, CliError> {
    let id = id.as_deref().map(cpts_id).transpose()?;
    let reports = ctx.app.reports(&ctx.who, id.as_ref()).await.map_err(app_err)?;
    let mut t = Table::new(&[
        ("CPTS", false),
        ("Contrat", true),
        ("Année", true),
        ("Version", true),
        ("Statut", false),
        ("Dernière étape", false),
    ]);
    for (cid, r) in &reports {
        let last =
            r.events.last().map_or_else(String::new, |e| format!("{} le {} par {}", e.act.label(), fr(e.on), e.by));
        t.row(vec![
            cid.to_string(),
            r.contract.to_string(),
            r.year.to_string(),
            r.version.to_string(),
            r.status.label().to_string(),
            last,
        ]);
    }
    Ok(if reports.is_empty() { "Aucun rapport d'activité.\n".into() } else { t.render() })
}
