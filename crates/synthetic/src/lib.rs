//! A synthetic France: about 1 000 **SYNTHETIC** CPTS on real INSEE communes (no commune in
//! two CPTS), at every stage of their life, with their contracts (signed 2019–2026, renewed,
//! terminated, ended), ledgers and payments, 20 indicators with monthly values and activity
//! reports in every state. Everything is written THROUGH the application (`cpts_app::App`) as
//! the local operator, so the lifecycle's guards and the policy apply as to a real CPTS.
//!
//! Deterministic: every choice is arithmetic on the CPTS's index (`mix`), and the application
//! runs on a clock stopped on `Config::today`, so two runs write the same store (the same rows,
//! amounts and dates). Labelled: names say « synthétique », documents, notes, payers and files
//! say SYNTHÉTIQUE. What is generated and why: docs/synthetic.md.
//!
//! Contract envelopes, targets and values are invented (the national per-mission amounts are
//! unknown, [U]); every rule amount (operating allocation, tiers, lettre d'intention payment)
//! comes from the rules through the application.

use std::collections::{BTreeMap, BTreeSet};

use cpts_app::contracts::{SignContract, Terminate};
use cpts_app::ledger::Pay;
use cpts_app::lifecycle::StepBy;
use cpts_app::registry::{Ids, NewCpts, SetTerritory};
use cpts_app::reports::{ReportAct, ReportRef};
use cpts_app::values::ImportValues;
use cpts_app::{App, AppError, Clock, Principal};
use cpts_domain::activity::Act;
use cpts_domain::agreement::Agreement;
use cpts_domain::geo::{Commune, Geo, Kind};
use cpts_domain::ids::{CptsId, InseeCode};
use cpts_domain::ledger::Status;
use cpts_domain::lifecycle::{Actor, Stage, Step};
use cpts_domain::registry::Territory;
use cpts_domain::values::{Period, RawValue};
use cpts_engine::contract::Contract;
use cpts_store::Provenance;
use jiff::civil::{Date, date};

/// Said wherever the data shows (annexes, documents, notes).
pub const LABEL: &str = "SYNTHÉTIQUE";

/// The login's request (batch) every write of the generator is recorded under in the audit log.
pub const BATCH: &str = "jeu-synthetique-france";

/// Whether the store holds the synthetic France (its writes' batch is in the audit log): for an
/// adapter to say so on every page or output (read it once, at start).
pub async fn present(app: &App) -> Result<bool, AppError> {
    Ok(app.store.has_batch(BATCH).await?)
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct Config {
    /// How many CPTS (fewer if the communes run out).
    pub cpts: usize,
    /// The generation day: the application's clock; nothing is dated after it.
    pub today: Date,
    /// Write monthly, quarterly and yearly indicator values (the bulk of the data).
    pub values: bool,
}

impl Config {
    /// The synthetic France: 1 000 CPTS, as on 30/11/2026 (the national benchmark's day).
    pub fn national() -> Config {
        Config { cpts: 1000, today: date(2026, 11, 30), values: true }
    }
}

/// What was written (the same on every run of the same `Config`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub cpts: usize,
    pub communes: usize,
    /// By the stage each CPTS was taken to (« échu » included, explicit or from dates).
    pub stages: BTreeMap<&'static str, usize>,
    pub contracts: usize,
    pub values: usize,
    /// Activity reports by status code (brouillon, soumis, en_revue, a_corriger, valide).
    pub reports: BTreeMap<&'static str, usize>,
    pub payments: usize,
    /// Sum of the payments, in cents.
    pub paid: i64,
}

