//! The one tower layer behind every HTML page the server answers (the public
//! thermometer, the managers' dashboard): [`PageLayer`] answers the paths below a
//! page's prefix and passes every other request on; [`NotFoundLayer`] answers `404` for
//! what is not served here.
//!
//! A page is a [`Page`]: how it reads a request (parse, access), what it reads from the
//! store and how it renders it. The layer does the rest, the same for every page: only
//! `GET` and `HEAD` (else `405`), its own budget ([`PAGE_CALLS`] at a time, a wait of at
//! most [`PAGE_WAIT`] for a place), a deadline ([`PAGE_DEADLINE`]), `503` with
//! `Retry-After` when busy or the store is unavailable, `500` (logged) on another store
//! error. Each page layer has a budget of its own, so a crowd on the public page cannot
//! take the dashboard's places, and neither takes the gRPC calls' budgets.
//!
//! The same layers serve the pages on the gRPC port (HTTP/1.1 beside gRPC) or on an
//! address of their own (`server.pages_listen`, [`crate::server::Listeners`]).

use crate::thermometer::text::Lang;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use midoffice_domain::Instant;
use midoffice_store::StoreError;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::Semaphore;
use tonic::body::Body;

/// Pages of one kind computed at one time; more wait at most [`PAGE_WAIT`], then 503.
pub const PAGE_CALLS: usize = 4;
/// How long a page waits for its budget.
pub const PAGE_WAIT: Duration = Duration::from_secs(2);
/// The longest a page may take; then 503.
pub const PAGE_DEADLINE: Duration = Duration::from_secs(10);

/// What a page reads of a request below its prefix.
#[derive(Debug)]
pub struct PageRequest {
    /// The path after the prefix and its `/` (`gemeente-a.csv`); empty for the prefix.
    pub rest: String,
    /// The query, without `?`.
    pub query: Option<String>,
    pub headers: http::HeaderMap,
    /// The TLS client certificates of the connection, DER, the leaf first.
    pub certs: Option<Vec<Vec<u8>>>,
    /// The peer's address.
    pub peer: Option<SocketAddr>,
}

/// Why a page's read gave no view.
#[derive(Debug)]
pub enum Failure {
    /// A complete answer instead (such as a 400 the read found).
    Answer(Response<Body>),
    /// The store failed: 503 when unavailable, else 500.
    Store(StoreError),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

/// A page: what [`PageLayer`] needs to answer it.
pub trait Page: Send + Sync + 'static {
    /// A request, read and allowed.
    type Ask: Send + Sync;
    /// What the page shows, read from the store.
    type View: Send;
    /// The page's path; its answers are this and the paths below it.
    const PREFIX: &'static str;
    /// Its name in the log.
    const NAME: &'static str;

    /// Reads the request and checks access; a complete answer (404, 400, 401, 403) when
    /// the request goes no further. Takes no place in the budget.
    fn ask(
        &self,
        request: &PageRequest,
    ) -> impl Future<Output = Result<Self::Ask, Response<Body>>> + Send;

    /// The language of the layer's own answers (503, 500) to `ask`.
    fn lang(ask: &Self::Ask) -> Lang;

    /// Reads what the page shows as of `now`; within the budget and the deadline.
    fn read(
        &self,
        ask: &Self::Ask,
        now: Instant,
    ) -> impl Future<Output = Result<Self::View, Failure>> + Send;

    /// The answer showing `view`.
    fn render(&self, ask: &Self::Ask, view: Self::View) -> Response<Body>;
}

