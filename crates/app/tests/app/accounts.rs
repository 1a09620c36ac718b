use cpts_app::accounts::NewAccount;
use cpts_app::{AppError, Role, Scope};

use crate::common::{admin, apps, as_role, audit_rows};

#[tokio::test]
async fn accounts_are_managed_by_the_national_admin_only_and_passwords_are_argon2id() {
    for (engine, app) in apps().await {
        let a = app
            .add_account(
                &admin(),
                NewAccount {
                    login: "marie".into(),
                    name: "Marie Dupont".into(),
                    password: Some("un mot de passe assez long".into()),
                    grants: vec![app.parse_grant("agent-cpam", Some("29")).await.unwrap()],
                },
            )
            .await
            .unwrap();
        assert!(a.has_password, "[{engine}]");
        let stored = app.store.account("marie").await.unwrap().unwrap();
        assert!(stored.password_hash.unwrap().starts_with("$argon2id$"), "[{engine}]");
        // Log in: right password, wrong one, unknown login, disabled account.
        let p = app.authenticate("marie", "un mot de passe assez long", "r1").await.unwrap();
        assert_eq!(p.grants.iter().next().unwrap().scope, Scope::Departement("29".into()), "[{engine}]");
        assert!(matches!(app.authenticate("marie", "faux", "r2").await, Err(AppError::Forbidden(_))), "[{engine}]");
        assert!(matches!(app.authenticate("personne", "faux", "r3").await, Err(AppError::Forbidden(_))), "[{engine}]");
        // Too short a password is refused, nothing written.
        let before = audit_rows(&app).await;
        assert!(matches!(app.set_password(&admin(), "marie", "court").await, Err(AppError::Invalid(_))), "[{engine}]");
        assert_eq!(audit_rows(&app).await, before, "[{engine}]");
        // Nobody but the national admin manages accounts; nothing written when refused.
        for role in [Role::Coordinateur, Role::AgentCpam, Role::AgentArs, Role::Membre] {
            let who = as_role(role, Scope::Departement("29".into()));
            assert!(matches!(app.set_active(&who, "marie", false).await, Err(AppError::Forbidden(_))), "[{engine}] {role:?}");
            assert!(matches!(app.accounts(&who).await, Err(AppError::Forbidden(_))), "[{engine}] {role:?}");
        }
        assert_eq!(audit_rows(&app).await, before, "[{engine}]");
        app.set_active(&admin(), "marie", false).await.unwrap();
        assert!(app.authenticate("marie", "un mot de passe assez long", "r4").await.is_err(), "[{engine}]");
        assert!(app.principal("marie", "r5").await.is_err(), "[{engine}]");
        // Grants are checked: a role with the wrong kind of scope, an unknown département.
        assert!(app.parse_grant("agent-cpam", None).await.is_err(), "[{engine}]");
        assert!(app.parse_grant("agent-cpam", Some("999")).await.is_err(), "[{engine}]");
        assert!(app.parse_grant("admin-national", Some("29")).await.is_err(), "[{engine}]");
        assert!(app.parse_grant("coordinateur", Some("cpts-inconnue")).await.is_err(), "[{engine}]");
        // The audit never holds a password or its hash.
        let log = app.audit(&admin(), &Default::default()).await.unwrap();
        assert!(log.iter().all(|r| !r.after.clone().unwrap_or_default().contains("argon2")), "[{engine}]");
        assert!(log.iter().all(|r| !r.after.clone().unwrap_or_default().contains("assez long")), "[{engine}]");
    }
}

#[tokio::test]
async fn the_audit_log_refuses_update_and_delete_on_both_engines() {
    for (engine, app) in apps().await {
        app.add_account(&admin(), NewAccount { login: "x".into(), name: "X".into(), password: None, grants: vec![] })
            .await
            .unwrap();
        for sql in ["UPDATE audit SET login = 'effacé'", "DELETE FROM audit"] {
            let err = app.store.execute_raw_for_tests(sql).await.unwrap_err();
            assert!(err.to_string().contains("journal d'audit"), "[{engine}] {sql}: {err}");
        }
        assert_eq!(audit_rows(&app).await, 1, "[{engine}]");
    }
}
