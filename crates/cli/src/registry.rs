//! `cpts create|list|show|edit`, `cpts territory …`, `cpts demo`: the registry on the store.

use clap::Subcommand;
use cpts_domain::geo::{self, Geo};
use cpts_domain::ids::CptsId;
use cpts_domain::members::{ImportMode, ImportPlan, differences, numbers_from, plan_import};
use cpts_domain::registry::{Identity, Member, Territory, members_from, overlaps};
use cpts_domain::table::{LineError, error_list};
use cpts_engine::dates::parse_french;
use cpts_engine::money::group_thousands;
use cpts_engine::rules::RuleSet;
use cpts_store::{CptsRecord, Store};
use jiff::civil::Date;

use crate::load::CliError;
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

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("démarrage impossible : {e}")))
}

/// Open the store, run `f` on it, close it.
pub fn block_on<F, Fut>(db: Option<&std::path::Path>, f: F) -> Result<String, CliError>
where
    F: FnOnce(std::sync::Arc<Store>) -> Fut,
    Fut: std::future::Future<Output = Result<String, CliError>>,
{
    let url = store_url(db);
    runtime()?.block_on(async {
        let store = std::sync::Arc::new(open(&url).await?);
        let out = f(store.clone()).await;
        if let Ok(s) = std::sync::Arc::try_unwrap(store) {
            s.close().await;
        }
        out
    })
}

fn geo() -> Result<Geo, CliError> {
    Geo::builtin().map_err(CliError::Failed)
}

pub fn store_err(e: cpts_store::StoreError) -> CliError {
    match e {
        cpts_store::StoreError::Db(_) => CliError::Failed(e.to_string()),
        _ => CliError::Usage(e.to_string()),
    }
}

fn id(s: &str) -> Result<CptsId, CliError> {
    s.parse().map_err(CliError::Usage)
}

fn identity(geo: &Geo, name: String, legal_form: Option<String>, a: IdentityArgs) -> Result<Identity, CliError> {
    fn field<T>(errors: &mut Vec<String>, r: Result<Option<T>, String>) -> Option<T> {
        r.map_err(|e| errors.push(e)).ok().flatten()
    }
    let mut errors = Vec::new();
    let rna = field(&mut errors, a.rna.map(|v| v.parse()).transpose());
    let siret = field(&mut errors, a.siret.map(|v| v.parse()).transpose());
    let finess = field(&mut errors, a.finess.map(|v| v.parse()).transpose());
    let seat = field(&mut errors, a.seat.map(|v| geo.resolve(&v).map(|c| c.code.clone())).transpose());
    if !errors.is_empty() {
        return Err(CliError::Usage(errors.join(" ; ")));
    }
    let identity = Identity {
        name,
        legal_form: legal_form.unwrap_or_else(|| "association loi 1901".into()),
        rna,
        siret,
        finess,
        seat,
    };
    identity.validate(geo).map_err(CliError::Usage)?;
    Ok(identity)
}

pub fn today() -> Date {
    jiff::Zoned::now().date()
}

