//! Who calls, for which tenant, and whether they may: every RPC asks [`Access::authorise`]
//! first, with its [`Rpc`], and acts only for the [`Call`] it gets back.
//!
//! The table of which role may call which RPC is [`Rpc::role`]: one place, walked by the
//! role-matrix test.

use crate::error::ApiError;
use crate::tenant::tenant_of;
use crate::trace::TraceContext;
use midoffice_domain::TenantId;
use tonic::Request;

/// What a credential may do. A credential holds one or more roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// A channel's frontend: start, complete, record, read contacts and contexts, feedback.
    Channel,
    /// Figures and the thermometer only.
    Dashboard,
    /// Tenant settings, explanations and erasure.
    Admin,
    /// The processing log.
    Privacy,
}

/// Every RPC of `midoffice.v1`, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rpc {
    StartContact,
    CompleteContact,
    RecordContact,
    GetContact,
    SubmitFeedback,
    GetContext,
    ListPartyContacts,
    EraseParty,
    GetTenantSettings,
    ReplaceTenantSettings,
    GetThermometer,
    GetFigures,
}

impl Rpc {
    /// Every RPC, for tests that walk them all.
    pub const ALL: [Rpc; 12] = [
        Rpc::StartContact,
        Rpc::CompleteContact,
        Rpc::RecordContact,
        Rpc::GetContact,
        Rpc::SubmitFeedback,
        Rpc::GetContext,
        Rpc::ListPartyContacts,
        Rpc::EraseParty,
        Rpc::GetTenantSettings,
        Rpc::ReplaceTenantSettings,
        Rpc::GetThermometer,
        Rpc::GetFigures,
    ];

    /// The role an RPC needs; `None` for the public thermometer.
    pub fn role(self) -> Option<Role> {
        match self {
            Rpc::StartContact
            | Rpc::CompleteContact
            | Rpc::RecordContact
            | Rpc::GetContact
            | Rpc::SubmitFeedback
            | Rpc::GetContext
            | Rpc::ListPartyContacts => Some(Role::Channel),
            Rpc::GetFigures => Some(Role::Dashboard),
            Rpc::EraseParty | Rpc::GetTenantSettings | Rpc::ReplaceTenantSettings => {
                Some(Role::Admin)
            }
            Rpc::GetThermometer => None,
        }
    }

    /// The RPC's name as in the proto file.
    pub fn name(self) -> &'static str {
        match self {
            Rpc::StartContact => "StartContact",
            Rpc::CompleteContact => "CompleteContact",
            Rpc::RecordContact => "RecordContact",
            Rpc::GetContact => "GetContact",
            Rpc::SubmitFeedback => "SubmitFeedback",
            Rpc::GetContext => "GetContext",
            Rpc::ListPartyContacts => "ListPartyContacts",
            Rpc::EraseParty => "EraseParty",
            Rpc::GetTenantSettings => "GetTenantSettings",
            Rpc::ReplaceTenantSettings => "ReplaceTenantSettings",
            Rpc::GetThermometer => "GetThermometer",
            Rpc::GetFigures => "GetFigures",
        }
    }
}

/// One authorised call: the tenant it acts for, who made it, and its trace context.
#[derive(Clone, Debug)]
pub struct Call {
    /// The tenant, taken from the credential (`x-tenant` chooses among its tenants).
    pub tenant: TenantId,
    /// Who made the call: the credential's subject (an API key's name, a token's `sub`),
    /// for the audit record; never personal data of a citizen.
    pub subject: String,
    /// The W3C trace context, continued from the caller's `traceparent`.
    pub trace: TraceContext,
}

/// How calls are authenticated.
#[derive(Clone, Debug, Default)]
pub enum Access {
    /// No credentials configured: every call is allowed, the tenant comes from
    /// `x-tenant` (default `default`). The binary serves this on loopback only.
    #[default]
    Development,
}

/// The subject recorded for calls in development mode.
pub const DEVELOPMENT_SUBJECT: &str = "development (no credentials configured)";

impl Access {
    /// Development access: everything allowed, on loopback.
    pub fn development() -> Self {
        Access::Development
    }

    /// Authenticates the call and checks that its credential may call `rpc`.
    pub fn authorise<T>(&self, request: &Request<T>, rpc: Rpc) -> Result<Call, ApiError> {
        let _ = rpc;
        let trace = TraceContext::continued(request.metadata());
        match self {
            Access::Development => Ok(Call {
                tenant: tenant_of(request.metadata())?,
                subject: DEVELOPMENT_SUBJECT.to_owned(),
                trace,
            }),
        }
    }
}
