//! Events to webhook subscribers (docs/api/events.md): the `[events]` table of the
//! configuration file, and the dispatcher task of `serve`.
//!
//! The dispatcher claims the deliveries of the configured subscribers that are due from
//! the outbox (`Store::claim_deliveries`, leased so that another server on the same database
//! does not send them meanwhile), POSTs each one as a structured-mode CloudEvent
//! (`application/cloudevents+json`, NL GOV profile) over HTTP/1.1, signed the Standard
//! Webhooks way (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64
//! HMAC-SHA256 of id.timestamp.body>`). A 2xx answer deletes the delivery; anything
//! else is tried again after an exponential backoff with jitter, up to a cap, and given
//! up after `max_attempts` (kept as failed, counted and logged). A periodic pass keeps
//! the overdue events of open commitments past due (those with a made event). On shutdown the deliveries in flight
//! finish (at most the request timeout) and the claimed ones not started are released.
//!
//! Nothing here logs a secret or an event's data: a log line names the tenant, the
//! subscriber, the event's id and type, and the HTTP status.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use midoffice_domain::TenantId;
use midoffice_store::{Delivery, Store};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// `[events]`: webhook subscribers per tenant. None: no events are kept or sent.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table [events]")]
pub struct EventsTable {
    source: Option<String>,
    retry_initial_seconds: Option<u64>,
    retry_max_seconds: Option<u64>,
    max_attempts: Option<u32>,
    overdue_interval_seconds: Option<u64>,
    #[serde(default)]
    subscribers: Vec<SubscriberTable>,
}

/// `[[events.subscribers]]`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a subscriber: tenant, name, url, and secret_file or secret_env"
)]
struct SubscriberTable {
    tenant: String,
    name: String,
    url: String,
    secret_file: Option<PathBuf>,
    secret_env: Option<String>,
}

/// The default `source`: a URN of the deployment, with the tenant.
pub const DEFAULT_SOURCE: &str = "urn:nld:midoffice:{tenant}";
const DEFAULT_RETRY_INITIAL: u64 = 10;
const DEFAULT_RETRY_MAX: u64 = 3600;
const DEFAULT_MAX_ATTEMPTS: u32 = 15;
const DEFAULT_OVERDUE_INTERVAL: u64 = 60;
/// The shortest secret accepted, in bytes.
const MIN_SECRET_BYTES: usize = 16;
/// How long one delivery may take (connect, TLS, request, answer).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a claim keeps other dispatchers off a delivery: past the request timeout.
const LEASE: Duration = Duration::from_secs(60);
/// How often the outbox is looked at.
const POLL: Duration = Duration::from_millis(500);
/// Deliveries claimed at a time per tenant.
const BATCH: u64 = 20;

/// The events configuration, checked.
#[derive(Clone, Default)]
pub struct EventsConfig {
    /// The CloudEvents `source`, `{tenant}` replaced by the tenant.
    pub source: String,
    pub retry_initial: Duration,
    pub retry_max: Duration,
    pub max_attempts: u32,
    pub overdue_interval: Duration,
    pub subscribers: Vec<Subscriber>,
}

/// One subscriber of one tenant.
#[derive(Clone)]
pub struct Subscriber {
    pub tenant: TenantId,
    pub name: String,
    pub url: String,
    /// The HMAC key (never shown).
    key: Arc<Vec<u8>>,
}

