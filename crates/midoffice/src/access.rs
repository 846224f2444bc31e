//! The `[access]` and `[tls]` tables of the configuration file, and `midoffice key new`.
//!
//! Credentials are configured in the file only (they are lists, which the environment
//! and flags do not carry well): API keys by the SHA-256 hash of the key, client
//! certificates by the SHA-256 fingerprint of their DER encoding, and one OIDC issuer.
//! No key, token or private key is ever written to the log.

use midoffice_api::auth::{AccessConfig, ApiKey, ClientCert, Grant, Role};
use midoffice_api::oidc::{Algorithm, OidcConfig};
use midoffice_domain::TenantId;
use midoffice_domain::contact::Channel;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// `[access]`: the credentials. Empty: development access, loopback only.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table [access]")]
pub struct AccessTable {
    #[serde(default)]
    keys: Vec<CredentialTable>,
    #[serde(default)]
    client_certs: Vec<CredentialTable>,
    oidc: Option<OidcTable>,
}

/// `[[access.keys]]` and `[[access.client_certs]]`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a credential: name, sha256, tenants, roles, optional channels"
)]
struct CredentialTable {
    name: String,
    sha256: String,
    tenants: Vec<String>,
    roles: Vec<String>,
    channels: Option<Vec<String>>,
}

/// `[access.oidc]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table [access.oidc]")]
struct OidcTable {
    issuer: String,
    audience: String,
    jwks_url: String,
    #[serde(default = "default_algorithms")]
    algorithms: Vec<String>,
    #[serde(default = "default_leeway")]
    leeway_seconds: u64,
    #[serde(default = "default_tenants_claim")]
    tenants_claim: String,
    #[serde(default = "default_roles_claim")]
    roles_claim: String,
    channels_claim: Option<String>,
    #[serde(default = "default_refresh")]
    refresh_seconds: u64,
    #[serde(default = "default_max_key_age")]
    max_key_age_seconds: u64,
    /// A PEM file of the CA(s) trusted for jwks_url instead of the built-in web roots.
    jwks_ca: Option<String>,
}

fn default_algorithms() -> Vec<String> {
    vec!["RS256".to_owned()]
}
fn default_leeway() -> u64 {
    60
}
fn default_tenants_claim() -> String {
    "midoffice_tenants".to_owned()
}
fn default_roles_claim() -> String {
    "midoffice_roles".to_owned()
}
fn default_refresh() -> u64 {
    3600
}
/// A day: an issuer down for longer than that has had time to withdraw a key.
fn default_max_key_age() -> u64 {
    24 * 3600
}

/// The longest leeway allowed on a token's times.
const MAX_LEEWAY_SECONDS: u64 = 300;
/// An unknown `kid` fetches the issuer's keys at most this often.
const MIN_REFETCH: Duration = Duration::from_secs(30);

/// `[tls]`: the server's certificate and key, and the CA of client certificates.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table [tls]")]
pub struct TlsTable {
    cert: Option<String>,
    key: Option<String>,
    client_ca: Option<String>,
}

/// Where TLS comes from.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: Option<PathBuf>,
}

impl TlsFiles {
    /// Reads the files.
    pub fn read(&self) -> Result<midoffice_api::Tls, String> {
        let read = |p: &PathBuf, what: &str| {
            std::fs::read(p).map_err(|e| format!("cannot read the TLS {what} {}: {e}", p.display()))
        };
        Ok(midoffice_api::Tls {
            cert_pem: read(&self.cert, "certificate")?,
            key_pem: read(&self.key, "key")?,
            client_ca_pem: self
                .client_ca
                .as_ref()
                .map(|p| read(p, "client CA"))
                .transpose()?,
        })
    }
}

impl TlsTable {
    /// The files, if TLS is configured; a certificate without a key (or the reverse),
    /// or a client CA without TLS, is an error.
    pub fn files(self) -> Result<Option<TlsFiles>, String> {
        match (self.cert, self.key) {
            (Some(cert), Some(key)) => Ok(Some(TlsFiles {
                cert: cert.into(),
                key: key.into(),
                client_ca: self.client_ca.map(PathBuf::from),
            })),
            (None, None) if self.client_ca.is_none() => Ok(None),
            (None, None) => Err("[tls] client_ca needs tls.cert and tls.key".to_owned()),
            _ => Err("[tls] needs both cert and key".to_owned()),
        }
    }
}

