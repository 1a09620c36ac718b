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
        let record = match store.create_cpts(&crate::op(), &cid, &identity, &cpts_store::Areas::default()).await {
            Ok(r) => r,
            Err(StoreError::AlreadyExists(_)) => {
                kept += 1;
                continue;
            }
            Err(e) => return Err(CliError::Failed(e.to_string())),
        };
        let communes = codes.iter().map(|c| c.parse()).collect::<Result<_, String>>().map_err(CliError::Failed)?;
        let territory = Territory { communes };
        store.set_territory(&crate::op(), &cid, record.version, &territory, &cpts_app::areas_of(geo, None, &territory.communes)).await.map_err(failed)?;
        added += 1;
        // The last step happened on the signature day, or (no signature) a few months before 25/10/2021.
        let last = signed.map_or(months(DEMO_DAY, -1), |(y, m)| date(y, m, 1));
        let mut history = path(*stage, last);
        let sign = history.pop_if(|e| e.step == Step::Sign);
        for (i, e) in history.iter().enumerate() {
            let seen = history.get(..i).unwrap_or(&[]);
            lifecycle::check(seen, e, &Eligibility::default(), DEMO_DAY)
                .map_err(|r| CliError::Failed(r.to_string()))?;
            store.record_event(&crate::op(), &cid, e, i).await.map_err(failed)?;
        }
        if *stage == Stage::Phase1
            && let Some(start) = history.last().map(|e| e.date)
        {
            let grant = phase1_grant(start);
            store.add_convention(&crate::op(), &cid, &grant).await.map_err(failed)?;
            // The first half was paid two weeks after the start (synthetic).
            if let Some(line) = store.ledger(&cid).await.map_err(failed)?.first() {
                let on = months(start, 0).checked_add(jiff::Span::new().days(14)).unwrap_or(start);
                let pay = cpts_domain::ledger::Payment {
                    line: line.id,
                    amount: line.planned.amount,
                    on,
                    by: format!("{} (DÉMONSTRATION)", grant.funder),
                    reference: None,
                };
                store.pay_line(&crate::op(), &cid, &pay).await.map_err(failed)?;
            }
        }
        if let Some(sign) = sign {
            contract(store, geo, rules, &cid, name, &territory, &sign, history.len()).await?;
            let n = PARIS_2021.iter().position(|x| x.0 == *id).unwrap_or(0);
            activity(store, rules, &cid, name, n).await?;
            pay_due(store, rules, &cid, name).await?;
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
        .set_statutes(&crate::op(), cid, months(sign.date, -3), Some("statuts (démonstration)"))
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
    store.sign_contract(&crate::op(), cid, sign, events, &agreement, &lines).await.map_err(|e| failed(e.to_string()))?;
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
    pay_due(store, rules, cid, name).await
}

/// Pay every line due by 25/10/2021, two weeks after its date (synthetic).
async fn pay_due(store: &Store, rules: &RuleSet, cid: &CptsId, name: &str) -> Result<(), CliError> {
    let failed = |e: String| CliError::Failed(format!("démonstration : {e}"));
    loop {
        let (book, _) = store.book(cid, name, Some(1)).await.map_err(|e| failed(e.to_string()))?;
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
        let pay = cpts_domain::ledger::Payment {
            line: l.id,
            amount: l.remaining(),
            on,
            by: format!("{} (DÉMONSTRATION)", book.agreement.cpam),
            reference: None,
        };
        step(store, rules, cid, name, Op::Pay(pay)).await?;
    }
    Ok(())
}

async fn step(store: &Store, rules: &RuleSet, cid: &CptsId, name: &str, op: Op) -> Result<(), CliError> {
    let failed = |e: String| CliError::Failed(format!("démonstration : {e}"));
    let (book, version) = store.book(cid, name, Some(1)).await.map_err(|e| failed(e.to_string()))?;
    let o = book.decide(&op, rules, DEMO_DAY).map_err(failed)?;
    store.save_outcome(&crate::op(), cid, version, &book.agreement, &o, None, DEMO_DAY).await.map_err(|e| failed(e.to_string()))
}

/// A deterministic spread in [0, 100) for synthetic figures.
fn spread(a: usize, b: usize) -> usize {
    (a * 7_919 + b * 104_729 + 13) % 100
}

