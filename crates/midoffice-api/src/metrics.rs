//! What is measured of every call, in one layer: its span (`call`, continuing the
//! caller's W3C trace, [`crate::trace`]), its duration by service, method and gRPC
//! status code (`rpc.server.call.duration`, a histogram, so its count is the calls), and
//! its access log line (target `midoffice::access`: method, status, duration; the tenant
//! is a field of the call's span once the call is authorised; never a request's body or
//! path). The histogram is recorded through the OpenTelemetry API: a no-op until the
//! binary installs a meter provider (an OTLP endpoint is configured).
//!
//! The label set is bounded: a path that is not a method of a served service (anyone
//! can send any path) is counted and logged under service and method `other`; a page is
//! logged by its name (`thermometer`, `dashboard`, `console`).

use opentelemetry::KeyValue;
use opentelemetry::metrics::Histogram;
use prost::Message;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;
use tonic::codegen::http;
use tracing::Instrument;

/// The health service, whose calls (probes) are logged at debug only.
const HEALTH: &str = "grpc.health.v1.Health";

/// The gRPC codes that mark a server span as failed (OpenTelemetry's conventions:
/// UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS); the
/// others are the caller's doing.
const SERVER_ERRORS: [i64; 6] = [2, 4, 12, 13, 14, 15];

/// The target of the access log lines, so they can be filtered on their own
/// (`midoffice::access=off`).
pub const ACCESS_TARGET: &str = "midoffice::access";

/// The histogram's name (in Prometheus: `rpc_server_call_duration_seconds`).
pub const RPC_DURATION: &str = "rpc.server.call.duration";

/// Bucket bounds in seconds: from a cached look-up to a slow figure call.
const BOUNDARIES: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The methods labels may name: `/package.Service/Method` -> (service, method).
type Methods = HashMap<String, (Arc<str>, Arc<str>)>;

/// Adds [`RpcMetrics`] around the server's services.
#[derive(Clone)]
pub struct RpcMetricsLayer {
    methods: Arc<Methods>,
    duration: Histogram<f64>,
}

impl std::fmt::Debug for RpcMetricsLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcMetricsLayer")
            .field("methods", &self.methods.len())
            .finish_non_exhaustive()
    }
}

impl Default for RpcMetricsLayer {
    fn default() -> Self {
        let mut methods = Methods::new();
        for set in [
            crate::pb::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
        ] {
            add_methods(&mut methods, set);
        }
        for service in [
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
        ] {
            methods.insert(
                format!("/{service}/ServerReflectionInfo"),
                (service.into(), "ServerReflectionInfo".into()),
            );
        }
        let duration = opentelemetry::global::meter("midoffice")
            .f64_histogram(RPC_DURATION)
            .with_unit("s")
            .with_description("Duration of gRPC calls, by service, method and status code")
            .with_boundaries(BOUNDARIES.to_vec())
            .build();
        RpcMetricsLayer {
            methods: Arc::new(methods),
            duration,
        }
    }
}

/// The methods of every service in an encoded file descriptor set.
fn add_methods(methods: &mut Methods, encoded: &[u8]) {
    let Ok(set) = prost_types::FileDescriptorSet::decode(encoded) else {
        tracing::warn!("a descriptor set does not decode: its methods count as `other`");
        return;
    };
    for file in set.file {
        let package = file.package.unwrap_or_default();
        for service in file.service {
            let name = service.name.unwrap_or_default();
            let full: Arc<str> = if package.is_empty() {
                name.into()
            } else {
                format!("{package}.{name}").into()
            };
            for method in service.method {
                let method = method.name.unwrap_or_default();
                methods.insert(format!("/{full}/{method}"), (full.clone(), method.into()));
            }
        }
    }
}

impl<S> tower_layer::Layer<S> for RpcMetricsLayer {
    type Service = RpcMetrics<S>;
    fn layer(&self, inner: S) -> RpcMetrics<S> {
        RpcMetrics {
            inner,
            layer: self.clone(),
        }
    }
}

