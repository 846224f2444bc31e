//! The midoffice service binary: `serve` (the default), `play`, `seed`, `demo`, `key new`,
//! `bench`, `retention run`, `migrate`, `config check` and `health`.

mod access;
mod ahead;
mod bench;
mod benchmark;
mod check;
mod config;
mod demo;
mod events;
mod health;
mod metrics;
mod processing_export;
mod retention;
mod secret;
mod seed;
mod telemetry;

use clap::{Args, Parser, Subcommand};
use config::{ServeArgs, Settings, StoreArgs};
use midoffice_api::server::AppState;
use midoffice_domain::identifier::Pseudonymiser;
use midoffice_store::{Store, redact_url, sqlite_path};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tracing::{error, info, warn};

pub(crate) const CONFIGURATION_HELP: &str = "\
Configuration, each layer overriding the one before:
  1. the built-in defaults shown above;
  2. a TOML file: --config, else MIDOFFICE_CONFIG, else ./midoffice.toml if it exists
     (see deploy/midoffice.example.toml; an unknown key is an error; `midoffice
     config check FILE` checks one and prints the effective settings);
  3. environment variables MIDOFFICE__SECTION__KEY, or the older flat names: when
     both are set, the MIDOFFICE__ one wins;
  4. flags.
An empty value means the built-in default.

  flag             file key                 environment
  --listen         server.listen            MIDOFFICE__SERVER__LISTEN, MIDOFFICE_LISTEN
  --pages-listen   server.pages_listen      MIDOFFICE__SERVER__PAGES_LISTEN
                   a second address for the pages (/thermometer, /dashboard): served
                   there (with the server's TLS) and no longer on the gRPC port;
                   unset: on the gRPC port. Loopback only without credentials.
  --max-connection-age-seconds
                   server.max_connection_age_seconds
                                            MIDOFFICE__SERVER__MAX_CONNECTION_AGE_SECONDS
                   after this many seconds a client's connection gets a GOAWAY and
                   the client connects again (to any replica); calls in flight finish.
                   Unset: a connection lives as long as the client keeps it.
  --cors-allowed-origins
                   server.cors_allowed_origins
                                            MIDOFFICE__SERVER__CORS_ALLOWED_ORIGINS
                   the origins (scheme://host[:port], comma-separated; a list in the
                   file) whose browsers may call the JSON API (/api/v1/). Unset: none.
  --data-dir       data.dir                 MIDOFFICE__DATA__DIR, MIDOFFICE_DATA_DIR
  --database-url   database.url             MIDOFFICE__DATABASE__URL,
                                            MIDOFFICE_DATABASE_URL
  --database-read-url
                   database.read_url        MIDOFFICE__DATABASE__READ_URL
                   a PostgreSQL hot standby of database.url that the figures, the
                   thermometer and the pages read from; nothing is written there.
                   Unset: they read from database.url. See docs/scaling.md.
  --secret-file    secret.file              MIDOFFICE__SECRET__FILE, MIDOFFICE_SECRET_FILE
  --otlp-endpoint  telemetry.otlp_endpoint  MIDOFFICE__TELEMETRY__OTLP_ENDPOINT,
                                            MIDOFFICE_OTLP_ENDPOINT
  --mode           server.mode              MIDOFFICE__SERVER__MODE, MIDOFFICE_MODE
                   development or production; unset: production when listening on a
                   non-loopback address or using PostgreSQL, else development. In
                   production the secret must come from MIDOFFICE_SECRET or a file
                   outside the data folder, and is never generated.
  --tls-terminated-by-proxy
                   server.tls_terminated_by_proxy
                                            MIDOFFICE__SERVER__TLS_TERMINATED_BY_PROXY
                   true when a proxy, load balancer or sidecar in front terminates
                   TLS: production refuses to serve without [tls] otherwise, and to
                   export in clear to a collector off loopback.
  --otlp-plaintext telemetry.otlp_plaintext MIDOFFICE__TELEMETRY__OTLP_PLAINTEXT
                   true to let production export over http:// to a collector off
                   loopback (a trusted network); else https:// or loopback only.
  --log-level      log.level                MIDOFFICE__LOG__LEVEL
                   a level (error, warn, info, debug, trace) or filter directives,
                   such as info,midoffice_store=debug; unset: RUST_LOG, else info.
                   A SIGHUP or a change of the file reads it again while serving.
  --log-format     log.format               MIDOFFICE__LOG__FORMAT
                   text (default), or json: one JSON object a line, with the call's
                   trace_id, span_id and tenant.

Environment only:
  MIDOFFICE_SECRET  the identifier-hashing secret itself, in hex (at least 32 hex
                    characters); when set, the secret file is not used
  RUST_LOG          log filter when log.level is unset, such as `info` (the
                    default for serve) or `midoffice_api=debug,info`

Credentials ([access] in the file; see docs/operations/access.md): API keys made by
`midoffice key new`, an OIDC issuer, client certificates; TLS in [tls]. With none
configured, midoffice serves loopback only, for development, and every call may name
its tenant in the gRPC metadata `x-tenant` (default `default`); with credentials, the
tenant comes from the credential.";

/// A midoffice for Dutch municipal contact centres: one record per citizen across phone,
/// counter, web and e-mail, the signals an agent needs when a contact starts, and the
/// cross-channel service norms.
#[derive(Debug, Parser)]
#[command(name = "midoffice", version, args_conflicts_with_subcommands = true, after_help = CONFIGURATION_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the gRPC API, gRPC-Web, health, reflection and the pages on one port (the
    /// default); the pages on a second address with --pages-listen.
    #[command(after_help = CONFIGURATION_HELP)]
    Serve(ServeArgs),
    /// Play scenario files against a fresh in-process server each; exits 1 if any fails.
    Play(PlayArgs),
    /// Fill a store with citizens and contacts of a realistic shape, every contact
    /// decided by the domain's rules, saved in bulk (for benchmarks and trials).
    Seed(seed::SeedArgs),
    /// Fill an empty tenant (default `demo`) with a realistic quarter of contacts up to
    /// today, with holidays and explanations for the norms it misses, for a first look
    /// at the thermometer and the dashboard; then prints how to serve it.
    Demo(demo::DemoArgs),
    /// API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Drive a running server over gRPC with a realistic mix of calls and measure
    /// latency and throughput per RPC, beside an empty handler in the same run
    /// (docs/benchmarks.md).
    Bench(bench::BenchArgs),
    /// Serve only the empty handler `bench` compares with (canned answers read from
    /// files), for an independent load generator's baseline
    /// (docs/benchmarks/independent/).
    BenchBaseline(bench::BaselineArgs),
    /// Retention: deleting contacts older than each tenant's retention period.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Run the pending database migrations now (on the database `serve` would open,
    /// read from the same configuration) and print which ran; `serve` runs them at
    /// start too, so this is for running them ahead, such as in a Kubernetes init job.
    /// Refuses a database migrated by a newer midoffice. Exits 1 on failure.
    #[command(after_help = CONFIGURATION_HELP)]
    Migrate(StoreArgs),
    /// The configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Ask a running server's gRPC health service (plaintext) whether it is serving:
    /// exits 0 on SERVING, 1 otherwise, with a line saying why (for a container's
    /// HEALTHCHECK).
    Health(health::HealthArgs),
    /// The benchmark between organisations: signed summaries exchanged between
    /// deployments (docs/benchmark.md).
    #[command(subcommand)]
    Benchmark(benchmark::BenchmarkCommand),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Load FILE as `serve` would (with the environment), check everything `serve`
    /// checks before it opens the database (no database is connected to, the secret
    /// file is not read), and print the effective settings and where each came from,
    /// secrets masked. Exits 0 when valid, 1 with the errors otherwise.
    #[command(after_help = CONFIGURATION_HELP)]
    Check {
        /// The configuration file (TOML; see deploy/midoffice.example.toml).
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum RetentionCommand {
    /// Run one retention pass over every tenant now, on the configured database (as
    /// `serve` reads the configuration), and print what it deleted per tenant.
    #[command(after_help = CONFIGURATION_HELP)]
    Run(RetentionRunArgs),
}

#[derive(Debug, Args)]
struct RetentionRunArgs {
    /// Judge as of this instant (RFC 3339, such as 2027-01-01T00:00:00Z) instead of
    /// now: what a pass at that moment would delete, deleted.
    #[arg(long, value_name = "INSTANT")]
    as_of: Option<String>,
    /// The OTLP collector `serve` exports the processing log to, as for `serve`: while
    /// one is configured (flag, file or environment), processing records the collector
    /// has not acknowledged are kept. Give the same value as the server's.
    #[arg(long, value_name = "URL")]
    otlp_endpoint: Option<String>,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Make a new API key: prints the key once and the configuration entry (its hash,
    /// tenants, roles and channels) to add under [access].
    New(KeyNewArgs),
}

#[derive(Debug, Args)]
struct KeyNewArgs {
    /// The key's name, recorded as the subject of its calls (such as kcc-telefonie).
    #[arg(long)]
    name: String,
    /// A tenant the key acts for; repeat for several (the call then names one in
    /// `x-tenant`).
    #[arg(long = "tenant", required = true, value_name = "TENANT")]
    tenants: Vec<String>,
    /// A role: channel, dashboard, admin or privacy; repeat for several.
    #[arg(long = "role", required = true, value_name = "ROLE")]
    roles: Vec<String>,
    /// Limit a channel key to a channel: phone, counter, web or email; repeat for
    /// several [default: every channel].
    #[arg(long = "channel", value_name = "CHANNEL")]
    channels: Vec<String>,
}

#[derive(Debug, Args)]
struct PlayArgs {
    /// Scenario files (*.yaml) or folders of them, played in name order.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// A PostgreSQL server URL (`postgres://USER:PASSWORD@HOST/DB`) under which a fresh
    /// database is created and dropped for each file [default: a fresh temporary SQLite
    /// file for each].
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Play(args)) => play(args).await,
        Some(Command::Serve(args)) => serve(args).await,
        Some(Command::Seed(args)) => seed::run(args).await,
        Some(Command::Demo(args)) => demo::run(args).await,
        Some(Command::Key(KeyCommand::New(args))) => key_new(args),
        Some(Command::Bench(args)) => match bench::run(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("midoffice bench: {e}");
                ExitCode::FAILURE
            }
        },
        Some(Command::BenchBaseline(args)) => match bench::serve_baseline(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("midoffice bench-baseline: {e}");
                ExitCode::FAILURE
            }
        },
        Some(Command::Retention(RetentionCommand::Run(args))) => retention_run(args).await,
        Some(Command::Migrate(args)) => migrate(args).await,
        Some(Command::Config(ConfigCommand::Check { file })) => check::run(file).await,
        Some(Command::Health(args)) => health::run(args).await,
        Some(Command::Benchmark(command)) => benchmark::run(command).await,
        None => serve(cli.serve).await,
    }
}

