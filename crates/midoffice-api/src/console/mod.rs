//! The reference console: a small server-rendered agent's screen at
//! `/console/{tenant}` on the gRPC port (see `docs/console.md`).
//!
//! One implementation: every screen calls the gRPC services through the generated
//! tonic clients over the *inner* tower service of the server (the layers below this
//! one: gRPC-Web, the credential check, the budgets and the services), never the
//! store. Each call carries the caller's credential headers, the tenant of the path as
//! `x-tenant`, the extensions of the page request (peer address, TLS information) and
//! the page's trace as its `traceparent` (each call a span of its own), so access, validation, the processing log and the errors are
//! exactly the gRPC path's own.
//!
//! Access is the dashboard's, with the `channel` role: a credential (bearer, `x-api-key`
//! or TLS client certificate) granting `channel` for the tenant; in development mode
//! loopback only, and not through a proxy.
//!
//! Forms are POSTs, answered with `303 See Other` to a GET (post/redirect/get); a form
//! the API refuses is shown again with its values and each field violation next to its
//! field (`400`). A POST is refused (`403`) when `Sec-Fetch-Site` is present and not
//! `same-origin`, when `Origin` is present and is not this host, or when its hidden
//! token (a keyed MAC over the tenant, an issue time and a nonce) is missing, changed or
//! older than [`TOKEN_LIFETIME`]. The token's nonce is the write's `request_id`, so a
//! form sent twice writes once.
//!
//! The identifiers of the citizen looked up never go into a URL: they are kept, sealed
//! (ChaCha20-Poly1305 with a key derived from the deployment secret), in an `HttpOnly`,
//! `SameSite=Strict` cookie scoped to the tenant's console, and read back by the
//! klantbeeld and the start and record forms.

pub mod html;

use crate::auth::{API_KEY_HEADER, Access, Role};
use crate::page::{below, refuse, respond};
use crate::pb;
use crate::pb::commitment_service_client::CommitmentServiceClient;
use crate::pb::contact_service_client::ContactServiceClient;
use crate::pb::party_service_client::PartyServiceClient;
use crate::tenant::TENANT_KEY;
use crate::trace::{TRACEPARENT, TraceContext};
use html::{Form, Screen};
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use midoffice_domain::TenantId;
use midoffice_domain::identifier::Pseudonymiser;
use ring::aead;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::Semaphore;
use tonic::body::Body;

/// The console's path; a tenant's console is below it.
pub const PREFIX: &str = "/console";
/// How long a form's token is accepted.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// The most bytes of a form body.
pub const MAX_FORM_BYTES: usize = 64 * 1024;
/// Screens computed at one time; more wait at most [`WAIT`], then 503.
const CALLS: usize = 8;
const WAIT: Duration = Duration::from_secs(2);
/// The longest a screen may take (its gRPC calls have their own deadlines too).
const DEADLINE: Duration = Duration::from_secs(20);
/// The cookie holding the sealed identifiers of the citizen looked up.
pub const COOKIE: &str = "midoffice_console";
/// Contacts per page of the history.
const HISTORY_PAGE: i32 = 10;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The console's keys and access.
pub struct Console {
    access: Access,
    pseudonymiser: Pseudonymiser,
    seal: aead::LessSafeKey,
    budget: Semaphore,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console").finish_non_exhaustive()
    }
}

impl Console {
    /// The console with the server's access and its deployment secret (through the
    /// pseudonymiser: form tokens are its keyed fingerprints, the cookie key is one).
    pub fn new(access: Access, pseudonymiser: Pseudonymiser) -> Self {
        let derived = pseudonymiser.fingerprint("console.seal-key", b"v1");
        let bytes = hex::decode(derived).unwrap_or_else(|_| vec![0; 32]);
        let key = aead::UnboundKey::new(&aead::CHACHA20_POLY1305, &bytes[..32])
            .unwrap_or_else(|_| unreachable!("a 32-byte ChaCha20-Poly1305 key"));
        Self {
            access,
            pseudonymiser,
            seal: aead::LessSafeKey::new(key),
            budget: Semaphore::new(CALLS),
        }
    }

    /// A fresh form token for `tenant`: `issued.nonce.mac`.
    fn token(&self, tenant: &TenantId) -> String {
        let issued = chrono::Utc::now().timestamp();
        let mut nonce = [0u8; 16];
        if getrandom::fill(&mut nonce).is_err() {
            // Without randomness no token can be trusted; a form with this one is refused.
            return String::new();
        }
        let nonce = hex::encode(nonce);
        let mac = self.token_mac(tenant, issued, &nonce);
        format!("{issued}.{nonce}.{mac}")
    }

    fn token_mac(&self, tenant: &TenantId, issued: i64, nonce: &str) -> String {
        let text = format!("{}\n{issued}\n{nonce}", tenant.as_str());
        let mut mac = self
            .pseudonymiser
            .fingerprint("console.form", text.as_bytes());
        mac.truncate(32);
        mac
    }

