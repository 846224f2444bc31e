//! One record of the processing log (Logboek Dataverwerkingen): one processing of one
//! data subject, shaped like an OpenTelemetry span. No user identity: that is in
//! `audit_record`, linked by trace and span id.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "processing_record")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant: String,
    /// 32 lower-case hex digits.
    #[sea_orm(primary_key, auto_increment = false)]
    pub trace_id: String,
    /// 16 lower-case hex digits.
    #[sea_orm(primary_key, auto_increment = false)]
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub name: String,
    pub start_time: i64,
    pub end_time: i64,
    /// `Unset`, `Ok` or `Error`.
    pub status: String,
    /// `dpl.core.processing_activity_id`.
    pub activity_id: String,
    /// `dpl.core.data_subject_id`: the party id (a pseudonym), never an identifier.
    pub data_subject_id: Uuid,
    pub data_subject_id_type: String,
    pub service_name: String,
    pub service_version: String,
    /// When the OTLP collector acknowledged it; `None` while in the outbox.
    pub exported_at: Option<i64>,
    /// `server` for the call's own span, `internal` for a child span of it (one per
    /// data subject of a call with several); empty in records before m0004.
    pub span_kind: Option<String>,
    /// Of a child span: the call span's own parent (the caller's span from its
    /// `traceparent`), so the call span can be exported with it.
    pub call_parent_span_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
