//! OpenID Connect relying party for Pro Santé Connect and ProConnect: authorization code flow
//! with PKCE (S256), `state` and `nonce` kept in the server-side session; the ID token (and a
//! signed userinfo) checked against the provider's JWKS (signature, `iss`, `aud`, `exp`,
//! `nonce`); RP-initiated and back-channel logout. The provider vouches for an identity; the
//! application decides which account, if any, it opens (`App::external_sign_in`).
//!
//! Built on reqwest (rustls with ring) and jsonwebtoken (pure-Rust RSA/ECDSA): the logout token
//! of back-channel logout is checked by the same code as the ID token, which `openidconnect`
//! does not cover.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use cpts_app::identities::Provider;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::RwLock;

/// How the client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TokenAuth {
    /// HTTP Basic with the client id and secret (`client_secret_basic`).
    #[default]
    ClientSecretBasic,
    /// Client id and secret in the form (`client_secret_post`).
    ClientSecretPost,
}

fn default_scopes() -> String {
    "openid".into()
}

fn default_skew() -> u64 {
    60
}

/// One provider's settings (the `psc:` or `proconnect:` section of the identity file).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// The issuer, exactly as the provider writes it in its tokens.
    pub issuer: String,
    /// The discovery document (default: issuer + `/.well-known/openid-configuration`).
    #[serde(default)]
    pub discovery: Option<String>,
    pub client_id: String,
    /// The client secret; better given in the environment (`CPTS_PSC_CLIENT_SECRET`,
    /// `CPTS_PROCONNECT_CLIENT_SECRET`), which wins over the file.
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub token_auth: TokenAuth,
    /// Space-separated scopes (PSC: `openid scope_all`; ProConnect: `openid email given_name
    /// usual_name uid siret`).
    #[serde(default = "default_scopes")]
    pub scopes: String,
    /// Requested authentication levels (PSC: `eidas1`); when given, the ID token's `acr` must
    /// be one of them.
    #[serde(default)]
    pub acr_values: Option<String>,
    /// This server's callback, registered with the provider: `https://HOST/connexion/psc/retour`.
    pub redirect_uri: String,
    /// Where the provider sends the user back after logout (registered with it).
    #[serde(default)]
    pub post_logout_redirect_uri: Option<String>,
    /// Clock difference tolerated on `exp` and `iat`, in seconds.
    #[serde(default = "default_skew")]
    pub clock_skew_seconds: u64,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("ProviderConfig").field("issuer", &self.issuer).field("client_id", &self.client_id).finish_non_exhaustive()
    }
}

/// The identity file: each provider configured is offered on the sign-in page.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityConfig {
    #[serde(default)]
    pub psc: Option<ProviderConfig>,
    #[serde(default)]
    pub proconnect: Option<ProviderConfig>,
}

impl IdentityConfig {
    /// Read the YAML file; secrets from the environment override the file's.
    pub fn from_yaml(text: &str) -> Result<IdentityConfig, String> {
        let mut c: IdentityConfig = yaml_serde::from_str(text).map_err(|e| format!("fichier d'identité illisible : {e}"))?;
        for (p, var) in [(&mut c.psc, "CPTS_PSC_CLIENT_SECRET"), (&mut c.proconnect, "CPTS_PROCONNECT_CLIENT_SECRET")] {
            if let (Some(p), Ok(s)) = (p.as_mut(), std::env::var(var)) {
                p.client_secret = Some(s);
            }
        }
        Ok(c)
    }
}

/// What the discovery document gives.
#[derive(Clone, Debug, Deserialize)]
struct Metadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
    jwks_uri: String,
    #[serde(default)]
    end_session_endpoint: Option<String>,
}

/// A provider at run time: its settings, and its metadata and keys fetched on first use (the
/// server starts even when a provider is down).
struct Client {
    provider: Provider,
    config: ProviderConfig,
    meta: RwLock<Option<Arc<Metadata>>>,
    keys: RwLock<Option<Arc<JwkSet>>>,
}

/// The configured providers.
pub struct Identity {
    clients: Vec<Client>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.clients.iter().map(|c| c.provider.code())).finish()
    }
}