async fn play(args: PlayArgs) -> ExitCode {
    // The runner prints its own report on stdout; logs (stderr) only for trouble.
    let telemetry = match telemetry::init(None, tracing::Level::WARN) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("midoffice: cannot set up logging: {e}");
            return ExitCode::FAILURE;
        }
    };
    let summary = midoffice_scenarios::play_paths(&args.paths, args.database_url.as_deref()).await;
    telemetry.shutdown().await;
    if summary.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn key_new(args: KeyNewArgs) -> ExitCode {
    match access::new_key_text(&args.name, &args.tenants, &args.roles, &args.channels) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("midoffice: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn retention_run(args: RetentionRunArgs) -> ExitCode {
    let now = match args
        .as_of
        .as_deref()
        .map(chrono::DateTime::parse_from_rfc3339)
    {
        None => chrono::Utc::now(),
        Some(Ok(t)) => t.to_utc(),
        Some(Err(e)) => {
            eprintln!("midoffice: --as-of is not an RFC 3339 instant: {e}");
            return ExitCode::FAILURE;
        }
    };
    let flags = ServeArgs {
        otlp_endpoint: args.otlp_endpoint,
        ..ServeArgs::from(args.store)
    };
    let settings = match config::environment().and_then(|env| config::load(&flags, &env)) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("midoffice: {e}");
            return ExitCode::FAILURE;
        }
    };
    let telemetry = match telemetry::init(None, tracing::Level::WARN) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("midoffice: cannot set up logging: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = match open_store(&settings, None, None).await {
        Err(e) => {
            eprintln!("midoffice: {e}");
            ExitCode::FAILURE
        }
        Ok(store) => {
            let exporting = settings
                .otlp_endpoint
                .as_deref()
                .is_some_and(|e| !e.trim().is_empty());
            match retention::pass(&store, now, exporting).await {
                Err(e) => {
                    eprintln!("midoffice: cannot list the tenants: {e}");
                    ExitCode::FAILURE
                }
                Ok(reports) => {
                    let mut failed = false;
                    println!(
                        "tenant\tcases\tcontacts\tparties\tidempotency\tprocessing\taudit\tevents"
                    );
                    for (tenant, report) in reports {
                        match report {
                            Ok(r) => println!(
                                "{tenant}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                                r.cases,
                                r.contacts,
                                r.parties,
                                r.idempotency_records,
                                r.processing_records,
                                r.audit_records,
                                r.events
                            ),
                            Err(e) => {
                                failed = true;
                                eprintln!("midoffice: tenant {tenant}: {e}");
                            }
                        }
                    }
                    if failed {
                        ExitCode::FAILURE
                    } else {
                        ExitCode::SUCCESS
                    }
                }
            }
        }
    };
    telemetry.shutdown().await;
    code
}