    /// The nonce of a valid token of `tenant`; `None` when it is missing, changed, of
    /// another tenant or too old.
    fn check_token(&self, tenant: &TenantId, token: &str) -> Option<String> {
        let mut parts = token.split('.');
        let (issued, nonce, mac) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || nonce.len() != 32 {
            return None;
        }
        let issued: i64 = issued.parse().ok()?;
        let now = chrono::Utc::now().timestamp();
        if issued > now + 60 || now - issued > TOKEN_LIFETIME.as_secs() as i64 {
            return None;
        }
        let expected = self.token_mac(tenant, issued, nonce);
        let same = expected.len() == mac.len()
            && expected
                .bytes()
                .zip(mac.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        same.then(|| nonce.to_owned())
    }

    /// The identifiers sealed for `tenant`'s cookie.
    fn seal(&self, tenant: &TenantId, ids: &pb::Identifiers) -> Option<String> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).ok()?;
        let mut data = [&ids.bsn, &ids.kvk, &ids.email, &ids.phone]
            .iter()
            .map(|s| s.replace('\n', " "))
            .collect::<Vec<_>>()
            .join("\n")
            .into_bytes();
        self.seal
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(tenant.as_str().as_bytes()),
                &mut data,
            )
            .ok()?;
        let mut out = nonce.to_vec();
        out.extend(data);
        Some(base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            out,
        ))
    }

    /// The identifiers of `tenant`'s cookie, if it is there and intact.
    fn unseal(&self, tenant: &TenantId, headers: &http::HeaderMap) -> Option<pb::Identifiers> {
        let value = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='))?;
        let raw = base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            value.trim(),
        )
        .ok()?;
        if raw.len() < 12 {
            return None;
        }
        let (nonce, sealed) = raw.split_at(12);
        let mut sealed = sealed.to_vec();
        let nonce = aead::Nonce::try_assume_unique_for_key(nonce).ok()?;
        let plain = self
            .seal
            .open_in_place(
                nonce,
                aead::Aad::from(tenant.as_str().as_bytes()),
                &mut sealed,
            )
            .ok()?;
        let text = std::str::from_utf8(plain).ok()?;
        let mut f = text.split('\n').map(str::to_owned);
        Some(pb::Identifiers {
            bsn: f.next()?,
            kvk: f.next()?,
            email: f.next()?,
            phone: f.next()?,
        })
    }
}

/// The tower layer of the console; see the module.
#[derive(Clone, Debug)]
pub struct ConsoleLayer {
    console: Arc<Console>,
}

impl ConsoleLayer {
    pub fn new(console: Console) -> Self {
        Self {
            console: Arc::new(console),
        }
    }
}

impl<S> tower_layer::Layer<S> for ConsoleLayer {
    type Service = ConsoleService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ConsoleService {
            console: self.console.clone(),
            inner,
        }
    }
}

/// See [`ConsoleLayer`].
#[derive(Clone, Debug)]
pub struct ConsoleService<S> {
    console: Arc<Console>,
    inner: S,
}

impl<S> tower_service::Service<Request<Body>> for ConsoleService<S>
where
    S: tower_service::Service<Request<Body>, Response = Response<Body>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError> + Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let clone = self.inner.clone();
        if below(request.uri().path(), PREFIX).is_none() {
            let mut inner = std::mem::replace(&mut self.inner, clone);
            return Box::pin(inner.call(request));
        }
        let console = self.console.clone();
        Box::pin(async move { Ok(answer(console, clone, request).await) })
    }
}

/// A page's answer with the console's headers: HTML, its style by hash, no script,
/// forms to this origin only, never framed.
fn html_answer(status: StatusCode, screen: Screen) -> Response<Body> {
    let mut r = respond(status, "text/html; charset=utf-8", screen.page);
    let hash = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        Sha256::digest(screen.style.as_bytes()),
    );
    let csp = format!(
        "default-src 'none'; style-src 'sha256-{hash}'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    // Not `no-referrer` as the other pages: with it a browser sends `Origin: null` on
    // the console's own forms. A Referer goes to this origin only, and no URL of the
    // console holds an identifier.
    r.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    r
}

/// `303 See Other` to `location` (a path of this console).
fn see_other(location: &str) -> Response<Body> {
    let mut r = refuse(StatusCode::SEE_OTHER, String::new());
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// Whether the request may use `tenant`'s console: the `channel` role for the tenant
/// ([`crate::page::check_access`]).
async fn check(
    access: &Access,
    headers: &http::HeaderMap,
    extensions: &http::Extensions,
    tenant: &TenantId,
) -> Result<(), Response<Body>> {
    let certs = crate::auth::peer_certs(extensions);
    let peer = crate::auth::peer_addr(extensions);
    crate::page::check_access(
        access,
        (headers, certs.as_deref(), peer),
        tenant,
        Role::Channel,
        "console",
    )
    .await
}

/// Whether a POST comes from this console's own pages, as far as the browser says:
/// `Sec-Fetch-Site` (when sent) is `same-origin`, and `Origin` (when sent) is this host
/// (`Host`, or over HTTP/2 the request's `:authority`).
fn same_origin(headers: &http::HeaderMap, authority: Option<&str>) -> bool {
    if let Some(site) = headers.get("sec-fetch-site")
        && site.as_bytes() != b"same-origin"
    {
        return false;
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or(authority)
            .unwrap_or("");
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let Some(rest) = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
        else {
            return false;
        };
        if host.is_empty() || !rest.eq_ignore_ascii_case(host) {
            return false;
        }
    }
    true
}

/// Percent-decoded `name=value` pairs of a query or a form body.
pub(crate) fn pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            Some((decode(n)?, decode(v)?))
        })
        .collect()
}

