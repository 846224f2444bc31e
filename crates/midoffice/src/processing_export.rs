//! The processing log's OTLP export: a background task that drains the store's outbox
//! (records without `exported_at`) to an OpenTelemetry collector over OTLP/gRPC, and
//! marks records exported only after the collector acknowledged all of them. No sampling
//! and no dropping: a failed export leaves the batch in the outbox and is retried with
//! back-off; a crash between the acknowledgement and the mark sends a batch twice (the
//! collector can tell by trace and span id), never zero times.
//!
//! The collector is called with the OTLP trace service's own client
//! (opentelemetry-proto), not opentelemetry-otlp's span exporter: that exporter answers
//! `Ok` to a partial success (the collector rejected some spans) after a warning, and a
//! rejected record must stay in the outbox. Here any `rejected_spans` fails the round.

use midoffice_domain::processing::{ProcessingKind, ProcessingStatus};
use midoffice_store::processing_log::{SERVICE_NAME, SpanRole};
use midoffice_store::{ProcessingRecord, Store};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, span, status,
};
use std::time::Duration;
use tokio::sync::watch;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

/// Records sent per export call.
pub const BATCH: u64 = 512;
/// How long the task waits when the outbox is empty.
pub const IDLE: Duration = Duration::from_secs(2);
/// The first wait after a failed export; it doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait between retries.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How long one export call may take before it counts as failed.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Why one round of export did not finish.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("reading or marking the outbox failed: {0}")]
    Store(#[from] midoffice_store::StoreError),
    #[error("the collector did not acknowledge: {0}")]
    Collector(String),
    #[error("the collector rejected {rejected} of {sent} spans: {message}")]
    Rejected {
        rejected: i64,
        sent: usize,
        message: String,
    },
}

/// An OTLP/gRPC trace collector (`http://host:4317`), connected on first use and
/// reconnected after a failure.
#[derive(Clone, Debug)]
pub struct Collector {
    client: TraceServiceClient<Channel>,
}

impl Collector {
    /// The collector at `endpoint`; nothing is dialled until the first export. An
    /// `https://` endpoint is reached over TLS, checked against the webpki roots, as
    /// the traces' exporter does (`telemetry::otlp_exporter`).
    pub fn new(endpoint: &str) -> Result<Self, String> {
        let mut builder = Endpoint::from_shared(endpoint.trim().to_owned())
            .map_err(|e| format!("the OTLP endpoint {endpoint:?} is not a URL: {e}"))?
            .timeout(CALL_TIMEOUT)
            .connect_timeout(CALL_TIMEOUT);
        let https = endpoint
            .trim_start()
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"));
        if https {
            builder = builder
                .tls_config(ClientTlsConfig::new().with_webpki_roots())
                .map_err(|e| format!("cannot set up TLS to the OTLP endpoint: {e}"))?;
        }
        let channel = builder.connect_lazy();
        Ok(Collector {
            client: TraceServiceClient::new(channel),
        })
    }

    /// Sends one request; acknowledged only when the collector accepted every span.
    async fn send(
        &mut self,
        request: ExportTraceServiceRequest,
        sent: usize,
    ) -> Result<(), ExportError> {
        let answer = self
            .client
            .export(request)
            .await
            .map_err(|s| ExportError::Collector(format!("{:?}: {}", s.code(), s.message())))?
            .into_inner();
        match answer.partial_success {
            Some(p) if p.rejected_spans != 0 => Err(ExportError::Rejected {
                rejected: p.rejected_spans,
                sent,
                message: p.error_message,
            }),
            _ => Ok(()),
        }
    }
}

/// Exports one batch of the outbox: the oldest unexported records of one resource
/// (service name and version), marked exported once the collector acknowledged every
/// one of them (a partial success marks none). Answers how many were exported (0: the
/// outbox is empty).
pub async fn export_once(store: &Store, collector: &mut Collector) -> Result<usize, ExportError> {
    let mut records = store.unexported_records(BATCH).await?;
    let Some(first) = records.first() else {
        return Ok(0);
    };
    // One resource per export call: records written by an earlier release keep theirs.
    let resource = (first.service_name.clone(), first.service_version.clone());
    records.retain(|r| (r.service_name.clone(), r.service_version.clone()) == resource);
    let request = request_of(&resource.0, &resource.1, &records);
    collector.send(request, records.len()).await?;
    store.mark_exported(&records).await?;
    Ok(records.len())
}

