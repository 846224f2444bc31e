//! OIDC bearer tokens (JWT, RFC 7519, in JWS compact form) validated against a configured
//! issuer: the signature with a key from the issuer's JWKS (RFC 7517), the algorithm
//! from a configured list (never `none`, never an HMAC), `iss`, `aud`, `exp` and `nbf`
//! with a small leeway. The tenants, roles and channels come from configured claims.
//!
//! The header may name its type (`typ`: `JWT` or `at+jwt`, RFC 9068) and no critical
//! extension (`crit`, RFC 7515 §4.1.11: this service understands none, so a token
//! that has one is refused).
//!
//! The signature is checked with `ring`, which the TLS stack brings already; the keys
//! are fetched over HTTPS (plain HTTP only from a loopback address, for tests), cached,
//! fetched again when older than the refresh interval (in the background, one fetch at
//! a time, while the cached keys still verify) and when a token names an unknown `kid`
//! (at most once per [`OidcConfig::min_refetch`]). Keys that could not be refreshed for
//! longer than [`OidcConfig::max_key_age`] are no longer trusted: the issuer may have
//! withdrawn them.

use crate::auth::{Grant, Principal, Role};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use midoffice_domain::TenantId;
use midoffice_domain::contact::Channel;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{Mutex, RwLock};

/// The largest JWKS document read.
const MAX_JWKS_BYTES: usize = 1 << 20;
/// How long fetching the JWKS may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// A signature algorithm a token may use. HMAC and `none` are not among them: a
/// public key must never serve as a shared secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    EdDSA,
}

impl Algorithm {
    /// Every algorithm supported.
    pub const ALL: [Algorithm; 9] = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ];

    /// The JOSE name (`alg`).
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    /// Parses a JOSE name; `none` and HMAC (`HS256`…) are not algorithms here.
    pub fn parse(raw: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.as_str() == raw)
    }
}

/// The configured issuer.
#[derive(Clone, Debug)]
pub struct OidcConfig {
    /// `iss` must equal this.
    pub issuer: String,
    /// `aud` must be or contain this.
    pub audience: String,
    /// Where the issuer publishes its keys: `https://…`, or `http://` on loopback.
    pub jwks_url: String,
    /// The algorithms accepted (at least one).
    pub algorithms: Vec<Algorithm>,
    /// Clock difference allowed on `exp` and `nbf`.
    pub leeway: Duration,
    /// The claim holding the tenant(s): a string or a list of strings.
    pub tenants_claim: String,
    /// The claim holding the roles: a list of strings (or one space-separated string).
    pub roles_claim: String,
    /// The claim holding the channels the caller is limited to; absent: every channel.
    pub channels_claim: Option<String>,
    /// Keys older than this are fetched again.
    pub refresh: Duration,
    /// Keys that could not be refreshed for longer than this verify nothing.
    pub max_key_age: Duration,
    /// An unknown `kid` fetches the keys at most this often.
    pub min_refetch: Duration,
    /// The CA certificates (PEM) trusted for the JWKS URL instead of the built-in web
    /// roots, for an issuer behind the municipality's own CA.
    pub jwks_ca_pem: Option<Vec<u8>>,
}

impl OidcConfig {
    /// The certificates of a PEM file; none, or one that does not parse, is an error.
    pub fn check_ca(pem: &[u8]) -> Result<(), String> {
        ca_certificates(pem).map(|_| ())
    }

    /// Checks the URL of the keys: HTTPS, or HTTP on a loopback address only.
    pub fn check_jwks_url(url: &str) -> Result<(), String> {
        let parsed = Url::parse(url)?;
        if !parsed.https && !parsed.is_loopback() {
            return Err(format!(
                "the JWKS URL must use https:// (plain http:// only on a loopback address): {url}"
            ));
        }
        Ok(())
    }
}