/// Synthetic indicator values up to 25/10/2021 and activity reports in several states:
/// Paris 18 validated (balance released), Paris 14 in review, Paris 13 returned for
/// corrections, Paris 20 a draft (its first year is not over).
async fn activity(store: &Store, rules: &RuleSet, cid: &CptsId, name: &str, n: usize) -> Result<(), CliError> {
    use cpts_domain::activity::{Act, Context, Report};
    use cpts_domain::indicators::Catalogue;
    use cpts_domain::values::{RawValue, Scope, check, year_values};
    let failed = |e: String| CliError::Failed(format!("démonstration : {e}"));
    let catalogue = Catalogue::builtin(rules).map_err(failed)?;
    let (agreement, _) = store.agreement(cid, name, Some(1)).await.map_err(|e| failed(e.to_string()))?;
    let c = agreement.contract(rules).map_err(|e| failed(format!("{e:?}")))?;
    let signed = agreement.signed();
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
    let mut month = cpts_domain::values::Period::Month(signed.year(), signed.month());
    if month.first_day() < signed {
        month = cpts_domain::values::Period::Month(month.end().year(), month.end().month());
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
        month = cpts_domain::values::Period::Month(month.end().year(), month.end().month());
    }
    for q in 1..=4i8 {
        for y in [2020i16, 2021] {
            let p = cpts_domain::values::Period::Quarter(y, q);
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
    if cpts_domain::values::Period::Year(2020).first_day() >= signed {
        push("protocoles_pluripro", "2020".into(), (2 + n % 2).to_string(), String::new(), String::new());
    }
    let scopes = [(cid.clone(), Scope::of(std::slice::from_ref(&agreement), rules).map_err(failed)?)].into();
    let entries = check(&rows, &scopes, &Default::default(), &catalogue)
        .map_err(|e| failed(e.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ; ")))?;
    let p = cpts_store::Provenance {
        source: "import".into(),
        file: Some("valeurs-demonstration-synthetiques.csv".into()),
        by: "Coordination (démonstration)".into(),
        role: Actor::Cpts,
    };
    store.add_values(&crate::op(), &p, &entries).await.map_err(|e| failed(e.to_string()))?;

    // Which report, in which state (by CPTS); year 1 only.
    let Some((_, end)) = c.year_bounds(1) else { return Ok(()) };
    let plan: &[Act] = match cid.as_str() {
        "cpts-paris-18" => &[Act::Rediger, Act::Soumettre, Act::Commenter, Act::Repondre, Act::Valider],
        "cpts-paris-14" => &[Act::Rediger, Act::Soumettre, Act::Commenter],
        "cpts-paris-13" => &[Act::Rediger, Act::Soumettre, Act::DemanderCorrection],
        "cpts-paris-20" => &[Act::Rediger],
        _ => &[],
    };
    if plan.is_empty() {
        return Ok(());
    }
    let text = format!(
        "# {SYNTHETIC}\nsummary: \"DÉMONSTRATION – rapport fictif. Première année du contrat : organisation de l'accès au médecin traitant et des soins non programmés, premiers protocoles.\"\nactions:\n  - {{title: Cellule d'orientation vers un médecin traitant, mission: acces_soins, from: {}, professionals: 12, description: Permanence téléphonique et liste partagée des patients sans médecin traitant}}\n  - {{title: Protocole pluriprofessionnel insuffisance cardiaque, mission: parcours, from: {}, professionals: 8}}\nexpenses:\n  - {{item: Coordination (salaire chargé), amount: 48000}}\n  - {{item: Indemnisation du temps des professionnels, amount: 15600}}\n  - {{item: Outils numériques, amount: 2400}}\n",
        months(signed, 3),
        months(signed, 9).min(cpts_engine::dates::day_before(end).unwrap_or(end)),
    );
    let values = store.values(cid).await.map_err(|e| failed(e.to_string()))?;
    let yv = year_values(&c, 1, &catalogue, &values);
    let ctx = Context { rules, contract: &c, values: &yv, today: DEMO_DAY };
    let mut report = Report::draft(1, 1, 1, "", &ctx).map_err(|e| failed(e.to_string()))?;
    let mut saved: Option<Report> = None;
    for (i, act) in plan.iter().enumerate() {
        let on = if *act == Act::Rediger {
            months(end, -1).min(DEMO_DAY)
        } else {
            months(end, 1).checked_add(jiff::Span::new().days(i64::try_from(i).unwrap_or(0) * 5)).unwrap_or(end)
        };
        let (role, by, note) = match act {
            Act::Rediger | Act::Soumettre => (Actor::Cpts, "Coordination (démonstration)", Some(text.as_str())),
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
        let note = if *act == Act::Soumettre { None } else { note };
        let next = report.act(*act, role, by, on, note, &ctx).map_err(|e| failed(e.to_string()))?;
        let outcome = if *act == Act::Valider {
            let (book, version) = store.book(cid, name, Some(1)).await.map_err(|e| failed(e.to_string()))?;
            let o =
                book.decide(&Op::Release { year: 1, on, results: next.year_in() }, rules, DEMO_DAY).map_err(failed)?;
            Some((version, book.agreement, o))
        } else {
            None
        };
        store
            .save_report(&crate::op(), cid, saved.as_ref(), &next, outcome.as_ref().map(|(v, a, o)| (*v, a, o)), DEMO_DAY)
            .await
            .map_err(|e| failed(e.to_string()))?;
        saved = Some(next.clone());
        report = next;
    }
    Ok(())
}
