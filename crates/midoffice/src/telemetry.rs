//! Logging (tracing-subscriber fmt to stderr: text, or JSON lines with the call's trace
//! and span id; the level from `log.level`, else `RUST_LOG`, changeable while running) and,
//! only when an OTLP endpoint is configured, OpenTelemetry trace and metric export over
//! gRPC: over TLS (rustls with ring, the webpki roots) for an `https://` endpoint, in clear
//! for `http://` (which production allows only to loopback or when the operator says so,
//! see `config`).
//!
//! The log level filters the log only: the exported traces always carry midoffice's
//! spans at `info` (a call's span, the store's spans under it), whatever is logged.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::io::IsTerminal;
use tonic::transport::ClientTlsConfig;
use tracing::Subscriber;
use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing_subscriber::filter::{DynFilterFn, FilterExt, Targets};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry, reload};

/// How log lines are written (`log.format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event, the spans' fields in front.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, `message`, the event's
    /// fields, `span`, and the call's `trace_id`, `span_id` and `tenant`).
    Json,
}

impl LogFormat {
    /// The name as configured.
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

/// What is logged and how: `filter` (a level or filter directives, `log.level`), else
/// `RUST_LOG`, else the command's default level.
#[derive(Clone, Debug, Default)]
pub struct Logging {
    pub filter: Option<String>,
    pub format: LogFormat,
}

/// The log filter of `directives` (`info`, `warn,midoffice_store=debug`), refused when
/// a directive does not parse, so a typo is an error and not silence.
pub fn log_filter(directives: &str) -> Result<EnvFilter, String> {
    if directives.trim().is_empty() {
        return Err("empty".to_owned());
    }
    EnvFilter::builder()
        .parse(directives)
        .map_err(|e| e.to_string())
}

/// The running log filter, to change while the service runs.
#[derive(Clone)]
pub struct LogControl {
    handle: reload::Handle<EnvFilter, Registry>,
    default_level: tracing::Level,
}

impl LogControl {
    /// Replaces the log filter by `logging.filter` (else `RUST_LOG`, else the default).
    /// Answers the filter now in force.
    pub fn set(&self, filter: Option<&str>) -> Result<String, String> {
        let filter = filter_of(filter, self.default_level)?;
        let shown = filter.to_string();
        self.handle.reload(filter).map_err(|e| e.to_string())?;
        Ok(shown)
    }
}

fn filter_of(filter: Option<&str>, default_level: tracing::Level) -> Result<EnvFilter, String> {
    match filter {
        Some(directives) => log_filter(directives),
        None => Ok(EnvFilter::builder()
            .with_default_directive(
                tracing::level_filters::LevelFilter::from_level(default_level).into(),
            )
            .from_env_lossy()),
    }
}

/// How often the configuration file is looked at for a new `log.level`.
pub const FILE_CHECK: std::time::Duration = std::time::Duration::from_secs(5);

/// Sets the log level again from the configuration (`reread`: file, environment and
/// flags, as at the start) on SIGHUP, and when the configuration file `watched` changes
/// (looked at every [`FILE_CHECK`]: a Kubernetes ConfigMap mounted as a file changes in
/// place, and a container without a shell cannot be sent a signal). A configuration
/// that does not read leaves the level in force, and says so.
#[cfg(unix)]
pub fn reload_on_hangup(
    control: LogControl,
    watched: Option<std::path::PathBuf>,
    reread: impl Fn() -> Result<Option<String>, String> + Send + 'static,
) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP: only a changed configuration file sets the log level");
            None
        }
    };
    if hangups.is_none() && watched.is_none() {
        return;
    }
    tokio::spawn(async move {
        let read =
            |p: &Option<std::path::PathBuf>| p.as_deref().and_then(|p| std::fs::read(p).ok());
        let mut last = read(&watched);
        let mut tick = tokio::time::interval(FILE_CHECK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            let why = tokio::select! {
                got = async { hangups.as_mut()?.recv().await }, if hangups.is_some() => {
                    if got.is_none() {
                        hangups = None;
                        continue;
                    }
                    "SIGHUP"
                }
                _ = tick.tick(), if watched.is_some() => {
                    let now = read(&watched);
                    if now == last {
                        continue;
                    }
                    last = now;
                    "configuration file changed"
                }
            };
            match reread().and_then(|filter| control.set(filter.as_deref())) {
                Ok(filter) => tracing::warn!(%filter, "{why}: log level set"),
                Err(e) => tracing::warn!(
                    error = %e,
                    "{why}: the configuration does not read, the log level is unchanged"
                ),
            }
        }
    });
}

/// What must be shut down on exit.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
    meter_provider: Option<SdkMeterProvider>,
    log: LogControl,
}

