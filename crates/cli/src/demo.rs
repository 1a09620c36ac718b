//! `cpts demo`: the Paris CPTS as they stood on 25 October 2021 (ARS Île-de-France /
//! Assurance Maladie deck of 28/10/2021), on their real arrondissements. DEMO DATA: names,
//! territories, stages and signature months from that deck, populations from INSEE; no
//! identifier (SIRET, RNA…) is invented. What the deck does not give is synthetic and said so
//! wherever it shows: days of the month, the dates of earlier steps, mission envelopes and
//! objectives, mission starts and payments (see `SYNTHETIC`).

use cpts_domain::agreement::Agreement;
use cpts_domain::book::{Book, Op};
use cpts_domain::geo::Geo;
use cpts_domain::ids::CptsId;
use cpts_domain::ledger::{Convention, FunderKind, Status};
use cpts_domain::lifecycle::{self, Actor, Eligibility, Event, Stage, Step};
use cpts_domain::registry::{Identity, Territory, parties};
use cpts_engine::money::Cents;
use cpts_engine::rules::RuleSet;
use cpts_store::{Store, StoreError};
use jiff::civil::{Date, date};

use crate::load::CliError;

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
const DEMO_DAY: Date = date(2021, 10, 25);

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

fn ev(step: Step, on: Date, actor: Actor, by: &str) -> Event {
    Event {
        step,
        date: on,
        actor,
        by: by.into(),
        document: None,
        note: Some("démonstration : date fictive".into()),
        signatories: step.signatories().to_vec(),
    }
}

/// The dated path to `stage`, ending on `last` (synthetic dates, a few months apart).
fn path(stage: Stage, last: Date) -> Vec<Event> {
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
    all.iter().take(n).map(|(st, a, by, m)| ev(*st, months(last, m - shift), *a, by)).collect()
}