impl std::fmt::Debug for EventsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventsConfig")
            .field("source", &self.source)
            .field("subscribers", &self.subscribers)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("tenant", &self.tenant.as_str())
            .field("name", &self.name)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl EventsTable {
    /// The table checked, the secrets read (`env` looks up an environment variable).
    pub fn config(&self, env: impl Fn(&str) -> Option<String>) -> Result<EventsConfig, String> {
        let source = self.source.clone().unwrap_or_else(|| DEFAULT_SOURCE.into());
        if !(source.starts_with("urn:") || source.starts_with("https://"))
            || !source.contains("{tenant}")
            || source.chars().any(char::is_whitespace)
        {
            return Err(format!(
                "events.source must be a URN (urn:…) or an https:// URI with {{tenant}} in it, \
                 such as {DEFAULT_SOURCE}"
            ));
        }
        let seconds = |v: Option<u64>, default: u64, name: &str| match v {
            Some(0) => Err(format!("events.{name} must be at least 1")),
            Some(n) if n > 86_400 => Err(format!("events.{name} must be at most 86400")),
            v => Ok(Duration::from_secs(v.unwrap_or(default))),
        };
        let retry_initial = seconds(
            self.retry_initial_seconds,
            DEFAULT_RETRY_INITIAL,
            "retry_initial_seconds",
        )?;
        let retry_max = seconds(
            self.retry_max_seconds,
            DEFAULT_RETRY_MAX,
            "retry_max_seconds",
        )?;
        if retry_max < retry_initial {
            return Err(
                "events.retry_max_seconds must not be below events.retry_initial_seconds".into(),
            );
        }
        let overdue_interval = seconds(
            self.overdue_interval_seconds,
            DEFAULT_OVERDUE_INTERVAL,
            "overdue_interval_seconds",
        )?;
        let max_attempts = match self.max_attempts {
            Some(n) if n == 0 || n > 100 => {
                return Err("events.max_attempts must be from 1 to 100".into());
            }
            n => n.unwrap_or(DEFAULT_MAX_ATTEMPTS),
        };
        let mut subscribers: Vec<Subscriber> = Vec::new();
        for s in &self.subscribers {
            let tenant = TenantId::parse(&s.tenant)
                .map_err(|e| format!("[[events.subscribers]] tenant: {e}"))?;
            let named = &s.name;
            if named.is_empty()
                || named.len() > 64
                || !named
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
            {
                return Err(
                    "[[events.subscribers]] name: 1 to 64 of a-z, 0-9, '-' and '_'".to_owned(),
                );
            }
            if subscribers
                .iter()
                .any(|o| o.tenant == tenant && &o.name == named)
            {
                return Err(format!(
                    "[[events.subscribers]] {named} of tenant {tenant} is named twice"
                ));
            }
            Target::parse(&s.url).map_err(|e| format!("[[events.subscribers]] {named}: {e}"))?;
            let secret = match (&s.secret_file, &s.secret_env) {
                (Some(path), None) => std::fs::read_to_string(path).map_err(|e| {
                    format!(
                        "[[events.subscribers]] {named}: cannot read secret_file {}: {e}",
                        path.display()
                    )
                })?,
                (None, Some(var)) => env(var).ok_or_else(|| {
                    format!(
                        "[[events.subscribers]] {named}: the environment variable {var} \
                         (secret_env) is not set"
                    )
                })?,
                _ => {
                    return Err(format!(
                        "[[events.subscribers]] {named}: give the secret as exactly one of \
                         secret_file and secret_env (never in this file)"
                    ));
                }
            };
            let key = secret_key(secret.trim())
                .map_err(|e| format!("[[events.subscribers]] {named}: {e}"))?;
            subscribers.push(Subscriber {
                tenant,
                name: named.clone(),
                url: s.url.clone(),
                key: Arc::new(key),
            });
        }
        Ok(EventsConfig {
            source,
            retry_initial,
            retry_max,
            max_attempts,
            overdue_interval,
            subscribers,
        })
    }
}

/// The HMAC key of a secret: `whsec_<base64>` (Standard Webhooks) is the decoded
/// bytes, anything else its own bytes; at least 16 bytes either way.
fn secret_key(secret: &str) -> Result<Vec<u8>, String> {
    let key = match secret.strip_prefix("whsec_") {
        Some(b64) => B64
            .decode(b64)
            .map_err(|_| "the secret after whsec_ is not base64".to_owned())?,
        None => secret.as_bytes().to_vec(),
    };
    if key.len() < MIN_SECRET_BYTES {
        return Err(format!(
            "the secret is shorter than {MIN_SECRET_BYTES} bytes"
        ));
    }
    Ok(key)
}

/// Where a webhook goes: https, or http on loopback only.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Target {
    https: bool,
    host: String,
    port: u16,
    path: String,
}