fn decode(part: &str) -> Option<String> {
    let bytes = part.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Percent-encodes a value for a query.
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The gRPC side of one page request: clients over the inner service, and what each
/// call carries of the page request.
struct Calls<S> {
    inner: S,
    tenant: TenantId,
    headers: Vec<(http::HeaderName, HeaderValue)>,
    extensions: http::Extensions,
}

impl<S> Calls<S>
where
    S: tower_service::Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError> + Send + 'static,
{
    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut metadata = http::HeaderMap::new();
        for (name, value) in &self.headers {
            metadata.append(name.clone(), value.clone());
        }
        if let Ok(v) = HeaderValue::from_str(self.tenant.as_str()) {
            metadata.insert(TENANT_KEY, v);
        }
        // Each call is a span of its own in the page's trace (the processing log keeps
        // one record per call's span): the page's context is its parent, not its own.
        let mut extensions = self.extensions.clone();
        if let Some(page) = extensions.remove::<TraceContext>()
            && let Ok(v) = HeaderValue::from_str(&page.traceparent())
        {
            metadata.insert(TRACEPARENT, v);
        }
        tonic::Request::from_parts(
            tonic::metadata::MetadataMap::from_headers(metadata),
            extensions,
            message,
        )
    }

    fn contacts(&self) -> ContactServiceClient<S> {
        ContactServiceClient::new(self.inner.clone())
    }

    fn parties(&self) -> PartyServiceClient<S> {
        PartyServiceClient::new(self.inner.clone())
    }

    fn commitments(&self) -> CommitmentServiceClient<S> {
        CommitmentServiceClient::new(self.inner.clone())
    }
}

/// The field violations of an INVALID_ARGUMENT status: `(field, description)`.
fn violations(status: &tonic::Status) -> Vec<(String, String)> {
    use tonic_types::StatusExt;
    let mut out: Vec<(String, String)> = status
        .get_details_bad_request()
        .map(|b| {
            b.field_violations
                .into_iter()
                .map(|v| (v.field, v.description))
                .collect()
        })
        .unwrap_or_default();
    if out.is_empty() {
        out.push((String::new(), status.message().to_owned()));
    }
    out
}

/// Whether a write was refused because its `request_id` (the form token's nonce) was
/// used before: the same form sent again (a double click, a reload), which has written
/// already.
fn sent_before(status: &tonic::Status) -> bool {
    use tonic_types::StatusExt;
    status.code() == tonic::Code::InvalidArgument
        && status.get_details_bad_request().is_some_and(|b| {
            !b.field_violations.is_empty()
                && b.field_violations.iter().all(|v| v.field == "request_id")
        })
}

