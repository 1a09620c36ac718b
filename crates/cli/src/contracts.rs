//! `cpts lifecycle …`, `cpts contract …`, `cpts ledger …`, `cpts convention …`, `cpts alerts`:
//! the edge of the lifecycle, contracts and money. Arguments are parsed and checked here (errors
//! name the flags), one use case of the application runs, and its typed result is formatted.

use std::path::PathBuf;

use clap::Subcommand;
use cpts_app::AppError;
use cpts_app::contracts::{SignContract, Terminate};
use cpts_app::ledger::Pay;
use cpts_app::lifecycle::StepBy;
use cpts_domain::agreement::Agreement;
use cpts_domain::book::Outcome;
use cpts_domain::alerts::line_source;
use cpts_domain::calendar::Urgency;
use cpts_domain::ids::CptsId;
use cpts_domain::ledger::{Convention, FunderKind, Gates, Line, Payment, Source, Status, component_label};
use cpts_domain::lifecycle::{Actor, Event, Stage, Step};
use cpts_domain::text::Kind;
use cpts_engine::dates::fr;
use cpts_engine::money::Cents;
use cpts_engine::rules::RuleSet;
use jiff::civil::Date;

use crate::load::{CliError, check_texts, read};
use crate::session::{self, Ctx, app_err};
use crate::table::Table;

