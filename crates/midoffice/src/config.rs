//! The serve configuration, in layers where each overrides the one before: built-in
//! defaults, an optional TOML file, environment variables (`MIDOFFICE__SECTION__KEY`,
//! and the older flat names as aliases), flags.
//!
//! Every layer is read into the same map of raw text, and only the winning value of a
//! setting is parsed, so an error names where that value came from. An empty value
//! means the built-in default. Nothing here shows a database password: URLs in messages
//! go through [`redact_url`], and the file's parse errors leave out quoted values.

use clap::Args;
use midoffice_store::redact_url;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "MIDOFFICE_CONFIG";
/// The file read from the working directory when none is named and it exists.
pub const DEFAULT_FILE: &str = "midoffice.toml";
/// The prefix of the layered environment variables.
const ENV_PREFIX: &str = "MIDOFFICE__";
/// The address served on by default.
const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 50051);
/// The data folder by default.
const DEFAULT_DATA_DIR: &str = "./data";

/// The flags of every subcommand that opens the store (`serve`, `seed`, `retention
/// run`): where the configuration, the data, the database and the secret are, and the
/// mode; each is `None` unless given on the command line.
#[derive(Debug, Clone, Default, Args)]
pub struct StoreArgs {
    /// The configuration file (TOML; see deploy/midoffice.example.toml).
    /// [env: MIDOFFICE_CONFIG] [default: ./midoffice.toml if it exists, else none]
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// The data folder: the SQLite database and the generated secret live here.
    /// [default: ./data]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<String>,

    /// The database: `sqlite://PATH?mode=rwc` or `postgres://USER:PASSWORD@HOST/DB`.
    /// [default: sqlite://<DATA_DIR>/midoffice.db?mode=rwc, created on first run, WAL]
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,

    /// The file holding the identifier-hashing secret in hex. Without it and without
    /// MIDOFFICE_SECRET, a new secret is generated there (mode 0600) on first run: back
    /// it up, identifiers cannot be found without it. [default: <DATA_DIR>/secret.key]
    #[arg(long, value_name = "PATH")]
    pub secret_file: Option<String>,

    /// `development` or `production`. In production the identifier-hashing secret must
    /// come from MIDOFFICE_SECRET or a file outside the data folder, and is never
    /// generated. [default: production when listening on a non-loopback address or
    /// using PostgreSQL, else development]
    #[arg(long, value_name = "MODE")]
    pub mode: Option<String>,
}

/// The flags of `serve`: those of the store, and the server's own; each setting is
/// `None` unless given on the command line.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,

    /// The address to listen on. [default: 127.0.0.1:50051]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,

    /// Export traces and the processing log over OTLP/gRPC to this collector, such as
    /// `http://localhost:4317`. [default: none, nothing is exported]
    #[arg(long, value_name = "URL")]
    pub otlp_endpoint: Option<String>,

    /// `true`: TLS is terminated in front of midoffice (a proxy, a load balancer, a
    /// service-mesh sidecar), so production may serve without [tls], and may export
    /// over plain `http://` to a collector through that sidecar. [default: false]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub tls_terminated_by_proxy: Option<String>,

    /// `true`: production may export over plain `http://` to a collector that is not
    /// on loopback (the network in between is trusted). [default: false]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub otlp_plaintext: Option<String>,

    /// A second address for the pages (the thermometer and the dashboard), such as
    /// `127.0.0.1:8080`: they are then served there, over the server's TLS if it has
    /// TLS, and no longer on the gRPC port. [default: none, the pages are on the gRPC
    /// port]
    #[arg(long, value_name = "ADDR")]
    pub pages_listen: Option<String>,

    /// What is logged: a level (`error`, `warn`, `info`, `debug`, `trace`) or filter
    /// directives such as `info,midoffice_store=debug`. A SIGHUP, or a change of the
    /// file, reads its log.level again. [default: RUST_LOG, else info]
    #[arg(long, value_name = "FILTER")]
    pub log_level: Option<String>,

    /// `text` (one line per event) or `json` (one JSON object a line, with the call's
    /// trace_id and span_id). [default: text]
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<String>,

    /// A PostgreSQL hot standby of the database to read figures from (GetFigures,
    /// GetFigureSeries, GetThermometer, the pages, the domain metrics), such as
    /// `postgres://USER:PASSWORD@STANDBY/DB`; they then show what the standby has
    /// replayed. Nothing is written there. Needs PostgreSQL as the database.
    /// [default: none, figures read from the database]
    #[arg(long, value_name = "URL")]
    pub database_read_url: Option<String>,

    /// Seconds a client's connection lives: then the server asks the client to open a
    /// new one (HTTP/2 GOAWAY), so clients spread over replicas added since; the calls
    /// in flight finish first (each within the 30 s limit of a call). [default: none, a
    /// connection lives as long as the client keeps it]
    #[arg(long, value_name = "SECONDS")]
    pub max_connection_age_seconds: Option<String>,

    /// The origins whose browsers may call the JSON API (`/api/v1/`), comma-separated,
    /// each `scheme://host[:port]` (`https://kcc.gemeente.nl`); preflights from them are
    /// answered and `API-Version` is exposed to them. [default: none, no CORS]
    #[arg(long, value_name = "ORIGINS")]
    pub cors_allowed_origins: Option<String>,
}

impl From<StoreArgs> for ServeArgs {
    /// The store's flags alone: every server setting from the file, the environment or
    /// its default.
    fn from(store: StoreArgs) -> ServeArgs {
        ServeArgs {
            store,
            ..ServeArgs::default()
        }
    }
}

/// One setting and its name in every layer.
#[derive(Debug)]
pub struct Spec {
    /// The table in the file.
    pub section: &'static str,
    /// The key in that table.
    pub key: &'static str,
    /// `MIDOFFICE__SECTION__KEY`.
    pub env: &'static str,
    /// The older flat variable, if the setting had one; the `MIDOFFICE__` one wins when
    /// both are set.
    pub alias: Option<&'static str>,
    /// The long flag.
    pub flag: &'static str,
}

const LISTEN: usize = 0;
const DATA_DIR: usize = 1;
const DATABASE_URL: usize = 2;
const SECRET_FILE: usize = 3;
const OTLP_ENDPOINT: usize = 4;
const MODE: usize = 5;
const TLS_TERMINATED_BY_PROXY: usize = 6;
const OTLP_PLAINTEXT: usize = 7;
const PAGES_LISTEN: usize = 8;
const LOG_LEVEL: usize = 9;
const LOG_FORMAT: usize = 10;
const READ_URL: usize = 11;
const MAX_CONNECTION_AGE: usize = 12;
const CORS_ALLOWED_ORIGINS: usize = 13;
/// How many settings there are.
pub const N: usize = 14;

/// Every setting, in the order of [`ServeArgs`].
pub const SPECS: [Spec; N] = [
    Spec {
        section: "server",
        key: "listen",
        env: "MIDOFFICE__SERVER__LISTEN",
        alias: Some("MIDOFFICE_LISTEN"),
        flag: "--listen",
    },
    Spec {
        section: "data",
        key: "dir",
        env: "MIDOFFICE__DATA__DIR",
        alias: Some("MIDOFFICE_DATA_DIR"),
        flag: "--data-dir",
    },
    Spec {
        section: "database",
        key: "url",
        env: "MIDOFFICE__DATABASE__URL",
        alias: Some("MIDOFFICE_DATABASE_URL"),
        flag: "--database-url",
    },
    Spec {
        section: "secret",
        key: "file",
        env: "MIDOFFICE__SECRET__FILE",
        alias: Some("MIDOFFICE_SECRET_FILE"),
        flag: "--secret-file",
    },
    Spec {
        section: "telemetry",
        key: "otlp_endpoint",
        env: "MIDOFFICE__TELEMETRY__OTLP_ENDPOINT",
        alias: Some("MIDOFFICE_OTLP_ENDPOINT"),
        flag: "--otlp-endpoint",
    },
    Spec {
        section: "server",
        key: "mode",
        env: "MIDOFFICE__SERVER__MODE",
        alias: Some("MIDOFFICE_MODE"),
        flag: "--mode",
    },
    Spec {
        section: "server",
        key: "tls_terminated_by_proxy",
        env: "MIDOFFICE__SERVER__TLS_TERMINATED_BY_PROXY",
        alias: None,
        flag: "--tls-terminated-by-proxy",
    },
    Spec {
        section: "telemetry",
        key: "otlp_plaintext",
        env: "MIDOFFICE__TELEMETRY__OTLP_PLAINTEXT",
        alias: None,
        flag: "--otlp-plaintext",
    },
    Spec {
        section: "server",
        key: "pages_listen",
        env: "MIDOFFICE__SERVER__PAGES_LISTEN",
        alias: None,
        flag: "--pages-listen",
    },
    Spec {
        section: "log",
        key: "level",
        env: "MIDOFFICE__LOG__LEVEL",
        alias: None,
        flag: "--log-level",
    },
    Spec {
        section: "log",
        key: "format",
        env: "MIDOFFICE__LOG__FORMAT",
        alias: None,
        flag: "--log-format",
    },
    Spec {
        section: "database",
        key: "read_url",
        env: "MIDOFFICE__DATABASE__READ_URL",
        alias: None,
        flag: "--database-read-url",
    },
    Spec {
        section: "server",
        key: "max_connection_age_seconds",
        env: "MIDOFFICE__SERVER__MAX_CONNECTION_AGE_SECONDS",
        alias: None,
        flag: "--max-connection-age-seconds",
    },
    Spec {
        section: "server",
        key: "cors_allowed_origins",
        env: "MIDOFFICE__SERVER__CORS_ALLOWED_ORIGINS",
        alias: None,
        flag: "--cors-allowed-origins",
    },
];

