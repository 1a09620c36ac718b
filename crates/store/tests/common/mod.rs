//! Shared by the store's tests: one fresh database per backend (SQLite, and PostgreSQL when
//! CPTS_TEST_POSTGRES_URL is set; required with CI=true).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use cpts_domain::lifecycle::{Actor, Event, Step};
use cpts_domain::registry::Identity;
use cpts_store::Store;
use jiff::civil::Date;

/// One fresh database per backend.
pub async fn stores() -> Vec<(&'static str, Store)> {
    cpts_store::testkit::stores("store").await
}

/// One fresh database per backend, with its URL (to open it again).
pub async fn stores_with_urls() -> Vec<(&'static str, String, Store)> {
    cpts_store::testkit::stores_with_urls("store").await
}

pub fn identity(name: &str) -> Identity {
    Identity {
        name: name.into(),
        legal_form: "association loi 1901".into(),
        rna: None,
        siret: None,
        finess: None,
        seat: Some("75118".parse().unwrap()),
    }
}

/// A lifecycle event by `actor`, with the step's signatories.
pub fn ev(step: Step, on: Date, actor: Actor) -> Event {
    Event {
        step,
        date: on,
        actor,
        by: "test".into(),
        document: Some("réf.".into()),
        note: None,
        signatories: step.signatories().to_vec(),
    }
}

/// Who writes in the tests (the audit log needs one).
pub fn stamp() -> cpts_store::Stamp {
    cpts_store::Stamp {
        login: "test".into(),
        role: "admin-national".into(),
        action: "test".into(),
        batch: "test".into(),
        at: jiff::Timestamp::now(),
    }
}

/// Paris 18e: département 75, région 11.
pub fn areas() -> cpts_store::Areas {
    cpts_store::Areas {
        departements: ["75".to_string()].into(),
        regions: ["11".to_string()].into(),
    }
}