fn ca_certificates(
    pem: &[u8],
) -> Result<Vec<tokio_rustls::rustls::pki_types::CertificateDer<'static>>, String> {
    use tokio_rustls::rustls::pki_types::CertificateDer;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not PEM certificates: {e}"))?;
    if certs.is_empty() {
        return Err("no certificate in it".to_owned());
    }
    Ok(certs)
}

/// A URL as far as fetching the keys needs it.
struct Url {
    https: bool,
    host: String,
    port: u16,
    path_and_query: String,
}

impl Url {
    fn parse(url: &str) -> Result<Url, String> {
        let bad = || format!("not a URL such as https://login.example.nl/keys: {url}");
        let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(bad());
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(bad());
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(bad)?;
            (host.to_owned(), after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (authority.to_owned(), None),
            }
        };
        let port = match port {
            Some(p) => p.parse().map_err(|_| bad())?,
            None if https => 443,
            None => 80,
        };
        Ok(Url {
            https,
            host,
            port,
            path_and_query: path.to_owned(),
        })
    }

    fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

/// A public key from the JWKS, ready to check signatures.
#[derive(Debug, Clone)]
enum Key {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    P256(Vec<u8>),
    P384(Vec<u8>),
    Ed25519(Vec<u8>),
}

#[derive(Debug, Clone)]
struct CachedKey {
    kid: Option<String>,
    /// The `alg` the JWK is limited to, if it says.
    alg: Option<String>,
    key: Key,
}

#[derive(Debug, Default)]
struct Cache {
    keys: Vec<CachedKey>,
    fetched: Option<Instant>,
    last_attempt: Option<Instant>,
}

/// A configured issuer with its key cache.
#[derive(Debug)]
pub struct Oidc {
    config: OidcConfig,
    cache: RwLock<Cache>,
    /// One fetch at a time.
    fetching: Mutex<()>,
    /// A background refresh is under way; no second one is started.
    refreshing: AtomicBool,
    tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
    /// Any value (even a malformed one) means a token this service does not understand.
    crit: Option<serde_json::Value>,
}

/// Whether a `typ` header names a JWT or an OAuth access token (RFC 9068), with or
/// without the `application/` prefix, in any case (RFC 7515 §4.1.9).
fn acceptable_type(typ: &str) -> bool {
    let typ = typ.trim();
    let bare = match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
        _ => typ,
    };
    bare.eq_ignore_ascii_case("JWT") || bare.eq_ignore_ascii_case("at+jwt")
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    usage: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

