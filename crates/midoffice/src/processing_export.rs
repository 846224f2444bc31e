//! The processing log's OTLP export: a background task that drains the store's outbox
//! (records without `exported_at`) to an OpenTelemetry collector with
//! opentelemetry-otlp's span exporter, and marks records exported only after the
//! collector acknowledged them. No sampling and no dropping: a failed export leaves the
//! batch in the outbox and is retried with back-off; a crash between the acknowledgement
//! and the mark sends a batch twice (the collector can tell by trace and span id), never
//! zero times.

use midoffice_domain::processing::ProcessingStatus;
use midoffice_store::processing_log::SERVICE_NAME;
use midoffice_store::{ProcessingRecord, Store};
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter, SpanLinks};
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

/// Records sent per export call.
pub const BATCH: u64 = 512;
/// How long the task waits when the outbox is empty.
pub const IDLE: Duration = Duration::from_secs(2);
/// The first wait after a failed export; it doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait between retries.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Why one round of export did not finish.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("reading or marking the outbox failed: {0}")]
    Store(#[from] midoffice_store::StoreError),
    #[error("the collector did not acknowledge: {0}")]
    Collector(String),
}

/// Exports one batch of the outbox: the oldest unexported records of one resource
/// (service name and version), marked exported once the collector acknowledged them.
/// Answers how many were exported (0: the outbox is empty).
pub async fn export_once<E: SpanExporter>(
    store: &Store,
    exporter: &mut E,
) -> Result<usize, ExportError> {
    let mut records = store.unexported_records(BATCH).await?;
    let Some(first) = records.first() else {
        return Ok(0);
    };
    // One resource per export call: records written by an earlier release keep theirs.
    let resource = (first.service_name.clone(), first.service_version.clone());
    records.retain(|r| (r.service_name.clone(), r.service_version.clone()) == resource);
    exporter.set_resource(
        &Resource::builder_empty()
            .with_attributes([
                KeyValue::new("service.name", resource.0),
                KeyValue::new("service.version", resource.1),
            ])
            .build(),
    );
    let spans = records.iter().map(span_of).collect();
    exporter
        .export(spans)
        .await
        .map_err(|e| ExportError::Collector(e.to_string()))?;
    store.mark_exported(&records).await?;
    Ok(records.len())
}

/// A record as the span the standard describes.
pub fn span_of(r: &ProcessingRecord) -> SpanData {
    let to_system = |t: chrono::DateTime<chrono::Utc>| SystemTime::from(t);
    SpanData {
        span_context: SpanContext::new(
            TraceId::from_bytes(r.trace_id),
            SpanId::from_bytes(r.span_id),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: r.parent_span_id.map_or(SpanId::INVALID, SpanId::from_bytes),
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: r.name.clone().into(),
        start_time: to_system(r.start_time),
        end_time: to_system(r.end_time),
        attributes: vec![
            KeyValue::new("dpl.core.processing_activity_id", r.activity_id.clone()),
            KeyValue::new("dpl.core.data_subject_id", r.data_subject_id.to_string()),
            KeyValue::new(
                "dpl.core.data_subject_id_type",
                r.data_subject_id_type.clone(),
            ),
            KeyValue::new("midoffice.tenant", r.tenant.as_str().to_owned()),
        ],
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: match r.status {
            ProcessingStatus::Unset => Status::Unset,
            ProcessingStatus::Ok => Status::Ok,
            ProcessingStatus::Error => Status::error("technical failure"),
        },
        instrumentation_scope: InstrumentationScope::builder(SERVICE_NAME).build(),
    }
}

/// The wait before the next retry: doubles from [`FIRST_BACKOFF`] up to [`MAX_BACKOFF`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Self {
        Backoff(FIRST_BACKOFF)
    }
}

impl Backoff {
    /// The wait now, and the next one doubled.
    pub fn next(&mut self) -> Duration {
        let now = self.0;
        self.0 = (self.0 * 2).min(MAX_BACKOFF);
        now
    }
}

