//! `cpts user …` and `cpts audit`: thin adapters over the application's account and audit
//! use cases.

use std::io::BufRead;

use clap::Subcommand;
use cpts_app::accounts::NewAccount;
use cpts_app::audit::AuditQuery;
use cpts_app::identities::Provider;

use crate::load::CliError;
use crate::session::{self, app_err};
use crate::table::Table;

#[derive(Subcommand)]
pub enum UserCmd {
    /// Créer un compte (mot de passe lu sur l'entrée standard avec --password-stdin)
    Add {
        /// Identifiant de connexion (a-z, 0-9, . _ - @)
        login: String,
        /// Nom et prénom, ou service
        #[arg(long)]
        name: String,
        /// Rôle à donner : coordinateur, membre, agent-cpam, agent-ars, admin-national
        #[arg(long)]
        role: Option<String>,
        /// Périmètre du rôle : identifiant de CPTS, code de département ou de région
        #[arg(long)]
        scope: Option<String>,
        /// Lire le mot de passe sur la première ligne de l'entrée standard (jamais en argument)
        #[arg(long)]
        password_stdin: bool,
    },
    /// Lister les comptes et leurs rôles
    List,
    /// Donner un rôle sur un périmètre
    Grant {
        /// Identifiant du compte
        login: String,
        /// coordinateur, membre, agent-cpam, agent-ars, admin-national
        role: String,
        /// Identifiant de CPTS, code de département ou de région (aucun pour admin-national)
        scope: Option<String>,
    },
    /// Retirer un rôle
    Revoke {
        /// Identifiant du compte
        login: String,
        /// coordinateur, membre, agent-cpam, agent-ars, admin-national
        role: String,
        /// Identifiant de CPTS, code de département ou de région (aucun pour admin-national)
        scope: Option<String>,
    },
    /// Changer le mot de passe (lu sur la première ligne de l'entrée standard)
    Passwd {
        /// Identifiant du compte
        login: String,
    },
    /// Désactiver un compte (il ne peut plus agir ; son historique reste)
    Disable {
        /// Identifiant du compte
        login: String,
    },
    /// Réactiver un compte
    Enable {
        /// Identifiant du compte
        login: String,
    },
    /// Rattacher une identité Pro Santé Connect (RPPS) ou ProConnect (sub ou adresse électronique) à un compte
    Link {
        /// Identifiant du compte
        login: String,
        /// Fournisseur d'identité : psc ou proconnect
        provider: String,
        /// RPPS (psc) ; identifiant « sub » ou adresse électronique de l'agent (proconnect)
        identity: String,
    },
    /// Détacher une identité (elle n'ouvre plus le compte ; ses sessions se ferment)
    Unlink {
        /// Fournisseur d'identité : psc ou proconnect
        provider: String,
        /// RPPS (psc) ; identifiant « sub » ou adresse électronique (proconnect)
        identity: String,
    },
    /// Lister les identités rattachées aux comptes
    Links,
}

#[derive(Subcommand)]
pub enum TokenCmd {
    /// Créer un jeton d'API pour le compte --user (affiché une seule fois)
    Add {
        /// À quoi ou à qui sert ce jeton
        label: String,
    },
    /// Lister les jetons du compte --user
    List,
    /// Révoquer un jeton du compte --user
    Revoke {
        /// Début du jeton, tel que la liste l'affiche (12 caractères après « cpts_ »)
        prefix: String,
    },
}

/// `cpts token …`: the API tokens of the acting account (`--user` or CPTS_USER).
pub fn token(cmd: TokenCmd, db: Option<&std::path::Path>, rules: Option<&std::path::Path>) -> Result<String, CliError> {
    session::run(db, rules, |ctx| async move {
        let (app, who) = (&ctx.app, &ctx.who);
        match cmd {
            TokenCmd::Add { label } => {
                let t = app.create_token(who, &label).await.map_err(app_err)?;
                Ok(format!(
                    "Jeton créé pour « {} » ({}). Copiez-le maintenant, il ne sera plus affiché :\n{}\n",
                    who.login, t.token.label, t.secret
                ))
            }
            TokenCmd::List => {
                let all = app.tokens(who).await.map_err(app_err)?;
                let mut t = Table::new(&[("Début", false), ("Libellé", false), ("Créé", false), ("Dernier usage", false), ("État", false)]);
                let day = |s: &str| s.get(..16).unwrap_or(s).replace('T', " ");
                for k in &all {
                    t.row(vec![
                        format!("cpts_{}…", k.prefix),
                        k.label.clone(),
                        day(&k.created_at),
                        k.last_used_at.as_deref().map_or_else(|| "jamais".into(), day),
                        k.revoked_at.as_deref().map_or_else(|| "actif".into(), |r| format!("révoqué le {}", day(r))),
                    ]);
                }
                Ok(format!("{} jeton(s) de « {} »\n{}", all.len(), who.login, t.render()))
            }
            TokenCmd::Revoke { prefix } => {
                let prefix = prefix.trim().trim_start_matches("cpts_").trim_end_matches('…').to_owned();
                app.revoke_token(who, &prefix).await.map_err(app_err)?;
                Ok(format!("Jeton cpts_{prefix}… révoqué.\n"))
            }
        }
    })
}

