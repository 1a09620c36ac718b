//! Many writers at once on one application, as a server would run them: values imports, report
//! acts, payments and identity edits, across CPTS and on the same CPTS. On each engine: no
//! « database is locked » nor any store error, no lost update (every write that succeeded is in
//! the store with its audit row), a conflict only where two edits touch the same thing, and
//! the ledgers still equal what the contracts entitle to.

use std::collections::BTreeMap;
use std::sync::Arc;

use cpts_app::ledger::Pay;
use cpts_app::registry::{EditIdentity, Ids};
use cpts_app::reports::{ReportAct, ReportRef};
use cpts_app::values::ImportValues;
use cpts_app::{App, AppError, Principal, Role, Scope};
use cpts_domain::activity::Act;
use cpts_domain::book::Book;
use cpts_domain::ids::CptsId;
use cpts_domain::ledger::{Convention, FunderKind, Line, Source, Status};
use cpts_domain::lifecycle::Actor;
use cpts_domain::values::RawValue;
use cpts_engine::money::Cents;
use cpts_store::Provenance;
use jiff::civil::date;
use tokio::sync::Barrier;

use crate::common::{TODAY, admin, apps, as_role, audit_rows, signed_cpts};

const DRAFT: &str = "summary: Première année.\nactions:\n  - {title: Cellule médecin traitant, mission: acces_soins, from: 2021-02-01, to: 2021-12-31, description: Orientation, professionals: 12}\nexpenses:\n  - {item: Coordination, amount: 45000}\n";

fn coord(id: &CptsId) -> Principal {
    as_role(Role::Coordinateur, Scope::Cpts(id.clone()))
}

/// A year of one indicator for a CPTS (2021, month by month).
fn year_of(id: &CptsId, indicator: &str) -> Vec<RawValue> {
    (1..=12)
        .map(|m| {
            let (value, num, den) = if indicator == "snp_taux_reponse" { ("", "65", "100") } else { ("7", "", "") };
            RawValue {
                line: m + 1,
                cpts: id.to_string(),
                indicator: indicator.into(),
                period: format!("2021-{m:02}"),
                value: value.into(),
                numerator: num.into(),
                denominator: den.into(),
            }
        })
        .collect()
}

/// One write of the mix.
#[derive(Clone, Debug)]
enum Write {
    Values(Principal, Vec<RawValue>),
    Draft(Principal, CptsId),
    Pay(Principal, CptsId, i64, Option<Cents>),
    Identity(Principal, CptsId, i64, &'static str),
}

impl Write {
    /// The audit action code a success leaves.
    fn code(&self) -> &'static str {
        match self {
            Write::Values(..) => "valeurs",
            Write::Draft(..) => "rapport.redaction",
            Write::Pay(_, _, _, None) => "paiement.aci",
            Write::Pay(..) => "convention.ars",
            Write::Identity(..) => "cpts.identite",
        }
    }

    async fn run(self, app: &App) -> cpts_app::Result<()> {
        match self {
            Write::Values(who, rows) => {
                let provenance =
                    Provenance { source: "import".into(), file: None, by: "Test".into(), role: Actor::Cpts };
                app.import_values(&who, ImportValues { rows, provenance }).await.map(|_| ())
            }
            Write::Draft(who, id) => {
                let act = ReportAct {
                    target: ReportRef { cpts: id, year: 1, contract: None },
                    act: Act::Rediger,
                    text: Some(DRAFT.into()),
                    source: None,
                    role: Actor::Cpts,
                    by: "Test".into(),
                    on: Some(date(2021, 11, 15)),
                };
                app.report_act(&who, act).await.map(|_| ())
            }
            Write::Pay(who, id, line, amount) => {
                let pay = Pay { id, line, on: TODAY, amount, by: "Payeur".into(), reference: None };
                app.pay(&who, pay).await.map(|_| ())
            }
            Write::Identity(who, id, version, name) => {
                let edit = EditIdentity { id, version, name: Some(name.into()), ids: Ids::default() };
                app.edit_identity(&who, edit).await.map(|_| ())
            }
        }
    }
}

/// The ACI lines of a CPTS payable today, and the first installment of its conventions.
async fn payable(app: &App, id: &CptsId) -> (Vec<Line>, Vec<Line>) {
    let v = app.ledger(&admin(), id).await.unwrap();
    let due: Vec<Line> = v.lines.into_iter().filter(|l| l.status(TODAY, &v.gates) == Status::Due).collect();
    let (aci, conv) = due.into_iter().partition(|l| matches!(l.planned.source, Source::Aci { .. }));
    (aci, conv)
}