/// A deterministic spread of `(i, salt)` (splitmix64): the generator's only randomness.
pub fn mix(i: usize, salt: u64) -> u64 {
    let i = u64::try_from(i).unwrap_or(u64::MAX);
    let mut z = i.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(salt.wrapping_mul(0xd1b5_4a32_d192_ed03));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `mix` in `[0, n)`.
fn pick(i: usize, salt: u64, n: u64) -> u64 {
    mix(i, salt) % n.max(1)
}

fn pick_i32(i: usize, salt: u64, n: u64) -> i32 {
    i32::try_from(pick(i, salt, n)).unwrap_or(0)
}

fn months(d: Date, n: i32) -> Date {
    d.checked_add(jiff::Span::new().months(n)).unwrap_or(d)
}

fn days(d: Date, n: i64) -> Date {
    d.checked_add(jiff::Span::new().days(n)).unwrap_or(d)
}

/// The CPTS's identifier: `cpts-synth-0042`.
pub fn cpts_id(i: usize) -> String {
    format!("cpts-synth-{i:04}")
}

/// The stage each CPTS is taken to: the first ten CPTS take one stage each (so that even a
/// small France has every stage), the others by `mix` (15 % before a contract, 61 % under their
/// first contract, 10 % renewed, 7 % ended without renewal, 7 % terminated).
pub fn fate(i: usize) -> Stage {
    if let Some(s) = Stage::ALL.get(i) {
        return *s;
    }
    match pick(i, 1, 1000) {
        0..20 => Stage::Interest,
        20..45 => Stage::Formalisation,
        45..70 => Stage::LetterValidated,
        70..110 => Stage::Phase1,
        110..130 => Stage::ProjectSubmitted,
        130..150 => Stage::ProjectValidated,
        150..760 => Stage::Signed,
        760..860 => Stage::Renewed,
        860..930 => Stage::Expired,
        _ => Stage::Terminated,
    }
}

/// The first signature of a CPTS under contract (`None` before a contract). Contracts in
/// force were signed from December 2021 (so their five years are not over); renewed and ended
/// ones from September 2019 (the ACI in force since 24/08/2019) to November 2021, so their
/// term is reached by the generation day; terminated ones from October 2019 to 2024.
fn first_signature(i: usize, stage: Stage, today: Date) -> Option<Date> {
    let (from, span) = match stage {
        Stage::Signed => (date(2021, 12, 1), 59),
        Stage::Renewed | Stage::Expired => (date(2019, 9, 1), 27),
        Stage::Terminated => (date(2019, 10, 1), 63),
        _ => return None,
    };
    let d = days(months(from, pick_i32(i, 2, span)), i64::from(pick_i32(i, 3, 27)) + 1);
    Some(d.min(days(today, -30)))
}

/// The target population of CPTS `i`: mostly small territories, a few large ones (the tier is
/// the rules' decision on the territory's INSEE population, not this).
fn target_population(i: usize) -> u64 {
    match pick(i, 4, 100) {
        0..45 => 12_000 + pick(i, 5, 26_000),
        45..75 => 42_000 + pick(i, 5, 36_000),
        75..92 => 85_000 + pick(i, 5, 85_000),
        _ => 180_000 + pick(i, 5, 120_000),
    }
}

/// Territories: CPTS `i` lies in the `i`-th département (cycling over them; the next one with
/// communes left when its own has none), on consecutive communes (by INSEE code) until its
/// target population or 60 communes. Paris, Lyon and Marseille count by arrondissement (the
/// city itself is left out). Disjoint by construction. The first commune is the seat.
pub fn territories(geo: &Geo, n: usize) -> Vec<Vec<&Commune>> {
    let cities: BTreeSet<&InseeCode> = geo.communes().iter().filter_map(|c| c.parent.as_ref()).collect();
    let mut by_dep: BTreeMap<&str, Vec<&Commune>> = BTreeMap::new();
    for c in geo.communes() {
        let usable = c.population.is_some_and(|p| p > 0)
            && (c.kind == Kind::Arrondissement || (c.kind == Kind::Commune && !cities.contains(&c.code)));
        if usable {
            by_dep.entry(c.departement.as_str()).or_default().push(c);
        }
    }
    for list in by_dep.values_mut() {
        list.sort_by(|a, b| a.code.as_str().cmp(b.code.as_str()));
    }
    let deps: Vec<&str> = by_dep.keys().copied().collect();
    let mut next: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let found = (0..deps.len()).find_map(|k| {
            let dep = *deps.get((i + k) % deps.len().max(1))?;
            let list = by_dep.get(dep)?;
            (next.get(dep).copied().unwrap_or(0) < list.len()).then_some((dep, list))
        });
        let Some((dep, list)) = found else { break };
        let start = next.get(dep).copied().unwrap_or(0);
        let (target, mut population, mut picked) = (target_population(i), 0, Vec::new());
        for c in list.iter().skip(start) {
            if population >= target || picked.len() >= 60 {
                break;
            }
            population += c.population.unwrap_or(0);
            picked.push(*c);
        }
        next.insert(dep, start + picked.len());
        out.push(picked);
    }
    out
}

