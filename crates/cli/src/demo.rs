//! `cpts demo`: the Paris CPTS as they stood on 25 October 2021 (ARS Île-de-France /
//! Assurance Maladie deck of 28/10/2021), on their real arrondissements. DEMO DATA: names,
//! territories, stages and signature months from that deck, populations from INSEE; no
//! identifier (SIRET, RNA…) is invented. What the deck does not give is synthetic and said so
//! wherever it shows: days of the month, the dates of earlier steps, mission envelopes and
//! objectives, mission starts and payments (see `SYNTHETIC`).

use cpts_app::contracts::SignContract;
use cpts_app::ledger::Pay;
use cpts_app::lifecycle::StepBy;
use cpts_app::registry::{Ids, NewCpts, SetTerritory};
use cpts_app::reports::{ReportAct, ReportRef};
use cpts_app::values::ImportValues;
use cpts_app::{App, AppError, Clock, Principal};
use cpts_domain::activity::Act;
use cpts_domain::ids::CptsId;
use cpts_domain::ledger::{Convention, FunderKind, Status};
use cpts_domain::lifecycle::{Actor, Stage, Step};
use cpts_domain::registry::Territory;
use cpts_engine::money::Cents;
use jiff::civil::{Date, date};

use crate::load::CliError;
use crate::session::app_err;

/// (identifier, name, arrondissements, situation on 25/10/2021 per the deck, stage reached,
/// month of signature per the deck for the six under contract).
#[allow(clippy::type_complexity)]
const PARIS_2021: &[(&str, &str, &[&str], &str, Stage, Option<(i16, i8)>)] = &[
    (
        "cpts-paris-18",
        "CPTS Paris 18",
        &["75118"],
        "contrat ACI signé (décembre 2019)",
        Stage::Signed,
        Some((2019, 12)),
    ),
    ("cpts-paris-14", "CPTS Paris 14", &["75114"], "contrat ACI signé (janvier 2020)", Stage::Signed, Some((2020, 1))),
    ("cpts-paris-13", "CPTS Paris 13", &["75113"], "contrat ACI signé (janvier 2020)", Stage::Signed, Some((2020, 1))),
    (
        "cpts-paris-20",
        "CPTS Paris 20",
        &["75120"],
        "contrat ACI signé (novembre 2020)",
        Stage::Signed,
        Some((2020, 11)),
    ),
    ("cpts-paris-10", "CPTS Paris 10", &["75110"], "contrat ACI signé (juin 2021)", Stage::Signed, Some((2021, 6))),
    ("cpts-paris-8", "CPTS Paris 8", &["75108"], "contrat ACI signé (septembre 2021)", Stage::Signed, Some((2021, 9))),
    (
        "cpts-paris-12",
        "CPTS Paris 12",
        &["75112"],
        "adhésion à l'ACI prévue en novembre 2021",
        Stage::ProjectValidated,
        None,
    ),
    ("cpts-paris-centre", "CPTS Paris Centre", &["75101", "75102", "75103", "75104"], "phase 1", Stage::Phase1, None),
    ("cpts-paris-5", "CPTS Paris 5", &["75105"], "phase 1", Stage::Phase1, None),
    ("cpts-paris-6", "CPTS Paris 6", &["75106"], "phase 1", Stage::Phase1, None),
    ("cpts-paris-9", "CPTS Paris 9", &["75109"], "phase 1", Stage::Phase1, None),
    ("cpts-paris-11", "CPTS Paris 11", &["75111"], "phase 1", Stage::Phase1, None),
    ("cpts-paris-15", "CPTS Paris 15", &["75115"], "phase 1", Stage::Phase1, None),
    ("cpts-paris-16", "CPTS Paris 16", &["75116"], "phase 1", Stage::Phase1, None),
    ("cpts-paris-19", "CPTS Paris 19", &["75119"], "phase 1", Stage::Phase1, None),
    ("cpts-paris-17", "CPTS Paris 17", &["75117"], "en cours de formalisation", Stage::Formalisation, None),
    (
        "projet-paris-7",
        "Projet de CPTS Paris 7",
        &["75107"],
        "manifestation d'intérêt auprès de l'ARS",
        Stage::Interest,
        None,
    ),
];

