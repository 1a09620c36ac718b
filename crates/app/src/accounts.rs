//! Accounts: create, list, grant and revoke roles, set a password, disable. Passwords are
//! hashed here (argon2id, OWASP parameters) and only the hash reaches the store.

use std::collections::BTreeSet;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use cpts_domain::ids::CptsId;
use cpts_store::{Account, GrantRow};

use crate::policy::{Action, Grant, Principal, Role, Scope, ScopeKind};
use crate::{App, AppError, Result};

/// Passwords: long enough to stand alone (ANSSI: 12 characters at least without a second
/// factor), bounded so hashing stays cheap whatever is sent.
pub const PASSWORD_MIN: usize = 12;
pub const PASSWORD_MAX: usize = 128;

/// An account as shown (never its hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountView {
    pub login: String,
    pub name: String,
    pub active: bool,
    pub has_password: bool,
    pub grants: Vec<Grant>,
}

#[derive(Clone, Debug)]
pub struct NewAccount {
    pub login: String,
    pub name: String,
    pub password: Option<String>,
    pub grants: Vec<Grant>,
}

fn check_login(login: &str) -> Result<()> {
    let ok = !login.is_empty()
        && login.len() <= 64
        && login.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(AppError::field(
            "identifiant",
            format!("« {} » : 1 à 64 caractères parmi a-z, 0-9, « . _ - @ »", cpts_domain::text::quoted(login)),
        ))
    }
}

fn hash(password: &str) -> Result<String> {
    let n = password.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&n) {
        return Err(AppError::field(
            "mot de passe",
            format!("{PASSWORD_MIN} à {PASSWORD_MAX} caractères (reçu : {n})"),
        ));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("hachage du mot de passe impossible : {e}")))
}

/// A grant from its stored form; None if the store holds something this version cannot read.
fn grant_of(g: &GrantRow) -> Option<Grant> {
    let role = Role::parse(&g.role).ok()?;
    let scope = match role.scope_kind() {
        ScopeKind::Cpts => Scope::Cpts(g.scope.parse().ok()?),
        ScopeKind::Departement => Scope::Departement(g.scope.clone()),
        ScopeKind::Region => Scope::Region(g.scope.clone()),
        ScopeKind::National => Scope::National,
    };
    Some(Grant { role, scope })
}

fn row_of(g: &Grant) -> GrantRow {
    GrantRow { role: g.role.code().into(), scope: g.scope.code().into() }
}

fn view(a: &Account) -> AccountView {
    AccountView {
        login: a.login.clone(),
        name: a.name.clone(),
        active: a.active,
        has_password: a.password_hash.is_some(),
        grants: a.grants.iter().filter_map(grant_of).collect(),
    }
}

impl App {
    /// A grant from user input: the role, and the scope it needs (a CPTS id for coordinateur
    /// and membre, a département code for agent CPAM, a région code for agent ARS, none for
    /// admin national), checked against the registry and the geographic reference.
    pub async fn parse_grant(&self, role: &str, scope: Option<&str>) -> Result<Grant> {
        let role = Role::parse(role).map_err(|e| AppError::field("rôle", e))?;
        let need = |what: &str| AppError::field("périmètre", format!("le rôle {role} demande {what}"));
        let scope = match (role.scope_kind(), scope.map(str::trim).filter(|s| !s.is_empty())) {
            (ScopeKind::National, None) => Scope::National,
            (ScopeKind::National, Some(_)) => {
                return Err(AppError::field("périmètre", "le rôle admin national vaut pour toute la France : pas de périmètre"));
            }
            (ScopeKind::Cpts, Some(s)) => {
                let id: CptsId = s.parse().map_err(|e: String| AppError::field("périmètre", e))?;
                self.store.get_cpts(&id).await?;
                Scope::Cpts(id)
            }
            (ScopeKind::Departement, Some(s)) => {
                let code = s.to_uppercase();
                if self.geo.departement_name(&code).is_none() {
                    return Err(AppError::field("périmètre", format!("département inconnu « {} »", cpts_domain::text::quoted(s))));
                }
                Scope::Departement(code)
            }
            (ScopeKind::Region, Some(s)) => {
                if self.geo.region_name(s).is_none() {
                    return Err(AppError::field("périmètre", format!("région inconnue « {} » (code INSEE de la région, ex. 11)", cpts_domain::text::quoted(s))));
                }
                Scope::Region(s.to_string())
            }
            (ScopeKind::Cpts, None) => return Err(need("une CPTS (son identifiant)")),
            (ScopeKind::Departement, None) => return Err(need("un département (son code, ex. 29)")),
            (ScopeKind::Region, None) => return Err(need("une région (son code INSEE, ex. 53)")),
        };
        Ok(Grant { role, scope })
    }

    pub async fn add_account(&self, p: &Principal, new: NewAccount) -> Result<AccountView> {
        let stamp = self.authorize_national(p, Action::ManageAccounts)?;
        check_login(&new.login)?;
        cpts_domain::text::check("nom", &new.name, cpts_domain::text::Kind::Name).map_err(|e| AppError::field("nom", e))?;
        let password_hash = new.password.as_deref().map(hash).transpose()?;
        let account = Account {
            login: new.login,
            name: new.name,
            password_hash,
            active: true,
            grants: new.grants.iter().map(row_of).collect::<BTreeSet<_>>().into_iter().collect(),
        };
        self.store.create_account(&stamp, &account).await?;
        Ok(view(&account))
    }