/// Installs the global subscriber: text logs at `default_level` unless `RUST_LOG` says
/// otherwise. Must run inside the tokio runtime: the OTLP exporter's gRPC client needs it.
pub fn init(
    otlp_endpoint: Option<&str>,
    default_level: tracing::Level,
) -> Result<Telemetry, Box<dyn std::error::Error + Send + Sync>> {
    init_with(otlp_endpoint, default_level, &Logging::default())
}

/// [`init`] with the configured [`Logging`].
pub fn init_with(
    otlp_endpoint: Option<&str>,
    default_level: tracing::Level,
    logging: &Logging,
) -> Result<Telemetry, Box<dyn std::error::Error + Send + Sync>> {
    let (filter, handle) = reload::Layer::new(filter_of(logging.filter.as_deref(), default_level)?);
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt: Box<dyn Layer<Registry> + Send + Sync> = match logging.format {
        LogFormat::Text => fmt.with_ansi(std::io::stderr().is_terminal()).boxed(),
        LogFormat::Json => fmt.with_ansi(false).event_format(JsonLines).boxed(),
    };
    // Only the call's span is looked at (it names the trace); static interest, so a
    // disabled level stays a no-op.
    let call_fields = CallFieldsLayer
        .with_filter(Targets::new().with_target("midoffice_api", tracing::Level::INFO));
    // midoffice's own spans always reach the log layer, whatever its level, so that a
    // line logged within a call (a warning, an access line) carries the call's trace
    // even when the call's span is below the level; decided per callsite, once.
    let ours = |m: &tracing::Metadata<'_>| m.is_span() && m.target().starts_with("midoffice");
    let our_spans = DynFilterFn::new(move |m, _| ours(m)).with_callsite_filter(move |m| {
        if ours(m) {
            Interest::always()
        } else {
            Interest::never()
        }
    });
    let registry = tracing_subscriber::registry()
        .with(fmt.with_filter(filter.or(our_spans)))
        .with(call_fields);
    let log = LogControl {
        handle,
        default_level,
    };
    let Some(endpoint) = otlp_endpoint.filter(|e| !e.trim().is_empty()) else {
        registry.try_init()?;
        return Ok(Telemetry {
            provider: None,
            meter_provider: None,
            log,
        });
    };
    let exporter = otlp_exporter(endpoint)?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource())
        .build();
    let tracer = provider.tracer("midoffice");
    // midoffice's own spans and events at info, whatever the log's level: the crates
    // below (the HTTP/2 stack, the database driver) stay out of the traces.
    let traced = Targets::new().with_target("midoffice", tracing::Level::INFO);
    registry
        .with(
            tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_filter(traced),
        )
        .try_init()?;
    tracing::info!(endpoint, "exporting traces over OTLP");
    Ok(Telemetry {
        provider: Some(provider),
        meter_provider: None,
        log,
    })
}

/// What every exported span and metric says of its source: the service's name and
/// this process's instance (a UUID made at start, unless `OTEL_RESOURCE_ATTRIBUTES`
/// names `service.instance.id`, as a pod's name), so that a collector keeps the series
/// of several replicas apart instead of one overwriting the other.
fn resource() -> Resource {
    static INSTANCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let named =
        std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|v| v.contains("service.instance.id="));
    let builder = Resource::builder().with_service_name("midoffice");
    if named {
        return builder.build();
    }
    let id = INSTANCE.get_or_init(|| uuid::Uuid::now_v7().to_string());
    builder
        .with_attribute(opentelemetry::KeyValue::new(
            "service.instance.id",
            id.clone(),
        ))
        .build()
}

/// The call's place in its trace, kept with its span for the JSON log lines: the fields
/// `trace_id`, `span_id` and `tenant` of the span that declares `trace_id` (the call's,
/// made by the API's call layer).
#[derive(Debug, Default)]
struct CallFields {
    trace_id: Option<String>,
    span_id: Option<String>,
    tenant: Option<String>,
}

impl Visit for CallFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        let slot = match field.name() {
            "trace_id" => &mut self.trace_id,
            "span_id" => &mut self.span_id,
            "tenant" => &mut self.tenant,
            _ => return,
        };
        *slot = Some(value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if matches!(field.name(), "trace_id" | "span_id" | "tenant") {
            self.record_str(field, format!("{value:?}").trim_matches('"'));
        }
    }
}

/// Keeps [`CallFields`] in the extensions of every span that declares `trace_id`.
struct CallFieldsLayer;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for CallFieldsLayer {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        if attrs.metadata().fields().field("trace_id").is_none() {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut fields = CallFields::default();
        attrs.record(&mut fields);
        span.extensions_mut().insert(fields);
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        ctx: Context<'_, S>,
    ) {
        let Some(span) = ctx.span(id) else { return };
        if let Some(fields) = span.extensions_mut().get_mut::<CallFields>() {
            values.record(fields);
        }
    }
}

