//! The managers' dashboard: `GET /dashboard/{tenant}` as an HTML page of line charts
//! (SVG drawn on the server, each with a table of its figures) and
//! `/dashboard/{tenant}.csv`, on the gRPC port beside the services, or on the pages' own
//! address when one is configured. `docs/dashboard.md` describes the URLs, the query and
//! the formats.
//!
//! [`DashboardLayer`] (a [`PageLayer`] of [`Dashboard`], with a budget of its own)
//! answers these paths before gRPC-Web (which would refuse a plain HTTP/1.1 GET). Unlike the public thermometer the figures need the `dashboard` role,
//! read from the same credential as GetFigureSeries (`authorization: Bearer <API key or
//! token>`, `x-api-key`, or a configured TLS client certificate); in development mode
//! (no credentials configured, served on loopback only) the page is open. Without a
//! valid credential: 401 with `WWW-Authenticate`, and no figure is read.
//!
//! A page takes few reads, all at once: the figure series for the filter (one read for
//! every period), one series per channel for the channel mix (when no channel is
//! chosen), and the norms of the last [`NORM_PERIODS`] periods (one read).

pub mod chart;
pub mod html;
pub mod request;

use crate::auth::{Access, Role};
use crate::page::{Failure, Page, PageLayer, PageRequest, refuse, respond};
use crate::thermometer::data::{Cell, row};
use crate::thermometer::request::{Days, Refusal, month_of};
use crate::thermometer::text::Lang;
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use midoffice_domain::contact::Channel;
use midoffice_domain::figures::{Figures, Filter, NormResult, Period};
use midoffice_domain::limits::MAX_SERIES_POINTS;
use midoffice_domain::rollup::series_periods;
use midoffice_domain::{Instant, TenantId};
use midoffice_store::Store;
use request::Ask;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use tonic::body::Body;

/// The path of the dashboard; a tenant's dashboard is below it.
pub const PREFIX: &str = "/dashboard";
/// The norms are shown for at most this many periods, the most recent.
pub const NORM_PERIODS: usize = 13;

/// What the page shows: everything the HTML and the CSV are made from.
#[derive(Clone, Debug)]
pub struct View {
    pub tenant: TenantId,
    /// The tenant's name as its settings give it (`public_page.display_name`), else its
    /// code.
    pub name: String,
    pub days: Days,
    pub step: midoffice_domain::rollup::Step,
    pub filter: Filter,
    /// The figures of each period (ends exclusive, as the store's).
    pub series: Vec<(Period, Figures)>,
    /// Per channel, its figures in each period; empty when a channel is chosen.
    pub by_channel: Vec<(Channel, Vec<Figures>)>,
    /// The norms of the last periods (at most [`NORM_PERIODS`]); `None`: not available.
    pub norms: Option<Vec<(Period, Vec<NormResult>)>>,
}

/// Reads what a page shows.
async fn view(store: &Store, ask: &Ask, now: Instant) -> Result<View, Failure> {
    let days = match ask.days {
        Some(days) => days,
        None => {
            let settings = store.figure_settings(&ask.tenant).await?;
            month_of(settings.calendar.local_date(now))
        }
    };
    let step = ask.step.unwrap_or_else(|| request::default_step(days));
    let periods = series_periods(days.from, days.end(), step, now);
    if periods.len() > MAX_SERIES_POINTS {
        return Err(Failure::Answer(refuse(
            StatusCode::BAD_REQUEST,
            format!(
                "{}:\n- step: {} > {MAX_SERIES_POINTS} (day, week, month)",
                ask.lang.texts().bad_request,
                periods.len()
            ),
        )));
    }
    let tenant = &ask.tenant;
    let overall = store.figure_series(tenant, periods.clone(), ask.filter.clone(), false);
    let channels: Vec<Channel> = if ask.filter.channel.is_some() {
        Vec::new()
    } else {
        Channel::ALL.to_vec()
    };
    let per_channel = join_all(channels.iter().map(|channel| {
        store.figure_series(
            tenant,
            periods.clone(),
            Filter {
                channel: Some(*channel),
                ..ask.filter.clone()
            },
            false,
        )
    }));
    let recent = periods[periods.len().saturating_sub(NORM_PERIODS)..].to_vec();
    let norms = store.thermometer_trend(tenant, recent.clone());
    let (overall, per_channel, norms) = tokio::join!(overall, per_channel, norms);
    let series = overall?.answer;
    let mut by_channel = Vec::new();
    for (channel, answered) in channels.into_iter().zip(per_channel) {
        by_channel.push((
            channel,
            answered?.answer.into_iter().map(|(_, f)| f).collect(),
        ));
    }
    let (name, norms) = match norms {
        Ok(a) => {
            let (settings, each) = a.answer;
            (
                settings.public_page.display_name,
                Some(recent.into_iter().zip(each).collect()),
            )
        }
        Err(e) => {
            // The rest of the page still answers; the norms section says so.
            tracing::warn!(error = %e, "the dashboard's norms are not available");
            (None, None)
        }
    };
    Ok(View {
        tenant: ask.tenant.clone(),
        name: name.unwrap_or_else(|| ask.tenant.as_str().to_owned()),
        days,
        step,
        filter: ask.filter.clone(),
        series,
        by_channel,
        norms,
    })
}

