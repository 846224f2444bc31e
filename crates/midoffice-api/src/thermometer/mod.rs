//! The public service thermometer (servicethermometer): `GET /thermometer/{tenant}` as
//! an HTML page, `/thermometer/{tenant}.json` and `.csv` as open data, on the gRPC port
//! beside the services (HTTP/1.1 or HTTP/2). `docs/thermometer.md` describes the URLs,
//! the query and the formats.
//!
//! [`ThermometerLayer`] answers these paths before gRPC-Web and the credential check
//! see them: the figures are public and carry no personal data, so the page needs no
//! credential (and tonic-web would refuse a plain HTTP/1.1 GET). It has its own budget
//! ([`PAGE_CALLS`], [`PAGE_WAIT`]) and deadline ([`PAGE_DEADLINE`]), so a crowd of
//! readers answers 503 rather than taking the agents' budget. One read answers a page:
//! the tenant's settings and the thermometer of the period and of the
//! [`request::TREND_PERIODS`] before it, in one transaction (`Store::thermometer_trend`).

pub mod data;
pub mod html;
pub mod request;
pub mod text;

use chrono::Utc;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use midoffice_domain::figures::{NormResult, Period};
use midoffice_domain::settings::PublicPage;
use midoffice_domain::{Instant, TenantId};
use midoffice_store::{Store, StoreError};
use request::{Ask, Days, Format, Refusal};
use sha2::{Digest, Sha256};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use text::Lang;
use tokio::sync::Semaphore;
use tonic::body::Body;

/// The path of the page; a tenant's page is below it.
pub const PREFIX: &str = "/thermometer";
/// Pages computed at one time; more wait at most [`PAGE_WAIT`], then answer 503.
pub const PAGE_CALLS: usize = 4;
/// How long a page waits for its budget.
pub const PAGE_WAIT: Duration = Duration::from_secs(2);
/// The longest a page may take; then 503.
pub const PAGE_DEADLINE: Duration = Duration::from_secs(10);
/// How long a browser or proxy may keep a page (`Cache-Control: public, max-age`).
pub const MAX_AGE_SECS: u32 = 60;

/// What the page shows: everything the HTML, JSON and CSV are made from.
#[derive(Clone, Debug)]
pub struct View {
    pub tenant: TenantId,
    pub public: PublicPage,
    pub days: Days,
    pub as_of: Instant,
    pub norms: Vec<NormResult>,
    /// The earlier periods, the most recent first, each with its norms' results.
    pub earlier: Vec<(Days, Vec<NormResult>)>,
    /// The current month, for the link to it.
    pub this_month: Days,
}

impl View {
    /// The name shown: the tenant's display name, else its id.
    pub fn name(&self) -> &str {
        self.public
            .display_name
            .as_deref()
            .unwrap_or(self.tenant.as_str())
    }

    /// The same norm in each earlier period, the most recent first.
    pub fn trend_of(&self, norm: &NormResult) -> Vec<(Days, &NormResult)> {
        self.earlier
            .iter()
            .filter_map(|(days, results)| {
                results
                    .iter()
                    .find(|r| r.norm_id == norm.norm_id)
                    .map(|r| (*days, r))
            })
            .collect()
    }
}

/// Reads what a page shows; `None` when the tenant does not publish its page.
async fn view(store: &Store, ask: &Ask, now: Instant) -> Result<Option<View>, StoreError> {
    // The current month is the tenant's: its calendar says which day it is.
    let settings = store.figure_settings(&ask.tenant).await?;
    if !settings.public_page.published {
        return Ok(None);
    }
    let this_month = request::month_of(settings.calendar.local_date(now));
    let days = ask.days.unwrap_or(this_month);
    // Only the earlier periods the rollups answer (those of a period of whole months
    // plus some days are as many days, not from the first of a month: left out).
    let earlier: Vec<Days> = request::earlier(days)
        .into_iter()
        .filter(|d| d.from_rollups())
        .collect();
    let period = |d: Days| Period {
        from: d.from,
        to: d.end(),
        as_of: now,
    };
    let periods = std::iter::once(days)
        .chain(earlier.iter().copied())
        .map(period)
        .collect();

    let answered = store.thermometer_trend(&ask.tenant, periods).await?;
    tracing::debug!(tenant = %ask.tenant, path = ?answered.path, "thermometer page answered");
    let (settings, mut each) = answered.answer;
    // The settings as the figures were read: published then, and only published norms.
    if !settings.public_page.published {
        return Ok(None);
    }
    for results in &mut each {
        results.retain(|r| settings.shows_publicly(&r.norm_id));
    }
    let rest = each.split_off(1.min(each.len()));
    let norms = each.into_iter().next().unwrap_or_default();
    Ok(Some(View {
        tenant: ask.tenant.clone(),
        public: settings.public_page,
        days,
        as_of: now,
        norms,
        earlier: earlier.into_iter().zip(rest).collect(),
        this_month,
    }))
}

/// A response with a body and the headers every answer of the page carries.
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

/// A plain-text refusal in the page's language.
pub(crate) fn refuse(status: StatusCode, text: String) -> Response<Body> {
    let mut r = respond(status, "text/plain; charset=utf-8", text + "\n");
    // Nothing to frame, nothing to run.
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    r
}