/// Why a sign-in through a provider failed, said to the user.
#[derive(Debug)]
pub enum OidcError {
    /// The provider could not be reached or answered something unreadable.
    Unavailable(String),
    /// A check failed: the answer is not to be trusted.
    Refused(String),
}

impl std::fmt::Display for OidcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OidcError::Unavailable(m) | OidcError::Refused(m) => f.write_str(m),
        }
    }
}

fn unavailable(p: Provider, e: impl std::fmt::Display) -> OidcError {
    OidcError::Unavailable(format!("{p} ne répond pas comme attendu ({e})"))
}

fn refused(m: impl Into<String>) -> OidcError {
    OidcError::Refused(m.into())
}

/// A sign-in under way, kept in the session between the redirect and the callback.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Flow {
    pub provider: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub next: String,
    pub started: i64,
}

/// A session opened through a provider: what logout needs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Opened {
    pub provider: String,
    pub sub: String,
    pub sid: Option<String>,
    pub id_token: String,
}

/// The identity a provider vouched for.
#[derive(Debug)]
pub struct Vouched {
    pub sub: String,
    pub sid: Option<String>,
    pub id_token: String,
    /// The userinfo claims (or the ID token's when there is no userinfo endpoint).
    pub claims: serde_json::Map<String, Value>,
}

const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// A sign-in must come back within this delay (seconds).
pub const FLOW_TTL: i64 = 600;

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The PKCE challenge of a verifier (S256).
pub fn challenge(verifier: &str) -> String {
    b64url(&Sha256::digest(verifier.as_bytes()))
}

/// Signatures accepted: asymmetric only (a token signed with the client secret, or unsigned,
/// is refused).
const ALGORITHMS: [Algorithm; 7] =
    [Algorithm::RS256, Algorithm::RS384, Algorithm::RS512, Algorithm::PS256, Algorithm::PS384, Algorithm::PS512, Algorithm::ES256];

impl Identity {
    pub fn new(config: &IdentityConfig) -> Result<Option<Identity>, String> {
        let mut clients = Vec::new();
        for (provider, c) in [(Provider::Psc, &config.psc), (Provider::ProConnect, &config.proconnect)] {
            if let Some(c) = c {
                clients.push(Client { provider, config: c.clone(), meta: RwLock::new(None), keys: RwLock::new(None) });
            }
        }
        if clients.is_empty() {
            return Ok(None);
        }
        // One process-wide TLS provider; already installed is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("client HTTP impossible : {e}"))?;
        Ok(Some(Identity { clients, http }))
    }

    /// The providers offered, in a fixed order.
    pub fn providers(&self) -> Vec<Provider> {
        self.clients.iter().map(|c| c.provider).collect()
    }

    fn client(&self, p: Provider) -> Option<&Client> {
        self.clients.iter().find(|c| c.provider == p)
    }

    pub fn has(&self, p: Provider) -> bool {
        self.client(p).is_some()
    }

    /// The configured issuer: an authorization response naming another (`iss`, RFC 9207) is
    /// refused (mix-up defence).
    pub fn issuer(&self, p: Provider) -> Option<&str> {
        self.client(p).map(|c| c.config.issuer.as_str())
    }

    async fn meta(&self, c: &Client) -> Result<Arc<Metadata>, OidcError> {
        if let Some(m) = c.meta.read().await.clone() {
            return Ok(m);
        }
        let url = c.config.discovery.clone().unwrap_or_else(|| format!("{}/.well-known/openid-configuration", c.config.issuer.trim_end_matches('/')));
        let m: Metadata = self.get_json(c.provider, &url).await?;
        if m.issuer != c.config.issuer {
            return Err(unavailable(c.provider, format!("émetteur « {} » annoncé, « {} » configuré", m.issuer, c.config.issuer)));
        }
        let m = Arc::new(m);
        *c.meta.write().await = Some(m.clone());
        Ok(m)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, p: Provider, url: &str) -> Result<T, OidcError> {
        let r = self.http.get(url).send().await.map_err(|e| unavailable(p, e))?;
        if !r.status().is_success() {
            return Err(unavailable(p, format!("{url} : {}", r.status())));
        }
        r.json().await.map_err(|e| unavailable(p, e))
    }

