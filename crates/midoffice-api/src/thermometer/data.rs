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
            row(
                &mut out,
                &[
                    Cell::text(days.from.to_string()),
                    Cell::text(days.to.to_string()),
                    Cell::text(r.norm_id.as_str()),
                    Cell::text(r.title.as_str()),
                    Cell::text(r.measure.as_str()),
                    Cell::number(r.target_percent),
                    Cell::optional_number(r.share()),
                    Cell::number(r.met),
                    Cell::number(r.items),
                    Cell::text(status_name(r.status)),
                    Cell::text(r.explanation.as_deref().unwrap_or_default()),
                ],
            );
        }
    };
    rows(view.days, &view.norms);
    for (days, results) in &view.earlier {
        rows(*days, results);
    }
    out
}

/// One cell of a CSV row (the thermometer's and the dashboard's): a number this code
/// wrote, or text, which may be the tenant's (a title, an explanation, a name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    /// A number we wrote ourselves (`-3`, `0.5`): written as it is.
    Number(String),
    /// Anything else: guarded against formula injection, see [`field`].
    Text(String),
}

impl Cell {
    /// Text.
    pub fn text(text: impl Into<String>) -> Self {
        Cell::Text(text.into())
    }

    /// A number.
    pub fn number(n: impl ToString) -> Self {
        Cell::Number(n.to_string())
    }

    /// A number, or an empty field without one.
    pub fn optional_number(n: Option<impl ToString>) -> Self {
        Cell::Number(n.map(|n| n.to_string()).unwrap_or_default())
    }
}

/// What a spreadsheet may read as the start of a formula (OWASP, CSV injection).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// One CSV field: text that starts with `=`, `+`, `-`, `@`, a tab or a carriage return
/// gets a `'` in front, so that a spreadsheet shows it as text rather than running it as
/// a formula (OWASP's advice on CSV injection); a number we wrote stays a number. Then
/// quoted (with quotes doubled) when it holds a comma, a quote or a line break (RFC
/// 4180).
pub fn field(cell: &Cell) -> String {
    let value = match cell {
        Cell::Number(n) => std::borrow::Cow::Borrowed(n.as_str()),
        Cell::Text(t) if t.starts_with(FORMULA_STARTS) => format!("'{t}").into(),
        Cell::Text(t) => std::borrow::Cow::Borrowed(t.as_str()),
    };
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.into_owned()
    }
}

/// Appends one CSV row of `cells`, with its CRLF.
pub fn row(out: &mut String, cells: &[Cell]) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&field(cell));
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> String {
        field(&Cell::text(t))
    }

    #[test]
    fn csv_fields_are_quoted_as_rfc_4180_says() {
        assert_eq!(text("plain"), "plain");
        assert_eq!(text("a, b"), "\"a, b\"");
        assert_eq!(text("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(text("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn text_that_a_spreadsheet_would_run_gets_an_apostrophe_and_numbers_stay_numbers() {
        assert_eq!(
            text("=HYPERLINK(\"https://x.example\")"),
            "\"'=HYPERLINK(\"\"https://x.example\"\")\""
        );
        assert_eq!(text("=1+1"), "'=1+1");
        assert_eq!(text("+31 20 123"), "'+31 20 123");
        assert_eq!(text("-2+3"), "'-2+3");
        assert_eq!(text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text("\tx"), "'\tx");
        // A carriage return also needs quotes.
        assert_eq!(text("\r=1"), "\"'\r=1\"");
        assert_eq!(text("=a, b"), "\"'=a, b\"");
        // Only the first character counts; text that does not start so is left alone.
        assert_eq!(text("a=1"), "a=1");
        assert_eq!(text(" =1"), " =1");
        assert_eq!(text("2026-10-01"), "2026-10-01");
        // Numbers we wrote, negative ones included, are not text.
        assert_eq!(field(&Cell::number(-3)), "-3");
        assert_eq!(field(&Cell::number(-0.5)), "-0.5");
        assert_eq!(field(&Cell::optional_number(None::<f64>)), "");
        let mut out = String::new();
        row(
            &mut out,
            &[Cell::text("-x"), Cell::number(-1), Cell::text("y")],
        );
        assert_eq!(out, "'-x,-1,y\r\n");
    }
}
