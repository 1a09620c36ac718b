//! THE policy matrix: every probe of every area × every role (coordinateur and membre of the
//! Finistère CPTS, agent CPAM 29, agent ARS 53, admin national) × (the Finistère CPTS, in
//! scope; the Paris CPTS, out of scope but for the admin), on each engine, against the POLICY
//! table: refused (« non autorisé », or « introuvable » out of scope) exactly when the table or
//! the scope says so, and nothing written when refused. Then every list over a scope, for each
//! role: not one row of a CPTS out of that role's scope.
//!
//! The expected answer is computed here from `policy::roles` and the fixture's geography, not
//! from `Principal::allowed_on`, so the matrix checks the code that applies the table.

use std::collections::{BTreeMap, BTreeSet};

use cpts_app::accounts::NewAccount;
use cpts_app::audit::AuditQuery;
use cpts_app::members::MembersImport;
use cpts_app::registry::StructureInput;
use cpts_app::reports::{ReportAct, ReportRef};
use cpts_app::values::ImportValues;
use cpts_app::{Action, App, AppError, Grant, Principal, Role, Scope};
use cpts_domain::activity::Act;
use cpts_domain::ids::CptsId;
use cpts_domain::ledger::{Convention, FunderKind};
use cpts_domain::lifecycle::Actor;
use cpts_domain::members::ImportMode;
use cpts_domain::registry::{Mandate, Member, Profession, Role as Office};
use cpts_domain::values::RawValue;
use cpts_engine::money::Cents;
use cpts_store::{Provenance, Visible};
use jiff::civil::date;

use crate::common::{ListProbe, Probe, TODAY, admin, apps, as_role, audit_rows, plain_cpts, signed_cpts};

const DRAFT: &str = "summary: Première année.\nactions:\n  - {title: Cellule médecin traitant, mission: acces_soins, from: 2021-02-01, to: 2021-12-31, description: Orientation, professionals: 12}\nexpenses:\n  - {item: Coordination, amount: 45000}\n";

/// The account the account probes act on.
const PROBED_ACCOUNT: &str = "sonde";

/// The two CPTS of the matrix.
struct Fixture {
    /// Seated in Brest, its territory Brest: Finistère (29), Bretagne (53).
    inside: CptsId,
    /// Seated in Paris 18: Paris (75), Île-de-France (11).
    outside: CptsId,
}

fn value(cpts: &CptsId, indicator: &str, period: String, value: &str, num: &str, den: &str) -> RawValue {
    RawValue {
        line: 2,
        cpts: cpts.to_string(),
        indicator: indicator.into(),
        period,
        value: value.into(),
        numerator: num.into(),
        denominator: den.into(),
    }
}

fn provenance() -> Provenance {
    Provenance { source: "import".into(), file: Some("v.csv".into()), by: "Test".into(), role: Actor::Cpts }
}

fn convention(kind: FunderKind) -> Convention {
    Convention {
        kind,
        funder: "Financeur".into(),
        purpose: "Objet".into(),
        amount: Cents::new(3_000_000),
        start: date(2021, 3, 1),
        end: date(2022, 3, 1),
        deliverables: vec![],
        installments: vec![(date(2021, 3, 1), Cents::new(1_500_000)), (date(2022, 3, 1), Cents::new(1_500_000))],
    }
}

