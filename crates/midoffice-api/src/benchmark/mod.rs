//! The public benchmark page: `GET /benchmark/{group}` as an HTML page and
//! `/benchmark/{group}.json` as open data, a [`PageLayer`] like the thermometer: no
//! credential, its own budget, the same building blocks (layout, tokens, language).
//! `docs/benchmark.md` describes the URLs and what is shown.
//!
//! A public request never composes a group: it reads only compositions already made
//! (`Store::benchmark_periods`, `Store::benchmark_group`), and shows what
//! `benchmark::public_view` allows: the group figures, and the values of the members
//! that chose to be named. An unknown group, or one with no composed period, is 404.

pub mod data;
pub mod html;
pub mod text;

use crate::page::{
    Failure, Page, PageLayer, PageRequest, open_data, public, public_html, refuse, respond,
};
use crate::service::BenchmarkOptions;
use crate::thermometer::request::Query;
use crate::thermometer::text::Lang;
use http::{Response, StatusCode};
use midoffice_domain::benchmark::{BenchmarkPeriod, PublicView, public_view};
use midoffice_domain::{Code, Instant, TenantId};
use midoffice_store::Store;
use std::collections::BTreeMap;
use tonic::body::Body;

/// The path of the page; a group's page is below it.
pub const PREFIX: &str = "/benchmark";

/// The anchor of a named participant's row on its group's page: `deelnemer-{id}`.
pub fn anchor(participant: &str) -> String {
    format!("deelnemer-{participant}")
}

/// A parsed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ask {
    pub group: Code,
    pub json: bool,
    /// `None`: the newest composed period.
    pub period: Option<BenchmarkPeriod>,
    pub lang: Lang,
    pub embed: bool,
}

/// Why a request cannot be answered.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    NotFound(Lang),
    BadQuery(Lang, Vec<String>),
}

/// Reads the path after `/benchmark/` and the query (without `?`).
pub fn parse(rest: &str, query: Option<&str>) -> Result<Ask, Refusal> {
    let mut q = Query::read(query);
    let lang = q.lang;
    let (json, group) = match rest.strip_suffix(".json") {
        Some(g) => (true, g),
        None => (false, rest),
    };
    let Ok(group) = Code::parse(group) else {
        return Err(Refusal::NotFound(lang));
    };
    let embed = q.embed();
    let period = match q.single("period").map(|raw| BenchmarkPeriod::parse(&raw)) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(_)) => {
            q.wrong.push(text::words(lang).bad_period.to_owned());
            None
        }
    };
    if !q.wrong.is_empty() {
        return Err(Refusal::BadQuery(lang, q.wrong));
    }
    Ok(Ask {
        group,
        json,
        period,
        lang,
        embed,
    })
}

/// What the page shows.
#[derive(Clone, Debug)]
pub struct View {
    pub group: Code,
    pub period: BenchmarkPeriod,
    pub composed_at: Instant,
    /// The group's composed periods, newest first.
    pub periods: Vec<BenchmarkPeriod>,
    pub public: PublicView,
    /// The members that chose to be named, by id, with the name shown: a local
    /// tenant's public display name, else the id.
    pub named: BTreeMap<Code, String>,
}

impl View {
    /// The name shown for a named participant.
    pub fn name_of<'a>(&'a self, id: &'a Code) -> &'a str {
        self.named.get(id).map_or(id.as_str(), String::as_str)
    }
}

