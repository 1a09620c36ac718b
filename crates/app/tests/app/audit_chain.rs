//! The audit log's hash chain (`cpts audit verify`) and backups (`cpts backup`/`restore`), on
//! both engines: tampering bypassing the triggers is named at its row, concurrent writers keep
//! one chain, a backup restores the same data and the same chain, on either engine.

use std::sync::Arc;

use cpts_app::{App, AppError, Role, Scope};
use cpts_app::accounts::NewAccount;
use cpts_domain::audit::Break;

use crate::common::{admin, apps, as_role, signed_cpts};

async fn account(app: &App, login: &str) {
    let new = NewAccount { login: login.into(), name: login.to_uppercase(), password: None, grants: vec![] };
    app.add_account(&admin(), new).await.unwrap();
}

/// The ids of the audit rows, in order.
async fn ids(app: &App) -> Vec<i64> {
    app.store.audit_chain_page(0, 1_000_000).await.unwrap().iter().map(|r| r.id).collect()
}

/// The append-only triggers dropped, as someone bypassing them would.
async fn drop_triggers(engine: &str, app: &App) {
    if engine == "postgres" {
        app.store.execute_raw_for_tests("ALTER TABLE audit DISABLE TRIGGER audit_no_change").await.unwrap();
    } else {
        app.store.execute_raw_for_tests("DROP TRIGGER audit_no_update").await.unwrap();
        app.store.execute_raw_for_tests("DROP TRIGGER audit_no_delete").await.unwrap();
    }
}

#[tokio::test]
async fn an_untouched_log_verifies_and_its_final_hash_is_the_heads() {
    for (engine, app) in apps().await {
        let empty = app.verify_audit(&admin()).await.unwrap();
        assert_eq!((empty.rows, empty.broken), (0, None), "[{engine}]");
        for l in ["a", "b", "c"] {
            account(&app, l).await;
        }
        signed_cpts(&app, "cpts-chaine", "29019", &["29019"]).await;
        let n = ids(&app).await.len();
        let r = app.verify_audit(&admin()).await.unwrap();
        assert_eq!((r.rows, r.broken), (u64::try_from(n).unwrap(), None), "[{engine}]");
        assert!(n > 10, "[{engine}] {n}");
        assert_eq!(r.last_hash, app.store.audit_head().await.unwrap().last_hash, "[{engine}]");
        // Only national: a coordinator or an ARS agent is refused.
        let coord = as_role(Role::Coordinateur, Scope::Cpts("cpts-chaine".parse().unwrap()));
        assert!(matches!(app.verify_audit(&coord).await, Err(AppError::Forbidden(_))), "[{engine}]");
        let ars = as_role(Role::AgentArs, Scope::Region("53".into()));
        assert!(matches!(app.verify_audit(&ars).await, Err(AppError::Forbidden(_))), "[{engine}]");
    }
}