/// A response with a body and the headers every answer of a page carries.
pub(crate) fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: String,
) -> Response<Body> {
    let mut r = Response::new(Body::new(http_body_util::Full::new(
        tonic::codegen::Bytes::from(body),
    )));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// How long a browser or proxy may keep a public page (`Cache-Control: public, max-age`).
pub const PUBLIC_MAX_AGE_SECS: u32 = 60;

/// A public HTML page (the thermometer, the benchmark): no script at all, the one style
/// block allowed by its hash, images only over https (a logo), framed only when
/// `embed`.
pub(crate) fn public_html(page: String, style: &str, embed: bool) -> Response<Body> {
    use sha2::{Digest, Sha256};
    let mut r = respond(StatusCode::OK, "text/html; charset=utf-8", page);
    let hash = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        Sha256::digest(style.as_bytes()),
    );
    let csp = format!(
        "default-src 'none'; style-src 'sha256-{hash}'; img-src https:; \
         base-uri 'none'; form-action 'none'; frame-ancestors {}",
        if embed { "https:" } else { "'none'" }
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    if !embed {
        r.headers_mut()
            .insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    r
}

/// Open data may be read by any site's script; it is nothing to run or frame.
pub(crate) fn open_data(r: &mut Response<Body>) {
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
}

/// What every answer of a public page carries besides: it may be cached for
/// [`PUBLIC_MAX_AGE_SECS`], and its language.
pub(crate) fn public(r: &mut Response<Body>, lang: Lang) {
    let cache = format!("public, max-age={PUBLIC_MAX_AGE_SECS}");
    if let Ok(v) = HeaderValue::from_str(&cache) {
        r.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    r.headers_mut().insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(lang.code()),
    );
}

/// A plain-text refusal.
pub(crate) fn refuse(status: StatusCode, text: String) -> Response<Body> {
    let mut r = respond(status, "text/plain; charset=utf-8", text + "\n");
    // Nothing to frame, nothing to run.
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    r
}

/// What follows `prefix` in `path`: `prefix` itself and everything below it
/// (`/thermometer`, `/thermometer/a`), not a longer name (`/thermometerx`).
pub(crate) fn below<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    if rest.is_empty() {
        Some(rest)
    } else {
        rest.strip_prefix('/')
    }
}

/// The answer to a request below the page's prefix.
async fn answer<P: Page>(
    page: &P,
    budget: &Semaphore,
    method: Method,
    request: PageRequest,
) -> Response<Body> {
    if method != Method::GET && method != Method::HEAD {
        let mut r = refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            Lang::Nl.texts().method.to_owned(),
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let ask = match page.ask(&request).await {
        Ok(ask) => ask,
        Err(r) => return r,
    };
    let t = P::lang(&ask).texts();
    let busy = || {
        let mut r = refuse(StatusCode::SERVICE_UNAVAILABLE, t.busy.to_owned());
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        r
    };
    let Ok(Ok(_permit)) = tokio::time::timeout(PAGE_WAIT, budget.acquire()).await else {
        tracing::warn!(page = P::NAME, "the page's budget stayed full");
        return busy();
    };
    let read = page.read(&ask, chrono::Utc::now());
    let view = match tokio::time::timeout(PAGE_DEADLINE, read).await {
        Ok(Ok(view)) => view,
        Ok(Err(Failure::Answer(r))) => return r,
        Ok(Err(Failure::Store(StoreError::Unavailable(e)))) => {
            tracing::warn!(page = P::NAME, error = %e, "a page: store unavailable");
            return busy();
        }
        Ok(Err(Failure::Store(e))) => {
            tracing::error!(page = P::NAME, error = %e, "a page failed");
            return refuse(StatusCode::INTERNAL_SERVER_ERROR, t.failed.to_owned());
        }
        Err(_) => {
            tracing::warn!(page = P::NAME, "a page took too long");
            return busy();
        }
    };
    page.render(&ask, view)
}

/// The tower layer that answers a page's paths and passes every other request on.
pub struct PageLayer<P> {
    page: Arc<P>,
    budget: Arc<Semaphore>,
}

impl<P: Page> PageLayer<P> {
    /// `page`, with a budget of its own.
    pub fn new(page: P) -> Self {
        Self {
            page: Arc::new(page),
            budget: Arc::new(Semaphore::new(PAGE_CALLS)),
        }
    }
}

impl<P> Clone for PageLayer<P> {
    fn clone(&self) -> Self {
        Self {
            page: self.page.clone(),
            budget: self.budget.clone(),
        }
    }
}

impl<P: Page> std::fmt::Debug for PageLayer<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageLayer")
            .field("page", &P::NAME)
            .field("free", &self.budget.available_permits())
            .finish()
    }
}

