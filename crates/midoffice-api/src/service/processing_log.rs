//! `midoffice.v1.ProcessingLogService`: the processing log for the privacy officer (the
//! `privacy` role): processing records by data subject and period, and the audit records
//! of who called.

use crate::auth::Rpc;
use crate::convert::command::required_identifiers;
use crate::convert::{collect, nested, optional_instant, timestamp};
use crate::error::ApiError;
use crate::pb;
use crate::server::AppState;
use midoffice_domain::Violations;
use midoffice_domain::processing::ProcessingStatus;
use midoffice_store::processing_log::{hex, hex_id};
use midoffice_store::{AuditRecord, Cursor, DataSubject, Listing, ProcessingRecord};
use std::sync::Arc;
use tonic::{Request, Response, Status};
use tracing::debug;
use uuid::Uuid;

/// A page of 0 (unset) holds this many records.
pub const DEFAULT_PAGE_SIZE: u64 = 100;
/// A larger page size is read as this (AIP-158).
pub const MAX_PAGE_SIZE: u64 = 1000;

/// The processing log.
#[derive(Clone, Debug)]
pub struct ProcessingLogApi {
    state: Arc<AppState>,
}

impl ProcessingLogApi {
    /// The service over shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

/// The period and page of a listing; every invalid field recorded in `v`.
fn listing(
    start: Option<&prost_types::Timestamp>,
    end: Option<&prost_types::Timestamp>,
    page_size: i32,
    page_token: &str,
    v: &mut Violations,
) -> Listing {
    let from = optional_instant(start, "start_time", v).ok().flatten();
    let to = optional_instant(end, "end_time", v).ok().flatten();
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        v.add("end_time", "must be after start_time");
    }
    let page_size = match u64::try_from(page_size) {
        Err(_) => {
            v.add("page_size", "must not be negative");
            DEFAULT_PAGE_SIZE
        }
        Ok(0) => DEFAULT_PAGE_SIZE,
        Ok(n) => n.min(MAX_PAGE_SIZE),
    };
    let after = if page_token.is_empty() {
        None
    } else {
        let cursor = Cursor::parse(page_token);
        if cursor.is_none() {
            v.add("page_token", "is not a next_page_token of this service");
        }
        cursor
    };
    Listing {
        subjects: None,
        from,
        to,
        page_size,
        after,
    }
}

fn status(s: ProcessingStatus) -> pb::ProcessingStatus {
    match s {
        ProcessingStatus::Unset => pb::ProcessingStatus::Unset,
        ProcessingStatus::Ok => pb::ProcessingStatus::Ok,
        ProcessingStatus::Error => pb::ProcessingStatus::Error,
    }
}

impl From<&ProcessingRecord> for pb::ProcessingRecord {
    fn from(r: &ProcessingRecord) -> Self {
        pb::ProcessingRecord {
            trace_id: hex(&r.trace_id),
            span_id: hex(&r.span_id),
            parent_span_id: r.parent_span_id.map(|p| hex(&p)).unwrap_or_default(),
            name: r.name.clone(),
            start_time: Some(timestamp(r.start_time)),
            end_time: Some(timestamp(r.end_time)),
            status: status(r.status) as i32,
            processing_activity_id: r.activity_id.clone(),
            data_subject_id: r.data_subject_id.to_string(),
            data_subject_id_type: r.data_subject_id_type.clone(),
            service_name: r.service_name.clone(),
            service_version: r.service_version.clone(),
            exported: r.exported_at.is_some(),
        }
    }
}

impl From<&AuditRecord> for pb::AuditRecord {
    fn from(r: &AuditRecord) -> Self {
        pb::AuditRecord {
            trace_id: hex(&r.trace_id),
            span_id: hex(&r.span_id),
            operation: r.operation.clone(),
            actor: r.actor.clone(),
            time: Some(timestamp(r.at)),
            contact_id: r.contact_id.map(|c| c.to_string()).unwrap_or_default(),
        }
    }
}

