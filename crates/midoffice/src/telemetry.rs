//! Logging (tracing-subscriber fmt, `RUST_LOG`) and, only when an OTLP endpoint is
//! configured, OpenTelemetry trace and metric export over gRPC: over TLS (rustls with ring, the
//! webpki roots) for an `https://` endpoint, in clear for `http://` (which production
//! allows only to loopback or when the operator says so, see `config`).

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::io::IsTerminal;
use tonic::transport::ClientTlsConfig;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// What must be shut down on exit.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
    meter_provider: Option<SdkMeterProvider>,
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
        return Ok(Telemetry {
            provider: None,
            meter_provider: None,
        });
    };
    let exporter = otlp_exporter(endpoint)?;
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
        meter_provider: None,
    })
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
            .with_resource(Resource::builder().with_service_name("midoffice").build())
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
