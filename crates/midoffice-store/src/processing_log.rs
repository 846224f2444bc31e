//! The processing log (Logboek Dataverwerkingen 1.0): writing the records a plan's
//! [`Write::LogProcessing`](midoffice_domain::plan::Write::LogProcessing) asks for, in
//! the processing's own transaction; listing them for the privacy officer; and the
//! outbox the OTLP exporter drains.
//!
//! Spans: a processing of one data subject is the call's own span (its parent the
//! caller's span from `traceparent`); a processing of several subjects is one child span
//! of the call's span per subject. Each record has an audit record with the same trace
//! and span id that says who called: the record itself holds no user identity.

use crate::StoreError;
use crate::convert::{instant, micros, now};
use crate::db::db_err;
use crate::entity::{audit_record, processing_record};
use midoffice_domain::processing::{DATA_SUBJECT_ID_TYPE, Processing, ProcessingStatus};
use midoffice_domain::{Instant, TenantId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

/// `service.name` of the resource of every record.
pub const SERVICE_NAME: &str = "midoffice";
/// `service.version` of the resource of every record.
pub const SERVICE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The call a processing is part of: its place in the trace and who made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The trace, continued from the caller's `traceparent` or new.
    pub trace_id: [u8; 16],
    /// The call's own span.
    pub span_id: [u8; 8],
    /// The caller's span, if it sent one.
    pub parent_span_id: Option<[u8; 8]>,
    /// The RPC called.
    pub operation: &'static str,
    /// Who called (the credential's subject): goes to the audit record only.
    pub actor: String,
    /// When the call began.
    pub started_at: Instant,
}

/// One stored record of the processing log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessingRecord {
    pub tenant: TenantId,
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub parent_span_id: Option<[u8; 8]>,
    pub name: String,
    pub start_time: Instant,
    pub end_time: Instant,
    pub status: ProcessingStatus,
    /// `dpl.core.processing_activity_id`.
    pub activity_id: String,
    /// `dpl.core.data_subject_id`: the party id, a pseudonym.
    pub data_subject_id: Uuid,
    /// `dpl.core.data_subject_id_type`.
    pub data_subject_id_type: String,
    pub service_name: String,
    pub service_version: String,
    /// When the OTLP collector acknowledged it.
    pub exported_at: Option<Instant>,
    /// Its place in the call's spans (`None` in records written before it was kept).
    pub span_role: Option<SpanRole>,
}

/// A record's span in the call: the call's own, or a child of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanRole {
    /// The call's own span (a server span); its parent, if any, is the caller's.
    Call,
    /// A child of the call's span (one per data subject of a call with several); the
    /// call span's parent, if any, is the caller's.
    Child { call_parent: Option<[u8; 8]> },
}

/// One audit record: who made the call a processing record (same trace and span) was
/// part of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub operation: String,
    pub actor: String,
    pub at: Instant,
    /// The contact the processing was for, if any.
    pub contact_id: Option<Uuid>,
}

/// Where a page of a listing starts: after this record (in time, then trace and span).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub at: i64,
    pub trace_id: String,
    pub span_id: String,
}

impl Cursor {
    /// The opaque page token of this cursor.
    pub fn token(&self) -> String {
        format!("v1.{}.{}.{}", self.at, self.trace_id, self.span_id)
    }

    /// The cursor of a page token this store made; `None` for anything else.
    pub fn parse(token: &str) -> Option<Cursor> {
        let mut parts = token.split('.');
        let (Some("v1"), Some(at), Some(trace), Some(span), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let at: i64 = at.parse().ok()?;
        (hex_id::<16>(trace).is_some() && hex_id::<8>(span).is_some()).then(|| Cursor {
            at,
            trace_id: trace.to_owned(),
            span_id: span.to_owned(),
        })
    }
}

/// What to list: the records of some data subjects (all when `None`), in a period
/// (`from` inclusive, `to` exclusive), one page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    pub subjects: Option<Vec<Uuid>>,
    pub from: Option<Instant>,
    pub to: Option<Instant>,
    pub page_size: u64,
    pub after: Option<Cursor>,
}

/// One page of a listing, and the cursor of the next if there is more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

/// Lower-case hex of an id.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The id of lower-case hex of its exact length, not all zeros.
pub fn hex_id<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != 2 * N
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    (out != [0u8; N]).then_some(out)
}

/// A new span id: random, not all zeros.
fn new_span_id() -> [u8; 8] {
    loop {
        let mut out = [0u8; 8];
        if getrandom::fill(&mut out).is_err() {
            // The random bits of a UUIDv7 are the next best source.
            out.copy_from_slice(&Uuid::now_v7().into_bytes()[8..]);
        }
        if out != [0u8; 8] {
            return out;
        }
    }
}