async fn migrate(args: StoreArgs) -> ExitCode {
    let settings =
        match config::environment().and_then(|env| config::load(&ServeArgs::from(args), &env)) {
            Ok(settings) => settings,
            Err(e) => {
                eprintln!("midoffice: {e}");
                return ExitCode::FAILURE;
            }
        };
    let telemetry = match telemetry::init(None, tracing::Level::WARN) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("midoffice: cannot set up logging: {e}");
            return ExitCode::FAILURE;
        }
    };
    let shown_url = redact_url(&settings.database_url);
    let code = match migrate_database(&settings).await {
        Ok(applied) if applied.is_empty() => {
            println!("{shown_url}: no migration was pending; the database is up to date");
            ExitCode::SUCCESS
        }
        Ok(applied) => {
            for name in &applied {
                println!("applied {name}");
            }
            println!("{shown_url}: {} migration(s) applied", applied.len());
            ExitCode::SUCCESS
        }
        Err(failure) => {
            for name in &failure.applied {
                println!("applied {name}");
            }
            eprintln!("midoffice: cannot migrate the database {shown_url}: {failure}");
            ExitCode::FAILURE
        }
    };
    telemetry.shutdown().await;
    code
}

/// Why `midoffice migrate` stopped, and what it applied before.
struct MigrateFailure {
    applied: Vec<String>,
    why: String,
}