impl<P, S> tower_layer::Layer<S> for PageLayer<P> {
    type Service = PageService<P, S>;

    fn layer(&self, inner: S) -> Self::Service {
        PageService {
            layer: self.clone(),
            inner,
        }
    }
}

/// See [`PageLayer`].
pub struct PageService<P, S> {
    layer: PageLayer<P>,
    inner: S,
}

impl<P, S: Clone> Clone for PageService<P, S> {
    fn clone(&self) -> Self {
        Self {
            layer: self.layer.clone(),
            inner: self.inner.clone(),
        }
    }
}

impl<P: Page, S> std::fmt::Debug for PageService<P, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageService")
            .field("layer", &self.layer)
            .finish_non_exhaustive()
    }
}

impl<P, S, B> tower_service::Service<Request<B>> for PageService<P, S>
where
    P: Page,
    S: tower_service::Service<Request<B>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let Some(rest) = below(request.uri().path(), P::PREFIX) else {
            // The service that was ready is the one that is called (tower's contract).
            let clone = self.inner.clone();
            let mut inner = std::mem::replace(&mut self.inner, clone);
            return Box::pin(inner.call(request));
        };
        let asked = PageRequest {
            rest: rest.to_owned(),
            query: request.uri().query().map(str::to_owned),
            headers: request.headers().clone(),
            certs: crate::auth::peer_certs(request.extensions()),
            peer: crate::auth::peer_addr(request.extensions()),
        };
        let method = request.method().clone();
        let layer = self.layer.clone();
        Box::pin(async move { Ok(answer(&*layer.page, &layer.budget, method, asked).await) })
    }
}

/// What the server's `404` says: no page here (the same words on the gRPC port and on
/// the pages' own address, which names no other address).
pub const NOT_FOUND: &str = "Niet gevonden. / Not found.";

/// Answers `404` (plain text) for what is not served here and passes the rest on:
/// [`NotFoundLayer::below`] the prefixes of pages served on another address (on the
/// gRPC port), or [`NotFoundLayer::everything`] (innermost on the pages' own address,
/// which serves no gRPC).
#[derive(Clone, Debug)]
pub struct NotFoundLayer {
    /// `None`: every request.
    prefixes: Option<Vec<&'static str>>,
}

impl NotFoundLayer {
    /// 404 for every request.
    pub fn everything() -> Self {
        Self { prefixes: None }
    }

    /// 404 for the requests below one of `prefixes` (none: every request passes).
    pub fn below(prefixes: Vec<&'static str>) -> Self {
        Self {
            prefixes: Some(prefixes),
        }
    }
}

impl<S> tower_layer::Layer<S> for NotFoundLayer {
    type Service = NotFound<S>;

    fn layer(&self, inner: S) -> Self::Service {
        NotFound {
            prefixes: self.prefixes.clone(),
            inner,
        }
    }
}

/// See [`NotFoundLayer`].
#[derive(Clone, Debug)]
pub struct NotFound<S> {
    prefixes: Option<Vec<&'static str>>,
    inner: S,
}

impl<S, B> tower_service::Service<Request<B>> for NotFound<S>
where
    S: tower_service::Service<Request<B>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let path = request.uri().path();
        let not_here = match &self.prefixes {
            None => true,
            Some(prefixes) => prefixes.iter().any(|p| below(path, p).is_some()),
        };
        if not_here {
            return Box::pin(async { Ok(refuse(StatusCode::NOT_FOUND, NOT_FOUND.to_owned())) });
        }
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(inner.call(request))
    }
}