/// Load the demo into `store` (already loaded CPTS are left as they are).
pub async fn load(store: &Store, geo: &Geo, rules: &RuleSet) -> Result<String, CliError> {
    let (mut added, mut kept) = (0, 0);
    let failed = |e: StoreError| CliError::Failed(e.to_string());
    for (id, name, codes, _, stage, signed) in PARIS_2021 {
        let cid: CptsId = id.parse().map_err(CliError::Failed)?;
        let identity = Identity {
            name: (*name).to_string(),
            legal_form: "association loi 1901".into(),
            rna: None,
            siret: None,
            finess: None,
            seat: None, // not in the source: left unknown
        };
        let record = match store.create_cpts(&cid, &identity).await {
            Ok(r) => r,
            Err(StoreError::AlreadyExists(_)) => {
                kept += 1;
                continue;
            }
            Err(e) => return Err(CliError::Failed(e.to_string())),
        };
        let communes = codes.iter().map(|c| c.parse()).collect::<Result<_, String>>().map_err(CliError::Failed)?;
        let territory = Territory { communes };
        store.set_territory(&cid, record.version, &territory).await.map_err(failed)?;
        added += 1;
        // The last step happened on the signature day, or (no signature) a few months before 25/10/2021.
        let last = signed.map_or(months(DEMO_DAY, -1), |(y, m)| date(y, m, 1));
        let mut history = path(*stage, last);
        let sign = history.pop_if(|e| e.step == Step::Sign);
        for (i, e) in history.iter().enumerate() {
            let seen = history.get(..i).unwrap_or(&[]);
            lifecycle::check(seen, e, &Eligibility::default(), DEMO_DAY)
                .map_err(|r| CliError::Failed(r.to_string()))?;
            store.record_event(&cid, e, i).await.map_err(failed)?;
        }
        if *stage == Stage::Phase1
            && let Some(start) = history.last().map(|e| e.date)
        {
            let grant = phase1_grant(start);
            store.add_convention(&cid, &grant).await.map_err(failed)?;
            // The first half was paid two weeks after the start (synthetic).
            if let Some(line) = store.ledger(&cid).await.map_err(failed)?.first() {
                let on = months(start, 0).checked_add(jiff::Span::new().days(14)).unwrap_or(start);
                store.pay_line(&cid, line.id, line.planned.amount, on).await.map_err(failed)?;
            }
        }
        if let Some(sign) = sign {
            contract(store, geo, rules, &cid, name, &territory, &sign, history.len()).await?;
        }
    }
    let mut out = format!(
        "Données de démonstration : les {} CPTS et projets parisiens au 25 octobre 2021 (support ARS Île-de-France / Assurance Maladie du 28/10/2021), sur leurs arrondissements réels.\n{added} ajoutée(s), {kept} déjà présente(s).\nSituation au 25/10/2021 :\n",
        PARIS_2021.len()
    );
    for (id, _, _, state, _, _) in PARIS_2021 {
        out.push_str(&format!("  {id} : {state}\n"));
    }
    out.push_str(&format!("{SYNTHETIC}.\nEssayez : cpts lifecycle show cpts-paris-18 ; cpts contract calendar cpts-paris-18 --on 2021-10-25 ; cpts ledger show cpts-paris-18 --on 2021-10-25 ; cpts alerts --on 2021-10-25\n"));
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

/// Sign a synthetic contract, start its missions and pay what fell due before 25/10/2021.
#[allow(clippy::too_many_arguments)]
async fn contract(
    store: &Store,
    geo: &Geo,
    rules: &RuleSet,
    cid: &CptsId,
    name: &str,
    territory: &Territory,
    sign: &Event,
    events: usize,
) -> Result<(), CliError> {
    let failed = |e: String| CliError::Failed(format!("démonstration : {e}"));
    store
        .set_statutes(cid, months(sign.date, -3), Some("statuts (démonstration)"))
        .await
        .map_err(|e| failed(e.to_string()))?;
    let summary = territory.summary(geo, rules, sign.date, None).map_err(failed)?;
    let (cpam, ars) = parties(geo, None, &summary).map_err(failed)?;
    let text = format!(
        "{}population: {}\npopulation_source: \"{}\"\n",
        annex(sign.date, summary.tier.0),
        summary.population,
        cpts_domain::geo::SOURCE.replace('"', "'")
    );
    let (agreement, _) = Agreement::new(1, name, &text, &cpam, &ars, rules)
        .map_err(|es| failed(es.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ; ")))?;
    let lines = Book::open(&agreement, rules).map_err(failed)?;
    store.sign_contract(cid, sign, events, &agreement, &lines).await.map_err(|e| failed(e.to_string()))?;
    // Missions start 3, 9 and 11 months after signature (synthetic), if before 25/10/2021.
    for (mission, after) in [("acces_soins", 3), ("parcours", 9), ("prevention", 11)] {
        let on = months(sign.date, after);
        if on > DEMO_DAY {
            continue;
        }
        step(store, rules, cid, name, Op::Start { mission: mission.into(), on }).await?;
    }
    // Access to care fully deployed 14 months after signature (synthetic), if before 25/10/2021.
    let deployed = months(sign.date, 14);
    if deployed <= DEMO_DAY {
        step(store, rules, cid, name, Op::Deploy { mission: "acces_soins".into(), on: deployed }).await?;
    }
    // Pay every line due by then, two weeks after its date (synthetic).
    loop {
        let (book, _) = store.book(cid, name, Some(1)).await.map_err(|e| failed(e.to_string()))?;
        let due = book.lines.iter().find(|l| {
            l.status(DEMO_DAY, &book.gates) == Status::Due
                && l.planned.due.checked_add(jiff::Span::new().days(14)).is_ok_and(|d| d <= DEMO_DAY)
        });
        let Some(l) = due else { break };
        let on = l.planned.due.checked_add(jiff::Span::new().days(14)).map_err(|e| failed(e.to_string()))?;
        step(store, rules, cid, name, Op::Pay { line: l.id, amount: l.remaining(), on }).await?;
    }
    Ok(())
}

async fn step(store: &Store, rules: &RuleSet, cid: &CptsId, name: &str, op: Op) -> Result<(), CliError> {
    let failed = |e: String| CliError::Failed(format!("démonstration : {e}"));
    let (book, version) = store.book(cid, name, Some(1)).await.map_err(|e| failed(e.to_string()))?;
    let o = book.decide(&op, rules, DEMO_DAY).map_err(failed)?;
    store.save_outcome(cid, version, &book.agreement, &o, None, DEMO_DAY).await.map_err(|e| failed(e.to_string()))
}