/// The 20 objectives of every synthetic contract, by mission: (indicator, label of a
/// contract-specific indicator, baseline, yearly target, weight). The national catalogue's
/// indicators of the three socle missions with a variable part (`rules/indicators/catalogue.yaml`),
/// each entered at its periodicity, then contract-specific ones (monthly counts) to make 20.
type Objective = (&'static str, &'static str, u32, u32, u32);

const OBJECTIVES: [(&str, &[Objective]); 3] = [
    (
        "acces_soins",
        &[
            ("patients_sans_mt_aides", "", 0, 240, 20),
            ("patients_sans_mt_aides_70", "", 0, 80, 10),
            ("patients_sans_mt_aides_ald", "", 0, 60, 10),
            ("snp_creneaux", "", 0, 1200, 15),
            ("snp_taux_reponse", "", 60, 85, 15),
            ("urgences_sans_hospitalisation", "", 1000, 900, 10),
            ("synth_teleexpertises", "Téléexpertises organisées (synthétique)", 0, 120, 10),
            ("synth_orientations_sas", "Orientations reçues du SAS (synthétique)", 0, 300, 10),
        ],
    ),
    (
        "parcours",
        &[
            ("reunions_pluripro", "", 0, 12, 20),
            ("protocoles_pluripro", "", 0, 4, 20),
            ("projets_pluripro", "", 0, 2, 15),
            ("synth_patients_parcours", "Patients inclus dans un parcours (synthétique)", 0, 600, 15),
            ("synth_sorties_hospitalisation", "Sorties d'hospitalisation coordonnées (synthétique)", 0, 180, 15),
            ("synth_concertations", "Concertations ville-hôpital (synthétique)", 0, 48, 15),
        ],
    ),
    (
        "prevention",
        &[
            ("participation_campagnes", "", 0, 4, 20),
            ("couverture_vaccinale", "", 45, 60, 20),
            ("synth_ateliers", "Ateliers de prévention tenus (synthétique)", 0, 24, 15),
            ("synth_depistages", "Dépistages organisés (synthétique)", 0, 360, 15),
            ("synth_participants", "Participants aux actions de prévention (synthétique)", 0, 1200, 15),
            ("synth_partenaires", "Partenaires associés (synthétique)", 0, 36, 15),
        ],
    ),
];

/// Yearly envelopes in euros (fixed, variable) of the three socle missions with a variable
/// part, and the crisis mission's (fixed, activation), per tier: INVENTED (national amounts
/// unknown), within the 2019 maximum at 100 % of objectives.
fn envelopes(tier: u8) -> [(u32, u32); 4] {
    match tier {
        1 => [(25_000, 20_000), (20_000, 15_000), (15_000, 10_000), (25_000, 37_500)],
        2 => [(30_000, 25_000), (25_000, 20_000), (20_000, 12_000), (30_000, 45_000)],
        3 => [(40_000, 30_000), (30_000, 25_000), (25_000, 15_000), (40_000, 60_000)],
        _ => [(50_000, 40_000), (40_000, 30_000), (30_000, 20_000), (50_000, 75_000)],
    }
}

/// The annex of a synthetic contract: the missions started a few months after signature (not
/// after the generation day), the 20 objectives, the crisis mission when the rules make it a
/// socle one on the signature day (avenant 2, from 31/03/2022).
fn annex(app: &App, i: usize, signed: Date, tier: u8, today: Date) -> String {
    let [access, pathways, prevention, (crisis_fixed, activation)] = envelopes(tier);
    let mut s = format!("# {LABEL} : contrat fictif (enveloppes, objectifs et démarrages inventés)\nsigned: {signed}\nmissions:\n");
    let start = |salt: u64, after: u64| {
        let d = months(signed, i32::try_from(after).unwrap_or(0) + pick_i32(i, salt, 5));
        if d <= today { format!("    start: {d}\n") } else { String::new() }
    };
    for (k, ((mission, objectives), (fixed, variable))) in OBJECTIVES.iter().zip([access, pathways, prevention]).enumerate() {
        let k = u64::try_from(k).unwrap_or(0);
        s.push_str(&format!("  - code: {mission}\n{}    fixed: {fixed}\n    variable: {variable}\n    objectives:\n", start(20 + k, 2 * k)));
        for (code, label, baseline, target, weight) in *objectives {
            let label = if label.is_empty() { String::new() } else { format!(", label: \"{label}\"") };
            s.push_str(&format!(
                "      - {{indicator: {code}{label}, baseline: {baseline}, target: {target}, weight: {weight}}}\n"
            ));
        }
    }
    let crisis = app.rules.mission_by_code("crises").and_then(|m| app.rules.mission(m)).is_some_and(|d| d.available_on(signed));
    if crisis {
        s.push_str(&format!("  - code: crises\n{}    fixed: {crisis_fixed}\n    activation: {activation}\n", start(30, 0)));
    }
    s
}