/// Said wherever demo figures show.
pub const SYNTHETIC: &str = "DÉMONSTRATION — étapes et mois de signature d'après le support ARS IDF / Assurance Maladie du 28/10/2021 ; jours du mois, dates des étapes antérieures, enveloppes, objectifs, démarrages et paiements FICTIFS (les montants nationaux par mission ne sont pas connus)";

/// The state of the demo: 25 October 2021.
pub const DEMO_DAY: Date = date(2021, 10, 25);

/// The day `cpts serve --demo` lives on: the data as of 25/10/2021, seen after the second
/// contract year of Paris 18 (December 2020 to November 2021) closed, so that its coordinator
/// has a report to write and the CPAM one to review, as in January of a real year.
pub const SERVE_DAY: Date = date(2022, 1, 15);

fn months(d: Date, n: i32) -> Date {
    d.checked_add(jiff::Span::new().months(n)).unwrap_or(d)
}

/// A synthetic annex per tier (yearly envelopes in euros), within the 2019 maximum at 100 %.
fn annex(signed: Date, tier: u8) -> String {
    let (a, p, v) = match tier {
        1 => ((25_000, 20_000), (20_000, 15_000), (15_000, 10_000)),
        2 => ((30_000, 25_000), (25_000, 20_000), (20_000, 12_000)),
        3 => ((40_000, 30_000), (30_000, 25_000), (25_000, 15_000)),
        _ => ((50_000, 40_000), (40_000, 30_000), (30_000, 20_000)),
    };
    format!(
        "# {SYNTHETIC}\nsigned: {signed}\nmissions:\n  - code: acces_soins\n    fixed: {}\n    variable: {}\n    objectives:\n      - {{indicator: patients_sans_mt_aides, label: Patients sans médecin traitant aidés à en trouver un, target: {}, weight: 60}}\n      - {{indicator: snp_taux_reponse, label: Taux de réponse aux demandes de soins non programmés (%), baseline: 60, target: 85, weight: 40}}\n  - code: parcours\n    fixed: {}\n    variable: {}\n    objectives: [{{indicator: protocoles_pluripro, label: Protocoles pluriprofessionnels partagés, target: 4, weight: 100}}]\n  - code: prevention\n    fixed: {}\n    variable: {}\n    objectives: [{{indicator: campagnes_prevention, label: Actions de prévention coordonnées, target: 3, weight: 100}}]\n",
        a.0,
        a.1,
        u32::from(tier) * 150,
        p.0,
        p.1,
        v.0,
        v.1
    )
}

/// A step as the demo records it: dated, by whom, said synthetic.
fn by(on: Date, actor: Actor, who: &str) -> StepBy {
    StepBy { on, actor, by: who.into(), document: None, note: Some("démonstration : date fictive".into()) }
}

/// The dated path to `stage`, ending on `last` (synthetic dates, a few months apart).
fn path(stage: Stage, last: Date) -> Vec<(Step, StepBy)> {
    let all = [
        (Step::Declare, Actor::Cpts, "porteurs du projet", -14),
        (Step::Formalise, Actor::Cpts, "porteurs du projet", -12),
        (Step::ValidateLetter, Actor::Ars, "ARS Île-de-France", -10),
        (Step::StartPhase1, Actor::Ars, "ARS Île-de-France", -9),
        (Step::SubmitProject, Actor::Cpts, "bureau de l'association", -3),
        (Step::ValidateProject, Actor::Ars, "ARS Île-de-France", -2),
        (Step::Sign, Actor::Cpam, "CPAM de Paris", 0),
    ];
    let n = all.iter().position(|s| s.0.edge().1 == stage).map_or(0, |i| i + 1);
    let shift = all.get(n.saturating_sub(1)).map_or(0, |s| s.3);
    all.iter().take(n).map(|(st, a, who, m)| (*st, by(months(last, m - shift), *a, who))).collect()
}