fn b64(part: &str) -> Result<Vec<u8>, &'static str> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| "the token is not base64url")
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Oidc {
    /// The issuer, with an empty key cache.
    pub fn new(config: OidcConfig) -> Self {
        let mut roots = tokio_rustls::rustls::RootCertStore::empty();
        match &config.jwks_ca_pem {
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            Some(pem) => match ca_certificates(pem) {
                Ok(certs) => {
                    let (_, ignored) = roots.add_parsable_certificates(certs);
                    if ignored > 0 {
                        tracing::warn!(ignored, "certificates of the JWKS CA file not usable");
                    }
                }
                Err(e) => tracing::error!(error = %e, "the JWKS CA file"),
            },
        }
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        // The ring provider supports the safe default versions; should it ever not,
        // fetching says so and the keys stay unfetched.
        let tls = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
            .inspect_err(|e| tracing::error!(error = %e, "no TLS client for the OIDC keys"))
            .ok();
        Oidc {
            config,
            cache: RwLock::new(Cache::default()),
            fetching: Mutex::new(()),
            refreshing: AtomicBool::new(false),
            tls,
        }
    }

    /// Fetches the keys once, logging a failure.
    pub async fn warm_up(&self) {
        self.refetch(Duration::ZERO).await;
    }

    /// Validates a token; the error says why, without the token.
    pub async fn validate(self: &Arc<Self>, token: &str) -> Result<Principal, &'static str> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("the token is not a JWS in compact form");
        };
        let header: Header =
            serde_json::from_slice(&b64(h)?).map_err(|_| "the token header is not valid")?;
        if header.crit.is_some() {
            return Err(
                "the token has critical header parameters this service does not understand",
            );
        }
        if header.typ.as_deref().is_some_and(|t| !acceptable_type(t)) {
            return Err("the token's type is not JWT or at+jwt");
        }
        let alg = Algorithm::parse(&header.alg)
            .filter(|a| self.config.algorithms.contains(a))
            .ok_or("the token's algorithm is not accepted")?;
        let signature = b64(s)?;
        let signed = &token.as_bytes()[..h.len() + 1 + p.len()];

        let key = self.key_for(header.kid.as_deref(), alg).await?;
        verify(&key, alg, signed, &signature)?;

        let claims: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&b64(p)?).map_err(|_| "the token claims are not valid")?;
        self.check_claims(&claims)
    }

    fn check_claims(
        &self,
        claims: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Principal, &'static str> {
        use serde_json::Value;
        let c = &self.config;
        if claims.get("iss").and_then(Value::as_str) != Some(c.issuer.as_str()) {
            return Err("the token is from another issuer");
        }
        let audience_ok = match claims.get("aud") {
            Some(Value::String(a)) => *a == c.audience,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(&c.audience)),
            _ => false,
        };
        if !audience_ok {
            return Err("the token is for another audience");
        }
        let now = now_secs();
        let leeway = c.leeway.as_secs() as i64;
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or("the token has no expiry")?;
        if now > exp.saturating_add(leeway) {
            return Err("the token has expired");
        }
        if let Some(nbf) = claims.get("nbf") {
            let nbf = nbf.as_i64().ok_or("the token's nbf is not a time")?;
            if now < nbf.saturating_sub(leeway) {
                return Err("the token is not valid yet");
            }
        }
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or("the token has no subject")?;
        let tenants: Vec<TenantId> = strings(claims.get(&c.tenants_claim))
            .into_iter()
            .map(|t| TenantId::parse(&t))
            .collect::<Result<_, _>>()
            .map_err(|_| "the token's tenant claim is not valid")?;
        if tenants.is_empty() {
            return Err("the token names no tenant");
        }
        // Roles this service does not know are someone else's: they grant nothing here.
        let roles: Vec<Role> = strings(claims.get(&c.roles_claim))
            .iter()
            .filter_map(|r| Role::parse(r))
            .collect();
        let channels = match &c.channels_claim {
            Some(name) if claims.contains_key(name) => Some(
                strings(claims.get(name))
                    .iter()
                    .map(|ch| Channel::parse(&ch.to_ascii_uppercase()))
                    .collect::<Option<Vec<_>>>()
                    .ok_or("the token's channel claim is not valid")?,
            ),
            _ => None,
        };
        Ok(Principal {
            subject: format!("oidc:{subject}"),
            grant: Grant {
                tenants,
                roles,
                channels,
            },
        })
    }

    /// The key for `kid` (or the only fitting key when the token names none), fetching
    /// the keys when they are stale or the `kid` is unknown.
    async fn key_for(
        self: &Arc<Self>,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Key, &'static str> {
        let (empty, stale, too_old) = {
            let cache = self.cache.read().await;
            let age = cache.fetched.map(|at| at.elapsed());
            (
                cache.keys.is_empty(),
                age.is_none_or(|a| a >= self.config.refresh),
                age.is_none_or(|a| a >= self.config.max_key_age),
            )
        };
        if empty || too_old {
            self.refetch(self.config.min_refetch).await;
        } else if stale {
            // Old keys still verify while the new ones come: refresh in the background,
            // so no call waits for the issuer.
            self.refresh_in_background();
        }
        if let Some(key) = self.find(kid, alg).await? {
            return Ok(key);
        }
        // An unknown kid: the issuer may have rolled its keys.
        self.refetch(self.config.min_refetch).await;
        self.find(kid, alg)
            .await?
            .ok_or("the token's signing key is unknown")
    }

    /// Starts a refresh in the background unless one is under way; whether it started.
    fn refresh_in_background(self: &Arc<Self>) -> bool {
        if self.refreshing.swap(true, Ordering::AcqRel) {
            return false;
        }
        /// Clears the flag when the refresh ends, however it ends.
        struct Done(Arc<Oidc>);
        impl Drop for Done {
            fn drop(&mut self) {
                self.0.refreshing.store(false, Ordering::Release);
            }
        }
        let done = Done(Arc::clone(self));
        tokio::spawn(async move {
            done.0.refetch(done.0.config.min_refetch).await;
            drop(done);
        });
        true
    }

    async fn find(&self, kid: Option<&str>, alg: Algorithm) -> Result<Option<Key>, &'static str> {
        let cache = self.cache.read().await;
        if !cache.keys.is_empty()
            && cache
                .fetched
                .is_none_or(|at| at.elapsed() >= self.config.max_key_age)
        {
            return Err("the issuer's keys could not be refreshed for too long");
        }
        let fitting: Vec<&CachedKey> = cache
            .keys
            .iter()
            .filter(|k| kid.is_none() || k.kid.as_deref() == kid)
            .filter(|k| k.alg.as_deref().is_none_or(|a| a == alg.as_str()))
            .filter(|k| fits(&k.key, alg))
            .collect();
        match (kid, fitting.as_slice()) {
            (_, [one]) => Ok(Some(one.key.clone())),
            (_, []) => Ok(None),
            (None, _) => Err("the token names no key and the issuer has several"),
            (Some(_), _) => Err("the issuer publishes one kid for several keys"),
        }
    }

    /// Fetches the keys unless an attempt was made less than `min_gap` ago.
    async fn refetch(&self, min_gap: Duration) {
        let _one = self.fetching.lock().await;
        {
            let cache = self.cache.read().await;
            if cache.last_attempt.is_some_and(|at| at.elapsed() < min_gap) {
                return;
            }
        }
        let attempt = Instant::now();
        let result = tokio::time::timeout(FETCH_TIMEOUT, self.fetch()).await;
        let mut cache = self.cache.write().await;
        cache.last_attempt = Some(attempt);
        match result {
            Ok(Ok(keys)) => {
                tracing::info!(keys = keys.len(), "fetched the OIDC issuer's keys");
                cache.keys = keys;
                cache.fetched = Some(attempt);
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot fetch the OIDC issuer's keys"),
            Err(_) => tracing::warn!("fetching the OIDC issuer's keys timed out"),
        }
    }

    async fn fetch(&self) -> Result<Vec<CachedKey>, String> {
        let url = Url::parse(&self.config.jwks_url)?;
        let tcp = tokio::net::TcpStream::connect((url.host.as_str(), url.port))
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        let authority = if (url.https && url.port == 443) || (!url.https && url.port == 80) {
            url.host.clone()
        } else {
            format!("{}:{}", url.host, url.port)
        };
        let request = http::Request::get(url.path_and_query.as_str())
            .header(http::header::HOST, authority)
            .header(http::header::ACCEPT, "application/json")
            .body(Empty::<Bytes>::new())
            .map_err(|e| format!("bad request: {e}"))?;
        let body = if url.https {
            let name = tokio_rustls::rustls::pki_types::ServerName::try_from(url.host.clone())
                .map_err(|e| format!("bad host name: {e}"))?;
            let config = self.tls.clone().ok_or("no TLS client")?;
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS: {e}"))?;
            get(hyper_util::rt::TokioIo::new(tls), request).await?
        } else {
            get(hyper_util::rt::TokioIo::new(tcp), request).await?
        };
        let jwks: Jwks =
            serde_json::from_slice(&body).map_err(|e| format!("not a JWKS document: {e}"))?;
        Ok(jwks.keys.into_iter().filter_map(cached_key).collect())
    }
}

