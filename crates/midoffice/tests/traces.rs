//! Traces over OTLP: the real binary exporting to a real OTLP trace receiver on
//! loopback. A call that carries a W3C `traceparent` is one trace with the caller's:
//! the call's server span has the caller's span as its parent, the store's spans are
//! its children, and the processing log's record of the call names the same trace and
//! span. No identifier of the citizen is in any span.
//!
//! Cargo builds the binary for this test (`CARGO_BIN_EXE_midoffice`).

use midoffice_tests::pb::contact_service_client::ContactServiceClient;
use midoffice_tests::pb::{self, Channel};
use midoffice_tests::{TENANT, bsn, request, start};
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::trace::v1::{Span, span};
use std::path::Path;
use std::time::Duration;

mod common;
use common::{channel, launch_with_env, otlp_receiver};

/// The caller's trace and span (a frontend's), as it sends them in `traceparent`.
const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";
const CITIZEN: &str = "999990019";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.clone()),
            any_value::Value::IntValue(i) => Some(i.to_string()),
            _ => None,
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callers_trace_continues_through_the_call_into_the_store() {
    let otlp = otlp_receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let server = launch_with_env(
        Path::new(env!("CARGO_BIN_EXE_midoffice")),
        &db,
        dir.path(),
        &[("MIDOFFICE__TELEMETRY__OTLP_ENDPOINT", &otlp.endpoint)],
    )
    .await;

    let mut contacts = ContactServiceClient::new(channel(&server.url).await);
    let mut call = request(
        TENANT,
        pb::StartContactRequest {
            request_id: "trace-1".into(),
            start: Some(start(
                Channel::Phone,
                &chrono::Utc::now().to_rfc3339(),
                Some(bsn(CITIZEN)),
                "paspoort",
            )),
        },
    );
    call.metadata_mut().insert(
        "traceparent",
        format!("00-{TRACE}-{PARENT}-01").parse().unwrap(),
    );
    contacts
        .start_contact(call)
        .await
        .expect("a contact starts");

    // The batch exporter sends within seconds; the processing log's export too.
    let name = "midoffice.v1.ContactService/StartContact";
    let mut found = None;
    for _ in 0..300 {
        let spans: Vec<Span> = otlp
            .traces
            .all()
            .into_iter()
            .flat_map(|r| r.resource_spans)
            .flat_map(|r| r.scope_spans)
            .flat_map(|s| s.spans)
            .collect();
        let call = spans
            .iter()
            .find(|s| s.name == name && hex(&s.trace_id) == TRACE);
        if let Some(call) = call {
            let store: Vec<&Span> = spans
                .iter()
                .filter(|s| s.name == "store.start_contact" && s.parent_span_id == call.span_id)
                .collect();
            let processing: Vec<Span> = spans
                .iter()
                .filter(|s| attribute(s, "dpl.core.processing_activity_id").is_some())
                .cloned()
                .collect();
            if !store.is_empty() && !processing.is_empty() {
                found = Some((call.clone(), store[0].clone(), processing, spans.clone()));
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let all = format!("{:?}", otlp.traces.all());
    let Some((call, store, processing, spans)) = found else {
        panic!(
            "the receiver did not see the call's span with a store span under it within 30 s; \
             it got: {}",
            &all[..all.len().min(4000)]
        );
    };

    // The call's span: a server span whose parent is the caller's (remote) span.
    assert_eq!(hex(&call.parent_span_id), PARENT);
    assert_eq!(call.kind, span::SpanKind::Server as i32);
    assert_eq!(attribute(&call, "tenant").as_deref(), Some(TENANT));
    assert_eq!(
        attribute(&call, "rpc.grpc.status_code").as_deref(),
        Some("0")
    );
    // The store's span is in the same trace, under the call's, in its time.
    assert_eq!(hex(&store.trace_id), TRACE);
    assert!(store.start_time_unix_nano >= call.start_time_unix_nano);
    assert!(store.end_time_unix_nano <= call.end_time_unix_nano);
    assert_eq!(attribute(&store, "tenant").as_deref(), Some(TENANT));
    // Every store span during the call is in one trace: the caller's. (The server's
    // own jobs, such as composing benchmark groups at start, have traces of their own;
    // the figures job's `store.keep_*` spans may run beside the call.)
    for s in spans.iter().filter(|s| {
        s.name.starts_with("store.")
            && !s.name.starts_with("store.keep_")
            && s.start_time_unix_nano >= call.start_time_unix_nano
            && s.end_time_unix_nano <= call.end_time_unix_nano
    }) {
        assert_eq!(
            hex(&s.trace_id),
            TRACE,
            "a store span outside the trace: {s:?}"
        );
    }
    // The processing log names the same call: its record is the call's span (one data
    // subject), with the same trace, span and parent.
    assert!(
        processing.iter().any(|p| hex(&p.trace_id) == TRACE
            && p.span_id == call.span_id
            && hex(&p.parent_span_id) == PARENT),
        "the processing log's record is not the call's span: call {call:?}, records {processing:?}"
    );
    assert!(!all.contains(CITIZEN), "the BSN reached a trace");
    drop(server);
}
