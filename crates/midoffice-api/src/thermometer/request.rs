//! What a request to the public page asks: the tenant, the format, the period, the
//! language and whether it is embedded; and the periods around it (trend and links).

use super::text::{Lang, Texts};
use chrono::{Datelike, Months, NaiveDate};
use midoffice_domain::TenantId;
use midoffice_domain::limits::YEARS;

/// How many periods before the shown one the trend covers.
pub const TREND_PERIODS: u32 = 3;
/// The longest period the page shows, and so the longest that has a trend: a (leap)
/// year.
pub const MAX_TREND_DAYS: i64 = 366;

/// The three forms of the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Html,
    Json,
    Csv,
}

impl Format {
    /// The path suffix: "", ".json", ".csv".
    pub fn suffix(self) -> &'static str {
        match self {
            Format::Html => "",
            Format::Json => ".json",
            Format::Csv => ".csv",
        }
    }
}

/// A period of whole days, both ends included (as the URL and the open data write it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Days {
    pub from: NaiveDate,
    /// The last day included.
    pub to: NaiveDate,
}

impl Days {
    /// The day after the last: the exclusive end the store's periods use.
    pub fn end(self) -> NaiveDate {
        self.to.succ_opt().unwrap_or(self.to)
    }

    /// The query that shows this period: `from=...&to=...`.
    pub fn query(self) -> String {
        format!("from={}&to={}", self.from, self.to)
    }

    /// Whether the rollups answer this period (`rollup::spans`: whole months from the
    /// first of a month, or at most 31 days). The public page shows no other periods:
    /// computing one from the contacts is work a public request must not cause.
    pub fn from_rollups(self) -> bool {
        midoffice_domain::rollup::spans(&midoffice_domain::figures::Period {
            from: self.from,
            to: self.end(),
            as_of: chrono::DateTime::<chrono::Utc>::MIN_UTC,
        })
        .is_some()
    }
}

/// A parsed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ask {
    pub tenant: TenantId,
    pub format: Format,
    /// `None`: the current month in the tenant's calendar.
    pub days: Option<Days>,
    pub lang: Lang,
    pub embed: bool,
}

/// Why a request cannot be answered, in the page's language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not a page of ours (404).
    NotFound(Lang),
    /// A query it cannot answer (400), with what is wrong.
    BadQuery(Lang, Vec<String>),
}

/// The query of a public page: its `lang` read first, so that every other message is
/// in it, its other values one at a time, and what is wrong with any of them.
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
    pub lang: Lang,
    pub wrong: Vec<String>,
}

impl Query {
    /// The query (without `?`) and its language.
    pub fn read(query: Option<&str>) -> Query {
        let mut q = Query {
            pairs: pairs(query),
            lang: Lang::Nl,
            wrong: Vec::new(),
        };
        if let Some(raw) = q.single("lang") {
            q.lang = Lang::parse(&raw).unwrap_or_else(|| {
                q.wrong.push(Lang::Nl.texts().bad_lang.to_owned());
                Lang::Nl
            });
        }
        q
    }

    /// The one value of `key`, if given; given more than once is wrong.
    pub fn single(&mut self, key: &str) -> Option<String> {
        let mut values = self.pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v);
        let one = values.next().cloned();
        if values.next().is_some() {
            self.wrong
                .push(format!("{key} {}", self.lang.texts().repeated));
            return None;
        }
        one
    }

    /// `embed`: `1` embeds, `0` or none does not.
    pub fn embed(&mut self) -> bool {
        match self.single("embed").as_deref() {
            None | Some("0") => false,
            Some("1") => true,
            Some(_) => {
                self.wrong.push(self.lang.texts().bad_embed.to_owned());
                false
            }
        }
    }
}

/// Reads the path after `/thermometer/` and the query (without `?`).
pub fn parse(rest: &str, query: Option<&str>) -> Result<Ask, Refusal> {
    let mut q = Query::read(query);
    let lang = q.lang;
    let t = lang.texts();
    let (format, tenant) = if let Some(t) = rest.strip_suffix(".json") {
        (Format::Json, t)
    } else if let Some(t) = rest.strip_suffix(".csv") {
        (Format::Csv, t)
    } else {
        (Format::Html, rest)
    };
    let Ok(tenant) = TenantId::parse(tenant) else {
        return Err(Refusal::NotFound(lang));
    };
    let embed = q.embed();
    let from = q.single("from");
    let to = q.single("to");
    let mut wrong = q.wrong;
    let days = period(from, to, t, &mut wrong);
    if !wrong.is_empty() {
        return Err(Refusal::BadQuery(lang, wrong));
    }
    Ok(Ask {
        tenant,
        format,
        days,
        lang,
        embed,
    })
}

/// The decoded `key=value` pairs of a query (without `?`), in order.
pub(crate) fn pairs(query: Option<&str>) -> Vec<(String, String)> {
    match query {
        None | Some("") => Vec::new(),
        Some(q) => q
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k).unwrap_or_default(), decode(v).unwrap_or_default())
            })
            .collect(),
    }
}