/// The answer to a GET or HEAD of `path` (after the prefix) with `query`.
async fn answer(
    store: &Store,
    budget: &Semaphore,
    rest: &str,
    query: Option<&str>,
) -> Response<Body> {
    let ask = match request::parse(rest, query) {
        Ok(ask) => ask,
        Err(Refusal::NotFound(lang)) => {
            return refuse(StatusCode::NOT_FOUND, lang.texts().not_found.to_owned());
        }
        Err(Refusal::BadQuery(lang, why)) => {
            let t = lang.texts();
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("{}:\n- {}", t.bad_request, why.join("\n- ")),
            );
        }
    };
    let t = ask.lang.texts();
    let busy = || {
        let mut r = refuse(StatusCode::SERVICE_UNAVAILABLE, t.busy.to_owned());
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        r
    };
    let Ok(Ok(_permit)) = tokio::time::timeout(PAGE_WAIT, budget.acquire()).await else {
        tracing::warn!("the thermometer page's budget stayed full");
        return busy();
    };
    let view = match tokio::time::timeout(PAGE_DEADLINE, view(store, &ask, Utc::now())).await {
        Ok(Ok(Some(view))) => view,
        // Not published: the same answer as an unknown tenant's page.
        Ok(Ok(None)) => return refuse(StatusCode::NOT_FOUND, t.not_found.to_owned()),
        Ok(Err(StoreError::Unavailable(e))) => {
            tracing::warn!(error = %e, "the thermometer page: store unavailable");
            return busy();
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "the thermometer page failed");
            return refuse(StatusCode::INTERNAL_SERVER_ERROR, t.failed.to_owned());
        }
        Err(_) => {
            tracing::warn!("the thermometer page took too long");
            return busy();
        }
    };
    let mut r = match ask.format {
        Format::Html => {
            let page = html::html(&view, ask.lang, ask.embed);
            let mut r = respond(StatusCode::OK, "text/html; charset=utf-8", page.page);
            let hash = base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                Sha256::digest(page.style.as_bytes()),
            );
            // No script at all; the one style block by its hash; images only over
            // https (the logo); framed only in the embedded view.
            let csp = format!(
                "default-src 'none'; style-src 'sha256-{hash}'; img-src https:; \
                 base-uri 'none'; form-action 'none'; frame-ancestors {}",
                if ask.embed { "https:" } else { "'none'" }
            );
            if let Ok(v) = HeaderValue::from_str(&csp) {
                r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
            }
            if !ask.embed {
                r.headers_mut()
                    .insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            }
            r
        }
        Format::Json => {
            let mut r = respond(
                StatusCode::OK,
                "application/json; charset=utf-8",
                data::json(&view),
            );
            open_data(&mut r);
            r
        }
        Format::Csv => {
            let mut r = respond(
                StatusCode::OK,
                "text/csv; charset=utf-8; header=present",
                data::csv(&view),
            );
            open_data(&mut r);
            let name = format!(
                "inline; filename=\"thermometer-{}-{}-{}.csv\"",
                view.tenant, view.days.from, view.days.to
            );
            if let Ok(v) = HeaderValue::from_str(&name) {
                r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            r
        }
    };
    let cache = format!("public, max-age={MAX_AGE_SECS}");
    if let Ok(v) = HeaderValue::from_str(&cache) {
        r.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    r.headers_mut().insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(if ask.lang == Lang::En { "en" } else { "nl" }),
    );
    r
}

/// Open data may be read by any site's script; it is nothing to run or frame.
fn open_data(r: &mut Response<Body>) {
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

/// The tower layer that answers the page's paths and passes every other request on.
#[derive(Clone, Debug)]
pub struct ThermometerLayer {
    store: Store,
    budget: Arc<Semaphore>,
}

impl ThermometerLayer {
    /// The page over `store`.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            budget: Arc::new(Semaphore::new(PAGE_CALLS)),
        }
    }
}

impl<S> tower_layer::Layer<S> for ThermometerLayer {
    type Service = Thermometer<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Thermometer {
            store: self.store.clone(),
            budget: self.budget.clone(),
            inner,
        }
    }
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

/// See [`ThermometerLayer`].
#[derive(Clone, Debug)]
pub struct Thermometer<S> {
    store: Store,
    budget: Arc<Semaphore>,
    inner: S,
}

impl<S, B> tower_service::Service<Request<B>> for Thermometer<S>
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
        let rest = below(path, PREFIX);
        let Some(rest) = rest else {
            // The service that was ready is the one that is called (tower's contract).
            let clone = self.inner.clone();
            let mut inner = std::mem::replace(&mut self.inner, clone);
            return Box::pin(inner.call(request));
        };
        let rest = rest.to_owned();
        let query = request.uri().query().map(str::to_owned);
        let method = request.method().clone();
        let store = self.store.clone();
        let budget = self.budget.clone();
        Box::pin(async move {
            if method != Method::GET && method != Method::HEAD {
                let mut r = refuse(
                    StatusCode::METHOD_NOT_ALLOWED,
                    Lang::Nl.texts().method.to_owned(),
                );
                r.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
                return Ok(r);
            }
            Ok(answer(&store, &budget, &rest, query.as_deref()).await)
        })
    }
}
/// Reads the public page of the current month, so its figures are kept in memory per
/// period (the store's figure cache) before anyone asks: `serve` runs it for each
/// tenant with figures after it starts.
pub async fn warm(store: &Store, tenant: &TenantId) -> Result<(), StoreError> {
    let ask = Ask {
        tenant: tenant.clone(),
        format: Format::Html,
        days: None,
        lang: Lang::Nl,
        embed: false,
    };
    view(store, &ask, Utc::now()).await.map(|_| ())
}
