//! Logging (tracing-subscriber fmt, `RUST_LOG`) and, only when an OTLP endpoint is
//! configured, OpenTelemetry trace export over gRPC.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// What must be shut down on exit.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

/// Installs the global subscriber. `default_level` applies when `RUST_LOG` is unset.
/// Must run inside the tokio runtime: the OTLP exporter's gRPC client needs it.
pub fn init(
    otlp_endpoint: Option<&str>,
    default_level: tracing::Level,
) -> Result<Telemetry, Box<dyn std::error::Error + Send + Sync>> {
    let filter = EnvFilter::builder()
        .with_default_directive(
            tracing::level_filters::LevelFilter::from_level(default_level).into(),
        )
        .from_env_lossy();
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let registry = tracing_subscriber::registry().with(filter).with(fmt);
    let Some(endpoint) = otlp_endpoint.filter(|e| !e.trim().is_empty()) else {
        registry.try_init()?;
        return Ok(Telemetry { provider: None });
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name("midoffice").build())
        .build();
    let tracer = provider.tracer("midoffice");
    registry
        .with(tracing_opentelemetry::layer().with_tracer(tracer))
        .try_init()?;
    tracing::info!(endpoint, "exporting traces over OTLP");
    Ok(Telemetry {
        provider: Some(provider),
    })
}

impl Telemetry {
    /// Flushes and stops the exporter. Its shutdown blocks, so it runs off the async
    /// workers.
    pub async fn shutdown(self) {
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
