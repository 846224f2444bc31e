//! The W3C trace context of a call (`traceparent`): the caller's trace is continued, with
//! a new span for this call; without a valid `traceparent` a new trace starts.
//!
//! One context per call, made once ([`TraceContext::for_call`], by the layer that
//! measures every call): the call's tracing span gets the caller's span as its
//! OpenTelemetry parent, and when traces are exported the call's ids are that span's, so
//! the exported trace, the log lines and the processing log name the same trace and span.

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tonic::codegen::http::HeaderMap;
use tonic::metadata::MetadataMap;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The metadata key of the W3C trace context.
pub const TRACEPARENT: &str = "traceparent";

/// A call's place in a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceContext {
    /// The trace, from the caller or new.
    pub trace_id: [u8; 16],
    /// This call's own span.
    pub span_id: [u8; 8],
    /// The caller's span, when the caller sent one.
    pub parent_span_id: Option<[u8; 8]>,
}

impl TraceContext {
    /// Continues the caller's `traceparent`, or starts a new trace, with a random span
    /// id: for a call that did not pass the call layer (a handler called directly).
    pub fn continued(metadata: &MetadataMap) -> Self {
        Self::random_span(caller_of(metadata.as_ref()).map(|(t, s, _)| (t, s)))
    }

    /// The context of the call whose request carries `headers` and whose tracing span is
    /// `span`: the caller's `traceparent` (if valid) becomes the span's OpenTelemetry
    /// parent (a remote one), and when the span is exported its trace and span id are
    /// the call's; otherwise (no exporter, the span filtered out) the caller's trace, or
    /// a new one, with a random span id.
    pub fn for_call(headers: &HeaderMap, span: &tracing::Span) -> Self {
        let caller = caller_of(headers);
        if let Some((trace_id, span_id, sampled)) = caller {
            let flags = if sampled {
                TraceFlags::SAMPLED
            } else {
                TraceFlags::default()
            };
            let remote = SpanContext::new(
                TraceId::from_bytes(trace_id),
                SpanId::from_bytes(span_id),
                flags,
                true,
                TraceState::default(),
            );
            // Fails only without the OpenTelemetry layer: nothing to continue then.
            let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
        }
        let exported = span.context();
        let own = exported.span().span_context().clone();
        if own.is_valid() {
            return TraceContext {
                trace_id: own.trace_id().to_bytes(),
                span_id: own.span_id().to_bytes(),
                parent_span_id: caller.map(|(_, s, _)| s),
            };
        }
        Self::random_span(caller.map(|(t, s, _)| (t, s)))
    }

    fn random_span(parent: Option<([u8; 16], [u8; 8])>) -> Self {
        let span_id = random_nonzero::<8>();
        match parent {
            Some((trace_id, parent_span_id)) => TraceContext {
                trace_id,
                span_id,
                parent_span_id: Some(parent_span_id),
            },
            None => TraceContext {
                trace_id: random_nonzero::<16>(),
                span_id,
                parent_span_id: None,
            },
        }
    }

    /// The `traceparent` value to pass on to whom this call calls.
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-01", hex(&self.trace_id), hex(&self.span_id))
    }
}

/// The caller's trace id, span id and sampled flag, from a valid `traceparent` header.
fn caller_of(headers: &HeaderMap) -> Option<([u8; 16], [u8; 8], bool)> {
    let value = headers.get(TRACEPARENT)?.to_str().ok()?;
    let (trace_id, span_id) = parse_traceparent(value)?;
    // The flags were checked by the parse: two lower-case hex digits at the fourth place.
    let sampled = value
        .trim()
        .split('-')
        .nth(3)
        .and_then(|f| u8::from_str_radix(f, 16).ok())
        .is_some_and(|f| f & 1 == 1);
    Some((trace_id, span_id, sampled))
}

/// The trace id and parent span id of a valid version-00 `traceparent`
/// (`00-<32 hex>-<16 hex>-<2 hex>`, lower case, neither id all zeros); a later version is
/// read by its first four fields, as the W3C text asks.
pub fn parse_traceparent(value: &str) -> Option<([u8; 16], [u8; 8])> {
    let value = value.trim();
    let mut parts = value.split('-');
    let version = parts.next()?;
    let trace = parts.next()?;
    let span = parts.next()?;
    let flags = parts.next()?;
    if version.len() != 2 || version == "ff" || !lower_hex(version) {
        return None;
    }
    if version == "00" && parts.next().is_some() {
        return None;
    }
    if flags.len() != 2 || !lower_hex(flags) {
        return None;
    }
    let trace_id: [u8; 16] = unhex(trace)?;
    let span_id: [u8; 8] = unhex(span)?;
    if trace_id == [0; 16] || span_id == [0; 8] {
        return None;
    }
    Some((trace_id, span_id))
}

fn lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != 2 * N || !lower_hex(s) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Random bytes, not all zero (an all-zero trace or span id is invalid).
fn random_nonzero<const N: usize>() -> [u8; N] {
    loop {
        let mut out = [0u8; N];
        // Without the system's random source there is nothing safe to fall back on
        // for ids; the time-ordered uuid's random bits are the next best.
        if getrandom::fill(&mut out).is_err() {
            let bytes = uuid::Uuid::now_v7().into_bytes();
            out.copy_from_slice(&bytes[16 - N..]);
        }
        if out != [0u8; N] {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::metadata::MetadataValue;

    #[test]
    fn a_valid_traceparent_is_continued_with_a_new_span() {
        let mut m = MetadataMap::new();
        m.insert(
            TRACEPARENT,
            MetadataValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        );
        let t = TraceContext::continued(&m);
        assert_eq!(hex(&t.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(
            t.parent_span_id.map(|s| hex(&s)).as_deref(),
            Some("00f067aa0ba902b7")
        );
        assert_ne!(t.span_id, [0; 8]);
        assert_ne!(Some(t.span_id), t.parent_span_id);
    }

    #[test]
    fn invalid_traceparents_start_a_new_trace() {
        for bad in [
            "",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        ] {
            assert_eq!(parse_traceparent(bad), None, "{bad}");
        }
        let t = TraceContext::continued(&MetadataMap::new());
        assert_eq!(t.parent_span_id, None);
        assert_ne!(t.trace_id, [0; 16]);
    }

    #[test]
    fn a_later_version_is_read_by_its_first_fields() {
        assert!(
            parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what")
                .is_some()
        );
    }
}