/// The application's refusals of demo data are failures of the demo; the policy's answers
/// (an account that may not load it) are said as for every command.
fn failed(e: AppError) -> CliError {
    match e {
        AppError::Forbidden(_) => app_err(e),
        e => CliError::Failed(format!("démonstration : {e}")),
    }
}

/// Load the demo through the application, as `who` (already loaded CPTS are left as they
/// are). Every act is dated in 2021 and decided as on 25/10/2021: the demo runs on a copy of
/// the application whose clock is stopped on that day (so its audit rows are stamped then too).
pub async fn load(app: &App, who: &Principal) -> Result<String, CliError> {
    let app = &app.with_clock(Clock::on(DEMO_DAY));
    let (mut added, mut kept) = (0, 0);
    for (n, (id, name, codes, _, stage, signed)) in PARIS_2021.iter().enumerate() {
        let cid: CptsId = id.parse().map_err(CliError::Failed)?;
        // No seat: not in the source, left unknown.
        let new = NewCpts { id: Some(cid.clone()), name: (*name).to_string(), legal_form: None, ids: Ids::default() };
        let record = match app.create_cpts(who, new).await {
            Ok(r) => r,
            // The only conflict of a creation: the identifier is taken (loaded before).
            Err(AppError::Conflict(_)) => {
                kept += 1;
                continue;
            }
            Err(e) => return Err(failed(e)),
        };
        let communes = codes.iter().map(|c| c.parse()).collect::<Result<_, String>>().map_err(CliError::Failed)?;
        let territory = Territory { communes };
        app.set_territory(who, SetTerritory { id: cid.clone(), version: record.territory_version, territory })
            .await
            .map_err(failed)?;
        added += 1;
        // The last step happened on the signature day, or (no signature) a few months before 25/10/2021.
        let last = signed.map_or(months(DEMO_DAY, -1), |(y, m)| date(y, m, 1));
        let mut history = path(*stage, last);
        let sign = history.pop_if(|(s, _)| *s == Step::Sign).map(|(_, b)| b);
        for (step, b) in &history {
            app.record_step(who, &cid, *step, b).await.map_err(failed)?;
        }
        if *stage == Stage::Phase1
            && let Some(start) = history.last().map(|(_, b)| b.on)
        {
            let grant = phase1_grant(start);
            app.add_convention(who, &cid, &grant).await.map_err(failed)?;
            // The first half was paid two weeks after the start (synthetic).
            if let Some(line) = app.ledger(who, &cid).await.map_err(failed)?.lines.first() {
                let pay = Pay {
                    id: cid.clone(),
                    line: line.id,
                    on: start.checked_add(jiff::Span::new().days(14)).unwrap_or(start),
                    amount: Some(line.planned.amount),
                    by: format!("{} (DÉMONSTRATION)", grant.funder),
                    reference: None,
                };
                app.pay(who, pay).await.map_err(failed)?;
            }
        }
        if let Some(sign) = sign {
            contract(app, who, &cid, &sign).await?;
            activity(app, who, &cid, n).await?;
            pay_due(app, who, &cid).await?;
        }
    }
    let mut out = format!(
        "Données de démonstration : les {} CPTS et projets parisiens au 25 octobre 2021 (support ARS Île-de-France / Assurance Maladie du 28/10/2021), sur leurs arrondissements réels.\n{added} ajoutée(s), {kept} déjà présente(s).\nSituation au 25/10/2021 :\n",
        PARIS_2021.len()
    );
    for (id, _, _, state, _, _) in PARIS_2021 {
        out.push_str(&format!("  {id} : {state}\n"));
    }
    out.push_str(&format!("{SYNTHETIC}.\nEssayez : cpts lifecycle show cpts-paris-18 ; cpts contract calendar cpts-paris-18 --on 2021-10-25 ; cpts ledger show cpts-paris-18 --on 2021-10-25 ; cpts alerts --on 2021-10-25 ; cpts report list ; cpts achievement cpts-paris-18 --year 1 ; cpts report export cpts-paris-18 --year 1 rapport.pdf\n"));
    Ok(out)
}

