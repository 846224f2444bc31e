//! `midoffice config check FILE`: the configuration `serve` would run with (the file,
//! the environment), checked as `serve` checks it before it opens the store, and
//! printed with where each setting came from. Secrets stay hidden: the database URL's
//! password is masked, the secret file is never read, key hashes are only counted, and
//! no database is connected to.

use crate::config::{self, SPECS, ServeArgs, Settings, StoreArgs};
use crate::secret;
use midoffice_store::{redact_url, sqlite_path};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// Checks `file` and prints the effective settings (stdout) or the errors (stderr).
pub async fn run(file: PathBuf) -> ExitCode {
    let flags = ServeArgs::from(StoreArgs {
        config: Some(file.clone()),
        ..StoreArgs::default()
    });
    let loaded = config::environment()
        .and_then(|env| config::load(&flags, &env).map(|settings| (settings, env)));
    let (settings, env) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("midoffice config check: {}: invalid: {e}", file.display());
            return ExitCode::FAILURE;
        }
    };
    let env_secret = env.get(secret::SECRET_ENV).map(String::as_str);
    let errors = problems(&settings, env_secret);
    print!("{}", effective(&settings, env_secret));
    if errors.is_empty() {
        println!("{}: valid", file.display());
        ExitCode::SUCCESS
    } else {
        for e in &errors {
            eprintln!("midoffice config check: {}: {e}", file.display());
        }
        ExitCode::FAILURE
    }
}

/// What `serve` would refuse before it opens the store, in the order it checks.
fn problems(settings: &Settings, env_secret: Option<&str>) -> Vec<String> {
    let mut errors = Vec::new();
    if let Err(e) = settings.check_otlp() {
        errors.push(e);
    }
    let sqlite_file = sqlite_path(&settings.database_url);
    if let Err(e) = secret::check_for_mode(
        settings.mode == config::Mode::Production,
        env_secret,
        &settings.secret_file,
        secret::DataPlace {
            data_dir: &settings.data_dir,
            database_file: sqlite_file.as_deref(),
        },
    ) {
        errors.push(e.to_string());
    }
    if let Err(e) = crate::check_access(settings) {
        errors.push(e.to_string());
    }
    if let Some(tls) = &settings.tls
        && let Err(e) = tls.read()
    {
        errors.push(e);
    }
    errors
}