/// Both CPTS with what every probe needs, built once per engine through the use cases: a
/// signed contract and its ledger, a convention of the ARS and one of a collectivité, a
/// member, a structure, a mandate, a year of values, a report draft. Two more CPTS share a
/// commune with each, so the overlaps list has a pair on each side; and an account to manage.
async fn fixture(app: &App) -> Fixture {
    let inside = signed_cpts(app, "cpts-brest", "29019", &["29019"]).await;
    let outside = signed_cpts(app, "cpts-paris", "75118", &["75118"]).await;
    plain_cpts(app, "cpts-iroise", &["29019"]).await;
    plain_cpts(app, "cpts-paris-nord", &["75118"]).await;
    for (id, commune) in [(&inside, "29019"), (&outside, "75118")] {
        app.add_convention(&admin(), id, &convention(FunderKind::Ars)).await.unwrap();
        app.add_convention(&admin(), id, &convention(FunderKind::Collectivite)).await.unwrap();
        let m = Member {
            last_name: "Martin".into(),
            first_name: "Anne".into(),
            profession: Profession::Infirmier,
            rpps: None,
            commune: commune.parse().unwrap(),
            joined: date(2021, 3, 1),
            left: None,
        };
        let import = MembersImport {
            id: id.clone(),
            members: vec![(2, None, m)],
            mode: ImportMode::Add,
            left_on: None,
            dry_run: false,
        };
        app.import_members(&admin(), import, |_, _| {}).await.unwrap();
        let s = app
            .parse_structure(&StructureInput {
                name: "MSP du Port".into(),
                kind: "MSP".into(),
                commune: commune.into(),
                finess: None,
                joined: "01/02/2021".into(),
            })
            .unwrap();
        app.add_structure(&admin(), id, &s).await.unwrap();
        let president = Mandate { role: Office::President, person: "Dr A".into(), from: date(2020, 1, 1), until: None };
        app.add_mandate(&admin(), id, &president).await.unwrap();
        let rows = (1..=12)
            .flat_map(|m| {
                let p = format!("2021-{m:02}");
                [
                    value(id, "patients_sans_mt_aides", p.clone(), "7", "", ""),
                    value(id, "snp_taux_reponse", p, "", "65", "100"),
                ]
            })
            .collect();
        app.import_values(&admin(), ImportValues { rows, provenance: provenance() }).await.unwrap();
        let draft = ReportAct {
            target: ReportRef { cpts: id.clone(), year: 1, contract: None },
            act: Act::Rediger,
            text: Some(DRAFT.into()),
            source: None,
            role: Actor::Cpts,
            by: "Test".into(),
            on: Some(date(2021, 11, 15)),
        };
        app.report_act(&admin(), draft).await.unwrap();
    }
    let account =
        NewAccount { login: PROBED_ACCOUNT.into(), name: "Compte sondé".into(), password: None, grants: vec![] };
    app.add_account(&admin(), account).await.unwrap();
    Fixture { inside, outside }
}