/// The period of `from` and `to` (both `YYYY-MM-DD`, both or neither, the last day
/// included, at most [`MAX_TREND_DAYS`], and of a shape the rollups answer:
/// [`Days::from_rollups`]); what is wrong is added to `wrong`.
pub(crate) fn period(
    from: Option<String>,
    to: Option<String>,
    t: &Texts,
    wrong: &mut Vec<String>,
) -> Option<Days> {
    let mut date = |key: &str, value: Option<String>| {
        let value = value?;
        let parsed = NaiveDate::parse_from_str(&value, "%Y-%m-%d")
            .ok()
            .filter(|d| d.format("%Y-%m-%d").to_string() == value);
        match parsed {
            None => wrong.push(format!("{key} {}", t.bad_date)),
            Some(d) if !YEARS.contains(&d.year()) => {
                wrong.push(format!("{key} {}", t.bad_year));
                return None;
            }
            Some(_) => {}
        }
        parsed
    };
    let from_given = from.is_some();
    let to_given = to.is_some();
    let (from, to) = (date("from", from), date("to", to));
    match (from, to) {
        (Some(from), Some(to)) => {
            let days = Days { from, to };
            if to < from {
                wrong.push(t.order.to_owned());
            } else if (to - from).num_days() + 1 > MAX_TREND_DAYS {
                wrong.push(t.too_long.to_owned());
            } else if !days.from_rollups() {
                wrong.push(t.shape.to_owned());
            }
            Some(days)
        }
        _ => {
            if from_given != to_given {
                wrong.push(t.both_dates.to_owned());
            }
            None
        }
    }
}

/// Percent-decodes a query part (`+` is a space); `None` if it is not UTF-8.
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
                    .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
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

/// The current month (`today` in the tenant's calendar).
pub fn month_of(today: NaiveDate) -> Days {
    let from = today.with_day(1).unwrap_or(today);
    let to = from
        .checked_add_months(Months::new(1))
        .and_then(|n| n.pred_opt())
        .unwrap_or(today);
    Days { from, to }
}

/// The [`TREND_PERIODS`] periods before `days`, the most recent first, each as long:
/// whole months when `days` is whole months (a month, a quarter, a year), else as many
/// days (those a date cannot express are left out), and a period longer than
/// [`MAX_TREND_DAYS`] has no trend (it would read up to four times three years).
pub fn earlier(days: Days) -> Vec<Days> {
    let end = days.end();
    if (end - days.from).num_days() > MAX_TREND_DAYS {
        return Vec::new();
    }
    let whole_months = days.from.day() == 1 && end.day() == 1;
    let months =
        (end.year() - days.from.year()) * 12 + end.month0() as i32 - days.from.month0() as i32;
    (1..=TREND_PERIODS)
        .map_while(|k| {
            if whole_months && months > 0 {
                let back = Months::new(k * months as u32);
                let from = days.from.checked_sub_months(back)?;
                let end = end.checked_sub_months(back)?;
                Some(Days {
                    from,
                    to: end.pred_opt()?,
                })
            } else {
                let length = (end - days.from).num_days();
                let back = chrono::Days::new(u64::try_from(length * i64::from(k)).ok()?);
                Some(Days {
                    from: days.from.checked_sub_days(back)?,
                    to: days.to.checked_sub_days(back)?,
                })
            }
        })
        .collect()
}