fn read_password() -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::Usage(format!("mot de passe illisible sur l'entrée standard : {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

pub fn user(cmd: UserCmd, db: Option<&std::path::Path>, rules: Option<&std::path::Path>) -> Result<String, CliError> {
    // Read before the store opens: nothing is held while the user types.
    let password = match &cmd {
        UserCmd::Add { password_stdin: true, .. } | UserCmd::Passwd { .. } => Some(read_password()?),
        _ => None,
    };
    session::run(db, rules, |ctx| async move {
        let (app, who) = (&ctx.app, &ctx.who);
        match cmd {
            UserCmd::Add { login, name, role, scope, .. } => {
                let grants = match role {
                    Some(r) => vec![app.parse_grant(&r, scope.as_deref()).await.map_err(app_err)?],
                    None if scope.is_some() => return Err(CliError::Usage("--scope sans --role".into())),
                    None => Vec::new(),
                };
                let a = app.add_account(who, NewAccount { login, name, password, grants }).await.map_err(app_err)?;
                let pw = if a.has_password { "avec mot de passe" } else { "sans mot de passe (définissez-le : cpts user passwd)" };
                Ok(format!("Compte « {} » créé ({}), {pw}.\n", a.login, a.name))
            }
            UserCmd::List => {
                let all = app.accounts(who).await.map_err(app_err)?;
                let mut t = Table::new(&[("Identifiant", false), ("Nom", false), ("État", false), ("Rôles", false)]);
                for a in &all {
                    let roles: Vec<String> = a.grants.iter().map(|g| format!("{} ({})", g.role, g.scope)).collect();
                    t.row(vec![
                        a.login.clone(),
                        a.name.clone(),
                        if a.active { "actif".into() } else { "désactivé".into() },
                        roles.join(", "),
                    ]);
                }
                Ok(format!("{} compte(s)\n{}", all.len(), t.render()))
            }
            UserCmd::Grant { login, role, scope } => {
                let g = app.parse_grant(&role, scope.as_deref()).await.map_err(app_err)?;
                app.grant(who, &login, &g).await.map_err(app_err)?;
                Ok(format!("Rôle {} ({}) donné à « {login} ».\n", g.role, g.scope))
            }
            UserCmd::Revoke { login, role, scope } => {
                let g = app.parse_grant(&role, scope.as_deref()).await.map_err(app_err)?;
                app.revoke(who, &login, &g).await.map_err(app_err)?;
                Ok(format!("Rôle {} ({}) retiré à « {login} ».\n", g.role, g.scope))
            }
            UserCmd::Passwd { login } => {
                app.set_password(who, &login, &password.unwrap_or_default()).await.map_err(app_err)?;
                Ok(format!("Mot de passe de « {login} » changé.\n"))
            }
            UserCmd::Disable { login } => {
                app.set_active(who, &login, false).await.map_err(app_err)?;
                Ok(format!("Compte « {login} » désactivé.\n"))
            }
            UserCmd::Enable { login } => {
                app.set_active(who, &login, true).await.map_err(app_err)?;
                Ok(format!("Compte « {login} » réactivé.\n"))
            }
            UserCmd::Link { login, provider, identity } => {
                let p = Provider::parse(&provider).map_err(app_err)?;
                let l = app.link_identity(who, &login, p, &identity).await.map_err(app_err)?;
                Ok(format!("Identité {p} « {} » rattachée au compte « {login} » : elle ouvre ce compte, avec ses rôles.\n", l.subject))
            }
            UserCmd::Unlink { provider, identity } => {
                let p = Provider::parse(&provider).map_err(app_err)?;
                app.unlink_identity(who, p, &identity).await.map_err(app_err)?;
                Ok(format!("Identité {p} « {} » détachée.\n", identity.trim()))
            }
            UserCmd::Links => {
                let all = app.identity_links(who).await.map_err(app_err)?;
                let mut t = Table::new(&[("Compte", false), ("Fournisseur", false), ("Identité", false), ("Rattachée le", false)]);
                for l in &all {
                    let label = Provider::parse(&l.provider).map(Provider::label).unwrap_or("?");
                    t.row(vec![l.login.clone(), label.into(), l.subject.clone(), l.linked_at.get(..10).unwrap_or(&l.linked_at).into()]);
                }
                Ok(format!("{} identité(s) rattachée(s)\n{}", all.len(), t.render()))
            }
        }
    })
}

/// `cpts audit`: the rows the acting account may read, newest first.
pub fn audit(
    q: AuditQuery,
    json: bool,
    db: Option<&std::path::Path>,
    rules: Option<&std::path::Path>,
) -> Result<String, CliError> {
    session::run(db, rules, |ctx| async move {
        let rows = ctx.app.audit(&ctx.who, &q).await.map_err(app_err)?;
        if json {
            let parse = |s: &Option<String>| s.as_deref().and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok());
            let out: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id, "at": r.at, "login": r.login, "role": r.role, "action": r.action,
                        "cpts": r.cpts, "before": parse(&r.before), "after": parse(&r.after), "batch": r.batch,
                    })
                })
                .collect();
            return serde_json::to_string_pretty(&out).map(|s| s + "\n").map_err(|e| CliError::Failed(e.to_string()));
        }
        if rows.is_empty() {
            return Ok("Aucune écriture dans le journal d'audit pour ce filtre.\n".into());
        }
        let mut t = Table::new(&[("N°", true), ("Quand (UTC)", false), ("Compte", false), ("Rôle", false), ("Action", false), ("CPTS", false), ("Lot", false)]);
        for r in &rows {
            t.row(vec![
                r.id.to_string(),
                r.at.get(..19).unwrap_or(&r.at).replace('T', " "),
                r.login.clone(),
                r.role.clone(),
                r.action.clone(),
                r.cpts.clone().unwrap_or_default(),
                r.batch.clone(),
            ]);
        }
        Ok(format!(
            "{} écriture(s), la plus récente d'abord (avant/après en JSON : --json)\n{}",
            rows.len(),
            t.render()
        ))
    })
}
