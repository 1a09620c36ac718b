//! The registry's use cases: every write leaves one audit row with its before and after; out of
//! scope is « introuvable », in scope with the wrong role « non autorisé », and nothing is
//! written either way. And one probe per use case for the policy matrix.

use cpts_app::members::{MemberPatch, MembersImport};
use cpts_app::registry::{EditIdentity, Ids, IdsInput, NewCpts, SetTerritory, StructureInput};
use cpts_app::{App, AppError, Clock, Principal, Role, Scope};
use cpts_domain::ids::CptsId;
use cpts_domain::members::ImportMode;
use cpts_domain::registry::{Mandate, Member, Profession, Role as Office};
use jiff::civil::date;

use crate::common::{Probe, TODAY, admin, apps, as_role, audit_rows};

fn id(s: &str) -> CptsId {
    s.parse().unwrap()
}

/// A CPTS seated in Brest (Finistère, 29; Bretagne, 53), its territory Brest.
async fn brest(app: &App) -> CptsId {
    let ids = app.parse_ids(&IdsInput { seat: Some("Brest".into()), ..Default::default() }).unwrap();
    let r = app
        .create_cpts(&admin(), NewCpts { id: None, name: "CPTS Brest".into(), legal_form: None, ids })
        .await
        .unwrap();
    let territory = app.parse_territory(&["29019".into()]).unwrap();
    app.set_territory(&admin(), SetTerritory { id: r.id.clone(), version: 1, territory }).await.unwrap();
    r.id
}

fn member(last: &str, commune: &str) -> Member {
    Member {
        last_name: last.into(),
        first_name: "Anne".into(),
        profession: Profession::Infirmier,
        rpps: None,
        commune: commune.parse().unwrap(),
        joined: date(2021, 3, 1),
        left: None,
    }
}

fn import(id: &CptsId, members: Vec<Member>, mode: ImportMode, dry_run: bool) -> MembersImport {
    MembersImport {
        id: id.clone(),
        members: members.into_iter().enumerate().map(|(i, m)| (i + 2, None, m)).collect(),
        mode,
        left_on: None,
        dry_run,
    }
}

/// The last audit row, as JSON before and after.
async fn last_audit(app: &App) -> (String, Option<serde_json::Value>, Option<serde_json::Value>) {
    let q = cpts_app::audit::AuditQuery { limit: Some(1), ..Default::default() };
    let row = app.audit(&admin(), &q).await.unwrap().remove(0);
    let json = |s: Option<String>| s.map(|s| serde_json::from_str(&s).unwrap());
    (row.action, json(row.before), json(row.after))
}

