//! For the tests of the crates above the store (feature `testkit`): one fresh store per engine,
//! SQLite always, PostgreSQL when `CPTS_TEST_POSTGRES_URL` (an admin URL) is set, which CI
//! requires. Each call gets new databases, named after `prefix`, the process and a counter.

#![allow(clippy::panic, reason = "test support: a store that cannot be made ends the test")]

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::Store;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub async fn stores(prefix: &str) -> Vec<(&'static str, Store)> {
    stores_with_urls(prefix).await.into_iter().map(|(engine, _, store)| (engine, store)).collect()
}

/// As `stores`, with each store's URL (to open it again).
pub async fn stores_with_urls(prefix: &str) -> Vec<(&'static str, String, Store)> {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("cpts-{prefix}-{}-{n}", std::process::id()));
    let opened = |r: crate::Result<Store>, what: &str| r.unwrap_or_else(|e| panic!("{what} : {e}"));
    // A process id is reused in time: what an earlier run left under this name goes first.
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("{} : {e}", dir.display());
    }
    let sqlite = dir.join("t.sqlite").display().to_string();
    let mut out = vec![("sqlite", sqlite.clone(), opened(Store::open(&sqlite).await, &sqlite))];
    match std::env::var("CPTS_TEST_POSTGRES_URL") {
        Ok(admin) => {
            let db = format!("cpts_{}_{}_{n}", prefix.replace('-', "_"), std::process::id());
            sqlx::any::install_default_drivers();
            let setup = async {
                let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db}"))).execute(&mut conn).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}"))).execute(&mut conn).await?;
                Ok::<_, sqlx::Error>(())
            };
            if let Err(e) = setup.await {
                panic!("PostgreSQL ({}) : {e}", crate::masked(&admin));
            }
            let Some((base, _)) = admin.rsplit_once('/') else { panic!("CPTS_TEST_POSTGRES_URL sans base") };
            let url = format!("{base}/{db}");
            out.push(("postgres", url.clone(), opened(Store::open(&url).await, &db)));
        }
        Err(_) => {
            if std::env::var("CI").is_ok() {
                panic!("CI=true mais CPTS_TEST_POSTGRES_URL n'est pas défini : PostgreSQL est requis");
            }
        }
    }
    out
}