    /// The provider's keys; fetched again once when a token names a key not in the cached set
    /// (the provider rotated its keys).
    async fn key(&self, c: &Client, meta: &Metadata, kid: Option<&str>) -> Result<DecodingKey, OidcError> {
        for refresh in [false, true] {
            let cached = c.keys.read().await.clone();
            let set = match cached {
                Some(s) if !refresh => s,
                _ => {
                    let s: Arc<JwkSet> = Arc::new(self.get_json(c.provider, &meta.jwks_uri).await?);
                    *c.keys.write().await = Some(s.clone());
                    s
                }
            };
            let jwk = match kid {
                Some(k) => set.find(k),
                None if set.keys.len() == 1 => set.keys.first(),
                None => None,
            };
            if let Some(jwk) = jwk {
                return DecodingKey::from_jwk(jwk).map_err(|e| unavailable(c.provider, format!("clé illisible : {e}")));
            }
        }
        Err(refused(format!("{} : jeton signé par une clé inconnue", c.provider)))
    }

    /// A JWT's claims once its signature (a key of the provider), issuer, audience and expiry
    /// are checked: those of `required` must be present, the others are checked when present.
    async fn verify(&self, c: &Client, meta: &Metadata, jwt: &str, required: &[&str]) -> Result<serde_json::Map<String, Value>, OidcError> {
        let header = jsonwebtoken::decode_header(jwt).map_err(|e| refused(format!("jeton illisible : {e}")))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(refused(format!("jeton signé avec un algorithme refusé ({:?})", header.alg)));
        }
        let key = self.key(c, meta, header.kid.as_deref()).await?;
        let mut v = Validation::new(header.alg);
        v.set_issuer(&[&meta.issuer]);
        v.set_audience(&[&c.config.client_id]);
        v.leeway = c.config.clock_skew_seconds;
        v.validate_exp = true;
        v.set_required_spec_claims(required);
        let data = jsonwebtoken::decode::<serde_json::Map<String, Value>>(jwt, &key, &v).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => refused(format!("{} : jeton expiré", c.provider)),
            jsonwebtoken::errors::ErrorKind::InvalidIssuer => refused(format!("{} : émetteur du jeton inattendu", c.provider)),
            jsonwebtoken::errors::ErrorKind::InvalidAudience => refused(format!("{} : jeton destiné à un autre service", c.provider)),
            jsonwebtoken::errors::ErrorKind::InvalidSignature => refused(format!("{} : signature du jeton invalide", c.provider)),
            _ => refused(format!("{} : jeton refusé ({e})", c.provider)),
        })?;
        let claims = data.claims;
        // Several audiences: we must be the authorized party.
        if let Some(Value::Array(auds)) = claims.get("aud")
            && auds.len() > 1
            && claims.get("azp").and_then(Value::as_str) != Some(c.config.client_id.as_str())
        {
            return Err(refused(format!("{} : jeton destiné à plusieurs services sans nous désigner", c.provider)));
        }
        Ok(claims)
    }

    /// Where to send the browser to sign in, and the flow to keep in the session.
    pub async fn start(&self, p: Provider, next: String, now: i64) -> Result<(String, Flow), OidcError> {
        let c = self.client(p).ok_or_else(|| refused(format!("{p} n'est pas configuré")))?;
        let meta = self.meta(c).await?;
        let flow = Flow {
            provider: p.code().into(),
            state: crate::sessions::random_token(),
            nonce: crate::sessions::random_token(),
            verifier: crate::sessions::random_token(),
            next,
            started: now,
        };
        let mut q = vec![
            ("response_type", "code".to_owned()),
            ("client_id", c.config.client_id.clone()),
            ("redirect_uri", c.config.redirect_uri.clone()),
            ("scope", c.config.scopes.clone()),
            ("state", flow.state.clone()),
            ("nonce", flow.nonce.clone()),
            ("code_challenge", challenge(&flow.verifier)),
            ("code_challenge_method", "S256".to_owned()),
        ];
        if let Some(a) = &c.config.acr_values {
            q.push(("acr_values", a.clone()));
        }
        let query = serde_urlencoded::to_string(&q).map_err(|e| unavailable(p, e))?;
        let sep = if meta.authorization_endpoint.contains('?') { '&' } else { '?' };
        Ok((format!("{}{sep}{query}", meta.authorization_endpoint), flow))
    }

    /// The callback: exchange the code (with the PKCE verifier), check the ID token against the
    /// flow's nonce, fetch userinfo. The caller has checked `state` and consumed the flow.
    pub async fn finish(&self, p: Provider, flow: &Flow, code: &str) -> Result<Vouched, OidcError> {
        let c = self.client(p).ok_or_else(|| refused(format!("{p} n'est pas configuré")))?;
        let meta = self.meta(c).await?;
        let secret = c.config.client_secret.clone().unwrap_or_default();
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", c.config.redirect_uri.as_str()),
            ("code_verifier", flow.verifier.as_str()),
        ];
        let mut req = self.http.post(&meta.token_endpoint);
        match c.config.token_auth {
            TokenAuth::ClientSecretBasic => {
                // RFC 6749 §2.3.1: both form-urlencoded before Basic.
                let enc = |s: &str| serde_urlencoded::to_string([("", s)]).map(|x| x.trim_start_matches('=').to_owned()).unwrap_or_default();
                req = req.basic_auth(enc(&c.config.client_id), Some(enc(&secret)));
            }
            TokenAuth::ClientSecretPost => {
                form.push(("client_id", c.config.client_id.as_str()));
                form.push(("client_secret", secret.as_str()));
            }
        }
        let r = req.form(&form).send().await.map_err(|e| unavailable(p, e))?;
        if !r.status().is_success() {
            let status = r.status();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            let what = body.get("error_description").or_else(|| body.get("error")).and_then(Value::as_str).unwrap_or("");
            return Err(refused(format!("{p} a refusé l'échange du code ({status}{}{what})", if what.is_empty() { "" } else { " : " })));
        }
        let tokens: HashMap<String, Value> = r.json().await.map_err(|e| unavailable(p, e))?;
        let id_token = tokens.get("id_token").and_then(Value::as_str).ok_or_else(|| refused(format!("{p} n'a pas donné de jeton d'identité")))?;
        let claims = self.verify(c, &meta, id_token, &["exp", "iss", "aud", "sub"]).await?;
        if claims.get("nonce").and_then(Value::as_str) != Some(flow.nonce.as_str()) {
            return Err(refused(format!("{p} : jeton d'identité d'une autre demande (nonce)")));
        }
        if claims.get("iat").and_then(Value::as_i64).is_none() {
            return Err(refused(format!("{p} : jeton d'identité sans date d'émission")));
        }
        if let Some(wanted) = &c.config.acr_values {
            let acr = claims.get("acr").and_then(Value::as_str).unwrap_or("");
            if !wanted.split_whitespace().any(|w| w == acr) {
                return Err(refused(format!("{p} : niveau d'authentification « {acr} » insuffisant (attendu : {wanted})")));
            }
        }
        let sub = claims.get("sub").and_then(Value::as_str).unwrap_or_default().to_owned();
        let sid = claims.get("sid").and_then(Value::as_str).map(str::to_owned);
        let mut info = claims.clone();
        if let (Some(url), Some(access)) = (&meta.userinfo_endpoint, tokens.get("access_token").and_then(Value::as_str)) {
            info = self.userinfo(c, &meta, url, access).await?;
            if info.get("sub").and_then(Value::as_str) != Some(sub.as_str()) {
                return Err(refused(format!("{p} : informations d'une autre personne que le jeton d'identité")));
            }
        }
        Ok(Vouched { sub, sid, id_token: id_token.to_owned(), claims: info })
    }

    /// Userinfo as JSON, or as a JWT signed by the provider (Pro Santé Connect may answer so).
    async fn userinfo(&self, c: &Client, meta: &Metadata, url: &str, access: &str) -> Result<serde_json::Map<String, Value>, OidcError> {
        let p = c.provider;
        let r = self.http.get(url).bearer_auth(access).send().await.map_err(|e| unavailable(p, e))?;
        if !r.status().is_success() {
            return Err(unavailable(p, format!("userinfo : {}", r.status())));
        }
        let jwt = r
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/jwt"));
        if jwt {
            let text = r.text().await.map_err(|e| unavailable(p, e))?;
            // OpenID Connect Core §5.3.2: iss and aud SHOULD be there; checked when they are.
            self.verify(c, meta, text.trim(), &["sub"]).await
        } else {
            r.json().await.map_err(|e| unavailable(p, e))
        }
    }

    /// Where to send the browser to end its session at the provider (RP-initiated logout).
    pub async fn end_session_url(&self, opened: &Opened) -> Option<String> {
        let p = Provider::parse(&opened.provider).ok()?;
        let c = self.client(p)?;
        let meta = self.meta(c).await.ok()?;
        let end = meta.end_session_endpoint.as_ref()?;
        let mut q = vec![("id_token_hint", opened.id_token.clone()), ("client_id", c.config.client_id.clone())];
        if let Some(after) = &c.config.post_logout_redirect_uri {
            q.push(("post_logout_redirect_uri", after.clone()));
        }
        let query = serde_urlencoded::to_string(&q).ok()?;
        let sep = if end.contains('?') { '&' } else { '?' };
        Some(format!("{end}{sep}{query}"))
    }

    /// A back-channel logout token checked (OpenID Connect Back-Channel Logout 1.0 §2.6): the
    /// `sid` and `sub` it names.
    pub async fn logout_token(&self, p: Provider, jwt: &str) -> Result<(Option<String>, Option<String>), OidcError> {
        let c = self.client(p).ok_or_else(|| refused(format!("{p} n'est pas configuré")))?;
        let meta = self.meta(c).await?;
        let claims = self.verify(c, &meta, jwt, &["iss", "aud"]).await?;
        if claims.get("iat").and_then(Value::as_i64).is_none() {
            return Err(refused("jeton de déconnexion sans date d'émission"));
        }
        if !claims.get("events").and_then(Value::as_object).is_some_and(|e| e.contains_key(BACKCHANNEL_EVENT)) {
            return Err(refused("jeton de déconnexion sans l'évènement attendu"));
        }
        if claims.contains_key("nonce") {
            return Err(refused("un jeton de déconnexion ne porte pas de nonce"));
        }
        let sid = claims.get("sid").and_then(Value::as_str).map(str::to_owned);
        let sub = claims.get("sub").and_then(Value::as_str).map(str::to_owned);
        if sid.is_none() && sub.is_none() {
            return Err(refused("jeton de déconnexion sans sid ni sub"));
        }
        Ok((sid, sub))
    }
}