/// The links to other periods: the month, quarter and year before the one `days`
/// starts in, and the current month (when it is not the one shown).
pub fn links(days: Days, this_month: Days, t: &Texts) -> Vec<(&'static str, Days)> {
    let start = days.from.with_day(1).unwrap_or(days.from);
    let mut out = Vec::new();
    let month = |from: NaiveDate, n: u32| -> Option<Days> {
        let end = from.checked_add_months(Months::new(n))?;
        Some(Days {
            from,
            to: end.pred_opt()?,
        })
    };
    if let Some(d) = start
        .checked_sub_months(Months::new(1))
        .and_then(|f| month(f, 1))
    {
        out.push((t.previous_month, d));
    }
    let quarter = start
        .with_month0(start.month0() / 3 * 3)
        .and_then(|q| q.checked_sub_months(Months::new(3)));
    if let Some(d) = quarter.and_then(|f| month(f, 3)) {
        out.push((t.previous_quarter, d));
    }
    let year = NaiveDate::from_ymd_opt(start.year() - 1, 1, 1);
    if let Some(d) = year.and_then(|f| month(f, 12)) {
        out.push((t.previous_year, d));
    }
    if days != this_month {
        out.push((t.this_month, this_month));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn days(from: NaiveDate, to: NaiveDate) -> Days {
        Days { from, to }
    }

    #[test]
    fn a_request_names_a_tenant_a_format_and_a_period() {
        let a = parse(
            "gemeente-a.json",
            Some("from=2026-03-01&to=2026-03-31&lang=en"),
        )
        .unwrap();
        assert_eq!(a.tenant.as_str(), "gemeente-a");
        assert_eq!(a.format, Format::Json);
        assert_eq!(a.lang, Lang::En);
        assert_eq!(a.days, Some(days(d(2026, 3, 1), d(2026, 3, 31))));
        assert!(!a.embed);
        let b = parse("gemeente-a", Some("embed=1&utm_source=site")).unwrap();
        assert_eq!((b.format, b.days, b.embed), (Format::Html, None, true));
        assert_eq!(parse("gemeente-a.csv", None).unwrap().format, Format::Csv);
    }

    #[test]
    fn a_bad_query_is_refused_in_the_pages_language() {
        let Err(Refusal::BadQuery(Lang::En, why)) =
            parse("a", Some("lang=en&from=2026-02-30&to=2026-3-1"))
        else {
            panic!("not refused")
        };
        assert_eq!(why.len(), 2, "{why:?}");
        assert!(why[0].starts_with("from is not a date"), "{why:?}");
        let Err(Refusal::BadQuery(Lang::Nl, why)) = parse("a", Some("from=2026-03-01")) else {
            panic!("not refused")
        };
        assert_eq!(why, ["geef from en to allebei, of geen van beide"]);
        for q in [
            "from=2026-03-02&to=2026-03-01",
            "from=2020-01-01&to=2026-01-01",
            "lang=de",
            "embed=yes",
            "lang=en&lang=nl",
            "from=%ZZ&to=2026-01-01",
        ] {
            assert!(
                matches!(parse("a", Some(q)), Err(Refusal::BadQuery(..))),
                "{q}"
            );
        }
        for path in ["", "Gemeente-A", "a/b", "-a.json", "a.html", "a.json.csv"] {
            assert!(
                matches!(parse(path, None), Err(Refusal::NotFound(_))),
                "{path}"
            );
        }
    }

    #[test]
    fn only_periods_the_rollups_answer_are_shown() {
        let refused = |q: &str| match parse("a", Some(&format!("lang=en&{q}"))) {
            Err(Refusal::BadQuery(_, why)) => why,
            other => panic!("{q}: {other:?}"),
        };
        // More than 31 days not from the first of a month: computed from the contacts.
        assert_eq!(
            refused("from=2026-03-02&to=2026-04-10"),
            ["choose whole months (from on the first of a month) or at most 31 days"]
        );
        // A year at most; the API's years.
        assert_eq!(
            refused("from=2025-01-01&to=2026-01-02"),
            ["a period spans at most a year (366 days)"]
        );
        assert_eq!(
            refused("from=1969-12-01&to=1969-12-31"),
            [
                "from is not between 1970 and 9999",
                "to is not between 1970 and 9999"
            ]
        );
        for q in [
            "from=2026-03-02&to=2026-04-01",
            "from=2026-01-01&to=2026-03-31",
            "from=2026-01-01&to=2026-02-10",
            "from=2025-01-01&to=2025-12-31",
        ] {
            let ask = parse("a", Some(q)).unwrap();
            assert!(ask.days.unwrap().from_rollups(), "{q}");
        }
        // The trend of whole months plus days leaves out what the rollups do not answer.
        let odd = days(d(2026, 1, 1), d(2026, 2, 10));
        assert!(earlier(odd).iter().any(|p| !p.from_rollups()));
    }

    #[test]
    fn query_parts_are_percent_decoded() {
        assert_eq!(decode("2026%2D03%2d01").as_deref(), Some("2026-03-01"));
        assert_eq!(decode("a+b%").as_deref(), Some("a b%"));
        assert_eq!(decode("%e2%82%ac").as_deref(), Some("€"));
        assert_eq!(decode("%ff"), None);
    }

    #[test]
    fn the_trend_takes_periods_of_the_same_kind() {
        let dec = month_of(d(2026, 12, 7));
        assert_eq!(dec, days(d(2026, 12, 1), d(2026, 12, 31)));
        assert_eq!(
            earlier(dec),
            [
                days(d(2026, 11, 1), d(2026, 11, 30)),
                days(d(2026, 10, 1), d(2026, 10, 31)),
                days(d(2026, 9, 1), d(2026, 9, 30)),
            ]
        );
        let q1 = days(d(2026, 1, 1), d(2026, 3, 31));
        assert_eq!(earlier(q1)[0], days(d(2025, 10, 1), d(2025, 12, 31)));
        assert!(earlier(days(d(2024, 1, 1), d(2025, 12, 31))).is_empty());
        let two_weeks = days(d(2026, 3, 2), d(2026, 3, 15));
        assert_eq!(earlier(two_weeks)[1], days(d(2026, 2, 2), d(2026, 2, 15)));
    }

    #[test]
    fn links_go_to_the_month_quarter_and_year_before() {
        let may = days(d(2026, 5, 1), d(2026, 5, 31));
        let now = month_of(d(2026, 12, 7));
        let l = links(may, now, &crate::thermometer::text::EN);
        let shown: Vec<(&str, Days)> = l;
        assert_eq!(
            shown,
            [
                ("Previous month", days(d(2026, 4, 1), d(2026, 4, 30))),
                ("Previous quarter", days(d(2026, 1, 1), d(2026, 3, 31))),
                ("Previous year", days(d(2025, 1, 1), d(2025, 12, 31))),
                ("This month", now),
            ]
        );
    }
}