/// The longest age of a connection: a week.
const MAX_CONNECTION_AGE_SECS: u64 = 7 * 86_400;

/// Whether the service runs for development or with real data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A local trial: a missing secret is generated in the data folder.
    Development,
    /// Real data: the secret comes from MIDOFFICE_SECRET or a file outside the data
    /// folder, and is never generated.
    Production,
}

impl Mode {
    /// The name as configured.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Development => "development",
            Mode::Production => "production",
        }
    }
}

/// The settings `serve` runs with, every default filled in.
pub struct Settings {
    /// The address to serve on.
    pub listen: SocketAddr,
    /// The pages' own address (`server.pages_listen`); `None`: on the gRPC port.
    pub pages_listen: Option<SocketAddr>,
    /// How long a client's connection lives (`server.max_connection_age_seconds`);
    /// `None`: as long as the client keeps it.
    pub max_connection_age: Option<std::time::Duration>,
    /// The origins whose browsers may call the JSON API (`server.cors_allowed_origins`);
    /// none: no CORS.
    pub cors: midoffice_api::json::Cors,
    /// The data folder.
    pub data_dir: PathBuf,
    /// The database URL, with its password: show it only through [`redact_url`].
    pub database_url: String,
    /// The hot standby figures read from (`database.read_url`), with its password: show
    /// it only through [`redact_url`]. PostgreSQL, as `database_url` then is.
    pub read_url: Option<String>,
    /// The file of the identifier-hashing secret.
    pub secret_file: PathBuf,
    /// The OTLP collector, if traces are exported.
    pub otlp_endpoint: Option<String>,
    /// Development or production, and why (for the log).
    pub mode: Mode,
    pub mode_reason: String,
    /// TLS is terminated in front of the service (`server.tls_terminated_by_proxy`).
    pub tls_terminated_by_proxy: bool,
    /// Plain OTLP to a collector off loopback is allowed (`telemetry.otlp_plaintext`).
    pub otlp_plaintext: bool,
    /// The configuration file that was read, if any.
    pub file: Option<PathBuf>,
    /// Where each setting of [`SPECS`] came from (`--listen`, `MIDOFFICE__…`, `server.listen
    /// in FILE`), in their order; `None`: the built-in default.
    pub origins: [Option<String>; N],
    /// Things to warn about once logging is up.
    pub warnings: Vec<String>,
    /// The credentials; none: development access, loopback only.
    pub access: midoffice_api::auth::AccessConfig,
    /// TLS, if configured.
    pub tls: Option<crate::access::TlsFiles>,
    /// The retention job.
    pub retention: Retention,
    /// Whether `serve`'s figures job computes dashboard answers ahead
    /// (`figures.compute_ahead`, default yes).
    pub compute_ahead: bool,
    /// Between two metric exports, and two refreshes of the domain figures they carry
    /// (`telemetry.metrics_interval_seconds`, default a minute).
    pub metrics_interval: std::time::Duration,
    /// Events to webhook subscribers (`[events]`); no subscribers: none kept or sent.
    pub events: crate::events::EventsConfig,
    /// What is logged (`log.level`, checked); `None`: `RUST_LOG`, else the default.
    pub log_level: Option<String>,
    /// How log lines are written (`log.format`).
    pub log_format: crate::telemetry::LogFormat,
    /// The benchmark participants' public keys (`[benchmark.participants]`).
    pub benchmark_keys: BenchmarkKeys,
    /// The benchmark's disclosure rules (`benchmark.min_participants`, `min_contacts`,
    /// `min_answers`), never below the floors.
    pub benchmark_rules: midoffice_domain::benchmark::Disclosure,
    /// Days after a period is over before its groups are composed
    /// (`benchmark.compose_after_days`).
    pub benchmark_grace_days: u32,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("pages_listen", &self.pages_listen)
            .field("max_connection_age", &self.max_connection_age)
            .field("data_dir", &self.data_dir)
            .field("database_url", &redact_url(&self.database_url))
            .field("read_url", &self.read_url.as_deref().map(redact_url))
            .field("secret_file", &self.secret_file)
            .field("otlp_endpoint", &self.otlp_endpoint)
            .field("mode", &self.mode)
            .field("tls_terminated_by_proxy", &self.tls_terminated_by_proxy)
            .field("otlp_plaintext", &self.otlp_plaintext)
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// In production the server's port is reached over TLS: `[tls]`, or a proxy in front
    /// that terminates it (`server.tls_terminated_by_proxy = true`). Development is free:
    /// without credentials it serves loopback only.
    pub fn check_server_tls(&self) -> Result<(), String> {
        if self.mode == Mode::Production && self.tls.is_none() && !self.tls_terminated_by_proxy {
            return Err(format!(
                "refusing to run in production ({}) without TLS: credentials and personal \
                 data would travel in clear. Configure [tls] (cert and key) in the \
                 configuration file, or, when a proxy, load balancer or sidecar in front \
                 terminates TLS, set server.tls_terminated_by_proxy = true \
                 (MIDOFFICE__SERVER__TLS_TERMINATED_BY_PROXY); see docs/operations/access.md",
                self.mode_reason
            ));
        }
        Ok(())
    }

    /// The OTLP collector gets traces and the processing log (pseudonyms, trace ids,
    /// processing activities): in production an endpoint that is not `https://` must be
    /// on loopback, unless a sidecar encrypts it (`server.tls_terminated_by_proxy`) or
    /// the operator trusts the network (`telemetry.otlp_plaintext`).
    pub fn check_otlp(&self) -> Result<(), String> {
        let Some(endpoint) = self.otlp_endpoint.as_deref().map(str::trim) else {
            return Ok(());
        };
        if endpoint.is_empty()
            || self.mode == Mode::Development
            || self.tls_terminated_by_proxy
            || self.otlp_plaintext
        {
            return Ok(());
        }
        let (scheme, rest) = endpoint.split_once("://").unwrap_or(("", endpoint));
        if scheme.eq_ignore_ascii_case("https") || is_loopback_host(rest) {
            return Ok(());
        }
        Err(format!(
            "refusing to run in production ({}) with the OTLP endpoint {endpoint}: it is \
             not https:// and not on loopback, so traces and the processing log would \
             travel in clear. Use https://, or a collector on loopback; when a sidecar \
             encrypts the way, set server.tls_terminated_by_proxy = true, or when the \
             network in between is trusted, telemetry.otlp_plaintext = true \
             (MIDOFFICE__TELEMETRY__OTLP_PLAINTEXT)",
            self.mode_reason
        ))
    }
}

/// Whether the authority at the start of `rest` (`host[:port][/…]`, as after `://`)
/// names this machine: `localhost`, a loopback IPv4 or `[::1]`.
fn is_loopback_host(rest: &str) -> bool {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Why the configuration cannot be used. Never carries a password.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("in the configuration file {path}, line {line}, column {column}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "unknown environment variable {0}: the MIDOFFICE__ variables are {known}",
        known = SPECS.map(|s| s.env).join(", ")
    )]
    UnknownEnv(String),
    #[error("the environment variable {0} is not valid UTF-8")]
    NotUnicode(String),
    #[error("in the configuration file {path}: {message}")]
    Access { path: PathBuf, message: String },
    #[error("in the configuration file {path}: {message}")]
    Retention { path: PathBuf, message: String },
    #[error("in the configuration file {path}: {message}")]
    Telemetry { path: PathBuf, message: String },
    #[error("in the configuration file {path}: {message}")]
    Benchmark { path: PathBuf, message: String },
    #[error("in the configuration file {path}: {message}")]
    Events { path: PathBuf, message: String },
    #[error("{origin}: {value:?} is not a mode: use \"development\" or \"production\"")]
    Mode { origin: String, value: String },
    #[error("{origin}: {value:?} is not a log level or filter: {reason}")]
    LogLevel {
        origin: String,
        value: String,
        reason: String,
    },
    #[error("{origin}: {value:?} is not a log format: use \"text\" or \"json\"")]
    LogFormat { origin: String, value: String },
    #[error("{origin}: {value:?} is not a yes or no: use true or false")]
    Bool { origin: String, value: String },
    #[error("{origin}: {value:?} is not an address such as 127.0.0.1:50051 ({reason})")]
    Listen {
        origin: String,
        value: String,
        reason: String,
    },
    #[error("{origin}: {reason}")]
    ReadUrl {
        origin: String,
        reason: &'static str,
    },
    #[error("{origin}: {value:?} is not a number of seconds from 1 to {MAX_CONNECTION_AGE_SECS}")]
    Seconds { origin: String, value: String },
    #[error("{origin}: {reason}")]
    Cors { origin: String, reason: String },
    #[error(
        "{origin}: {value:?} is the gRPC address (server.listen) itself; leave \
         server.pages_listen unset to serve the pages on the gRPC port, or give it an \
         address of its own"
    )]
    PagesOnGrpcAddress { origin: String, value: String },
}