/// A step as the generator records it.
fn by(on: Date, actor: Actor, who: &str) -> StepBy {
    StepBy { on, actor, by: format!("{who} ({LABEL})"), document: Some(format!("{LABEL} : document fictif")), note: None }
}

/// The steps to `stage` (before any contract), ending on `last`: months before it.
fn path(stage: Stage, last: Date) -> Vec<(Step, Actor, &'static str, Date)> {
    let all = [
        (Step::Declare, Actor::Cpts, "porteurs du projet", -14),
        (Step::Formalise, Actor::Cpts, "porteurs du projet", -12),
        (Step::ValidateLetter, Actor::Ars, "ARS", -10),
        (Step::StartPhase1, Actor::Ars, "ARS", -9),
        (Step::SubmitProject, Actor::Cpts, "bureau de l'association", -3),
        (Step::ValidateProject, Actor::Ars, "ARS", -2),
    ];
    let n = all.iter().position(|s| s.0.edge().1 == stage).map_or(all.len(), |k| k + 1);
    let shift = all.get(n.saturating_sub(1)).map_or(0, |s| s.3);
    all.iter().take(n).map(|(st, a, who, m)| (*st, *a, *who, months(last, m - shift))).collect()
}

/// A generator's failure: the CPTS it was writing and the application's answer.
#[derive(Debug)]
pub struct Failed {
    pub cpts: String,
    pub error: AppError,
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "jeu synthétique, {} : {}", self.cpts, self.error)
    }
}

impl std::error::Error for Failed {}

/// Generate the synthetic France into `app`'s store, as `who` (the local operator), on a copy
/// of the application whose clock is stopped on `config.today`. `progress` is told how many
/// CPTS are written. Refused (nothing more written) at the first refusal of the application,
/// e.g. when the store already holds the synthetic France.
pub async fn generate(
    app: &App,
    who: &Principal,
    config: &Config,
    mut progress: impl FnMut(usize),
) -> Result<Summary, Failed> {
    let app = &app.with_clock(Clock::on(config.today));
    // Every audit row of the generator names its batch: the store says the data is synthetic.
    let who = &Principal { request: BATCH.into(), ..who.clone() };
    let mut sum = Summary::default();
    for (i, communes) in territories(&app.geo, config.cpts).into_iter().enumerate() {
        let id = cpts_id(i);
        one(app, who, config, i, &communes, &mut sum).await.map_err(|error| Failed { cpts: id, error })?;
        progress(i + 1);
    }
    Ok(sum)
}

