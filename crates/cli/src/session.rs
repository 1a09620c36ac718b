//! One run of a command against the store: open the application, find who acts (the account
//! of `--user`/`CPTS_USER`, else the local operator), run, close. And the one translation of
//! the application's errors into exit codes and messages.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use cpts_app::{App, AppError, Principal};

use crate::load::CliError;

/// The account named on the command line (`--user`), set once by `main`.
static USER: OnceLock<Option<String>> = OnceLock::new();

pub fn set_user(user: Option<String>) {
    let user = user.or_else(|| std::env::var("CPTS_USER").ok()).filter(|u| !u.trim().is_empty());
    // Set once per process; a second call changes nothing.
    let _ = USER.set(user);
}

/// What a command runs with: the application, who acts, and the store's URL (exports must
/// not overwrite the open database).
#[allow(dead_code, reason = "url: read by the modules that export, moved onto Ctx next")]
pub struct Ctx {
    pub app: App,
    pub who: Principal,
    pub url: String,
}

/// The request id of this run: written with every audit row of the command.
fn request_id() -> String {
    format!("cli-{}-{}", jiff::Timestamp::now().as_millisecond(), std::process::id())
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("démarrage impossible : {e}")))
}

/// Open the application on the store of `db`, run `f`, close.
pub fn run<F, Fut>(db: Option<&Path>, rules_dir: Option<&Path>, f: F) -> Result<String, CliError>
where
    F: FnOnce(Arc<Ctx>) -> Fut,
    Fut: std::future::Future<Output = Result<String, CliError>>,
{
    let url = crate::registry::store_url(db);
    let rules = crate::load::rules(rules_dir)?;
    runtime()?.block_on(async {
        // One command: each page read about once (no memory map; `serve` keeps it).
        let app = App::open_with(&url, rules, cpts_store::Reads::Once).await.map_err(|e| match e {
            AppError::Store(cpts_store::StoreError::Open(_)) => {
                CliError::Usage(format!("ouverture de la base « {} » impossible : {e}", cpts_store::masked(&url)))
            }
            e => CliError::Failed(format!("ouverture de la base « {} » impossible : {e}", cpts_store::masked(&url))),
        })?;
        let request = request_id();
        let who = match USER.get().cloned().flatten() {
            Some(login) => match app.principal(&login, &request).await {
                Ok(p) => p,
                Err(e) => {
                    app.close().await;
                    return Err(app_err(e));
                }
            },
            None => Principal::local_operator(request),
        };
        let ctx = Arc::new(Ctx { app, who, url });
        let out = f(ctx.clone()).await;
        if let Ok(ctx) = Arc::try_unwrap(ctx) {
            ctx.app.close().await;
        }
        out
    })
}

/// The application's errors for the terminal: exit 3 for « non autorisé », 2 for what the
/// user can fix (not found, refused, invalid, conflict), 1 for a failure of the system.
pub fn app_err(e: AppError) -> CliError {
    match e {
        AppError::Forbidden(m) => CliError::Forbidden(m),
        AppError::NotFound(_) | AppError::Refused(_) | AppError::Invalid(_) | AppError::Conflict(_) => {
            CliError::Usage(e.to_string())
        }
        AppError::Store(cpts_store::StoreError::Open(_)) => CliError::Usage(e.to_string()),
        AppError::Unavailable(_) | AppError::Store(_) | AppError::Internal(_) => CliError::Failed(e.to_string()),
    }
}