impl std::fmt::Display for MigrateFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.why)
    }
}

/// The pending migrations of the database of `settings` applied, its SQLite file (and
/// folder) created private first as `serve` creates them.
async fn migrate_database(settings: &Settings) -> Result<Vec<String>, MigrateFailure> {
    let failed = |why: String| MigrateFailure {
        applied: Vec::new(),
        why,
    };
    if let Some(file) = sqlite_path(&settings.database_url) {
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir).map_err(|e| {
                failed(format!(
                    "cannot create the database folder {}: {e}",
                    dir.display()
                ))
            })?;
        }
        create_private_file(&file).map_err(|e| {
            failed(format!(
                "cannot create the database {}: {e}",
                file.display()
            ))
        })?;
    }
    midoffice_store::migrate_url(&settings.database_url)
        .await
        .map_err(|f| MigrateFailure {
            applied: f.applied,
            why: f.error.to_string(),
        })
}

/// The figures' start-up, then their job: rebuilds stale rollups, reads the first
/// pages, then (unless `figures.compute_ahead = false`) computes dashboard answers
/// ahead (`ahead`) until `stop`.
async fn figures_job(
    store: Store,
    compute_ahead: bool,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let start = async {
        rebuild_stale_figures(&store).await;
        warm_pages(&store).await;
    };
    tokio::select! {
        () = start => {}
        _ = stop.changed() => return,
    }
    if compute_ahead {
        ahead::run(store, stop).await;
    }
}

/// Rebuilds the figure rollups of every tenant whose rollups are stale, one at a time.
async fn rebuild_stale_figures(store: &Store) {
    let tenants = match store.stale_figure_tenants().await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the tenants with stale figure rollups");
            return;
        }
    };
    for tenant in tenants {
        match store.rebuild_stale_figures(&tenant).await {
            Ok(current) => info!(tenant = %tenant, current, "figure rollups rebuilt"),
            Err(e) => tracing::warn!(tenant = %tenant, error = %e, "figure rollups not rebuilt"),
        }
    }
}

/// How many tenants' first pages are read at start-up: each keeps about 35 dashboard
/// period answers and 4 thermometer ones.
const WARM_TENANTS: u64 = 250;
/// Of those, how many also have the month, quarter and year before read (on the
/// dashboard about 160 more answers each, on the public page about 12): with the first
/// pages about 12,000 of the 20,000 dashboard answers (`figure_cache::CAPACITY`) and
/// 1,300 of the 5,000 thermometer answers a process keeps, so that what readers ask
/// next has room without pushing these out.
const WARM_LINKS: usize = 20;

