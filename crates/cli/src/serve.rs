//! `cpts serve`: the web application on the store (SQLite file by default, PostgreSQL by URL).
//! With `--demo`: a fresh store in a temporary file, the Paris demo data, one demo account per
//! role with a password drawn at start, and the clock on the demo's day.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use cpts_app::accounts::NewAccount;
use cpts_app::{App, Clock, Grant, Principal, Role, Scope};
use cpts_domain::ids::CptsId;

use crate::load::CliError;
use crate::session::app_err;

pub struct Serve<'a> {
    pub db: Option<&'a Path>,
    pub rules_dir: Option<&'a Path>,
    pub bind: SocketAddr,
    pub origin: Option<String>,
    pub secure: bool,
    pub demo: bool,
    pub on: Option<jiff::civil::Date>,
    /// The identity providers' file (YAML).
    pub identity: Option<&'a Path>,
}

/// The demo accounts: (login, name, role, scope).
fn demo_accounts() -> Result<Vec<(&'static str, &'static str, Grant)>, CliError> {
    let p18: CptsId = "cpts-paris-18".parse().map_err(CliError::Failed)?;
    Ok(vec![
        ("coord.paris18", "Coordinatrice CPTS Paris 18 (démo)", Grant { role: Role::Coordinateur, scope: Scope::Cpts(p18.clone()) }),
        ("membre.paris18", "Membre CPTS Paris 18 (démo)", Grant { role: Role::Membre, scope: Scope::Cpts(p18) }),
        ("cpam.paris", "Agent CPAM de Paris (démo)", Grant { role: Role::AgentCpam, scope: Scope::Departement("75".into()) }),
        ("ars.idf", "Agent ARS Île-de-France (démo)", Grant { role: Role::AgentArs, scope: Scope::Region("11".into()) }),
        ("admin", "Administration nationale (démo)", Grant { role: Role::AdminNational, scope: Scope::National }),
    ])
}

fn failed(e: impl std::fmt::Display) -> CliError {
    CliError::Failed(e.to_string())
}

pub fn run(s: Serve<'_>) -> Result<(), CliError> {
    // The server's warnings (database unavailable) and errors (the cause of a 500, which the
    // page says is « consignée ») on standard error; without a subscriber they went nowhere.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing_subscriber::filter::LevelFilter::WARN)
        .with_ansi(false)
        .try_init();
    let rules = crate::load::rules(s.rules_dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(failed)?;
    runtime.block_on(async {
        // The demo's store is thrown away when the server stops.
        let demo_dir = s.demo.then(|| std::env::temp_dir().join(format!("cpts-demo-{}", std::process::id())));
        let url = match &demo_dir {
            Some(dir) => {
                if s.db.is_some() {
                    return Err(CliError::Usage("--demo crée sa propre base temporaire : retirez --db".into()));
                }
                std::fs::create_dir_all(dir).map_err(failed)?;
                dir.join("demo.sqlite").display().to_string()
            }
            None => crate::registry::store_url(s.db),
        };
        let mut app = App::open(&url, rules).await.map_err(app_err)?;
        let mut said = String::new();
        if s.demo {
            let operator = Principal::local_operator("serve-demo");
            crate::demo::load(&app, &operator).await?;
            said.push_str("Comptes de démonstration (mots de passe tirés au hasard à ce démarrage) :\n");
            for (login, name, grant) in demo_accounts()? {
                let password = format!("demo-{}", &cpts_web::random_token()[..16]);
                let new = NewAccount { login: login.into(), name: name.into(), password: Some(password.clone()), grants: vec![grant.clone()] };
                app.add_account(&operator, new).await.map_err(app_err)?;
                said.push_str(&format!("  {login:<16} {password}  {} ({})\n", grant.role.label(), grant.scope));
            }
            // A token to try the API at once (the national admin's: every route answers).
            let admin = app.principal("admin", "serve-demo").await.map_err(app_err)?;
            let token = app.create_token(&admin, "démonstration").await.map_err(app_err)?;
            said.push_str(&format!("Jeton d'API de démonstration (compte admin) : {}\n", token.secret));
            said.push_str(&format!("{}.\n", crate::demo::SYNTHETIC));
            app = app.with_clock(Clock::on(s.on.unwrap_or(crate::demo::SERVE_DAY)));
            said.push_str(&format!(
                "Données au {} ; horloge de démonstration : {} (l'année 2 du contrat de CPTS Paris 18 est close : son rapport est à rédiger).\n",
                cpts_engine::dates::fr(crate::demo::DEMO_DAY),
                cpts_engine::dates::fr(app.clock.today())
            ));
        } else if let Some(on) = s.on {
            app = app.with_clock(Clock::on(on));
        }
        let listener = tokio::net::TcpListener::bind(s.bind).await.map_err(|e| CliError::Usage(format!("écoute sur {} impossible : {e}", s.bind)))?;
        let addr = listener.local_addr().map_err(failed)?;
        let mut config = cpts_web::Config::local(addr);
        config.secure = s.secure;
        if let Some(o) = s.origin {
            config.origin = o.trim_end_matches('/').to_owned();
        }
        if let Some(file) = s.identity {
            let text = std::fs::read_to_string(file).map_err(|e| CliError::Usage(format!("{} : lecture impossible ({e})", file.display())))?;
            let c = cpts_web::oidc::IdentityConfig::from_yaml(&text).map_err(|e| CliError::Usage(format!("{} : {e}", file.display())))?;
            config.identity = cpts_web::oidc::Identity::new(&c).map_err(failed)?.map(Arc::new);
            if let Some(i) = &config.identity {
                let names: Vec<&str> = i.providers().iter().map(|p| p.label()).collect();
                said.push_str(&format!("Connexion aussi avec : {}.\n", names.join(", ")));
            }
        }
        println!("{said}cpts sert sur {} (base : {}) — Ctrl-C pour arrêter.", config.origin, cpts_store::masked(&url));
        let app = Arc::new(app);
        let served = cpts_web::serve(app.clone(), listener, config).await.map_err(failed);
        app.store.clone().close().await;
        if let Some(dir) = demo_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        served
    })
}