fn grant(
    what: &str,
    tenants: &[String],
    roles: &[String],
    channels: Option<&[String]>,
) -> Result<Grant, String> {
    if tenants.is_empty() {
        return Err(format!("{what}: tenants must name at least one tenant"));
    }
    let tenants = tenants
        .iter()
        .map(|t| TenantId::parse(t).map_err(|why| format!("{what}: tenant {t:?}: {why}")))
        .collect::<Result<Vec<_>, _>>()?;
    if roles.is_empty() {
        return Err(format!("{what}: roles must name at least one role"));
    }
    let roles = roles
        .iter()
        .map(|r| {
            Role::parse(r).ok_or_else(|| {
                format!("{what}: {r:?} is not a role: use channel, dashboard, admin or privacy")
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let channels = channels
        .map(|list| {
            list.iter()
                .map(|c| {
                    parse_channel(c).ok_or_else(|| {
                        format!("{what}: {c:?} is not a channel: use phone, counter, web or email")
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    Ok(Grant {
        tenants,
        roles,
        channels,
    })
}

fn parse_channel(raw: &str) -> Option<Channel> {
    Channel::parse(&raw.to_ascii_uppercase())
}

fn sha256(what: &str, hex_text: &str) -> Result<[u8; 32], String> {
    let cleaned: String = hex_text
        .chars()
        .filter(|c| *c != ':')
        .collect::<String>()
        .to_ascii_lowercase();
    let bytes = hex::decode(&cleaned)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok());
    bytes.ok_or_else(|| format!("{what}: sha256 must be 64 hex digits (a SHA-256)"))
}

impl AccessTable {
    /// The credentials, checked.
    pub fn config(self) -> Result<AccessConfig, String> {
        let mut names = std::collections::BTreeSet::new();
        let mut keys = Vec::new();
        for k in &self.keys {
            let what = format!("access.keys {:?}", k.name);
            if k.name.trim().is_empty() || !names.insert(k.name.clone()) {
                return Err(format!("{what}: every key needs a name of its own"));
            }
            keys.push(ApiKey {
                name: k.name.clone(),
                sha256: sha256(&what, &k.sha256)?,
                grant: grant(&what, &k.tenants, &k.roles, k.channels.as_deref())?,
            });
        }
        let mut client_certs = Vec::new();
        for c in &self.client_certs {
            let what = format!("access.client_certs {:?}", c.name);
            if c.name.trim().is_empty() || !names.insert(c.name.clone()) {
                return Err(format!("{what}: every certificate needs a name of its own"));
            }
            client_certs.push(ClientCert {
                name: c.name.clone(),
                sha256: sha256(&what, &c.sha256)?,
                grant: grant(&what, &c.tenants, &c.roles, c.channels.as_deref())?,
            });
        }
        let oidc = self.oidc.map(oidc_config).transpose()?;
        Ok(AccessConfig {
            keys,
            client_certs,
            oidc,
        })
    }
}

fn oidc_config(t: OidcTable) -> Result<OidcConfig, String> {
    for (name, value) in [("issuer", &t.issuer), ("audience", &t.audience)] {
        if value.trim().is_empty() {
            return Err(format!("access.oidc.{name} must not be empty"));
        }
    }
    OidcConfig::check_jwks_url(&t.jwks_url).map_err(|e| format!("access.oidc.jwks_url: {e}"))?;
    if t.algorithms.is_empty() {
        return Err("access.oidc.algorithms must name at least one algorithm".to_owned());
    }
    let algorithms = t
        .algorithms
        .iter()
        .map(|a| {
            Algorithm::parse(a).ok_or_else(|| {
                format!(
                    "access.oidc.algorithms: {a:?} is not accepted: use {}",
                    Algorithm::ALL.map(Algorithm::as_str).join(", ")
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if t.leeway_seconds > MAX_LEEWAY_SECONDS {
        return Err(format!(
            "access.oidc.leeway_seconds must be at most {MAX_LEEWAY_SECONDS}"
        ));
    }
    if t.refresh_seconds < MIN_REFETCH.as_secs() {
        return Err(format!(
            "access.oidc.refresh_seconds must be at least {}",
            MIN_REFETCH.as_secs()
        ));
    }
    if t.max_key_age_seconds < t.refresh_seconds {
        return Err(format!(
            "access.oidc.max_key_age_seconds ({}) must be at least refresh_seconds ({})",
            t.max_key_age_seconds, t.refresh_seconds
        ));
    }
    let jwks_ca_pem = match &t.jwks_ca {
        None => None,
        Some(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| format!("access.oidc.jwks_ca: cannot read {path}: {e}"))?;
            OidcConfig::check_ca(&pem).map_err(|e| format!("access.oidc.jwks_ca {path}: {e}"))?;
            Some(pem)
        }
    };
    Ok(OidcConfig {
        issuer: t.issuer,
        audience: t.audience,
        jwks_url: t.jwks_url,
        algorithms,
        leeway: Duration::from_secs(t.leeway_seconds),
        tenants_claim: t.tenants_claim,
        roles_claim: t.roles_claim,
        channels_claim: t.channels_claim,
        refresh: Duration::from_secs(t.refresh_seconds),
        max_key_age: Duration::from_secs(t.max_key_age_seconds),
        min_refetch: MIN_REFETCH,
        jwks_ca_pem,
    })
}

/// What `midoffice key new` prints: the key once, and the entry to configure.
pub fn new_key_text(
    name: &str,
    tenants: &[String],
    roles: &[String],
    channels: &[String],
) -> Result<String, String> {
    let what = format!("key {name:?}");
    if name.trim().is_empty() {
        return Err("give the key a name, such as --name kcc-telefonie".to_owned());
    }
    let channels = (!channels.is_empty()).then_some(channels);
    // Checked as the configuration will check it, so the entry is accepted.
    grant(&what, tenants, roles, channels)?;
    let key = midoffice_api::auth::new_key().map_err(|e| format!("no randomness: {e}"))?;
    let hash = hex::encode(midoffice_api::auth::key_hash(&key));
    let list = |items: &[String]| {
        let quoted: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
        format!("[{}]", quoted.join(", "))
    };
    let mut entry = format!(
        "[[access.keys]]\nname = {name:?}\nsha256 = \"{hash}\"\ntenants = {}\nroles = {}\n",
        list(tenants),
        list(roles)
    );
    if let Some(channels) = channels {
        let lower: Vec<String> = channels.iter().map(|c| c.to_ascii_lowercase()).collect();
        entry.push_str(&format!("channels = {}\n", list(&lower)));
    }
    Ok(format!(
        "API key {name:?}, shown this once (only its hash is configured; keep it in the \
         client's secret store and send it as `authorization: Bearer <key>`):\n\n    \
         {key}\n\nAdd this entry to the configuration file, then restart midoffice:\n\n{entry}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<AccessConfig, String> {
        let t: AccessTable = toml::from_str(text).map_err(|e| e.to_string())?;
        t.config()
    }

    #[test]
    fn the_printed_entry_is_accepted_as_configuration() {
        let text = new_key_text(
            "kcc",
            &["gemeente-a".into(), "gemeente-b".into()],
            &["channel".into()],
            &["PHONE".into()],
        )
        .unwrap();
        let key = text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with(midoffice_api::auth::KEY_PREFIX))
            .unwrap();
        let entry = &text[text.find("[[access.keys]]").unwrap()..];
        let wrapped = entry.replace("[[access.keys]]", "[[keys]]");
        let config = parse(&wrapped).unwrap();
        assert_eq!(config.keys.len(), 1);
        assert_eq!(config.keys[0].sha256, midoffice_api::auth::key_hash(key));
        assert_eq!(config.keys[0].grant.channels, Some(vec![Channel::Phone]));
        assert_eq!(config.keys[0].grant.tenants.len(), 2);
    }

    #[test]
    fn bad_entries_are_refused_with_their_name() {
        let hash = "0".repeat(64);
        for (bad, says) in [
            (format!("[[keys]]\nname = \"a\"\nsha256 = \"{hash}\"\ntenants = []\nroles = [\"channel\"]"), "tenant"),
            (format!("[[keys]]\nname = \"a\"\nsha256 = \"{hash}\"\ntenants = [\"x\"]\nroles = [\"root\"]"), "role"),
            ("[[keys]]\nname = \"a\"\nsha256 = \"abc\"\ntenants = [\"x\"]\nroles = [\"admin\"]".to_owned(), "sha256"),
            (format!("[[keys]]\nname = \"a\"\nsha256 = \"{hash}\"\ntenants = [\"x\"]\nroles = [\"admin\"]\nchannels = [\"fax\"]"), "channel"),
            ("[oidc]\nissuer = \"https://i\"\naudience = \"m\"\njwks_url = \"http://example.nl/k\"".to_owned(), "https"),
            ("[oidc]\nissuer = \"https://i\"\naudience = \"m\"\njwks_url = \"https://i/k\"\nalgorithms = [\"HS256\"]".to_owned(), "not accepted"),
            ("[oidc]\nissuer = \"https://i\"\naudience = \"m\"\njwks_url = \"https://i/k\"\nalgorithms = [\"none\"]".to_owned(), "not accepted"),
            ("[oidc]\nissuer = \"https://i\"\naudience = \"m\"\njwks_url = \"https://i/k\"\nrefresh_seconds = 3600\nmax_key_age_seconds = 60".to_owned(), "max_key_age_seconds"),
        ] {
            let e = parse(&bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn tls_needs_cert_and_key() {
        let t: TlsTable = toml::from_str("cert = \"a\"").unwrap();
        assert!(t.files().is_err());
        let t: TlsTable = toml::from_str("client_ca = \"a\"").unwrap();
        assert!(t.files().is_err());
        let t: TlsTable = toml::from_str("").unwrap();
        assert!(t.files().unwrap().is_none());
    }
}