/// The five roles of the matrix, each with its grant on the Finistère side.
fn roles(f: &Fixture) -> [(Role, Principal); 5] {
    [
        (Role::Coordinateur, as_role(Role::Coordinateur, Scope::Cpts(f.inside.clone()))),
        (Role::Membre, as_role(Role::Membre, Scope::Cpts(f.inside.clone()))),
        (Role::AgentCpam, as_role(Role::AgentCpam, Scope::Departement("29".into()))),
        (Role::AgentArs, as_role(Role::AgentArs, Scope::Region("53".into()))),
        (Role::AdminNational, admin()),
    ]
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Expect {
    /// The policy lets it through (the domain may still refuse it, for its own reasons).
    Allowed,
    /// « non autorisé ».
    Forbidden,
    /// « CPTS … introuvable », as if it did not exist.
    Hidden,
}

/// What the POLICY table and the scope say of `role` taking `action` on the target. Only the
/// admin's scope reaches the Paris CPTS. Creating a CPTS and managing accounts are not acts on
/// an existing CPTS: out of scope they are « non autorisé » (nothing to hide).
fn expect(role: Role, action: Action, in_scope: bool) -> Expect {
    let in_scope = in_scope || role == Role::AdminNational;
    let bound_to_target =
        !matches!(action, Action::CreateCpts | Action::ManageAccounts | Action::VerifyAudit | Action::Backup | Action::Restore);
    if !in_scope && bound_to_target {
        Expect::Hidden
    } else if in_scope && cpts_app::policy::roles(action).contains(&role) {
        Expect::Allowed
    } else {
        Expect::Forbidden
    }
}

fn hidden(r: &cpts_app::Result<()>, target: &CptsId) -> bool {
    matches!(r, Err(AppError::NotFound(m)) if *m == format!("CPTS « {target} » introuvable"))
}

fn pinned<'a, T: 'a>(
    f: impl std::future::Future<Output = cpts_app::Result<T>> + 'a,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = cpts_app::Result<T>> + 'a>> {
    Box::pin(f)
}

/// The use cases no area module probes: values checked without being stored, one CPTS's
/// alerts and audit log, and the accounts (national acts: the target does not matter).
pub fn probes() -> Vec<Probe> {
    vec![
        Probe {
            name: "valeurs.controle",
            action: Action::ImportValues,
            run: |app, who, id| {
                pinned(async move {
                    let rows = [value(id, "patients_sans_mt_aides", "2021-01".into(), "8", "", "")];
                    app.check_values(who, &rows).await.map(|_| ())
                })
            },
        },
        Probe {
            name: "alertes.cpts",
            action: Action::Read,
            run: |app, who, id| pinned(async move { app.alerts(who, Some(id), 60, TODAY).await.map(|_| ()) }),
        },
        Probe {
            name: "audit.cpts",
            action: Action::ReadAudit,
            run: |app, who, id| {
                pinned(async move {
                    app.audit(who, &AuditQuery { cpts: Some(id.clone()), ..Default::default() }).await.map(|_| ())
                })
            },
        },
        Probe {
            name: "comptes.creation",
            action: Action::ManageAccounts,
            run: |app, who, id| {
                pinned(async move {
                    let new = NewAccount {
                        login: format!("sonde-{id}"),
                        name: "Sonde".into(),
                        password: None,
                        grants: vec![],
                    };
                    app.add_account(who, new).await.map(|_| ())
                })
            },
        },
        Probe {
            name: "audit.verification",
            action: Action::VerifyAudit,
            run: |app, who, _| pinned(async move { app.verify_audit(who).await.map(|_| ()) }),
        },
        Probe {
            name: "sauvegarde",
            action: Action::Backup,
            run: |app, who, _| pinned(async move { app.backup(who, std::io::sink()).await.map(|_| ()) }),
        },
        Probe {
            // An empty file: allowed, then refused by the store, nothing written.
            name: "restauration",
            action: Action::Restore,
            run: |app, who, _| pinned(async move { app.restore(who, &b""[..], true).await.map(|_| ()) }),
        },
        Probe {
            name: "comptes.liste",
            action: Action::ManageAccounts,
            run: |app, who, _| pinned(async move { app.accounts(who).await.map(|_| ()) }),
        },
        Probe {
            name: "comptes.attribution",
            action: Action::ManageAccounts,
            run: |app, who, id| {
                pinned(async move {
                    app.grant(who, PROBED_ACCOUNT, &Grant { role: Role::Membre, scope: Scope::Cpts(id.clone()) }).await
                })
            },
        },
        Probe {
            name: "comptes.retrait",
            action: Action::ManageAccounts,
            run: |app, who, id| {
                pinned(async move {
                    app.revoke(who, PROBED_ACCOUNT, &Grant { role: Role::Membre, scope: Scope::Cpts(id.clone()) }).await
                })
            },
        },
        Probe {
            name: "comptes.mot-de-passe",
            action: Action::ManageAccounts,
            run: |app, who, _| {
                pinned(async move { app.set_password(who, PROBED_ACCOUNT, "un mot de passe assez long").await })
            },
        },
        Probe {
            name: "comptes.activation",
            action: Action::ManageAccounts,
            run: |app, who, _| pinned(async move { app.set_active(who, PROBED_ACCOUNT, true).await }),
        },
    ]
}

fn ids(l: impl IntoIterator<Item = CptsId>) -> Vec<String> {
    l.into_iter().map(|id| id.to_string()).collect()
}

/// Every list over a principal's scope.
fn lists() -> Vec<ListProbe> {
    vec![
        ListProbe {
            name: "cpts.liste",
            action: Action::Read,
            run: |app, who| {
                pinned(async move { Ok(ids(app.list(who, TODAY).await?.iter().map(|e| e.cpts.record.id.clone()))) })
            },
        },
        ListProbe {
            name: "alertes",
            action: Action::Read,
            run: |app, who| {
                pinned(async move { Ok(ids(app.alerts(who, None, 60, TODAY).await?.iter().map(|a| a.record.id.clone()))) })
            },
        },
        ListProbe {
            name: "chevauchements",
            action: Action::Read,
            run: |app, who| {
                pinned(async move { Ok(ids(app.overlaps(who).await?.into_iter().flat_map(|o| [o.a.id, o.b.id]))) })
            },
        },
        ListProbe {
            name: "rapports",
            action: Action::Read,
            run: |app, who| pinned(async move { Ok(ids(app.reports(who, None).await?.into_iter().map(|(id, _)| id))) }),
        },
        ListProbe {
            name: "audit",
            action: Action::ReadAudit,
            run: |app, who| {
                pinned(async move {
                    let q = AuditQuery { limit: Some(1_000_000), ..Default::default() };
                    Ok(app.audit(who, &q).await?.into_iter().map(|r| r.cpts.unwrap_or_default()).collect())
                })
            },
        },
    ]
}

/// The rows `role` may see in a list needing `action`, from the areas stored for each CPTS
/// ("" stands for rows of no CPTS: national readers only).
fn visible_to(
    role: Role,
    action: Action,
    inside: &CptsId,
    areas: &BTreeMap<String, cpts_store::Areas>,
) -> BTreeSet<String> {
    if !cpts_app::policy::roles(action).contains(&role) {
        return BTreeSet::new();
    }
    let matching =
        |f: &dyn Fn(&cpts_store::Areas) -> bool| areas.iter().filter(|(_, a)| f(a)).map(|(id, _)| id.clone()).collect();
    match role {
        Role::Coordinateur | Role::Membre => BTreeSet::from([inside.to_string()]),
        Role::AgentCpam => matching(&|a| a.departements.contains("29")),
        Role::AgentArs => matching(&|a| a.regions.contains("53")),
        Role::AdminNational => {
            let mut all: BTreeSet<String> = areas.keys().cloned().collect();
            all.insert(String::new());
            all
        }
    }
}

#[tokio::test]
async fn every_use_case_for_every_role_in_and_out_of_scope_is_allowed_exactly_as_the_policy_says() {
    let mut all: Vec<Probe> = crate::registry::probes();
    all.extend(crate::contracts::probes());
    all.extend(crate::reports::probes());
    all.extend(probes());
    // Reads first, on the fixture as built; the writes after them (a refused write changes
    // nothing, an allowed one may, for the probes after it: only the domain's answer changes).
    all.sort_by_key(|p| !matches!(p.action, Action::Read | Action::ReadAudit));
    let mut failures = Vec::new();
    for (engine, app) in apps().await {
        let f = fixture(&app).await;
        let roles = roles(&f);
        for probe in &all {
            for (role, who) in &roles {
                for (target, in_scope) in [(&f.inside, true), (&f.outside, false)] {
                    let want = expect(*role, probe.action, in_scope);
                    let before = audit_rows(&app).await;
                    let r = (probe.run)(&app, who, target).await;
                    let read = matches!(probe.action, Action::Read | Action::ReadAudit);
                    let ok = match want {
                        // A read allowed just works on the fixture.
                        Expect::Allowed if read => r.is_ok(),
                        Expect::Allowed => {
                            !matches!(&r, Err(AppError::Forbidden(_) | AppError::Store(_) | AppError::Internal(_)))
                                && !hidden(&r, target)
                        }
                        Expect::Forbidden => matches!(&r, Err(AppError::Forbidden(_))),
                        Expect::Hidden => hidden(&r, target),
                    };
                    let at = format!("{} × {} × {} × {engine}", probe.name, role.code(), target);
                    if !ok {
                        failures.push(format!("{at}: expected {want:?}, got {r:?}"));
                    }
                    if want != Expect::Allowed {
                        let after = audit_rows(&app).await;
                        if after != before {
                            failures.push(format!("{at}: refused but {} audit row(s) written", after - before));
                        }
                    }
                }
            }
        }
        // The lists, after every write of the probes (more rows to leak).
        let areas = app.store.areas_in(&Visible::everything()).await.unwrap();
        for list in lists() {
            for (role, who) in &roles {
                let at = format!("{} × {} × {engine}", list.name, role.code());
                let rows = match (list.run)(&app, who).await {
                    Ok(rows) => rows,
                    Err(e) => {
                        failures.push(format!("{at}: {e:?}"));
                        continue;
                    }
                };
                let allowed = visible_to(*role, list.action, &f.inside, &areas);
                let leaks: BTreeSet<&String> = rows.iter().filter(|id| !allowed.contains(*id)).collect();
                if !leaks.is_empty() {
                    failures.push(format!("{at}: rows out of scope {leaks:?}"));
                }
                // The admin sees both sides: the fixture gives every list something to leak.
                let seen = |id: &CptsId| rows.iter().any(|r| r == id.as_str());
                if *role == Role::AdminNational && !(seen(&f.inside) && seen(&f.outside)) {
                    failures.push(format!("{at}: the admin does not see both CPTS: {rows:?}"));
                }
                if matches!(role, Role::AgentCpam | Role::AgentArs) && !seen(&f.inside) {
                    failures.push(format!("{at}: the Finistère CPTS is missing: {rows:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} failure(s):\n{}", failures.len(), failures.join("\n"));
}
