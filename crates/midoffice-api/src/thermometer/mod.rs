//! The public service thermometer (servicethermometer): `GET /thermometer/{tenant}` as
//! an HTML page, `/thermometer/{tenant}.json` and `.csv` as open data, on the gRPC port
//! beside the services (HTTP/1.1 or HTTP/2), or on the pages' own address when one is
//! configured. `docs/thermometer.md` describes the URLs, the query and the formats.
//!
//! [`ThermometerLayer`] (a [`PageLayer`] of [`Thermometer`]) answers these paths before
//! gRPC-Web and the credential check see them: the figures are public and carry no
//! personal data, so the page needs no credential (and tonic-web would refuse a plain
//! HTTP/1.1 GET). It has its own budget and deadline ([`crate::page`]), so a crowd of
//! readers answers 503 rather than taking the agents' budget or the dashboard's. One
//! read answers a page: the tenant's settings and the thermometer of the period and of
//! the [`request::TREND_PERIODS`] before it, in one transaction
//! (`Store::thermometer_trend`).

pub mod data;
pub mod html;
pub mod request;
pub mod text;

use crate::page::{
    Failure, Page, PageLayer, PageRequest, open_data, public, public_html, refuse, respond,
};
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use midoffice_domain::benchmark::{BenchmarkPeriod, Disclosure, public_view};
use midoffice_domain::figures::{NormResult, Period};
use midoffice_domain::settings::PublicPage;
use midoffice_domain::{Code, Instant, TenantId};
use midoffice_store::{Store, StoreError};
use request::{Ask, Days, Format, Refusal};
use text::Lang;
use tonic::body::Body;

/// The path of the page; a tenant's page is below it.
pub const PREFIX: &str = "/thermometer";
/// How long a browser or proxy may keep a page (`Cache-Control: public, max-age`).
pub const MAX_AGE_SECS: u32 = crate::page::PUBLIC_MAX_AGE_SECS;

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
    /// The tenant's benchmark group and the newest composed period whose page shows
    /// its row: when it takes part and chose to be named.
    pub benchmark: Option<(Code, BenchmarkPeriod)>,
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
/// The newest composed period of `group` of which `tenant` is a member and whose public
/// page shows it as named (a group large enough to be spoken of), if any.
async fn shown_row(
    store: &Store,
    group: &Code,
    tenant: &TenantId,
    rules: &Disclosure,
) -> Result<Option<BenchmarkPeriod>, StoreError> {
    let Ok(me) = Code::parse(tenant.as_str()) else {
        return Ok(None);
    };
    for (period, _) in store.benchmark_periods(group).await? {
        let Some(composed) = store.benchmark_group(group, period).await? else {
            continue;
        };
        if !composed.group.members().contains(&me) {
            continue;
        }
        let public = public_view(&composed.group, &composed.participants, rules);
        let named = composed.participants.iter().any(|p| p.id == me && p.named);
        return Ok((public.participants.is_some() && named).then_some(period));
    }
    Ok(None)
}

async fn view(
    store: &Store,
    rules: &Disclosure,
    ask: &Ask,
    now: Instant,
) -> Result<Option<View>, StoreError> {
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
    let (settings, each) = answered.answer;
    // The settings as the figures were read: published then, and only published norms.
    let Some(mut each) = each
        .into_iter()
        .map(|results| midoffice_domain::figures::shown_publicly(&settings, results))
        .collect::<Option<Vec<_>>>()
    else {
        return Ok(None);
    };
    let rest = each.split_off(1.min(each.len()));
    let norms = each.into_iter().next().unwrap_or_default();
    // The link to its position in its benchmark group: only when it chose to be named
    // (otherwise the link would tell the public that it takes part, which it did not
    // choose to show), and only to a period whose page shows its row.
    let benchmark = match settings.benchmark.taking_part_in() {
        Some(group) if settings.benchmark.named => shown_row(store, group, &ask.tenant, rules)
            .await?
            .map(|period| (group.clone(), period)),
        _ => None,
    };
    Ok(Some(View {
        tenant: ask.tenant.clone(),
        public: settings.public_page,
        days,
        as_of: now,
        norms,
        earlier: earlier.into_iter().zip(rest).collect(),
        this_month,
        benchmark,
    }))
}

/// The public thermometer as a [`Page`]: no credential, cached for [`MAX_AGE_SECS`].
#[derive(Clone, Debug)]
pub struct Thermometer {
    store: Store,
    /// The benchmark's disclosure rules, for the link to a named tenant's row.
    rules: Disclosure,
}

impl Thermometer {
    /// The page over `store`.
    pub fn new(store: Store, rules: Disclosure) -> Self {
        Self { store, rules }
    }
}

/// The layer that answers the thermometer's paths (see [`crate::page`]).
pub type ThermometerLayer = PageLayer<Thermometer>;

impl Page for Thermometer {
    type Ask = Ask;
    type View = View;
    const PREFIX: &'static str = PREFIX;
    const NAME: &'static str = "thermometer";

    async fn ask(&self, request: &PageRequest) -> Result<Ask, Response<Body>> {
        match request::parse(&request.rest, request.query.as_deref()) {
            Ok(ask) => Ok(ask),
            Err(Refusal::NotFound(lang)) => Err(refuse(
                StatusCode::NOT_FOUND,
                lang.texts().not_found.to_owned(),
            )),
            Err(Refusal::BadQuery(lang, why)) => {
                let t = lang.texts();
                Err(refuse(
                    StatusCode::BAD_REQUEST,
                    format!("{}:\n- {}", t.bad_request, why.join("\n- ")),
                ))
            }
        }
    }

    fn lang(ask: &Ask) -> Lang {
        ask.lang
    }

    async fn read(&self, ask: &Ask, now: Instant) -> Result<View, Failure> {
        match view(&self.store, &self.rules, ask, now).await? {
            Some(view) => Ok(view),
            // Not published: the same answer as an unknown tenant's page.
            None => Err(Failure::Answer(refuse(
                StatusCode::NOT_FOUND,
                ask.lang.texts().not_found.to_owned(),
            ))),
        }
    }

    fn render(&self, ask: &Ask, view: View) -> Response<Body> {
        let mut r = match ask.format {
            Format::Html => {
                let page = html::html(&view, ask.lang, ask.embed);
                public_html(page.page, &page.style, ask.embed)
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
        public(&mut r, ask.lang);
        r
    }
}

/// Reads the public page of the current month (and, with `links`, the pages it links
/// to: the month, quarter and year before), so their figures are kept in memory per
/// period (the store's figure cache) before anyone asks: `serve` runs it for each
/// tenant with figures after it starts.
pub async fn warm(store: &Store, tenant: &TenantId, links: bool) -> Result<(), StoreError> {
    let mut ask = Ask {
        tenant: tenant.clone(),
        format: Format::Html,
        days: None,
        lang: Lang::Nl,
        embed: false,
    };
    let now = chrono::Utc::now();
    // The benchmark link's rules do not matter for what is kept.
    let rules = Disclosure::default();
    let Some(first) = view(store, &rules, &ask, now).await? else {
        return Ok(());
    };
    if links {
        for (_, days) in request::links(first.days, first.this_month, &text::NL) {
            ask.days = Some(days);
            view(store, &rules, &ask, now).await?;
        }
    }
    Ok(())
}