    pub async fn accounts(&self, p: &Principal) -> Result<Vec<AccountView>> {
        self.authorize_national(p, Action::ManageAccounts)?;
        Ok(self.store.accounts().await?.iter().map(view).collect())
    }

    pub async fn grant(&self, p: &Principal, login: &str, g: &Grant) -> Result<()> {
        let stamp = self.authorize_national(p, Action::ManageAccounts)?;
        Ok(self.store.grant(&stamp, login, &row_of(g)).await?)
    }

    pub async fn revoke(&self, p: &Principal, login: &str, g: &Grant) -> Result<()> {
        let stamp = self.authorize_national(p, Action::ManageAccounts)?;
        Ok(self.store.revoke(&stamp, login, &row_of(g)).await?)
    }

    pub async fn set_password(&self, p: &Principal, login: &str, password: &str) -> Result<()> {
        let stamp = self.authorize_national(p, Action::ManageAccounts)?;
        Ok(self.store.set_password(&stamp, login, &hash(password)?).await?)
    }

    pub async fn set_active(&self, p: &Principal, login: &str, active: bool) -> Result<()> {
        let stamp = self.authorize_national(p, Action::ManageAccounts)?;
        Ok(self.store.set_active(&stamp, login, active).await?)
    }

    /// The principal of an active account, for the CLI's `--user` (the machine's operator
    /// chooses to act with that account's rights: no password asked).
    pub async fn principal(&self, login: &str, request: &str) -> Result<Principal> {
        let a = self.store.account(login).await?.filter(|a| a.active).ok_or_else(|| {
            AppError::Forbidden(format!("compte « {} » inconnu ou désactivé", cpts_domain::text::quoted(login)))
        })?;
        Ok(principal_of(&a, request))
    }

    /// Log in with a password: the principal, or one refusal that says nothing of which part
    /// was wrong. An unknown login costs a hash too, so timing does not tell it apart.
    pub async fn authenticate(&self, login: &str, password: &str, request: &str) -> Result<Principal> {
        let refused = || AppError::Forbidden("identifiant ou mot de passe incorrect, ou compte désactivé".into());
        if password.chars().count() > PASSWORD_MAX {
            return Err(refused());
        }
        let account = self.store.account(login).await?;
        let stored = account.as_ref().and_then(|a| a.password_hash.clone());
        let dummy;
        let phc = match &stored {
            Some(h) => h.as_str(),
            None => {
                dummy = hash("mot de passe factice pour le temps")?;
                dummy.as_str()
            }
        };
        let parsed = PasswordHash::new(phc).map_err(|_| refused())?;
        let ok = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        match account {
            Some(a) if ok && stored.is_some() && a.active => Ok(principal_of(&a, request)),
            _ => Err(refused()),
        }
    }
}

/// Failed sign-ins allowed within `window_seconds` before the next attempt is refused
/// without trying the password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInLimits {
    pub window_seconds: i64,
    pub per_login: i64,
    pub per_address: i64,
}

impl Default for SignInLimits {
    /// Five tries per account, twenty per address, in a quarter of an hour.
    fn default() -> SignInLimits {
        SignInLimits { window_seconds: 15 * 60, per_login: 5, per_address: 20 }
    }
}

/// How a sign-in ended.
#[derive(Clone, Debug)]
pub enum SignIn {
    Accepted(Principal),
    /// Wrong login or password, or a disabled account (never told apart).
    Refused(String),
    /// Too many failures for this account or from this address within the window.
    Throttled,
}

/// Throttling counts in real time, whatever the clock the application decides on.
fn unix_now() -> i64 {
    jiff::Timestamp::now().as_second()
}

impl App {
    /// Sign in with a password from `address`, throttled per account and per address: a
    /// failure is counted, a success clears its account's failures (not its address's: one
    /// address may try many accounts).
    pub async fn sign_in(&self, login: &str, password: &str, address: &str, limits: &SignInLimits, request: &str) -> Result<SignIn> {
        let since = unix_now() - limits.window_seconds;
        let (by_login, by_address) = self.store.login_failures(login, address, since).await?;
        if by_login >= limits.per_login || by_address >= limits.per_address {
            return Ok(SignIn::Throttled);
        }
        match self.authenticate(login, password, request).await {
            Ok(p) => {
                self.store.clear_login_failures(&p.login).await?;
                Ok(SignIn::Accepted(p))
            }
            Err(AppError::Forbidden(m)) => {
                self.store.record_login_failure(login, address, unix_now()).await?;
                Ok(SignIn::Refused(m))
            }
            Err(e) => Err(e),
        }
    }
}

fn principal_of(a: &Account, request: &str) -> Principal {
    Principal {
        login: a.login.clone(),
        name: a.name.clone(),
        grants: a.grants.iter().filter_map(grant_of).collect(),
        request: request.into(),
    }
}
