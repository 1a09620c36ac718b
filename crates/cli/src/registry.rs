//! `cpts create|list|show|edit`, `cpts territory …`, `cpts members …`, `cpts structures …`,
//! `cpts governance …`, `cpts demo`: thin adapters over the application's registry use cases
//! (`cpts_app::registry`, `cpts_app::members`): parse the arguments, call one use case, format.

use clap::Subcommand;
use cpts_app::members::{MemberPatchInput, MembersImport};
use cpts_app::registry::{CpamOf, CptsSummary, CptsView, EditIdentity, IdsInput, NewCpts, OverlapView, SetTerritory, StructureInput};
use cpts_app::{AppError, FieldError};
use cpts_domain::geo::{self, Geo};
use cpts_domain::ids::CptsId;
use cpts_domain::members::{ImportMode, ImportPlan};
use cpts_domain::registry::Member;
use cpts_domain::table::{LineError, error_list};
use cpts_engine::dates::parse_french;
use cpts_engine::money::group_thousands;
use jiff::civil::Date;

use crate::load::CliError;
use crate::session::{self, app_err};
use crate::table::Table;

#[derive(Subcommand)]
pub enum TerritoryCmd {
    /// Remplacer le territoire d'une CPTS (codes INSEE ou noms de communes)
    Set {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Version de la CPTS que vous modifiez (voir `cpts show`) : refus si quelqu'un a enregistré entre-temps
        #[arg(long)]
        version: i64,
        /// Communes du territoire : codes INSEE ou noms
        #[arg(required = true)]
        communes: Vec<String>,
    },
    /// Communes revendiquées par deux CPTS
    Overlaps,
}

#[derive(Subcommand)]
pub enum MembersCmd {
    /// Importer des membres depuis un fichier CSV (;) ou XLSX : tout ou rien, ce qui change est affiché
    Import {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Fichier CSV (;) ou XLSX des membres
        file: std::path::PathBuf,
        /// ajout : ajoute les nouveaux membres, sans modifier ceux enregistrés ; remplacement : le fichier est la liste complète (ajouts, corrections, départs des absents)
        #[arg(long, default_value = "ajout")]
        mode: String,
        /// Afficher ce que l'import ferait, sans rien enregistrer
        #[arg(long)]
        dry_run: bool,
        /// En remplacement : date de départ des membres absents du fichier (JJ/MM/AAAA ou AAAA-MM-JJ ; par défaut aujourd'hui)
        #[arg(long)]
        left_on: Option<String>,
    },
    /// Lister les membres (actifs et partis), avec leur numéro
    List {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
    },
    /// Exporter les membres (CSV ou XLSX selon l'extension)
    Export {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Fichier à écrire (.csv ou .xlsx)
        #[arg(long, short)]
        output: std::path::PathBuf,
    },
    /// Enregistrer le départ d'un membre (il reste dans la liste, comme ancien membre)
    Leave {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Numéro du membre (voir `cpts members list`)
        num: i64,
        /// Date de départ (JJ/MM/AAAA ou AAAA-MM-JJ)
        #[arg(long)]
        on: String,
    },
    /// Corriger un membre (l'état précédent est gardé dans l'historique)
    Edit {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Numéro du membre (voir `cpts members list`)
        num: i64,
        /// Nom
        #[arg(long)]
        last_name: Option<String>,
        /// Prénom
        #[arg(long)]
        first_name: Option<String>,
        /// Profession
        #[arg(long)]
        profession: Option<String>,
        /// Numéro RPPS (11 chiffres ; « - » pour l'effacer)
        #[arg(long)]
        rpps: Option<String>,
        /// Commune d'exercice (code INSEE ou nom)
        #[arg(long)]
        commune: Option<String>,
        /// Date d'adhésion (JJ/MM/AAAA ou AAAA-MM-JJ)
        #[arg(long)]
        joined: Option<String>,
        /// Date de départ (JJ/MM/AAAA ou AAAA-MM-JJ ; « - » pour l'effacer)
        #[arg(long)]
        left: Option<String>,
    },
    /// Supprimer un membre saisi par erreur (il reste dans l'historique ; un départ se note avec `leave`)
    Remove {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Numéro du membre (voir `cpts members list`)
        num: i64,
    },
    /// Historique des corrections et suppressions de membres
    History {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
    },
}

