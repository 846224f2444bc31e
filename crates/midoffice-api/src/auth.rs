//! Who calls, for which tenant, and whether they may: every RPC asks [`Access::authorise`]
//! first, with its [`Rpc`], and acts only for the [`Call`] it gets back.
//!
//! The table of which role may call which RPC is [`Rpc::role`]: one place, walked by the
//! role-matrix test.
//!
//! Authentication is in two steps. [`AuthLayer`], a tower layer in front of every
//! service, reads the credential of each request (an API key, an OIDC bearer token, a
//! client certificate) and puts what it found into the request's extensions as an
//! [`Authenticated`]; it is asynchronous because a token may need the issuer's keys
//! fetched. [`Access::authorise`], the first line of every handler, then decides: the
//! role of the RPC, the tenant, and hands back the [`Call`]. Nothing here logs or echoes
//! a key or a token.

use crate::error::ApiError;
use crate::oidc::{Oidc, OidcConfig};
use crate::tenant::{TENANT_KEY, tenant_of};
use crate::trace::TraceContext;
use midoffice_domain::TenantId;
use midoffice_domain::contact::Channel;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tonic::Request;
use tonic::metadata::MetadataMap;

/// What a credential may do. A credential holds one or more roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// A channel's frontend (and a back office): start, complete, record, read contacts,
    /// contexts and the commitments worklist, feedback.
    Channel,
    /// Figures and the thermometer only.
    Dashboard,
    /// Tenant settings, explanations and erasure.
    Admin,
    /// The processing log.
    Privacy,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Channel, Role::Dashboard, Role::Admin, Role::Privacy];

    /// The name used in configuration and token claims.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Channel => "channel",
            Role::Dashboard => "dashboard",
            Role::Admin => "admin",
            Role::Privacy => "privacy",
        }
    }

    /// Parses a role's name.
    pub fn parse(raw: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == raw)
    }
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
    ListCommitments,
    EraseParty,
    GetTenantSettings,
    ReplaceTenantSettings,
    GetThermometer,
    GetFigures,
    GetFigureSeries,
    GetBenchmark,
    ListProcessingRecords,
    ListAuditRecords,
}

impl Rpc {
    /// Every RPC, for tests that walk them all.
    pub const ALL: [Rpc; 17] = [
        Rpc::StartContact,
        Rpc::CompleteContact,
        Rpc::RecordContact,
        Rpc::GetContact,
        Rpc::SubmitFeedback,
        Rpc::GetContext,
        Rpc::ListPartyContacts,
        Rpc::ListCommitments,
        Rpc::EraseParty,
        Rpc::GetTenantSettings,
        Rpc::ReplaceTenantSettings,
        Rpc::GetThermometer,
        Rpc::GetFigures,
        Rpc::GetFigureSeries,
        Rpc::GetBenchmark,
        Rpc::ListProcessingRecords,
        Rpc::ListAuditRecords,
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
            | Rpc::ListPartyContacts
            | Rpc::ListCommitments => Some(Role::Channel),
            Rpc::GetFigures | Rpc::GetFigureSeries | Rpc::GetBenchmark => Some(Role::Dashboard),
            Rpc::EraseParty | Rpc::GetTenantSettings | Rpc::ReplaceTenantSettings => {
                Some(Role::Admin)
            }
            Rpc::ListProcessingRecords | Rpc::ListAuditRecords => Some(Role::Privacy),
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
            Rpc::ListCommitments => "ListCommitments",
            Rpc::EraseParty => "EraseParty",
            Rpc::GetTenantSettings => "GetTenantSettings",
            Rpc::ReplaceTenantSettings => "ReplaceTenantSettings",
            Rpc::GetThermometer => "GetThermometer",
            Rpc::GetFigures => "GetFigures",
            Rpc::GetFigureSeries => "GetFigureSeries",
            Rpc::GetBenchmark => "GetBenchmark",
            Rpc::ListProcessingRecords => "ListProcessingRecords",
            Rpc::ListAuditRecords => "ListAuditRecords",
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
    /// The channels the credential is limited to; `None`: every channel.
    pub channels: Option<Vec<Channel>>,
    /// The RPC called, for the audit record.
    pub rpc: Rpc,
    /// When the call was authorised: the start of its processing.
    pub started_at: midoffice_domain::Instant,
    /// A public call (GetThermometer) by a caller without a dashboard credential for the
    /// tenant, on a server with configured access: it sees only what the tenant
    /// publishes (`TenantSettings::shows_publicly`).
    pub public: bool,
}

impl Call {
    /// PERMISSION_DENIED (`CHANNEL_NOT_GRANTED`) unless the credential may act for
    /// `channel`.
    pub fn check_channel(&self, channel: Channel) -> Result<(), ApiError> {
        match &self.channels {
            Some(allowed) if !allowed.contains(&channel) => {
                Err(ApiError::channel_not_granted(channel))
            }
            _ => Ok(()),
        }
    }
}

/// UNAUTHENTICATED: the call carries no credential.
pub const CREDENTIAL_MISSING: &str = "CREDENTIAL_MISSING";
/// UNAUTHENTICATED: GetThermometer without a dashboard credential, of a tenant that does
/// not publish its thermometer (or of no such tenant: the two answer alike).
pub const NOT_PUBLISHED: &str = "THERMOMETER_NOT_PUBLISHED";
/// UNAUTHENTICATED: the credential is unknown, malformed, expired or its signature fails.
pub const CREDENTIAL_INVALID: &str = "CREDENTIAL_INVALID";
/// PERMISSION_DENIED: the credential lacks the role the RPC needs.
pub const ROLE_NOT_GRANTED: &str = "ROLE_NOT_GRANTED";
/// PERMISSION_DENIED: `x-tenant` names a tenant the credential does not hold.
pub const TENANT_NOT_GRANTED: &str = "TENANT_NOT_GRANTED";
/// PERMISSION_DENIED: the credential is limited to other channels.
pub const CHANNEL_NOT_GRANTED: &str = "CHANNEL_NOT_GRANTED";

/// The metadata key of an API key sent on its own (instead of `authorization: Bearer`).
pub const API_KEY_HEADER: &str = "x-api-key";

/// What a credential grants: its tenants, roles and optionally channels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// At least one tenant.
    pub tenants: Vec<TenantId>,
    pub roles: Vec<Role>,
    /// `None`: every channel.
    pub channels: Option<Vec<Channel>>,
}

