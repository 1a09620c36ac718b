//! Shared by the application's tests: fresh applications on each engine, principals, probes.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};

use cpts_app::contracts::SignContract;
use cpts_app::lifecycle::StepBy;
use cpts_app::registry::{IdsInput, NewCpts, SetTerritory};
use cpts_app::{Action, App, Clock, Grant, Principal, Role, Scope};
use cpts_domain::geo::Geo;
use cpts_domain::ids::CptsId;
use cpts_domain::lifecycle::{Actor, Step};
use cpts_engine::rules::RuleSet;
use cpts_store::Store;
use jiff::civil::{Date, date};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The day the tests live on (Europe/Paris).
pub const TODAY: Date = date(2026, 11, 30);

/// A fresh store per engine: SQLite, and PostgreSQL when CPTS_TEST_POSTGRES_URL is set.
pub async fn stores() -> Vec<(&'static str, Store)> {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("cpts-app-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut out = vec![("sqlite", Store::open(dir.join("t.sqlite").to_str().unwrap()).await.unwrap())];
    match std::env::var("CPTS_TEST_POSTGRES_URL") {
        Ok(admin) => {
            let db = format!("cpts_app_{}_{n}", std::process::id());
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db}"))).execute(&mut conn).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}"))).execute(&mut conn).await.unwrap();
            let url = match admin.rsplit_once('/') {
                Some((base, _)) => format!("{base}/{db}"),
                None => panic!("CPTS_TEST_POSTGRES_URL sans base"),
            };
            out.push(("postgres", Store::open(&url).await.unwrap()));
        }
        Err(_) => assert!(
            std::env::var("CI").is_err(),
            "CI=true mais CPTS_TEST_POSTGRES_URL n'est pas défini : PostgreSQL est requis"
        ),
    }
    out
}

/// One fresh application per engine, its clock stopped on `TODAY`.
pub async fn apps() -> Vec<(&'static str, App)> {
    sqlx::any::install_default_drivers();
    let rules = RuleSet::builtin().unwrap();
    let geo = Geo::builtin().unwrap();
    stores().await.into_iter().map(|(e, s)| (e, App::new(s, rules.clone(), geo.clone(), Clock::on(TODAY)))).collect()
}

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

/// How many rows the audit log holds (for « nothing written »).
pub async fn audit_rows(app: &App) -> usize {
    app.audit(&admin(), &cpts_app::audit::AuditQuery { limit: Some(1_000_000), ..Default::default() })
        .await
        .unwrap()
        .len()
}

pub type Fut<'a> = Pin<Box<dyn Future<Output = cpts_app::Result<()>> + 'a>>;

/// One use case, run by `who` on the CPTS `target` of the policy fixture (see `policy.rs`):
/// the policy matrix walks every probe × role × (in scope, out of scope).
pub struct Probe {
    pub name: &'static str,
    pub action: Action,
    pub run: for<'a> fn(&'a App, &'a Principal, &'a cpts_domain::ids::CptsId) -> Fut<'a>,
}

pub type ListFut<'a> = Pin<Box<dyn Future<Output = cpts_app::Result<Vec<String>>> + 'a>>;

/// A list over the principal's whole scope (no target to refuse): the ids of the CPTS its rows
/// belong to ("" for a row of no CPTS, such as an account's creation in the audit log).
pub struct ListProbe {
    pub name: &'static str,
    /// The right the rows need: a principal without it must get no row at all.
    pub action: Action,
    pub run: for<'a> fn(&'a App, &'a Principal) -> ListFut<'a>,
}

/// The golden annex of the report tests (tier 1, signed 1 January 2021).
pub const GOLDEN_ANNEX: &str = include_str!("../../../../tests/reports/golden-annex.yaml");

pub fn step_by(actor: Actor, on: Date) -> StepBy {
    StepBy { on, actor, by: "Test".into(), document: None, note: None }
}

/// A CPTS built through the use cases, as the national admin: created with its seat, its
/// territory set, its lifecycle up to the projet de santé validated, its statutes filed and the
/// golden contract signed on 1 January 2021 (its ACI ledger lines opened).
pub async fn signed_cpts(app: &App, id: &str, seat: &str, communes: &[&str]) -> CptsId {
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
    let sign = SignContract {
        id: r.id.clone(),
        annex: GOLDEN_ANNEX.into(),
        by: step_by(Actor::Cpam, date(2021, 1, 1)),
        cosigner: Actor::Ars,
    };
    app.sign_contract(&admin(), sign).await.unwrap();
    r.id
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

/// A CPTS's identity as the tests create it: « CPTS {id} », an association, seated at `seat`.
pub fn identity(id: &str, seat: Option<&str>) -> cpts_domain::registry::Identity {
    cpts_domain::registry::Identity {
        name: format!("CPTS {id}"),
        legal_form: "association loi 1901".into(),
        rna: None,
        siret: None,
        finess: None,
        seat: seat.map(|s| s.parse().unwrap()),
    }
}