/// Reads the first page of the dashboard and of the public thermometer of each tenant
/// with figures (at most [`WARM_TENANTS`]), one after the other, so their figures are
/// kept in memory before the first manager or citizen opens them (after a restart, a
/// dashboard at national scale would otherwise compute every period on its first view).
async fn warm_pages(store: &Store) {
    let tenants = match store.figure_tenants(WARM_TENANTS).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the tenants to read their first pages");
            return;
        }
    };
    let started = std::time::Instant::now();
    // First every tenant's first pages, then the month, quarter and year before.
    for (pass, links) in [(tenants.len(), false), (WARM_LINKS, true)] {
        for tenant in tenants.iter().take(pass) {
            if let Err(e) = midoffice_api::dashboard::warm(store, tenant, links).await {
                tracing::warn!(tenant = %tenant, error = %e, "the dashboard's pages were not read");
            }
            if let Err(e) = midoffice_api::thermometer::warm(store, tenant, links).await {
                tracing::warn!(tenant = %tenant, error = %e, "the thermometer's pages were not read");
            }
        }
        info!(
            tenants = tenants.len().min(pass),
            links,
            ms = started.elapsed().as_millis() as u64,
            "the pages' figures are kept in memory"
        );
    }
}

async fn serve(args: ServeArgs) -> ExitCode {
    // Read before logging starts: the OTLP endpoint is part of the configuration.
    let (settings, env) = match config::environment()
        .and_then(|env| config::load(&args, &env).map(|settings| (settings, env)))
    {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("midoffice: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Before the exporter starts: nothing may leave in clear where it must not.
    if let Err(e) = settings.check_otlp() {
        eprintln!("midoffice: {e}");
        return ExitCode::FAILURE;
    }
    let logging = telemetry::Logging {
        filter: settings.log_level.clone(),
        format: settings.log_format,
    };
    let endpoint = settings.otlp_endpoint.as_deref();
    let mut telemetry = match telemetry::init_with(endpoint, tracing::Level::INFO, &logging) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("midoffice: cannot set up logging and tracing: {e}");
            return ExitCode::FAILURE;
        }
    };
    // SIGHUP, or a change of the configuration file: log.level read again (file,
    // environment, flags), as `serve` read it.
    #[cfg(unix)]
    telemetry::reload_on_hangup(telemetry.log_control(), settings.file.clone(), move || {
        config::environment()
            .and_then(|env| config::load(&args, &env))
            .map(|settings| settings.log_level)
            .map_err(|e| e.to_string())
    });
    // Before the server and the store make their instruments: until the provider is
    // installed they would stay no-ops.
    if let Some(endpoint) = exported_to(&settings)
        && let Err(e) = telemetry.start_metrics(endpoint, settings.metrics_interval)
    {
        error!("cannot build the metric exporter: {e}");
        telemetry.shutdown().await;
        return ExitCode::FAILURE;
    }
    if let Some(file) = &settings.file {
        info!(path = %file.display(), "configuration file");
    }
    for warning in &settings.warnings {
        warn!("{warning}");
    }
    let env_secret = env.get(secret::SECRET_ENV).map(String::as_str);
    let result = run_server(&settings, env_secret).await;
    if let Err(e) = &result {
        error!("midoffice failed: {e}");
    }
    telemetry.shutdown().await;
    if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The OTLP collector telemetry goes to, if one is configured.
fn exported_to(settings: &Settings) -> Option<&str> {
    settings
        .otlp_endpoint
        .as_deref()
        .filter(|e| !e.trim().is_empty())
}

async fn run_server(settings: &Settings, env_secret: Option<&str>) -> Result<(), BoxError> {
    info!(
        mode = settings.mode.as_str(),
        reason = %settings.mode_reason,
        "running mode"
    );
    let (sqlite_file, secret) = store_secret(settings, env_secret)?;
    match &secret.source {
        secret::Source::Env => info!("identifier-hashing secret from {}", secret::SECRET_ENV),
        secret::Source::File(path) | secret::Source::Generated(path) => {
            info!(path = %path.display(), "identifier-hashing secret from file")
        }
    }
    let pseudonymiser = Pseudonymiser::new(&secret.key);
    drop(secret);

    let access = check_access(settings)?;
    let tls = settings
        .tls
        .as_ref()
        .map(access::TlsFiles::read)
        .transpose()?;
    access.warm_up().await;

    let store = open_store(
        settings,
        sqlite_file.as_deref(),
        settings.read_url.as_deref(),
    )
    .await?;
    let shown_url = redact_url(&settings.database_url);
    // Stops the background jobs when the server stops.
    let (stop_export, stopped) = tokio::sync::watch::channel(false);
    // Tenants whose figure rollups are stale (settings changed, a store from before
    // them) are answered from the facts until this rebuild has run.
    let figures = tokio::spawn(figures_job(
        store.clone(),
        settings.compute_ahead,
        stop_export.subscribe(),
    ));
    if settings.mode == config::Mode::Production {
        let named = settings
            .access
            .keys
            .iter()
            .flat_map(|k| k.grant.tenants.iter().cloned());
        processing_export::warn_unconfigured_activities(&store, named).await;
    }
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
    let addr = listener.local_addr()?;
    let pages = match settings.pages_listen {
        None => None,
        Some(at) => Some(tokio::net::TcpListener::bind(at).await.map_err(|e| {
            format!("cannot listen on {at} (server.pages_listen, the pages' address): {e}")
        })?),
    };
    info!(
        listen = %addr,
        database = %shown_url,
        read_database = %settings.read_url.as_deref().map_or_else(|| "none".to_owned(), redact_url),
        tls = settings.tls.is_some(),
        credentials = settings.access.keys.len() + settings.access.client_certs.len()
            + usize::from(settings.access.oidc.is_some()),
        "midoffice serving gRPC, gRPC-Web, health and reflection"
    );
    if let Some(pages) = &pages {
        info!(
            pages = %pages.local_addr()?,
            "midoffice serving the pages (/thermometer, /dashboard) on their own address, \
             not on the gRPC port"
        );
    }
    // The processing log goes to the same collector as the traces, when there is one.
    let export = match exported_to(settings) {
        None => None,
        Some(endpoint) => {
            let exporter = processing_export::Collector::new(endpoint)
                .map_err(|e| format!("cannot build the processing log exporter: {e}"))?;
            info!(endpoint, "exporting the processing log over OTLP");
            Some(tokio::spawn(processing_export::run(
                store.clone(),
                exporter,
                stopped,
            )))
        }
    };
    let exporting = export.is_some();
    // The domain figures as gauges, only while metrics are exported.
    let domain_metrics = exporting.then(|| {
        tokio::spawn(metrics::run(
            store.clone(),
            metrics::register(),
            settings.metrics_interval,
            stop_export.subscribe(),
        ))
    });
    let retention_job = settings.retention.enabled.then(|| {
        info!(
            interval_seconds = settings.retention.interval.as_secs(),
            "retention job"
        );
        tokio::spawn(retention::run(
            store.clone(),
            settings.retention.interval,
            exporting,
            stop_export.subscribe(),
        ))
    });
    // Benchmark groups composed once their periods are due (docs/benchmark.md).
    let benchmark_job = tokio::spawn(benchmark::compose_job(
        store.clone(),
        settings.benchmark_grace_days,
        stop_export.subscribe(),
    ));
    // Events to webhook subscribers: only with subscribers configured.
    let events_job = (!settings.events.subscribers.is_empty()).then(|| {
        let mut names: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for s in &settings.events.subscribers {
            names
                .entry(s.tenant.as_str().to_owned())
                .or_default()
                .push(s.name.clone());
        }
        info!(
            subscribers = settings.events.subscribers.len(),
            "event dispatcher"
        );
        store.set_event_subscribers(names);
        tokio::spawn(events::run(
            store.clone(),
            settings.events.clone(),
            stop_export.subscribe(),
        ))
    });
    let served = midoffice_api::serve_on(
        midoffice_api::Listeners {
            grpc: listener,
            pages,
            max_connection_age: settings.max_connection_age,
        },
        AppState {
            store,
            pseudonymiser,
            access,
            cors: settings.cors.clone(),
            // The disclosure rules and grace of `[benchmark]`.
            benchmark: midoffice_api::service::BenchmarkOptions {
                disclosure: settings.benchmark_rules,
                grace_days: settings.benchmark_grace_days,
            },
        },
        tls,
        shutdown_signal(),
    )
    .await;
    let _ = stop_export.send(true);
    if let Some(task) = events_job
        && let Err(e) = task.await
    {
        tracing::warn!(error = %e, "the event dispatcher stopped abnormally");
    }
    if let Err(e) = figures.await {
        tracing::warn!(error = %e, "the figures job stopped abnormally");
    }
    if let Err(e) = benchmark_job.await {
        tracing::warn!(error = %e, "the benchmark composing job stopped abnormally");
    }
    if let Some(task) = retention_job
        && let Err(e) = task.await
    {
        tracing::warn!(error = %e, "the retention job stopped abnormally");
    }
    if let Some(task) = domain_metrics
        && let Err(e) = task.await
    {
        tracing::warn!(error = %e, "the domain metrics task stopped abnormally");
    }
    if let Some(task) = export
        && let Err(e) = task.await
    {
        tracing::warn!(error = %e, "the processing log exporter stopped abnormally");
    }
    served?;
    info!("midoffice stopped");
    Ok(())
}

/// What every subcommand that opens the store does first: the folder of the SQLite
/// file made private (0700), and the identifier-hashing secret loaded as the mode allows
/// (generated in development only). Answers the SQLite file, if any, for
/// [`open_store`].
pub(crate) fn store_secret(
    settings: &Settings,
    env_secret: Option<&str>,
) -> Result<(Option<PathBuf>, secret::Secret), BoxError> {
    let sqlite_file = sqlite_path(&settings.database_url);
    if let Some(dir) = sqlite_file
        .as_deref()
        .and_then(Path::parent)
        .filter(|d| !d.as_os_str().is_empty())
    {
        create_private_dir(dir)
            .map_err(|e| format!("cannot create the database folder {}: {e}", dir.display()))?;
    }
    let secret = secret::load_for_mode(
        settings.mode == config::Mode::Production,
        env_secret,
        &settings.secret_file,
        secret::DataPlace {
            data_dir: &settings.data_dir,
            database_file: sqlite_file.as_deref(),
        },
    )?;
    Ok((sqlite_file, secret))
}

/// The store of `settings`, its SQLite file (from [`store_secret`]) created private
/// (0600) first, the migrations run; its figures read from `read_url` (a hot standby,
/// `database.read_url`) when given. Only `serve` gives it: a command that decides what
/// to write from figures (`demo`) reads them where it writes.
pub(crate) async fn open_store(
    settings: &Settings,
    sqlite_file: Option<&Path>,
    read_url: Option<&str>,
) -> Result<Store, BoxError> {
    if let Some(file) = sqlite_file {
        create_private_file(file)
            .map_err(|e| format!("cannot create the database {}: {e}", file.display()))?;
    }
    let shown_url = redact_url(&settings.database_url);
    let shown_read = read_url.map_or_else(String::new, |u| {
        format!(" (figures from the read database {})", redact_url(u))
    });
    Store::connect_with(&settings.database_url, read_url)
        .await
        .map_err(|e| format!("cannot open the database {shown_url}{shown_read}: {e}").into())
}

/// What `serve` says when it will not serve without credentials.
const NO_CREDENTIALS: &str = "no credentials are configured, so midoffice serves only on a \
loopback address (127.0.0.1 or ::1), for development. To serve others, configure \
credentials in the configuration file: an API key (`midoffice key new --name NAME \
--tenant TENANT --role ROLE` prints the [[access.keys]] entry), an OIDC issuer \
([access.oidc]) or client certificates ([[access.client_certs]]); see \
docs/operations/access.md";

/// The access the server runs with: development access only on loopback and outside
/// production; configured credentials otherwise.
fn check_access(settings: &Settings) -> Result<midoffice_api::auth::Access, BoxError> {
    let access = midoffice_api::auth::Access::configured(settings.access.clone());
    if !access.requires_credentials() {
        if !settings.listen.ip().is_loopback() {
            return Err(format!(
                "refusing to listen on {}: {NO_CREDENTIALS}",
                settings.listen
            )
            .into());
        }
        // The dashboard on the pages' address is open to loopback peers only without
        // credentials; the address itself stays on loopback, as the gRPC port does.
        if let Some(pages) = settings.pages_listen.filter(|a| !a.ip().is_loopback()) {
            return Err(format!(
                "refusing to serve the pages on {pages} (server.pages_listen): {NO_CREDENTIALS}"
            )
            .into());
        }
        // A proxy in front of a loopback address serves others all the same: without
        // credentials that would open the API to whoever reaches the proxy.
        if settings.tls_terminated_by_proxy {
            return Err(format!(
                "refusing to serve behind a proxy (server.tls_terminated_by_proxy): {NO_CREDENTIALS}"
            )
            .into());
        }
        if settings.mode == config::Mode::Production {
            return Err(format!(
                "refusing to run in production ({}): {NO_CREDENTIALS}; for a local trial set server.mode = \"development\"",
                settings.mode_reason
            )
            .into());
        }
        warn!("no credentials configured: every call on loopback is allowed (development)");
    }
    settings.check_server_tls()?;
    if settings.tls.is_none() && settings.tls_terminated_by_proxy {
        info!("TLS is terminated in front of midoffice (server.tls_terminated_by_proxy)");
    } else if settings.tls.is_none() {
        let open = std::iter::once(settings.listen).chain(settings.pages_listen);
        for listen in open.filter(|a| !a.ip().is_loopback()) {
            warn!(
                %listen,
                "serving without TLS on a non-loopback address: credentials travel in clear \
                 unless a proxy in front terminates TLS ([tls] in the configuration)"
            );
        }
    }
    Ok(access)
}

/// Creates `dir` and its missing parents so that only the owner may enter them (0700):
/// the database and the secret in it are personal data. An existing folder keeps its mode.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Creates an empty SQLite database file only the owner can read (0600), unless there
/// is one; SQLite gives its journal, WAL and shared-memory files the same mode.
pub(crate) fn create_private_file(file: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(file) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Completes on ctrl-c or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            error!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => info!("ctrl-c: shutting down"),
        () = terminate => info!("SIGTERM: shutting down"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_help_names_every_setting_in_every_layer() {
        for spec in &config::SPECS {
            for name in [Some(spec.env), spec.alias, Some(spec.flag)]
                .into_iter()
                .flatten()
            {
                assert!(CONFIGURATION_HELP.contains(name), "{name} missing");
            }
            let key = format!("{}.{}", spec.section, spec.key);
            assert!(CONFIGURATION_HELP.contains(&key), "{key} missing");
        }
        assert!(CONFIGURATION_HELP.contains(config::CONFIG_ENV));
        assert!(CONFIGURATION_HELP.contains(config::DEFAULT_FILE));
        assert!(CONFIGURATION_HELP.contains(secret::SECRET_ENV));
    }

    #[test]
    fn serve_is_the_default() {
        let cli = Cli::try_parse_from(["midoffice", "--listen", "127.0.0.1:6000"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.serve.listen.as_deref(), Some("127.0.0.1:6000"));
        assert_eq!(cli.serve.store.data_dir, None);
        let cli = Cli::try_parse_from([
            "midoffice",
            "serve",
            "--data-dir",
            "/tmp/x",
            "--config",
            "m.toml",
        ])
        .unwrap();
        assert!(matches!(cli.command, Some(Command::Serve(a))
                if a.store.data_dir.as_deref() == Some("/tmp/x")
                    && a.store.config.as_deref() == Some(Path::new("m.toml"))));
    }

    #[test]
    fn play_takes_paths_and_a_database() {
        let cli = Cli::try_parse_from([
            "midoffice",
            "play",
            "a.yaml",
            "dir",
            "--database-url",
            "postgres://x",
        ])
        .unwrap();
        let Some(Command::Play(args)) = cli.command else {
            panic!("not play")
        };
        assert_eq!(args.paths.len(), 2);
        assert_eq!(args.database_url.as_deref(), Some("postgres://x"));
        assert!(Cli::try_parse_from(["midoffice", "play"]).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn the_data_folder_and_database_are_private_when_created_here() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("a").join("data");
        create_private_dir(&data).unwrap();
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(data.parent().unwrap()), 0o700);
        create_private_dir(&data).unwrap();

        let db = data.join("midoffice.db");
        create_private_file(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        assert_eq!(std::fs::metadata(&db).unwrap().len(), 0);

        // What exists already is left alone: its mode and its content.
        let shared = tmp.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o750)).unwrap();
        create_private_dir(&shared).unwrap();
        assert_eq!(mode(&shared), 0o750);
        let existing = shared.join("midoffice.db");
        std::fs::write(&existing, b"data").unwrap();
        create_private_file(&existing).unwrap();
        assert_eq!(std::fs::read(&existing).unwrap(), b"data");
    }
}