/// Whether a request may see a page of `tenant` that needs `role` (the dashboard's
/// `dashboard`, the console's `channel`): the role for the tenant, by bearer token, API
/// key or client certificate; in development mode (no credentials configured) loopback
/// peers only, and not through a proxy on loopback, which would make every visitor a
/// loopback peer. A refusal is a 401 with `WWW-Authenticate` naming `page`'s realm, or
/// a 403, logged with its reason (never the credential); nothing is read.
pub(crate) async fn check_access(
    access: &crate::auth::Access,
    request: (&http::HeaderMap, Option<&[Vec<u8>]>, Option<SocketAddr>),
    tenant: &midoffice_domain::TenantId,
    role: crate::auth::Role,
    page: &'static str,
) -> Result<(), Response<Body>> {
    use crate::auth::Authenticated;
    let (headers, certs, peer) = request;
    let denied = |status: StatusCode, text: &str| {
        let mut r = refuse(status, text.to_owned());
        if status == StatusCode::UNAUTHORIZED
            && let Ok(v) = HeaderValue::from_str(&format!("Bearer realm=\"midoffice {page}\""))
        {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        r
    };
    if !access.requires_credentials() {
        let proxied = ["forwarded", "x-forwarded-for", "x-real-ip"]
            .iter()
            .any(|h| headers.contains_key(*h));
        if proxied {
            tracing::warn!(reason = "PROXIED", page, "page refused");
            return Err(denied(
                StatusCode::UNAUTHORIZED,
                "without configured credentials this page is open to local clients only, \
                 not through a proxy",
            ));
        }
        return if peer.is_some_and(|a| a.ip().is_loopback()) {
            Ok(())
        } else {
            tracing::warn!(reason = "NOT_LOOPBACK", page, "page refused");
            Err(denied(
                StatusCode::UNAUTHORIZED,
                "without configured credentials this page is open on loopback only",
            ))
        };
    }
    match access.authenticate(headers, certs).await {
        Authenticated::Nothing => {
            tracing::warn!(reason = "CREDENTIAL_MISSING", page, "page refused");
            Err(denied(
                StatusCode::UNAUTHORIZED,
                "this page needs a credential: `authorization: Bearer <API key or token>`",
            ))
        }
        Authenticated::Refused(why) => {
            tracing::warn!(reason = "CREDENTIAL_INVALID", why, page, "page refused");
            Err(denied(
                StatusCode::UNAUTHORIZED,
                &format!("the credential is not valid: {why}"),
            ))
        }
        Authenticated::Principal(p) => {
            if !p.grant.roles.contains(&role) {
                tracing::warn!(reason = "ROLE_NOT_GRANTED", subject = %p.subject, page, "page refused");
                return Err(denied(
                    StatusCode::FORBIDDEN,
                    &format!(
                        "this page needs the role {}, which this credential does not have",
                        role.as_str()
                    ),
                ));
            }
            if !p.grant.tenants.contains(tenant) {
                tracing::warn!(reason = "TENANT_NOT_GRANTED", subject = %p.subject, page, "page refused");
                return Err(denied(
                    StatusCode::FORBIDDEN,
                    "this credential does not act for this tenant",
                ));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_layer::Layer;
    use tower_service::Service;

    /// Page 0 at `/a` waits in its read until `gate` lets it go; page 1 at `/b` does
    /// not wait. Each read adds a permit to `entered`.
    struct TestPage<const N: u8> {
        gate: Arc<Semaphore>,
        entered: Arc<Semaphore>,
    }

    impl<const N: u8> Page for TestPage<N> {
        type Ask = ();
        type View = ();
        const PREFIX: &'static str = if N == 0 { "/a" } else { "/b" };
        const NAME: &'static str = "test";

        async fn ask(&self, request: &PageRequest) -> Result<(), Response<Body>> {
            match request.rest.as_str() {
                "missing" => Err(refuse(StatusCode::NOT_FOUND, "no such page".into())),
                _ => Ok(()),
            }
        }

        fn lang(_: &()) -> Lang {
            Lang::En
        }

        async fn read(&self, _: &(), _: Instant) -> Result<(), Failure> {
            self.entered.add_permits(1);
            if N == 0 {
                self.gate.acquire().await.expect("the gate").forget();
            }
            Ok(())
        }

        fn render(&self, _: &(), _: ()) -> Response<Body> {
            respond(StatusCode::OK, "text/plain", "page".into())
        }
    }

    /// What passes every layer: 418.
    #[derive(Clone)]
    struct Teapot;

    impl Service<Request<()>> for Teapot {
        type Response = Response<Body>;
        type Error = std::convert::Infallible;
        type Future = std::future::Ready<Result<Response<Body>, Self::Error>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: Request<()>) -> Self::Future {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::IM_A_TEAPOT;
            std::future::ready(Ok(r))
        }
    }

    async fn call<S>(mut service: S, method: Method, path: &str) -> Response<Body>
    where
        S: Service<Request<()>, Response = Response<Body>, Error = std::convert::Infallible>,
    {
        std::future::poll_fn(|cx| service.poll_ready(cx))
            .await
            .expect("ready");
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(())
            .expect("a request");
        match service.call(request).await {
            Ok(r) => r,
        }
    }

    #[tokio::test]
    async fn each_page_has_its_own_budget_and_answers_only_below_its_prefix() {
        let gate = Arc::new(Semaphore::new(0));
        let entered = Arc::new(Semaphore::new(0));
        let a = PageLayer::new(TestPage::<0> {
            gate: gate.clone(),
            entered: entered.clone(),
        });
        let b = PageLayer::new(TestPage::<1> {
            gate: gate.clone(),
            entered: entered.clone(),
        });
        let service = a.layer(b.layer(Teapot));

        // Page a's budget full: every place is in a read that waits.
        let held: Vec<_> = (0..PAGE_CALLS)
            .map(|_| tokio::spawn(call(service.clone(), Method::GET, "/a/x")))
            .collect();
        entered
            .acquire_many(PAGE_CALLS as u32)
            .await
            .expect("the reads")
            .forget();
        // Page b answers at once all the same.
        let r = call(service.clone(), Method::GET, "/b/x").await;
        assert_eq!(r.status(), StatusCode::OK);
        // Page a's next request waits for a place, then is told to come back.
        let r = call(service.clone(), Method::GET, "/a/y").await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            r.headers().get(header::RETRY_AFTER).map(|v| v.as_bytes()),
            Some(&b"2"[..])
        );
        // A refusal of the page's own and a wrong method take no place.
        let r = call(service.clone(), Method::GET, "/a/missing").await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let r = call(service.clone(), Method::POST, "/a/x").await;
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        gate.add_permits(PAGE_CALLS);
        for h in held {
            assert_eq!(h.await.expect("a held page").status(), StatusCode::OK);
        }
        // Everything else passes on.
        for path in ["/", "/ab", "/c/a"] {
            let r = call(service.clone(), Method::GET, path).await;
            assert_eq!(r.status(), StatusCode::IM_A_TEAPOT, "{path}");
        }
    }

    #[tokio::test]
    async fn not_found_answers_below_its_prefixes_or_everything() {
        let moved = NotFoundLayer::below(vec!["/a", "/b"]).layer(Teapot);
        for (path, status) in [
            ("/a", StatusCode::NOT_FOUND),
            ("/b/x.csv", StatusCode::NOT_FOUND),
            ("/ab", StatusCode::IM_A_TEAPOT),
            (
                "/midoffice.v1.FigureService/GetFigures",
                StatusCode::IM_A_TEAPOT,
            ),
        ] {
            let r = call(moved.clone(), Method::GET, path).await;
            assert_eq!(r.status(), status, "{path}");
        }
        let none = NotFoundLayer::below(Vec::new()).layer(Teapot);
        let r = call(none, Method::GET, "/a").await;
        assert_eq!(r.status(), StatusCode::IM_A_TEAPOT);
        let all = NotFoundLayer::everything().layer(Teapot);
        for path in ["/", "/a", "/midoffice.v1.FigureService/GetFigures"] {
            let r = call(all.clone(), Method::POST, path).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
            assert_eq!(
                r.headers().get(header::CONTENT_TYPE).map(|v| v.as_bytes()),
                Some(&b"text/plain; charset=utf-8"[..])
            );
        }
    }

    #[test]
    fn below_takes_the_prefix_and_its_paths_only() {
        assert_eq!(below("/thermometer", "/thermometer"), Some(""));
        assert_eq!(below("/thermometer/a", "/thermometer"), Some("a"));
        assert_eq!(below("/thermometer/", "/thermometer"), Some(""));
        assert_eq!(below("/thermometerx", "/thermometer"), None);
        assert_eq!(below("/midoffice.v1.X/Y", "/thermometer"), None);
    }
}