/// Drains the outbox until `stop` turns true: a full batch is followed by the next at
/// once, an empty outbox waits [`IDLE`], a failure waits its back-off.
pub async fn run<E: SpanExporter>(store: Store, mut exporter: E, mut stop: watch::Receiver<bool>) {
    let mut backoff = Backoff::default();
    loop {
        if *stop.borrow() {
            break;
        }
        let wait = match export_once(&store, &mut exporter).await {
            Ok(0) => IDLE,
            Ok(n) => {
                tracing::debug!(records = n, "processing records exported");
                backoff = Backoff::default();
                continue;
            }
            Err(e) => {
                let wait = backoff.next();
                tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64,
                    "processing log export failed; the records stay in the outbox");
                wait
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
    }
    if let Err(e) = exporter.shutdown() {
        tracing::warn!(error = %e, "stopping the processing log exporter failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use midoffice_domain::TenantId;
    use midoffice_domain::command::StartCommand;
    use midoffice_domain::contact::{Channel, Direction};
    use midoffice_domain::identifier::{IdentKey, IdentifierKind};
    use midoffice_scenarios::database_test;
    use midoffice_scenarios::scratch::TestDatabase;
    use opentelemetry_otlp::WithExportConfig;
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
        TraceService, TraceServiceServer,
    };
    use opentelemetry_proto::tonic::collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
    };
    use opentelemetry_proto::tonic::trace::v1::Span;
    use std::sync::{Arc, Mutex};

    /// A span as the collector received it, with its resource's attributes.
    type Received = (Vec<(String, String)>, Span);

    /// A real OTLP collector, in process: keeps every span it acknowledged, and refuses
    /// every export call as UNAVAILABLE while `refusing`.
    #[derive(Clone, Default)]
    struct Collector {
        spans: Arc<Mutex<Vec<Received>>>,
        refusing: Arc<Mutex<bool>>,
    }

    #[tonic::async_trait]
    impl TraceService for Collector {
        async fn export(
            &self,
            request: tonic::Request<ExportTraceServiceRequest>,
        ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
            if *self.refusing.lock().unwrap() {
                return Err(tonic::Status::unavailable("collector busy"));
            }
            let mut kept = self.spans.lock().unwrap();
            for rs in request.into_inner().resource_spans {
                let resource: Vec<(String, String)> = rs
                    .resource
                    .map(|r| {
                        r.attributes
                            .into_iter()
                            .map(|kv| (kv.key, format!("{:?}", kv.value)))
                            .collect()
                    })
                    .unwrap_or_default();
                for ss in rs.scope_spans {
                    for span in ss.spans {
                        kept.push((resource.clone(), span));
                    }
                }
            }
            Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
        }
    }

    async fn collector(c: Collector) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(c))
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
        );
        format!("http://{addr}")
    }

    fn caller(n: u8) -> midoffice_store::Caller {
        midoffice_store::Caller {
            trace_id: [n; 16],
            span_id: [n, 1, 2, 3, 4, 5, 6, 7],
            parent_span_id: Some([9; 8]),
            operation: "StartContact",
            actor: "export test".into(),
            started_at: chrono::Utc::now(),
        }
    }

    fn start(n: u8) -> StartCommand {
        StartCommand {
            channel: Channel::Phone,
            direction: Direction::Inbound,
            started_at: chrono::Utc::now(),
            identifiers: vec![IdentKey {
                kind: IdentifierKind::Email,
                hash: format!("hash-{n}"),
                display: None,
            }],
            topic: None,
            case_id: None,
            case_reference: None,
            department: None,
        }
    }

    database_test!(every_record_is_exported_once_acknowledged_also_after_refusals);
    async fn every_record_is_exported_once_acknowledged_also_after_refusals(
        database: TestDatabase,
    ) {
        let db = database.scratch().await.unwrap();
        let store = Store::connect(&db.url).await.unwrap();
        let tenant = TenantId::parse("gemeente-a").unwrap();
        const N: u8 = 40;
        let mut parties = Vec::new();
        for n in 1..=N {
            let started = store
                .start_contact(&tenant, &caller(n), start(n), None)
                .await
                .unwrap();
            parties.push(started.context.party.id.unwrap().to_string());
        }
        let c = Collector::default();
        *c.refusing.lock().unwrap() = true;
        let endpoint = collector(c.clone()).await;
        let mut exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .unwrap();
        // Refused (the exporter's own retries included): nothing is marked, nothing lost.
        for _ in 0..2 {
            assert!(export_once(&store, &mut exporter).await.is_err());
            assert_eq!(
                store.unexported_records(1000).await.unwrap().len(),
                N as usize
            );
        }
        *c.refusing.lock().unwrap() = false;
        let mut rounds = 0;
        while export_once(&store, &mut exporter).await.unwrap() > 0 {
            rounds += 1;
            assert!(rounds < 10);
        }
        assert!(store.unexported_records(1000).await.unwrap().is_empty());
        let spans = c.spans.lock().unwrap().clone();
        assert_eq!(spans.len(), N as usize, "N processings, N spans");
        for (n, (resource, span)) in (1..=N).zip(spans.iter()) {
            assert_eq!(span.trace_id, vec![n; 16]);
            assert_eq!(span.span_id, vec![n, 1, 2, 3, 4, 5, 6, 7]);
            assert_eq!(span.parent_span_id, vec![9; 8]);
            assert_eq!(span.name, "midoffice context read");
            let attr = |key: &str| {
                span.attributes
                    .iter()
                    .find(|kv| kv.key == key)
                    .map(|kv| format!("{:?}", kv.value))
                    .unwrap_or_default()
            };
            assert!(attr("dpl.core.data_subject_id").contains(&parties[usize::from(n) - 1]));
            assert!(attr("dpl.core.processing_activity_id").contains("context-read"));
            assert!(attr("dpl.core.data_subject_id_type").contains("midoffice-party-id"));
            // No user identity in the exported span either.
            assert!(!format!("{span:?}").contains("export test"));
            assert!(
                resource
                    .iter()
                    .any(|(k, v)| k == "service.name" && v.contains("midoffice"))
            );
        }
        // Nothing left: the next round sends nothing.
        assert_eq!(export_once(&store, &mut exporter).await.unwrap(), 0);
        assert_eq!(c.spans.lock().unwrap().len(), N as usize);
        db.drop_db().await;
    }

    #[test]
    fn backoff_doubles_up_to_its_maximum() {
        let mut b = Backoff::default();
        let waits: Vec<Duration> = (0..10).map(|_| b.next()).collect();
        assert_eq!(waits[0], FIRST_BACKOFF);
        assert_eq!(waits[1], FIRST_BACKOFF * 2);
        assert_eq!(*waits.last().unwrap(), MAX_BACKOFF);
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
    }
}