/// The ARS phase 1 grant: the Île-de-France ceiling of 2021 (seed 002); actual amounts per
/// project are not published, so the demo uses the ceiling, paid half at the start and half on
/// delivery of the projet de santé (synthetic split).
fn phase1_grant(start: Date) -> Convention {
    let half = Cents::new(1_500_000);
    Convention {
        kind: FunderKind::Ars,
        funder: "ARS Île-de-France".into(),
        purpose: "Phase 1 : diagnostic territorial et projet de santé (démonstration : plafond ARS IDF 2021, montant réel non publié)".into(),
        amount: Cents::new(3_000_000),
        start,
        end: months(start, 12),
        deliverables: vec!["diagnostic territorial".into(), "projet de santé".into()],
        installments: vec![(start, half), (months(start, 12), half)],
    }
}

/// Sign a synthetic contract (statutes checked three months before), start its missions and
/// pay what fell due before 25/10/2021. The application writes in the territory's population.
async fn contract(app: &App, who: &Principal, cid: &CptsId, sign: &StepBy) -> Result<(), CliError> {
    app.set_statutes(who, cid, months(sign.on, -3), Some("statuts (démonstration)")).await.map_err(failed)?;
    // The envelopes follow the tier of the territory on the signature day.
    let view = app.show_cpts(who, cid, Some(sign.on)).await.map_err(failed)?;
    let tier = view.cpts.summary.map_err(|e| CliError::Failed(format!("démonstration : {e}")))?.tier.0;
    let cmd = SignContract { id: cid.clone(), annex: annex(sign.on, tier), by: sign.clone(), cosigner: Actor::Ars };
    app.sign_contract(who, cmd).await.map_err(failed)?;
    // Missions start 3, 9 and 11 months after signature (synthetic), if before 25/10/2021.
    for (mission, after) in [("acces_soins", 3), ("parcours", 9), ("prevention", 11)] {
        let on = months(sign.on, after);
        if on <= DEMO_DAY {
            app.start_mission(who, cid, mission, on).await.map_err(failed)?;
        }
    }
    // Access to care fully deployed 14 months after signature (synthetic), if before 25/10/2021.
    let deployed = months(sign.on, 14);
    if deployed <= DEMO_DAY {
        app.deploy_mission(who, cid, "acces_soins", deployed).await.map_err(failed)?;
    }
    pay_due(app, who, cid).await
}

/// Pay every line due by 25/10/2021, two weeks after its date (synthetic).
async fn pay_due(app: &App, who: &Principal, cid: &CptsId) -> Result<(), CliError> {
    loop {
        let book = app.book(who, cid, None).await.map_err(failed)?;
        // Two weeks after the due date; a balance only after its year's report was validated.
        let pay_on = |l: &cpts_domain::ledger::Line| {
            let released = match &l.planned.source {
                cpts_domain::ledger::Source::Aci { year, .. } => book.agreement.released.get(year).copied(),
                cpts_domain::ledger::Source::Convention { .. } => None,
            };
            released.map_or(l.planned.due, |r| r.max(l.planned.due)).checked_add(jiff::Span::new().days(14)).ok()
        };
        let due = book.lines.iter().find_map(|l| {
            let on = pay_on(l)?;
            (l.status(DEMO_DAY, &book.gates) == Status::Due && on <= DEMO_DAY).then_some((l, on))
        });
        let Some((l, on)) = due else { break };
        let pay = Pay {
            id: cid.clone(),
            line: l.id,
            on,
            amount: Some(l.remaining()),
            by: format!("{} (DÉMONSTRATION)", book.agreement.cpam),
            reference: None,
        };
        app.pay(who, pay).await.map_err(failed)?;
    }
    Ok(())
}

/// A deterministic spread in [0, 100) for synthetic figures.
fn spread(a: usize, b: usize) -> usize {
    (a * 7_919 + b * 104_729 + 13) % 100
}

