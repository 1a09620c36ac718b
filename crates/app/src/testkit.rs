//! For the tests of the crates above the application (feature `testkit`): principals and CPTS
//! built through the use cases, as the national admin.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test support: a failed setup ends the test")]

use std::collections::BTreeSet;

use cpts_domain::ids::CptsId;
use cpts_domain::lifecycle::{Actor, Step};
use jiff::civil::{Date, date};

use crate::contracts::SignContract;
use crate::lifecycle::StepBy;
use crate::registry::{IdsInput, NewCpts, SetTerritory};
use crate::{App, Grant, Principal, Role, Scope};

/// A principal with one grant.
pub fn as_role(role: Role, scope: Scope) -> Principal {
    Principal {
        login: format!("{}-test", role.code()),
        name: format!("Test {}", role.label()),
        grants: BTreeSet::from([Grant { role, scope }]),
        request: "test".into(),
    }
}

pub fn admin() -> Principal {
    as_role(Role::AdminNational, Scope::National)
}

/// The golden annex of the report tests (tier 1, signed 1 January 2021).
pub const GOLDEN_ANNEX: &str = include_str!("../../../tests/reports/golden-annex.yaml");

pub fn step_by(actor: Actor, on: Date) -> StepBy {
    StepBy { on, actor, by: "Test".into(), document: None, note: None }
}

/// A CPTS built through the use cases, as the national admin: created with its seat, its
/// territory set, its lifecycle up to the projet de santé validated (1 October 2020) and its
/// statutes filed: ready to sign.
pub async fn validated_cpts(app: &App, id: &str, seat: &str, communes: &[&str]) -> CptsId {
    let ids = app.parse_ids(&IdsInput { seat: Some(seat.into()), ..Default::default() }).unwrap();
    let new = NewCpts { id: Some(id.parse().unwrap()), name: format!("CPTS {id}"), legal_form: None, ids };
    let r = app.create_cpts(&admin(), new).await.unwrap();
    let communes: Vec<String> = communes.iter().map(|c| c.to_string()).collect();
    let territory = app.parse_territory(&communes).unwrap();
    let set = SetTerritory { id: r.id.clone(), version: r.territory_version, territory };
    app.set_territory(&admin(), set).await.unwrap();
    let steps = [
        (Step::Declare, Actor::Cpts, date(2020, 1, 10)),
        (Step::Formalise, Actor::Cpts, date(2020, 2, 1)),
        (Step::ValidateLetter, Actor::Ars, date(2020, 3, 1)),
        (Step::StartPhase1, Actor::Ars, date(2020, 3, 2)),
        (Step::SubmitProject, Actor::Cpts, date(2020, 9, 1)),
        (Step::ValidateProject, Actor::Ars, date(2020, 10, 1)),
    ];
    for (step, actor, on) in steps {
        app.record_step(&admin(), &r.id, step, &step_by(actor, on)).await.unwrap();
    }
    app.set_statutes(&admin(), &r.id, date(2020, 11, 1), Some("statuts")).await.unwrap();
    r.id
}

/// As `validated_cpts`, and the golden contract signed on 1 January 2021 (its ACI ledger
/// lines opened).
pub async fn signed_cpts(app: &App, id: &str, seat: &str, communes: &[&str]) -> CptsId {
    let id = validated_cpts(app, id, seat, communes).await;
    let sign = SignContract {
        id: id.clone(),
        annex: GOLDEN_ANNEX.into(),
        by: step_by(Actor::Cpam, date(2021, 1, 1)),
        cosigner: Actor::Ars,
    };
    app.sign_contract(&admin(), sign).await.unwrap();
    id
}

/// A CPTS with no seat, its territory only (for overlaps).
pub async fn plain_cpts(app: &App, id: &str, communes: &[&str]) -> CptsId {
    let new = NewCpts {
        id: Some(id.parse().unwrap()),
        name: format!("CPTS {id}"),
        legal_form: None,
        ids: Default::default(),
    };
    let r = app.create_cpts(&admin(), new).await.unwrap();
    let communes: Vec<String> = communes.iter().map(|c| c.to_string()).collect();
    let territory = app.parse_territory(&communes).unwrap();
    app.set_territory(&admin(), SetTerritory { id: r.id.clone(), version: r.territory_version, territory })
        .await
        .unwrap();
    r.id
}