#[derive(Subcommand)]
pub enum StructuresCmd {
    /// Ajouter une structure membre
    Add {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Nom de la structure
        #[arg(long)]
        name: String,
        /// MSP, centre de santé, ESP, ESS, établissement de santé, ESSMS, DAC, autre structure
        #[arg(long)]
        kind: String,
        /// Commune (code INSEE ou nom)
        #[arg(long)]
        commune: String,
        /// Numéro FINESS de la structure
        #[arg(long)]
        finess: Option<String>,
        /// Date d'adhésion (JJ/MM/AAAA ou AAAA-MM-JJ)
        #[arg(long)]
        joined: String,
    },
    /// Lister les structures membres
    List {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
    },
}

#[derive(Subcommand)]
pub enum GovernanceCmd {
    /// Ajouter un mandat (refusé s'il y aurait deux présidents, trésoriers ou secrétaires à la fois)
    Add {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// président, trésorier, secrétaire, coordinateur, membre du bureau, membre du comité de pilotage
        #[arg(long)]
        role: String,
        /// Nom de la personne
        #[arg(long)]
        person: String,
        /// Début du mandat (JJ/MM/AAAA ou AAAA-MM-JJ)
        #[arg(long)]
        from: String,
        /// Fin du mandat (JJ/MM/AAAA ou AAAA-MM-JJ ; par défaut sans fin)
        #[arg(long)]
        until: Option<String>,
    },
    /// Clore un mandat (il reste dans l'historique)
    End {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Numéro du mandat (voir `cpts governance list`)
        seq: i64,
        /// Fin du mandat (JJ/MM/AAAA ou AAAA-MM-JJ)
        #[arg(long)]
        until: String,
    },
    /// Historique des mandats et titulaires à une date
    List {
        /// Identifiant de la CPTS (ex. cpts-paris-18)
        id: String,
        /// Titulaires à cette date (par défaut aujourd'hui)
        #[arg(long)]
        on: Option<Date>,
    },
}

/// Identity fields given on the command line.
#[derive(clap::Args)]
pub struct IdentityArgs {
    /// Numéro RNA de l'association (W suivi de 9 chiffres)
    #[arg(long)]
    pub rna: Option<String>,
    /// Numéro SIRET (14 chiffres)
    #[arg(long)]
    pub siret: Option<String>,
    /// Numéro FINESS
    #[arg(long)]
    pub finess: Option<String>,
    /// Commune du siège (code INSEE ou nom)
    #[arg(long)]
    pub seat: Option<String>,
}

pub fn store_url(db: Option<&std::path::Path>) -> String {
    match db {
        Some(p) => p.display().to_string(),
        None => std::env::var("CPTS_DATABASE_URL").unwrap_or_else(|_| "cpts.sqlite".into()),
    }
}

fn id(s: &str) -> Result<CptsId, CliError> {
    s.parse().map_err(CliError::Usage)
}

/// The messages of form errors, as the command line has always said them (without the field).
fn messages(errors: &[FieldError]) -> String {
    errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join(" ; ")
}

/// The application's errors for these commands: form errors by their messages.
fn said(e: AppError) -> CliError {
    match e {
        AppError::Invalid(errors) => CliError::Usage(messages(&errors)),
        e => app_err(e),
    }
}

/// As `said`, pointing to the list of members when a member number is unknown.
fn member_err(e: AppError, cid: &CptsId) -> CliError {
    match e {
        AppError::NotFound(m) if m.starts_with("membre") => {
            CliError::Usage(format!("{m} (voir cpts members list {cid})"))
        }
        e => said(e),
    }
}

/// A file's errors back as lines, for `error_list`.
fn lines(errors: &[FieldError]) -> Vec<LineError> {
    errors
        .iter()
        .map(|e| LineError { line: e.line.unwrap_or(0), column: e.field.clone(), message: e.message.clone() })
        .collect()
}

fn ids_input(a: IdentityArgs) -> IdsInput {
    IdsInput { rna: a.rna, siret: a.siret, finess: a.finess, seat: a.seat }
}

