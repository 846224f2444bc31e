//! `midoffice benchmark export|import|keygen`: the signed summaries by which
//! organisations on separate deployments compare in the benchmark
//! (docs/benchmark.md, "Across deployments").

use crate::config::{self, ServeArgs, StoreArgs};
use clap::{Args, Subcommand};
use midoffice_domain::benchmark::BenchmarkPeriod;
use midoffice_domain::{Code, TenantId};
use midoffice_store::Imported;
use midoffice_store::benchmark_summary::{self, MAX_SUMMARY_BYTES, SigningKey, Summary};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum BenchmarkCommand {
    /// Write the signed summary of a tenant's benchmark counts for a period (counts
    /// only, no personal data) to stdout or --out, computed from the configured
    /// database. The tenant must take part (its settings' benchmark). Exits 1 on error.
    #[command(after_help = crate::CONFIGURATION_HELP)]
    Export(ExportArgs),
    /// Check each summary's signature against the public key configured for its
    /// participant ([benchmark.participants] in the configuration file) and keep it
    /// in the configured database. When any file is refused, nothing is kept and the
    /// command exits 1.
    #[command(after_help = crate::CONFIGURATION_HELP)]
    Import(ImportArgs),
    /// Make a new Ed25519 key pair: the private key (PKCS#8, base64) is written to a new
    /// file (mode 0600), the public key (base64) is printed for the other participants'
    /// [benchmark.participants].
    Keygen(KeygenArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The tenant whose figures are summarised (its id is its participant id).
    #[arg(long)]
    tenant: String,
    /// The period: a month (2026-03), a quarter (2026-Q3) or a year (2026).
    #[arg(long)]
    period: String,
    /// The file holding the private key to sign with (PKCS#8, base64).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// Write the summary to this file instead of stdout (replaced if it exists).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// The figures as known at this instant (RFC 3339, whole seconds) [default: now].
    #[arg(long, value_name = "INSTANT")]
    as_of: Option<String>,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Summary files, as `midoffice benchmark export` writes them.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// The new file for the private key; an existing file is not overwritten.
    #[arg(long, value_name = "FILE")]
    private_key: PathBuf,
}

pub async fn run(command: BenchmarkCommand) -> ExitCode {
    if let BenchmarkCommand::Keygen(args) = &command {
        return finish("keygen", keygen(&args.private_key));
    }
    // The store's warnings (a busy database) on stderr; the output is the command's own.
    let telemetry = match crate::telemetry::init(None, tracing::Level::WARN) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("midoffice: cannot set up logging: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (what, result) = match command {
        BenchmarkCommand::Export(args) => ("export", export(args).await),
        BenchmarkCommand::Import(args) => ("import", import(args).await),
        BenchmarkCommand::Keygen(args) => ("keygen", keygen(&args.private_key)),
    };
    telemetry.shutdown().await;
    finish(what, result)
}

fn finish(what: &str, result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("midoffice benchmark {what}: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn open(store: StoreArgs) -> Result<(config::Settings, midoffice_store::Store), String> {
    let settings = config::environment()
        .and_then(|env| config::load(&ServeArgs::from(store), &env))
        .map_err(|e| e.to_string())?;
    let opened = crate::open_store(&settings, None, None)
        .await
        .map_err(|e| e.to_string())?;
    Ok((settings, opened))
}

async fn export(args: ExportArgs) -> Result<(), String> {
    let tenant = TenantId::parse(&args.tenant).map_err(|e| format!("--tenant {e}"))?;
    let period = BenchmarkPeriod::parse(&args.period).map_err(|e| format!("--period {e}"))?;
    let as_of = match args.as_of.as_deref() {
        None => chrono::Utc::now(),
        Some(raw) => chrono::DateTime::parse_from_rfc3339(raw)
            .map_err(|e| format!("--as-of is not an RFC 3339 instant: {e}"))?
            .to_utc(),
    };
    // A summary carries whole seconds.
    let as_of = chrono::DateTime::from_timestamp(as_of.timestamp(), 0)
        .ok_or_else(|| "--as-of is out of range".to_owned())?;
    let key_text = std::fs::read_to_string(&args.key)
        .map_err(|e| format!("cannot read the private key {}: {e}", args.key.display()))?;
    let key = SigningKey::from_pkcs8_base64(&key_text).map_err(|_| {
        format!(
            "{}: not an Ed25519 private key in base64 PKCS#8",
            args.key.display()
        )
    })?;
    let (_, store) = open(args.store).await?;
    let counts = store
        .benchmark_counts(&tenant, period, as_of)
        .await
        .map_err(|e| format!("cannot compute the figures: {e}"))?;
    let part = &counts.taking_part;
    let Some(group) = part.taking_part_in().cloned() else {
        return Err(format!(
            "tenant {tenant} does not take part in the benchmark: its settings need \
             benchmark.opted_in with a size and a peer group (ReplaceTenantSettings)"
        ));
    };
    let summary = Summary {
        participant: Code::parse(tenant.as_str()).map_err(|e| format!("--tenant {e}"))?,
        group,
        period,
        as_of,
        size: part.size,
        named: part.named,
        registration: counts.registration,
        counts: counts.counts,
    };
    let text = benchmark_summary::sign(&summary, &key);
    match &args.out {
        Some(path) => std::fs::write(path, &text)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| format!("cannot write the summary: {e}"))?,
    }
    if let Some(path) = &args.out {
        eprintln!(
            "wrote the summary of {tenant} (group {}, period {}, as of {}) to {}",
            summary.group.as_str(),
            period.key(),
            summary
                .as_of
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            path.display()
        );
    }
    Ok(())
}

/// A summary file's text, refused beyond the largest summary.
fn read_summary(path: &Path) -> Result<String, String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_SUMMARY_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    if bytes.len() > MAX_SUMMARY_BYTES {
        return Err(format!(
            "{}: refused: longer than {MAX_SUMMARY_BYTES} bytes",
            path.display()
        ));
    }
    String::from_utf8(bytes).map_err(|_| format!("{}: refused: not UTF-8 text", path.display()))
}