/// Reads what the page shows; `None` when the group has no such composed period.
async fn view(
    store: &Store,
    options: &BenchmarkOptions,
    ask: &Ask,
) -> Result<Option<View>, midoffice_store::StoreError> {
    let periods: Vec<BenchmarkPeriod> = store
        .benchmark_periods(&ask.group)
        .await?
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    let Some(period) = ask.period.or_else(|| periods.first().copied()) else {
        return Ok(None);
    };
    let Some(composed) = store.benchmark_group(&ask.group, period).await? else {
        return Ok(None);
    };
    let public = public_view(&composed.group, &composed.participants, &options.disclosure);
    let mut named = BTreeMap::new();
    for p in composed
        .participants
        .iter()
        // Named members of a group large enough to be spoken of (each shown with the
        // values the public view shows, maybe none).
        .filter(|p| {
            public.participants.is_some() && p.named && composed.group.members().contains(&p.id)
        })
    {
        // A local tenant is shown by its public page's name; another participant by id.
        let name = match TenantId::parse(p.id.as_str()) {
            Ok(tenant) => store
                .figure_settings(&tenant)
                .await?
                .public_page
                .display_name
                .unwrap_or_else(|| p.id.as_str().to_owned()),
            Err(_) => p.id.as_str().to_owned(),
        };
        named.insert(p.id.clone(), name);
    }
    Ok(Some(View {
        group: ask.group.clone(),
        period,
        composed_at: composed.composed_at,
        periods,
        public,
        named,
    }))
}

/// The public benchmark page as a [`Page`].
#[derive(Clone, Debug)]
pub struct BenchmarkPage {
    store: Store,
    options: BenchmarkOptions,
}

impl BenchmarkPage {
    /// The page over `store`, with the deployment's disclosure rules.
    pub fn new(store: Store, options: BenchmarkOptions) -> Self {
        Self { store, options }
    }
}

/// The layer that answers the benchmark page's paths.
pub type BenchmarkLayer = PageLayer<BenchmarkPage>;

fn not_found(lang: Lang) -> Response<Body> {
    refuse(
        StatusCode::NOT_FOUND,
        text::words(lang).not_found.to_owned(),
    )
}

impl Page for BenchmarkPage {
    type Ask = Ask;
    type View = View;
    const PREFIX: &'static str = PREFIX;
    const NAME: &'static str = "benchmark";

    async fn ask(&self, request: &PageRequest) -> Result<Ask, Response<Body>> {
        match parse(&request.rest, request.query.as_deref()) {
            Ok(ask) => Ok(ask),
            Err(Refusal::NotFound(lang)) => Err(not_found(lang)),
            Err(Refusal::BadQuery(lang, why)) => Err(refuse(
                StatusCode::BAD_REQUEST,
                format!("{}:\n- {}", lang.texts().bad_request, why.join("\n- ")),
            )),
        }
    }

    fn lang(ask: &Ask) -> Lang {
        ask.lang
    }

    async fn read(&self, ask: &Ask, _now: Instant) -> Result<View, Failure> {
        match view(&self.store, &self.options, ask).await? {
            Some(view) => Ok(view),
            None => Err(Failure::Answer(not_found(ask.lang))),
        }
    }

    fn render(&self, ask: &Ask, view: View) -> Response<Body> {
        let mut r = if ask.json {
            let mut r = respond(
                StatusCode::OK,
                "application/json; charset=utf-8",
                data::json(&view),
            );
            open_data(&mut r);
            r
        } else {
            let page = html::html(&view, ask.lang, ask.embed);
            public_html(page.page, &page.style, ask.embed)
        };
        public(&mut r, ask.lang);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_names_a_group_a_format_and_a_period() {
        let a = parse("g4-plus.json", Some("period=2026-Q1&lang=en")).unwrap();
        assert_eq!(a.group.as_str(), "g4-plus");
        assert!(a.json);
        assert_eq!(
            a.period.map(BenchmarkPeriod::key).as_deref(),
            Some("2026-Q1")
        );
        assert_eq!(a.lang, Lang::En);
        let b = parse("g4-plus", Some("embed=1")).unwrap();
        assert!(!b.json && b.embed && b.period.is_none());
        for path in ["", "G4", "a/b", "a.csv", "-a"] {
            assert!(
                matches!(parse(path, None), Err(Refusal::NotFound(_))),
                "{path}"
            );
        }
        for q in [
            "period=2026-13",
            "period=2026&period=2025",
            "embed=2",
            "lang=de",
        ] {
            assert!(
                matches!(parse("g", Some(q)), Err(Refusal::BadQuery(..))),
                "{q}"
            );
        }
    }
}
