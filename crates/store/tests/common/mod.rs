//! Shared by the store's tests: one fresh database per backend (SQLite, and PostgreSQL when
//! CPTS_TEST_POSTGRES_URL is set; required with CI=true).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

use cpts_domain::lifecycle::{Actor, Event, Step};
use cpts_domain::registry::Identity;
use cpts_store::Store;
use jiff::civil::Date;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// One fresh database per backend.
pub async fn stores() -> Vec<(&'static str, Store)> {
    stores_with_urls().await.into_iter().map(|(engine, _, store)| (engine, store)).collect()
}

/// One fresh database per backend, with its URL (to open it again).
pub async fn stores_with_urls() -> Vec<(&'static str, String, Store)> {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("cpts-store-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("t.sqlite").to_str().unwrap().to_string();
    let mut out = vec![("sqlite", file.clone(), Store::open(&file).await.unwrap())];
    match std::env::var("CPTS_TEST_POSTGRES_URL") {
        Ok(admin) => {
            let db = format!("cpts_test_{}_{n}", std::process::id());
            sqlx::any::install_default_drivers();
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db}"))).execute(&mut conn).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}"))).execute(&mut conn).await.unwrap();
            let url = match admin.rsplit_once('/') {
                Some((base, _)) => format!("{base}/{db}"),
                None => panic!("CPTS_TEST_POSTGRES_URL sans base"),
            };
            out.push(("postgres", url.clone(), Store::open(&url).await.unwrap()));
        }
        Err(_) => assert!(
            std::env::var("CI").is_err(),
            "CI=true mais CPTS_TEST_POSTGRES_URL n'est pas défini : PostgreSQL est requis"
        ),
    }
    out
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