/// A configured API key: stored only as the SHA-256 hash of the key.
#[derive(Clone, Debug)]
pub struct ApiKey {
    /// The name, recorded as the subject of its calls.
    pub name: String,
    pub sha256: [u8; 32],
    pub grant: Grant,
}

/// A configured client certificate, by the SHA-256 fingerprint of its DER encoding.
#[derive(Clone, Debug)]
pub struct ClientCert {
    /// The name, recorded as the subject of its calls.
    pub name: String,
    pub sha256: [u8; 32],
    pub grant: Grant,
}

/// The configured credentials.
#[derive(Clone, Debug, Default)]
pub struct AccessConfig {
    pub keys: Vec<ApiKey>,
    pub client_certs: Vec<ClientCert>,
    pub oidc: Option<OidcConfig>,
}

impl AccessConfig {
    /// Whether any credential is configured.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.client_certs.is_empty() && self.oidc.is_none()
    }
}

/// Who a credential says the caller is.
#[derive(Clone, Debug)]
pub struct Principal {
    pub subject: String,
    pub grant: Grant,
}

/// What [`AuthLayer`] found on a request, for [`Access::authorise`].
#[derive(Clone, Debug)]
pub enum Authenticated {
    /// No credential came with the request.
    Nothing,
    /// A valid credential.
    Principal(Arc<Principal>),
    /// A credential that is not valid; the message never holds the credential.
    Refused(&'static str),
}

/// The configured form of [`Access`].
#[derive(Debug)]
pub struct Credentials {
    keys: Vec<ApiKey>,
    client_certs: Vec<ClientCert>,
    oidc: Option<Arc<Oidc>>,
}

/// How calls are authenticated.
#[derive(Clone, Debug, Default)]
pub enum Access {
    /// No credentials configured: every call is allowed, the tenant comes from
    /// `x-tenant` (default `default`). The binary serves this on loopback only.
    #[default]
    Development,
    /// Every call but the public ones needs a credential; the tenant comes from it.
    Configured(Arc<Credentials>),
}

/// The subject recorded for calls in development mode.
pub const DEVELOPMENT_SUBJECT: &str = "development (no credentials configured)";
/// The subject recorded for a public call (the thermometer) without credential.
pub const PUBLIC_SUBJECT: &str = "public";

/// The SHA-256 of an API key, as configured.
pub fn key_hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Equality of two hashes in time independent of where they differ.
fn same_hash(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// The prefix of keys made by `midoffice key new`.
pub const KEY_PREFIX: &str = "mo_";

/// A new API key: the prefix and 256 random bits in hex.
pub fn new_key() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{KEY_PREFIX}{}", hex::encode(bytes)))
}

impl Access {
    /// Development access: everything allowed, on loopback.
    pub fn development() -> Self {
        Access::Development
    }