/// Records each call's duration until its response head, with the status code of the
/// head (`grpc-status`; a call answered with a body and no status in the head is OK,
/// its status follows in the trailers, which for unary calls is always OK in tonic:
/// an error is answered in the head alone).
#[derive(Clone, Debug)]
pub struct RpcMetrics<S> {
    inner: S,
    layer: RpcMetricsLayer,
}

type Labels = (Arc<str>, Arc<str>);

impl RpcMetricsLayer {
    fn labels(&self, path: &str) -> Labels {
        match self.methods.get(path) {
            Some((service, method)) => (service.clone(), method.clone()),
            None => ("other".into(), "other".into()),
        }
    }
}

/// The page a path asks for, if any: its name for the access log.
fn page_of(path: &str) -> Option<&'static str> {
    let below = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    if below(crate::thermometer::PREFIX) {
        Some("thermometer")
    } else if below(crate::dashboard::PREFIX) {
        Some("dashboard")
    } else if below(crate::console::PREFIX) {
        Some("console")
    } else if below(crate::json::BASE) {
        Some("json")
    } else {
        None
    }
}

/// The status code of a page's or JSON call's answer in gRPC's terms, for the duration
/// metric: the JSON API's mapping read backwards (`json::http_status`), so that a
/// client's mistake (a 4xx) is never counted as a server error. `grpc-status` wins
/// when the answer has one.
fn page_status_code<B>(response: &http::Response<B>) -> i64 {
    if response.headers().contains_key("grpc-status") {
        return status_code(response);
    }
    let status = response.status();
    match status.as_u16() {
        _ if status.is_success() || status.is_redirection() => 0,
        401 => 16,
        403 => 7,
        404 => 5,
        409 => 10,
        429 => 8,
        503 => 14,
        504 => 4,
        501 => 12,
        400..=499 => 3,
        _ => 13,
    }
}

/// The gRPC status code in a response head: `grpc-status`, else 0 (OK) for a gRPC
/// response; an HTTP error without it counts as UNKNOWN (2), as gRPC clients read it.
fn status_code<B>(response: &http::Response<B>) -> i64 {
    match response.headers().get("grpc-status") {
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(2),
        None if response.status().is_success() => 0,
        None => 2,
    }
}

