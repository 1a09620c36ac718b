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

#[tokio::test]
async fn external_identities_open_only_the_account_an_admin_linked_them_to() {
    use cpts_app::identities::{ExternalSignIn, Provider};
    for (engine, app) in apps().await {
        let grants = vec![app.parse_grant("agent-ars", Some("53")).await.unwrap()];
        app.add_account(&admin(), NewAccount { login: "lea".into(), name: "Léa Martin".into(), password: None, grants }).await.unwrap();
        let before = audit_rows(&app).await;
        // Nobody but the national admin links; nothing written when refused.
        let coord = as_role(Role::Coordinateur, Scope::Departement("29".into()));
        assert!(matches!(app.link_identity(&coord, "lea", Provider::Psc, "10000000017").await, Err(AppError::Forbidden(_))), "[{engine}]");
        // An RPPS is checked (its Luhn key); an unknown account is refused.
        assert!(matches!(app.link_identity(&admin(), "lea", Provider::Psc, "10000000018").await, Err(AppError::Invalid(_))), "[{engine}]");
        assert!(app.link_identity(&admin(), "personne", Provider::Psc, "10000000017").await.is_err(), "[{engine}]");
        assert_eq!(audit_rows(&app).await, before, "[{engine}]");
        // Unlinked: a genuine identity opens nothing.
        let keys = vec!["10000000017".to_string()];
        assert!(matches!(app.external_sign_in(Provider::Psc, &keys, "r").await.unwrap(), ExternalSignIn::Unlinked), "[{engine}]");
        app.link_identity(&admin(), "lea", Provider::Psc, "100 0000 0017").await.unwrap();
        app.link_identity(&admin(), "lea", Provider::ProConnect, "Lea.Martin@ARS.sante.fr").await.unwrap();
        assert_eq!(audit_rows(&app).await, before + 2, "[{engine}]: each link audited");
        // One identity, one account.
        let other = NewAccount { login: "autre".into(), name: "Autre".into(), password: None, grants: vec![] };
        app.add_account(&admin(), other).await.unwrap();
        assert!(app.link_identity(&admin(), "autre", Provider::Psc, "10000000017").await.is_err(), "[{engine}]");
        // The linked account's principal, with its grants: the link gives no right of its own.
        let ExternalSignIn::Accepted(p) = app.external_sign_in(Provider::Psc, &keys, "r").await.unwrap() else { panic!("[{engine}]") };
        assert_eq!(p.login, "lea", "[{engine}]");
        assert_eq!(p.grants.len(), 1, "[{engine}]");
        // ProConnect: by subject, else by e-mail (lower-cased by the caller and the link).
        let pc = vec!["sub-inconnu".to_string(), "lea.martin@ars.sante.fr".to_string()];
        assert!(matches!(app.external_sign_in(Provider::ProConnect, &pc, "r").await.unwrap(), ExternalSignIn::Accepted(_)), "[{engine}]");
        // The same RPPS at the other provider is another identity.
        assert!(matches!(app.external_sign_in(Provider::ProConnect, &keys, "r").await.unwrap(), ExternalSignIn::Unlinked), "[{engine}]");
        let links = app.identity_links(&admin()).await.unwrap();
        assert_eq!(links.iter().map(|l| (l.provider.as_str(), l.subject.as_str())).collect::<Vec<_>>(), [("proconnect", "lea.martin@ars.sante.fr"), ("psc", "10000000017")], "[{engine}]");
        // A disabled account is not opened; unlinking closes the door for good.
        app.set_active(&admin(), "lea", false).await.unwrap();
        assert!(matches!(app.external_sign_in(Provider::Psc, &keys, "r").await.unwrap(), ExternalSignIn::Unlinked), "[{engine}]");
        app.set_active(&admin(), "lea", true).await.unwrap();
        app.unlink_identity(&admin(), Provider::Psc, "10000000017").await.unwrap();
        assert!(matches!(app.external_sign_in(Provider::Psc, &keys, "r").await.unwrap(), ExternalSignIn::Unlinked), "[{engine}]");
        assert!(matches!(app.unlink_identity(&admin(), Provider::Psc, "10000000017").await, Err(AppError::NotFound(_))), "[{engine}]");
        let log = app.audit(&admin(), &Default::default()).await.unwrap();
        assert!(log.iter().any(|r| r.before.as_deref().is_some_and(|b| b.contains("10000000017")) && r.after.is_none()), "[{engine}]: the unlink audited");
    }
}