/// One line per CPTS: territory, population, tier under the rules in force on `on`.
fn list_text(geo: &Geo, rules: &RuleSet, records: &[CptsRecord], on: Date) -> String {
    let mut t = Table::new(&[
        ("Identifiant", false),
        ("Nom", false),
        ("Territoire", false),
        ("Population", true),
        ("Taille", true),
    ]);
    let mut records: Vec<&CptsRecord> = records.iter().collect();
    records.sort_by(|a, b| cpts_domain::registry::natural_cmp(a.id.as_str(), b.id.as_str()));
    for r in records {
        let names: Vec<String> =
            r.territory.communes.iter().map(|c| geo.commune(c).map_or(c.to_string(), |x| x.name.clone())).collect();
        let (pop, tier) = match r.territory.summary(geo, rules, on, None) {
            Ok(s) => (group_thousands(s.population), s.tier.0.to_string()),
            Err(_) if r.territory.communes.is_empty() => ("—".into(), "—".into()),
            Err(e) => ("?".into(), e),
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

fn show_text(geo: &Geo, rules: &RuleSet, r: &CptsRecord, on: Date) -> String {
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
    match r.territory.summary(geo, rules, on, None) {
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
            let cpam = match (seat, s.departements.len()) {
                (Some(c), _) => Some((c.departement.clone(), "celle du siège")),
                (None, 1) => s
                    .departements
                    .first()
                    .map(|d| (d.clone(), "siège non renseigné ; territoire sur ce seul département")),
                _ => None,
            };
            match cpam {
                Some((dep, why)) => {
                    out.push_str(&format!("CPAM : {} ({dep}) — {why}\n", geo.departement_name(&dep).unwrap_or("?")))
                }
                None => out.push_str("CPAM : celle du siège, non renseigné\n"),
            }
        }
        Err(e) => out.push_str(&format!("Population et taille : {e}\n")),
    }
    out
}

fn overlaps_text(geo: &Geo, records: &[CptsRecord]) -> String {
    let list: Vec<(String, &Territory)> =
        records.iter().map(|r| (format!("{} ({})", r.identity.name, r.id), &r.territory)).collect();
    let found = overlaps(geo, &list);
    if found.is_empty() {
        return "Aucun chevauchement : aucune commune n'est revendiquée par deux CPTS.\n".into();
    }
    let mut t = Table::new(&[("CPTS", false), ("CPTS", false), ("Communes en commun", false), ("Habitants", true)]);
    for o in &found {
        let names: Vec<String> =
            o.communes.iter().map(|c| geo.commune(c).map_or(c.to_string(), |x| format!("{} ({c})", x.name))).collect();
        t.row(vec![o.a.clone(), o.b.clone(), short_list(&names), group_thousands(o.population)]);
    }
    format!("{} chevauchement(s) :\n{}", found.len(), t.render())
}

/// One stored member by its number, or a usage error naming it.
async fn member_numbered(store: &Store, cid: &CptsId, num: i64) -> Result<Member, CliError> {
    let all = store.numbered_members(cid).await.map_err(store_err)?;
    all.into_iter().find(|(n, _)| *n == num).map(|(_, m)| m).ok_or_else(|| {
        CliError::Usage(format!("membre n° {num} introuvable dans la CPTS « {cid} » (voir cpts members list {cid})"))
    })
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

async fn open(db: &str) -> Result<Store, CliError> {
    Store::open(db).await.map_err(|e| {
        let m = format!("ouverture de la base « {} » impossible : {e}", cpts_store::masked(db));
        // A wrong `--db` is the user's to fix (exit 2); a failure inside a good database is not.
        if matches!(e, cpts_store::StoreError::Open(_)) { CliError::Usage(m) } else { CliError::Failed(m) }
    })
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
}

pub fn run(action: Action, db: Option<&std::path::Path>) -> Result<String, CliError> {
    let url = store_url(db);
    let geo = geo()?;
    let rules = RuleSet::builtin().map_err(CliError::Rules)?;
    runtime()?.block_on(async {
        let store = open(&url).await?;
        let out = match action {
            Action::Create { name, id: given, legal_form, ids } => {
                // The name is checked first: an identifier is only derived from a valid name.
                let identity = identity(&geo, name, legal_form, ids)?;
                let cid = match given {
                    Some(s) => id(&s)?,
                    None => CptsId::from_name(&identity.name).map_err(|e| CliError::Usage(format!("{e} avec --id (ex. --id cpts-du-val)")))?,
                };
                let r = store.create_cpts(&crate::op(), &cid, &identity, &cpts_app::areas_of(&geo, identity.seat.as_ref(), &std::collections::BTreeSet::new())).await.map_err(store_err)?;
                format!("CPTS créée : {} ({}), version {}.\nDéfinissez son territoire : cpts territory set {} --version {} <communes…>\n", r.identity.name, r.id, r.version, r.id, r.territory_version)
            }
            Action::List { on } => {
                let all = store.list_cpts().await.map_err(store_err)?;
                if all.is_empty() { "Aucune CPTS enregistrée. Essayez `cpts demo`.\n".into() } else { list_text(&geo, &rules, &all, on.unwrap_or_else(today)) }
            }
            Action::Show { id: s, on } => {
                let r = store.get_cpts(&id(&s)?).await.map_err(store_err)?;
                show_text(&geo, &rules, &r, on.unwrap_or_else(today))
            }
            Action::Edit { id: s, version, name, ids } => {
                let cid = id(&s)?;
                let current = store.get_cpts(&cid).await.map_err(store_err)?;
                let mut next = current.identity.clone();
                if let Some(n) = name {
                    next.name = n;
                }
                let given = identity(&geo, next.name.clone(), Some(next.legal_form.clone()), ids)?;
                next.rna = given.rna.or(next.rna);
                next.siret = given.siret.or(next.siret);
                next.finess = given.finess.or(next.finess);
                next.seat = given.seat.or(next.seat);
                let v = store.update_identity(&crate::op(), &cid, version, &next, &cpts_app::areas_of(&geo, next.seat.as_ref(), &current.territory.communes)).await.map_err(store_err)?;
                format!("Enregistré : {} ({}), version {v}.\n", next.name, cid)
            }
            Action::Territory(TerritoryCmd::Set { id: s, version, communes }) => {
                let cid = id(&s)?;
                let t = Territory::from_inputs(&geo, &communes).map_err(|e| CliError::Usage(format!("territoire refusé, rien n'a été enregistré :\n  - {}", e.join("\n  - "))))?;
                let current = store.get_cpts(&cid).await.map_err(store_err)?;
                let v = store.set_territory(&crate::op(), &cid, version, &t, &cpts_app::areas_of(&geo, current.identity.seat.as_ref(), &t.communes)).await.map_err(store_err)?;
                let all = store.list_cpts().await.map_err(store_err)?;
                let mine: Vec<CptsRecord> = all.iter().filter(|r| r.id == cid).cloned().collect();
                let mut out = format!("Territoire enregistré pour {cid} (version {v}).\n");
                out.push_str(&list_text(&geo, &rules, &mine, today()));
                let conflicts: Vec<_> = overlaps(&geo, &all.iter().map(|r| (r.id.to_string(), &r.territory)).collect::<Vec<_>>())
                    .into_iter()
                    .filter(|o| o.a == cid.as_str() || o.b == cid.as_str())
                    .collect();
                for o in conflicts {
                    let other = if o.a == cid.as_str() { &o.b } else { &o.a };
                    out.push_str(&format!("  ! chevauchement avec {other} : {} commune(s), {} habitants\n", o.communes.len(), group_thousands(o.population)));
                }
                out
            }
            Action::Territory(TerritoryCmd::Overlaps) => overlaps_text(&geo, &store.list_cpts().await.map_err(store_err)?),
            Action::Members(MembersCmd::Import { id: s, file, mode, dry_run, left_on }) => {
                let cid = id(&s)?;
                let mode = ImportMode::parse(&mode).map_err(CliError::Usage)?;
                let ended_on = left_on.map(|d| parse_french(&d)).transpose().map_err(CliError::Usage)?.unwrap_or_else(today);
                let record = store.get_cpts(&cid).await.map_err(store_err)?;
                let table = crate::files::read_table(&file).map_err(|e| CliError::Usage(format!("{} : {e}", file.display())))?;
                let refused = |errors: &[LineError]| {
                    CliError::Usage(format!("{} : {} erreur(s), rien n'a été enregistré :\n{}", file.display(), errors.len(), error_list(errors)))
                };
                let members = members_from(&table, &geo).map_err(|errors| refused(&errors))?;
                let numbers = numbers_from(&table).map_err(|errors| refused(&errors))?;
                let incoming: Vec<(usize, Option<i64>, Member)> =
                    table.rows.iter().zip(numbers).zip(members).map(|(((line, _), n), m)| (*line, n, m)).collect();
                let stored = store.numbered_members(&cid).await.map_err(store_err)?;
                let plan = plan_import(&stored, &incoming, mode, ended_on).map_err(|errors| {
                    let hint = if mode == ImportMode::Add { "\n(pour corriger des membres enregistrés : --mode remplacement, voir d'abord --dry-run)" } else { "" };
                    CliError::Usage(format!("{}{hint}", match refused(&errors) { CliError::Usage(m) => m, e => e.to_string() }))
                })?;
                let mut out = plan_text(&geo, &plan, mode, &record.identity.name, &cid);
                if dry_run {
                    out.push_str("Simulation : rien n'a été enregistré.\n");
                } else {
                    let total = plan.added.len();
                    let mut last_report = 0;
                    store
                        .apply_member_import(&crate::op(), &cid, &plan, |written| {
                            if total >= 50_000 && (written - last_report >= 50_000 || written == total) {
                                eprintln!("import : {written}/{total} lignes écrites (transaction en cours)");
                                last_report = written;
                            }
                        })
                        .await
                        .map_err(store_err)?;
                    let units = record.territory.units(&geo);
                    let outside = plan.added.iter().filter(|(_, m)| m.outside_units(&geo, &units)).count();
                    out.push_str(&format!(
                        "{} membre(s) importé(s), {} corrigé(s), {} départ(s) enregistré(s) pour {} ({cid}).\n",
                        plan.added.len(),
                        plan.changed.len(),
                        plan.ended.len(),
                        record.identity.name
                    ));
                    if outside > 0 {
                        out.push_str(&format!("  ! {outside} exerce(nt) hors du territoire de la CPTS (signalé, pas refusé).\n"));
                    }
                }
                out
            }
            Action::Members(MembersCmd::List { id: s }) => {
                let cid = id(&s)?;
                let record = store.get_cpts(&cid).await.map_err(store_err)?;
                let members = store.numbered_members(&cid).await.map_err(store_err)?;
                let units = record.territory.units(&geo);
                let day = today();
                let mut t = Table::new(&[("N°", true), ("Nom", false), ("Prénom", false), ("Profession", false), ("RPPS", false), ("Commune", false), ("Adhésion", false), ("Départ", false), ("", false)]);
                for (n, m) in &members {
                    t.row(vec![
                        n.to_string(),
                        m.last_name.clone(),
                        m.first_name.clone(),
                        m.profession.label().into(),
                        m.rpps.as_ref().map_or(String::new(), ToString::to_string),
                        geo.commune(&m.commune).map_or(m.commune.to_string(), |c| c.name.clone()),
                        cpts_engine::dates::fr(m.joined),
                        m.left.map_or(String::new(), cpts_engine::dates::fr),
                        if m.outside_units(&geo, &units) { "hors territoire".into() } else { String::new() },
                    ]);
                }
                let active = members.iter().filter(|(_, m)| m.active_on(day)).count();
                let others = members.len().saturating_sub(active);
                let others = if others > 0 { format!(" ; {others} autre(s) : partis ou pas encore adhérents") } else { String::new() };
                format!("{} — {active} membre(s) actif(s) au {}{others}\n{}", record.identity.name, cpts_engine::dates::fr(day), t.render())
            }
            Action::Members(MembersCmd::Export { id: s, output }) => {
                let cid = id(&s)?;
                let members = store.numbered_members(&cid).await.map_err(store_err)?;
                crate::members::export(&output, &url, &members, &geo)?;
                format!("{} membre(s) exporté(s) vers {}.\n", members.len(), output.display())
            }
            Action::Members(MembersCmd::Leave { id: s, num, on }) => {
                let cid = id(&s)?;
                let left = parse_french(&on).map_err(CliError::Usage)?;
                let current = member_numbered(&store, &cid, num).await?;
                let next = Member { left: Some(left), ..current };
                next.validate(&geo).map_err(|e| CliError::Usage(format!("membre n° {num} : {e}")))?;
                store.update_member(&crate::op(), &cid, num, &next).await.map_err(store_err)?;
                format!("Départ enregistré : {} {} (n° {num}) le {}.\n", next.first_name, next.last_name, cpts_engine::dates::fr(left))
            }
            Action::Members(MembersCmd::Edit { id: s, num, last_name, first_name, profession, rpps, commune, joined, left }) => {
                let cid = id(&s)?;
                let before = member_numbered(&store, &cid, num).await?;
                let mut m = before.clone();
                let mut errors = Vec::new();
                let clear = |v: &str| v.trim() == "-";
                if let Some(v) = last_name { m.last_name = v; }
                if let Some(v) = first_name { m.first_name = v; }
                if let Some(v) = profession { cpts_domain::registry::Profession::parse(&v).map(|p| m.profession = p).unwrap_or_else(|e| errors.push(e)); }
                if let Some(v) = rpps { if clear(&v) { m.rpps = None } else { v.parse().map(|r| m.rpps = Some(r)).unwrap_or_else(|e: String| errors.push(e)) } }
                if let Some(v) = commune { geo.resolve(&v).map(|c| m.commune = c.code.clone()).unwrap_or_else(|e| errors.push(e)); }
                if let Some(v) = joined { parse_french(&v).map(|d| m.joined = d).unwrap_or_else(|e| errors.push(e)); }
                if let Some(v) = left { if clear(&v) { m.left = None } else { parse_french(&v).map(|d| m.left = Some(d)).unwrap_or_else(|e| errors.push(e)) } }
                if !errors.is_empty() {
                    return Err(CliError::Usage(format!("membre n° {num} non modifié : {}", errors.join(" ; "))));
                }
                m.validate(&geo).map_err(|e| CliError::Usage(format!("membre n° {num} non modifié : {e}")))?;
                let fields = differences(&before, &m);
                if fields.is_empty() {
                    format!("Membre n° {num} : rien à changer.\n")
                } else {
                    store.update_member(&crate::op(), &cid, num, &m).await.map_err(store_err)?;
                    format!("Membre n° {num} corrigé ({}) ; l'état précédent est gardé dans l'historique.\n", fields.join(", "))
                }
            }
            Action::Members(MembersCmd::Remove { id: s, num }) => {
                let cid = id(&s)?;
                let gone = store.remove_member(&crate::op(), &cid, num).await.map_err(store_err)?;
                format!("Membre n° {num} supprimé : {} {} ; il reste dans l'historique (cpts members history {cid}).\n", gone.first_name, gone.last_name)
            }
            Action::Members(MembersCmd::History { id: s }) => {
                let cid = id(&s)?;
                let history = store.member_history(&cid).await.map_err(store_err)?;
                if history.is_empty() {
                    "Aucune correction ni suppression de membre.\n".into()
                } else {
                    let mut t = Table::new(&[("N°", true), ("Action", false), ("Le", false), ("Nom", false), ("Prénom", false), ("Profession", false), ("RPPS", false), ("Adhésion", false), ("Départ", false)]);
                    for h in &history {
                        let m = &h.before;
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
                let mut errors = Vec::new();
                let kind = cpts_domain::registry::StructureKind::parse(&kind).map_err(|e| errors.push(e)).ok();
                let commune = geo.resolve(&commune).map(|c| c.code.clone()).map_err(|e| errors.push(e)).ok();
                let finess = finess.map(|f| f.parse()).transpose().map_err(|e| errors.push(e)).ok().flatten();
                let joined = parse_french(&joined).map_err(|e| errors.push(e)).ok();
                let (Some(kind), Some(commune), Some(joined), true) = (kind, commune, joined, errors.is_empty()) else {
                    return Err(CliError::Usage(errors.join(" ; ")));
                };
                let st = cpts_domain::registry::Structure { name, kind, finess, commune, joined, left: None };
                let n = store.add_structure(&crate::op(), &cid, &st).await.map_err(store_err)?;
                format!("Structure n° {n} ajoutée : {} ({}).\n", st.name, st.kind.label())
            }
            Action::Structures(StructuresCmd::List { id: s }) => {
                let cid = id(&s)?;
                let list = store.structures(&cid).await.map_err(store_err)?;
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
                let n = store.add_mandate(&crate::op(), &cid, &m).await.map_err(store_err)?;
                format!("Mandat n° {n} enregistré : {} — {} depuis le {}.\n", m.person, m.role.label(), cpts_engine::dates::fr(m.from))
            }
            Action::Governance(GovernanceCmd::End { id: s, seq, until }) => {
                let cid = id(&s)?;
                let until = parse_french(&until).map_err(CliError::Usage)?;
                store.end_mandate(&crate::op(), &cid, seq, until).await.map_err(store_err)?;
                format!("Mandat n° {seq} clos au {}.\n", cpts_engine::dates::fr(until))
            }
            Action::Governance(GovernanceCmd::List { id: s, on }) => {
                let cid = id(&s)?;
                let on = on.unwrap_or_else(today);
                let history = store.mandates(&cid).await.map_err(store_err)?;
                let mut t = Table::new(&[("N°", true), ("Rôle", false), ("Personne", false), ("Du", false), ("Au", false), ("", false)]);
                for (n, m) in &history {
                    t.row(vec![
                        n.to_string(),
                        m.role.label().into(),
                        m.person.clone(),
                        cpts_engine::dates::fr(m.from),
                        m.until.map_or_else(|| "en cours".into(), cpts_engine::dates::fr),
                        if m.active_on(on) { format!("en fonction au {}", cpts_engine::dates::fr(on)) } else { String::new() },
                    ]);
                }
                format!("Gouvernance — {} mandat(s)\n{}", history.len(), t.render())
            }
            Action::Demo => {
                let mut out = crate::demo::load(&store, &geo, &rules).await?;
                out.push('\n');
                out.push_str(&list_text(&geo, &rules, &store.list_cpts().await.map_err(store_err)?, today()));
                out
            }
        };
        store.close().await;
        Ok(out)
    })
}
