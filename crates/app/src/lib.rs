//! The application layer: every use case of cpts, written once. The CLI, the web pages and
//! the API are adapters: they parse their input into a typed command, call one entry point
//! here with the acting principal, and render the typed result. Each use case asks the policy
//! (`policy::POLICY`) before acting, reads lists filtered by scope in the database, and every
//! write leaves its audit row in its own transaction (the store does it, given a `Stamp`).
//!
//! ```text
//! engine, domain (pure) → store → app (this) → cli | web | api
//! ```

pub mod accounts;
pub mod audit;
pub mod backup;
mod cache;
pub mod clock;
pub mod contracts;
pub mod dashboard;
mod error;
pub mod funding;
pub mod identities;
pub mod ledger;
pub mod lifecycle;
pub mod members;
pub mod national;
pub mod overview;
pub mod policy;
pub mod registry;
pub mod reports;
pub mod simulation;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod tokens;
pub mod values;

pub use clock::Clock;
pub use error::{AppError, FieldError};
pub use policy::{Action, Grant, Principal, Role, Scope};

use std::collections::BTreeSet;

use cpts_domain::geo::Geo;
use cpts_domain::ids::{CptsId, InseeCode};
use cpts_engine::rules::RuleSet;
use cpts_store::{Areas, Stamp, Store};

pub type Result<T> = std::result::Result<T, AppError>;

/// The application: the store, the rules in force, the geographic reference and the clock.
pub struct App {
    pub store: Store,
    pub rules: RuleSet,
    pub geo: Geo,
    pub clock: Clock,
    /// Scope-wide read models kept until the data changes (shared by the copies on other clocks).
    reads: std::sync::Arc<cache::ReadCache>,
}

impl App {
    pub fn new(store: Store, rules: RuleSet, geo: Geo, clock: Clock) -> App {
        App { store, rules, geo, clock, reads: Default::default() }
    }

    /// Open the store at `url` with the built-in geographic reference and the system clock.
    pub async fn open(url: &str, rules: RuleSet) -> Result<App> {
        App::open_with(url, rules, cpts_store::Reads::Repeated).await
    }

    /// `open`, for a process that reads the store as `reads` says (a one-shot command: `Once`).
    pub async fn open_with(url: &str, rules: RuleSet, reads: cpts_store::Reads) -> Result<App> {
        let store = Store::open_with(url, reads).await?;
        let geo = Geo::builtin().map_err(AppError::Internal)?;
        let app = App::new(store, rules, geo, Clock::system());
        app.backfill_areas().await?;
        Ok(app)
    }

    /// The same application on another clock, sharing the store: a scenario dated on a fixed
    /// day (the demo, a benchmark) decides and stamps as on that day, without changing the
    /// clock of the application it comes from. Drop it rather than close it: closing a store
    /// closes it for every copy.
    pub fn with_clock(&self, clock: Clock) -> App {
        App { store: self.store.clone(), rules: self.rules.clone(), geo: self.geo.clone(), clock, reads: self.reads.clone() }
    }

    pub async fn close(self) {
        self.store.close().await;
    }

    /// The départements and régions of a seat and a territory.
    pub fn areas(&self, seat: Option<&InseeCode>, communes: &BTreeSet<InseeCode>) -> Areas {
        areas_of(&self.geo, seat, communes)
    }

    /// Stores written before scopes existed have CPTS without areas: compute them once.
    async fn backfill_areas(&self) -> Result<()> {
        let all = self.store.list_cpts().await?;
        let known = self.store.areas_in(&cpts_store::Visible::everything()).await?;
        let missing: Vec<(CptsId, Areas)> = all
            .iter()
            .filter(|r| !known.contains_key(r.id.as_str()))
            .map(|r| (r.id.clone(), self.areas(r.identity.seat.as_ref(), &r.territory.communes)))
            .filter(|(_, a)| !a.departements.is_empty())
            .collect();
        if !missing.is_empty() {
            let system = Principal::local_operator("mise-a-jour-perimetres");
            let stamp = self.stamp(&system, Role::AdminNational, Action::EditTerritory);
            self.store.set_areas(&stamp, &missing).await?;
        }
        Ok(())
    }

    /// The stamp of a write allowed under `role`.
    pub fn stamp(&self, p: &Principal, role: Role, action: Action) -> Stamp {
        Stamp {
            login: p.login.clone(),
            role: role.code().into(),
            action: action.code().into(),
            batch: p.request.clone(),
            at: self.clock.now(),
        }
    }

    /// Ask the policy whether `p` may take `action` on the CPTS `id`; the stamp to write with
    /// if so. A CPTS out of the principal's read scope is « introuvable », as if it did not
    /// exist (no leak of its existence); in scope but not allowed, « non autorisé ».
    pub async fn authorize(&self, p: &Principal, action: Action, id: &CptsId) -> Result<Stamp> {
        let areas = self.store.areas(id).await?;
        self.authorize_in(p, action, id, &areas)
    }

