//! Shared by the application's tests: fresh applications on each engine, principals, probes.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};

use cpts_app::{Action, App, Clock, Grant, Principal, Role, Scope};
use cpts_domain::geo::Geo;
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
    app.audit(&admin(), &cpts_app::audit::AuditQuery { limit: Some(1_000_000), ..Default::default() }).await.unwrap().len()
}

pub type Fut<'a> = Pin<Box<dyn Future<Output = cpts_app::Result<()>> + 'a>>;

/// One use case, run by `who` on the CPTS `target` of the policy fixture (see `policy.rs`):
/// the policy matrix walks every probe × role × (in scope, out of scope).
pub struct Probe {
    pub name: &'static str,
    pub action: Action,
    pub run: for<'a> fn(&'a App, &'a Principal, &'a cpts_domain::ids::CptsId) -> Fut<'a>,
}