/// Writes the records of a processing, with their audit records, in `c` (the
/// processing's own transaction, or one of their own for a record written after a
/// failure).
pub(crate) async fn write<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    caller: &Caller,
    processing: &Processing,
    status: ProcessingStatus,
) -> Result<(), StoreError> {
    let end = now();
    let alone = processing.subjects.len() == 1;
    for subject in &processing.subjects {
        let (span, parent, kind, call_parent) = if alone {
            (caller.span_id, caller.parent_span_id, "server", None)
        } else {
            (
                new_span_id(),
                Some(caller.span_id),
                "internal",
                caller.parent_span_id,
            )
        };
        let record = processing_record::Model {
            tenant: tenant.as_str().to_owned(),
            trace_id: hex(&caller.trace_id),
            span_id: hex(&span),
            parent_span_id: parent.map(|p| hex(&p)),
            name: processing.kind.span_name().to_owned(),
            start_time: micros(caller.started_at).min(micros(end)),
            end_time: micros(end),
            status: status.as_str().to_owned(),
            activity_id: processing.activity.clone(),
            data_subject_id: *subject,
            data_subject_id_type: DATA_SUBJECT_ID_TYPE.to_owned(),
            service_name: SERVICE_NAME.to_owned(),
            service_version: SERVICE_VERSION.to_owned(),
            exported_at: None,
            span_kind: Some(kind.to_owned()),
            call_parent_span_id: call_parent.map(|p| hex(&p)),
        };
        let audit = audit_record::Model {
            tenant: tenant.as_str().to_owned(),
            trace_id: record.trace_id.clone(),
            span_id: record.span_id.clone(),
            operation: caller.operation.to_owned(),
            actor: caller.actor.clone(),
            at: micros(end),
            contact_id: processing.contact,
        };
        processing_record::Entity::insert(record.into_active_model())
            .exec_without_returning(c)
            .await
            .map_err(db_err)?;
        audit_record::Entity::insert(audit.into_active_model())
            .exec_without_returning(c)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

fn record_of(row: processing_record::Model) -> Result<ProcessingRecord, StoreError> {
    let bad = |what: &str| crate::convert::corrupt(what);
    Ok(ProcessingRecord {
        tenant: TenantId::parse(&row.tenant).map_err(|_| bad("processing_record.tenant"))?,
        trace_id: hex_id(&row.trace_id).ok_or_else(|| bad("processing_record.trace_id"))?,
        span_id: hex_id(&row.span_id).ok_or_else(|| bad("processing_record.span_id"))?,
        parent_span_id: match row.parent_span_id.as_deref() {
            None => None,
            Some(p) => Some(hex_id(p).ok_or_else(|| bad("processing_record.parent_span_id"))?),
        },
        name: row.name,
        start_time: instant(row.start_time)?,
        end_time: instant(row.end_time)?,
        status: ProcessingStatus::parse(&row.status)
            .ok_or_else(|| bad("processing_record.status"))?,
        activity_id: row.activity_id,
        data_subject_id: row.data_subject_id,
        data_subject_id_type: row.data_subject_id_type,
        service_name: row.service_name,
        service_version: row.service_version,
        exported_at: row.exported_at.map(instant).transpose()?,
        span_role: match row.span_kind.as_deref() {
            None => None,
            Some("server") => Some(SpanRole::Call),
            Some("internal") => Some(SpanRole::Child {
                call_parent: match row.call_parent_span_id.as_deref() {
                    None => None,
                    Some(p) => Some(
                        hex_id(p).ok_or_else(|| bad("processing_record.call_parent_span_id"))?,
                    ),
                },
            }),
            Some(_) => return Err(bad("processing_record.span_kind")),
        },
    })
}

fn audit_of(row: audit_record::Model) -> Result<AuditRecord, StoreError> {
    let bad = |what: &str| crate::convert::corrupt(what);
    Ok(AuditRecord {
        trace_id: hex_id(&row.trace_id).ok_or_else(|| bad("audit_record.trace_id"))?,
        span_id: hex_id(&row.span_id).ok_or_else(|| bad("audit_record.span_id"))?,
        operation: row.operation,
        actor: row.actor,
        at: instant(row.at)?,
        contact_id: row.contact_id,
    })
}

/// A page of the processing records of a tenant, oldest first.
pub(crate) async fn list_records<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    listing: &Listing,
) -> Result<Page<ProcessingRecord>, StoreError> {
    use processing_record::Column as Col;
    let mut q = processing_record::Entity::find().filter(Col::Tenant.eq(tenant.as_str()));
    if let Some(subjects) = &listing.subjects {
        q = q.filter(Col::DataSubjectId.is_in(subjects.iter().copied()));
    }
    if let Some(from) = listing.from {
        q = q.filter(Col::StartTime.gte(micros(from)));
    }
    if let Some(to) = listing.to {
        q = q.filter(Col::StartTime.lt(micros(to)));
    }
    if let Some(after) = &listing.after {
        q = q.filter(after_cursor(
            Col::StartTime,
            Col::TraceId,
            Col::SpanId,
            after,
        ));
    }
    let rows = q
        .order_by_asc(Col::StartTime)
        .order_by_asc(Col::TraceId)
        .order_by_asc(Col::SpanId)
        .limit(listing.page_size + 1)
        .all(c)
        .await
        .map_err(db_err)?;
    page(rows, listing.page_size, |r| Cursor {
        at: r.start_time,
        trace_id: r.trace_id.clone(),
        span_id: r.span_id.clone(),
    })?
    .try_map(record_of)
}

/// A page of the audit records of a tenant, oldest first: of one span, of one trace, or
/// of a period.
pub(crate) async fn list_audit<C: ConnectionTrait>(
    c: &C,
    tenant: &TenantId,
    trace_id: Option<[u8; 16]>,
    span_id: Option<[u8; 8]>,
    listing: &Listing,
) -> Result<Page<AuditRecord>, StoreError> {
    use audit_record::Column as Col;
    let mut q = audit_record::Entity::find().filter(Col::Tenant.eq(tenant.as_str()));
    if let Some(t) = trace_id {
        q = q.filter(Col::TraceId.eq(hex(&t)));
    }
    if let Some(s) = span_id {
        q = q.filter(Col::SpanId.eq(hex(&s)));
    }
    if let Some(from) = listing.from {
        q = q.filter(Col::At.gte(micros(from)));
    }
    if let Some(to) = listing.to {
        q = q.filter(Col::At.lt(micros(to)));
    }
    if let Some(after) = &listing.after {
        q = q.filter(after_cursor(Col::At, Col::TraceId, Col::SpanId, after));
    }
    let rows = q
        .order_by_asc(Col::At)
        .order_by_asc(Col::TraceId)
        .order_by_asc(Col::SpanId)
        .limit(listing.page_size + 1)
        .all(c)
        .await
        .map_err(db_err)?;
    page(rows, listing.page_size, |r| Cursor {
        at: r.at,
        trace_id: r.trace_id.clone(),
        span_id: r.span_id.clone(),
    })?
    .try_map(audit_of)
}

/// `(at, trace, span) > cursor`, spelled out (row values compare differently per backend).
fn after_cursor<C: ColumnTrait>(at: C, trace: C, span: C, k: &Cursor) -> Condition {
    Condition::any().add(at.gt(k.at)).add(
        Condition::all().add(at.eq(k.at)).add(
            Condition::any().add(trace.gt(k.trace_id.as_str())).add(
                Condition::all()
                    .add(trace.eq(k.trace_id.as_str()))
                    .add(span.gt(k.span_id.as_str())),
            ),
        ),
    )
}

fn page<R>(
    mut rows: Vec<R>,
    size: u64,
    cursor: impl Fn(&R) -> Cursor,
) -> Result<Page<R>, StoreError> {
    let more = rows.len() as u64 > size;
    rows.truncate(usize::try_from(size).unwrap_or(usize::MAX));
    let next = if more { rows.last().map(cursor) } else { None };
    Ok(Page { items: rows, next })
}

impl<R> Page<R> {
    fn try_map<T>(self, f: impl Fn(R) -> Result<T, StoreError>) -> Result<Page<T>, StoreError> {
        Ok(Page {
            items: self.items.into_iter().map(f).collect::<Result<_, _>>()?,
            next: self.next,
        })
    }
}

/// Up to `limit` records the collector has not acknowledged yet, oldest first, of every
/// tenant (the outbox).
pub(crate) async fn unexported<C: ConnectionTrait>(
    c: &C,
    limit: u64,
) -> Result<Vec<ProcessingRecord>, StoreError> {
    use processing_record::Column as Col;
    let rows = processing_record::Entity::find()
        .filter(Col::ExportedAt.is_null())
        .order_by_asc(Col::StartTime)
        .order_by_asc(Col::Tenant)
        .order_by_asc(Col::TraceId)
        .order_by_asc(Col::SpanId)
        .limit(limit)
        .all(c)
        .await
        .map_err(db_err)?;
    rows.into_iter().map(record_of).collect()
}

/// Marks records as acknowledged by the collector at `at`.
pub(crate) async fn mark_exported<C: ConnectionTrait>(
    c: &C,
    records: &[ProcessingRecord],
    at: Instant,
) -> Result<(), StoreError> {
    use processing_record::Column as Col;
    for r in records {
        processing_record::Entity::update_many()
            .col_expr(Col::ExportedAt, Expr::value(micros(at)))
            .filter(Col::Tenant.eq(r.tenant.as_str()))
            .filter(Col::TraceId.eq(hex(&r.trace_id)))
            .filter(Col::SpanId.eq(hex(&r.span_id)))
            .filter(Col::ExportedAt.is_null())
            .exec(c)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}