/// One line per CPTS: territory, population, tier under the rules in force on `on`.
fn rows_text(geo: &Geo, rows: &[CptsSummary], on: Date) -> String {
    let mut t = Table::new(&[
        ("Identifiant", false),
        ("Nom", false),
        ("Territoire", false),
        ("Population", true),
        ("Taille", true),
    ]);
    let mut rows: Vec<&CptsSummary> = rows.iter().collect();
    rows.sort_by(|a, b| cpts_domain::registry::natural_cmp(a.record.id.as_str(), b.record.id.as_str()));
    for s in rows {
        let r = &s.record;
        let names: Vec<String> =
            r.territory.communes.iter().map(|c| geo.commune(c).map_or(c.to_string(), |x| x.name.clone())).collect();
        let (pop, tier) = match &s.summary {
            Ok(s) => (group_thousands(s.population), s.tier.0.to_string()),
            Err(_) if r.territory.communes.is_empty() => ("—".into(), "—".into()),
            Err(e) => ("?".into(), e.clone()),
        };
        t.row(vec![r.id.to_string(), r.identity.name.clone(), short_list(&names), pop, tier]);
    }
    format!(
        "{}\nPopulation : {}.\nTaille selon les seuils de l'ACI en vigueur au {}.\n",
        t.render(),
        geo::SOURCE,
        cpts_engine::dates::fr(on)
    )
}

fn short_list(names: &[String]) -> String {
    let shortened: Vec<String> = names.iter().map(|n| n.replace(" Arrondissement", "")).collect();
    if shortened.len() > 4 {
        format!(
            "{}, … ({} communes)",
            shortened.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
            shortened.len()
        )
    } else {
        shortened.join(", ")
    }
}

fn show_text(geo: &Geo, v: &CptsView) -> String {
    let (r, on) = (&v.cpts.record, v.cpts.on);
    let mut out = format!("{} ({}) — version {} de l'identité, version {} du territoire\n", r.identity.name, r.id, r.version, r.territory_version);
    out.push_str(&format!("Forme juridique : {}\n", r.identity.legal_form));
    let opt = |v: Option<String>| v.unwrap_or_else(|| "non renseigné".into());
    out.push_str(&format!(
        "RNA : {}\nSIRET : {}\nFINESS : {}\n",
        opt(r.identity.rna.as_ref().map(ToString::to_string)),
        opt(r.identity.siret.as_ref().map(ToString::to_string)),
        opt(r.identity.finess.as_ref().map(ToString::to_string))
    ));
    let seat = r.identity.seat.as_ref().and_then(|s| geo.commune(s));
    out.push_str(&format!(
        "Siège : {}\n",
        seat.map_or("non renseigné".to_string(), |c| format!("{} ({})", c.name, c.code))
    ));
    if r.territory.communes.is_empty() {
        out.push_str("Territoire : non défini\n");
        return out;
    }
    out.push_str("Territoire :\n");
    for c in &r.territory.communes {
        if let Some(x) = geo.commune(c) {
            out.push_str(&format!(
                "  {} {} — {} habitants\n",
                x.code,
                x.name,
                x.population.map_or("?".into(), group_thousands)
            ));
        }
    }
    match &v.cpts.summary {
        Ok(s) => {
            let deps: Vec<String> =
                s.departements.iter().map(|d| format!("{} ({d})", geo.departement_name(d).unwrap_or("?"))).collect();
            let regs: Vec<String> =
                s.regions.iter().map(|d| format!("{} ({d})", geo.region_name(d).unwrap_or("?"))).collect();
            out.push_str(&format!(
                "Population : {} habitants ({}) → {} selon les seuils en vigueur au {}\nDépartements : {}\nRégions (ARS) : {}\n",
                group_thousands(s.population),
                geo::SOURCE,
                s.tier,
                cpts_engine::dates::fr(on),
                deps.join(", "),
                regs.join(", ")
            ));
            let cpam = match &v.cpam {
                CpamOf::Seat(dep) => Some((dep, "celle du siège")),
                CpamOf::OnlyDepartement(dep) => Some((dep, "siège non renseigné ; territoire sur ce seul département")),
                CpamOf::Unknown => None,
            };
            match cpam {
                Some((dep, why)) => {
                    out.push_str(&format!("CPAM : {} ({dep}) — {why}\n", geo.departement_name(dep).unwrap_or("?")))
                }
                None => out.push_str("CPAM : celle du siège, non renseigné\n"),
            }
        }
        Err(e) => out.push_str(&format!("Population et taille : {e}\n")),
    }
    out
}