async fn import(args: ImportArgs) -> Result<(), String> {
    let (settings, store) = open(args.store).await?;
    if settings.benchmark_keys.is_empty() {
        return Err(
            "no participants' public keys are configured ([benchmark.participants] \
                    in the configuration file); nothing imported"
                .into(),
        );
    }
    // Every file is checked before any is kept: all or nothing.
    let mut verified = Vec::new();
    let mut refused = Vec::new();
    for path in &args.files {
        let checked = read_summary(path).and_then(|text| {
            let summary = benchmark_summary::verify(&text, &settings.benchmark_keys)
                .map_err(|e| format!("{}: refused: {e}", path.display()))?;
            let signature = text
                .lines()
                .nth(1)
                .and_then(|l| l.strip_prefix("ed25519 "))
                .unwrap_or_default()
                .to_owned();
            Ok((summary, signature))
        });
        match checked {
            Ok(ok) => verified.push((path, ok)),
            Err(e) => refused.push(e),
        }
    }
    if !refused.is_empty() {
        return Err(format!(
            "{}\nnothing imported ({} of {} file(s) refused)",
            refused.join("\n"),
            refused.len(),
            args.files.len()
        ));
    }
    let now = chrono::Utc::now();
    for (path, (summary, signature)) in verified {
        let done = store
            .import_benchmark_summary(&summary, &signature, now)
            .await
            .map_err(|e| format!("{}: cannot store: {e}", path.display()))?;
        let what = match done {
            Imported::Stored => "stored",
            Imported::Replaced => "replaced the summary kept",
            Imported::KeptNewer => "not stored: a summary as of a later instant is kept",
        };
        // Kept, but a composed group-period's membership and figures no longer change.
        let composed = store
            .benchmark_periods(&summary.group)
            .await
            .map_err(|e| format!("{}: cannot read the group's periods: {e}", path.display()))?
            .into_iter()
            .find(|(p, _)| *p == summary.period)
            .map(|(_, at)| {
                format!(
                    "; the group {} for {} was composed at {}, its membership is fixed",
                    summary.group.as_str(),
                    summary.period.key(),
                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )
            })
            .unwrap_or_default();
        println!(
            "{}: participant {}, group {}, period {}, as of {}: {what}{composed}",
            path.display(),
            summary.participant.as_str(),
            summary.group.as_str(),
            summary.period.key(),
            summary
                .as_of
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
    }
    Ok(())
}

fn keygen(path: &Path) -> Result<(), String> {
    let private = SigningKey::generate().map_err(|e| e.to_string())?;
    let key = SigningKey::from_pkcs8_base64(&private).map_err(|e| e.to_string())?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(format!("{private}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("{}", key.public_key_base64());
    eprintln!(
        "the private key is in {} (keep it as a secret); give the public key above to the \
         other participants for their [benchmark.participants]",
        path.display()
    );
    Ok(())
}

/// One pass of the composing job at `now`: for every peer group of a local tenant
/// taking part and every group with imported summaries, every month, quarter and year
/// that is due and not past its deadline (`benchmark::composable_periods`) is composed
/// if it is not yet, so a pass catches up on periods missed while no server ran.
/// A failed group-period is logged and tried again at the next pass.
pub async fn compose_pass(
    store: &midoffice_store::Store,
    now: chrono::DateTime<chrono::Utc>,
    grace_days: u32,
) {
    let groups = match store.benchmark_groups().await {
        Ok(g) => g,
        Err(e) => {
            tracing::warn!(error = %e, "benchmark groups could not be listed; tried again at the next pass");
            return;
        }
    };
    for group in groups {
        for period in midoffice_domain::benchmark::composable_periods(now, grace_days) {
            if let Err(e) = store
                .compose_benchmark_group(&group, period, now, grace_days)
                .await
            {
                tracing::warn!(
                    group = group.as_str(),
                    period = %period.key(),
                    error = %e,
                    "benchmark group not composed; tried again at the next pass"
                );
            }
        }
    }
}

/// How often the composing job runs.
pub const COMPOSE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Runs [`compose_pass`] now and then every [`COMPOSE_EVERY`], until `stop` turns true.
pub async fn compose_job(
    store: midoffice_store::Store,
    grace_days: u32,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            break;
        }
        tokio::select! {
            () = compose_pass(&store, chrono::Utc::now(), grace_days) => {}
            _ = stop.changed() => break,
        }
        tokio::select! {
            () = tokio::time::sleep(COMPOSE_EVERY) => {}
            _ = stop.changed() => {}
        }
    }
}