/// For each contract of the CPTS, its live ACI lines add up, year by year and component by
/// component, to what the domain plans for the contract as it stands (`Book::open`).
async fn ledger_equals_entitlements(app: &App, id: &CptsId) -> Result<(), String> {
    let v = app.ledger(&admin(), id).await.map_err(|e| e.to_string())?;
    for a in &v.agreements {
        let mut want: BTreeMap<(u8, String), i64> = BTreeMap::new();
        for p in Book::open(a, &app.rules)? {
            if let Source::Aci { year, component, .. } = p.source {
                *want.entry((year, component)).or_default() += p.amount.get();
            }
        }
        let mut have: BTreeMap<(u8, String), i64> = BTreeMap::new();
        for l in v.lines.iter().filter(|l| l.cancelled.is_none()) {
            if let Source::Aci { contract, year, component, .. } = &l.planned.source
                && *contract == a.seq
            {
                *have.entry((*year, component.clone())).or_default() += l.planned.amount.get();
            }
        }
        if want != have {
            return Err(format!("{id}, contrat n° {}: planned {want:?}, ledger {have:?}", a.seq));
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_writers_at_once_lose_nothing_and_conflict_only_on_the_same_thing() {
    for (engine, app) in apps().await {
        let app = Arc::new(app);
        let a = signed_cpts(&app, "cpts-brest", "29019", &["29019"]).await;
        let b = signed_cpts(&app, "cpts-quimper", "29232", &["29232"]).await;
        let ars = Convention {
            kind: FunderKind::Ars,
            funder: "ARS Bretagne".into(),
            purpose: "Objet".into(),
            amount: Cents::new(3_000_000),
            start: date(2021, 3, 1),
            end: date(2022, 3, 1),
            deliverables: vec![],
            installments: vec![(date(2021, 3, 1), Cents::new(1_500_000)), (date(2022, 3, 1), Cents::new(1_500_000))],
        };
        app.add_convention(&admin(), &a, &ars).await.unwrap();
        let (aci_a, conv_a) = payable(&app, &a).await;
        let (aci_b, _) = payable(&app, &b).await;
        assert!(aci_a.len() >= 3 && !aci_b.is_empty() && !conv_a.is_empty(), "[{engine}] nothing to pay");
        let (a1, a2, a3, b1, c1) = (&aci_a[0], &aci_a[1], &aci_a[2], &aci_b[0], &conv_a[0]);
        let half = Cents::new(c1.planned.amount.get() / 2);
        let (va, vb) = (app.store.get_cpts(&a).await.unwrap().version, app.store.get_cpts(&b).await.unwrap().version);
        let cpam = as_role(Role::AgentCpam, Scope::Departement("29".into()));
        let ars_53 = as_role(Role::AgentArs, Scope::Region("53".into()));

        // Sixteen writers; the pairs on the same thing are named.
        let writes = vec![
            Write::Values(coord(&a), year_of(&a, "patients_sans_mt_aides")),
            Write::Values(cpam.clone(), year_of(&a, "snp_taux_reponse")),
            Write::Values(coord(&b), [year_of(&b, "patients_sans_mt_aides"), year_of(&b, "snp_taux_reponse")].concat()),
            Write::Draft(coord(&a), a.clone()),
            Write::Draft(admin(), b.clone()),
            // Different lines of one contract: both go through.
            Write::Pay(cpam.clone(), a.clone(), a1.id, None),
            Write::Pay(cpam.clone(), a.clone(), a2.id, None),
            Write::Pay(admin(), b.clone(), b1.id, None),
            // The same line paid whole twice: one only.
            Write::Pay(cpam.clone(), a.clone(), a3.id, None),
            Write::Pay(admin(), a.clone(), a3.id, None),
            // Two halves of one convention installment: both, nothing lost.
            Write::Pay(ars_53.clone(), a.clone(), c1.id, Some(half)),
            Write::Pay(admin(), a.clone(), c1.id, Some(half)),
            // Two identity edits from the same version: one only; another CPTS's: through.
            Write::Identity(coord(&a), a.clone(), va, "CPTS Brest Un"),
            Write::Identity(admin(), a.clone(), va, "CPTS Brest Deux"),
            Write::Identity(coord(&b), b.clone(), vb, "CPTS Quimper Nouvelle"),
            Write::Values(
                admin(),
                year_of(&b, "snp_taux_reponse")
                    .into_iter()
                    .map(|mut r| {
                        r.numerator = "70".into();
                        r.period = r.period.replace("2021", "2022");
                        r
                    })
                    .collect(),
            ),
        ];
        let before = audit_rows(&app).await;
        let barrier = Arc::new(Barrier::new(writes.len()));
        let mut tasks = Vec::new();
        for w in writes.clone() {
            let (app, barrier) = (Arc::clone(&app), Arc::clone(&barrier));
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                w.run(&app).await
            }));
        }
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }

        // No store error, nothing locked.
        for (w, r) in writes.iter().zip(&results) {
            if let Err(e) = r {
                assert!(!matches!(e, AppError::Store(_) | AppError::Internal(_)), "[{engine}] {w:?}: {e:?}");
                assert!(!e.to_string().contains("locked"), "[{engine}] {w:?}: {e}");
            }
        }
        let ok = |i: usize| results[i].is_ok();
        // Exactly one of each pair on the same thing; the loser a conflict, or refused once
        // the winner's write is seen (the line already paid).
        for (x, y) in [(8, 9), (12, 13)] {
            assert!(ok(x) ^ ok(y), "[{engine}] {:?} / {:?}", results[x], results[y]);
        }
        for i in [8, 9] {
            assert!(
                matches!(&results[i], Ok(()) | Err(AppError::Conflict(_) | AppError::Refused(_))),
                "[{engine}] {:?}",
                results[i]
            );
        }
        assert!(matches!(&results[if ok(12) { 13 } else { 12 }], Err(AppError::Conflict(_))), "[{engine}] {results:?}");
        // Every other write went through.
        for (i, r) in results.iter().enumerate().filter(|(i, _)| ![8, 9, 12, 13].contains(i)) {
            assert!(r.is_ok(), "[{engine}] {:?}: {r:?}", writes[i]);
        }

        // One audit row per write that succeeded, none for the others.
        let log = app.audit(&admin(), &Default::default()).await.unwrap();
        assert_eq!(log.len(), before + results.iter().filter(|r| r.is_ok()).count(), "[{engine}]");
        let mut want: BTreeMap<&str, usize> = BTreeMap::new();
        for (w, _) in writes.iter().zip(&results).filter(|(_, r)| r.is_ok()) {
            *want.entry(w.code()).or_default() += 1;
        }
        let mut have: BTreeMap<&str, usize> = BTreeMap::new();
        for row in &log[..log.len() - before] {
            *have.entry(row.action.as_str()).or_default() += 1;
        }
        assert_eq!(have, want, "[{engine}]");

        // Everything is in the store.
        assert_eq!(app.values(&admin(), &a, None).await.unwrap().len(), 24, "[{engine}]");
        assert_eq!(app.values(&admin(), &b, None).await.unwrap().len(), 36, "[{engine}]");
        for id in [&a, &b] {
            let reports = app.reports(&admin(), Some(id)).await.unwrap();
            assert_eq!(reports.len(), 1, "[{engine}] {id}");
        }
        let lines = |id: &CptsId| {
            let app = Arc::clone(&app);
            let id = id.clone();
            async move { app.ledger(&admin(), &id).await.unwrap().lines }
        };
        let (la, lb) = (lines(&a).await, lines(&b).await);
        let paid = |ls: &[Line], id: i64| ls.iter().find(|l| l.id == id).map(|l| (l.paid, l.planned.amount)).unwrap();
        for (ls, l) in [(&la, a1), (&la, a2), (&la, a3), (&lb, b1)] {
            let (p, amount) = paid(ls, l.id);
            assert_eq!(p, amount, "[{engine}] line {}", l.id);
        }
        assert_eq!(paid(&la, c1.id).0, Cents::new(half.get() * 2), "[{engine}] both halves");
        let payments = app.ledger(&admin(), &a).await.unwrap().payments;
        assert_eq!(payments.iter().filter(|p| p.line == a3.id).count(), 1, "[{engine}]");
        assert_eq!(payments.iter().filter(|p| p.line == c1.id).count(), 2, "[{engine}]");
        let ra = app.store.get_cpts(&a).await.unwrap();
        let winner = if ok(12) { "CPTS Brest Un" } else { "CPTS Brest Deux" };
        assert_eq!((ra.identity.name.as_str(), ra.version), (winner, va + 1), "[{engine}]");
        let rb = app.store.get_cpts(&b).await.unwrap();
        assert_eq!((rb.identity.name.as_str(), rb.version), ("CPTS Quimper Nouvelle", vb + 1), "[{engine}]");

        // The ledgers still equal the entitlements.
        for id in [&a, &b] {
            ledger_equals_entitlements(&app, id).await.unwrap_or_else(|e| panic!("[{engine}] {e}"));
        }
    }
}