/// The file's layout; any key not named here is refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a midoffice configuration")]
struct File {
    #[serde(default)]
    server: ServerTable,
    #[serde(default)]
    data: DataTable,
    #[serde(default)]
    database: DatabaseTable,
    #[serde(default)]
    secret: SecretTable,
    #[serde(default)]
    telemetry: TelemetryTable,
    #[serde(default)]
    access: crate::access::AccessTable,
    #[serde(default)]
    tls: crate::access::TlsTable,
    #[serde(default)]
    retention: RetentionTable,
    #[serde(default)]
    figures: FiguresTable,
    #[serde(default)]
    log: LogTable,
    #[serde(default)]
    benchmark: BenchmarkTable,
    #[serde(default)]
    events: crate::events::EventsTable,
}

/// `[benchmark]`: the benchmark between organisations (docs/benchmark.md). File only.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table [benchmark]")]
struct BenchmarkTable {
    /// `[benchmark.participants]`: participant id = its Ed25519 public key (base64), the
    /// keys `midoffice benchmark import` checks summaries' signatures against.
    #[serde(default)]
    participants: BTreeMap<String, String>,
    /// The fewest participants a group figure rests on (default and floor 5).
    min_participants: Option<u64>,
    /// The fewest contacts (cases, follow-ups, commitments) a value rests on (default
    /// and floor 30).
    min_contacts: Option<u64>,
    /// The fewest satisfaction answers a value rests on (default and floor 50).
    min_answers: Option<u64>,
    /// Days after a period is over before its groups are composed (default 7).
    compose_after_days: Option<u64>,
}

/// Days after a period is over before its groups are composed, unless configured.
pub use midoffice_domain::benchmark::DEFAULT_GRACE_DAYS as DEFAULT_COMPOSE_AFTER_DAYS;

/// The participants' public keys of `[benchmark.participants]`, checked: each id a code,
/// each key an Ed25519 public key.
pub type BenchmarkKeys =
    BTreeMap<midoffice_domain::Code, midoffice_store::benchmark_summary::PublicKey>;

/// `[log]`: what is logged and how.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table [log]")]
struct LogTable {
    level: Option<String>,
    format: Option<String>,
}

/// `[figures]`: the figures job (docs/operations/figures.md, "Answers computed ahead").
/// File only.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table [figures]")]
struct FiguresTable {
    /// Whether `serve` computes dashboard answers ahead of readers (default: yes).
    compute_ahead: Option<bool>,
}

/// `[retention]`: the background job that deletes contacts older than each tenant's
/// retention period (docs/operations/retention.md). File only.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table [retention]")]
struct RetentionTable {
    enabled: Option<bool>,
    interval_seconds: Option<u64>,
}

/// The retention job as configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Whether `serve` runs the job (default: yes).
    pub enabled: bool,
    /// Between the starts of two passes (default: an hour).
    pub interval: std::time::Duration,
}

/// The default time between two retention passes: an hour.
pub const DEFAULT_RETENTION_INTERVAL_SECS: u64 = 3600;