/// Awaits all futures concurrently, in order (a small `join_all` on tokio's `JoinSet`
/// would need `'static`; these borrow the store).
async fn join_all<F: Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in pinned.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *slot = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

/// The CSV header's fixed columns; then p50 and p90 per channel, then contacts per
/// channel (when no channel is chosen).
pub const CSV_HEADER: &str = "period_from,period_to,contacts,cases,first_contact_resolution,\
                              repeat_contact_rate,referral_rate,cases_referred_more_than_once,\
                              repeat_story_rate,channel_hops,satisfaction_score,effort_score";

/// The series as CSV (RFC 4180, CRLF): a row per period (`period_to` is the last day
/// included), a column per figure; an absent ratio is an empty field.
pub fn csv(view: &View) -> String {
    let mut header = CSV_HEADER.to_owned();
    for c in Channel::ALL {
        let c = c.as_str().to_ascii_lowercase();
        let _ = std::fmt::Write::write_fmt(
            &mut header,
            format_args!(",response_p50_seconds_{c},response_p90_seconds_{c}"),
        );
    }
    for (c, _) in &view.by_channel {
        header.push_str(",contacts_");
        header.push_str(&c.as_str().to_ascii_lowercase());
    }
    // The hops by the assisted channel they went to (none go to the web).
    let assisted = || view.by_channel.iter().filter(|(c, _)| *c != Channel::Web);
    for (c, _) in assisted() {
        header.push_str(",channel_hops_");
        header.push_str(&c.as_str().to_ascii_lowercase());
    }
    let mut out = header + "\r\n";
    let ratio = Cell::optional_number;
    for (i, (period, f)) in view.series.iter().enumerate() {
        let mut fields = vec![
            Cell::text(period.from.to_string()),
            Cell::text(period.to.pred_opt().unwrap_or(period.to).to_string()),
            Cell::number(f.contacts),
            Cell::number(f.cases),
            ratio(f.first_contact_resolution),
            ratio(f.repeat_contact_rate),
            ratio(f.referral_rate),
            Cell::number(f.cases_referred_more_than_once),
            ratio(f.repeat_story_rate),
            Cell::number(f.channel_hops),
            ratio(f.satisfaction_score),
            ratio(f.effort_score),
        ];
        for c in Channel::ALL {
            let rt = f.response_times.iter().find(|r| r.channel == c);
            fields.push(Cell::optional_number(rt.map(|r| r.p50_seconds)));
            fields.push(Cell::optional_number(rt.map(|r| r.p90_seconds)));
        }
        for (_, each) in &view.by_channel {
            fields.push(Cell::number(each.get(i).map(|f| f.contacts).unwrap_or(0)));
        }
        for (_, each) in assisted() {
            fields.push(Cell::number(
                each.get(i).map(|f| f.channel_hops).unwrap_or(0),
            ));
        }
        row(&mut out, &fields);
    }
    out
}

/// Whether the request may see `tenant`'s dashboard: the `dashboard` role for the
/// tenant, as GetFigureSeries needs it ([`crate::page::check_access`]).
async fn check(
    access: &Access,
    headers: &http::HeaderMap,
    certs: Option<&[Vec<u8>]>,
    peer: Option<std::net::SocketAddr>,
    tenant: &TenantId,
) -> Result<(), Response<Body>> {
    crate::page::check_access(
        access,
        (headers, certs, peer),
        tenant,
        Role::Dashboard,
        "dashboard",
    )
    .await
}

/// The managers' dashboard as a [`Page`]: behind the `dashboard` credential, never
/// cached.
#[derive(Clone, Debug)]
pub struct Dashboard {
    store: Store,
    access: Access,
}

impl Dashboard {
    /// The dashboard over `store`, with the server's `access`.
    pub fn new(store: Store, access: Access) -> Self {
        Self { store, access }
    }
}

/// The layer that answers the dashboard's paths (see [`crate::page`]).
pub type DashboardLayer = PageLayer<Dashboard>;

impl Page for Dashboard {
    type Ask = Ask;
    type View = View;
    const PREFIX: &'static str = PREFIX;
    const NAME: &'static str = "dashboard";