/// The page for a status other than a form's INVALID_ARGUMENT.
fn failed(status: &tonic::Status, tenant: &TenantId) -> Response<Body> {
    use tonic::Code;
    let code = match status.code() {
        Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::FailedPrecondition | Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::Unavailable | Code::ResourceExhausted | Code::DeadlineExceeded => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut r = html_answer(code, html::failure(tenant, status));
    if code == StatusCode::SERVICE_UNAVAILABLE {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    }
    r
}

/// Reads a form body (at most [`MAX_FORM_BYTES`]).
async fn form_body(body: Body) -> Option<Vec<(String, String)>> {
    use http_body_util::BodyExt;
    let collected = http_body_util::Limited::new(body, MAX_FORM_BYTES)
        .collect()
        .await
        .ok()?;
    let bytes = collected.to_bytes();
    let text = std::str::from_utf8(&bytes).ok()?;
    Some(pairs(text))
}

/// The answer to a request below [`PREFIX`].
async fn answer<S>(console: Arc<Console>, inner: S, request: Request<Body>) -> Response<Body>
where
    S: tower_service::Service<Request<Body>, Response = Response<Body>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError> + Send + 'static,
{
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    let rest = below(path, PREFIX).unwrap_or("");
    let segments: Vec<&str> = rest.split('/').collect();
    let not_found = || refuse(StatusCode::NOT_FOUND, crate::page::NOT_FOUND.to_owned());
    let Some(Ok(tenant)) = segments.first().map(|t| TenantId::parse(t)) else {
        return not_found();
    };
    if let Err(r) = check(&console.access, &parts.headers, &parts.extensions, &tenant).await {
        return r;
    }
    let route: Vec<&str> = segments[1..]
        .iter()
        .copied()
        .filter(|s| !s.is_empty())
        .collect();
    let post = parts.method == Method::POST;
    let known_post = matches!(
        route.as_slice(),
        ["lookup"] | ["start"] | ["record"] | ["callback"] | ["contact", _, "complete"]
    );
    let known_get = matches!(
        route.as_slice(),
        [] | ["new"] | ["worklist"] | ["party", _] | ["contact", _]
    );
    if !(known_get || known_post) {
        return not_found();
    }
    let allowed = if known_post { "POST" } else { "GET, HEAD" };
    let method_ok = if known_post {
        post
    } else {
        parts.method == Method::GET || parts.method == Method::HEAD
    };
    if !method_ok {
        let mut r = refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "Deze methode is hier niet toegestaan.".to_owned(),
        );
        if let Ok(v) = HeaderValue::from_str(allowed) {
            r.headers_mut().insert(header::ALLOW, v);
        }
        return r;
    }
    let mut form = Vec::new();
    let mut nonce = String::new();
    if post {
        let authority = parts.uri.authority().map(|a| a.as_str());
        if !same_origin(&parts.headers, authority) {
            tracing::warn!(reason = "CROSS_SITE", "console form refused");
            return refuse(
                StatusCode::FORBIDDEN,
                "Dit formulier komt niet van deze console. / This form does not come from \
                 this console."
                    .to_owned(),
            );
        }
        let Some(read) = form_body(body).await else {
            return refuse(
                StatusCode::BAD_REQUEST,
                "Het formulier kan niet gelezen worden. / The form cannot be read.".to_owned(),
            );
        };
        form = read;
        let token = field(&form, "csrf");
        match console.check_token(&tenant, &token) {
            Some(n) => nonce = n,
            None => {
                tracing::warn!(reason = "FORM_TOKEN", "console form refused");
                return refuse(
                    StatusCode::FORBIDDEN,
                    "Het formulier is verlopen of niet van deze console; laad de pagina \
                     opnieuw. / The form has expired or is not this console's; reload the \
                     page."
                        .to_owned(),
                );
            }
        }
    }
    let Ok(Ok(_permit)) = tokio::time::timeout(WAIT, console.budget.acquire()).await else {
        tracing::warn!(page = "console", "the console's budget stayed full");
        return busy();
    };
    // What each gRPC call carries of this request.
    let mut headers = Vec::new();
    // (Not `traceparent`: each call continues the page's own span, see `Calls::request`.)
    for name in [header::AUTHORIZATION.as_str(), API_KEY_HEADER] {
        for value in parts.headers.get_all(name) {
            if let Ok(n) = http::HeaderName::from_bytes(name.as_bytes()) {
                headers.push((n, value.clone()));
            }
        }
    }
    let calls = Calls {
        inner,
        tenant: tenant.clone(),
        headers,
        extensions: parts.extensions.clone(),
    };
    let query = parts.uri.query().map(pairs).unwrap_or_default();
    let ctx = Ctx {
        console: &console,
        calls: &calls,
        tenant: &tenant,
        cookie: console.unseal(&tenant, &parts.headers),
        query,
        form,
        nonce,
        secure: secure_cookie(&console.access, &parts.extensions),
    };
    let work = async {
        match route.as_slice() {
            [] => ctx.home(),
            ["lookup"] => ctx.lookup().await,
            ["new"] => ctx.new_citizen(),
            ["start"] => ctx.start().await,
            ["record"] => ctx.record().await,
            ["callback"] => ctx.callback().await,
            ["party", id] => ctx.party(id).await,
            ["contact", id] => ctx.contact(id).await,
            ["contact", id, "complete"] => ctx.complete(id).await,
            ["worklist"] => ctx.worklist().await,
            _ => not_found(),
        }
    };
    match tokio::time::timeout(DEADLINE, work).await {
        Ok(r) => r,
        Err(_) => {
            tracing::warn!(page = "console", "a console page took too long");
            busy()
        }
    }
}

fn busy() -> Response<Body> {
    let mut r = refuse(
        StatusCode::SERVICE_UNAVAILABLE,
        "De console is even te druk; probeer het zo opnieuw. / The console is busy; try again \
         shortly."
            .to_owned(),
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    r
}

/// The value of a form or query field; empty when absent.
fn field(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default()
}

/// One page request being answered.
struct Ctx<'a, S> {
    console: &'a Console,
    calls: &'a Calls<S>,
    tenant: &'a TenantId,
    /// The identifiers of the citizen looked up, from the cookie.
    cookie: Option<pb::Identifiers>,
    query: Vec<(String, String)>,
    form: Vec<(String, String)>,
    /// The nonce of the form's token (POST only): the write's `request_id`.
    nonce: String,
    /// Whether the cookie is `Secure`: see [`secure_cookie`].
    secure: bool,
}

/// Whether the console's cookie gets `Secure`: always, except for plain HTTP from
/// loopback in development mode (the one case a browser may be on `http://`; behind a
/// proxy that ends TLS the request is plain HTTP, but credentials are configured).
fn secure_cookie(access: &Access, extensions: &http::Extensions) -> bool {
    crate::auth::over_tls(extensions)
        || access.requires_credentials()
        || !crate::auth::peer_addr(extensions).is_some_and(|a| a.ip().is_loopback())
}