/// Each tampering, on a fresh log of five rows (ids `i[0..5]`), and the break expected.
#[tokio::test]
async fn edits_and_deletions_bypassing_the_triggers_are_named_at_the_first_row_that_does_not_match() {
    type Expect = fn(&[i64]) -> Break;
    let cases: [(&'static str, &'static str, Expect); 8] = [
        ("milieu modifié", "UPDATE audit SET login = 'x' WHERE id = (SELECT id FROM audit ORDER BY id LIMIT 1 OFFSET 2)", |i| Break::Modified { id: i[2] }),
        ("première modifiée", "UPDATE audit SET after_json = '{}' WHERE id = (SELECT MIN(id) FROM audit)", |i| Break::Modified { id: i[0] }),
        ("dernière modifiée", "UPDATE audit SET cpts_id = 'cpts-x' WHERE id = (SELECT MAX(id) FROM audit)", |i| Break::Modified { id: i[4] }),
        ("empreinte modifiée", "UPDATE audit SET prev_hash = hash WHERE id = (SELECT id FROM audit ORDER BY id LIMIT 1 OFFSET 3)", |i| Break::Modified { id: i[3] }),
        ("milieu supprimé", "DELETE FROM audit WHERE id = (SELECT id FROM audit ORDER BY id LIMIT 1 OFFSET 2)", |i| Break::DeletedBefore { id: i[3] }),
        ("première supprimée", "DELETE FROM audit WHERE id = (SELECT MIN(id) FROM audit)", |i| Break::DeletedBefore { id: i[1] }),
        ("dernière supprimée", "DELETE FROM audit WHERE id = (SELECT MAX(id) FROM audit)", |i| Break::DeletedAfter { after: i[3] }),
        ("tout supprimé", "DELETE FROM audit", |_| Break::DeletedAfter { after: 0 }),
    ];
    for (what, sql, expect) in cases {
        for (engine, app) in apps().await {
            for l in ["a", "b", "c", "d", "e"] {
                account(&app, l).await;
            }
            let i = ids(&app).await;
            assert_eq!(i.len(), 5, "[{engine}]");
            assert_eq!(app.verify_audit(&admin()).await.unwrap().broken, None, "[{engine}] {what}");
            drop_triggers(engine, &app).await;
            app.store.execute_raw_for_tests(sql).await.unwrap();
            let r = app.verify_audit(&admin()).await.unwrap();
            assert_eq!(r.broken, Some(expect(&i)), "[{engine}] {what}");
            // Later writes chain onto the head: the break stays where it was (the last rows
            // deleted: the new row chains onto a row no longer there).
            account(&app, "f").await;
            let after = app.verify_audit(&admin()).await.unwrap().broken;
            let new = *ids(&app).await.last().unwrap();
            let want = match expect(&i) {
                Break::DeletedAfter { .. } => Break::DeletedBefore { id: new },
                b => b,
            };
            assert_eq!(after, Some(want), "[{engine}] {what}, then a write");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_audited_writes_keep_one_chain() {
    for (engine, app) in apps().await {
        let app = Arc::new(app);
        let barrier = Arc::new(tokio::sync::Barrier::new(8));
        let mut tasks = Vec::new();
        for w in 0..8 {
            let (app, barrier) = (Arc::clone(&app), Arc::clone(&barrier));
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                for k in 0..12 {
                    account(&app, &format!("w{w}-{k}")).await;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let r = app.verify_audit(&admin()).await.unwrap();
        assert_eq!((r.rows, r.broken), (96, None), "[{engine}]");
        // One chain: every prev_hash is the previous row's hash, none shared.
        let rows = app.store.audit_chain_page(0, 1000).await.unwrap();
        let prevs: std::collections::BTreeSet<_> = rows.iter().map(|r| r.prev_hash.clone()).collect();
        assert_eq!(prevs.len(), 96, "[{engine}]");
    }
}

/// What a store shows of its data: CPTS, ledgers line by line, the audit rows as stored.
async fn picture(app: &App) -> (Vec<String>, Vec<String>, Vec<cpts_domain::audit::ChainRow>) {
    let cpts: Vec<String> = app.store.list_cpts().await.unwrap().iter().map(|c| format!("{c:?}")).collect();
    let mut ledgers = Vec::new();
    for c in app.store.list_cpts().await.unwrap() {
        let v = app.ledger(&admin(), &c.id).await.unwrap();
        ledgers.push(format!("{:?} {:?} {:?}", v.lines, v.payments, v.agreements));
    }
    (cpts, ledgers, app.store.audit_chain_page(0, 1_000_000).await.unwrap())
}

async fn backup(app: &App) -> Vec<u8> {
    let mut out = Vec::new();
    app.backup(&admin(), &mut out).await.unwrap();
    out
}

#[tokio::test]
async fn a_backup_restores_the_same_data_and_chain_on_either_engine_and_the_restore_is_audited_after_it() {
    for (from, src) in apps().await {
        signed_cpts(&src, "cpts-sauvegarde", "29019", &["29019", "29232"]).await;
        account(&src, "agent").await;
        let file = backup(&src).await;
        let want = picture(&src).await;
        let head = src.store.audit_head().await.unwrap();
        for (to, dst) in apps().await {
            let r = dst.restore(&admin(), file.as_slice(), false).await.unwrap();
            assert!(r.rows > 50, "[{from} → {to}] {r:?}");
            let (cpts, ledgers, audit) = picture(&dst).await;
            assert_eq!((&cpts, &ledgers), (&want.0, &want.1), "[{from} → {to}]");
            // The restored rows as they were, then the restore's own row chained on them.
            assert_eq!(audit[..want.2.len()], want.2[..], "[{from} → {to}]");
            assert_eq!(audit.len(), want.2.len() + 1, "[{from} → {to}]");
            assert_eq!(audit.last().unwrap().action, "restauration", "[{from} → {to}]");
            assert_eq!(audit.last().unwrap().prev_hash.as_deref(), Some(head.last_hash.as_str()), "[{from} → {to}]");
            let v = dst.verify_audit(&admin()).await.unwrap();
            assert_eq!((v.rows, v.broken), (u64::try_from(audit.len()).unwrap(), None), "[{from} → {to}]");
            assert!(dst.check_ledgers(&admin()).await.unwrap().differences.is_empty(), "[{from} → {to}]");
            // Writes go on after the restore, on the restored ids and chain.
            account(&dst, "apres").await;
            assert_eq!(dst.verify_audit(&admin()).await.unwrap().broken, None, "[{from} → {to}]");
            assert!(ids(&dst).await.windows(2).all(|w| w[0] < w[1]), "[{from} → {to}]");

            // A store that is not empty: refused, unless replacing.
            let refused = dst.restore(&admin(), file.as_slice(), false).await.unwrap_err();
            assert!(refused.to_string().contains("--remplacer"), "[{from} → {to}] {refused}");
            dst.restore(&admin(), file.as_slice(), true).await.unwrap();
            assert_eq!(picture(&dst).await.1, want.1, "[{from} → {to}]");
            assert_eq!(dst.verify_audit(&admin()).await.unwrap().broken, None, "[{from} → {to}]");
        }
    }
}

#[tokio::test]
async fn a_truncated_corrupted_or_newer_backup_is_refused_and_the_store_left_as_it_was() {
    for (engine, src) in apps().await {
        signed_cpts(&src, "cpts-source", "29019", &["29019"]).await;
        let file = backup(&src).await;
        let text = String::from_utf8(file.clone()).unwrap();
        let schema = format!("\"schema\":{}", src.store.schema_version().await.unwrap());
        assert!(text.contains(&schema), "[{engine}] {schema}");
        let mut bad: Vec<(&str, Vec<u8>)> = vec![
            ("tronquée au milieu", file[..file.len() / 2].to_vec()),
            ("sans sa fin", text.lines().take(text.lines().count() - 1).collect::<Vec<_>>().join("\n").into_bytes()),
            ("un montant changé", text.replacen("\"29019\"", "\"29020\"", 1).into_bytes()),
            ("vide", Vec::new()),
            ("autre fichier", b"bonjour\n".to_vec()),
            ("schéma futur", text.replacen(&schema, "\"schema\":99", 1).into_bytes()),
        ];
        bad.push(("ligne en trop", [file.clone(), b"[1]\n".to_vec()].concat()));
        for (_, dst) in apps().await {
            signed_cpts(&dst, "cpts-cible", "75056", &["75056"]).await;
            let before = picture(&dst).await;
            for (what, content) in &bad {
                for replace in [false, true] {
                    let e = dst.restore(&admin(), content.as_slice(), replace).await.unwrap_err().to_string();
                    assert!(e.contains("la base n'a pas été modifiée"), "[{engine}] {what}: {e}");
                    if *what == "schéma futur" {
                        assert!(e.contains("plus récente"), "[{engine}] {e}");
                    }
                }
                assert_eq!(picture(&dst).await, before, "[{engine}] {what}");
            }
            assert_eq!(dst.verify_audit(&admin()).await.unwrap().broken, None, "[{engine}]");
        }
    }
}

/// A table added by a later migration must be saved, or said not to be.
#[tokio::test]
async fn every_table_is_saved_or_said_not_to_be() {
    for (engine, app) in apps().await {
        let mut all: Vec<String> = app.store.table_names().await.unwrap();
        all.sort();
        let mut known: Vec<String> = cpts_store::TABLES.iter().chain(cpts_store::NOT_SAVED).map(|t| t.to_string()).collect();
        known.sort();
        assert_eq!(all, known, "[{engine}]");
    }
}