    /// Access with configured credentials; with none, development access.
    pub fn configured(config: AccessConfig) -> Self {
        if config.is_empty() {
            return Access::Development;
        }
        Access::Configured(Arc::new(Credentials {
            keys: config.keys,
            client_certs: config.client_certs,
            oidc: config.oidc.map(|c| Arc::new(Oidc::new(c))),
        }))
    }

    /// Whether credentials are required.
    pub fn requires_credentials(&self) -> bool {
        matches!(self, Access::Configured(_))
    }

    /// Fetches the OIDC issuer's keys ahead of the first token, if OIDC is configured;
    /// a failure is logged and retried when a token comes.
    pub async fn warm_up(&self) {
        if let Access::Configured(c) = self
            && let Some(oidc) = &c.oidc
        {
            oidc.warm_up().await;
        }
    }

    /// Reads the credential of a request: `authorization: Bearer …` (an API key or an
    /// OIDC token), `x-api-key`, or else the TLS client certificate.
    pub async fn authenticate(
        &self,
        headers: &http::HeaderMap,
        peer_certs: Option<&[Vec<u8>]>,
    ) -> Authenticated {
        let Access::Configured(c) = self else {
            return Authenticated::Nothing;
        };
        let mut presented = None;
        for value in headers.get_all(http::header::AUTHORIZATION) {
            if presented.is_some() {
                return Authenticated::Refused("send one credential, not several");
            }
            let Some(token) = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer ").or(v.strip_prefix("bearer ")))
                .map(str::trim)
                .filter(|t| !t.is_empty())
            else {
                return Authenticated::Refused(
                    "the authorization header must be `Bearer <API key or token>`",
                );
            };
            presented = Some(token.to_owned());
        }
        for value in headers.get_all(API_KEY_HEADER) {
            if presented.is_some() {
                return Authenticated::Refused("send one credential, not several");
            }
            let Ok(key) = value.to_str() else {
                return Authenticated::Refused("the API key is not valid");
            };
            presented = Some(key.trim().to_owned());
        }
        if let Some(token) = presented {
            // An OIDC token is a JWS in compact form: three parts; a key has no dots.
            if token.matches('.').count() == 2 {
                return match &c.oidc {
                    Some(oidc) => match oidc.validate(&token).await {
                        Ok(p) => Authenticated::Principal(Arc::new(p)),
                        Err(why) => Authenticated::Refused(why),
                    },
                    None => Authenticated::Refused("no token issuer is configured"),
                };
            }
            let hash = key_hash(&token);
            // Compare with every key, so the time does not tell which one is near.
            let mut found = None;
            for key in &c.keys {
                if same_hash(&key.sha256, &hash) && found.is_none() {
                    found = Some(key);
                }
            }
            return match found {
                Some(key) => Authenticated::Principal(Arc::new(Principal {
                    subject: format!("key:{}", key.name),
                    grant: key.grant.clone(),
                })),
                None => Authenticated::Refused("the API key is not valid"),
            };
        }
        if let Some(leaf) = peer_certs.and_then(<[Vec<u8>]>::first) {
            let fingerprint: [u8; 32] = Sha256::digest(leaf).into();
            let mut found = None;
            for cert in &c.client_certs {
                if same_hash(&cert.sha256, &fingerprint) && found.is_none() {
                    found = Some(cert);
                }
            }
            return match found {
                Some(cert) => Authenticated::Principal(Arc::new(Principal {
                    subject: format!("certificate:{}", cert.name),
                    grant: cert.grant.clone(),
                })),
                None => Authenticated::Refused("the client certificate is not configured"),
            };
        }
        Authenticated::Nothing
    }