fn now() -> prost_types::Timestamp {
    let now = chrono::Utc::now();
    // To the microsecond (what both databases keep): a completion and the next start a
    // second apart must not look simultaneous.
    prost_types::Timestamp {
        seconds: now.timestamp(),
        nanos: (now.timestamp_subsec_micros() * 1000) as i32,
    }
}

fn channel_of(value: &str) -> i32 {
    pb::Channel::from_str_name(value).map_or(0, |c| c as i32)
}

fn outcome_of(value: &str) -> i32 {
    pb::Outcome::from_str_name(value).map_or(0, |c| c as i32)
}

/// A `datetime-local` value (`2026-12-08T10:00`) in Europe/Amsterdam (the same offset as
/// Europe/Brussels) as a timestamp; `Err` when it cannot be read.
fn local_time(value: &str) -> Result<Option<prost_types::Timestamp>, ()> {
    if value.is_empty() {
        return Ok(None);
    }
    let naive = chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| ())?;
    let local = naive
        .and_local_timezone(chrono_tz::Europe::Amsterdam)
        .earliest()
        .ok_or(())?;
    Ok(Some(prost_types::Timestamp {
        seconds: local.timestamp(),
        nanos: 0,
    }))
}

impl<S> Ctx<'_, S>
where
    S: tower_service::Service<Request<Body>, Response = Response<Body>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError> + Send + 'static,
{
    fn base(&self) -> String {
        format!("{PREFIX}/{}", self.tenant.as_str())
    }

    fn new_form(&self, values: &[(String, String)]) -> Form {
        Form {
            token: self.console.token(self.tenant),
            values: values.to_vec(),
            errors: Vec::new(),
        }
    }

    fn refused_form(&self, errors: Vec<(String, String)>) -> Form {
        let mut form = self.new_form(&self.form);
        form.errors = errors;
        form
    }

    fn home(&self) -> Response<Body> {
        html_answer(
            StatusCode::OK,
            html::home(self.tenant, &self.new_form(&[]), None),
        )
    }

    fn identifiers_of(&self, pairs: &[(String, String)]) -> pb::Identifiers {
        pb::Identifiers {
            bsn: field(pairs, "identifiers.bsn"),
            kvk: String::new(),
            email: field(pairs, "identifiers.email"),
            phone: field(pairs, "identifiers.phone"),
        }
    }

    async fn lookup(&self) -> Response<Body> {
        let ids = self.identifiers_of(&self.form);
        let asked = pb::GetContextRequest {
            identifiers: Some(ids.clone()),
            as_of: None,
        };
        let answer = self
            .calls
            .parties()
            .get_context(self.calls.request(asked))
            .await;
        let context = match answer {
            Ok(r) => r.into_inner().context.unwrap_or_default(),
            Err(s) if s.code() == tonic::Code::InvalidArgument => {
                // The form again, without the BSN typed (it is not sent back).
                let mut form = self.refused_form(violations(&s));
                form.values.retain(|(n, _)| n != "identifiers.bsn");
                return html_answer(
                    StatusCode::BAD_REQUEST,
                    html::home(self.tenant, &form, None),
                );
            }
            Err(s) => return failed(&s, self.tenant),
        };
        let party = context.party.unwrap_or_default();
        let status = pb::PartyStatus::try_from(party.status).unwrap_or_default();
        if status == pb::PartyStatus::Ambiguous {
            return html_answer(
                StatusCode::OK,
                html::home(
                    self.tenant,
                    &self.new_form(&[]),
                    Some(html::Notice::Ambiguous),
                ),
            );
        }
        let Some(sealed) = self.console.seal(self.tenant, &ids) else {
            return busy();
        };
        let location = if party.id.is_empty() {
            format!("{}/new", self.base())
        } else {
            format!("{}/party/{}", self.base(), party.id)
        };
        let mut r = see_other(&location);
        let secure = if self.secure { "; Secure" } else { "" };
        let cookie = format!(
            "{COOKIE}={sealed}; Path={}; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            self.base(),
            TOKEN_LIFETIME.as_secs()
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            r.headers_mut().insert(header::SET_COOKIE, v);
        }
        r
    }

    fn new_citizen(&self) -> Response<Body> {
        let known = self.cookie.is_some();
        html_answer(
            StatusCode::OK,
            html::new_citizen(self.tenant, known, &self.new_form(&[]), &self.new_form(&[])),
        )
    }

    /// The form answers for a write that needs the citizen looked up.
    fn not_looked_up(&self) -> Response<Body> {
        html_answer(
            StatusCode::BAD_REQUEST,
            html::home(
                self.tenant,
                &self.new_form(&[]),
                Some(html::Notice::LookUpFirst),
            ),
        )
    }

    fn start_of(&self, ids: pb::Identifiers, at: prost_types::Timestamp) -> pb::ContactStart {
        pb::ContactStart {
            channel: channel_of(&field(&self.form, "start.channel")),
            direction: 0,
            started_at: Some(at),
            identifiers: Some(ids),
            topic: field(&self.form, "start.topic"),
            case_id: String::new(),
            case_reference: String::new(),
            department: field(&self.form, "start.department"),
        }
    }

    /// The completion of the form, and the violations the console found itself (a due
    /// time it cannot read).
    /// The contact is answered when it starts (an agent at the counter or on the phone
    /// answers when the contact starts; the console starts a contact when the agent
    /// takes it); an ABANDONED contact never is.
    fn completion_of(
        &self,
        started: prost_types::Timestamp,
        ended: prost_types::Timestamp,
    ) -> (pb::ContactCompletion, Vec<(String, String)>) {
        let f = &self.form;
        let outcome = outcome_of(&field(f, "completion.outcome"));
        let answered = (outcome != pb::Outcome::Abandoned as i32).then_some(started);
        let mut errors = Vec::new();
        let due_at = match local_time(&field(f, "completion.due_at")) {
            Ok(t) => t,
            Err(()) => {
                errors.push((
                    "completion.due_at".to_owned(),
                    "geef een datum en tijd (jjjj-mm-ddTuu:mm)".to_owned(),
                ));
                None
            }
        };
        let referred_department = field(f, "completion.referred_to.department");
        let referred_organisation = field(f, "completion.referred_to.organisation");
        let referred_to = if !referred_department.is_empty() {
            Some(pb::ReferralTarget {
                target: Some(pb::referral_target::Target::Department(referred_department)),
            })
        } else if !referred_organisation.is_empty() {
            Some(pb::ReferralTarget {
                target: Some(pb::referral_target::Target::Organisation(
                    referred_organisation,
                )),
            })
        } else {
            None
        };
        (
            pb::ContactCompletion {
                ended_at: Some(ended),
                answered_at: answered,
                outcome,
                story: field(f, "completion.story"),
                department: field(f, "completion.department"),
                topic: String::new(),
                referred_to,
                due_at,
                story_repeated: field(f, "completion.story_repeated") == "on",
            },
            errors,
        )
    }

    /// `303` to the klantbeeld of the citizen looked up (after a form sent again: its
    /// first sending wrote, and the klantbeeld shows what), else to the look-up.
    async fn to_citizen(&self) -> Response<Body> {
        if let Some(ids) = &self.cookie {
            let asked = pb::GetContextRequest {
                identifiers: Some(ids.clone()),
                as_of: None,
            };
            if let Ok(r) = self
                .calls
                .parties()
                .get_context(self.calls.request(asked))
                .await
                && let Some(p) = r.into_inner().context.and_then(|c| c.party)
                && !p.id.is_empty()
            {
                return see_other(&format!("{}/party/{}", self.base(), p.id));
            }
        }
        see_other(&self.base())
    }

    async fn start(&self) -> Response<Body> {
        let Some(ids) = self.cookie.clone() else {
            return self.not_looked_up();
        };
        let asked = pb::StartContactRequest {
            request_id: format!("console-{}", self.nonce),
            start: Some(self.start_of(ids, now())),
        };
        match self
            .calls
            .contacts()
            .start_contact(self.calls.request(asked))
            .await
        {
            Ok(r) => {
                let contact = r.into_inner().contact.unwrap_or_default();
                see_other(&format!("{}/contact/{}", self.base(), contact.id))
            }
            Err(s) if sent_before(&s) => self.to_citizen().await,
            Err(s) if s.code() == tonic::Code::InvalidArgument => html_answer(
                StatusCode::BAD_REQUEST,
                html::start_again(self.tenant, &self.refused_form(violations(&s))),
            ),
            Err(s) => failed(&s, self.tenant),
        }
    }

    async fn record(&self) -> Response<Body> {
        let Some(ids) = self.cookie.clone() else {
            return self.not_looked_up();
        };
        // The times the agent gives (the tenant's local time), each now when left empty;
        // whether the end lies before the start is the API's to say.
        let mut errors = Vec::new();
        let mut time = |name: &str| match local_time(&field(&self.form, name)) {
            Ok(t) => t.unwrap_or_else(now),
            Err(()) => {
                errors.push((
                    name.to_owned(),
                    "geef een datum en tijd (jjjj-mm-ddTuu:mm)".to_owned(),
                ));
                now()
            }
        };
        let started = time("start.started_at");
        let ended = time("completion.ended_at");
        let (completion, more) = self.completion_of(started, ended);
        errors.extend(more);
        if !errors.is_empty() {
            return html_answer(
                StatusCode::BAD_REQUEST,
                html::record_again(self.tenant, &self.refused_form(errors)),
            );
        }
        let asked = pb::RecordContactRequest {
            request_id: format!("console-{}", self.nonce),
            start: Some(self.start_of(ids, started)),
            completion: Some(completion),
            context_seen: field(&self.form, "context_seen") == "on",
        };
        match self
            .calls
            .contacts()
            .record_contact(self.calls.request(asked))
            .await
        {
            Ok(r) => {
                let contact = r.into_inner().contact.unwrap_or_default();
                see_other(&format!("{}/contact/{}", self.base(), contact.id))
            }
            Err(s) if sent_before(&s) => self.to_citizen().await,
            Err(s) if s.code() == tonic::Code::InvalidArgument => {
                let mut errors = violations(&s);
                // An end before the start makes the answer time (the start) lie after the
                // end too: the agent is told of the end, the field they gave.
                if errors.iter().any(|(f, _)| f == "completion.ended_at") {
                    errors.retain(|(f, _)| f != "completion.answered_at");
                }
                html_answer(
                    StatusCode::BAD_REQUEST,
                    html::record_again(self.tenant, &self.refused_form(errors)),
                )
            }
            Err(s) => failed(&s, self.tenant),
        }
    }

    async fn complete(&self, id: &str) -> Response<Body> {
        // Answered when it started: the contact's own start.
        let asked = pb::GetContactRequest {
            contact_id: id.to_owned(),
        };
        let started = match self
            .calls
            .contacts()
            .get_contact(self.calls.request(asked))
            .await
        {
            Ok(r) => r
                .into_inner()
                .contact
                .and_then(|c| c.started_at)
                .unwrap_or_else(now),
            Err(s) => return failed(&s, self.tenant),
        };
        let (completion, errors) = self.completion_of(started, now());
        if !errors.is_empty() {
            return html_answer(
                StatusCode::BAD_REQUEST,
                html::complete_again(self.tenant, id, &self.refused_form(errors)),
            );
        }
        let asked = pb::CompleteContactRequest {
            request_id: format!("console-{}", self.nonce),
            contact_id: id.to_owned(),
            completion: Some(completion),
        };
        match self
            .calls
            .contacts()
            .complete_contact(self.calls.request(asked))
            .await
        {
            Ok(r) => {
                let contact = r.into_inner().contact.unwrap_or_default();
                see_other(&format!("{}/contact/{}", self.base(), contact.id))
            }
            Err(s) if sent_before(&s) => see_other(&format!("{}/contact/{id}", self.base())),
            Err(s) if s.code() == tonic::Code::InvalidArgument => html_answer(
                StatusCode::BAD_REQUEST,
                html::complete_again(self.tenant, id, &self.refused_form(violations(&s))),
            ),
            Err(s) => failed(&s, self.tenant),
        }
    }

    async fn party(&self, id: &str) -> Response<Body> {
        let page_token = field(&self.query, "page");
        let history = pb::ListPartyContactsRequest {
            identifiers: None,
            case_id: String::new(),
            page_size: HISTORY_PAGE,
            page_token: page_token.clone(),
            party_id: id.to_owned(),
        };
        let mut parties = self.calls.parties();
        let mut parties_too = self.calls.parties();
        let history = parties.list_party_contacts(self.calls.request(history));
        let context = async {
            match &self.cookie {
                Some(ids) => Some(
                    parties_too
                        .get_context(self.calls.request(pb::GetContextRequest {
                            identifiers: Some(ids.clone()),
                            as_of: None,
                        }))
                        .await,
                ),
                None => None,
            }
        };
        let (history, context) = tokio::join!(history, context);
        let history = match history {
            Ok(r) => r.into_inner(),
            Err(s) => return failed(&s, self.tenant),
        };
        // The klantbeeld when the citizen looked up is this party.
        let context = match context {
            Some(Ok(r)) => r
                .into_inner()
                .context
                .filter(|c| c.party.as_ref().is_some_and(|p| p.id == id)),
            Some(Err(s)) => return failed(&s, self.tenant),
            None => None,
        };
        html_answer(
            StatusCode::OK,
            html::party(
                self.tenant,
                id,
                context.as_ref(),
                &history,
                !page_token.is_empty(),
                &self.new_form(&[]),
                &self.new_form(&[]),
            ),
        )
    }

    async fn contact(&self, id: &str) -> Response<Body> {
        let asked = pb::GetContactRequest {
            contact_id: id.to_owned(),
        };
        let contact = match self
            .calls
            .contacts()
            .get_contact(self.calls.request(asked))
            .await
        {
            Ok(r) => r.into_inner().contact.unwrap_or_default(),
            Err(s) => return failed(&s, self.tenant),
        };
        // The case's contacts: the stories to read and how often it was referred.
        let case = if !contact.party_id.is_empty() && !contact.case_id.is_empty() {
            let asked = pb::ListPartyContactsRequest {
                identifiers: None,
                case_id: contact.case_id.clone(),
                page_size: 20,
                page_token: String::new(),
                party_id: contact.party_id.clone(),
            };
            match self
                .calls
                .parties()
                .list_party_contacts(self.calls.request(asked))
                .await
            {
                Ok(r) => Some(r.into_inner()),
                Err(s) => return failed(&s, self.tenant),
            }
        } else {
            None
        };
        html_answer(
            StatusCode::OK,
            html::contact(self.tenant, &contact, case.as_ref(), &self.new_form(&[])),
        )
    }

    /// Calls a citizen back from the worklist: an OUTBOUND phone contact on the
    /// commitment's case (its party is the case's), which fulfils the callback.
    async fn callback(&self) -> Response<Body> {
        let asked = pb::StartContactRequest {
            request_id: format!("console-{}", self.nonce),
            start: Some(pb::ContactStart {
                channel: pb::Channel::Phone as i32,
                direction: pb::Direction::Outbound as i32,
                started_at: Some(now()),
                identifiers: None,
                topic: String::new(),
                case_id: field(&self.form, "start.case_id"),
                case_reference: String::new(),
                department: field(&self.form, "start.department"),
            }),
        };
        match self
            .calls
            .contacts()
            .start_contact(self.calls.request(asked))
            .await
        {
            Ok(r) => {
                let contact = r.into_inner().contact.unwrap_or_default();
                see_other(&format!("{}/contact/{}", self.base(), contact.id))
            }
            Err(s) if sent_before(&s) => see_other(&format!("{}/worklist", self.base())),
            Err(s) => failed(&s, self.tenant),
        }
    }

    async fn worklist(&self) -> Response<Body> {
        let token = || self.console.token(self.tenant);
        let department = field(&self.query, "department");
        let page_token = field(&self.query, "page");
        if department.is_empty() {
            return html_answer(
                StatusCode::OK,
                html::worklist(self.tenant, "", None, Vec::new(), &token),
            );
        }
        let asked = pb::ListCommitmentsRequest {
            department: department.clone(),
            page_size: 20,
            page_token,
        };
        match self
            .calls
            .commitments()
            .list_commitments(self.calls.request(asked))
            .await
        {
            Ok(r) => html_answer(
                StatusCode::OK,
                html::worklist(
                    self.tenant,
                    &department,
                    Some(&r.into_inner()),
                    Vec::new(),
                    &token,
                ),
            ),
            Err(s) if s.code() == tonic::Code::InvalidArgument => html_answer(
                StatusCode::BAD_REQUEST,
                html::worklist(self.tenant, &department, None, violations(&s), &token),
            ),
            Err(s) => failed(&s, self.tenant),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn console() -> Console {
        Console::new(Access::development(), Pseudonymiser::new(b"test"))
    }

    #[test]
    fn a_token_is_good_for_its_tenant_only_and_not_when_changed() {
        let c = console();
        let a = TenantId::parse("a").unwrap();
        let b = TenantId::parse("b").unwrap();
        let t = c.token(&a);
        assert!(c.check_token(&a, &t).is_some());
        assert!(c.check_token(&b, &t).is_none());
        let mut changed = t.clone();
        let last = if t.ends_with('0') { "1" } else { "0" };
        changed.replace_range(t.len() - 1.., last);
        assert!(c.check_token(&a, &changed).is_none());
        assert!(c.check_token(&a, "").is_none());
        let old = chrono::Utc::now().timestamp() - TOKEN_LIFETIME.as_secs() as i64 - 10;
        let nonce = "0".repeat(32);
        let stale = format!("{old}.{nonce}.{}", c.token_mac(&a, old, &nonce));
        assert!(c.check_token(&a, &stale).is_none());
    }

    #[test]
    fn sealed_identifiers_open_for_their_tenant_only() {
        let c = console();
        let a = TenantId::parse("a").unwrap();
        let b = TenantId::parse("b").unwrap();
        let ids = pb::Identifiers {
            bsn: "111222333".into(),
            email: "a@example.nl".into(),
            ..Default::default()
        };
        let sealed = c.seal(&a, &ids).unwrap();
        assert!(!sealed.contains("111222333"));
        let mut headers = http::HeaderMap::new();
        headers.insert(
            header::COOKIE,
            format!("x=1; {COOKIE}={sealed}").parse().unwrap(),
        );
        assert_eq!(c.unseal(&a, &headers), Some(ids));
        assert_eq!(c.unseal(&b, &headers), None);
    }

    #[test]
    fn cross_site_posts_are_told_apart() {
        let mut h = http::HeaderMap::new();
        h.insert("origin", "https://console.example:8443".parse().unwrap());
        // HTTP/2: no Host, the authority of the request.
        assert!(same_origin(&h, Some("console.example:8443")));
        assert!(!same_origin(&h, Some("other.example:8443")));
        assert!(!same_origin(&h, None));
        h.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        h.remove("origin");
        assert!(same_origin(&h, None));
        h.insert("origin", "http://127.0.0.1:8080".parse().unwrap());
        assert!(same_origin(&h, None));
        h.insert("sec-fetch-site", "same-origin".parse().unwrap());
        assert!(same_origin(&h, None));
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(!same_origin(&h, None));
        h.remove("sec-fetch-site");
        h.insert("origin", "http://evil.example".parse().unwrap());
        assert!(!same_origin(&h, None));
        h.insert("origin", "null".parse().unwrap());
        assert!(!same_origin(&h, None));
    }

    #[test]
    fn forms_are_percent_decoded() {
        assert_eq!(
            pairs("a=b+c&d=%C3%A9&e"),
            vec![
                ("a".into(), "b c".into()),
                ("d".into(), "é".into()),
                ("e".into(), "".into())
            ]
        );
        assert_eq!(encode("a b/é"), "a%20b%2F%C3%A9");
    }
}