/// One CPTS, from its creation to its payments.
async fn one(app: &App, who: &Principal, config: &Config, i: usize, communes: &[&Commune], sum: &mut Summary) -> Result<(), AppError> {
    let today = config.today;
    let cid: CptsId = cpts_id(i).parse().map_err(AppError::Internal)?;
    let Some(seat) = communes.first() else { return Ok(()) };
    let name = format!("CPTS synthétique {i:04} – {}", seat.name);
    let ids = Ids { seat: Some(seat.code.clone()), ..Ids::default() };
    let r = app.create_cpts(who, NewCpts { id: Some(cid.clone()), name, legal_form: None, ids }).await?;
    let territory = Territory { communes: communes.iter().map(|c| c.code.clone()).collect() };
    app.set_territory(who, SetTerritory { id: cid.clone(), version: r.territory_version, territory: territory.clone() })
        .await?;
    sum.cpts += 1;
    sum.communes += communes.len();
    let stage = fate(i);
    *sum.stages.entry(stage.code()).or_default() += 1;
    let signed = first_signature(i, stage, today);
    // The last step before the contract: two months before signing, or (no contract) in 2024–2026.
    let last = signed.map_or_else(|| days(months(date(2024, 1, 1), pick_i32(i, 6, 33)), i64::from(pick_i32(i, 7, 27))), |s| months(s, -2));
    let target = if signed.is_some() { Stage::ProjectValidated } else { stage };
    for (step, actor, whom, on) in path(target, last.min(today)) {
        app.record_step(who, &cid, step, &by(on, actor, whom)).await?;
    }
    let Some(signed) = signed else {
        return pay(app, who, config, i, &cid, sum).await;
    };
    app.set_statutes(who, &cid, months(signed, -3), Some(&format!("statuts vérifiés ({LABEL})"))).await?;

    // The contracts: the first, and for a renewed CPTS its renewal at the term.
    let tier = territory.summary(&app.geo, &app.rules, signed, None).map_err(AppError::Internal)?.tier.0;
    let contract = sign(app, who, config, i, &cid, signed, tier, sum).await?;
    let end = Agreement::end(&contract).unwrap_or(today);
    match stage {
        Stage::Renewed => {
            let tier = territory.summary(&app.geo, &app.rules, end, None).map_err(AppError::Internal)?.tier.0;
            sign(app, who, config, i, &cid, end, tier, sum).await?;
        }
        // Two in three ended contracts have the end recorded; the others are « échu » from their dates.
        Stage::Expired if pick(i, 8, 3) > 0 => {
            app.record_step(who, &cid, Step::Expire, &by(end, Actor::Cpam, "CPAM")).await?;
        }
        Stage::Terminated => {
            let on = months(contract.signed, 14 + pick_i32(i, 9, 26)).min(days(today, -15));
            let reason = format!("{LABEL} : missions socles non mises en œuvre (motif fictif)");
            app.terminate_contract(who, Terminate { id: cid.clone(), reason, by: by(on, Actor::Cpam, "CPAM") }).await?;
        }
        _ => {}
    }
    if config.values {
        values(app, who, config, i, &cid, sum).await?;
    }
    reports(app, who, config, i, &cid, sum).await?;
    pay(app, who, config, i, &cid, sum).await
}

/// Sign a contract on `on` and record the full deployment of its missions a year after they
/// started (one CPTS in ten lags on its pathways mission: the calendar shows it late).
#[allow(clippy::too_many_arguments)]
async fn sign(
    app: &App,
    who: &Principal,
    config: &Config,
    i: usize,
    cid: &CptsId,
    on: Date,
    tier: u8,
    sum: &mut Summary,
) -> Result<Contract, AppError> {
    let annex = annex(app, i, on, tier, config.today);
    let cmd = SignContract { id: cid.clone(), annex, by: by(on, Actor::Cpam, "CPAM"), cosigner: Actor::Ars };
    let signed = app.sign_contract(who, cmd).await?;
    sum.contracts += 1;
    let c = signed.contract;
    let end = Agreement::end(&c).unwrap_or(config.today).min(config.today);
    let code = |idx| app.rules.mission(idx).map(|d| d.code.clone());
    let mut deployments: Vec<(Date, String)> = c
        .missions
        .iter()
        .filter_map(|m| Some((months(m.start?, 12), code(m.mission)?)))
        .filter(|(d, code)| *d < end && !(code == "parcours" && pick(i, 10, 10) == 0))
        .collect();
    deployments.sort();
    for (d, mission) in deployments {
        app.deploy_mission(who, cid, &mission, d).await?;
    }
    Ok(c)
}