/// Synthetic indicator values up to 25/10/2021 and activity reports in several states:
/// Paris 18 validated (balance released), Paris 14 in review, Paris 13 returned for
/// corrections, Paris 20 a draft (its first year is not over).
async fn activity(app: &App, who: &Principal, cid: &CptsId, n: usize) -> Result<(), CliError> {
    use cpts_domain::values::{Period, RawValue};
    let view = app.contract(who, cid, Some(1), None).await.map_err(failed)?;
    let (signed, c) = (view.agreement.signed(), view.contract);
    let mut rows = Vec::new();
    let mut push = |indicator: &str, period: String, value: String, num: String, den: String| {
        rows.push(RawValue {
            line: rows.len() + 2,
            cpts: cid.to_string(),
            indicator: indicator.into(),
            period,
            value,
            numerator: num,
            denominator: den,
        });
    };
    let tier_target = c.missions.first().and_then(|m| m.objectives.first()).and_then(|o| o.target(1));
    let monthly = usize::try_from(tier_target.map_or(0, |t| t.mantissa()) / 12).unwrap_or(10);
    let mut month = Period::Month(signed.year(), signed.month());
    if month.first_day() < signed {
        month = Period::Month(month.end().year(), month.end().month());
    }
    let mut k = 0;
    while month.end() <= DEMO_DAY {
        k += 1;
        let r = spread(n, k);
        push(
            "patients_sans_mt_aides",
            month.to_string(),
            (monthly * (55 + r / 2) / 100).to_string(),
            String::new(),
            String::new(),
        );
        let den = 80 + r % 40;
        push(
            "snp_taux_reponse",
            month.to_string(),
            String::new(),
            (den * (64 + r % 25) / 100).to_string(),
            den.to_string(),
        );
        month = Period::Month(month.end().year(), month.end().month());
    }
    for q in 1..=4i8 {
        for y in [2020i16, 2021] {
            let p = Period::Quarter(y, q);
            if p.first_day() >= signed && p.end() <= DEMO_DAY {
                push(
                    "campagnes_prevention",
                    p.to_string(),
                    (spread(n, usize::from(q.unsigned_abs())) % 2).to_string(),
                    String::new(),
                    String::new(),
                );
            }
        }
    }
    if Period::Year(2020).first_day() >= signed {
        push("protocoles_pluripro", "2020".into(), (2 + n % 2).to_string(), String::new(), String::new());
    }
    let provenance = cpts_store::Provenance {
        source: "import".into(),
        file: Some("valeurs-demonstration-synthetiques.csv".into()),
        by: "Coordination (démonstration)".into(),
        role: Actor::Cpts,
    };
    app.import_values(who, ImportValues { rows, provenance }).await.map_err(failed)?;

    // Which report, in which state (by CPTS); year 1 only.
    let Some((_, end)) = c.year_bounds(1) else { return Ok(()) };
    let plan: &[Act] = match cid.as_str() {
        "cpts-paris-18" => &[Act::Rediger, Act::Soumettre, Act::Commenter, Act::Repondre, Act::Valider],
        "cpts-paris-14" => &[Act::Rediger, Act::Soumettre, Act::Commenter],
        "cpts-paris-13" => &[Act::Rediger, Act::Soumettre, Act::DemanderCorrection],
        "cpts-paris-20" => &[Act::Rediger],
        _ => &[],
    };
    let text = format!(
        "# {SYNTHETIC}\nsummary: \"DÉMONSTRATION – rapport fictif. Première année du contrat : organisation de l'accès au médecin traitant et des soins non programmés, premiers protocoles.\"\nactions:\n  - {{title: Cellule d'orientation vers un médecin traitant, mission: acces_soins, from: {}, professionals: 12, description: Permanence téléphonique et liste partagée des patients sans médecin traitant}}\n  - {{title: Protocole pluriprofessionnel insuffisance cardiaque, mission: parcours, from: {}, professionals: 8}}\nexpenses:\n  - {{item: Coordination (salaire chargé), amount: 48000}}\n  - {{item: Indemnisation du temps des professionnels, amount: 15600}}\n  - {{item: Outils numériques, amount: 2400}}\n",
        months(signed, 3),
        months(signed, 9).min(cpts_engine::dates::day_before(end).unwrap_or(end)),
    );
    for (i, act) in plan.iter().enumerate() {
        let on = if *act == Act::Rediger {
            months(end, -1).min(DEMO_DAY)
        } else {
            months(end, 1).checked_add(jiff::Span::new().days(i64::try_from(i).unwrap_or(0) * 5)).unwrap_or(end)
        };
        let (role, by, note) = match act {
            Act::Rediger => (Actor::Cpts, "Coordination (démonstration)", Some(text.as_str())),
            Act::Soumettre => (Actor::Cpts, "Coordination (démonstration)", None),
            Act::Repondre => (
                Actor::Cpts,
                "Coordination (démonstration)",
                Some("Le détail des créneaux par semaine est joint (démonstration)."),
            ),
            Act::Commenter => (
                Actor::Cpam,
                "CPAM Paris – service CPTS (démonstration)",
                Some("Merci de détailler les créneaux de soins non programmés par semaine (démonstration)."),
            ),
            Act::DemanderCorrection => (
                Actor::Ars,
                "ARS Île-de-France – DD75 (démonstration)",
                Some(
                    "Les dépenses de coordination ne correspondent pas au budget présenté : à corriger (démonstration).",
                ),
            ),
            Act::Valider => (Actor::Cpam, "CPAM Paris – service CPTS (démonstration)", None),
        };
        // Validation releases the year's balances (the application decides it on the contract).
        let cmd = ReportAct {
            target: ReportRef { cpts: cid.clone(), year: 1, contract: Some(1) },
            act: *act,
            text: note.map(String::from),
            source: None,
            role,
            by: by.into(),
            on: Some(on),
        };
        app.report_act(who, cmd).await.map_err(failed)?;
    }
    Ok(())
}