fn text(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

/// The OTLP request of records of one resource.
pub fn request_of(
    service_name: &str,
    service_version: &str,
    records: &[ProcessingRecord],
) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    text("service.name", service_name),
                    text("service.version", service_version),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: SERVICE_NAME.to_owned(),
                    ..Default::default()
                }),
                spans: spans_of(records),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn nanos(t: chrono::DateTime<chrono::Utc>) -> u64 {
    t.timestamp_nanos_opt()
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0)
}

/// `Span.flags`: whether the parent is known to be remote, and whether it is.
const FLAGS_HAS_IS_REMOTE: u32 = 0x100;
const FLAGS_IS_REMOTE: u32 = 0x200;

/// The flags of a span whose parent is remote (the caller's, from `traceparent`) or not.
fn flags(parent: Option<[u8; 8]>, remote: bool) -> u32 {
    FLAGS_HAS_IS_REMOTE
        | if parent.is_some() && remote {
            FLAGS_IS_REMOTE
        } else {
            0
        }
}

/// The spans of records: each record's, and for child spans the call's own span they
/// name as parent (once per call in the batch: the call span holds no data subject, so
/// it is no record of its own; sent again with a later batch's children, it repeats
/// with the same ids).
pub fn spans_of(records: &[ProcessingRecord]) -> Vec<Span> {
    let mut spans: Vec<Span> = records.iter().map(span_of).collect();
    let mut calls: Vec<Span> = Vec::new();
    for r in records {
        let (Some(SpanRole::Child { call_parent }), Some(call)) = (r.span_role, r.parent_span_id)
        else {
            continue;
        };
        let nanos_of = |t| nanos(t);
        match calls
            .iter_mut()
            .find(|s| s.trace_id == r.trace_id && s.span_id == call)
        {
            Some(s) => {
                s.start_time_unix_nano = s.start_time_unix_nano.min(nanos_of(r.start_time));
                s.end_time_unix_nano = s.end_time_unix_nano.max(nanos_of(r.end_time));
            }
            None => calls.push(Span {
                trace_id: r.trace_id.to_vec(),
                span_id: call.to_vec(),
                parent_span_id: call_parent.map(|p| p.to_vec()).unwrap_or_default(),
                flags: flags(call_parent, true),
                name: r.name.clone(),
                kind: span::SpanKind::Server as i32,
                start_time_unix_nano: nanos_of(r.start_time),
                end_time_unix_nano: nanos_of(r.end_time),
                attributes: vec![text("midoffice.tenant", r.tenant.as_str())],
                status: Some(status_of(r.status)),
                ..Default::default()
            }),
        }
    }
    spans.extend(calls);
    spans
}

fn status_of(s: ProcessingStatus) -> Status {
    match s {
        ProcessingStatus::Unset => Status::default(),
        ProcessingStatus::Ok => Status {
            code: status::StatusCode::Ok as i32,
            ..Default::default()
        },
        ProcessingStatus::Error => Status {
            code: status::StatusCode::Error as i32,
            message: "technical failure".to_owned(),
        },
    }
}

/// A record as the span the standard describes: the call's own span is a server span
/// whose parent (the caller's, from `traceparent`) is remote; a child span's parent is
/// the call's span, in this process. Records kept before their role are sent as
/// internal spans, as they were.
pub fn span_of(r: &ProcessingRecord) -> Span {
    let (kind, remote) = match r.span_role {
        Some(SpanRole::Call) => (span::SpanKind::Server, true),
        Some(SpanRole::Child { .. }) | None => (span::SpanKind::Internal, false),
    };
    Span {
        trace_id: r.trace_id.to_vec(),
        span_id: r.span_id.to_vec(),
        parent_span_id: r.parent_span_id.map(|p| p.to_vec()).unwrap_or_default(),
        flags: if r.span_role.is_some() {
            flags(r.parent_span_id, remote)
        } else {
            0
        },
        name: r.name.clone(),
        kind: kind as i32,
        start_time_unix_nano: nanos(r.start_time),
        end_time_unix_nano: nanos(r.end_time),
        attributes: vec![
            text("dpl.core.processing_activity_id", r.activity_id.clone()),
            text("dpl.core.data_subject_id", r.data_subject_id.to_string()),
            text(
                "dpl.core.data_subject_id_type",
                r.data_subject_id_type.clone(),
            ),
            text("midoffice.tenant", r.tenant.as_str()),
        ],
        status: Some(status_of(r.status)),
        ..Default::default()
    }
}