/// Every period of every objective of the CPTS's contracts that started before the current
/// month (a month, a quarter, a calendar year: the catalogue's periodicity, monthly for the
/// contract's own indicators), imported as one file.
async fn values(app: &App, who: &Principal, config: &Config, i: usize, cid: &CptsId, sum: &mut Summary) -> Result<(), AppError> {
    let month = Period::Month(config.today.year(), config.today.month()).first_day();
    let mut rows = Vec::new();
    // How well this CPTS does (55 % to 115 % of its targets), and a drift by period.
    let level = 55 + pick(i, 11, 61);
    for (a, _) in app.contracts(who, cid).await? {
        let c = a.contract(&app.rules).map_err(|e| AppError::Internal(format!("{e:?}")))?;
        let limit = Agreement::end(&c).unwrap_or(month).min(month);
        let mut periods: Vec<Period> = Vec::new();
        let (y0, y1) = (c.signed.year(), limit.year());
        for y in y0..=y1 {
            periods.push(Period::Year(y));
            for q in 1..=4 {
                periods.push(Period::Quarter(y, q));
            }
            for m in 1..=12 {
                periods.push(Period::Month(y, m));
            }
        }
        periods.retain(|p| c.signed <= p.first_day() && p.first_day() < limit);
        for (k, (_, objectives)) in OBJECTIVES.iter().enumerate() {
            for (n, (code, label, baseline, target, _)) in objectives.iter().enumerate() {
                let per_year = match (label.is_empty(), *code) {
                    (false, _) => 12,
                    (true, "reunions_pluripro" | "participation_campagnes") => 4,
                    (true, "urgences_sans_hospitalisation" | "protocoles_pluripro" | "projets_pluripro" | "couverture_vaccinale") => 1,
                    _ => 12,
                };
                let salt = u64::try_from(k * 100 + n).unwrap_or(0);
                for (t, p) in periods.iter().filter(|p| matches!((per_year, p), (12, Period::Month(..)) | (4, Period::Quarter(..)) | (1, Period::Year(..)))).enumerate() {
                    let drift = pick(i, salt * 1000 + u64::try_from(t).unwrap_or(0), 21);
                    let pct = (level + drift).saturating_sub(10);
                    let (mut value, mut numerator, mut denominator) = (String::new(), String::new(), String::new());
                    match *code {
                        "snp_taux_reponse" | "couverture_vaccinale" => {
                            // A share: baseline plus the CPTS's share of the way to the target.
                            let den = 200 + pick(i, salt + 7, 400);
                            let rate = u64::from(*baseline) + u64::from(target - baseline) * pct / 100;
                            numerator = (den * rate.min(100) / 100).to_string();
                            denominator = den.to_string();
                        }
                        "urgences_sans_hospitalisation" => {
                            // Fewer is better: from the baseline down towards the target.
                            value = (u64::from(*baseline) - u64::from(baseline - target) * pct / 100).to_string();
                        }
                        _ => value = (u64::from(*target) * pct / 100 / per_year).to_string(),
                    }
                    rows.push(RawValue {
                        line: rows.len() + 2,
                        cpts: cid.to_string(),
                        indicator: (*code).to_string(),
                        period: p.to_string(),
                        value,
                        numerator,
                        denominator,
                    });
                }
            }
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    let provenance = Provenance {
        source: "import".into(),
        file: Some("valeurs-synthetiques.csv".into()),
        by: format!("Coordination ({LABEL})"),
        role: Actor::Cpts,
    };
    let done = app.import_values(who, ImportValues { rows, provenance }).await?;
    sum.values += done.stored;
    Ok(())
}

/// The activity reports of every closed contract year: validated, but for the last closed
/// year of the latest contract, in a state chosen by `mix` (validated, submitted, in review,
/// returned, draft, or not started). A terminated contract's last, partial year has none.
async fn reports(app: &App, who: &Principal, config: &Config, i: usize, cid: &CptsId, sum: &mut Summary) -> Result<(), AppError> {
    if !config.values {
        return Ok(()); // a report is submitted with the year's values
    }
    let today = config.today;
    let contracts = app.contracts(who, cid).await?;
    let latest = contracts.last().map(|(a, _)| a.seq);
    for (a, _) in &contracts {
        let c = a.contract(&app.rules).map_err(|e| AppError::Internal(format!("{e:?}")))?;
        let closed: Vec<(u8, Date)> = (1..=c.last_year())
            .filter_map(|y| c.year_bounds(y).map(|(_, end)| (y, end)))
            .filter(|(_, end)| *end <= today && c.terminated.is_none_or(|t| *end <= t))
            .collect();
        let last = closed.last().map(|(y, _)| *y);
        for (year, end) in closed {
            let plan: &[Act] = if Some(a.seq) != latest || Some(year) != last {
                &[Act::Rediger, Act::Soumettre, Act::Valider]
            } else {
                match pick(i, 12, 100) {
                    0..30 => &[Act::Rediger, Act::Soumettre, Act::Valider],
                    30..40 => &[Act::Rediger, Act::Soumettre, Act::Commenter, Act::Repondre, Act::Valider],
                    40..55 => &[Act::Rediger, Act::Soumettre],
                    55..67 => &[Act::Rediger, Act::Soumettre, Act::Commenter],
                    67..79 => &[Act::Rediger, Act::Soumettre, Act::DemanderCorrection],
                    79..90 => &[Act::Rediger],
                    _ => &[],
                }
            };
            let text = format!(
                "# {LABEL}\nsummary: \"{LABEL} – rapport fictif de l'année {year} : accès au médecin traitant, soins non programmés, parcours et prévention.\"\nactions:\n  - {{title: Cellule d'orientation vers un médecin traitant, mission: acces_soins, from: {}, professionals: {}}}\nexpenses:\n  - {{item: Coordination (salaire chargé), amount: {}}}\n  - {{item: Indemnisation du temps des professionnels, amount: {}}}\n",
                c.year_bounds(year).map_or(end, |(s, _)| s),
                5 + pick(i, 13, 20),
                40_000 + pick(i, 14, 20) * 1000,
                10_000 + pick(i, 15, 10) * 1000,
            );
            let mut status = None;
            for (k, act) in plan.iter().enumerate() {
                let on = days(end, [7, 30, 40, 50, 60].get(k).copied().unwrap_or(60));
                if on > today {
                    break;
                }
                let (role, whom, note) = match act {
                    Act::Rediger => (Actor::Cpts, "Coordination", Some(text.clone())),
                    Act::Soumettre | Act::Repondre => (Actor::Cpts, "Coordination", (*act == Act::Repondre).then(|| format!("Précisions apportées ({LABEL})."))),
                    Act::Commenter => (Actor::Cpam, "CPAM", Some(format!("Merci de détailler les créneaux de soins non programmés ({LABEL})."))),
                    Act::DemanderCorrection => (Actor::Cpam, "CPAM", Some(format!("Dépenses à corriger ({LABEL})."))),
                    Act::Valider => (Actor::Cpam, "CPAM", None),
                };
                let cmd = ReportAct {
                    target: ReportRef { cpts: cid.clone(), year, contract: Some(a.seq) },
                    act: *act,
                    text: note,
                    source: None,
                    role,
                    by: format!("{whom} ({LABEL})"),
                    on: Some(on),
                };
                status = Some(app.report_act(who, cmd).await?.report.status);
            }
            if let Some(s) = status {
                *sum.reports.entry(s.code()).or_default() += 1;
            }
        }
    }
    Ok(())
}

/// The CPAM pays what is due a few days after its date (a balance after its report's
/// validation); one CPAM in eight is late: nothing due in the last four months is paid.
async fn pay(app: &App, who: &Principal, config: &Config, i: usize, cid: &CptsId, sum: &mut Summary) -> Result<(), AppError> {
    let today = config.today;
    let late = pick(i, 16, 8) == 0;
    let horizon = if late { months(today, -4) } else { today };
    let v = app.ledger(who, cid).await?;
    let mut lines: Vec<_> = v.lines.iter().filter(|l| l.status(today, &v.gates) == Status::Due && l.remaining().get() > 0).collect();
    lines.sort_by_key(|l| (l.planned.due, l.id));
    for (k, l) in lines.into_iter().enumerate() {
        let released = match &l.planned.source {
            cpts_domain::ledger::Source::Aci { contract, year, .. } => v.gates.released.get(&(*contract, *year)).copied(),
            cpts_domain::ledger::Source::Convention { .. } => None,
        };
        let base = released.map_or(l.planned.due, |r| r.max(l.planned.due));
        let on = days(base, 3 + i64::from(pick_i32(i, 17 + u64::try_from(k).unwrap_or(0), 18)));
        if on > horizon || l.waiting_for(&v.gates, on).is_some() {
            continue;
        }
        let cmd = Pay {
            id: cid.clone(),
            line: l.id,
            on,
            amount: Some(l.remaining()),
            by: format!("{} ({LABEL})", l.planned.funder),
            reference: Some(format!("VIR-SYNTH-{i:04}-{}", l.id)),
        };
        app.pay(who, cmd).await?;
        sum.payments += 1;
        sum.paid += l.remaining().get();
    }
    Ok(())
}