impl Target {
    fn parse(url: &str) -> Result<Target, String> {
        let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err("the url must start with https:// (http:// only on loopback)".into());
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.contains('@') || authority.is_empty() {
            return Err("the url must name a host, without user info".into());
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
                match p.parse::<u16>() {
                    Ok(port) if !h.is_empty() => (h, port),
                    _ => return Err("the url's port is not a number".into()),
                }
            }
            _ => (authority, if https { 443 } else { 80 }),
        };
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !https && !loopback {
            return Err("the url must be https:// unless it is on loopback".into());
        }
        if path.contains(char::is_whitespace) || path.contains('#') {
            return Err("the url's path is not valid".into());
        }
        Ok(Target {
            https,
            host,
            port,
            path: path.to_owned(),
        })
    }

    fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if (self.https && self.port == 443) || (!self.https && self.port == 80) {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// The Standard Webhooks signature of a body: `v1,<base64 HMAC-SHA256 of
/// id.timestamp.body>`.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let mut ctx = ring::hmac::Context::with_key(&key);
    ctx.update(id.as_bytes());
    ctx.update(b".");
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    format!("v1,{}", B64.encode(ctx.sign().as_ref()))
}

/// The structured-mode CloudEvent of a delivery (NL GOV profile).
fn envelope(d: &Delivery, source: &str) -> Result<Vec<u8>, String> {
    let data: serde_json::Value =
        serde_json::from_str(&d.data).map_err(|_| "stored event data is not JSON".to_owned())?;
    let event = serde_json::json!({
        "specversion": "1.0",
        "id": d.event_id.to_string(),
        "source": source.replace("{tenant}", d.tenant.as_str()),
        "type": d.kind.type_name(),
        "subject": d.subject.to_string(),
        "time": d.time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        "datacontenttype": "application/json",
        "data": data,
    });
    serde_json::to_vec(&event).map_err(|e| e.to_string())
}

/// The dispatcher's HTTP client.
struct Client {
    tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
}

impl Client {
    fn new() -> Client {
        let mut roots = tokio_rustls::rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let tls = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
            .inspect_err(|e| tracing::error!(error = %e, "no TLS client for webhooks"))
            .ok();
        Client { tls }
    }

    /// POSTs `body` to `url`: the HTTP status, or why there is none.
    async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<u16, String> {
        let target = Target::parse(url)?;
        let mut request = http::Request::post(target.path.as_str())
            .header(http::header::HOST, target.authority())
            .header(http::header::CONTENT_TYPE, "application/cloudevents+json")
            .header(http::header::USER_AGENT, "midoffice-events");
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("bad request: {e}"))?;
        let tcp = tokio::net::TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        if target.https {
            let name = tokio_rustls::rustls::pki_types::ServerName::try_from(target.host.clone())
                .map_err(|e| format!("bad host name: {e}"))?;
            let config = self.tls.clone().ok_or("no TLS client")?;
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS: {e}"))?;
            send(hyper_util::rt::TokioIo::new(tls), request).await
        } else {
            send(hyper_util::rt::TokioIo::new(tcp), request).await
        }
    }
}

async fn send<I>(io: I, request: http::Request<Full<Bytes>>) -> Result<u16, String>
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
        .map_err(|e| format!("HTTP: {e}"));
    let status = match response {
        Ok(r) => {
            let status = r.status().as_u16();
            // The answer's body is not used; read a little of it so the exchange ends.
            let _ = http_body_util::Limited::new(r.into_body(), 64 * 1024)
                .collect()
                .await;
            Ok(status)
        }
        Err(e) => Err(e),
    };
    driver.abort();
    status
}