async fn get<I>(io: I, request: http::Request<Empty<Bytes>>) -> Result<Bytes, String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    let driver = tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    if !response.status().is_success() {
        driver.abort();
        return Err(format!("HTTP status {}", response.status()));
    }
    let body = Limited::new(response.into_body(), MAX_JWKS_BYTES)
        .collect()
        .await
        .map_err(|e| format!("reading the keys: {e}"))?
        .to_bytes();
    driver.abort();
    Ok(body)
}

/// A JWK as a key, if it is a signing key of a kind supported.
fn cached_key(jwk: Jwk) -> Option<CachedKey> {
    if jwk.usage.as_deref().is_some_and(|u| u != "sig") {
        return None;
    }
    let d = |v: &Option<String>| v.as_deref().and_then(|s| URL_SAFE_NO_PAD.decode(s).ok());
    let key = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
        ("RSA", _) => Key::Rsa {
            n: d(&jwk.n)?,
            e: d(&jwk.e)?,
        },
        ("EC", Some(crv @ ("P-256" | "P-384"))) => {
            let (x, y) = (d(&jwk.x)?, d(&jwk.y)?);
            let mut point = vec![0x04];
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            if crv == "P-256" {
                Key::P256(point)
            } else {
                Key::P384(point)
            }
        }
        ("OKP", Some("Ed25519")) => Key::Ed25519(d(&jwk.x)?),
        _ => return None,
    };
    Some(CachedKey {
        kid: jwk.kid,
        alg: jwk.alg,
        key,
    })
}