impl<S, B, R> tower_service::Service<http::Request<B>> for RpcMetrics<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<R>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future =
        Pin<Box<dyn std::future::Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The service that was ready is the one that is called (tower's contract).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let path = request.uri().path();
        let (service, method) = self.layer.labels(path);
        let page = page_of(path);
        let name: Arc<str> = match page {
            Some(page) => page.into(),
            None if &*service == "other" => service.clone(),
            None => format!("{service}/{method}").into(),
        };
        // Probes ask for health every few seconds: their lines only at debug.
        let probe = &*service == HEALTH;
        let span = tracing::info_span!(
            "call",
            otel.name = %name,
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            rpc.grpc.status_code = tracing::field::Empty,
            http.response.status_code = tracing::field::Empty,
            tenant = tracing::field::Empty,
            trace_id = tracing::field::Empty,
            span_id = tracing::field::Empty,
        );
        let trace = crate::trace::TraceContext::for_call(request.headers(), &span);
        span.record("trace_id", crate::trace::hex(&trace.trace_id).as_str());
        span.record("span_id", crate::trace::hex(&trace.span_id).as_str());
        request.extensions_mut().insert(trace);
        let duration = self.layer.duration.clone();
        let started = Instant::now();
        Box::pin(
            async move {
                let result = inner.call(request).await;
                let elapsed = started.elapsed();
                // A transport error has no status; it is counted as UNAVAILABLE (14).
                let code = match page {
                    Some(_) => result.as_ref().map_or(14, page_status_code),
                    None => result.as_ref().map_or(14, status_code),
                };
                duration.record(
                    elapsed.as_secs_f64(),
                    &[
                        KeyValue::new("rpc.system", "grpc"),
                        KeyValue::new("rpc.service", service.to_string()),
                        KeyValue::new("rpc.method", method.to_string()),
                        KeyValue::new("rpc.grpc.status_code", code),
                    ],
                );
                // Milliseconds to the microsecond.
                let duration_ms = elapsed.as_micros() as f64 / 1000.0;
                match (page, &result) {
                    (Some(_), Ok(response)) => tracing::info!(
                        target: ACCESS_TARGET,
                        page = %name,
                        http_status = response.status().as_u16(),
                        duration_ms,
                        "page"
                    ),
                    _ if probe => tracing::debug!(
                        target: ACCESS_TARGET,
                        rpc = %name,
                        grpc_status = code,
                        duration_ms,
                        "call"
                    ),
                    _ => tracing::info!(
                        target: ACCESS_TARGET,
                        rpc = %name,
                        grpc_status = code,
                        duration_ms,
                        "call"
                    ),
                }
                // The span's outcome, after the access line (whose span shows it
                // already): OpenTelemetry's conventions for a server span.
                let span = tracing::Span::current();
                match (page, &result) {
                    (Some(_), Ok(response)) => {
                        let status = response.status();
                        span.record("http.response.status_code", status.as_u16());
                        if status.is_server_error() {
                            span.record("otel.status_code", "error");
                        }
                    }
                    _ => {
                        span.record("rpc.grpc.status_code", code);
                        if SERVER_ERRORS.contains(&code) {
                            span.record("otel.status_code", "error");
                        }
                    }
                }
                result
            }
            .instrument(span),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_served_methods_are_labels() {
        let layer = RpcMetricsLayer::default();
        let (service, method) = layer.labels("/midoffice.v1.ContactService/StartContact");
        assert_eq!(&*service, "midoffice.v1.ContactService");
        assert_eq!(&*method, "StartContact");
        let (service, method) = layer.labels("/grpc.health.v1.Health/Check");
        assert_eq!((&*service, &*method), ("grpc.health.v1.Health", "Check"));
        for path in ["/", "/midoffice.v1.ContactService/Nope", "/x/y?bsn=1"] {
            let (service, method) = layer.labels(path);
            assert_eq!((&*service, &*method), ("other", "other"), "{path}");
        }
    }

    #[test]
    fn pages_are_named_by_their_prefix_only() {
        assert_eq!(page_of("/thermometer/demo.json"), Some("thermometer"));
        assert_eq!(page_of("/dashboard/demo"), Some("dashboard"));
        assert_eq!(page_of("/console/demo/party/x"), Some("console"));
        assert_eq!(page_of("/api/v1/contacts"), Some("json"));
        assert_eq!(page_of("/api/v10"), None);
        assert_eq!(page_of("/thermometerx"), None);
        assert_eq!(page_of("/midoffice.v1.ContactService/StartContact"), None);
    }

    #[test]
    fn the_status_comes_from_the_head() {
        let with = |status: u16, grpc: Option<&str>| {
            let mut b = http::Response::builder().status(status);
            if let Some(g) = grpc {
                b = b.header("grpc-status", g);
            }
            status_code(&b.body(()).unwrap())
        };
        assert_eq!(with(200, None), 0);
        assert_eq!(with(200, Some("3")), 3);
        assert_eq!(with(200, Some("x")), 2);
        assert_eq!(with(404, None), 2);
        let page = |status: u16| {
            page_status_code(&http::Response::builder().status(status).body(()).unwrap())
        };
        // A client's mistake is no server error; a server's is.
        for (http, grpc) in [
            (200, 0),
            (303, 0),
            (400, 3),
            (401, 16),
            (403, 7),
            (404, 5),
            (415, 3),
            (429, 8),
        ] {
            assert_eq!(page(http), grpc, "{http}");
            assert!(!SERVER_ERRORS.contains(&page(http)), "{http}");
        }
        for http in [500, 503, 504] {
            assert!(SERVER_ERRORS.contains(&page(http)), "{http}");
        }
    }
}