/// `cpts demo --national`: the synthetic France (crate cpts-synthetic, docs/synthetic.md),
/// written through the application as `who`, dated as on 30/11/2026; progress on stderr.
pub async fn national(app: &App, who: &Principal, cpts: Option<usize>) -> Result<String, CliError> {
    let config = cpts_synthetic::Config { cpts: cpts.unwrap_or(1000), ..cpts_synthetic::Config::national() };
    let started = std::time::Instant::now();
    let s = cpts_synthetic::generate(app, who, &config, |n| {
        if n % 100 == 0 {
            eprintln!("  {n} CPTS synthétiques écrites ({:.0} s)", started.elapsed().as_secs_f64());
        }
    })
    .await
    .map_err(|e| match e.error {
        AppError::Forbidden(_) => app_err(e.error),
        AppError::Conflict(_) => CliError::Failed(format!(
            "{} : cette base contient déjà la France synthétique (ou une CPTS de même identifiant) ; utilisez une base neuve",
            e.cpts
        )),
        _ => CliError::Failed(e.to_string()),
    })?;
    let count = |m: &std::collections::BTreeMap<&'static str, usize>| {
        m.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
    };
    Ok(format!(
        "France SYNTHÉTIQUE écrite en {:.0} s, au {} (données fictives sur des communes réelles ; voir docs/synthetic.md) :\n  {} CPTS sur {} communes ; étapes : {}\n  {} contrats, {} valeurs d'indicateurs, rapports : {}\n  {} paiements, {}\nEssayez : cpts list ; cpts alerts ; cpts lifecycle show cpts-synth-0006 ; cpts ledger show cpts-synth-0007 ; cpts report list\n",
        started.elapsed().as_secs_f64(),
        cpts_engine::dates::fr(config.today),
        s.cpts,
        s.communes,
        count(&s.stages),
        s.contracts,
        s.values,
        count(&s.reports),
        s.payments,
        cpts_engine::money::Cents::new(s.paid),
    ))
}