fn overlaps_text(geo: &Geo, found: &[OverlapView]) -> String {
    if found.is_empty() {
        return "Aucun chevauchement : aucune commune n'est revendiquée par deux CPTS.\n".into();
    }
    let mut t = Table::new(&[("CPTS", false), ("CPTS", false), ("Communes en commun", false), ("Habitants", true)]);
    for o in found {
        let names: Vec<String> =
            o.communes.iter().map(|c| geo.commune(c).map_or(c.to_string(), |x| format!("{} ({c})", x.name))).collect();
        t.row(vec![
            format!("{} ({})", o.a.name, o.a.id),
            format!("{} ({})", o.b.name, o.b.id),
            short_list(&names),
            group_thousands(o.population),
        ]);
    }
    format!("{} chevauchement(s) :\n{}", found.len(), t.render())
}

/// What an import does, shown before it is applied (and alone with `--dry-run`).
fn plan_text(geo: &Geo, plan: &ImportPlan, mode: ImportMode, name: &str, cid: &CptsId) -> String {
    // A long list is summed up: the counts are always complete.
    const SHOWN: usize = 20;
    let mode = match mode {
        ImportMode::Add => "ajout",
        ImportMode::Replace => "remplacement",
    };
    let mut out = format!(
        "Import en mode {mode} pour {name} ({cid}) : {} ajout(s), {} correction(s), {} départ(s), {} inchangé(s).\n",
        plan.added.len(),
        plan.changed.len(),
        plan.ended.len(),
        plan.unchanged
    );
    let who = |m: &Member| format!("{} {} ({})", m.first_name, m.last_name, m.profession.label());
    let mut lines: Vec<String> = Vec::new();
    lines.extend(plan.added.iter().map(|(line, m)| {
        let commune = geo.commune(&m.commune).map_or(m.commune.to_string(), |c| c.name.clone());
        format!("  + ligne {line} : {}, {commune}", who(m))
    }));
    lines.extend(
        plan.changed.iter().map(|c| format!("  ~ n° {} {} : {}", c.seq, who(&c.before), c.fields().join(", "))),
    );
    lines.extend(plan.ended.iter().map(|c| {
        format!(
            "  - n° {} {} : absent du fichier, départ au {}",
            c.seq,
            who(&c.before),
            c.after.left.map_or(String::new(), cpts_engine::dates::fr)
        )
    }));
    let more = lines.len().saturating_sub(SHOWN);
    for l in lines.into_iter().take(SHOWN) {
        out.push_str(&l);
        out.push('\n');
    }
    if more > 0 {
        out.push_str(&format!("  … et {more} autre(s)\n"));
    }
    out
}


pub enum Action {
    Create { name: String, id: Option<String>, legal_form: Option<String>, ids: IdentityArgs },
    List { on: Option<Date> },
    Show { id: String, on: Option<Date> },
    Edit { id: String, version: i64, name: Option<String>, ids: IdentityArgs },
    Territory(TerritoryCmd),
    Members(MembersCmd),
    Structures(StructuresCmd),
    Governance(GovernanceCmd),
    Demo,
    /// The synthetic France (`cpts demo --national`).
    DemoNational { cpts: Option<usize> },
}