/// The settings, one a line: `key = value  (origin)`, secrets masked.
fn effective(settings: &Settings, env_secret: Option<&str>) -> String {
    let mut out = String::new();
    let file = settings
        .file
        .as_ref()
        .map_or("none".to_owned(), |f| f.display().to_string());
    let _ = writeln!(out, "configuration file: {file}");
    // One value per setting: a setting added to SPECS and not here fails to build.
    let values: [String; config::N] = [
        settings.listen.to_string(),
        settings.data_dir.display().to_string(),
        redact_url(&settings.database_url),
        settings.secret_file.display().to_string(),
        settings
            .otlp_endpoint
            .as_deref()
            .map_or_else(|| "none (nothing is exported)".to_owned(), redact_url),
        settings.mode.as_str().to_owned(),
        settings.tls_terminated_by_proxy.to_string(),
        settings.otlp_plaintext.to_string(),
        settings
            .pages_listen
            .map_or("none (on server.listen)".to_owned(), |a| a.to_string()),
        settings
            .log_level
            .clone()
            .unwrap_or_else(|| "RUST_LOG, else info".to_owned()),
        settings.log_format.as_str().to_owned(),
        settings.read_url.as_deref().map_or_else(
            || "none (figures read from database.url)".to_owned(),
            redact_url,
        ),
        settings.max_connection_age.map_or_else(
            || "none (as long as the client keeps it)".to_owned(),
            |a| a.as_secs().to_string(),
        ),
        if settings.cors.allowed_origins.is_empty() {
            "none (no CORS)".to_owned()
        } else {
            settings.cors.allowed_origins.join(", ")
        },
    ];
    for ((spec, value), origin) in SPECS.iter().zip(values).zip(&settings.origins) {
        let origin = match (origin, spec.key) {
            (None, "mode") => settings.mode_reason.clone(),
            (None, _) => "default".to_owned(),
            (Some(o), _) => o.clone(),
        };
        let _ = writeln!(out, "{}.{} = {value}  ({origin})", spec.section, spec.key);
    }
    let secret = if env_secret.is_some_and(|v| !v.trim().is_empty()) {
        format!("from {} (not shown)", secret::SECRET_ENV)
    } else if settings.mode == config::Mode::Development && !settings.secret_file.exists() {
        format!(
            "from secret.file {} (not there yet: generated on the first run in development)",
            settings.secret_file.display()
        )
    } else {
        format!(
            "from secret.file {} (not read)",
            settings.secret_file.display()
        )
    };
    let _ = writeln!(out, "identifier secret: {secret}");
    let _ = writeln!(
        out,
        "telemetry.metrics_interval_seconds = {}",
        settings.metrics_interval.as_secs()
    );
    let _ = writeln!(out, "figures.compute_ahead = {}", settings.compute_ahead);
    let _ = writeln!(out, "retention.enabled = {}", settings.retention.enabled);
    let _ = writeln!(
        out,
        "retention.interval_seconds = {}",
        settings.retention.interval.as_secs()
    );
    let participants: Vec<&str> = settings.benchmark_keys.keys().map(|c| c.as_str()).collect();
    let _ = writeln!(
        out,
        "benchmark.participants: {} public key(s){}",
        participants.len(),
        if participants.is_empty() {
            String::new()
        } else {
            format!(": {}", participants.join(", "))
        }
    );
    let rules = &settings.benchmark_rules;
    let _ = writeln!(
        out,
        "benchmark.min_participants = {}, min_contacts = {}, min_answers = {}, \
         compose_after_days = {}",
        rules.min_participants(),
        rules.min_contacts(),
        rules.min_answers(),
        settings.benchmark_grace_days
    );
    let events = &settings.events;
    let _ = writeln!(
        out,
        "events.subscribers: {} (secrets not shown){}",
        events.subscribers.len(),
        events
            .subscribers
            .iter()
            .map(|s| format!(" {}/{} -> {}", s.tenant, s.name, s.url))
            .collect::<Vec<_>>()
            .join(",")
    );
    if !events.subscribers.is_empty() {
        let _ = writeln!(
            out,
            "events.source = {}\nevents.retry_initial_seconds = {}\nevents.retry_max_seconds = {}\n\
             events.max_attempts = {}\nevents.overdue_interval_seconds = {}",
            events.source,
            events.retry_initial.as_secs(),
            events.retry_max.as_secs(),
            events.max_attempts,
            events.overdue_interval.as_secs()
        );
    }
    let access = &settings.access;
    let names = |names: Vec<&str>| {
        if names.is_empty() {
            String::new()
        } else {
            format!(": {}", names.join(", "))
        }
    };
    let _ = writeln!(
        out,
        "access.keys: {} (hashes not shown){}",
        access.keys.len(),
        names(access.keys.iter().map(|k| k.name.as_str()).collect())
    );
    let _ = writeln!(
        out,
        "access.client_certs: {} (fingerprints not shown){}",
        access.client_certs.len(),
        names(
            access
                .client_certs
                .iter()
                .map(|c| c.name.as_str())
                .collect()
        )
    );
    match &access.oidc {
        None => {
            let _ = writeln!(out, "access.oidc: none");
        }
        Some(oidc) => {
            let _ = writeln!(
                out,
                "access.oidc: issuer {}, audience {}, jwks_url {}",
                redact_url(&oidc.issuer),
                oidc.audience,
                redact_url(&oidc.jwks_url)
            );
        }
    }
    match &settings.tls {
        None => {
            let _ = writeln!(out, "tls: none");
        }
        Some(tls) => {
            let _ = writeln!(
                out,
                "tls: cert {}, key {}, client_ca {}",
                tls.cert.display(),
                tls.key.display(),
                tls.client_ca
                    .as_ref()
                    .map_or("none".to_owned(), |c| c.display().to_string())
            );
        }
    }
    out
}