    /// Authenticates the call and checks that its credential may call `rpc`. A refusal
    /// is logged with its reason and the RPC (never the credential).
    pub fn authorise<T>(&self, request: &Request<T>, rpc: Rpc) -> Result<Call, ApiError> {
        let result = self.decide(request, rpc);
        if let Ok(call) = &result {
            // The call's span (the call layer's, when it is the current one) names the
            // tenant, for the access log and the trace.
            tracing::Span::current().record("tenant", call.tenant.as_str());
        }
        match &result {
            Err(ApiError::Unauthenticated { reason, message }) => {
                tracing::warn!(rpc = rpc.name(), reason, why = %message, "call refused")
            }
            Err(ApiError::PermissionDenied { reason, .. }) => {
                let subject = match request.extensions().get::<Authenticated>() {
                    Some(Authenticated::Principal(p)) => p.subject.as_str(),
                    _ => "",
                };
                tracing::warn!(rpc = rpc.name(), reason, subject, "call refused")
            }
            _ => {}
        }
        result
    }

    fn decide<T>(&self, request: &Request<T>, rpc: Rpc) -> Result<Call, ApiError> {
        let started_at = chrono::Utc::now();
        // The call layer made it once for the call (`TraceContext::for_call`); a handler
        // called without that layer continues the caller's trace itself.
        let trace = request
            .extensions()
            .get::<TraceContext>()
            .copied()
            .unwrap_or_else(|| TraceContext::continued(request.metadata()));
        let metadata = request.metadata();
        let Access::Configured(_) = self else {
            return Ok(Call {
                tenant: tenant_of(metadata)?,
                subject: DEVELOPMENT_SUBJECT.to_owned(),
                trace,
                channels: None,
                rpc,
                started_at,
                public: false,
            });
        };
        let Some(role) = rpc.role() else {
            // Public: no credential needed, but the tenant must be named.
            let tenant = named_tenant(metadata)?.ok_or_else(|| {
                ApiError::invalid(TENANT_KEY, "name the tenant whose figures to show")
            })?;
            // A dashboard credential for the tenant sees every norm; anyone else what the
            // tenant publishes.
            let dashboard = match request.extensions().get::<Authenticated>() {
                Some(Authenticated::Principal(p))
                    if p.grant.roles.contains(&Role::Dashboard)
                        && p.grant.tenants.contains(&tenant) =>
                {
                    Some(p.subject.clone())
                }
                _ => None,
            };
            return Ok(Call {
                tenant,
                public: dashboard.is_none(),
                subject: dashboard.unwrap_or_else(|| PUBLIC_SUBJECT.to_owned()),
                trace,
                channels: None,
                rpc,
                started_at,
            });
        };
        let principal = match request.extensions().get::<Authenticated>() {
            Some(Authenticated::Principal(p)) => p,
            Some(Authenticated::Refused(why)) => {
                return Err(ApiError::Unauthenticated {
                    reason: CREDENTIAL_INVALID,
                    message: format!("the credential is not valid: {why}"),
                });
            }
            Some(Authenticated::Nothing) | None => {
                return Err(ApiError::Unauthenticated {
                    reason: CREDENTIAL_MISSING,
                    message: "this call needs a credential: `authorization: Bearer <API key or token>`, or a client certificate".to_owned(),
                });
            }
        };
        if !principal.grant.roles.contains(&role) {
            return Err(ApiError::PermissionDenied {
                reason: ROLE_NOT_GRANTED,
                message: format!(
                    "{} needs the role {}, which this credential does not have",
                    rpc.name(),
                    role.as_str()
                ),
            });
        }
        let tenants = &principal.grant.tenants;
        let tenant = match (named_tenant(metadata)?, tenants.as_slice()) {
            (Some(named), _) if tenants.contains(&named) => named,
            (Some(_), _) => {
                return Err(ApiError::PermissionDenied {
                    reason: TENANT_NOT_GRANTED,
                    message: "this credential does not act for the tenant in x-tenant".to_owned(),
                });
            }
            (None, [only]) => only.clone(),
            (None, _) => {
                return Err(ApiError::invalid(
                    TENANT_KEY,
                    "this credential acts for several tenants: name one",
                ));
            }
        };
        Ok(Call {
            tenant,
            subject: principal.subject.clone(),
            trace,
            channels: principal.grant.channels.clone(),
            rpc,
            started_at,
            public: false,
        })
    }
}

/// The tenant `x-tenant` names, if any (invalid or repeated: INVALID_ARGUMENT).
fn named_tenant(metadata: &MetadataMap) -> Result<Option<TenantId>, ApiError> {
    if metadata.get(TENANT_KEY).is_none() {
        return Ok(None);
    }
    tenant_of(metadata).map(Some)
}

/// The tower layer that authenticates every request before it reaches a service.
#[derive(Clone, Debug)]
pub struct AuthLayer {
    access: Access,
}

impl AuthLayer {
    pub fn new(access: Access) -> Self {
        Self { access }
    }
}

impl<S> tower_layer::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            access: self.access.clone(),
            inner,
        }
    }
}