#[tokio::test]
async fn each_registry_write_leaves_one_audit_row_with_before_and_after() {
    for (engine, app) in apps().await {
        let before = audit_rows(&app).await;
        let cid = brest(&app).await;
        // Creation and territory: two rows.
        assert_eq!(audit_rows(&app).await, before + 2, "[{engine}]");
        let (action, b, a) = last_audit(&app).await;
        assert_eq!(action, "cpts.territoire", "[{engine}]");
        assert!(b.unwrap().to_string().contains("\"communes\":[]"), "[{engine}]");
        assert!(a.unwrap().to_string().contains("29019"), "[{engine}]");
        // The territory's scope: the CPTS is in the Finistère and Bretagne.
        let areas = app.store.areas(&cid).await.unwrap();
        assert!(areas.departements.contains("29") && areas.regions.contains("53"), "[{engine}]");

        let n = audit_rows(&app).await;
        let ids = app.parse_ids(&IdsInput { siret: Some("73282932000074".into()), ..Default::default() }).unwrap();
        let e = app
            .edit_identity(
                &admin(),
                EditIdentity { id: cid.clone(), version: 1, name: Some("CPTS du Pays de Brest".into()), ids },
            )
            .await
            .unwrap();
        assert_eq!(e.version, 2, "[{engine}]");
        assert_eq!(e.identity.seat.as_ref().map(|s| s.as_str()), Some("29019"), "kept [{engine}]");
        assert_eq!(audit_rows(&app).await, n + 1, "[{engine}]");
        let (action, b, a) = last_audit(&app).await;
        assert_eq!(action, "cpts.identite", "[{engine}]");
        assert!(b.unwrap().to_string().contains("\"CPTS Brest\""), "[{engine}]");
        assert!(a.unwrap().to_string().contains("Pays de Brest"), "[{engine}]");
        // A stale version: a conflict, nothing written.
        let stale = EditIdentity { id: cid.clone(), version: 1, name: Some("X".into()), ids: Ids::default() };
        assert!(matches!(app.edit_identity(&admin(), stale).await, Err(AppError::Conflict(_))), "[{engine}]");
        assert_eq!(audit_rows(&app).await, n + 1, "[{engine}]");

        // Members: a dry run writes nothing; the import one row; a correction that changes
        // nothing writes nothing; a real one a row with the member before and after.
        let n = audit_rows(&app).await;
        let plan = app
            .import_members(
                &admin(),
                import(&cid, vec![member("Martin", "29019"), member("Durand", "75118")], ImportMode::Add, true),
                |_, _| {},
            )
            .await
            .unwrap();
        assert!(!plan.applied && plan.plan.added.len() == 2 && plan.outside == 1, "[{engine}]");
        assert_eq!(audit_rows(&app).await, n, "dry run [{engine}]");
        assert!(app.members(&admin(), &cid).await.unwrap().members.is_empty(), "[{engine}]");
        let mut seen = Vec::new();
        let done = app
            .import_members(
                &admin(),
                import(&cid, vec![member("Martin", "29019"), member("Durand", "75118")], ImportMode::Add, false),
                |w, t| seen.push((w, t)),
            )
            .await
            .unwrap();
        assert!(done.applied && done.cpts.name == "CPTS du Pays de Brest", "[{engine}]");
        assert_eq!(seen.last(), Some(&(2, 2)), "[{engine}]");
        assert_eq!(audit_rows(&app).await, n + 1, "[{engine}]");
        let view = app.members(&admin(), &cid).await.unwrap();
        assert_eq!((view.members.len(), view.active, view.on), (2, 2, TODAY), "[{engine}]");
        assert_eq!(view.members.iter().filter(|r| r.outside).count(), 1, "[{engine}]");
        let same = MemberPatch { last_name: Some("Martin".into()), ..Default::default() };
        assert!(app.edit_member(&admin(), &cid, 1, same).await.unwrap().fields.is_empty(), "[{engine}]");
        assert_eq!(audit_rows(&app).await, n + 1, "[{engine}]");
        let patch = app
            .parse_member_patch(&cpts_app::members::MemberPatchInput {
                first_name: Some("Anaïs".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(app.edit_member(&admin(), &cid, 1, patch).await.unwrap().fields, vec!["Prénom"], "[{engine}]");
        let (action, b, a) = last_audit(&app).await;
        assert_eq!(action, "membres", "[{engine}]");
        assert!(b.unwrap().to_string().contains("Anne") && a.unwrap().to_string().contains("Anaïs"), "[{engine}]");
        // An unknown member number: not found, nothing written.
        assert!(
            matches!(app.leave_member(&admin(), &cid, 9, TODAY).await, Err(AppError::NotFound(m)) if m.contains("membre n° 9")),
            "[{engine}]"
        );
        app.leave_member(&admin(), &cid, 2, date(2026, 6, 30)).await.unwrap();
        assert_eq!(app.members(&admin(), &cid).await.unwrap().active, 1, "[{engine}]");
        let gone = app.remove_member(&admin(), &cid, 1).await.unwrap();
        assert_eq!(gone.first_name, "Anaïs", "[{engine}]");
        assert_eq!(app.member_history(&admin(), &cid).await.unwrap().len(), 3, "[{engine}]");
        assert_eq!(audit_rows(&app).await, n + 4, "[{engine}]");

        // Structures and governance: one row each.
        let n = audit_rows(&app).await;
        let st = app
            .parse_structure(&StructureInput {
                name: "MSP du Port".into(),
                kind: "MSP".into(),
                commune: "Brest".into(),
                finess: None,
                joined: "01/02/2021".into(),
            })
            .unwrap();
        assert_eq!(app.add_structure(&admin(), &cid, &st).await.unwrap(), 1, "[{engine}]");
        let president = Mandate { role: Office::President, person: "Dr A".into(), from: date(2020, 1, 1), until: None };
        assert_eq!(app.add_mandate(&admin(), &cid, &president).await.unwrap(), 1, "[{engine}]");
        let second = Mandate { person: "Dr B".into(), from: date(2022, 1, 1), ..president.clone() };
        assert!(matches!(app.add_mandate(&admin(), &cid, &second).await, Err(AppError::Refused(_))), "[{engine}]");
        app.end_mandate(&admin(), &cid, 1, date(2021, 12, 31)).await.unwrap();
        let (_, b, a) = last_audit(&app).await;
        assert!(
            b.unwrap().to_string().contains("\"until\":null") && a.unwrap().to_string().contains("2021-12-31"),
            "[{engine}]"
        );
        assert_eq!(audit_rows(&app).await, n + 3, "[{engine}]");
        let gov = app.mandates(&admin(), &cid, Some(date(2021, 6, 1))).await.unwrap();
        assert!(gov.mandates.len() == 1 && gov.mandates[0].active, "[{engine}]");
        assert_eq!(app.structures(&admin(), &cid).await.unwrap().len(), 1, "[{engine}]");
    }
}

#[tokio::test]
async fn out_of_scope_is_not_found_and_the_wrong_role_forbidden_with_nothing_written() {
    for (engine, app) in apps().await {
        let cid = brest(&app).await;
        app.import_members(&admin(), import(&cid, vec![member("Martin", "29019")], ImportMode::Add, false), |_, _| {})
            .await
            .unwrap();
        let n = audit_rows(&app).await;
        let elsewhere = [
            as_role(Role::Coordinateur, Scope::Cpts(id("cpts-autre"))),
            as_role(Role::AgentCpam, Scope::Departement("75".into())),
            as_role(Role::AgentArs, Scope::Region("11".into())),
        ];
        for who in &elsewhere {
            let not_found =
                |r: cpts_app::Result<()>| matches!(r, Err(AppError::NotFound(m)) if m.contains("CPTS « cpts-brest »"));
            assert!(not_found(app.show_cpts(who, &cid, None).await.map(|_| ())), "[{engine}] {}", who.login);
            assert!(not_found(app.members(who, &cid).await.map(|_| ())), "[{engine}] {}", who.login);
            assert!(not_found(app.remove_member(who, &cid, 1).await.map(|_| ())), "[{engine}] {}", who.login);
            let t = app.parse_territory(&["29232".into()]).unwrap();
            assert!(
                not_found(
                    app.set_territory(who, SetTerritory { id: cid.clone(), version: 2, territory: t })
                        .await
                        .map(|_| ())
                ),
                "[{engine}] {}",
                who.login
            );
            // Lists filter in the database: the CPTS is not there.
            assert!(app.overlaps(who).await.unwrap().is_empty(), "[{engine}]");
        }
        // In scope, wrong role.
        let cpam = as_role(Role::AgentCpam, Scope::Departement("29".into()));
        let member_of = as_role(Role::Membre, Scope::Cpts(cid.clone()));
        let ars = as_role(Role::AgentArs, Scope::Region("53".into()));
        for who in [&cpam, &member_of, &ars] {
            let forbidden = |r: cpts_app::Result<()>| matches!(r, Err(AppError::Forbidden(_)));
            assert!(app.show_cpts(who, &cid, None).await.is_ok(), "[{engine}] {}", who.login);
            assert!(forbidden(app.remove_member(who, &cid, 1).await.map(|_| ())), "[{engine}] {}", who.login);
            let edit = EditIdentity { id: cid.clone(), version: 1, name: Some("X".into()), ids: Ids::default() };
            assert!(forbidden(app.edit_identity(who, edit).await.map(|_| ())), "[{engine}] {}", who.login);
            let m = Mandate { role: Office::Bureau, person: "X".into(), from: date(2020, 1, 1), until: None };
            assert!(forbidden(app.add_mandate(who, &cid, &m).await.map(|_| ())), "[{engine}] {}", who.login);
        }
        assert_eq!(audit_rows(&app).await, n, "nothing written [{engine}]");
        assert_eq!(app.members(&admin(), &cid).await.unwrap().members.len(), 1, "[{engine}]");

        // The ARS of Bretagne may move the territory within its région, not out of it; it
        // creates CPTS seated in its région only.
        let rennes = app.parse_territory(&["35238".into()]).unwrap();
        app.set_territory(&ars, SetTerritory { id: cid.clone(), version: 2, territory: rennes }).await.unwrap();
        assert_eq!(audit_rows(&app).await, n + 1, "[{engine}]");
        // Without a seat, the territory alone places a CPTS: out of the région is refused.
        let iroise =
            NewCpts { id: Some(id("cpts-iroise")), name: "CPTS Iroise".into(), legal_form: None, ids: Ids::default() };
        let iroise = app.create_cpts(&admin(), iroise).await.unwrap().id;
        let brest_only = app.parse_territory(&["29019".into()]).unwrap();
        app.set_territory(&admin(), SetTerritory { id: iroise.clone(), version: 1, territory: brest_only })
            .await
            .unwrap();
        let n = audit_rows(&app).await;
        let paris = app.parse_territory(&["75118".into()]).unwrap();
        let out = app.set_territory(&ars, SetTerritory { id: iroise.clone(), version: 2, territory: paris }).await;
        assert!(matches!(out, Err(AppError::Forbidden(_))), "[{engine}] {out:?}");
        assert_eq!(audit_rows(&app).await, n, "[{engine}]");
        let new = |seat: &str| NewCpts {
            id: None,
            name: format!("CPTS {seat}"),
            legal_form: None,
            ids: app.parse_ids(&IdsInput { seat: Some(seat.into()), ..Default::default() }).unwrap(),
        };
        assert!(app.create_cpts(&ars, new("Quimper")).await.is_ok(), "[{engine}]");
        assert!(matches!(app.create_cpts(&ars, new("75118")).await, Err(AppError::Forbidden(_))), "[{engine}]");
        assert!(matches!(app.create_cpts(&cpam, new("Brest")).await, Err(AppError::Forbidden(_))), "[{engine}]");
        assert_eq!(audit_rows(&app).await, n + 1, "[{engine}]");
        // The coordinator of the CPTS edits its identity.
        let coord = as_role(Role::Coordinateur, Scope::Cpts(cid.clone()));
        let edit = EditIdentity {
            id: cid.clone(),
            version: 1,
            name: Some("CPTS Brest Rive Droite".into()),
            ids: Ids::default(),
        };
        app.edit_identity(&coord, edit).await.unwrap();
        let q = cpts_app::audit::AuditQuery { limit: Some(1), ..Default::default() };
        let row = app.audit(&admin(), &q).await.unwrap().remove(0);
        assert_eq!((row.login.as_str(), row.role.as_str()), ("coordinateur-test", "coordinateur"), "[{engine}]");
    }
}

#[tokio::test]
async fn identity_and_territory_read_as_recorded_on_a_date() {
    for (engine, mut app) in apps().await {
        app.clock = Clock::on(date(2024, 1, 10));
        let cid = brest(&app).await;
        app.clock = Clock::on(date(2025, 3, 1));
        let quimper = app.parse_territory(&["29232".into()]).unwrap();
        app.set_territory(&admin(), SetTerritory { id: cid.clone(), version: 2, territory: quimper }).await.unwrap();
        let edit =
            EditIdentity { id: cid.clone(), version: 1, name: Some("CPTS Cornouaille".into()), ids: Ids::default() };
        app.edit_identity(&admin(), edit).await.unwrap();
        assert!(app.cpts_as_of(&admin(), &cid, date(2024, 1, 9)).await.unwrap().is_none(), "[{engine}]");
        let then = app.cpts_as_of(&admin(), &cid, date(2024, 6, 1)).await.unwrap().unwrap();
        assert_eq!(then.identity.name, "CPTS Brest", "[{engine}]");
        assert_eq!(then.territory.communes.iter().map(|c| c.as_str()).collect::<Vec<_>>(), ["29019"], "[{engine}]");
        let now = app.cpts_as_of(&admin(), &cid, date(2025, 3, 1)).await.unwrap().unwrap();
        assert_eq!(now.identity.name, "CPTS Cornouaille", "[{engine}]");
        assert_eq!(now.territory.communes.iter().map(|c| c.as_str()).collect::<Vec<_>>(), ["29232"], "[{engine}]");
        let outsider = as_role(Role::Membre, Scope::Cpts(id("cpts-autre")));
        assert!(
            matches!(app.cpts_as_of(&outsider, &cid, date(2025, 3, 1)).await, Err(AppError::NotFound(_))),
            "[{engine}]"
        );
        // The view of today: population, tier, the CPAM of the seat.
        let v = app.show_cpts(&admin(), &cid, None).await.unwrap();
        assert_eq!(v.cpts.summary.unwrap().population, 64_385, "[{engine}]");
        assert_eq!(v.cpam, cpts_app::registry::CpamOf::Seat("29".into()), "[{engine}]");
    }
}

#[tokio::test]
async fn a_bad_member_file_reports_its_lines_and_a_territory_set_reports_visible_overlaps() {
    for (engine, app) in apps().await {
        brest(&app).await;
        let table = cpts_domain::table::RawTable {
            header: ["Nom", "Prénom", "Profession", "Commune d'exercice", "Date d'adhésion"].map(String::from).to_vec(),
            rows: vec![(2, ["Martin", "Anne", "astronaute", "29019", "01/03/2021"].map(String::from).to_vec())],
        };
        match app.parse_members(&table) {
            Err(AppError::Invalid(errors)) => {
                assert_eq!((errors[0].line, errors[0].field.as_str()), (Some(2), "Profession"), "[{engine}]")
            }
            other => panic!("[{engine}] {other:?}"),
        }
        // A second CPTS on Brest too: the overlap is reported to whoever sees both, not to the
        // coordinator of the second alone.
        let other = app
            .create_cpts(
                &admin(),
                NewCpts {
                    id: Some(id("cpts-iroise")),
                    name: "CPTS Iroise".into(),
                    legal_form: None,
                    ids: Ids::default(),
                },
            )
            .await
            .unwrap();
        let t = app.parse_territory(&["29019".into()]).unwrap();
        let set = app
            .set_territory(&admin(), SetTerritory { id: other.id.clone(), version: 1, territory: t.clone() })
            .await
            .unwrap();
        assert_eq!(set.overlaps.len(), 1, "[{engine}]");
        assert_eq!(set.overlaps[0].population, 142_346, "[{engine}]");
        let coord = as_role(Role::Coordinateur, Scope::Cpts(other.id.clone()));
        let set =
            app.set_territory(&coord, SetTerritory { id: other.id.clone(), version: 2, territory: t }).await.unwrap();
        assert!(set.overlaps.is_empty(), "[{engine}]");
        assert_eq!(app.overlaps(&admin()).await.unwrap().len(), 1, "[{engine}]");
        assert!(app.overlaps(&coord).await.unwrap().is_empty(), "[{engine}]");
    }
}

/// Store reads for probes: the target's seat (or a Paris commune) and its last member.
async fn seat_of(app: &App, id: &CptsId) -> cpts_app::Result<String> {
    let r = app.store.get_cpts(id).await?;
    Ok(r.identity.seat.or_else(|| r.territory.communes.first().cloned()).map_or("75118".into(), |c| c.to_string()))
}

/// Import one member named after the probe and `who`, as `who`; its number.
async fn probe_member(app: &App, who: &Principal, id: &CptsId, probe: &str) -> cpts_app::Result<i64> {
    let m = member(&format!("Sonde {probe} {}", who.login), &seat_of(app, id).await?);
    app.import_members(who, import(id, vec![m], ImportMode::Add, false), |_, _| {}).await?;
    let all = app.store.numbered_members(id).await?;
    Ok(all.last().map_or(1, |(n, _)| *n))
}

fn bureau(who: &Principal) -> Mandate {
    Mandate { role: Office::Bureau, person: format!("Sonde {}", who.login), from: date(2024, 1, 1), until: None }
}

/// One probe per use case of the registry and the members, each run as `who` on `target`.
/// Not included: `overlaps`, a list over the principal's scope with no target to refuse.
pub fn probes() -> Vec<Probe> {
    use cpts_app::Action as A;
    vec![
        Probe {
            name: "cpts.creation",
            action: A::CreateCpts,
            run: |app, who, id| {
                Box::pin(async move {
                    let seat = seat_of(app, id).await?;
                    let ids = app.parse_ids(&IdsInput { seat: Some(seat), ..Default::default() })?;
                    let new = NewCpts { id: None, name: format!("Sonde {} {}", who.login, id), legal_form: None, ids };
                    app.create_cpts(who, new).await.map(|_| ())
                })
            },
        },
        Probe {
            name: "cpts.voir",
            action: A::Read,
            run: |app, who, id| Box::pin(async move { app.show_cpts(who, id, None).await.map(|_| ()) }),
        },
        Probe {
            name: "cpts.a-la-date",
            action: A::Read,
            run: |app, who, id| Box::pin(async move { app.cpts_as_of(who, id, TODAY).await.map(|_| ()) }),
        },
        Probe {
            name: "cpts.identite",
            action: A::EditIdentity,
            run: |app, who, id| {
                Box::pin(async move {
                    let version = app.store.get_cpts(id).await?.version;
                    app.edit_identity(who, EditIdentity { id: id.clone(), version, name: None, ids: Ids::default() })
                        .await
                        .map(|_| ())
                })
            },
        },
        Probe {
            name: "cpts.territoire",
            action: A::EditTerritory,
            run: |app, who, id| {
                Box::pin(async move {
                    let r = app.store.get_cpts(id).await?;
                    let cmd = SetTerritory { id: id.clone(), version: r.territory_version, territory: r.territory };
                    app.set_territory(who, cmd).await.map(|_| ())
                })
            },
        },
        Probe {
            name: "membres.import",
            action: A::EditMembers,
            run: |app, who, id| Box::pin(async move { probe_member(app, who, id, "import").await.map(|_| ()) }),
        },
        Probe {
            name: "membres.simulation",
            action: A::EditMembers,
            run: |app, who, id| {
                Box::pin(async move {
                    let m = member("Sonde simulée", &seat_of(app, id).await?);
                    app.import_members(who, import(id, vec![m], ImportMode::Replace, true), |_, _| {}).await.map(|_| ())
                })
            },
        },
        Probe {
            name: "membres.liste",
            action: A::Read,
            run: |app, who, id| Box::pin(async move { app.members(who, id).await.map(|_| ()) }),
        },
        Probe {
            name: "membres.export",
            action: A::Read,
            run: |app, who, id| Box::pin(async move { app.export_members(who, id).await.map(|_| ()) }),
        },
        Probe {
            name: "membres.depart",
            action: A::EditMembers,
            run: |app, who, id| {
                Box::pin(async move {
                    let seq = probe_member(app, who, id, "depart").await?;
                    app.leave_member(who, id, seq, TODAY).await.map(|_| ())
                })
            },
        },
        Probe {
            name: "membres.correction",
            action: A::EditMembers,
            run: |app, who, id| {
                Box::pin(async move {
                    let seq = probe_member(app, who, id, "correction").await?;
                    let patch = MemberPatch { first_name: Some("Corrigée".into()), ..Default::default() };
                    app.edit_member(who, id, seq, patch).await.map(|_| ())
                })
            },
        },
        Probe {
            name: "membres.suppression",
            action: A::EditMembers,
            run: |app, who, id| {
                Box::pin(async move {
                    let seq = probe_member(app, who, id, "suppression").await?;
                    app.remove_member(who, id, seq).await.map(|_| ())
                })
            },
        },
        Probe {
            name: "membres.historique",
            action: A::Read,
            run: |app, who, id| Box::pin(async move { app.member_history(who, id).await.map(|_| ()) }),
        },
        Probe {
            name: "structures.ajout",
            action: A::EditStructures,
            run: |app, who, id| {
                Box::pin(async move {
                    let input = StructureInput {
                        name: "Sonde".into(),
                        kind: "MSP".into(),
                        commune: seat_of(app, id).await?,
                        finess: None,
                        joined: "01/01/2024".into(),
                    };
                    let s = app.parse_structure(&input)?;
                    app.add_structure(who, id, &s).await.map(|_| ())
                })
            },
        },
        Probe {
            name: "structures.liste",
            action: A::Read,
            run: |app, who, id| Box::pin(async move { app.structures(who, id).await.map(|_| ()) }),
        },
        Probe {
            name: "gouvernance.ajout",
            action: A::EditGovernance,
            run: |app, who, id| Box::pin(async move { app.add_mandate(who, id, &bureau(who)).await.map(|_| ()) }),
        },
        Probe {
            name: "gouvernance.fin",
            action: A::EditGovernance,
            run: |app, who, id| {
                Box::pin(async move {
                    let seq = app.add_mandate(who, id, &bureau(who)).await?;
                    app.end_mandate(who, id, seq, TODAY).await
                })
            },
        },
        Probe {
            name: "gouvernance.liste",
            action: A::Read,
            run: |app, who, id| Box::pin(async move { app.mandates(who, id, None).await.map(|_| ()) }),
        },
    ]
}