pub fn run(action: Action, db: Option<&std::path::Path>) -> Result<String, CliError> {
    session::run(db, None, |ctx| async move {
        let (app, who) = (&ctx.app, &ctx.who);
        let geo = &app.geo;
        let out = match action {
            Action::Create { name, id: given, legal_form, ids } => {
                let ids = app.parse_ids(&ids_input(ids)).map_err(said)?;
                let id = given.map(|s| id(&s)).transpose()?;
                let r = app.create_cpts(who, NewCpts { id, name, legal_form, ids }).await.map_err(|e| match e {
                    AppError::Invalid(errors) if errors.iter().any(|e| e.field == "identifiant") => {
                        CliError::Usage(format!("{} avec --id (ex. --id cpts-du-val)", messages(&errors)))
                    }
                    e => said(e),
                })?;
                format!("CPTS créée : {} ({}), version {}.\nDéfinissez son territoire : cpts territory set {} --version {} <communes…>\n", r.identity.name, r.id, r.version, r.id, r.territory_version)
            }
            Action::List { on } => {
                let on = on.unwrap_or_else(|| app.clock.today());
                let all: Vec<CptsSummary> = app.list(who, on).await.map_err(said)?.iter().map(|e| e.cpts.clone()).collect();
                if all.is_empty() { "Aucune CPTS enregistrée. Essayez `cpts demo`.\n".into() } else { rows_text(geo, &all, on) }
            }
            Action::Show { id: s, on } => show_text(geo, &app.show_cpts(who, &id(&s)?, on).await.map_err(said)?),
            Action::Edit { id: s, version, name, ids } => {
                let cid = id(&s)?;
                let ids = app.parse_ids(&ids_input(ids)).map_err(said)?;
                let e = app.edit_identity(who, EditIdentity { id: cid, version, name, ids }).await.map_err(said)?;
                format!("Enregistré : {} ({}), version {}.\n", e.identity.name, e.id, e.version)
            }
            Action::Territory(TerritoryCmd::Set { id: s, version, communes }) => {
                let cid = id(&s)?;
                let territory = app.parse_territory(&communes).map_err(|e| match e {
                    AppError::Invalid(errors) => {
                        let list: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
                        CliError::Usage(format!("territoire refusé, rien n'a été enregistré :\n  - {}", list.join("\n  - ")))
                    }
                    e => said(e),
                })?;
                let done = app.set_territory(who, SetTerritory { id: cid.clone(), version, territory }).await.map_err(said)?;
                let mut out = format!("Territoire enregistré pour {cid} (version {}).\n", done.cpts.record.territory_version);
                out.push_str(&rows_text(geo, std::slice::from_ref(&done.cpts), done.cpts.on));
                for o in &done.overlaps {
                    let other = if o.a.id == cid { &o.b.id } else { &o.a.id };
                    out.push_str(&format!("  ! chevauchement avec {other} : {} commune(s), {} habitants\n", o.communes.len(), group_thousands(o.population)));
                }
                out
            }
            Action::Territory(TerritoryCmd::Overlaps) => overlaps_text(geo, &app.overlaps(who).await.map_err(said)?),
            Action::Members(MembersCmd::Import { id: s, file, mode, dry_run, left_on }) => {
                let cid = id(&s)?;
                let mode = ImportMode::parse(&mode).map_err(CliError::Usage)?;
                let left_on = left_on.map(|d| parse_french(&d)).transpose().map_err(CliError::Usage)?;
                let table = crate::files::read_table(&file).map_err(|e| CliError::Usage(format!("{} : {e}", file.display())))?;
                let refused = |errors: &[FieldError]| {
                    format!("{} : {} erreur(s), rien n'a été enregistré :\n{}", file.display(), errors.len(), error_list(&lines(errors)))
                };
                let members = app.parse_members(&table).map_err(|e| match e {
                    AppError::Invalid(errors) => CliError::Usage(refused(&errors)),
                    e => said(e),
                })?;
                let mut last_report = 0;
                let progress = |written: usize, total: usize| {
                    if total >= 50_000 && (written - last_report >= 50_000 || written == total) {
                        eprintln!("import : {written}/{total} lignes écrites (transaction en cours)");
                        last_report = written;
                    }
                };
                let done = app
                    .import_members(who, MembersImport { id: cid.clone(), members, mode, left_on, dry_run }, progress)
                    .await
                    .map_err(|e| match e {
                        AppError::Invalid(errors) => {
                            let hint = if mode == ImportMode::Add { "\n(pour corriger des membres enregistrés : --mode remplacement, voir d'abord --dry-run)" } else { "" };
                            CliError::Usage(format!("{}{hint}", refused(&errors)))
                        }
                        e => said(e),
                    })?;
                let (plan, name) = (&done.plan, &done.cpts.name);
                let mut out = plan_text(geo, plan, mode, name, &cid);
                if !done.applied {
                    out.push_str("Simulation : rien n'a été enregistré.\n");
                } else {
                    out.push_str(&format!(
                        "{} membre(s) importé(s), {} corrigé(s), {} départ(s) enregistré(s) pour {name} ({cid}).\n",
                        plan.added.len(),
                        plan.changed.len(),
                        plan.ended.len(),
                    ));
                    if done.outside > 0 {
                        out.push_str(&format!("  ! {} exerce(nt) hors du territoire de la CPTS (signalé, pas refusé).\n", done.outside));
                    }
                }
                out
            }
            Action::Members(MembersCmd::List { id: s }) => {
                let v = app.members(who, &id(&s)?).await.map_err(said)?;
                let mut t = Table::new(&[("N°", true), ("Nom", false), ("Prénom", false), ("Profession", false), ("RPPS", false), ("Commune", false), ("Adhésion", false), ("Départ", false), ("", false)]);
                for r in &v.members {
                    let m = &r.member;
                    t.row(vec![
                        r.seq.to_string(),
                        m.last_name.clone(),
                        m.first_name.clone(),
                        m.profession.label().into(),
                        m.rpps.as_ref().map_or(String::new(), ToString::to_string),
                        geo.commune(&m.commune).map_or(m.commune.to_string(), |c| c.name.clone()),
                        cpts_engine::dates::fr(m.joined),
                        m.left.map_or(String::new(), cpts_engine::dates::fr),
                        if r.outside { "hors territoire".into() } else { String::new() },
                    ]);
                }
                let others = v.members.len().saturating_sub(v.active);
                let others = if others > 0 { format!(" ; {others} autre(s) : partis ou pas encore adhérents") } else { String::new() };
                format!("{} — {} membre(s) actif(s) au {}{others}\n{}", v.cpts.name, v.active, cpts_engine::dates::fr(v.on), t.render())
            }
            Action::Members(MembersCmd::Export { id: s, output }) => {
                let members = app.export_members(who, &id(&s)?).await.map_err(said)?;
                crate::members::export(&output, &ctx.url, &members, geo)?;
                format!("{} membre(s) exporté(s) vers {}.\n", members.len(), output.display())
            }
            Action::Members(MembersCmd::Leave { id: s, num, on }) => {
                let cid = id(&s)?;
                let left = parse_french(&on).map_err(CliError::Usage)?;
                let m = app.leave_member(who, &cid, num, left).await.map_err(|e| member_err(e, &cid))?;
                format!("Départ enregistré : {} {} (n° {num}) le {}.\n", m.first_name, m.last_name, cpts_engine::dates::fr(left))
            }
            Action::Members(MembersCmd::Edit { id: s, num, last_name, first_name, profession, rpps, commune, joined, left }) => {
                let cid = id(&s)?;
                let input = MemberPatchInput { last_name, first_name, profession, rpps, commune, joined, left };
                let patch = app.parse_member_patch(&input).map_err(|e| match e {
                    AppError::Invalid(errors) => CliError::Usage(format!("membre n° {num} non modifié : {}", messages(&errors))),
                    e => said(e),
                })?;
                let done = app.edit_member(who, &cid, num, patch).await.map_err(|e| member_err(e, &cid))?;
                if done.fields.is_empty() {
                    format!("Membre n° {num} : rien à changer.\n")
                } else {
                    format!("Membre n° {num} corrigé ({}) ; l'état précédent est gardé dans l'historique.\n", done.fields.join(", "))
                }
            }
            Action::Members(MembersCmd::Remove { id: s, num }) => {
                let cid = id(&s)?;
                let gone = app.remove_member(who, &cid, num).await.map_err(said)?;
                format!("Membre n° {num} supprimé : {} {} ; il reste dans l'historique (cpts members history {cid}).\n", gone.first_name, gone.last_name)
            }
            Action::Members(MembersCmd::History { id: s }) => {
                let history = app.member_history(who, &id(&s)?).await.map_err(said)?;
                if history.is_empty() {
                    "Aucune correction ni suppression de membre.\n".into()
                } else {
                    let mut t = Table::new(&[("N°", true), ("Action", false), ("Le", false), ("Nom", false), ("Prénom", false), ("Profession", false), ("RPPS", false), ("Adhésion", false), ("Départ", false)]);
                    for h in &history {
                        let m: &Member = &h.before;
                        t.row(vec![
                            h.seq.to_string(),
                            if h.removed { "suppression".into() } else { "correction".into() },
                            h.recorded_at.parse::<jiff::Timestamp>().map_or_else(|_| h.recorded_at.clone(), |t| cpts_engine::dates::fr(t.to_zoned(jiff::tz::TimeZone::UTC).date())),
                            m.last_name.clone(),
                            m.first_name.clone(),
                            m.profession.label().into(),
                            m.rpps.as_ref().map_or(String::new(), ToString::to_string),
                            cpts_engine::dates::fr(m.joined),
                            m.left.map_or(String::new(), cpts_engine::dates::fr),
                        ]);
                    }
                    format!("États précédents des membres ({} ligne(s)) :\n{}", history.len(), t.render())
                }
            }
            Action::Structures(StructuresCmd::Add { id: s, name, kind, commune, finess, joined }) => {
                let cid = id(&s)?;
                let st = app.parse_structure(&StructureInput { name, kind, commune, finess, joined }).map_err(said)?;
                let n = app.add_structure(who, &cid, &st).await.map_err(said)?;
                format!("Structure n° {n} ajoutée : {} ({}).\n", st.name, st.kind.label())
            }
            Action::Structures(StructuresCmd::List { id: s }) => {
                let list = app.structures(who, &id(&s)?).await.map_err(said)?;
                let mut t = Table::new(&[("N°", true), ("Nom", false), ("Type", false), ("FINESS", false), ("Commune", false), ("Adhésion", false)]);
                for (n, x) in &list {
                    t.row(vec![
                        n.to_string(),
                        x.name.clone(),
                        x.kind.label().into(),
                        x.finess.as_ref().map_or(String::new(), ToString::to_string),
                        geo.commune(&x.commune).map_or(x.commune.to_string(), |c| c.name.clone()),
                        cpts_engine::dates::fr(x.joined),
                    ]);
                }
                format!("{} structure(s)\n{}", list.len(), t.render())
            }
            Action::Governance(GovernanceCmd::Add { id: s, role, person, from, until }) => {
                let cid = id(&s)?;
                let role = cpts_domain::registry::Role::parse(&role).map_err(CliError::Usage)?;
                let from = parse_french(&from).map_err(CliError::Usage)?;
                let until = until.map(|u| parse_french(&u)).transpose().map_err(CliError::Usage)?;
                let m = cpts_domain::registry::Mandate { role, person, from, until };
                let n = app.add_mandate(who, &cid, &m).await.map_err(said)?;
                format!("Mandat n° {n} enregistré : {} — {} depuis le {}.\n", m.person, m.role.label(), cpts_engine::dates::fr(m.from))
            }
            Action::Governance(GovernanceCmd::End { id: s, seq, until }) => {
                let cid = id(&s)?;
                let until = parse_french(&until).map_err(CliError::Usage)?;
                app.end_mandate(who, &cid, seq, until).await.map_err(said)?;
                format!("Mandat n° {seq} clos au {}.\n", cpts_engine::dates::fr(until))
            }
            Action::Governance(GovernanceCmd::List { id: s, on }) => {
                let v = app.mandates(who, &id(&s)?, on).await.map_err(said)?;
                let mut t = Table::new(&[("N°", true), ("Rôle", false), ("Personne", false), ("Du", false), ("Au", false), ("", false)]);
                for r in &v.mandates {
                    let m = &r.mandate;
                    t.row(vec![
                        r.seq.to_string(),
                        m.role.label().into(),
                        m.person.clone(),
                        cpts_engine::dates::fr(m.from),
                        m.until.map_or_else(|| "en cours".into(), cpts_engine::dates::fr),
                        if r.active { format!("en fonction au {}", cpts_engine::dates::fr(v.on)) } else { String::new() },
                    ]);
                }
                format!("Gouvernance — {} mandat(s)\n{}", v.mandates.len(), t.render())
            }
            Action::DemoNational { cpts } => crate::demo::national(app, who, cpts).await?,
            Action::Demo => {
                let mut out = crate::demo::load(app, who).await?;
                out.push('\n');
                let on = app.clock.today();
                let all: Vec<CptsSummary> = app.list(who, on).await.map_err(said)?.iter().map(|e| e.cpts.clone()).collect();
                out.push_str(&rows_text(geo, &all, on));
                out
            }
        };
        Ok(out)
    })
}
