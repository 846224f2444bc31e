//! The open data: the page's figures as JSON and as CSV (RFC 4180, UTF-8).

use super::View;
use super::request::Days;
use midoffice_domain::figures::{NormResult, NormStatus};
use serde::Serialize;

/// The status as the open data (and the API's enum, without its prefix) writes it.
pub fn status_name(status: NormStatus) -> &'static str {
    match status {
        NormStatus::Green => "GREEN",
        NormStatus::Amber => "AMBER",
        NormStatus::Red => "RED",
        NormStatus::NoData => "NO_DATA",
    }
}

#[derive(Serialize)]
struct OpenData<'a> {
    tenant: &'a str,
    name: &'a str,
    period: Period,
    as_of: String,
    norms: Vec<Norm<'a>>,
}

#[derive(Serialize)]
struct Period {
    from: String,
    /// The last day included.
    to: String,
}

impl From<Days> for Period {
    fn from(d: Days) -> Self {
        Period {
            from: d.from.to_string(),
            to: d.to.to_string(),
        }
    }
}

#[derive(Serialize)]
struct Norm<'a> {
    id: &'a str,
    title: &'a str,
    measure: &'static str,
    target_percent: u32,
    share: Option<f64>,
    met: u64,
    items: u64,
    status: &'static str,
    explanation: Option<&'a str>,
    trend: Vec<Point>,
}

#[derive(Serialize)]
struct Point {
    period: Period,
    share: Option<f64>,
    met: u64,
    items: u64,
    status: &'static str,
}

/// The page as JSON.
pub fn json(view: &View) -> String {
    let data = OpenData {
        tenant: view.tenant.as_str(),
        name: view.name(),
        period: view.days.into(),
        as_of: view
            .as_of
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        norms: view
            .norms
            .iter()
            .map(|n| Norm {
                id: n.norm_id.as_str(),
                title: &n.title,
                measure: n.measure.as_str(),
                target_percent: n.target_percent,
                share: n.share(),
                met: n.met,
                items: n.items,
                status: status_name(n.status),
                explanation: n.explanation.as_deref(),
                trend: view
                    .trend_of(n)
                    .into_iter()
                    .map(|(days, r)| Point {
                        period: days.into(),
                        share: r.share(),
                        met: r.met,
                        items: r.items,
                        status: status_name(r.status),
                    })
                    .collect(),
            })
            .collect(),
    };
    // Plain data of strings and numbers: serialising it cannot fail.
    serde_json::to_string_pretty(&data).unwrap_or_default()
}

/// The CSV header.
pub const CSV_HEADER: &str = "period_from,period_to,norm_id,title,measure,target_percent,\
                              share,met,items,status,explanation";

/// The page as CSV: a header row, then a row per norm for the shown period and for each
/// earlier period, the most recent first; CRLF line ends.
pub fn csv(view: &View) -> String {
    let mut out = String::new();
    out.push_str(CSV_HEADER);
    out.push_str("\r\n");
    let mut rows = |days: Days, results: &[NormResult]| {
        for r in results {
            let fields = [
                days.from.to_string(),
                days.to.to_string(),
                r.norm_id.to_string(),
                r.title.clone(),
                r.measure.as_str().to_owned(),
                r.target_percent.to_string(),
                r.share().map(|s| s.to_string()).unwrap_or_default(),
                r.met.to_string(),
                r.items.to_string(),
                status_name(r.status).to_owned(),
                r.explanation.clone().unwrap_or_default(),
            ];
            let line: Vec<String> = fields.iter().map(|f| field(f)).collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
    };
    rows(view.days, &view.norms);
    for (days, results) in &view.earlier {
        rows(*days, results);
    }
    out
}

/// One CSV field: quoted (with quotes doubled) when it holds a comma, a quote or a
/// line break (RFC 4180).
pub fn field(value: &str) -> String {
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_as_rfc_4180_says() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a, b"), "\"a, b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
    }
}