/// Whether a key is of the kind the algorithm needs.
fn fits(key: &Key, alg: Algorithm) -> bool {
    use Algorithm as A;
    matches!(
        (key, alg),
        (
            Key::Rsa { .. },
            A::RS256 | A::RS384 | A::RS512 | A::PS256 | A::PS384 | A::PS512
        ) | (Key::P256(_), A::ES256)
            | (Key::P384(_), A::ES384)
            | (Key::Ed25519(_), A::EdDSA)
    )
}

fn verify(key: &Key, alg: Algorithm, signed: &[u8], sig: &[u8]) -> Result<(), &'static str> {
    use Algorithm as A;
    let ok = match (key, alg) {
        (Key::Rsa { n, e }, _) => {
            let params: &signature::RsaParameters = match alg {
                A::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                A::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                A::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                A::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
                A::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
                A::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
                _ => return Err("the token's algorithm does not fit its key"),
            };
            RsaPublicKeyComponents { n, e }
                .verify(params, signed, sig)
                .is_ok()
        }
        (Key::P256(point), A::ES256) => {
            UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(signed, sig)
                .is_ok()
        }
        (Key::P384(point), A::ES384) => {
            UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point)
                .verify(signed, sig)
                .is_ok()
        }
        (Key::Ed25519(x), A::EdDSA) => UnparsedPublicKey::new(&signature::ED25519, x)
            .verify(signed, sig)
            .is_ok(),
        _ => return Err("the token's algorithm does not fit its key"),
    };
    if ok {
        Ok(())
    } else {
        Err("the token's signature is not valid")
    }
}