    /// `authorize` with the CPTS's areas already read.
    pub(crate) fn authorize_in(&self, p: &Principal, action: Action, id: &CptsId, areas: &Areas) -> Result<Stamp> {
        if let Some(role) = p.allowed_on(action, id, areas) {
            return Ok(self.stamp(p, role, action));
        }
        if p.allowed_on(Action::Read, id, areas).is_none() {
            // The same answer as for an unknown CPTS.
            return Err(AppError::NotFound(format!("CPTS « {id} » introuvable")));
        }
        Err(AppError::forbidden(p, action))
    }

    /// What `p` may do on the CPTS `id`: for adapters, to show only the actions allowed (the
    /// use cases still ask the policy themselves).
    pub async fn rights(&self, p: &Principal, id: &CptsId) -> Result<Rights> {
        Ok(Rights { principal: p.clone(), id: id.clone(), areas: self.store.areas(id).await? })
    }

    /// As `authorize`, for a CPTS that does not exist yet, placed in these areas.
    pub fn authorize_new(&self, p: &Principal, action: Action, id: &CptsId, areas: &Areas) -> Result<Stamp> {
        p.allowed_on(action, id, areas).map(|role| self.stamp(p, role, action)).ok_or_else(|| AppError::forbidden(p, action))
    }

    /// Ask the policy for an act allowed under any of the principal's grants, wherever it
    /// applies (one's own tokens, a computation on a contract sent).
    pub fn authorize_anywhere(&self, p: &Principal, action: Action) -> Result<Stamp> {
        p.allowed_somewhere(action).map(|role| self.stamp(p, role, action)).ok_or_else(|| AppError::forbidden(p, action))
    }

    /// Ask the policy for an act that concerns no CPTS in particular (accounts, the whole log).
    pub fn authorize_national(&self, p: &Principal, action: Action) -> Result<Stamp> {
        p.allowed_nationally(action).map(|role| self.stamp(p, role, action)).ok_or_else(|| AppError::forbidden(p, action))
    }
}

/// A principal's rights on one CPTS.
#[derive(Clone, Debug)]
pub struct Rights {
    principal: Principal,
    id: CptsId,
    areas: Areas,
}

impl Rights {
    pub fn may(&self, action: Action) -> bool {
        self.role(action).is_some()
    }

    /// The role under which `action` is allowed (the most local grant), if it is.
    pub fn role(&self, action: Action) -> Option<Role> {
        self.principal.allowed_on(action, &self.id, &self.areas)
    }
}

/// The départements and régions of a seat and a territory.
pub fn areas_of(geo: &Geo, seat: Option<&InseeCode>, communes: &BTreeSet<InseeCode>) -> Areas {
    let mut a = Areas::default();
    for c in seat.into_iter().chain(communes).filter_map(|c| geo.commune(c)) {
        a.departements.insert(c.departement.clone());
        a.regions.insert(c.region.clone());
    }
    a
}

/// The policy as a Markdown table (its copy in docs/permissions.md).
pub fn policy_markdown() -> String {
    let mut out = String::from("| Action | Code (audit) |");
    for r in Role::ALL {
        out.push_str(&format!(" {} |", r.label()));
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---|".repeat(Role::ALL.len()));
    out.push('\n');
    for (a, roles) in policy::POLICY {
        out.push_str(&format!("| {} | `{}` |", a.label(), a.code()));
        for r in Role::ALL {
            out.push_str(if roles.contains(&r) { " oui |" } else { " — |" });
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use cpts_domain::lifecycle::{Actor, Step};
    use jiff::civil::date;

    #[tokio::test]
    async fn a_copy_on_another_clock_decides_and_stamps_on_its_day_in_the_same_store() {
        let file = std::env::temp_dir().join(format!("cpts-app-clock-{}.sqlite", std::process::id()));
        let _ = std::fs::remove_file(&file);
        let mut app = App::open(&file.display().to_string(), RuleSet::builtin().unwrap()).await.unwrap();
        app.clock = Clock::on(date(2026, 3, 2));
        let demo = app.with_clock(Clock::on(date(2021, 10, 25)));
        let who = Principal::local_operator("test-horloge");
        let new =
            registry::NewCpts { id: None, name: "CPTS Horloge".into(), legal_form: None, ids: Default::default() };
        let id = demo.create_cpts(&who, new).await.unwrap().id;
        // Decided as on the copy's day: a step dated after it is « dans le futur ».
        let by = |on| lifecycle::StepBy { on, actor: Actor::Cpts, by: "porteurs".into(), document: None, note: None };
        assert!(demo.record_step(&who, &id, Step::Declare, &by(date(2021, 11, 2))).await.is_err());
        demo.record_step(&who, &id, Step::Declare, &by(date(2021, 10, 1))).await.unwrap();
        // The original sees it (one store) and keeps its clock; the audit says the copy's instant.
        assert_eq!(app.lifecycle(&who, &id, None).await.unwrap().history.len(), 1);
        assert_eq!(app.clock.today(), date(2026, 3, 2));
        let q = audit::AuditQuery { cpts: Some(id), ..Default::default() };
        let rows = app.audit(&who, &q).await.unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r.at == "2021-10-25T10:00:00Z"), "{rows:?}");
        drop(demo);
        app.close().await;
        let _ = std::fs::remove_file(&file);
    }
}