/// The delay before attempt `attempts + 1` after `attempts` failed ones: the initial
/// delay doubled per failure, at most the cap, then between half and all of it
/// (jitter, so subscribers coming back are not met by every retry at once).
pub fn backoff(config: &EventsConfig, attempts: u32, jitter: f64) -> Duration {
    let doubled = config
        .retry_initial
        .saturating_mul(1u32 << attempts.saturating_sub(1).min(20));
    let capped = doubled.min(config.retry_max);
    capped.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// A number in [0, 1) that differs per call.
fn jitter() -> f64 {
    use std::hash::BuildHasher;
    let n = std::collections::hash_map::RandomState::new().hash_one(uuid::Uuid::now_v7());
    (n >> 11) as f64 / (1u64 << 53) as f64
}

/// The counter of deliveries given up.
fn failed_counter() -> opentelemetry::metrics::Counter<u64> {
    opentelemetry::global::meter("midoffice")
        .u64_counter("midoffice.events.deliveries.failed")
        .with_description("Event deliveries given up after the last retry")
        .build()
}

/// The dispatcher and the overdue pass, until `stop` turns true.
pub async fn run(store: Store, config: EventsConfig, mut stop: watch::Receiver<bool>) {
    let client = Arc::new(Client::new());
    let failed = failed_counter();
    let mut by_tenant: BTreeMap<TenantId, Vec<Subscriber>> = BTreeMap::new();
    for s in &config.subscribers {
        by_tenant
            .entry(s.tenant.clone())
            .or_default()
            .push(s.clone());
    }
    let config = Arc::new(config);
    let mut next_overdue = tokio::time::Instant::now();
    loop {
        if *stop.borrow() {
            break;
        }
        if tokio::time::Instant::now() >= next_overdue {
            for tenant in by_tenant.keys() {
                match store.keep_overdue_events(tenant, chrono::Utc::now()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(tenant = %tenant, events = n, "overdue events kept"),
                    Err(e) => tracing::warn!(tenant = %tenant, error = %e, "overdue pass failed"),
                }
            }
            next_overdue = tokio::time::Instant::now() + config.overdue_interval;
        }
        let mut busy = false;
        for (tenant, subscribers) in &by_tenant {
            let claimed = match store
                .claim_deliveries(tenant, BATCH, chrono::Utc::now(), LEASE)
                .await
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(tenant = %tenant, error = %e, "cannot claim event deliveries");
                    continue;
                }
            };
            busy |= claimed.len() as u64 == BATCH;
            let mut tasks = tokio::task::JoinSet::new();
            for d in claimed {
                let subscriber = subscribers.iter().find(|s| s.name == d.subscriber).cloned();
                let (store, client, config, failed) = (
                    store.clone(),
                    client.clone(),
                    config.clone(),
                    failed.clone(),
                );
                tasks.spawn(async move {
                    deliver(&store, &client, &config, subscriber.as_ref(), &d, &failed).await;
                });
            }
            // Each delivery ends within the request timeout; a stop waits for them, so
            // none is left half done (sent, not marked).
            while tasks.join_next().await.is_some() {}
            if *stop.borrow() {
                break;
            }
        }
        if !busy {
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => {}
            }
        }
    }
    tracing::info!("event dispatcher stopped");
}