    async fn ask(&self, r: &PageRequest) -> Result<Ask, Response<Body>> {
        let (rest, certs) = (r.rest.as_str(), r.certs.as_deref());
        let ask = match request::parse(rest, r.query.as_deref()) {
            Ok(ask) => ask,
            Err(Refusal::NotFound(lang)) => {
                return Err(refuse(
                    StatusCode::NOT_FOUND,
                    lang.texts().not_found.to_owned(),
                ));
            }
            Err(Refusal::BadQuery(lang, why)) => {
                // The credential first: a stranger learns nothing from the query's checks.
                if let Ok(tenant) = TenantId::parse(rest.trim_end_matches(".csv")) {
                    check(&self.access, &r.headers, certs, r.peer, &tenant).await?;
                }
                let t = lang.texts();
                return Err(refuse(
                    StatusCode::BAD_REQUEST,
                    format!("{}:\n- {}", t.bad_request, why.join("\n- ")),
                ));
            }
        };
        check(&self.access, &r.headers, certs, r.peer, &ask.tenant).await?;
        Ok(ask)
    }

    fn lang(ask: &Ask) -> Lang {
        ask.lang
    }

    async fn read(&self, ask: &Ask, now: Instant) -> Result<View, Failure> {
        view(&self.store, ask, now).await
    }

    fn render(&self, ask: &Ask, view: View) -> Response<Body> {
        let mut r = if ask.csv {
            let mut r = respond(
                StatusCode::OK,
                "text/csv; charset=utf-8; header=present",
                csv(&view),
            );
            r.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
            );
            let name = format!(
                "attachment; filename=\"dashboard-{}-{}-{}.csv\"",
                view.tenant, view.days.from, view.days.to
            );
            if let Ok(v) = HeaderValue::from_str(&name) {
                r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            r
        } else {
            let page = html::html(&view, ask.lang);
            let mut r = respond(StatusCode::OK, "text/html; charset=utf-8", page.page);
            let hash = base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                Sha256::digest(page.style.as_bytes()),
            );
            // No script; the one style block by its hash; the filter form submits to
            // this page only; never framed.
            let csp = format!(
                "default-src 'none'; style-src 'sha256-{hash}'; base-uri 'none'; \
                 form-action 'self'; frame-ancestors 'none'"
            );
            if let Ok(v) = HeaderValue::from_str(&csp) {
                r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
            }
            r.headers_mut()
                .insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            r
        };
        // Figures behind a credential: kept by no cache (`respond` says `no-store`).
        r.headers_mut().insert(
            header::CONTENT_LANGUAGE,
            HeaderValue::from_static(ask.lang.code()),
        );
        r
    }
}

/// Reads the page a manager opens first (the current month, weekly, unfiltered) and,
/// with `links`, the month, quarter and year before it (unfiltered, each by its own
/// step), so their figures are kept in memory per period (the store's figure cache)
/// before anyone asks: `serve` runs it for each tenant with figures after it starts.
pub async fn warm(
    store: &Store,
    tenant: &TenantId,
    links: bool,
) -> Result<(), midoffice_store::StoreError> {
    let mut ask = Ask {
        tenant: tenant.clone(),
        csv: false,
        days: None,
        step: None,
        filter: Filter::default(),
        lang: Lang::Nl,
    };
    let now = chrono::Utc::now();
    let first = match view(store, &ask, now).await {
        Ok(v) => v,
        Err(Failure::Answer(_)) => return Ok(()),
        Err(Failure::Store(e)) => return Err(e),
    };
    if links {
        let texts = ask.lang.texts();
        for (_, days) in crate::thermometer::request::links(first.days, first.days, texts) {
            ask.days = Some(days);
            match view(store, &ask, now).await {
                Ok(_) | Err(Failure::Answer(_)) => {}
                Err(Failure::Store(e)) => return Err(e),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn development_mode_is_open_on_loopback_only() {
        let tenant = TenantId::parse("gemeente-a").unwrap();
        let headers = http::HeaderMap::new();
        let dev = Access::development();
        let at = |a: &str| Some(a.parse::<std::net::SocketAddr>().unwrap());
        assert!(
            check(&dev, &headers, None, at("127.0.0.1:5000"), &tenant)
                .await
                .is_ok()
        );
        assert!(
            check(&dev, &headers, None, at("[::1]:5000"), &tenant)
                .await
                .is_ok()
        );
        for peer in [at("10.0.0.7:5000"), None] {
            let r = check(&dev, &headers, None, peer, &tenant)
                .await
                .unwrap_err();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
            assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
        }
        // A proxy on loopback forwards the world: refused.
        for (name, value) in [
            ("x-forwarded-for", "203.0.113.9"),
            ("forwarded", "for=203.0.113.9"),
            ("x-real-ip", "203.0.113.9"),
        ] {
            let mut proxied = http::HeaderMap::new();
            proxied.insert(name, HeaderValue::from_static(value));
            let r = check(&dev, &proxied, None, at("127.0.0.1:5000"), &tenant)
                .await
                .unwrap_err();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{name}");
        }
    }
}