/// JSON lines: one object per event, flat, so a log pipeline can index `trace_id`.
struct JsonLines;

/// An event's fields as JSON values.
struct JsonFields<'a>(&'a mut serde_json::Map<String, serde_json::Value>);

impl Visit for JsonFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0
            .insert(field.name().to_owned(), value.to_string().into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), format!("{value:?}").into());
    }
}

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        let mut line = serde_json::Map::new();
        line.insert(
            "timestamp".to_owned(),
            chrono::Utc::now()
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                .into(),
        );
        line.insert("level".to_owned(), meta.level().as_str().into());
        line.insert("target".to_owned(), meta.target().into());
        event.record(&mut JsonFields(&mut line));
        if let Some(scope) = ctx.event_scope() {
            let mut innermost = true;
            for span in scope {
                if innermost {
                    line.insert("span".to_owned(), span.name().into());
                    innermost = false;
                }
                let extensions = span.extensions();
                let Some(call) = extensions.get::<CallFields>() else {
                    continue;
                };
                for (key, value) in [
                    ("trace_id", &call.trace_id),
                    ("span_id", &call.span_id),
                    ("tenant", &call.tenant),
                ] {
                    if let Some(value) = value {
                        line.insert(key.to_owned(), value.as_str().into());
                    }
                }
                break;
            }
        }
        let text = serde_json::to_string(&line).map_err(|_| std::fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

/// An OTLP/gRPC metric exporter to `endpoint`, over TLS for `https://` as
/// [`otlp_exporter`].
fn metric_exporter(
    endpoint: &str,
) -> Result<opentelemetry_otlp::MetricExporter, opentelemetry_otlp::ExporterBuildError> {
    let builder = opentelemetry_otlp::MetricExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint);
    if is_https(endpoint) {
        builder
            .with_tls_config(ClientTlsConfig::new().with_webpki_roots())
            .build()
    } else {
        builder.build()
    }
}

fn is_https(endpoint: &str) -> bool {
    endpoint
        .trim_start()
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

/// An OTLP/gRPC span exporter to `endpoint`, for traces and for the processing log. An
/// `https://` endpoint is reached over TLS, checked against the webpki roots (the
/// public CAs, built in; no system store is read).
pub fn otlp_exporter(
    endpoint: &str,
) -> Result<opentelemetry_otlp::SpanExporter, opentelemetry_otlp::ExporterBuildError> {
    let builder = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint);
    if is_https(endpoint) {
        builder
            .with_tls_config(ClientTlsConfig::new().with_webpki_roots())
            .build()
    } else {
        builder.build()
    }
}

impl Telemetry {
    /// The running log filter, to change while the service runs.
    pub fn log_control(&self) -> LogControl {
        self.log.clone()
    }

    /// Exports metrics every `interval` over OTLP to `endpoint` (cumulative, as
    /// Prometheus wants them) and installs the meter provider globally, so the
    /// instruments of the API and the store record. Without this call they stay no-ops.
    /// Must run inside the tokio runtime, before the instruments are first used.
    pub fn start_metrics(
        &mut self,
        endpoint: &str,
        interval: std::time::Duration,
    ) -> Result<(), opentelemetry_otlp::ExporterBuildError> {
        let reader = PeriodicReader::builder(metric_exporter(endpoint)?)
            .with_interval(interval)
            .build();
        let provider = SdkMeterProvider::builder()
            .with_reader(reader)
            .with_resource(resource())
            .build();
        opentelemetry::global::set_meter_provider(provider.clone());
        tracing::info!(
            endpoint,
            interval_seconds = interval.as_secs(),
            "exporting metrics over OTLP"
        );
        self.meter_provider = Some(provider);
        Ok(())
    }

    /// Flushes and stops the exporters. Their shutdown blocks, so it runs off the async
    /// workers.
    pub async fn shutdown(self) {
        if let Some(meters) = self.meter_provider {
            match tokio::task::spawn_blocking(move || meters.shutdown()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => eprintln!("midoffice: stopping the metric exporter failed: {e}"),
                Err(e) => eprintln!("midoffice: stopping the metric exporter failed: {e}"),
            }
        }
        let Some(provider) = self.provider else {
            return;
        };
        match tokio::task::spawn_blocking(move || provider.shutdown()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("midoffice: stopping the trace exporter failed: {e}"),
            Err(e) => eprintln!("midoffice: stopping the trace exporter failed: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_https_collector_gets_a_tls_exporter_and_http_a_plain_one() {
        // Without a TLS feature the https:// exporter is refused at build.
        otlp_exporter("https://collector.example:4317").unwrap();
        otlp_exporter("HTTPS://collector.example:4317").unwrap();
        otlp_exporter("http://127.0.0.1:4317").unwrap();
        metric_exporter("https://collector.example:4317").unwrap();
        metric_exporter("http://127.0.0.1:4317").unwrap();
    }
}