#[derive(Subcommand)]
pub enum LifecycleCmd {
    /// Étape actuelle (ou à la date --on), historique daté et étapes possibles
    Show {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Date de la situation (par défaut aujourd'hui)
        #[arg(long)]
        on: Option<Date>,
    },
    /// Enregistrer une étape : declarer, formaliser, valider-lettre, phase-1, deposer-projet,
    /// valider-projet, opposer-projet, echeance (la signature et la résiliation passent par `cpts contract`)
    Step {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Étape à enregistrer (declarer, formaliser, valider-lettre…)
        step: String,
        #[command(flatten)]
        who: Who,
    },
    /// Enregistrer la vérification des statuts (association conforme aux critères de l'ACI)
    Statutes {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Date de la vérification
        #[arg(long)]
        on: Date,
        /// Référence du document (statuts, délibération…)
        #[arg(long)]
        document: Option<String>,
    },
}

/// Who acts, when, with which document.
#[derive(clap::Args)]
pub struct Who {
    /// Date de l'étape (JJ/MM/AAAA ou AAAA-MM-JJ)
    #[arg(long)]
    pub on: Date,
    /// Rôle de l'auteur : cpts, ars ou cpam
    #[arg(long = "as", value_name = "ROLE")]
    pub actor: String,
    /// Nom de la personne ou du service
    #[arg(long = "by", value_name = "NOM")]
    pub by: String,
    /// Référence du document (courrier, délibération, contrat signé…)
    #[arg(long)]
    pub document: Option<String>,
    /// Remarque libre
    #[arg(long)]
    pub note: Option<String>,
}

#[derive(Subcommand)]
pub enum ContractCmd {
    /// Signer le contrat ACI (annexe YAML : signature, missions, enveloppes, objectifs) ;
    /// cosigné par la CPAM et l'ARS
    Sign {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Annexe du contrat signé (YAML)
        #[arg(long)]
        file: PathBuf,
        #[command(flatten)]
        who: Who,
        /// L'autre signataire (cpam ou ars)
        #[arg(long)]
        cosigned_by: String,
    },
    /// Afficher le contrat en cours (ou --seq N) tel qu'en vigueur à une date : parties, durée,
    /// population et enveloppes avec les avenants effectifs à cette date, avenants
    Show {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Numéro du contrat (par défaut le contrat en cours)
        #[arg(long)]
        seq: Option<i64>,
        /// Date à laquelle le contrat est lu, avenants effectifs compris (par défaut aujourd'hui)
        #[arg(long)]
        on: Option<Date>,
    },
    /// Calendrier de déploiement des missions
    Calendar {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Date de la situation (par défaut aujourd'hui)
        #[arg(long)]
        on: Option<Date>,
    },
    /// Enregistrer le démarrage d'une mission
    Start {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Mission (code de l'annexe, ex. acces_soins)
        mission: String,
        /// Date du démarrage
        #[arg(long)]
        on: Date,
    },
    /// Enregistrer le déploiement complet d'une mission
    Deploy {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Mission (code de l'annexe, ex. acces_soins)
        mission: String,
        /// Date du déploiement complet
        #[arg(long)]
        on: Date,
    },
    /// Enregistrer un avenant (YAML : effective, reason, population, missions)
    Amend {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Avenant (YAML : effective, reason, population, missions)
        #[arg(long)]
        file: PathBuf,
    },
    /// Résilier le contrat (CPAM) : l'échéancier est soldé à la date, le trop-perçu est à reverser
    Terminate {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Motif de la résiliation
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        who: Who,
    },
}

#[derive(Subcommand)]
pub enum LedgerCmd {
    /// Vérifier que les grands livres du périmètre égalent les droits de leurs contrats
    Check,
    /// Grand livre : lignes par financeur, statut et montants
    Show {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Date des statuts (par défaut aujourd'hui)
        #[arg(long)]
        on: Option<Date>,
        /// Montrer aussi les lignes annulées
        #[arg(long)]
        all: bool,
        /// Sortie JSON (montants en centimes, dates AAAA-MM-JJ)
        #[arg(long)]
        json: bool,
    },
    /// Exporter le grand livre en CSV ou XLSX (lignes, montants, payé, reste dû, statut)
    Export {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Fichier à écrire (.csv ou .xlsx)
        file: PathBuf,
        /// Date des statuts (par défaut aujourd'hui)
        #[arg(long)]
        on: Option<Date>,
        /// Exporter aussi les lignes annulées
        #[arg(long)]
        all: bool,
    },
    /// Explication d'une ligne
    Explain {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Numéro de la ligne du grand livre (voir `cpts ledger show`)
        line: i64,
    },
    /// Enregistrer un paiement (ou un remboursement pour une ligne à reverser)
    Pay {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Numéro de la ligne du grand livre (voir `cpts ledger show`)
        line: i64,
        /// Date du virement
        #[arg(long)]
        on: Date,
        /// Montant en euros (par défaut le reste dû) ; une ligne ACI se paie en une fois, les versements
        /// des conventions et les remboursements peuvent être fractionnés
        #[arg(long)]
        amount: Option<String>,
        /// Qui a payé (service ou agent du financeur ; pour un remboursement, la CPTS)
        #[arg(long)]
        by: String,
        /// Référence du virement
        #[arg(long)]
        reference: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum ConventionCmd {
    /// Ajouter une convention de financement (ARS, collectivité, fonds européens, partenaire privé)
    Add {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// ars, collectivite, europe, prive, autre
        #[arg(long)]
        kind: String,
        /// Nom du financeur
        #[arg(long)]
        funder: String,
        /// Objet de la convention
        #[arg(long)]
        purpose: String,
        /// Montant total en euros
        #[arg(long)]
        amount: String,
        /// Début de la convention
        #[arg(long)]
        from: Date,
        /// Fin de la convention
        #[arg(long)]
        to: Date,
        /// Échéance de versement DATE=MONTANT, date JJ/MM/AAAA ou AAAA-MM-JJ (répétable)
        #[arg(long = "installment", required = true)]
        installments: Vec<String>,
        /// Livrable attendu (répétable)
        #[arg(long = "deliverable")]
        deliverables: Vec<String>,
    },
    /// Lister les conventions
    List {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
    },
}

fn usage(m: impl Into<String>) -> CliError {
    CliError::Usage(m.into())
}

fn cpts_id(s: &str) -> Result<CptsId, CliError> {
    s.parse().map_err(CliError::Usage)
}

/// Who acts, checked on the command line (errors name the flags), for the application.
fn step_by(w: &Who) -> Result<StepBy, CliError> {
    check_texts(&[
        ("--by", Some(&w.by), Kind::Name),
        ("--document", w.document.as_deref(), Kind::Line),
        ("--note", w.note.as_deref(), Kind::Text),
    ])?;
    Ok(StepBy {
        on: w.on,
        actor: Actor::parse(&w.actor).map_err(usage)?,
        by: w.by.clone(),
        document: w.document.clone(),
        note: w.note.clone(),
    })
}

fn euros(s: &str) -> Result<Cents, CliError> {
    Cents::parse_euros(s).map_err(|e| usage(format!("montant « {s} » : {e}")))
}

/// The application's error, with the command that helps where the message calls for one.
fn hint(e: AppError, id: &str) -> CliError {
    match app_err(e) {
        CliError::Usage(m) if m.starts_with("aucun contrat ACI") => usage(format!("{m} (cpts contract sign)")),
        CliError::Usage(m) => usage(
            m.replace(
                "recrutement de personnel",
                &format!("recrutement de personnel (cpts lifecycle statutes {id} --on AAAA-MM-JJ)"),
            )
            .replace("indiquez qui a agi", "indiquez qui a agi (--by)"),
        ),
        e => e,
    }
}

fn history_text(h: &[Event]) -> String {
    let mut t = Table::new(&[("Date", false), ("Étape", false), ("Par", false), ("Document", false), ("Note", false)]);
    for e in h {
        t.row(vec![
            fr(e.date),
            e.step.label().to_string(),
            format!("{} ({})", e.by, e.actor.label()),
            e.document.clone().unwrap_or_default(),
            e.note.clone().unwrap_or_default(),
        ]);
    }
    t.render()
}

/// The annex's comment lines (a demo annex says it is one).
fn annex_notes(a: &Agreement) -> String {
    a.annex
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|l| format!("Note de l'annexe du contrat n° {} : {}\n", a.seq, l.trim()))
        .collect()
}

fn next_steps_text(next: &[Step]) -> String {
    let steps: Vec<String> = next
        .iter()
        .map(|s| {
            let roles: Vec<&str> = s.roles().iter().map(|a| a.code()).collect();
            format!("  {} — {} ({})", s.code(), s.label(), roles.join(" ou "))
        })
        .collect();
    if steps.is_empty() {
        "Aucune étape possible.\n".into()
    } else {
        format!("Étapes possibles :\n{}\n", steps.join("\n"))
    }
}

pub enum Action {
    Lifecycle(LifecycleCmd),
    Contract(ContractCmd),
    Ledger(LedgerCmd),
    Convention(ConventionCmd),
    Alerts { id: Option<String>, days: i64, on: Option<Date> },
}

pub fn run(
    action: Action,
    db: Option<&std::path::Path>,
    rules_dir: Option<&std::path::Path>,
) -> Result<String, CliError> {
    session::run(db, rules_dir, |ctx| async move {
        match action {
            Action::Lifecycle(cmd) => lifecycle_cmd(&ctx, cmd).await,
            Action::Contract(cmd) => contract_cmd(&ctx, cmd).await,
            Action::Ledger(cmd) => ledger_cmd(&ctx, cmd).await,
            Action::Convention(cmd) => convention_cmd(&ctx, cmd).await,
            Action::Alerts { id, days, on } => alerts(&ctx, id, days, on).await,
        }
    })
}

async fn lifecycle_cmd(ctx: &Ctx, cmd: LifecycleCmd) -> Result<String, CliError> {
    let (app, who) = (&ctx.app, &ctx.who);
    match cmd {
        LifecycleCmd::Show { id, on } => {
            let cid = cpts_id(&id)?;
            let v = app.lifecycle(who, &cid, on).await.map_err(app_err)?;
            let derived = match (v.now, v.contract_end.and_then(cpts_engine::dates::day_before)) {
                (Some(Stage::Expired), Some(last)) if v.stage != Some(Stage::Expired) => {
                    format!(" (terme du contrat le {}, d'après ses dates)", fr(last))
                }
                _ => String::new(),
            };
            let mut out = format!(
                "{} ({}) — étape : {}{derived}\n",
                v.name,
                v.id,
                v.now.map_or("aucune (pas encore de déclaration d'intérêt)", Stage::label)
            );
            if let Some((on, doc)) = &v.statutes {
                out.push_str(&format!(
                    "Statuts vérifiés le {}{}\n",
                    fr(*on),
                    doc.as_ref().map(|d| format!(" ({d})")).unwrap_or_default()
                ));
            }
            if !v.history.is_empty() {
                out.push_str(&history_text(&v.history));
            }
            out.push_str(&next_steps_text(&v.next));
            Ok(out)
        }
        LifecycleCmd::Step { id, step, who: w } => {
            let cid = cpts_id(&id)?;
            let step = Step::parse(&step).map_err(usage)?;
            if matches!(step, Step::Sign | Step::Renew | Step::Terminate) {
                return Err(usage(format!(
                    "« {} » passe par `cpts contract {}` (le contrat et son échéancier sont enregistrés avec l'étape)",
                    step.code(),
                    if step == Step::Terminate { "terminate" } else { "sign" }
                )));
            }
            let by = step_by(&w)?;
            let done = app.record_step(who, &cid, step, &by).await.map_err(|e| hint(e, &id))?;
            Ok(format!(
                "{} : {} le {}. Étape : {}.\n",
                done.name,
                step.label(),
                fr(done.event.date),
                done.stage.label()
            ))
        }
        LifecycleCmd::Statutes { id, on, document } => {
            let cid = cpts_id(&id)?;
            check_texts(&[("--document", document.as_deref(), Kind::Line)])?;
            app.set_statutes(who, &cid, on, document.as_deref()).await.map_err(app_err)?;
            Ok(format!("Statuts de {cid} vérifiés le {}.\n", fr(on)))
        }
    }
}

async fn contract_cmd(ctx: &Ctx, cmd: ContractCmd) -> Result<String, CliError> {
    let (app, who) = (&ctx.app, &ctx.who);
    match cmd {
        ContractCmd::Sign { id, file, who: w, cosigned_by } => {
            let cid = cpts_id(&id)?;
            let annex = read(&file)?;
            check_texts(&[(&file.display().to_string(), Some(&annex), Kind::Document)])?;
            let cosigner = Actor::parse(&cosigned_by).map_err(usage)?;
            let by = step_by(&w)?;
            let s =
                app.sign_contract(who, SignContract { id: cid.clone(), annex, by, cosigner }).await.map_err(|e| {
                    match e {
                        // The annex's errors, located in the file.
                        AppError::Invalid(errors) => CliError::Input {
                            file: file.clone(),
                            errors: errors
                                .into_iter()
                                .map(|e| cpts_engine::input::InputError {
                                    field: e.field,
                                    message: e.message,
                                    line: e.line,
                                })
                                .collect(),
                        },
                        e => hint(e, &id),
                    }
                })?;
            Ok(format!(
                "Contrat ACI n° {} de {} signé le {} par {}, {} et la CPTS, jusqu'au {} inclus.\nÉchéancier enregistré : {} lignes, {} au total (cpts ledger show {cid}).\n",
                s.agreement.seq,
                s.name,
                fr(s.agreement.signed()),
                s.agreement.cpam,
                s.agreement.ars,
                s.contract.anniversaries.last().and_then(|d| cpts_engine::dates::day_before(*d)).map_or("?".into(), fr),
                s.lines.len(),
                s.total
            ))
        }
        ContractCmd::Show { id, seq, on } => {
            let v = app.contract(who, &cpts_id(&id)?, seq, on).await.map_err(|e| hint(e, &id))?;
            Ok(contract_text(&app.rules, &v.agreement, &v.contract, v.version, v.on))
        }
        ContractCmd::Calendar { id, on } => {
            let v = app.calendar(who, &cpts_id(&id)?, on).await.map_err(|e| hint(e, &id))?;
            let mut t = Table::new(&[
                ("Mission", false),
                ("Démarrage au plus tard", false),
                ("Démarrée le", false),
                ("Déploiement au plus tard", false),
                ("Déployée le", false),
                ("Statut", false),
            ]);
            let d = |x: Option<Date>| x.map_or("—".into(), fr);
            let free = |x: Option<Date>| x.map_or("libre (optionnelle)".into(), fr);
            let mut notes = Vec::new();
            for m in &v.missions {
                t.row(vec![
                    m.code.clone(),
                    free(m.start_deadline),
                    d(m.progress.started),
                    free(m.deploy_deadline),
                    d(m.progress.deployed),
                    m.status.label().into(),
                ]);
                notes.extend(m.late_notes().into_iter().map(|n| format!("  {} : {n}", m.code)));
            }
            let mut out = format!(
                "{} — calendrier de déploiement au {} (contrat signé le {} ; délais de l'ACI comptés depuis la signature)\n{}",
                v.name,
                fr(v.on),
                fr(v.signed),
                t.render()
            );
            if !notes.is_empty() {
                out.push_str(&format!("Retards constatés :\n{}\n", notes.join("\n")));
            }
            Ok(out)
        }
        ContractCmd::Start { id, mission, on } => {
            let d = app.start_mission(who, &cpts_id(&id)?, &mission, on).await.map_err(|e| hint(e, &id))?;
            Ok(decided_text(&app.rules, &d.outcome))
        }
        ContractCmd::Deploy { id, mission, on } => {
            let d = app.deploy_mission(who, &cpts_id(&id)?, &mission, on).await.map_err(|e| hint(e, &id))?;
            Ok(decided_text(&app.rules, &d.outcome))
        }
        ContractCmd::Amend { id, file } => {
            let cid = cpts_id(&id)?;
            let text = read(&file)?;
            check_texts(&[(&file.display().to_string(), Some(&text), Kind::Document)])?;
            let d = app.amend_contract(who, &cid, &text).await.map_err(|e| match hint(e, &id) {
                CliError::Usage(m) => usage(format!("{} : {m}", file.display())),
                e => e,
            })?;
            Ok(decided_text(&app.rules, &d.outcome))
        }
        ContractCmd::Terminate { id, reason, who: w } => {
            let cid = cpts_id(&id)?;
            check_texts(&[("--reason", Some(&reason), Kind::Line)])?;
            let by = step_by(&w)?;
            let d = app.terminate_contract(who, Terminate { id: cid, reason, by }).await.map_err(|e| hint(e, &id))?;
            Ok(decided_text(&app.rules, &d.outcome))
        }
    }
}

/// What an operation on a contract did: its summary, the ledger's changes, what to repay.
fn decided_text(rules: &RuleSet, outcome: &Outcome) -> String {
    let mut out = format!("{}\n", outcome.summary);
    let (cancelled, added) = (outcome.changes.cancel.len(), outcome.changes.insert.len());
    if cancelled + added > 0 {
        out.push_str(&format!("Grand livre : {added} ligne(s) ajoutée(s), {cancelled} annulée(s).\n"));
    }
    let to_repay: Vec<String> = outcome
        .changes
        .insert
        .iter()
        .filter(|p| p.amount.is_negative())
        .map(|p| format!("  {} : {} à reverser", component_of(rules, p), Cents::new(-p.amount.get())))
        .collect();
    if !to_repay.is_empty() {
        out.push_str(&format!("À reverser par la CPTS :\n{}\n", to_repay.join("\n")));
    }
    out
}
pub(crate) fn component_of(rules: &RuleSet, p: &cpts_domain::ledger::Planned) -> String {
    match &p.source {
        Source::Aci { year, component, kind, .. } => {
            format!("année {year}, {}, {}", component_label(rules, component), kind.label_fr())
        }
        Source::Convention { installment, .. } => format!("versement {installment}"),
    }
}

/// The contract as in force on `on`: the signed terms with every amendment effective by then
/// (population and envelopes), then every amendment, in force or to come.
fn contract_text(
    rules: &RuleSet,
    a: &Agreement,
    c: &cpts_engine::contract::Contract,
    version: i64,
    on: Date,
) -> String {
    use cpts_engine::contract::Part;
    let mut out = format!(
        "{} — contrat ACI n° {} (version {version}), en vigueur au {}\nParties : la CPTS, {}, {}\nSigné le {} ; durée {} ans, jusqu'au {}\n",
        a.cpts_name,
        a.seq,
        fr(on),
        a.cpam,
        a.ars,
        fr(a.signed()),
        c.years(),
        c.anniversaries.last().and_then(|d| cpts_engine::dates::day_before(*d)).map_or("?".into(), fr),
    );
    out.push_str(&annex_notes(a));
    if let Some(t) = a.terminated {
        out.push_str(&format!("Résilié le {} : {}\n", fr(t), a.termination_reason.clone().unwrap_or_default()));
    }
    let (population, _, pop_amended) = c.population_on(on);
    let pop_source = match pop_amended {
        Some(d) => format!(" (avenant du {})", fr(d)),
        None => c.population_source.as_ref().map(|s| format!(" ({s})")).unwrap_or_default(),
    };
    out.push_str(&format!("Population : {} habitants{pop_source}\n", cpts_engine::money::group_thousands(population)));
    let mut t = Table::new(&[
        ("Mission", false),
        ("Part fixe/an", true),
        ("Part variable/an", true),
        ("Si crise déclarée", true),
        ("Objectifs", true),
    ]);
    let mut amended_rows = Vec::new();
    for m in &c.missions {
        let Some(def) = rules.mission(m.mission) else { continue };
        // A part the mission does not have is « — »; one it has but the contract leaves to the
        // national amounts is « grille nationale ».
        let mut cell = |part: Part, has: bool| {
            if !has {
                return "—".to_string();
            }
            let (v, amended) = m.envelope_on(part, on);
            if let Some(d) = amended {
                amended_rows.push((def.code.clone(), d));
            }
            v.map_or("grille nationale".into(), |x| x.to_string())
        };
        let fixed = cell(Part::Fixed, true);
        let variable = cell(Part::Variable, def.variable_part);
        let activation = cell(Part::Activation, def.activation_part);
        t.row(vec![def.code.clone(), fixed, variable, activation, m.objectives.len().to_string()]);
    }
    out.push_str(&t.render());
    amended_rows.dedup();
    for (code, d) in &amended_rows {
        out.push_str(&format!("  {code} : enveloppes de l'avenant du {}\n", fr(*d)));
    }
    for m in &a.terms.missions {
        for o in &m.objectives {
            out.push_str(&format!(
                "  {} / {} : {} — référence {}, cible {}, poids {} %\n",
                m.code,
                o.indicator,
                o.label.clone().unwrap_or_default(),
                o.baseline.map_or("0".into(), |b| b.to_string()),
                o.target
                    .map(|x| x.to_string())
                    .or_else(|| o.targets.as_ref().map(|ts| ts
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(" / ")))
                    .unwrap_or_default(),
                o.weight
            ));
        }
    }
    if !a.amendments.is_empty() {
        out.push_str(
            "Avenants (leurs montants comptent à partir de la première année du contrat commençant à leur date d'effet) :\n",
        );
        for am in &a.amendments {
            let p = &am.parsed;
            let mut what = Vec::new();
            if let Some(pop) = p.population {
                what.push(format!("population {pop}"));
            }
            for e in &p.missions {
                let mut parts = Vec::new();
                for (label, v) in [("fixe", e.fixed), ("variable", e.variable), ("si crise", e.activation)] {
                    if let Some(v) = v {
                        parts.push(format!("{label} {v}"));
                    }
                }
                what.push(format!("enveloppes {} ({})", e.code, parts.join(", ")));
            }
            out.push_str(&format!(
                "  {} le {} : {}{}\n",
                if p.effective <= on { "effectif" } else { "à venir, effectif" },
                fr(p.effective),
                what.join(", "),
                p.reason.as_ref().map(|r| format!(" — {r}")).unwrap_or_default()
            ));
        }
    }
    if !a.released.is_empty() {
        let years: Vec<String> = a.released.iter().map(|(y, d)| format!("année {y} le {}", fr(*d))).collect();
        out.push_str(&format!("Rapports validés : {}\n", years.join(", ")));
    }
    out
}

/// The columns of `cpts ledger show` (title, right-aligned).
pub(crate) const LEDGER_COLUMNS: &[(&str, bool)] = &[
    ("N°", true),
    ("Échéance", false),
    ("Financeur", false),
    ("Objet", false),
    ("Montant", true),
    ("Payé", true),
    ("Statut", false),
];

fn ledger_text(rules: &RuleSet, lines: &[Line], payments: &[Payment], gates: &Gates, on: Date, all: bool) -> String {
    let mut t = Table::new(LEDGER_COLUMNS);
    let mut by_funder: std::collections::BTreeMap<(String, Status), i64> = std::collections::BTreeMap::new();
    for (l, s, status) in shown_lines(lines, gates, on, all) {
        let mut row = line_cells(rules, l);
        row.push(status);
        t.row(row);
        if s != Status::Cancelled {
            // Amounts to repay are shown as what the CPTS owes (positive).
            let open = l.planned.amount.get().saturating_sub(l.paid.get()).abs();
            *by_funder.entry((l.planned.funder.clone(), s)).or_default() +=
                if s == Status::Paid { l.paid.get() } else { open };
        }
    }
    let mut out = format!("Grand livre au {}\n{}", fr(on), t.render());
    out.push_str("\nPar financeur et statut :\n");
    for ((f, s), v) in by_funder {
        out.push_str(&format!("  {f} — {} : {}\n", s.label(), Cents::new(v)));
    }
    let shown: Vec<String> = payments
        .iter()
        .filter(|p| p.on <= on)
        .filter_map(|p| Some((p, lines.iter().find(|l| l.id == p.line)?)))
        .map(|(p, l)| payment_text(p, l))
        .collect();
    if !shown.is_empty() {
        out.push_str("\nPaiements :\n");
        for x in shown {
            out.push_str(&format!("  {x}\n"));
        }
    }
    out
}

/// The lines a ledger view shows (cancelled ones only with `all`), with their status as of `on`.
fn shown_lines<'a>(
    lines: &'a [Line],
    gates: &'a Gates,
    on: Date,
    all: bool,
) -> impl Iterator<Item = (&'a Line, Status, String)> + 'a {
    lines.iter().filter_map(move |l| {
        let (s, status) = status_text(l, gates, on);
        (all || s != Status::Cancelled).then_some((l, s, status))
    })
}

/// A ledger line's number, due date, funder, purpose, amount and paid, as every ledger view
/// shows them.
fn line_cells(rules: &RuleSet, l: &Line) -> Vec<String> {
    vec![
        l.id.to_string(),
        fr(l.planned.due),
        l.planned.funder.clone(),
        line_source(rules, l),
        l.planned.amount.to_string(),
        l.paid.to_string(),
    ]
}

/// A line's status as of `on`, with what a planned line waits for.
fn status_text(l: &Line, gates: &Gates, on: Date) -> (Status, String) {
    let s = l.status(on, gates);
    let mut status = s.label().to_string();
    if s == Status::Planned
        && let Some(w) = l.waiting_for(gates, on)
    {
        status = format!("prévu ({w})");
    }
    (s, status)
}

/// The ledger as a table to export: one row per line, amounts, paid and still due as figures
/// (a spreadsheet sums them), the status as of `on`.
fn ledger_table(rules: &RuleSet, lines: &[Line], gates: &Gates, on: Date, all: bool) -> cpts_domain::document::Table {
    let mut t = cpts_domain::document::Table::new(
        "Grand livre",
        &[
            ("N°", 5, true),
            ("Échéance", 10, false),
            ("Financeur", 20, false),
            ("Objet", 35, false),
            ("Montant", 10, true),
            ("Payé", 10, true),
            ("Reste dû", 10, true),
            ("Statut", 15, false),
        ],
    );
    for (l, s, status) in shown_lines(lines, gates, on, all) {
        let mut row = line_cells(rules, l);
        row.extend([if s == Status::Cancelled { Cents::ZERO } else { l.remaining() }.to_string(), status]);
        t.row(row);
    }
    t
}

/// The ledger as JSON: amounts in integer cents, dates AAAA-MM-JJ, statuts as stable codes
/// with their French label.
fn ledger_json(
    rules: &RuleSet,
    cid: &CptsId,
    lines: &[Line],
    payments: &[Payment],
    gates: &Gates,
    on: Date,
    all: bool,
) -> serde_json::Value {
    use serde_json::json;
    let code = |s: Status| match s {
        Status::Planned => "planned",
        Status::Due => "due",
        Status::Paid => "paid",
        Status::Cancelled => "cancelled",
        Status::ToRepay => "to_repay",
    };
    let shown: Vec<serde_json::Value> = lines
        .iter()
        .filter_map(|l| {
            let (s, label) = status_text(l, gates, on);
            if s == Status::Cancelled && !all {
                return None;
            }
            let source = match &l.planned.source {
                Source::Aci { contract, year, component, kind } => json!({
                    "kind": "aci", "contract": contract, "year": year, "component": component,
                    "component_label": component_label(rules, component), "payment": kind,
                }),
                Source::Convention { convention, installment } => {
                    json!({"kind": "convention", "convention": convention, "installment": installment})
                }
            };
            Some(json!({
                "id": l.id,
                "due": l.planned.due,
                "funder": l.planned.funder,
                "source": source,
                "label": line_source(rules, l),
                "amount_cents": l.planned.amount.get(),
                "paid_cents": l.paid.get(),
                "remaining_cents": if s == Status::Cancelled { 0 } else { l.remaining().get() },
                "status": code(s),
                "status_label": label,
                "cancelled": l.cancelled,
            }))
        })
        .collect();
    let paid: Vec<serde_json::Value> = payments
        .iter()
        .filter(|p| p.on <= on)
        .map(|p| {
            json!({
                "line": p.line, "on": p.on, "amount_cents": p.amount.get(), "by": p.by, "reference": p.reference,
            })
        })
        .collect();
    json!({"cpts": cid.as_str(), "on": on, "lines": shown, "payments": paid})
}

/// One payment as a line of text: date, line, amount, who paid, the transfer's reference.
fn payment_text(p: &Payment, l: &Line) -> String {
    format!(
        "{} ligne n° {} : {}{} — par {} — virement {}",
        fr(p.on),
        p.line,
        Cents::new(p.amount.get().abs()),
        if p.early(l) { format!(" (avant l'échéance du {})", fr(l.planned.due)) } else { String::new() },
        if p.by.is_empty() { "(non renseigné)" } else { p.by.as_str() },
        p.reference.as_deref().unwrap_or("(sans référence)")
    )
}

async fn ledger_cmd(ctx: &Ctx, cmd: LedgerCmd) -> Result<String, CliError> {
    let (app, who, rules) = (&ctx.app, &ctx.who, &ctx.app.rules);
    let today = || app.clock.today();
    match cmd {
        LedgerCmd::Check => {
            let c = app.check_ledgers(who).await.map_err(app_err)?;
            let head = format!("{} contrat(s) de {} CPTS vérifié(s) : lignes ACI vivantes comparées aux droits, année par année et composante par composante.\n", c.contracts, c.cpts);
            if c.differences.is_empty() {
                return Ok(format!("{head}Grands livres conformes aux droits.\n"));
            }
            Err(CliError::Failed(format!("{head}{} écart(s) :\n  {}", c.differences.len(), c.differences.join("\n  "))))
        }
        LedgerCmd::Export { id, file, on, all } => {
            let cid = cpts_id(&id)?;
            let on = on.unwrap_or_else(today);
            // As it stood on that day: later payments and contracts are not in it.
            let v = app.ledger(who, &cid).await.map_err(app_err)?.as_of(on);
            let t = ledger_table(rules, &v.lines, &v.gates, on, all);
            crate::files::write_export(&file, &ctx.url, crate::files::TABLES, |ext| match ext {
                "xlsx" => cpts_render::table_xlsx(&t),
                _ => cpts_render::table_csv(&t.header, &t.rows),
            })?;
            Ok(format!(
                "Grand livre de {cid} au {} : {} ligne(s) exportée(s) dans {}\n",
                fr(on),
                t.rows.len(),
                file.display()
            ))
        }
        LedgerCmd::Show { id, on, all, json } => {
            let cid = cpts_id(&id)?;
            let on = on.unwrap_or_else(today);
            let v = app.ledger(who, &cid).await.map_err(app_err)?.as_of(on);
            if json {
                let j = ledger_json(rules, &cid, &v.lines, &v.payments, &v.gates, on, all);
                return serde_json::to_string_pretty(&j)
                    .map(|s| format!("{s}\n"))
                    .map_err(|e| CliError::Failed(e.to_string()));
            }
            if v.lines.is_empty() {
                return Ok(format!("Aucune ligne au grand livre de {cid}.\n"));
            }
            let notes: String = v.agreements.iter().map(annex_notes).collect();
            Ok(format!("{} ({cid})\n{notes}{}", v.name, ledger_text(rules, &v.lines, &v.payments, &v.gates, on, all)))
        }
        LedgerCmd::Explain { id, line } => {
            let v = app.ledger_line(who, &cpts_id(&id)?, line).await.map_err(app_err)?;
            let l = &v.line;
            let payments: Vec<String> = v.payments.iter().map(|p| format!("  {}", payment_text(p, l))).collect();
            Ok(format!(
                "Ligne n° {line} — {}\nFinanceur : {}\nÉchéance : {} — montant {}\n{}\n{}{}",
                line_source(rules, l),
                l.planned.funder,
                fr(l.planned.due),
                l.planned.amount,
                l.planned.explanation,
                if payments.is_empty() { String::new() } else { format!("Paiements :\n{}\n", payments.join("\n")) },
                l.cancelled.map(|d| format!("Annulée le {} (échéancier recalculé)\n", fr(d))).unwrap_or_default()
            ))
        }
        LedgerCmd::Pay { id, line, on, amount, by, reference } => {
            let cid = cpts_id(&id)?;
            let amount = amount.as_deref().map(euros).transpose()?;
            let paid = app.pay(who, Pay { id: cid, line, on, amount, by, reference }).await.map_err(app_err)?;
            Ok(format!("{}\n", paid.summary))
        }
    }
}

async fn convention_cmd(ctx: &Ctx, cmd: ConventionCmd) -> Result<String, CliError> {
    let (app, who) = (&ctx.app, &ctx.who);
    match cmd {
        ConventionCmd::Add { id, kind, funder, purpose, amount, from, to, installments, deliverables } => {
            let cid = cpts_id(&id)?;
            let mut texts = vec![
                ("--funder", Some(funder.as_str()), Kind::Name),
                ("--purpose", Some(purpose.as_str()), Kind::Line),
            ];
            texts.extend(deliverables.iter().map(|d| ("--deliverable", Some(d.as_str()), Kind::Line)));
            check_texts(&texts)?;
            let mut parsed = Vec::new();
            for i in &installments {
                let (d, a) = i.split_once('=').ok_or_else(|| {
                    usage(format!("échéance « {i} » : attendu DATE=MONTANT (date JJ/MM/AAAA ou AAAA-MM-JJ)"))
                })?;
                let d = cpts_engine::dates::parse_french(d).map_err(|e| usage(format!("échéance « {i} » : {e}")))?;
                parsed.push((d, euros(a.trim())?));
            }
            let c = Convention {
                kind: FunderKind::parse(&kind).map_err(usage)?,
                funder,
                purpose,
                amount: euros(&amount)?,
                start: from,
                end: to,
                deliverables,
                installments: parsed,
            };
            let seq = app.add_convention(who, &cid, &c).await.map_err(app_err)?;
            Ok(format!(
                "Convention n° {seq} enregistrée : {} — {} ({}, du {} au {}), {} échéance(s) au grand livre.\n",
                c.funder_label(),
                c.purpose,
                c.amount,
                fr(c.start),
                fr(c.end),
                c.installments.len()
            ))
        }
        ConventionCmd::List { id } => {
            let cid = cpts_id(&id)?;
            let list = app.conventions(who, &cid).await.map_err(app_err)?;
            if list.is_empty() {
                return Ok(format!("Aucune convention pour {cid}.\n"));
            }
            let mut t = Table::new(&[
                ("N°", true),
                ("Financeur", false),
                ("Objet", false),
                ("Montant", true),
                ("Période", false),
            ]);
            for (seq, c) in &list {
                t.row(vec![
                    seq.to_string(),
                    c.funder_label(),
                    c.purpose.clone(),
                    c.amount.to_string(),
                    format!("{} – {}", fr(c.start), fr(c.end)),
                ]);
            }
            let mut out = t.render();
            for (seq, c) in &list {
                if !c.deliverables.is_empty() {
                    out.push_str(&format!("Livrables de la convention n° {seq} : {}\n", c.deliverables.join(" ; ")));
                }
            }
            Ok(out)
        }
    }
}
/// `cpts alerts`: what is late or due soon, for one CPTS or every CPTS the account may read.
async fn alerts(ctx: &Ctx, id: Option<String>, days: i64, on: Option<Date>) -> Result<String, CliError> {
    let on = on.unwrap_or_else(|| ctx.app.clock.today());
    let id = id.map(|s| cpts_id(&s)).transpose()?;
    let all = ctx.app.alerts(&ctx.who, id.as_ref(), days, on).await.map_err(app_err)?;
    let mut out = format!("Alertes au {} (échéances dans les {days} jours et retards)\n", fr(on));
    for c in all.iter() {
        out.push_str(&format!("\n{} ({})\n", c.record.identity.name, c.record.id));
        for a in &c.alerts {
            out.push_str(&format!(
                "  {} {}\n",
                match a.urgency {
                    Urgency::Late => "! en retard :",
                    Urgency::Soon => "- à venir :",
                    Urgency::ToDo => "- à faire :",
                },
                a.text
            ));
        }
    }
    if all.is_empty() {
        out.push_str("Aucune alerte.\n");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_show_reads_the_contract_in_force_with_its_amendments_and_the_crisis_amounts() {
        let rules = RuleSet::builtin().unwrap();
        let annex = "signed: 2022-09-15\npopulation: 62000\npopulation_source: INSEE\nmissions:\n  - {code: acces_soins, fixed: 45000, variable: 40000, objectives: [{indicator: mt, target: 100, weight: 100}]}\n  - {code: crises, fixed: 35000, activation: 52500}\n";
        let (a, _) = Agreement::new(1, "CPTS Test", annex, "CPAM", "ARS", &rules).unwrap();
        let amendment = "effective: 2023-09-15\npopulation: 70000\nreason: extension\nmissions:\n  - {code: acces_soins, variable: 50000}\n";
        let (a, c) = a.amend(amendment, &rules).unwrap();
        let row = |out: &str, code: &str| out.lines().find(|l| l.starts_with(code)).unwrap().to_string();
        let before = contract_text(&rules, &a, &c, 1, Date::constant(2023, 1, 1));
        assert!(before.contains("en vigueur au 01/01/2023") && before.contains("62 000 habitants (INSEE)"), "{before}");
        assert!(row(&before, "acces_soins").contains("40 000,00 €"), "{before}");
        assert!(before.contains("à venir, effectif le 15/09/2023 : population 70000, enveloppes acces_soins (variable 50 000,00 €) — extension"), "{before}");
        let after = contract_text(&rules, &a, &c, 1, Date::constant(2023, 10, 1));
        assert!(after.contains("70 000 habitants (avenant du 15/09/2023)"), "{after}");
        assert!(
            row(&after, "acces_soins").contains("50 000,00 €") && !row(&after, "acces_soins").contains("40 000"),
            "{after}"
        );
        assert!(after.contains("acces_soins : enveloppes de l'avenant du 15/09/2023"), "{after}");
        // The crisis mission: its preparation and activation amounts, no variable part.
        let crises = row(&after, "crises");
        assert!(crises.contains("35 000,00 €") && crises.contains("52 500,00 €") && crises.contains("—"), "{after}");
        assert!(!crises.contains("grille nationale"), "{after}");
    }
}