impl Default for Retention {
    fn default() -> Self {
        Retention {
            enabled: true,
            interval: std::time::Duration::from_secs(DEFAULT_RETENTION_INTERVAL_SECS),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table [server]")]
struct ServerTable {
    listen: Option<String>,
    pages_listen: Option<String>,
    mode: Option<String>,
    tls_terminated_by_proxy: Option<bool>,
    max_connection_age_seconds: Option<u64>,
    cors_allowed_origins: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table [data]")]
struct DataTable {
    dir: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table [database]")]
struct DatabaseTable {
    url: Option<String>,
    read_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table [secret]")]
struct SecretTable {
    file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table [telemetry]")]
struct TelemetryTable {
    otlp_endpoint: Option<String>,
    otlp_plaintext: Option<bool>,
    /// File only: seconds between metric exports (and refreshes of the domain figures).
    metrics_interval_seconds: Option<u64>,
}

/// The default time between two metric exports: a minute.
pub const DEFAULT_METRICS_INTERVAL_SECS: u64 = 60;
/// The longest time between two metric exports: a day.
const MAX_METRICS_INTERVAL_SECS: u64 = 86_400;

/// A configuration file, read and checked.
#[derive(Debug)]
pub struct FileLayer {
    path: PathBuf,
    values: [Option<String>; N],
    /// The credentials (`[access]`), checked.
    access: midoffice_api::auth::AccessConfig,
    /// TLS (`[tls]`), checked.
    tls: Option<crate::access::TlsFiles>,
    /// The retention job (`[retention]`), checked.
    retention: Retention,
    /// `figures.compute_ahead`.
    compute_ahead: Option<bool>,
    /// `telemetry.metrics_interval_seconds`, checked.
    metrics_interval: Option<std::time::Duration>,
    /// `[benchmark.participants]`, checked.
    benchmark_keys: BenchmarkKeys,
    /// `benchmark.min_*`, checked against the floors.
    benchmark_rules: midoffice_domain::benchmark::Disclosure,
    /// `benchmark.compose_after_days`, checked.
    benchmark_grace_days: u32,
    /// The event subscribers (`[events]`), checked, their secrets read.
    events: crate::events::EventsConfig,
}

/// The variables of the process that configuration may use. Only these are read, and
/// once, so the rest of the program (and the tests) work on a plain map.
pub fn environment() -> Result<BTreeMap<String, String>, ConfigError> {
    let wanted = |name: &str| {
        name.starts_with(ENV_PREFIX)
            || name == CONFIG_ENV
            || name == crate::secret::SECRET_ENV
            || SPECS.iter().any(|s| s.alias == Some(name))
    };
    let mut env = BTreeMap::new();
    for (name, value) in std::env::vars_os() {
        let Some(name) = name.to_str().filter(|n| wanted(n)).map(str::to_owned) else {
            continue;
        };
        let value = value
            .into_string()
            .map_err(|_| ConfigError::NotUnicode(name.clone()))?;
        env.insert(name, value);
    }
    Ok(env)
}

/// Reads the configuration file (if any) and merges every layer.
pub fn load(flags: &ServeArgs, env: &BTreeMap<String, String>) -> Result<Settings, ConfigError> {
    let file = match file_path(flags, env, |p| p.is_file()) {
        Some(path) => Some(read_file(&path)?),
        None => None,
    };
    resolve(file, env, flags)
}

/// The configuration file: `--config`, else `MIDOFFICE_CONFIG`, else `./midoffice.toml`
/// when `exists` says it is there. A named file must exist; reading it will say so.
fn file_path(
    flags: &ServeArgs,
    env: &BTreeMap<String, String>,
    exists: impl Fn(&Path) -> bool,
) -> Option<PathBuf> {
    let named = flags
        .store
        .config
        .clone()
        .or_else(|| env.get(CONFIG_ENV).map(PathBuf::from))
        .filter(|p| !p.as_os_str().is_empty());
    named.or_else(|| {
        let default = Path::new(".").join(DEFAULT_FILE);
        exists(&default).then_some(default)
    })
}

fn read_file(path: &Path) -> Result<FileLayer, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_file(&text, path)
}

/// Parses the file's text; `path` is only for messages.
pub fn parse_file(text: &str, path: &Path) -> Result<FileLayer, ConfigError> {
    let file: File = toml::from_str(text).map_err(|e| {
        let start = e.span().map_or(0, |s| s.start).min(text.len());
        let before = &text[..start];
        ConfigError::Parse {
            path: path.to_path_buf(),
            line: before.matches('\n').count() + 1,
            column: before
                .rsplit('\n')
                .next()
                .unwrap_or_default()
                .chars()
                .count()
                + 1,
            // The error's own rendering quotes the offending line, which may hold a
            // password; its message alone names the key.
            message: without_quoted_values(e.message().trim())
                .replace("unknown field", "unknown key"),
        }
    })?;
    let mut values: [Option<String>; N] = Default::default();
    values[LISTEN] = file.server.listen;
    values[DATA_DIR] = file.data.dir;
    values[DATABASE_URL] = file.database.url;
    values[SECRET_FILE] = file.secret.file;
    values[OTLP_ENDPOINT] = file.telemetry.otlp_endpoint;
    values[MODE] = file.server.mode;
    values[TLS_TERMINATED_BY_PROXY] = file.server.tls_terminated_by_proxy.map(|b| b.to_string());
    values[OTLP_PLAINTEXT] = file.telemetry.otlp_plaintext.map(|b| b.to_string());
    values[PAGES_LISTEN] = file.server.pages_listen;
    values[LOG_LEVEL] = file.log.level;
    values[LOG_FORMAT] = file.log.format;
    values[READ_URL] = file.database.read_url;
    values[MAX_CONNECTION_AGE] = file
        .server
        .max_connection_age_seconds
        .map(|n| n.to_string());
    values[CORS_ALLOWED_ORIGINS] = file.server.cors_allowed_origins.map(|o| o.join(","));
    let access = file
        .access
        .config()
        .map_err(|message| ConfigError::Access {
            path: path.to_path_buf(),
            message,
        })?;
    let tls = file.tls.files().map_err(|message| ConfigError::Access {
        path: path.to_path_buf(),
        message,
    })?;
    // A client certificate is asked for only when [tls] names the CA to check it with;
    // without one, a configured certificate could never be presented.
    if !access.client_certs.is_empty() && tls.as_ref().is_none_or(|t| t.client_ca.is_none()) {
        return Err(ConfigError::Access {
            path: path.to_path_buf(),
            message: "[[access.client_certs]] needs [tls] with cert, key and client_ca: \
                      without client_ca no client is asked for a certificate, so these \
                      entries could never be used. Add tls.client_ca (the CA that signs \
                      the adapters' certificates) or remove the entries"
                .to_owned(),
        });
    }
    let retention = match file.retention.interval_seconds {
        Some(0) => {
            return Err(ConfigError::Retention {
                path: path.to_path_buf(),
                message: "retention.interval_seconds must be at least 1 (to stop the job, \
                          set retention.enabled = false)"
                    .to_owned(),
            });
        }
        interval => Retention {
            enabled: file.retention.enabled.unwrap_or(true),
            interval: std::time::Duration::from_secs(
                interval.unwrap_or(DEFAULT_RETENTION_INTERVAL_SECS),
            ),
        },
    };
    let metrics_interval = match file.telemetry.metrics_interval_seconds {
        Some(n) if n == 0 || n > MAX_METRICS_INTERVAL_SECS => {
            return Err(ConfigError::Telemetry {
                path: path.to_path_buf(),
                message: format!(
                    "telemetry.metrics_interval_seconds must be from 1 to \
                     {MAX_METRICS_INTERVAL_SECS} (seconds between two metric exports), \
                     not {n}"
                ),
            });
        }
        n => n.map(std::time::Duration::from_secs),
    };
    let (benchmark_rules, benchmark_grace_days) =
        benchmark_rules(&file.benchmark).map_err(|message| ConfigError::Benchmark {
            path: path.to_path_buf(),
            message,
        })?;
    let mut benchmark_keys = BenchmarkKeys::new();
    for (id, key) in file.benchmark.participants {
        let bad = |message: String| ConfigError::Benchmark {
            path: path.to_path_buf(),
            message,
        };
        let code = midoffice_domain::Code::parse(&id).map_err(|e| {
            bad(format!(
                "benchmark.participants: the participant id {id:?} {e}"
            ))
        })?;
        let key =
            midoffice_store::benchmark_summary::PublicKey::from_base64(&key).map_err(|_| {
                bad(format!(
                    "benchmark.participants.{id}: not an Ed25519 public key (its 32 bytes, \
                     or its SubjectPublicKeyInfo, in base64)"
                ))
            })?;
        benchmark_keys.insert(code, key);
    }
    let events = file
        .events
        .config(|name| std::env::var(name).ok())
        .map_err(|message| ConfigError::Events {
            path: path.to_path_buf(),
            message,
        })?;
    Ok(FileLayer {
        path: path.to_path_buf(),
        values,
        access,
        tls,
        retention,
        compute_ahead: file.figures.compute_ahead,
        metrics_interval,
        benchmark_keys,
        benchmark_rules,
        benchmark_grace_days,
        events,
    })
}

/// `[benchmark]`'s disclosure rules (each refused below its floor, naming the key) and
/// days before composing (at most `benchmark::MAX_GRACE_DAYS`).
fn benchmark_rules(
    table: &BenchmarkTable,
) -> Result<(midoffice_domain::benchmark::Disclosure, u32), String> {
    use midoffice_domain::benchmark::{
        Disclosure, MAX_GRACE_DAYS, MIN_ANSWERS_FLOOR, MIN_CONTACTS_FLOOR, MIN_PARTICIPANTS_FLOOR,
    };
    let participants = table.min_participants.map_or(MIN_PARTICIPANTS_FLOOR, |n| {
        usize::try_from(n).unwrap_or(usize::MAX)
    });
    let rules = Disclosure::new(
        participants,
        table.min_contacts.unwrap_or(MIN_CONTACTS_FLOOR),
        table.min_answers.unwrap_or(MIN_ANSWERS_FLOOR),
    )
    .map_err(|v| {
        v.0.iter()
            .map(|f| format!("benchmark.{} {}", f.field, f.description))
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    let grace = match table.compose_after_days {
        None => DEFAULT_COMPOSE_AFTER_DAYS,
        Some(n) => u32::try_from(n)
            .ok()
            .filter(|n| *n <= MAX_GRACE_DAYS)
            .ok_or_else(|| {
                format!(
                    "benchmark.compose_after_days must be from 0 to {MAX_GRACE_DAYS} (days \
                     after a period before its groups are composed), not {n}"
                )
            })?,
    };
    Ok((rules, grace))
}

/// `message` with every double-quoted string (serde quotes values that way) shown as
/// `"…"`; what stands in backticks (keys, expected tokens) is kept.
fn without_quoted_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        match c {
            '`' => {
                for c in chars.by_ref() {
                    out.push(c);
                    if c == '`' {
                        break;
                    }
                }
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    match c {
                        '\\' if !escaped => escaped = true,
                        '"' if !escaped => break,
                        _ => escaped = false,
                    }
                }
                out.push_str("…\"");
            }
            _ => {}
        }
    }
    out
}

/// Merges the layers: defaults < file < environment (`MIDOFFICE__…` over its flat
/// alias) < flags. An empty value at any layer means the built-in default.
pub fn resolve(
    file: Option<FileLayer>,
    env: &BTreeMap<String, String>,
    flags: &ServeArgs,
) -> Result<Settings, ConfigError> {
    if let Some(name) = env
        .keys()
        .find(|n| n.starts_with(ENV_PREFIX) && !SPECS.iter().any(|s| s.env == n.as_str()))
    {
        return Err(ConfigError::UnknownEnv(name.clone()));
    }
    let flag_values = [
        &flags.listen,
        &flags.store.data_dir,
        &flags.store.database_url,
        &flags.store.secret_file,
        &flags.otlp_endpoint,
        &flags.store.mode,
        &flags.tls_terminated_by_proxy,
        &flags.otlp_plaintext,
        &flags.pages_listen,
        &flags.log_level,
        &flags.log_format,
        &flags.database_read_url,
        &flags.max_connection_age_seconds,
        &flags.cors_allowed_origins,
    ];
    let mut warnings = Vec::new();
    // The winning value of each setting and where it came from; `None` for the default.
    let mut chosen: [Option<(String, String)>; N] = Default::default();
    for (i, spec) in SPECS.iter().enumerate() {
        let from_file = file.as_ref().and_then(|f| {
            f.values[i].clone().map(|v| {
                let origin = format!("{}.{} in {}", spec.section, spec.key, f.path.display());
                (v, origin)
            })
        });
        let from_alias = spec
            .alias
            .and_then(|alias| env.get(alias).map(|v| (v.clone(), alias.to_owned())));
        let from_env = env.get(spec.env).map(|v| (v.clone(), spec.env.to_owned()));
        if let (Some((new, _)), Some((old, alias))) = (&from_env, &from_alias)
            && new != old
        {
            warnings.push(format!(
                "both {} and {alias} are set; {} is used",
                spec.env, spec.env
            ));
        }
        let from_flag = flag_values[i].clone().map(|v| (v, spec.flag.to_owned()));
        chosen[i] = from_flag
            .or(from_env)
            .or(from_alias)
            .or(from_file)
            .filter(|(v, _)| !v.trim().is_empty());
    }
    let origins = chosen
        .each_ref()
        .map(|c| c.as_ref().map(|(_, origin)| origin.clone()));
    let [
        listen,
        data_dir,
        database_url,
        secret_file,
        otlp_endpoint,
        mode,
        tls_terminated_by_proxy,
        otlp_plaintext,
        pages_listen,
        log_level,
        log_format,
        read_url,
        max_connection_age,
        cors_allowed_origins,
    ] = chosen;

    let address = |(value, origin): (String, String)| {
        value
            .trim()
            .parse::<SocketAddr>()
            .map_err(|e| ConfigError::Listen {
                origin,
                value,
                reason: e.to_string(),
            })
    };
    let listen = listen.map_or(Ok(DEFAULT_LISTEN), address)?;
    let pages_listen = match pages_listen {
        None => None,
        Some((value, origin)) => {
            let pages = address((value.clone(), origin.clone()))?;
            // Port 0 (any free port) twice is two addresses; the same port is one.
            if pages == listen && pages.port() != 0 {
                return Err(ConfigError::PagesOnGrpcAddress { origin, value });
            }
            Some(pages)
        }
    };
    // Every address the server listens on; the mode and the checks look at all.
    let addresses: Vec<SocketAddr> = std::iter::once(listen).chain(pages_listen).collect();
    let data_dir = PathBuf::from(data_dir.map_or(DEFAULT_DATA_DIR.to_owned(), |(v, _)| v));
    let database_url = database_url.map_or_else(
        || format!("sqlite://{}/midoffice.db?mode=rwc", data_dir.display()),
        |(v, _)| v.trim().to_owned(),
    );
    let read_url = match read_url {
        None => None,
        Some((value, origin)) => {
            let value = value.trim().to_owned();
            if !is_postgres(&value) {
                return Err(ConfigError::ReadUrl {
                    origin,
                    reason: "a read database for figures must be a PostgreSQL URL \
                             (postgres://USER:PASSWORD@HOST/DB), a hot standby of \
                             database.url",
                });
            }
            if !is_postgres(&database_url) {
                return Err(ConfigError::ReadUrl {
                    origin,
                    reason: "a read database for figures (a PostgreSQL hot standby) needs \
                             PostgreSQL as database.url too; with SQLite, leave \
                             database.read_url unset",
                });
            }
            Some(value)
        }
    };
    let secret_file = secret_file.map_or_else(|| data_dir.join("secret.key"), |(v, _)| v.into());
    let (mode, mode_reason) = match mode {
        Some((value, origin)) => match value.trim() {
            "development" => {
                for address in addresses.iter().filter(|a| !a.ip().is_loopback()) {
                    warnings.push(format!(
                        "{origin} says development, yet the service listens on {address}, \
                         which is not loopback: a secret generated in the data folder is \
                         fit for a trial only"
                    ));
                }
                (Mode::Development, format!("set by {origin}"))
            }
            "production" => (Mode::Production, format!("set by {origin}")),
            _ => return Err(ConfigError::Mode { origin, value }),
        },
        None => infer_mode(&addresses, &database_url),
    };
    let tls_terminated_by_proxy = parse_bool(tls_terminated_by_proxy)?;
    let otlp_plaintext = parse_bool(otlp_plaintext)?;
    let log_level = match log_level {
        None => None,
        Some((value, origin)) => match crate::telemetry::log_filter(value.trim()) {
            Ok(_) => Some(value.trim().to_owned()),
            Err(reason) => {
                return Err(ConfigError::LogLevel {
                    origin,
                    value,
                    reason,
                });
            }
        },
    };
    let log_format = match log_format {
        None => crate::telemetry::LogFormat::Text,
        Some((value, origin)) => match value.trim().to_ascii_lowercase().as_str() {
            "text" => crate::telemetry::LogFormat::Text,
            "json" => crate::telemetry::LogFormat::Json,
            _ => return Err(ConfigError::LogFormat { origin, value }),
        },
    };
    let max_connection_age = parse_seconds(max_connection_age)?;
    let cors = match cors_allowed_origins {
        None => midoffice_api::json::Cors::default(),
        Some((value, origin)) => midoffice_api::json::Cors::new(
            value
                .split(',')
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty())
                .collect(),
        )
        .map_err(|reason| ConfigError::Cors { origin, reason })?,
    };
    Ok(Settings {
        listen,
        pages_listen,
        max_connection_age,
        cors,
        data_dir,
        database_url,
        read_url,
        secret_file,
        otlp_endpoint: otlp_endpoint.map(|(v, _)| v.trim().to_owned()),
        mode,
        mode_reason,
        tls_terminated_by_proxy,
        otlp_plaintext,
        warnings,
        access: file.as_ref().map(|f| f.access.clone()).unwrap_or_default(),
        tls: file.as_ref().and_then(|f| f.tls.clone()),
        retention: file.as_ref().map(|f| f.retention).unwrap_or_default(),
        compute_ahead: file.as_ref().and_then(|f| f.compute_ahead).unwrap_or(true),
        benchmark_keys: file
            .as_ref()
            .map(|f| f.benchmark_keys.clone())
            .unwrap_or_default(),
        benchmark_rules: file.as_ref().map(|f| f.benchmark_rules).unwrap_or_default(),
        benchmark_grace_days: file
            .as_ref()
            .map_or(DEFAULT_COMPOSE_AFTER_DAYS, |f| f.benchmark_grace_days),
        metrics_interval: file.as_ref().and_then(|f| f.metrics_interval).unwrap_or(
            std::time::Duration::from_secs(DEFAULT_METRICS_INTERVAL_SECS),
        ),
        events: file.as_ref().map(|f| f.events.clone()).unwrap_or_default(),
        file: file.map(|f| f.path),
        origins,
        log_level,
        log_format,
    })
}

/// A yes-or-no setting: `true` or `false` (any case); unset is `false`.
fn parse_bool(chosen: Option<(String, String)>) -> Result<bool, ConfigError> {
    let Some((value, origin)) = chosen else {
        return Ok(false);
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ConfigError::Bool { origin, value }),
    }
}

/// A number of seconds from 1 to [`MAX_CONNECTION_AGE_SECS`]; unset is `None`.
fn parse_seconds(
    chosen: Option<(String, String)>,
) -> Result<Option<std::time::Duration>, ConfigError> {
    let Some((value, origin)) = chosen else {
        return Ok(None);
    };
    match value.trim().parse::<u64>() {
        Ok(n) if (1..=MAX_CONNECTION_AGE_SECS).contains(&n) => {
            Ok(Some(std::time::Duration::from_secs(n)))
        }
        _ => Err(ConfigError::Seconds { origin, value }),
    }
}

/// Whether a database URL names PostgreSQL.
fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres:") || url.starts_with("postgresql:")
}

/// The mode when none is set: production when the service listens on a non-loopback
/// address (the gRPC port or the pages': others can reach it) or uses PostgreSQL (a
/// shared database), else development. Returns the reason for the log.
fn infer_mode(addresses: &[SocketAddr], database_url: &str) -> (Mode, String) {
    if let Some(open) = addresses.iter().find(|a| !a.ip().is_loopback()) {
        (
            Mode::Production,
            format!("inferred: {open} is not a loopback address"),
        )
    } else if is_postgres(database_url) {
        (
            Mode::Production,
            "inferred: the database is PostgreSQL".to_owned(),
        )
    } else {
        (
            Mode::Development,
            "inferred: loopback address and SQLite".to_owned(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn file(text: &str) -> FileLayer {
        parse_file(text, Path::new("test.toml")).unwrap()
    }

    const FULL_FILE: &str = r#"
        [server]
        listen = "127.0.0.1:1000"
        [data]
        dir = "/srv/file"
        [database]
        url = "postgres://mo:filepw@db/mo"
        [secret]
        file = "/srv/file/secret.key"
        [telemetry]
        otlp_endpoint = "http://file:4317"
    "#;

    #[test]
    fn without_anything_the_defaults_run() {
        let s = resolve(None, &env(&[]), &ServeArgs::default()).unwrap();
        assert_eq!(s.listen, "127.0.0.1:50051".parse().unwrap());
        assert_eq!(s.data_dir, Path::new("./data"));
        assert_eq!(s.database_url, "sqlite://./data/midoffice.db?mode=rwc");
        assert_eq!(s.secret_file, Path::new("./data/secret.key"));
        assert_eq!(s.otlp_endpoint, None);
        assert_eq!(s.file, None);
    }

    #[test]
    fn the_file_overrides_the_defaults() {
        let s = resolve(Some(file(FULL_FILE)), &env(&[]), &ServeArgs::default()).unwrap();
        assert_eq!(s.listen, "127.0.0.1:1000".parse().unwrap());
        assert_eq!(s.data_dir, Path::new("/srv/file"));
        assert_eq!(s.database_url, "postgres://mo:filepw@db/mo");
        assert_eq!(s.secret_file, Path::new("/srv/file/secret.key"));
        assert_eq!(s.otlp_endpoint.as_deref(), Some("http://file:4317"));
        assert_eq!(s.file.as_deref(), Some(Path::new("test.toml")));
    }

    #[test]
    fn the_environment_overrides_the_file_and_flags_override_both() {
        let e = env(&[
            ("MIDOFFICE__SERVER__LISTEN", "127.0.0.1:2000"),
            ("MIDOFFICE__DATA__DIR", "/srv/env"),
            ("MIDOFFICE_OTLP_ENDPOINT", "http://alias:4317"),
            ("MIDOFFICE__SECRET__FILE", "/srv/env/secret.key"),
        ]);
        let s = resolve(Some(file(FULL_FILE)), &e, &ServeArgs::default()).unwrap();
        assert_eq!(s.listen, "127.0.0.1:2000".parse().unwrap());
        assert_eq!(s.data_dir, Path::new("/srv/env"));
        assert_eq!(s.database_url, "postgres://mo:filepw@db/mo");
        assert_eq!(s.secret_file, Path::new("/srv/env/secret.key"));
        assert_eq!(s.otlp_endpoint.as_deref(), Some("http://alias:4317"));

        let flags = ServeArgs {
            listen: Some("127.0.0.1:3000".into()),
            store: StoreArgs {
                database_url: Some("sqlite://flag.db".into()),
                ..StoreArgs::default()
            },
            ..ServeArgs::default()
        };
        let s = resolve(Some(file(FULL_FILE)), &e, &flags).unwrap();
        assert_eq!(s.listen, "127.0.0.1:3000".parse().unwrap());
        assert_eq!(s.data_dir, Path::new("/srv/env"));
        assert_eq!(s.database_url, "sqlite://flag.db");
    }

    #[test]
    fn a_read_database_for_figures_is_a_postgresql_standby_of_a_postgresql_database() {
        let s = resolve(Some(file(FULL_FILE)), &env(&[]), &ServeArgs::default()).unwrap();
        assert_eq!(s.read_url, None);
        let standby = "postgres://mo:standbypw@standby/mo";
        let e = env(&[("MIDOFFICE__DATABASE__READ_URL", standby)]);
        let s = resolve(Some(file(FULL_FILE)), &e, &ServeArgs::default()).unwrap();
        assert_eq!(s.read_url.as_deref(), Some(standby));
        assert_eq!(
            s.origins[READ_URL].as_deref(),
            Some("MIDOFFICE__DATABASE__READ_URL")
        );
        assert!(!format!("{s:?}").contains("standbypw"), "{s:?}");
        let flags = ServeArgs {
            database_read_url: Some("postgresql://flag/mo".into()),
            ..ServeArgs::default()
        };
        let s = resolve(Some(file(FULL_FILE)), &e, &flags).unwrap();
        assert_eq!(s.read_url.as_deref(), Some("postgresql://flag/mo"));

        // On SQLite there is no standby; a read URL that is not PostgreSQL is refused.
        let err = resolve(None, &e, &ServeArgs::default())
            .expect_err("a read database beside SQLite is refused");
        assert!(
            err.to_string()
                .starts_with("MIDOFFICE__DATABASE__READ_URL: a read database"),
            "{err}"
        );
        assert!(!err.to_string().contains("standbypw"), "{err}");
        let e = env(&[("MIDOFFICE__DATABASE__READ_URL", "sqlite://copy.db")]);
        let err = resolve(Some(file(FULL_FILE)), &e, &ServeArgs::default())
            .expect_err("a SQLite read database is refused");
        assert!(
            err.to_string().contains("must be a PostgreSQL URL"),
            "{err}"
        );
    }

    #[test]
    fn a_connection_age_is_a_number_of_seconds() {
        let s = resolve(None, &env(&[]), &ServeArgs::default()).unwrap();
        assert_eq!(s.max_connection_age, None);
        let s = resolve(
            Some(file("[server]\nmax_connection_age_seconds = 300\n")),
            &env(&[]),
            &ServeArgs::default(),
        )
        .unwrap();
        assert_eq!(s.max_connection_age.map(|a| a.as_secs()), Some(300));
        let e = env(&[("MIDOFFICE__SERVER__MAX_CONNECTION_AGE_SECONDS", "60")]);
        let s = resolve(None, &e, &ServeArgs::default()).unwrap();
        assert_eq!(s.max_connection_age.map(|a| a.as_secs()), Some(60));
        for bad in ["0", "-5", "ten", "604801"] {
            let flags = ServeArgs {
                max_connection_age_seconds: Some(bad.into()),
                ..ServeArgs::default()
            };
            let err = resolve(None, &env(&[]), &flags)
                .err()
                .unwrap_or_else(|| panic!("{bad} is refused"));
            assert!(
                err.to_string()
                    .starts_with("--max-connection-age-seconds: "),
                "{err}"
            );
        }
    }

    #[test]
    fn cors_origins_are_a_list_in_the_file_and_comma_separated_elsewhere() {
        let s = resolve(None, &env(&[]), &ServeArgs::default()).unwrap();
        assert!(s.cors.allowed_origins.is_empty());
        let s = resolve(
            Some(file(
                "[server]\ncors_allowed_origins = [\"https://kcc.example.nl\"]\n",
            )),
            &env(&[]),
            &ServeArgs::default(),
        )
        .unwrap();
        assert_eq!(s.cors.allowed_origins, ["https://kcc.example.nl"]);
        let e = env(&[(
            "MIDOFFICE__SERVER__CORS_ALLOWED_ORIGINS",
            "https://a.example.nl, http://localhost:5173",
        )]);
        let s = resolve(None, &e, &ServeArgs::default()).unwrap();
        assert_eq!(
            s.cors.allowed_origins,
            ["https://a.example.nl", "http://localhost:5173"]
        );
        let flags = ServeArgs {
            cors_allowed_origins: Some("*".into()),
            ..ServeArgs::default()
        };
        let err = resolve(None, &env(&[]), &flags)
            .err()
            .unwrap_or_else(|| panic!("* is refused"));
        assert!(
            err.to_string().starts_with("--cors-allowed-origins: "),
            "{err}"
        );
    }

    #[test]
    fn the_database_and_secret_follow_the_data_folder_unless_set() {
        let e = env(&[("MIDOFFICE_DATA_DIR", "/var/lib/mo")]);
        let s = resolve(None, &e, &ServeArgs::default()).unwrap();
        assert_eq!(s.database_url, "sqlite:///var/lib/mo/midoffice.db?mode=rwc");
        assert_eq!(s.secret_file, Path::new("/var/lib/mo/secret.key"));
    }

    #[test]
    fn the_layered_name_wins_over_its_flat_alias_with_a_warning() {
        let e = env(&[
            ("MIDOFFICE_LISTEN", "127.0.0.1:4000"),
            ("MIDOFFICE__SERVER__LISTEN", "127.0.0.1:5000"),
        ]);
        let s = resolve(None, &e, &ServeArgs::default()).unwrap();
        assert_eq!(s.listen, "127.0.0.1:5000".parse().unwrap());
        assert_eq!(s.warnings.len(), 1);
        assert!(s.warnings[0].contains("MIDOFFICE__SERVER__LISTEN is used"));
        // Every documented flat name still works on its own.
        let e = env(&[
            ("MIDOFFICE_LISTEN", "127.0.0.1:4000"),
            ("MIDOFFICE_DATA_DIR", "/a"),
            ("MIDOFFICE_DATABASE_URL", "postgres://h/db"),
            ("MIDOFFICE_SECRET_FILE", "/b/key"),
            ("MIDOFFICE_OTLP_ENDPOINT", "http://c:4317"),
        ]);
        let s = resolve(Some(file(FULL_FILE)), &e, &ServeArgs::default()).unwrap();
        assert_eq!(s.listen, "127.0.0.1:4000".parse().unwrap());
        assert_eq!(s.data_dir, Path::new("/a"));
        assert_eq!(s.database_url, "postgres://h/db");
        assert_eq!(s.secret_file, Path::new("/b/key"));
        assert_eq!(s.otlp_endpoint.as_deref(), Some("http://c:4317"));
        assert!(s.warnings.is_empty());
    }

    #[test]
    fn an_empty_value_means_the_default() {
        let e = env(&[
            ("MIDOFFICE__TELEMETRY__OTLP_ENDPOINT", ""),
            ("MIDOFFICE__DATABASE__URL", " "),
        ]);
        let s = resolve(Some(file(FULL_FILE)), &e, &ServeArgs::default()).unwrap();
        assert_eq!(s.otlp_endpoint, None);
        assert_eq!(s.database_url, "sqlite:///srv/file/midoffice.db?mode=rwc");
    }

    #[test]
    fn the_mode_is_development_on_loopback_with_sqlite_else_production_unless_set() {
        let none = ServeArgs::default();
        let s = resolve(None, &env(&[]), &none).unwrap();
        assert_eq!(s.mode, Mode::Development, "the defaults are a local trial");
        let public = ServeArgs {
            listen: Some("0.0.0.0:50051".into()),
            ..ServeArgs::default()
        };
        assert_eq!(
            resolve(None, &env(&[]), &public).unwrap().mode,
            Mode::Production
        );
        let postgres = env(&[("MIDOFFICE__DATABASE__URL", "postgres://mo@db/mo")]);
        assert_eq!(
            resolve(None, &postgres, &none).unwrap().mode,
            Mode::Production
        );
        // Set explicitly, in any layer, it wins; on a public address with a warning.
        let e = env(&[("MIDOFFICE__SERVER__MODE", "production")]);
        assert_eq!(resolve(None, &e, &none).unwrap().mode, Mode::Production);
        let f = file("[server]\nmode = \"development\"\nlisten = \"0.0.0.0:1\"\n");
        let s = resolve(Some(f), &env(&[]), &none).unwrap();
        assert_eq!(s.mode, Mode::Development);
        assert!(
            s.warnings.iter().any(|w| w.contains("not loopback")),
            "{:?}",
            s.warnings
        );
        let flags = ServeArgs::from(StoreArgs {
            mode: Some("prod".into()),
            ..StoreArgs::default()
        });
        let err = resolve(None, &env(&[]), &flags).unwrap_err().to_string();
        assert!(
            err.starts_with("--mode") && err.contains("production"),
            "{err}"
        );
    }

    #[test]
    fn the_pages_may_have_an_address_of_their_own_named_in_every_error() {
        let none = ServeArgs::default();
        assert_eq!(resolve(None, &env(&[]), &none).unwrap().pages_listen, None);
        let f = || file("[server]\npages_listen = \"127.0.0.1:8080\"\n");
        let s = resolve(Some(f()), &env(&[]), &none).unwrap();
        assert_eq!(s.pages_listen, Some("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(s.mode, Mode::Development, "loopback pages keep development");
        let e = env(&[("MIDOFFICE__SERVER__PAGES_LISTEN", "[::1]:8081")]);
        let s = resolve(Some(f()), &e, &none).unwrap();
        assert_eq!(s.pages_listen, Some("[::1]:8081".parse().unwrap()));
        let flags = ServeArgs {
            pages_listen: Some("127.0.0.1:8082".into()),
            ..ServeArgs::default()
        };
        let s = resolve(Some(f()), &e, &flags).unwrap();
        assert_eq!(s.pages_listen, Some("127.0.0.1:8082".parse().unwrap()));
        // Empty: the default, the pages on the gRPC port.
        let e = env(&[("MIDOFFICE__SERVER__PAGES_LISTEN", " ")]);
        assert_eq!(resolve(Some(f()), &e, &none).unwrap().pages_listen, None);

        // A bad value names where it came from.
        let bad = file("[server]\npages_listen = \"localhost:8080\"\n");
        let err = resolve(Some(bad), &env(&[]), &none)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("server.pages_listen in test.toml"), "{err}");
        let e = env(&[("MIDOFFICE__SERVER__PAGES_LISTEN", "8080")]);
        let err = resolve(None, &e, &none).unwrap_err().to_string();
        assert!(err.starts_with("MIDOFFICE__SERVER__PAGES_LISTEN"), "{err}");
        let flags = ServeArgs {
            pages_listen: Some("nope".into()),
            ..ServeArgs::default()
        };
        let err = resolve(None, &env(&[]), &flags).unwrap_err().to_string();
        assert!(err.starts_with("--pages-listen"), "{err}");
        // The gRPC address itself is not a second address.
        let flags = ServeArgs {
            listen: Some("127.0.0.1:50051".into()),
            pages_listen: Some("127.0.0.1:50051".into()),
            ..ServeArgs::default()
        };
        let err = resolve(None, &env(&[]), &flags).unwrap_err().to_string();
        assert!(
            err.starts_with("--pages-listen") && err.contains("server.listen"),
            "{err}"
        );
        let any_port = ServeArgs {
            listen: Some("127.0.0.1:0".into()),
            pages_listen: Some("127.0.0.1:0".into()),
            ..ServeArgs::default()
        };
        resolve(None, &env(&[]), &any_port).unwrap();

        // Pages open to others make the inferred mode production, as the gRPC port does;
        // development said outright is warned about.
        let e = env(&[("MIDOFFICE__SERVER__PAGES_LISTEN", "0.0.0.0:8080")]);
        let s = resolve(None, &e, &none).unwrap();
        assert_eq!(s.mode, Mode::Production);
        assert!(s.mode_reason.contains("0.0.0.0:8080"), "{}", s.mode_reason);
        let e = env(&[
            ("MIDOFFICE__SERVER__PAGES_LISTEN", "0.0.0.0:8080"),
            ("MIDOFFICE__SERVER__MODE", "development"),
        ]);
        let s = resolve(None, &e, &none).unwrap();
        assert_eq!(s.mode, Mode::Development);
        assert!(
            s.warnings.iter().any(|w| w.contains("0.0.0.0:8080")),
            "{:?}",
            s.warnings
        );
    }

    #[test]
    fn production_needs_tls_or_a_proxy_that_terminates_it() {
        let production = env(&[("MIDOFFICE__SERVER__MODE", "production")]);
        let none = ServeArgs::default();
        let s = resolve(None, &production, &none).unwrap();
        let err = s.check_server_tls().unwrap_err();
        assert!(
            err.contains("[tls]") && err.contains("server.tls_terminated_by_proxy"),
            "{err}"
        );
        let f = file("[server]\ntls_terminated_by_proxy = true\n");
        let s = resolve(Some(f), &production, &none).unwrap();
        assert!(s.tls_terminated_by_proxy);
        s.check_server_tls().unwrap();
        let f = file("[tls]\ncert = \"s.crt\"\nkey = \"s.key\"\n");
        resolve(Some(f), &production, &none)
            .unwrap()
            .check_server_tls()
            .unwrap();
        // Development on loopback stays free.
        resolve(None, &env(&[]), &none)
            .unwrap()
            .check_server_tls()
            .unwrap();
        // The flag alone means true; a value that is no yes or no is refused.
        #[derive(clap::Parser)]
        struct Flags {
            #[command(flatten)]
            serve: ServeArgs,
        }
        let flags = <Flags as clap::Parser>::try_parse_from(["x", "--tls-terminated-by-proxy"])
            .unwrap()
            .serve;
        assert!(
            resolve(None, &production, &flags)
                .unwrap()
                .tls_terminated_by_proxy
        );
        let e = env(&[
            ("MIDOFFICE__SERVER__MODE", "production"),
            ("MIDOFFICE__SERVER__TLS_TERMINATED_BY_PROXY", "yes please"),
        ]);
        let err = resolve(None, &e, &none).unwrap_err().to_string();
        assert!(
            err.starts_with("MIDOFFICE__SERVER__TLS_TERMINATED_BY_PROXY"),
            "{err}"
        );
    }

    #[test]
    fn the_log_level_and_format_come_from_every_layer_and_are_checked() {
        use crate::telemetry::LogFormat;
        let none = ServeArgs::default();
        let s = resolve(None, &env(&[]), &none).unwrap();
        assert_eq!((s.log_level, s.log_format), (None, LogFormat::Text));
        let f = || file("[log]\nlevel = \"warn\"\nformat = \"json\"\n");
        let s = resolve(Some(f()), &env(&[]), &none).unwrap();
        assert_eq!(s.log_level.as_deref(), Some("warn"));
        assert_eq!(s.log_format, LogFormat::Json);
        assert_eq!(
            s.origins[LOG_LEVEL].as_deref(),
            Some("log.level in test.toml")
        );
        let e = env(&[("MIDOFFICE__LOG__LEVEL", "info,midoffice_store=debug")]);
        let s = resolve(Some(f()), &e, &none).unwrap();
        assert_eq!(s.log_level.as_deref(), Some("info,midoffice_store=debug"));
        let flags = ServeArgs {
            log_level: Some("error".into()),
            log_format: Some("TEXT".into()),
            ..ServeArgs::default()
        };
        let s = resolve(Some(f()), &e, &flags).unwrap();
        assert_eq!(s.log_level.as_deref(), Some("error"));
        assert_eq!(s.log_format, LogFormat::Text);
        for (key, value) in [
            ("MIDOFFICE__LOG__LEVEL", "midoffice=loud"),
            ("MIDOFFICE__LOG__FORMAT", "xml"),
        ] {
            let err = resolve(None, &env(&[(key, value)]), &none)
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(key), "{err}");
        }
    }

    #[test]
    fn production_exports_over_https_or_to_loopback_unless_allowed() {
        let none = ServeArgs::default();
        let with = |endpoint: &str, extra: &[(&str, &str)]| {
            let mut pairs = vec![
                ("MIDOFFICE__SERVER__MODE", "production"),
                ("MIDOFFICE__TELEMETRY__OTLP_ENDPOINT", endpoint),
            ];
            pairs.extend_from_slice(extra);
            resolve(None, &env(&pairs), &none).unwrap().check_otlp()
        };
        for fine in [
            "https://collector.example:4317",
            "HTTPS://collector.example",
            "http://localhost:4317",
            "http://127.0.0.1:4317",
            "http://[::1]:4317/",
        ] {
            with(fine, &[]).unwrap_or_else(|e| panic!("{fine}: {e}"));
        }
        for refused in [
            "http://collector.example:4317",
            "http://10.0.0.5:4317",
            "http://localhost.evil.example:4317",
            "http://127.0.0.1@collector.example:4317",
            "collector.example:4317",
        ] {
            let err = with(refused, &[]).expect_err(refused);
            assert!(err.contains("telemetry.otlp_plaintext"), "{err}");
            with(refused, &[("MIDOFFICE__TELEMETRY__OTLP_PLAINTEXT", "true")]).unwrap();
            with(
                refused,
                &[("MIDOFFICE__SERVER__TLS_TERMINATED_BY_PROXY", "true")],
            )
            .unwrap();
        }
        // Development exports anywhere.
        let e = env(&[(
            "MIDOFFICE__TELEMETRY__OTLP_ENDPOINT",
            "http://collector:4317",
        )]);
        resolve(None, &e, &none).unwrap().check_otlp().unwrap();
    }

    #[test]
    fn client_certificates_need_a_client_ca() {
        const CERT: &str = "[[access.client_certs]]\nname = \"balie\"\n\
            sha256 = \"0000000000000000000000000000000000000000000000000000000000000000\"\n\
            tenants = [\"gemeente-a\"]\nroles = [\"channel\"]\n";
        for tls in ["", "[tls]\ncert = \"s.crt\"\nkey = \"s.key\"\n"] {
            let err = parse_file(&format!("{CERT}{tls}"), Path::new("m.toml"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("m.toml") && err.contains("client_ca"), "{err}");
        }
        let with_ca = "[tls]\ncert = \"s.crt\"\nkey = \"s.key\"\nclient_ca = \"ca.crt\"\n";
        let f = file(&format!("{CERT}{with_ca}"));
        assert_eq!(f.access.client_certs.len(), 1);
    }

    #[test]
    fn metrics_are_exported_every_minute_unless_the_file_says_otherwise() {
        let none = resolve(None, &env(&[]), &ServeArgs::default()).unwrap();
        assert_eq!(none.metrics_interval.as_secs(), 60);
        let f = file("[telemetry]\nmetrics_interval_seconds = 5\n");
        let s = resolve(Some(f), &env(&[]), &ServeArgs::default()).unwrap();
        assert_eq!(s.metrics_interval.as_secs(), 5);
        for bad in ["0", "86401"] {
            let err = parse_file(
                &format!("[telemetry]\nmetrics_interval_seconds = {bad}\n"),
                Path::new("m.toml"),
            )
            .unwrap_err()
            .to_string();
            assert!(err.contains("telemetry.metrics_interval_seconds"), "{err}");
        }
    }

    #[test]
    fn benchmark_participants_keys_are_checked_when_the_file_is_read() {
        // 32 bytes of 7, base64.
        let key = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
        let f = file(&format!(
            "[benchmark.participants]\ngemeente-a = \"{key}\"\n"
        ));
        assert_eq!(
            f.benchmark_keys
                .keys()
                .map(|c| c.as_str())
                .collect::<Vec<_>>(),
            ["gemeente-a"]
        );
        assert!(file("").benchmark_keys.is_empty());
        let err = |text: &str| {
            parse_file(text, Path::new("m.toml"))
                .unwrap_err()
                .to_string()
        };
        let bad_key = err("[benchmark.participants]\ngemeente-a = \"bm90IGEga2V5\"\n");
        assert!(
            bad_key.contains("benchmark.participants.gemeente-a: not an Ed25519 public key"),
            "{bad_key}"
        );
        let bad_id = err(&format!(
            "[benchmark.participants]\n\"Gemeente A\" = \"{key}\"\n"
        ));
        assert!(bad_id.contains("participant id"), "{bad_id}");
        let unknown = err("[benchmark]\nkey = 1\n");
        assert!(unknown.contains("unknown key"), "{unknown}");
    }

    #[test]
    fn benchmark_disclosure_rules_default_to_the_floors_and_never_go_below() {
        use midoffice_domain::benchmark::{Disclosure, MetricRef, metric};
        let none = resolve(None, &BTreeMap::new(), &ServeArgs::default()).unwrap();
        assert_eq!(none.benchmark_rules, Disclosure::default());
        assert_eq!(none.benchmark_grace_days, 7);
        let s = resolve(Some(file("")), &BTreeMap::new(), &ServeArgs::default()).unwrap();
        assert_eq!(s.benchmark_rules, Disclosure::default());
        assert_eq!(s.benchmark_grace_days, 7);
        let f = file(
            "[benchmark]\nmin_participants = 7\nmin_contacts = 40\nmin_answers = 60\n\
             compose_after_days = 0\n",
        );
        let s = resolve(Some(f), &BTreeMap::new(), &ServeArgs::default()).unwrap();
        assert_eq!(s.benchmark_rules, Disclosure::new(7, 40, 60).unwrap());
        assert_eq!(s.benchmark_rules.min_participants(), 7);
        let satisfaction = metric(&MetricRef {
            id: "satisfaction".into(),
            version: 1,
        })
        .unwrap();
        assert_eq!(s.benchmark_rules.min_items(&satisfaction), 60);
        assert_eq!(s.benchmark_grace_days, 0);
        let err = |text: &str| {
            parse_file(text, Path::new("m.toml"))
                .unwrap_err()
                .to_string()
        };
        for (text, key) in [
            (
                "[benchmark]\nmin_participants = 4\n",
                "benchmark.min_participants",
            ),
            ("[benchmark]\nmin_contacts = 29\n", "benchmark.min_contacts"),
            ("[benchmark]\nmin_answers = 49\n", "benchmark.min_answers"),
            (
                "[benchmark]\ncompose_after_days = 367\n",
                "benchmark.compose_after_days",
            ),
        ] {
            let e = err(text);
            assert!(e.contains(key), "{text}: {e}");
        }
        let both = err("[benchmark]\nmin_participants = 1\nmin_answers = 0\n");
        assert!(
            both.contains("benchmark.min_participants must be at least 5")
                && both.contains("benchmark.min_answers must be at least 50"),
            "{both}"
        );
        // Not a number of the kind: refused where it stands.
        let negative = err("[benchmark]\nmin_contacts = -1\n");
        assert!(negative.contains("line 2"), "{negative}");
    }

    #[test]
    fn answers_are_computed_ahead_unless_the_file_says_otherwise() {
        let none = resolve(None, &BTreeMap::new(), &ServeArgs::default()).unwrap();
        assert!(none.compute_ahead);
        let f = file("[figures]\ncompute_ahead = false\n");
        let s = resolve(Some(f), &BTreeMap::new(), &ServeArgs::default()).unwrap();
        assert!(!s.compute_ahead);
        let err = parse_file("[figures]\nahead = false\n", Path::new("m.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("ahead"), "{err}");
    }

    #[test]
    fn the_retention_job_runs_hourly_unless_the_file_says_otherwise() {
        let none = resolve(None, &BTreeMap::new(), &ServeArgs::default()).unwrap();
        assert_eq!(none.retention, Retention::default());
        assert!(none.retention.enabled);
        assert_eq!(none.retention.interval.as_secs(), 3600);
        let f = file("[retention]\nenabled = false\ninterval_seconds = 600\n");
        let s = resolve(Some(f), &BTreeMap::new(), &ServeArgs::default()).unwrap();
        assert!(!s.retention.enabled);
        assert_eq!(s.retention.interval.as_secs(), 600);
        let err = parse_file("[retention]\ninterval_seconds = 0\n", Path::new("m.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("retention.interval_seconds"), "{err}");
        let err = parse_file("[retention]\nevery = 5\n", Path::new("m.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("every"), "{err}");
    }

    #[test]
    fn unknown_keys_in_the_file_are_named() {
        let text = "[server]\nlisten = \"127.0.0.1:1\"\nlistne = \"x\"\n";
        let err = parse_file(text, Path::new("m.toml")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("m.toml"), "{msg}");
        assert!(msg.contains("line 3"), "{msg}");
        assert!(msg.contains("unknown key `listne`"), "{msg}");
        let err = parse_file("[servr]\nlisten = \"x\"\n", Path::new("m.toml")).unwrap_err();
        assert!(err.to_string().contains("`servr`"), "{err}");
    }

    #[test]
    fn quoted_values_are_left_out_and_backticked_tokens_kept() {
        assert_eq!(
            without_quoted_values(r#"invalid type: string "a\"b", expected `"` or `x`"#),
            r#"invalid type: string "…", expected `"` or `x`"#
        );
    }

    #[test]
    fn file_errors_never_show_a_password() {
        for text in [
            "[database]\nurl = \"postgres://u:hunter2@h/db\"\nurll = \"postgres://u:hunter2@h/db\"\n",
            "database = \"postgres://u:hunter2@h/db\"\n",
            "[database]\nurl = \"postgres://u:hunter2@h/db\n",
        ] {
            let err = parse_file(text, Path::new("m.toml")).unwrap_err();
            assert!(!err.to_string().contains("hunter2"), "{err}");
            assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
        }
        let s = resolve(Some(file(FULL_FILE)), &env(&[]), &ServeArgs::default()).unwrap();
        assert!(!format!("{s:?}").contains("filepw"));
    }

    #[test]
    fn unknown_layered_variables_and_bad_addresses_are_refused() {
        let e = env(&[("MIDOFFICE__SERVER__LISTNE", "x")]);
        let err = resolve(None, &e, &ServeArgs::default()).unwrap_err();
        assert!(
            err.to_string().contains("MIDOFFICE__SERVER__LISTNE"),
            "{err}"
        );
        // Other flat MIDOFFICE_ variables (test settings and the like) are not ours.
        assert!(
            resolve(
                None,
                &env(&[("MIDOFFICE_SCENARIOS", "x")]),
                &ServeArgs::default()
            )
            .is_ok()
        );

        let e = env(&[("MIDOFFICE__SERVER__LISTEN", "localhost")]);
        let err = resolve(None, &e, &ServeArgs::default()).unwrap_err();
        assert!(
            err.to_string().contains("MIDOFFICE__SERVER__LISTEN"),
            "{err}"
        );
        let flags = ServeArgs {
            listen: Some("nope".into()),
            ..ServeArgs::default()
        };
        let err = resolve(None, &env(&[]), &flags).unwrap_err();
        assert!(err.to_string().starts_with("--listen"), "{err}");
    }

    #[test]
    fn the_file_is_the_flag_else_the_variable_else_the_local_one_if_present() {
        let flags = ServeArgs::from(StoreArgs {
            config: Some("/etc/flag.toml".into()),
            ..StoreArgs::default()
        });
        let e = env(&[(CONFIG_ENV, "/etc/env.toml")]);
        let yes = |_: &Path| true;
        let no = |_: &Path| false;
        assert_eq!(file_path(&flags, &e, no), Some("/etc/flag.toml".into()));
        assert_eq!(
            file_path(&ServeArgs::default(), &e, no),
            Some("/etc/env.toml".into())
        );
        assert_eq!(
            file_path(&ServeArgs::default(), &env(&[]), yes),
            Some(Path::new(".").join("midoffice.toml"))
        );
        assert_eq!(file_path(&ServeArgs::default(), &env(&[]), no), None);
        let missing = read_file(Path::new("/nonexistent/midoffice.toml")).unwrap_err();
        assert!(matches!(missing, ConfigError::Read { .. }));
    }

    #[test]
    fn the_example_file_is_valid_and_uses_the_defaults() {
        let text = include_str!("../../../deploy/midoffice.example.toml");
        let example = parse_file(text, Path::new("midoffice.example.toml")).unwrap();
        let s = resolve(Some(example), &env(&[]), &ServeArgs::default()).unwrap();
        let d = resolve(None, &env(&[]), &ServeArgs::default()).unwrap();
        assert_eq!(s.listen, d.listen);
        assert_eq!(s.pages_listen, d.pages_listen);
        assert_eq!(s.data_dir, d.data_dir);
        assert_eq!(s.database_url, d.database_url);
        assert_eq!(s.secret_file, d.secret_file);
        assert_eq!(s.otlp_endpoint, d.otlp_endpoint);
        assert_eq!(s.mode, d.mode);
        assert_eq!(s.retention, d.retention);
    }
}