/// A hex id field: empty is `None`; anything but its exact lower-case hex a violation.
fn hex_field<const N: usize>(raw: &str, field: &str, v: &mut Violations) -> Option<[u8; N]> {
    if raw.is_empty() {
        return None;
    }
    let id = hex_id::<N>(raw);
    if id.is_none() {
        v.add(
            field,
            format!("must be {} lower-case hex digits, not all zero", 2 * N),
        );
    }
    id
}

#[tonic::async_trait]
impl pb::processing_log_service_server::ProcessingLogService for ProcessingLogApi {
    async fn list_processing_records(
        &self,
        request: Request<pb::ListProcessingRecordsRequest>,
    ) -> Result<Response<pb::ListProcessingRecordsResponse>, Status> {
        let call = self
            .state
            .access
            .authorise(&request, Rpc::ListProcessingRecords)?;
        let caller = caller(&call);
        let tenant = call.tenant;
        let req = request.into_inner();
        let mut v = Violations::default();
        let by_identifiers = req.identifiers.as_ref().map(|ids| {
            collect(
                &mut v,
                nested(
                    "identifiers",
                    required_identifiers(Some(ids), &self.state.pseudonymiser),
                ),
            )
        });
        let by_party = (!req.data_subject_id.is_empty()).then(|| {
            let id = Uuid::parse_str(&req.data_subject_id).ok();
            if id.is_none() {
                v.add(
                    "data_subject_id",
                    "must be a data_subject_id of a record (a UUID)",
                );
            }
            id
        });
        if by_identifiers.is_some() && by_party.is_some() {
            v.add(
                "data_subject_id",
                "give identifiers or data_subject_id, not both",
            );
        }
        let listing = listing(
            req.start_time.as_ref(),
            req.end_time.as_ref(),
            req.page_size,
            &req.page_token,
            &mut v,
        );
        if !v.is_empty() {
            return Err(ApiError::from(v).into());
        }
        let subject = match (by_identifiers, by_party) {
            (Some(Some(ids)), _) => Some(DataSubject::Identifiers(ids)),
            (_, Some(Some(id))) => Some(DataSubject::Party(id)),
            _ => None,
        };
        debug!(tenant = %tenant, by_subject = subject.is_some(), "ListProcessingRecords");
        let page = self
            .state
            .store
            .processing_records(&tenant, &caller, subject, listing)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::ListProcessingRecordsResponse {
            records: page.items.iter().map(pb::ProcessingRecord::from).collect(),
            next_page_token: page.next.map(|c| c.token()).unwrap_or_default(),
        }))
    }

    async fn list_audit_records(
        &self,
        request: Request<pb::ListAuditRecordsRequest>,
    ) -> Result<Response<pb::ListAuditRecordsResponse>, Status> {
        let call = self
            .state
            .access
            .authorise(&request, Rpc::ListAuditRecords)?;
        let tenant = call.tenant;
        let req = request.into_inner();
        let mut v = Violations::default();
        let trace_id = hex_field::<16>(&req.trace_id, "trace_id", &mut v);
        let span_id = hex_field::<8>(&req.span_id, "span_id", &mut v);
        let listing = listing(
            req.start_time.as_ref(),
            req.end_time.as_ref(),
            req.page_size,
            &req.page_token,
            &mut v,
        );
        if !v.is_empty() {
            return Err(ApiError::from(v).into());
        }
        debug!(tenant = %tenant, "ListAuditRecords");
        let page = self
            .state
            .store
            .audit_records(&tenant, trace_id, span_id, listing)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::ListAuditRecordsResponse {
            records: page.items.iter().map(pb::AuditRecord::from).collect(),
            next_page_token: page.next.map(|c| c.token()).unwrap_or_default(),
        }))
    }
}

/// The call's place in the trace, what it is and who made it, for the processing log.
pub(crate) fn caller(call: &crate::auth::Call) -> midoffice_store::Caller {
    midoffice_store::Caller {
        trace_id: call.trace.trace_id,
        span_id: call.trace.span_id,
        parent_span_id: call.trace.parent_span_id,
        operation: call.rpc.name(),
        actor: call.subject.clone(),
        started_at: call.started_at,
    }
}
