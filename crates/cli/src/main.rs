//! `cpts`: the command line of the cpts platform. Messages for users are in French.

mod accounts;
mod backup;
mod contracts;
mod demo;
mod files;
mod funding;
mod load;
mod members;
mod registry;
mod reports;
mod serve;
mod session;
mod table;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cpts",
    version,
    about = "Financement des CPTS : calcul, explication, échéancier et simulation de l'ACI"
)]
struct Cli {
    /// Dossier de règles à utiliser au lieu des règles livrées (sources.yaml, parameters.yaml…)
    #[arg(long, global = true, value_name = "DOSSIER")]
    rules: Option<PathBuf>,
    /// Base de données : fichier SQLite (créé au premier lancement) ou URL postgres://… ;
    /// par défaut $CPTS_DATABASE_URL, sinon ./cpts.sqlite
    #[arg(long, global = true, value_name = "FICHIER|URL")]
    db: Option<PathBuf>,
    /// Agir avec les droits de ce compte (par défaut $CPTS_USER ; sans compte : opérateur local,
    /// droits nationaux, inscrit comme tel au journal d'audit)
    #[arg(long, global = true, value_name = "IDENTIFIANT")]
    user: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Financement ACI : calculer, expliquer, échelonner, simuler
    #[command(subcommand)]
    Funding(funding::FundingCmd),
    /// Charger les CPTS parisiennes d'octobre 2021 (démonstration) et les lister ; avec
    /// --national, une France SYNTHÉTIQUE d'environ 1 000 CPTS (voir docs/synthetic.md)
    Demo {
        /// France synthétique : CPTS fictives sur des communes réelles, à toutes les étapes, contrats
        /// 2019–2026, grand livre et paiements, valeurs mensuelles, rapports, au 30/11/2026
        #[arg(long)]
        national: bool,
        /// Nombre de CPTS synthétiques (1 000 par défaut)
        #[arg(long, requires = "national", value_name = "N")]
        cpts: Option<usize>,
        /// Base où écrire (fichier SQLite ou URL postgres://… ; par défaut celle de --db)
        #[arg(long, requires = "national", value_name = "FICHIER|URL")]
        store: Option<PathBuf>,
    },
    /// Lister les CPTS avec leur population et leur taille
    List {
        /// Date des règles de taille (JJ/MM/AAAA ou AAAA-MM-JJ ; par défaut aujourd'hui)
        #[arg(long)]
        on: Option<jiff::civil::Date>,
    },
    /// Afficher une CPTS
    Show {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Date des règles de taille (JJ/MM/AAAA ou AAAA-MM-JJ ; par défaut aujourd'hui)
        #[arg(long)]
        on: Option<jiff::civil::Date>,
    },
    /// Créer une CPTS
    Create {
        /// Nom de la CPTS
        name: String,
        /// Identifiant (par défaut tiré du nom : cpts-paris-18)
        #[arg(long)]
        id: Option<String>,
        /// Forme juridique (par défaut « association loi 1901 »)
        #[arg(long)]
        legal_form: Option<String>,
        #[command(flatten)]
        ids: registry::IdentityArgs,
    },
    /// Modifier l'identité d'une CPTS (refusé si quelqu'un a enregistré depuis la version donnée)
    Edit {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Version de la CPTS que vous modifiez (voir `cpts show`) : refus si quelqu'un a enregistré entre-temps
        #[arg(long)]
        version: i64,
        /// Nouveau nom de la CPTS
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        ids: registry::IdentityArgs,
    },
    /// Territoire des CPTS
    #[command(subcommand)]
    Territory(registry::TerritoryCmd),
    /// Membres (professionnels) d'une CPTS : import, liste, export
    #[command(subcommand)]
    Members(registry::MembersCmd),
    /// Structures membres (MSP, centres de santé, établissements…)
    #[command(subcommand)]
    Structures(registry::StructuresCmd),
    /// Gouvernance : président, trésorier, secrétaire, coordinateur, bureau, comité de pilotage
    #[command(subcommand)]
    Governance(registry::GovernanceCmd),
    /// Cycle de vie : de la déclaration d'intérêt au contrat ACI (étapes datées, rôles, conditions)
    #[command(subcommand)]
    Lifecycle(contracts::LifecycleCmd),
    /// Contrat ACI : signature, calendrier de déploiement, démarrages, avenants, résiliation
    #[command(subcommand)]
    Contract(contracts::ContractCmd),
    /// Grand livre : versements de chaque financeur, statuts, paiements
    #[command(subcommand)]
    Ledger(contracts::LedgerCmd),
    /// Conventions des autres financeurs (ARS/FIR phase 1, collectivités, fonds européens, privés)
    #[command(subcommand)]
    Convention(contracts::ConventionCmd),
    /// Catalogue des indicateurs nationaux par mission
    Indicators,
    /// Valeurs des indicateurs : saisie, import CSV/XLSX, liste, historique, export
    #[command(subcommand)]
    Values(reports::ValuesCmd),
    /// Atteinte des objectifs et part variable d'une année (calcul du moteur, expliqué)
    Achievement {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Année du contrat (par défaut l'année en cours)
        #[arg(long)]
        year: Option<u8>,
        /// Numéro du contrat (par défaut le dernier signé)
        #[arg(long)]
        contract: Option<i64>,
    },
    /// Rapport d'activité annuel : rédaction, soumission, revue, validation, export PDF/CSV/XLSX
    #[command(subcommand)]
    Report(reports::ReportCmd),
    /// Comptes : création, rôles et périmètres, mot de passe, désactivation (admin national)
    #[command(subcommand)]
    User(accounts::UserCmd),
    /// Jetons de l'API JSON du compte --user : création, liste, révocation
    #[command(subcommand)]
    Token(accounts::TokenCmd),
    /// Journal d'audit : qui a écrit quoi, quand, avant et après (dans votre périmètre) ;
    /// `audit verify` : vérifier que personne ne l'a modifié dans la base
    #[command(args_conflicts_with_subcommands = true)]
    Audit {
        #[command(subcommand)]
        check: Option<AuditCmd>,
        /// Seulement cette CPTS
        #[arg(long)]
        cpts: Option<String>,
        /// Seulement les écritures de ce compte
        #[arg(long)]
        login: Option<String>,
        /// Depuis cette date (JJ/MM/AAAA ou AAAA-MM-JJ)
        #[arg(long)]
        since: Option<jiff::civil::Date>,
        /// Nombre de lignes au plus (200 par défaut)
        #[arg(long)]
        limit: Option<i64>,
        /// Sortie JSON, avec l'avant et l'après de chaque écriture
        #[arg(long)]
        json: bool,
    },
    /// Sauvegarder toute la base : FICHIER.jsonl (ou tout autre nom) : export logique, SQLite
    /// comme PostgreSQL ; FICHIER.sqlite : copie de la base SQLite, pendant que le serveur tourne
    Backup {
        /// Fichier à écrire (jamais écrasé)
        file: PathBuf,
    },
    /// Restaurer une sauvegarde logique (tout ou rien) ; une base non vide est refusée sans --remplacer
    Restore {
        /// Sauvegarde logique écrite par `cpts backup`
        file: PathBuf,
        /// Remplacer toutes les données d'une base qui n'est pas vide
        #[arg(long)]
        remplacer: bool,
    },
    /// Application web : sert les pages (tableau de bord, CPTS, formulaires) sur la base
    Serve {
        /// Adresse d'écoute
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: std::net::SocketAddr,
        /// Origine publique du site (ex. https://cpts.exemple.fr) quand il est servi derrière un mandataire
        #[arg(long)]
        origin: Option<String>,
        /// Cookies « Secure » : le site est servi en HTTPS (directement ou derrière un mandataire)
        #[arg(long)]
        secure: bool,
        /// Démonstration : base temporaire neuve, CPTS parisiennes de 2021, un compte par rôle
        #[arg(long)]
        demo: bool,
        /// Date du jour de l'application (par défaut aujourd'hui ; 15/01/2022 avec --demo)
        #[arg(long)]
        on: Option<jiff::civil::Date>,
        /// Fichier YAML des fournisseurs d'identité (Pro Santé Connect, ProConnect), par défaut $CPTS_IDENTITY_FILE ; voir docs/identity.md
        #[arg(long)]
        identity: Option<std::path::PathBuf>,
    },
    /// Ce qui est en retard ou arrive à échéance (une CPTS ou toutes)
    Alerts {
        /// Identifiant de la CPTS (toutes par défaut)
        id: Option<String>,
        /// Horizon en jours
        #[arg(long, default_value_t = 30)]
        days: i64,
        /// Date d'observation (par défaut aujourd'hui)
        #[arg(long)]
        on: Option<jiff::civil::Date>,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Vérifier la chaîne d'empreintes du journal : chaque ligne, dans l'ordre, jusqu'à la dernière
    Verify,
}

/// The national indicator catalogue, one line each.
fn indicators(rules_dir: Option<&std::path::Path>) -> Result<String, load::CliError> {
    use cpts_domain::indicators::{Catalogue, Direction};
    let rules = load::rules(rules_dir)?;
    let c = Catalogue::builtin(&rules).map_err(load::CliError::Failed)?;
    let mut t = table::Table::new(&[
        ("Code", false),
        ("Mission", false),
        ("Libellé", false),
        ("Unité", false),
        ("Saisie", false),
        ("Meilleur si", false),
    ]);
    for i in &c.indicators {
        t.row(vec![
            i.code.clone(),
            i.mission.clone(),
            i.label.clone(),
            i.unit.label().into(),
            i.periodicity.label().into(),
            if i.direction == Direction::Hausse { "hausse" } else { "baisse" }.into(),
        ]);
    }
    Ok(format!(
        "{}La mission crises n'a pas d'indicateur de résultat (jalons du plan). Cibles, poids et règles de paiement sont fixés par chaque contrat ; un contrat peut définir ses propres indicateurs.\nSource : rules/indicators/catalogue.yaml (définitions de travail [S], convention cpts).\n",
        t.render()
    ))
}

/// Print a command's text: stored text (names, comments, reports) may hold terminal escapes
/// written by another user or an older cpts, so every control character is shown escaped
/// (line feeds and tabs kept).
fn show(out: &str) {
    funding::emit(&cpts_domain::text::escape(out, true));
}

/// One date syntax on every date option: JJ/MM/AAAA or AAAA-MM-JJ, refused in French.
fn date_arg(s: &str) -> Result<jiff::civil::Date, String> {
    cpts_engine::dates::parse_french(s)
}

/// The command line in French: help headings and flags, and every `Date` option read by
/// `date_arg` (set here once rather than on each declaration), down every subcommand.
fn french(cmd: clap::Command) -> clap::Command {
    use clap::{Arg, ArgAction};
    let cmd = cmd
        .help_template("{about-with-newline}\nUtilisation : {usage}\n\n{all-args}{after-help}")
        .subcommand_help_heading("Commandes")
        .subcommand_value_name("COMMANDE")
        .disable_help_subcommand(true)
        .disable_help_flag(true)
        .arg(Arg::new("help").short('h').long("help").action(ArgAction::Help).help("Afficher l'aide"))
        .mut_args(french_arg);
    let cmd = if cmd.get_version().is_some() {
        cmd.disable_version_flag(true)
            .arg(Arg::new("version").short('V').long("version").action(ArgAction::Version).help("Afficher la version"))
    } else {
        cmd
    };
    cmd.mut_subcommands(french)
}

/// One argument in French: date parser and syntax, placeholder names, default value.
fn french_arg(a: clap::Arg) -> clap::Arg {
    let mut help = a.get_help().map(ToString::to_string).unwrap_or_default();
    // Said inside the help's closing parenthesis, if any: « (JJ/MM/AAAA ou AAAA-MM-JJ ; par défaut …) ».
    let mut note = |n: &str| {
        help = match help.strip_suffix(')').and_then(|h| h.rsplit_once('(')) {
            Some((text, inside)) => format!("{text}({n} ; {inside})"),
            None => format!("{help} ({n})"),
        }
    };
    let date = a.get_value_parser().type_id() == std::any::TypeId::of::<jiff::civil::Date>();
    if date && !a.get_help().is_some_and(|h| h.to_string().contains("AAAA")) {
        note("JJ/MM/AAAA ou AAAA-MM-JJ");
    }
    let defaults: Vec<String> = a.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect();
    let shown = !defaults.is_empty() && !a.is_hide_default_value_set() && a.get_action().takes_values();
    if shown {
        note(&format!("par défaut {}", defaults.join(", ")));
    }
    // Placeholders clap derives from field names (<YEAR>), in French.
    let derived = a
        .get_value_names()
        .is_none_or(|n| n.len() == 1 && n.iter().all(|v| v.as_str() == a.get_id().as_str().to_uppercase()));
    let name = match a.get_id().as_str() {
        _ if date => Some("DATE"),
        "year" => Some("ANNÉE"),
        "amount" => Some("MONTANT"),
        "line" => Some("LIGNE"),
        "file" | "output" => Some("FICHIER"),
        "indicator" => Some("INDICATEUR"),
        "period" => Some("PÉRIODE"),
        "value" => Some("VALEUR"),
        "numerator" => Some("NUMÉRATEUR"),
        "denominator" => Some("DÉNOMINATEUR"),
        "version" => Some("VERSION"),
        "contract" | "seq" => Some("NUMÉRO"),
        "days" => Some("JOURS"),
        "name" => Some("NOM"),
        "person" => Some("PERSONNE"),
        "funder" => Some("FINANCEUR"),
        "purpose" => Some("OBJET"),
        "kind" => Some("TYPE"),
        "reason" => Some("MOTIF"),
        "text" => Some("TEXTE"),
        "mission" => Some("MISSION"),
        "step" => Some("ÉTAPE"),
        "reform" => Some("RÉFORME"),
        "case" | "cases" => Some("CONTRAT"),
        "paths" => Some("CHEMIN"),
        "communes" => Some("COMMUNE"),
        "installments" => Some("ÉCHÉANCE"),
        "deliverables" => Some("LIVRABLE"),
        "grade" => Some("GRADE"),
        "reference" => Some("RÉFÉRENCE"),
        "by" => Some("NOM"),
        "from" | "until" | "joined" | "to" => Some("DATE"),
        "commune" | "seat" => Some("COMMUNE"),
        _ => None,
    };
    let a = if date { a.value_parser(date_arg) } else { a };
    let a = match name {
        Some(n) if derived && a.get_action().takes_values() => a.value_name(n),
        _ => a,
    };
    let a = if shown { a.hide_default_value(true) } else { a };
    if help.is_empty() { a } else { a.help(help) }
}

/// clap's errors in French: the kind and its context (argument, value, suggestion), then the
/// usage of the command at fault.
struct French;

impl clap::error::ErrorFormatter for French {
    fn format_error(error: &clap::error::Error<Self>) -> clap::builder::StyledStr {
        use clap::error::{ContextKind, ContextValue, ErrorKind};
        let text = |k: ContextKind| match error.get(k) {
            Some(ContextValue::String(s)) => Some(s.clone()),
            Some(ContextValue::Strings(v)) => Some(v.join(", ")),
            Some(ContextValue::StyledStr(s)) => Some(s.to_string()),
            Some(ContextValue::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let arg = text(ContextKind::InvalidArg).unwrap_or_default();
        let value = text(ContextKind::InvalidValue).unwrap_or_default();
        let mut m = match error.kind() {
            ErrorKind::InvalidValue => match text(ContextKind::ValidValue) {
                Some(valid) => format!("valeur « {value} » invalide pour « {arg} » (valeurs possibles : {valid})"),
                None => format!("valeur manquante pour « {arg} »"),
            },
            ErrorKind::ValueValidation => {
                let why = std::error::Error::source(error).map(|e| match e.downcast_ref::<std::num::ParseIntError>() {
                    Some(p) => match p.kind() {
                        std::num::IntErrorKind::Empty => "valeur vide".to_string(),
                        std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                            "nombre hors limites".to_string()
                        }
                        _ => "nombre entier attendu".to_string(),
                    },
                    None => e.to_string(),
                });
                match why {
                    Some(why) => format!("valeur « {value} » invalide pour « {arg} » : {why}"),
                    None => format!("valeur « {value} » invalide pour « {arg} »"),
                }
            }
            ErrorKind::UnknownArgument => format!("argument inattendu « {arg} »"),
            ErrorKind::InvalidSubcommand => {
                format!("commande inconnue « {} »", text(ContextKind::InvalidSubcommand).unwrap_or_default())
            }
            ErrorKind::NoEquals => format!("« {arg} » attend sa valeur après un signe ="),
            ErrorKind::TooManyValues => format!("valeur « {value} » en trop pour « {arg} »"),
            ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues => {
                format!("nombre de valeurs incorrect pour « {arg} »")
            }
            ErrorKind::ArgumentConflict => match text(ContextKind::PriorArg) {
                Some(prior) => format!("« {arg} » ne va pas avec « {prior} »"),
                None => format!("« {arg} » ne peut être donné qu'une fois"),
            },
            ErrorKind::MissingRequiredArgument => format!("argument(s) obligatoire(s) manquant(s) : {arg}"),
            ErrorKind::MissingSubcommand => "commande manquante".to_string(),
            _ => "ligne de commande invalide".to_string(),
        };
        for k in [ContextKind::SuggestedArg, ContextKind::SuggestedSubcommand, ContextKind::SuggestedValue] {
            if let Some(s) = text(k) {
                m.push_str(&format!(" ; vouliez-vous dire « {s} » ?"));
            }
        }
        let mut out = format!("erreur : {m}\n");
        if let Some(usage) = text(ContextKind::Usage) {
            let usage = usage.trim().trim_start_matches("Usage:").trim();
            out.push_str(&format!("\nUtilisation : {usage}\n"));
        }
        out.push_str("\nPour plus d'informations, essayez « --help ».\n");
        out.into()
    }
}

/// The arguments, parsed with the French command; a usage error exits with status 2.
fn parse() -> Cli {
    let matches = french(Cli::command()).try_get_matches().unwrap_or_else(|e| e.apply::<French>().exit());
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.apply::<French>().exit())
}

fn main() -> ExitCode {
    let cli = parse();
    session::set_user(cli.user.clone());
    let db = cli.db.as_deref();
    let registry = |action| registry::run(action, db).map(|out| show(&out));
    let rules_dir = cli.rules.as_deref();
    let money = |action| contracts::run(action, db, rules_dir).map(|out| show(&out));
    let result = match cli.command {
        Command::Funding(cmd) => funding::run(cmd, cli.rules.as_deref()),
        Command::Demo { national: false, .. } => registry(registry::Action::Demo),
        Command::Demo { national: true, cpts, store } => {
            registry::run(registry::Action::DemoNational { cpts }, store.as_deref().or(db)).map(|out| show(&out))
        }
        Command::List { on } => registry(registry::Action::List { on }),
        Command::Show { id, on } => registry(registry::Action::Show { id, on }),
        Command::Create { name, id, legal_form, ids } => {
            registry(registry::Action::Create { name, id, legal_form, ids })
        }
        Command::Edit { id, version, name, ids } => registry(registry::Action::Edit { id, version, name, ids }),
        Command::Territory(cmd) => registry(registry::Action::Territory(cmd)),
        Command::Members(cmd) => registry(registry::Action::Members(cmd)),
        Command::Structures(cmd) => registry(registry::Action::Structures(cmd)),
        Command::Governance(cmd) => registry(registry::Action::Governance(cmd)),
        Command::Lifecycle(cmd) => money(contracts::Action::Lifecycle(cmd)),
        Command::Contract(cmd) => money(contracts::Action::Contract(cmd)),
        Command::Ledger(cmd) => money(contracts::Action::Ledger(cmd)),
        Command::Convention(cmd) => money(contracts::Action::Convention(cmd)),
        Command::Values(cmd) => reports::run(reports::Action::Values(cmd), db, rules_dir).map(|out| show(&out)),
        Command::Achievement { id, year, contract } => {
            reports::run(reports::Action::Achievement { id, year, contract }, db, rules_dir).map(|out| show(&out))
        }
        Command::Report(cmd) => reports::run(reports::Action::Report(cmd), db, rules_dir).map(|out| show(&out)),
        Command::Indicators => indicators(cli.rules.as_deref()).map(|out| show(&out)),
        Command::User(cmd) => accounts::user(cmd, db, rules_dir).map(|out| show(&out)),
        Command::Token(cmd) => accounts::token(cmd, db, rules_dir).map(|out| show(&out)),
        Command::Audit { check: Some(AuditCmd::Verify), .. } => backup::verify(db, rules_dir).map(|out| show(&out)),
        Command::Backup { file } => backup::backup(file, db, rules_dir).map(|out| show(&out)),
        Command::Restore { file, remplacer } => backup::restore(file, remplacer, db, rules_dir).map(|out| show(&out)),
        Command::Audit { check: None, cpts, login, since, limit, json } => match cpts.map(|c| c.parse()).transpose() {
            Ok(cpts) => accounts::audit(cpts_app::audit::AuditQuery { cpts, login, since, limit, offset: None }, json, db, rules_dir)
                .map(|out| show(&out)),
            Err(e) => Err(load::CliError::Usage(e)),
        },
        Command::Alerts { id, days, on } => money(contracts::Action::Alerts { id, days, on }),
        Command::Serve { bind, origin, secure, demo, on, identity } => {
            serve::run(serve::Serve { db, rules_dir, bind, origin, secure, demo, on, identity: identity.or_else(|| std::env::var_os("CPTS_IDENTITY_FILE").map(Into::into)).as_deref() })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Errors quote user text too.
            eprintln!("{}", cpts_domain::text::escape(&e.to_string(), true));
            ExitCode::from(e.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail by panicking

    use super::*;

    /// Every argument of every command, with its command path, lacking a help text.
    fn undocumented(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
        for a in cmd.get_arguments() {
            if a.get_help().is_none_or(|h| h.to_string().trim().is_empty()) {
                out.push(format!("{path} {}", a.get_id()));
            }
        }
        for sub in cmd.get_subcommands() {
            undocumented(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn every_argument_of_every_command_has_a_french_help_text() {
        let cmd = french(Cli::command());
        cmd.clone().debug_assert();
        let mut missing = Vec::new();
        undocumented(&cmd, "cpts", &mut missing);
        assert!(missing.is_empty(), "{} sans aide :\n{}", missing.len(), missing.join("\n"));
    }
}
