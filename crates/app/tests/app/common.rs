//! Shared by the application's tests: fresh applications on each engine, principals, probes.

#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;

use cpts_app::{Action, App, Clock, Principal};
use cpts_domain::geo::Geo;
use cpts_engine::rules::RuleSet;
use cpts_store::Store;
use jiff::civil::{Date, date};

/// The day the tests live on (Europe/Paris).
pub const TODAY: Date = date(2026, 11, 30);

/// A fresh store per engine: SQLite, and PostgreSQL when CPTS_TEST_POSTGRES_URL is set.
pub async fn stores() -> Vec<(&'static str, Store)> {
    cpts_store::testkit::stores("app").await
}

/// One fresh application per engine, its clock stopped on `TODAY`.
pub async fn apps() -> Vec<(&'static str, App)> {
    sqlx::any::install_default_drivers();
    let rules = RuleSet::builtin().unwrap();
    let geo = Geo::builtin().unwrap();
    stores().await.into_iter().map(|(e, s)| (e, App::new(s, rules.clone(), geo.clone(), Clock::on(TODAY)))).collect()
}

pub use cpts_app::testkit::{admin, as_role, plain_cpts, signed_cpts};

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
