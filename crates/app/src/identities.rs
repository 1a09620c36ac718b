//! External identities: a Pro Santé Connect or ProConnect identity linked to an account by a
//! national administrator. A link opens its account with the rights that account holds; an
//! identity never creates an account nor a right by itself.

use cpts_domain::ids::Rpps;
use cpts_store::IdentityLink;

use crate::policy::{Action, Principal};
use crate::{App, AppError, Result};

/// The OpenID Connect providers cpts knows.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Provider {
    /// Pro Santé Connect (Agence du Numérique en Santé): health professionals, by RPPS.
    Psc,
    /// ProConnect (DINUM): State agents (ARS, CPAM), by subject or e-mail.
    ProConnect,
}

impl Provider {
    pub const ALL: [Provider; 2] = [Provider::Psc, Provider::ProConnect];

    pub fn code(self) -> &'static str {
        match self {
            Provider::Psc => "psc",
            Provider::ProConnect => "proconnect",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Provider::Psc => "Pro Santé Connect",
            Provider::ProConnect => "ProConnect",
        }
    }

    pub fn parse(s: &str) -> Result<Provider> {
        let s = s.trim().to_lowercase().replace([' ', '-', '_'], "");
        match s.as_str() {
            "psc" | "prosanteconnect" | "prosantéconnect" => Ok(Provider::Psc),
            "proconnect" => Ok(Provider::ProConnect),
            _ => Err(AppError::field("fournisseur", format!("fournisseur d'identité inconnu « {s} » (attendu : psc ou proconnect)"))),
        }
    }

    /// The key a link is stored under, from what an administrator types: an RPPS for Pro
    /// Santé Connect (checked, spaces removed); for ProConnect the subject as given, or an
    /// e-mail in lower case.
    pub fn key(self, typed: &str) -> Result<String> {
        let t = typed.trim();
        match self {
            Provider::Psc => t.parse::<Rpps>().map(|r| r.to_string()).map_err(|e| AppError::field("identité", e)),
            Provider::ProConnect if t.is_empty() || t.len() > 255 || t.chars().any(char::is_control) => {
                Err(AppError::field("identité", "donnez l'identifiant ProConnect (sub) ou l'adresse électronique de l'agent"))
            }
            Provider::ProConnect if t.contains('@') => Ok(t.to_lowercase()),
            Provider::ProConnect => Ok(t.to_owned()),
        }
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// The RPPS of a Pro Santé Connect identity from its national identifier (`SubjectNameID`):
/// « 8 » followed by the RPPS for professionals in the RPPS, or the bare RPPS. Other national
/// identifiers (ADELI-based, starting with « 0 ») have no RPPS: None.
pub fn psc_rpps(subject_name_id: &str) -> Option<Rpps> {
    let t = subject_name_id.trim();
    if t.len() == 12 {
        return t.strip_prefix('8').and_then(|r| r.parse().ok());
    }
    t.parse().ok()
}

/// How a sign-in through a provider ended.
#[derive(Clone, Debug)]
pub enum ExternalSignIn {
    Accepted(Principal),
    /// The identity is genuine but no active account is linked to it.
    Unlinked,
}

impl App {
    /// Link `provider`'s identity `typed` (an RPPS, a ProConnect subject or e-mail) to the
    /// account `login`.
    pub async fn link_identity(&self, p: &Principal, login: &str, provider: Provider, typed: &str) -> Result<IdentityLink> {
        let stamp = self.authorize_national(p, Action::ManageAccounts)?;
        let subject = provider.key(typed)?;
        self.store.link_identity(&stamp, provider.code(), &subject, login).await?;
        Ok(IdentityLink { provider: provider.code().into(), subject, login: login.into(), linked_at: stamp.at.to_string() })
    }

    /// Remove a link: the identity no longer opens the account (its sessions end).
    pub async fn unlink_identity(&self, p: &Principal, provider: Provider, typed: &str) -> Result<()> {
        let stamp = self.authorize_national(p, Action::ManageAccounts)?;
        let subject = provider.key(typed)?;
        self.store.unlink_identity(&stamp, provider.code(), &subject).await.map_err(|e| match e {
            cpts_store::StoreError::Invalid(m) => AppError::NotFound(m),
            e => AppError::Store(e),
        })
    }

    pub async fn identity_links(&self, p: &Principal) -> Result<Vec<IdentityLink>> {
        self.authorize_national(p, Action::ManageAccounts)?;
        Ok(self.store.identity_links().await?)
    }

    /// Sign in with an identity a provider vouched for (the caller checked the provider's
    /// signature): `keys` are its keys in order of preference (an RPPS; a subject, an e-mail).
    /// The linked account's principal, or Unlinked: unknown, or its account disabled.
    pub async fn external_sign_in(&self, provider: Provider, keys: &[String], request: &str) -> Result<ExternalSignIn> {
        let Some(link) = self.store.linked_account(provider.code(), keys).await? else {
            return Ok(ExternalSignIn::Unlinked);
        };
        match self.principal(&link.login, request).await {
            Ok(p) => Ok(ExternalSignIn::Accepted(p)),
            Err(AppError::Forbidden(_)) => Ok(ExternalSignIn::Unlinked),
            Err(e) => Err(e),
        }
    }

    /// End the sessions a provider's back-channel logout names (its signature checked by the
    /// caller): by session id, else by subject. Not audited: a session changes no data.
    pub async fn external_logout(&self, provider: Provider, sid: Option<&str>, sub: Option<&str>) -> Result<u64> {
        let tag = |v: &str| format!("{} {v}", provider.code());
        Ok(self.store.end_external_sessions(sid.map(tag).as_deref(), sub.map(tag).as_deref()).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psc_national_identifier_gives_the_rpps() {
        assert_eq!(psc_rpps("810000000009").map(|r| r.to_string()).as_deref(), Some("10000000009"));
        assert_eq!(psc_rpps("10000000009").map(|r| r.to_string()).as_deref(), Some("10000000009"));
        // ADELI-based national identifier: no RPPS.
        assert!(psc_rpps("0123456789").is_none());
        assert!(psc_rpps("810000000003").is_none());
    }

    #[test]
    fn keys_are_checked_and_normalised() {
        assert_eq!(Provider::Psc.key("100 0000 0009").ok().as_deref(), Some("10000000009"));
        assert!(Provider::Psc.key("10000000003").is_err());
        assert_eq!(Provider::ProConnect.key(" Agent@ARS.Sante.fr ").ok().as_deref(), Some("agent@ars.sante.fr"));
        assert_eq!(Provider::ProConnect.key("b6a3e2c1").ok().as_deref(), Some("b6a3e2c1"));
        assert!(Provider::ProConnect.key("  ").is_err());
    }
}