/// Warns, once at start, for each tenant in `tenants` (those the credentials name)
/// and each tenant with stored settings, of every kind of processing without a
/// configured activity URI: its records carry the placeholder
/// `urn:midoffice:processing-activity:<kind>` instead of the tenant's register entry.
/// Answers how many warnings it gave. A database that cannot be read is a warning too,
/// never a refusal to start.
pub async fn warn_unconfigured_activities(
    store: &Store,
    tenants: impl IntoIterator<Item = midoffice_domain::TenantId>,
) -> usize {
    let mut all: Vec<midoffice_domain::TenantId> = tenants.into_iter().collect();
    match store.tenants_with_settings().await {
        Ok(stored) => all.extend(stored),
        Err(e) => tracing::warn!(error = %e, "cannot read the tenants' settings"),
    }
    all.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    all.dedup();
    let mut warned = 0;
    for tenant in all {
        let settings = match store.settings(&tenant).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(tenant = %tenant, error = %e, "cannot read the tenant's settings");
                continue;
            }
        };
        let missing: Vec<&str> = ProcessingKind::ALL
            .iter()
            .filter(|k| settings.processing_activities.configured(**k).is_none())
            .map(|k| k.as_str())
            .collect();
        if !missing.is_empty() {
            warned += 1;
            tracing::warn!(
                tenant = %tenant,
                kinds = %missing.join(", "),
                "processing activities not configured: the processing log records these \
                 kinds under the placeholder urn:midoffice:processing-activity:<kind>; set \
                 processing_activities in the tenant settings to the register's URIs"
            );
        }
    }
    warned
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
pub async fn run(store: Store, mut collector: Collector, mut stop: watch::Receiver<bool>) {
    let mut backoff = Backoff::default();
    loop {
        if *stop.borrow() {
            break;
        }
        let wait = match export_once(&store, &mut collector).await {
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
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
        TraceService, TraceServiceServer,
    };
    use opentelemetry_proto::tonic::collector::trace::v1::{
        ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
    };
    use opentelemetry_proto::tonic::trace::v1::Span;
    use std::sync::{Arc, Mutex};

    /// A span as the collector received it, with its resource's attributes.
    type Received = (Vec<(String, String)>, Span);

    /// A real OTLP collector, in process: keeps every span it acknowledged, refuses
    /// every export call as UNAVAILABLE while `refusing`, and answers a partial success
    /// (the first span rejected, the rest kept) while `rejecting`.
    #[derive(Clone, Default)]
    struct InProcess {
        spans: Arc<Mutex<Vec<Received>>>,
        refusing: Arc<Mutex<bool>>,
        rejecting: Arc<Mutex<bool>>,
    }

    #[tonic::async_trait]
    impl TraceService for InProcess {
        async fn export(
            &self,
            request: tonic::Request<ExportTraceServiceRequest>,
        ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
            if *self.refusing.lock().unwrap() {
                return Err(tonic::Status::unavailable("collector busy"));
            }
            let rejecting = *self.rejecting.lock().unwrap();
            let mut rejected = 0;
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
                        if rejecting && rejected == 0 {
                            rejected += 1;
                            continue;
                        }
                        kept.push((resource.clone(), span));
                    }
                }
            }
            Ok(tonic::Response::new(ExportTraceServiceResponse {
                partial_success: rejecting.then(|| ExportTracePartialSuccess {
                    rejected_spans: rejected,
                    error_message: "span too large".into(),
                }),
            }))
        }
    }

    async fn collector(c: InProcess) -> String {
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
        let c = InProcess::default();
        *c.refusing.lock().unwrap() = true;
        let endpoint = collector(c.clone()).await;
        let mut exporter = Collector::new(&endpoint).unwrap();
        // Refused: nothing is marked, nothing lost.
        for _ in 0..2 {
            assert!(matches!(
                export_once(&store, &mut exporter).await,
                Err(ExportError::Collector(_))
            ));
            assert_eq!(
                store.unexported_records(1000).await.unwrap().len(),
                N as usize
            );
        }
        // Partly rejected: a failed round too, and nothing is marked (the spans the
        // collector kept are sent again; a rejected one is never given up).
        *c.refusing.lock().unwrap() = false;
        *c.rejecting.lock().unwrap() = true;
        let round = export_once(&store, &mut exporter).await;
        assert!(
            matches!(round, Err(ExportError::Rejected { rejected: 1, .. })),
            "{round:?}"
        );
        assert_eq!(
            store.unexported_records(1000).await.unwrap().len(),
            N as usize
        );
        *c.rejecting.lock().unwrap() = false;
        c.spans.lock().unwrap().clear();
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
            // The call's own span, its parent the caller's (remote).
            assert_eq!(span.kind, span::SpanKind::Server as i32);
            assert_eq!(span.flags, FLAGS_HAS_IS_REMOTE | FLAGS_IS_REMOTE);
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

    fn record(span: u8, role: Option<SpanRole>, parent: Option<[u8; 8]>) -> ProcessingRecord {
        let t = chrono::Utc::now();
        ProcessingRecord {
            tenant: TenantId::parse("gemeente-a").unwrap(),
            trace_id: [1; 16],
            span_id: [span; 8],
            parent_span_id: parent,
            name: "midoffice context read".into(),
            start_time: t,
            end_time: t + chrono::Duration::milliseconds(i64::from(span)),
            status: ProcessingStatus::Ok,
            activity_id: "urn:x".into(),
            data_subject_id: Default::default(),
            data_subject_id_type: "midoffice-party-id".into(),
            service_name: "midoffice".into(),
            service_version: "0".into(),
            exported_at: None,
            span_role: role,
        }
    }

    #[test]
    fn child_spans_come_with_their_call_span_whose_parent_is_the_callers() {
        let caller = Some([9; 8]);
        let child = Some(SpanRole::Child {
            call_parent: caller,
        });
        let records = [
            record(2, child, Some([7; 8])),
            record(3, child, Some([7; 8])),
            record(4, Some(SpanRole::Call), None),
        ];
        let spans = spans_of(&records);
        assert_eq!(spans.len(), 4, "three records and one call span");
        for s in &spans[..2] {
            assert_eq!(s.kind, span::SpanKind::Internal as i32);
            assert_eq!(s.parent_span_id, vec![7; 8]);
            assert_eq!(s.flags, FLAGS_HAS_IS_REMOTE, "the call span is local");
        }
        // A call without a traceparent: a server span without a parent.
        assert_eq!(spans[2].kind, span::SpanKind::Server as i32);
        assert!(spans[2].parent_span_id.is_empty());
        assert_eq!(spans[2].flags, FLAGS_HAS_IS_REMOTE);
        // The call span the children name, once, spanning both, its parent remote.
        let call = &spans[3];
        assert_eq!(call.span_id, vec![7; 8]);
        assert_eq!(call.parent_span_id, vec![9; 8]);
        assert_eq!(call.kind, span::SpanKind::Server as i32);
        assert_eq!(call.flags, FLAGS_HAS_IS_REMOTE | FLAGS_IS_REMOTE);
        assert_eq!(call.start_time_unix_nano, spans[0].start_time_unix_nano);
        assert_eq!(call.end_time_unix_nano, spans[1].end_time_unix_nano);
        assert!(
            !call
                .attributes
                .iter()
                .any(|kv| kv.key.starts_with("dpl.core.data_subject")),
            "the call span is no record of a data subject"
        );
    }

    database_test!(tenants_without_activity_uris_are_warned_of_at_start);
    async fn tenants_without_activity_uris_are_warned_of_at_start(database: TestDatabase) {
        let db = database.scratch().await.unwrap();
        let store = Store::connect(&db.url).await.unwrap();
        let named = TenantId::parse("gemeente-a").unwrap();
        let configured = TenantId::parse("gemeente-b").unwrap();
        let mut settings = store.settings(&configured).await.unwrap();
        for kind in ProcessingKind::ALL {
            let uri = Some(format!("https://register.example/{}", kind.as_str()));
            let a = &mut settings.processing_activities;
            match kind {
                ProcessingKind::ContextRead => a.context_read = uri,
                ProcessingKind::ContactRead => a.contact_read = uri,
                ProcessingKind::Erase => a.erase = uri,
                ProcessingKind::ContactRecording => a.contact_recording = uri,
                ProcessingKind::AccessRequest => a.access_request = uri,
            }
        }
        store.replace_settings(&configured, settings).await.unwrap();
        // The named tenant (no settings at all) is warned of; the configured one not.
        assert_eq!(
            warn_unconfigured_activities(&store, [named.clone(), configured.clone()]).await,
            1
        );
        assert_eq!(warn_unconfigured_activities(&store, [configured]).await, 0);
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