/// See [`AuthLayer`].
#[derive(Clone, Debug)]
pub struct AuthService<S> {
    access: Access,
    inner: S,
}

type TlsInfo = tonic::transport::server::TlsConnectInfo<tonic::transport::server::TcpConnectInfo>;

/// The address of the peer a request came from (over TLS or not).
pub(crate) fn peer_addr(extensions: &http::Extensions) -> Option<std::net::SocketAddr> {
    use tonic::transport::server::TcpConnectInfo;
    extensions
        .get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .or_else(|| {
            extensions
                .get::<TlsInfo>()
                .and_then(|i| i.get_ref().remote_addr())
        })
}

/// Whether the request came over TLS (this server's own).
pub(crate) fn over_tls(extensions: &http::Extensions) -> bool {
    extensions.get::<TlsInfo>().is_some()
}

/// The TLS client certificates of the connection a request came on, DER, the leaf first.
pub(crate) fn peer_certs(extensions: &http::Extensions) -> Option<Vec<Vec<u8>>> {
    extensions
        .get::<TlsInfo>()
        .and_then(TlsInfo::peer_certs)
        .map(|certs| certs.iter().map(|c| c.as_ref().to_vec()).collect())
}

impl<S, B> tower_service::Service<http::Request<B>> for AuthService<S>
where
    S: tower_service::Service<http::Request<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The clone is the one made ready; the ready one goes to this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let access = self.access.clone();
        Box::pin(async move {
            if access.requires_credentials() {
                let certs = peer_certs(request.extensions());
                let found = access
                    .authenticate(request.headers(), certs.as_deref())
                    .await;
                request.extensions_mut().insert(found);
            }
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(tenants: &[&str], roles: &[Role]) -> Grant {
        Grant {
            tenants: tenants
                .iter()
                .map(|t| TenantId::parse(t).unwrap())
                .collect(),
            roles: roles.to_vec(),
            channels: None,
        }
    }

    #[test]
    fn new_keys_are_256_random_bits_and_hash_as_configured() {
        let a = new_key().unwrap();
        let b = new_key().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), KEY_PREFIX.len() + 64);
        assert!(same_hash(&key_hash(&a), &key_hash(&a)));
        assert!(!same_hash(&key_hash(&a), &key_hash(&b)));
    }

    #[tokio::test]
    async fn a_key_is_found_by_its_hash_only() {
        let key = new_key().unwrap();
        let access = Access::configured(AccessConfig {
            keys: vec![ApiKey {
                name: "kcc".into(),
                sha256: key_hash(&key),
                grant: grant(&["a"], &[Role::Channel]),
            }],
            ..Default::default()
        });
        let mut headers = http::HeaderMap::new();
        headers.insert("authorization", format!("Bearer {key}").parse().unwrap());
        let Authenticated::Principal(p) = access.authenticate(&headers, None).await else {
            panic!("the key was not accepted")
        };
        assert_eq!(p.subject, "key:kcc");
        headers.insert("authorization", "Bearer mo_00".parse().unwrap());
        assert!(matches!(
            access.authenticate(&headers, None).await,
            Authenticated::Refused(_)
        ));
        assert!(matches!(
            access.authenticate(&http::HeaderMap::new(), None).await,
            Authenticated::Nothing
        ));
    }

    #[test]
    fn a_channel_limit_refuses_other_channels() {
        let call = Call {
            tenant: TenantId::default_tenant(),
            subject: "x".into(),
            trace: TraceContext::continued(&MetadataMap::new()),
            channels: Some(vec![Channel::Phone]),
            rpc: Rpc::StartContact,
            started_at: chrono::Utc::now(),
            public: false,
        };
        assert!(call.check_channel(Channel::Phone).is_ok());
        let s = tonic::Status::from(call.check_channel(Channel::Web).unwrap_err());
        assert_eq!(s.code(), tonic::Code::PermissionDenied);
    }

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