/// One delivery attempt and its outcome stored.
async fn deliver(
    store: &Store,
    client: &Client,
    config: &EventsConfig,
    subscriber: Option<&Subscriber>,
    d: &Delivery,
    failed: &opentelemetry::metrics::Counter<u64>,
) {
    let Some(subscriber) = subscriber else {
        // Not configured here (the store claims only configured subscribers' deliveries,
        // so only when the two lists differ): released for a server that has it.
        let _ = store.delivery_released(d).await;
        return;
    };
    let id = d.event_id.to_string();
    let outcome = match envelope(d, &config.source) {
        Err(e) => Err(e),
        Ok(body) => {
            let timestamp = chrono::Utc::now().timestamp();
            let headers = [
                ("webhook-id", id.clone()),
                ("webhook-timestamp", timestamp.to_string()),
                (
                    "webhook-signature",
                    signature(&subscriber.key, &id, timestamp, &body),
                ),
            ];
            match tokio::time::timeout(
                REQUEST_TIMEOUT,
                client.post(&subscriber.url, &headers, body),
            )
            .await
            {
                Ok(Ok(status)) if (200..300).contains(&status) => Ok(()),
                Ok(Ok(status)) => Err(format!("HTTP status {status}")),
                Ok(Err(e)) => Err(e),
                Err(_) => Err("no answer in time".to_owned()),
            }
        }
    };
    let now = chrono::Utc::now();
    let stored = match outcome {
        Ok(()) => {
            tracing::debug!(tenant = %d.tenant, subscriber = %d.subscriber, event_id = %id,
                type = d.kind.type_name(), "event delivered");
            store.delivery_done(d).await
        }
        Err(reason) => {
            let attempts = d.attempts + 1;
            if attempts >= config.max_attempts {
                failed.add(
                    1,
                    &[opentelemetry::KeyValue::new(
                        "tenant",
                        d.tenant.as_str().to_owned(),
                    )],
                );
                tracing::warn!(tenant = %d.tenant, subscriber = %d.subscriber, event_id = %id,
                    type = d.kind.type_name(), attempts, reason = %reason,
                    "event delivery given up: kept as failed");
                store.delivery_failed(d, None, now).await
            } else {
                let wait = backoff(config, attempts, jitter());
                tracing::info!(tenant = %d.tenant, subscriber = %d.subscriber, event_id = %id,
                    type = d.kind.type_name(), attempts, retry_in_ms = wait.as_millis() as u64,
                    reason = %reason, "event delivery failed: tried again later");
                let at = now + chrono::Duration::from_std(wait).unwrap_or_default();
                store.delivery_failed(d, Some(at), now).await
            }
        }
    };
    if let Err(e) = stored {
        // The claim runs out and the delivery is tried again (perhaps once more than
        // needed: receivers de-duplicate on the event id).
        tracing::warn!(tenant = %d.tenant, event_id = %id, error = %e,
            "cannot store a delivery's outcome");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(toml_text: &str) -> EventsTable {
        #[derive(Deserialize)]
        struct F {
            events: EventsTable,
        }
        toml::from_str::<F>(toml_text).expect("a table").events
    }

    #[test]
    fn urls_are_https_or_loopback() {
        assert!(Target::parse("https://crm.example.nl/hooks").is_ok());
        assert!(Target::parse("http://127.0.0.1:8080/x").is_ok());
        assert!(Target::parse("http://localhost/x").is_ok());
        assert!(Target::parse("http://[::1]:9/x").is_ok());
        assert!(Target::parse("http://crm.example.nl/hooks").is_err());
        assert!(Target::parse("ftp://x").is_err());
        assert!(Target::parse("https://u:p@x/").is_err());
        let t = Target::parse("https://x.nl:8443").unwrap();
        assert_eq!(
            (t.port, t.path.as_str(), t.authority()),
            (8443, "/", "x.nl:8443".into())
        );
    }

    #[test]
    fn a_subscriber_needs_a_secret_from_env_or_file_never_inline() {
        let env = |v: &str| (v == "HOOK").then(|| "0123456789abcdef0123".to_owned());
        let ok = table(
            "[[events.subscribers]]\ntenant = \"t\"\nname = \"crm\"\n\
             url = \"https://x.nl/h\"\nsecret_env = \"HOOK\"\n",
        )
        .config(env)
        .unwrap();
        assert_eq!(ok.subscribers.len(), 1);
        assert!(!format!("{ok:?}").contains("0123456789abcdef"));
        for bad in [
            "[[events.subscribers]]\ntenant = \"t\"\nname = \"crm\"\nurl = \"https://x.nl/h\"\n",
            "[[events.subscribers]]\ntenant = \"t\"\nname = \"crm\"\nurl = \"https://x.nl/h\"\nsecret_env = \"NOPE\"\n",
            "[[events.subscribers]]\ntenant = \"t\"\nname = \"crm\"\nurl = \"http://x.nl/h\"\nsecret_env = \"HOOK\"\n",
            "[[events.subscribers]]\ntenant = \"T T\"\nname = \"crm\"\nurl = \"https://x.nl/h\"\nsecret_env = \"HOOK\"\n",
            "[events]\nsource = \"midoffice\"\n",
            "[events]\nretry_initial_seconds = 0\n",
        ] {
            assert!(table(bad).config(env).is_err(), "{bad}");
        }
        let short = |_: &str| Some("short".to_owned());
        assert!(
            table("[[events.subscribers]]\ntenant = \"t\"\nname = \"a\"\nurl = \"https://x.nl\"\nsecret_env = \"S\"\n")
                .config(short)
                .is_err()
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_below_it() {
        let c = EventsConfig {
            retry_initial: Duration::from_secs(10),
            retry_max: Duration::from_secs(60),
            ..EventsConfig::default()
        };
        assert_eq!(backoff(&c, 1, 1.0), Duration::from_secs(10));
        assert_eq!(backoff(&c, 2, 1.0), Duration::from_secs(20));
        assert_eq!(backoff(&c, 9, 1.0), Duration::from_secs(60));
        assert_eq!(backoff(&c, 2, 0.0), Duration::from_secs(10));
    }

    #[test]
    fn the_signature_is_standard_webhooks() {
        // HMAC-SHA256 over "id.timestamp.body", base64, prefixed with the version.
        let sig = signature(b"0123456789abcdef", "msg_1", 1_700_000_000, b"{}");
        assert!(sig.starts_with("v1,"));
        assert_eq!(B64.decode(&sig[3..]).unwrap().len(), 32);
        assert_ne!(
            sig,
            signature(b"0123456789abcdeX", "msg_1", 1_700_000_000, b"{}")
        );
    }
}
