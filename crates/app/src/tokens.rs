//! API tokens: created by a user for a machine client, carrying that user's rights as they are
//! at each request (a revoked grant or a disabled account takes effect at once), hashed at
//! rest, revocable, their last use recorded.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use blake2::{Blake2s256, Digest};
use cpts_store::TokenRow;

use crate::policy::{Action, Principal};
use crate::{App, AppError, Result};

/// What every token starts with: a leaked one is easy to recognise (secret scanners).
pub const TOKEN_PREFIX: &str = "cpts_";
/// Characters of the secret shown to its owner to tell tokens apart.
const SHOWN: usize = 12;
/// A use is recorded at most this often (seconds): an API client's every request would
/// otherwise be a write.
const TOUCH_EVERY: i64 = 60;

/// A token as its owner sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenView {
    pub prefix: String,
    pub label: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// A token just created: its secret is shown this once and never stored.
#[derive(Clone, Debug)]
pub struct NewToken {
    pub secret: String,
    pub token: TokenView,
}

fn view(t: TokenRow) -> TokenView {
    TokenView { prefix: t.prefix, label: t.label, created_at: t.created_at, last_used_at: t.last_used_at, revoked_at: t.revoked_at }
}

fn hash(secret: &str) -> String {
    Blake2s256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn unauthenticated() -> AppError {
    AppError::Forbidden("jeton d'API inconnu, révoqué, ou compte désactivé".into())
}

impl App {
    /// The stamp for an act on one's own tokens: allowed to whoever holds a role.
    fn own(&self, p: &Principal) -> Result<cpts_store::Stamp> {
        if p.login == crate::policy::LOCAL_OPERATOR {
            return Err(AppError::Forbidden("un jeton d'API appartient à un compte : agissez avec un compte (--user ou CPTS_USER)".into()));
        }
        self.authorize_anywhere(p, Action::OwnTokens)
    }

    /// A new token for `p` (256 random bits), named by `label`.
    pub async fn create_token(&self, p: &Principal, label: &str) -> Result<NewToken> {
        let stamp = self.own(p)?;
        let label = label.trim();
        if label.is_empty() {
            return Err(AppError::field("libellé", "donnez un libellé : à quoi ou à qui sert ce jeton"));
        }
        cpts_domain::text::check("libellé", label, cpts_domain::text::Kind::Name).map_err(|e| AppError::field("libellé", e))?;
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        let random: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let secret = format!("{TOKEN_PREFIX}{random}");
        let row = TokenRow {
            prefix: random.get(..SHOWN).unwrap_or_default().to_owned(),
            login: p.login.clone(),
            label: label.to_owned(),
            created_at: stamp.at.to_string(),
            last_used_at: None,
            revoked_at: None,
        };
        self.store.create_token(&stamp, &hash(&secret), &row).await?;
        Ok(NewToken { secret, token: view(row) })
    }

    /// `p`'s tokens, live and revoked, newest first.
    pub async fn tokens(&self, p: &Principal) -> Result<Vec<TokenView>> {
        self.own(p)?;
        Ok(self.store.tokens_of(&p.login).await?.into_iter().map(view).collect())
    }

    pub async fn revoke_token(&self, p: &Principal, prefix: &str) -> Result<()> {
        let stamp = self.own(p)?;
        self.store.revoke_token(&stamp, &p.login, prefix.trim()).await.map_err(|e| match e {
            cpts_store::StoreError::Invalid(m) => AppError::NotFound(m),
            e => AppError::from(e),
        })
    }

    /// The principal a request presenting `secret` acts as: the token's owner with the rights
    /// they hold now. Unknown, revoked or disabled: Forbidden, without saying which.
    pub async fn token_principal(&self, secret: &str, request: &str) -> Result<Principal> {
        if !secret.starts_with(TOKEN_PREFIX) || secret.len() > 128 {
            return Err(unauthenticated());
        }
        let digest = hash(secret);
        let Some(t) = self.store.live_token(&digest).await? else { return Err(unauthenticated()) };
        // A disabled or deleted owner is « unknown token »; a database that cannot answer is said
        // as such, not as a bad token.
        let who = self.principal(&t.login, request).await.map_err(|e| match e {
            AppError::Forbidden(_) | AppError::NotFound(_) => unauthenticated(),
            e => e,
        })?;
        let now = self.clock.now();
        let stale = t
            .last_used_at
            .as_deref()
            .and_then(|s| s.parse::<jiff::Timestamp>().ok())
            .is_none_or(|last| now.as_second() - last.as_second() >= TOUCH_EVERY);
        if stale {
            // The last use is a hint for the owner, not the request's purpose: a database that
            // cannot write now (disk full) must not refuse a read.
            match self.store.touch_token(&digest, &now.to_string()).await.map_err(AppError::from) {
                Ok(()) | Err(AppError::Unavailable(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(who)
    }
}