/// A claim as a list of strings: a list, or one string split on spaces.
fn strings(value: Option<&serde_json::Value>) -> Vec<String> {
    match value {
        Some(serde_json::Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        Some(serde_json::Value::Array(list)) => list
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_and_hmac_are_never_algorithms() {
        for raw in ["none", "HS256", "HS384", "HS512", "", "rs256"] {
            assert_eq!(Algorithm::parse(raw), None, "{raw}");
        }
        for a in Algorithm::ALL {
            assert_eq!(Algorithm::parse(a.as_str()), Some(a));
        }
    }

    /// RS256 and PS256, the algorithms of most single sign-on servers: ring cannot make
    /// RSA keys, so the test has `openssl` make one (it is on every machine the project
    /// builds on; without it this test fails rather than pass unchecked).
    #[test]
    fn rsa_signatures_verify_through_the_jwk() {
        let dir = tempfile::tempdir().unwrap();
        let pem = dir.path().join("rsa.pem");
        let der = dir.path().join("rsa.der");
        for args in [
            vec![
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
            ],
            vec!["rsa", "-traditional", "-outform", "DER", "-out"],
        ] {
            let mut cmd = std::process::Command::new("openssl");
            cmd.args(&args);
            if args[0] == "rsa" {
                cmd.arg(&der).arg("-in").arg(&pem);
            } else {
                cmd.arg(&pem);
            }
            let made = cmd.output().expect("openssl makes the RSA test key");
            assert!(made.status.success(), "{made:?}");
        }
        let der = std::fs::read(&der).unwrap();
        let kp = ring::signature::RsaKeyPair::from_der(&der).unwrap();
        let public = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(kp.public());
        let jwk: Jwk = serde_json::from_value(serde_json::json!({
            "kty": "RSA", "kid": "r1", "use": "sig",
            "n": URL_SAFE_NO_PAD.encode(&public.n),
            "e": URL_SAFE_NO_PAD.encode(&public.e),
        }))
        .unwrap();
        let key = cached_key(jwk).unwrap().key;
        let rng = ring::rand::SystemRandom::new();
        let message = b"header.claims";
        for (alg, padding) in [
            (
                Algorithm::RS256,
                &signature::RSA_PKCS1_SHA256 as &dyn signature::RsaEncoding,
            ),
            (Algorithm::PS256, &signature::RSA_PSS_SHA256),
        ] {
            let mut sig = vec![0; kp.public().modulus_len()];
            kp.sign(padding, &rng, message, &mut sig).unwrap();
            assert_eq!(verify(&key, alg, message, &sig), Ok(()), "{alg:?}");
            assert!(verify(&key, alg, b"header.other", &sig).is_err(), "{alg:?}");
            assert!(verify(&key, Algorithm::ES256, message, &sig).is_err());
        }
    }

    #[test]
    fn a_type_is_jwt_or_an_access_token_in_any_case() {
        for fine in [
            "JWT",
            "jwt",
            "at+jwt",
            "AT+JWT",
            "application/at+jwt",
            "Application/JWT",
        ] {
            assert!(acceptable_type(fine), "{fine}");
        }
        for refused in ["", "JOSE", "dpop+jwt", "logout+jwt", "application/", "JWT2"] {
            assert!(!acceptable_type(refused), "{refused}");
        }
    }

    #[tokio::test]
    async fn one_background_refresh_at_a_time() {
        // Keys from a port nobody listens on: the refresh fails, after a while.
        let oidc = Arc::new(Oidc::new(OidcConfig {
            issuer: "https://issuer.example".to_owned(),
            audience: "midoffice".to_owned(),
            jwks_url: "http://127.0.0.1:9/keys".to_owned(),
            algorithms: vec![Algorithm::ES256],
            leeway: Duration::ZERO,
            tenants_claim: "t".to_owned(),
            roles_claim: "r".to_owned(),
            channels_claim: None,
            refresh: Duration::ZERO,
            max_key_age: Duration::from_secs(60),
            min_refetch: Duration::ZERO,
            jwks_ca_pem: None,
        }));
        // Holding the fetch lock keeps the first refresh under way.
        let held = oidc.fetching.lock().await;
        assert!(oidc.refresh_in_background());
        for _ in 0..5 {
            assert!(!oidc.refresh_in_background(), "a second refresh started");
        }
        drop(held);
        while oidc.refreshing.load(Ordering::Acquire) {
            tokio::task::yield_now().await;
        }
        assert!(
            oidc.refresh_in_background(),
            "no refresh after the first ended"
        );
    }

    #[test]
    fn plain_http_keys_only_from_loopback() {
        assert!(OidcConfig::check_jwks_url("https://login.example.nl/keys").is_ok());
        assert!(OidcConfig::check_jwks_url("http://127.0.0.1:8080/keys").is_ok());
        assert!(OidcConfig::check_jwks_url("http://[::1]:8080/keys").is_ok());
        assert!(OidcConfig::check_jwks_url("http://localhost/keys").is_ok());
        assert!(OidcConfig::check_jwks_url("http://login.example.nl/keys").is_err());
        assert!(OidcConfig::check_jwks_url("ftp://x/keys").is_err());
    }
}