/// The keys an identity is linked by, in order of preference: Pro Santé Connect, the RPPS from
/// the national identifier (`SubjectNameID`, else `preferred_username`); ProConnect, the subject
/// then the e-mail.
pub fn link_keys(p: Provider, v: &Vouched) -> Vec<String> {
    let text = |k: &str| v.claims.get(k).and_then(Value::as_str).map(str::to_owned);
    match p {
        Provider::Psc => ["SubjectNameID", "preferred_username"]
            .into_iter()
            .filter_map(text)
            .filter_map(|id| cpts_app::identities::psc_rpps(&id))
            .map(|r| r.to_string())
            .take(1)
            .collect(),
        Provider::ProConnect => {
            let mut keys = vec![v.sub.clone()];
            keys.extend(text("email").map(|e| e.trim().to_lowercase()));
            keys
        }
    }
}

/// How the person is named to them on the refusal page: the RPPS, or the e-mail.
pub fn shown_identity(p: Provider, v: &Vouched) -> String {
    let text = |k: &str| v.claims.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let name = format!("{} {}", text("given_name"), if p == Provider::Psc { text("family_name") } else { text("usual_name") });
    let key = match p {
        Provider::Psc => link_keys(p, v).first().map(|r| format!("RPPS {r}")).unwrap_or_else(|| format!("identifiant national {}", text("SubjectNameID"))),
        Provider::ProConnect => {
            let e = text("email");
            if e.is_empty() { format!("identifiant {}", v.sub) } else { e }
        }
    };
    let name = name.trim();
    if name.is_empty() { key } else { format!("{name} ({key})") }
}
