//! A group's page as HTML: built on the server, no script, every text escaped, the
//! thermometer's layout and style block (design tokens) with the ranges' rules added.
//! Each metric's spread is drawn as an SVG range with a text alternative, and said again
//! in a table.

use super::text::{self, Words};
use super::{View, anchor};
use crate::thermometer::html::{STYLE, close, escape, open};
use crate::thermometer::text::Lang;
use midoffice_domain::Code;
use midoffice_domain::benchmark::{GroupFigure, GroupValue, Metric, Quartiles, Unit};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The ranges' and definitions' rules, after the thermometer's.
const RANGE_STYLE: &str = "\
.metric{border:1px solid var(--midoffice-thermometer-border-color);\
border-inline-start:6px solid var(--midoffice-thermometer-primary-color);padding:1rem;margin:1rem 0}\
.participant{border-block-start:1px solid var(--midoffice-thermometer-border-color);padding-block:.5rem}\
.range{inline-size:100%;max-inline-size:40rem;block-size:auto;display:block;margin:.5rem 0}\
.range .axis{stroke:var(--midoffice-thermometer-border-color);stroke-width:2}\
.range .box{fill:none;stroke:var(--midoffice-thermometer-primary-color);stroke-width:3}\
.range .median{stroke:var(--midoffice-thermometer-text-color);stroke-width:4}\
.range .value{fill:var(--midoffice-thermometer-text-color)}\
.range text{font-size:12px;fill:var(--midoffice-thermometer-text-color)}\
.withheld{font-weight:700}\
.definition dt{font-weight:700}\
.definition dd{margin:0 0 .5rem;overflow-wrap:anywhere}";

/// The page and the contents of its one `<style>` block (for the CSP hash).
pub struct Html {
    pub page: String,
    pub style: String,
}

/// The page as HTML in `lang`; `embed` leaves out the masthead and the skip link.
pub fn html(view: &View, lang: Lang, embed: bool) -> Html {
    let t = lang.texts();
    let w = text::words(lang);
    let style = format!("{STYLE}{RANGE_STYLE}");
    let group = escape(view.group.as_str());
    let period = escape(&text::period(lang, view.period));
    let query = |period: &str| {
        let mut q = format!("period={period}");
        if lang == Lang::En {
            q.push_str("&lang=en");
        }
        if embed {
            q.push_str("&embed=1");
        }
        q
    };
    let mut h = String::with_capacity(32 * 1024);
    open(
        &mut h,
        lang,
        &format!("{} {period} – {group}", w.title),
        &style,
        embed,
    );
    if !embed {
        let _ = writeln!(
            h,
            "<header class=\"masthead\"><p class=\"org\">{}</p></header>",
            w.title
        );
    }
    let _ = write!(
        h,
        "<main id=\"main\">\n<h1>{}: {group}</h1>\n\
         <p>{}: <strong>{period}</strong></p>\n\
         <dl class=\"definition\"><dt>{}</dt><dd>{group}</dd><dt>{}</dt><dd>{}</dd>\
         <dt>{}</dt><dd>{}</dd></dl>\n<p>{}</p>\n",
        w.title,
        t.period,
        w.group,
        w.participants,
        match view.public.participants {
            Some(n) => t.count(n as u64),
            None => w.too_few.to_owned(),
        },
        w.composed,
        escape(&t.date(view.composed_at.date_naive())),
        w.intro,
    );
    let others: Vec<_> = view.periods.iter().filter(|p| **p != view.period).collect();
    if !others.is_empty() {
        let _ = write!(h, "<nav aria-label=\"{}\"><ul>", escape(w.periods));
        for p in others {
            let _ = write!(
                h,
                "<li><a href=\"?{}\">{}</a></li>",
                escape(&query(&p.key())),
                escape(&text::period(lang, *p))
            );
        }
        h.push_str("</ul></nav>\n");
    }
    let _ = writeln!(h, "<h2>{}</h2>", w.metrics);
    for (i, f) in view.public.figures.figures.iter().enumerate() {
        metric(&mut h, view, i, f, lang, w);
    }
    named(&mut h, view, lang, w);
    let _ = writeln!(
        h,
        "<p>{}: <a href=\"{group}.json?{}\">JSON</a></p>\n</main>",
        t.open_data,
        escape(&format!("period={}", view.period.key()))
    );
    close(&mut h);
    Html { page: h, style }
}

/// The metric's title in `lang`.
fn title(m: &Metric, lang: Lang) -> &'static str {
    match lang {
        Lang::Nl => m.title_nl,
        Lang::En => m.title_en,
    }
}

/// One metric: its title, the group figure (a range and a table) or that it is
/// withheld, the named participants' values, and the published definition.
fn metric(h: &mut String, view: &View, i: usize, f: &GroupFigure, lang: Lang, w: &Words) {
    let m = &f.metric;
    let t = lang.texts();
    let named: Vec<(&Code, f64)> = view
        .public
        .named
        .get(&m.reference())
        .map(|v| v.iter().map(|(id, x)| (id, *x)).collect())
        .unwrap_or_default();
    let _ = writeln!(
        h,
        "<section class=\"metric\" id=\"m-{}\" aria-labelledby=\"m{i}-title\">\n\
         <h3 id=\"m{i}-title\">{}</h3>",
        escape(m.id),
        escape(title(m, lang))
    );
    match f.value {
        GroupValue::Shown {
            contributors,
            quartiles,
        } => {
            range(h, view, i, m, &quartiles, &named, lang, w);
            let v = |x: f64| escape(&text::value(lang, m.unit, x));
            let _ = writeln!(
                h,
                "<div class=\"scroll\" role=\"region\" aria-labelledby=\"m{i}-group\" tabindex=\"0\">\
                 <table><caption id=\"m{i}-group\">{}</caption><tbody>\
                 <tr><th scope=\"row\">{}</th><td>{}</td></tr>\
                 <tr><th scope=\"row\">{}</th><td>{}</td></tr>\
                 <tr><th scope=\"row\">{}</th><td>{}</td></tr>\
                 <tr><th scope=\"row\">{}</th><td>{}</td></tr>\
                 </tbody></table></div>",
                w.group_figure,
                w.q1,
                v(quartiles.q1),
                w.median,
                v(quartiles.median),
                w.q3,
                v(quartiles.q3),
                w.contributors,
                t.count(contributors as u64),
            );
        }
        GroupValue::Withheld => {
            let _ = writeln!(
                h,
                "<p><span class=\"withheld\">{}: {}</span>. {}</p>",
                w.group_figure, w.withheld, w.withheld_why
            );
        }
    }
    if !named.is_empty() {
        let _ = write!(
            h,
            "<div class=\"scroll\" role=\"region\" aria-labelledby=\"m{i}-named\" tabindex=\"0\">\
             <table><caption id=\"m{i}-named\">{}</caption><thead><tr>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            w.named, w.participant, w.value
        );
        let tenant_lang = if lang == Lang::En { " lang=\"nl\"" } else { "" };
        for (id, x) in &named {
            let _ = write!(
                h,
                "<tr><th scope=\"row\"><a href=\"#{}\"{tenant_lang}>{}</a></th><td>{}</td></tr>",
                escape(&anchor(id.as_str())),
                escape(view.name_of(id)),
                escape(&text::value(lang, m.unit, *x))
            );
        }
        h.push_str("</tbody></table></div>\n");
    }
    // The definitions are published in English; on a Dutch page they say so.
    let def_lang = if lang == Lang::Nl { " lang=\"en\"" } else { "" };
    let _ = writeln!(
        h,
        "<h4>{}</h4><dl class=\"definition\">\
         <dt>{}</dt><dd><code>{}</code> v{}</dd>\
         <dt>{}</dt><dd{def_lang}>{}</dd>\
         <dt>{}</dt><dd{def_lang}>{}</dd>\
         <dt>{}</dt><dd>{}</dd>\
         <dt>{}</dt><dd>{}</dd>\
         <dt>{}</dt><dd>{} {}</dd></dl>\n</section>",
        w.definition,
        w.id_version,
        escape(m.id),
        m.version,
        w.above,
        escape(m.numerator),
        w.below,
        escape(m.denominator),
        w.unit,
        escape(&w.unit(m.unit)),
        w.better,
        w.direction(m.direction),
        w.least,
        t.count(m.min_items),
        w.items(m.items),
    );
}

/// The scale a range is drawn on: a share from 0 to 1, a mean over its scale, a volume
/// from 0 to a little above the highest value shown.
fn scale(unit: Unit, quartiles: &Quartiles, named: &[(&Code, f64)]) -> (f64, f64) {
    match unit {
        Unit::Share => (0.0, 1.0),
        Unit::Mean { min, max } => (f64::from(min), f64::from(max)),
        Unit::PerThousandInhabitants => {
            let top = named
                .iter()
                .map(|(_, x)| *x)
                .fold(quartiles.q3, f64::max)
                .max(f64::MIN_POSITIVE);
            (0.0, top * 1.1)
        }
    }
}

/// The group's spread as an SVG range: the axis with its ends, a box from Q1 to Q3, the
/// median, and a dot per named value; its text alternative says every number.
#[allow(clippy::too_many_arguments)]
fn range(
    h: &mut String,
    view: &View,
    i: usize,
    m: &Metric,
    q: &Quartiles,
    named: &[(&Code, f64)],
    lang: Lang,
    w: &Words,
) {
    const WIDTH: f64 = 400.0;
    const PAD: f64 = 20.0;
    let (lo, hi) = scale(m.unit, q, named);
    let x = |v: f64| {
        let share = if hi > lo { (v - lo) / (hi - lo) } else { 0.0 };
        PAD + share.clamp(0.0, 1.0) * (WIDTH - 2.0 * PAD)
    };
    let v = |x: f64| text::value(lang, m.unit, x);
    let mut alt = format!(
        "{}: {} {}, {} {}, {} {}",
        w.spread,
        w.q1,
        v(q.q1),
        w.median,
        v(q.median),
        w.q3,
        v(q.q3)
    );
    for (id, value) in named {
        let _ = write!(alt, "; {} {}", view.name_of(id), v(*value));
    }
    let _ = write!(
        h,
        "<svg class=\"range\" viewBox=\"0 0 {WIDTH} 60\" role=\"img\" aria-labelledby=\"m{i}-alt\">\
         <title id=\"m{i}-alt\">{}</title>\
         <line class=\"axis\" x1=\"{PAD}\" y1=\"30\" x2=\"{}\" y2=\"30\"/>\
         <rect class=\"box\" x=\"{:.1}\" y=\"18\" width=\"{:.1}\" height=\"24\"/>\
         <line class=\"median\" x1=\"{:.1}\" y1=\"14\" x2=\"{:.1}\" y2=\"46\"/>",
        escape(&alt),
        WIDTH - PAD,
        x(q.q1),
        (x(q.q3) - x(q.q1)).max(1.0),
        x(q.median),
        x(q.median),
    );
    for (_, value) in named {
        let _ = write!(
            h,
            "<circle class=\"value\" cx=\"{:.1}\" cy=\"30\" r=\"4\"/>",
            x(*value)
        );
    }
    let _ = writeln!(
        h,
        "<text x=\"{PAD}\" y=\"58\" text-anchor=\"start\">{}</text>\
         <text x=\"{}\" y=\"58\" text-anchor=\"end\">{}</text></svg>",
        escape(&v(lo)),
        WIDTH - PAD,
        escape(&v(hi))
    );
}

/// The named participants, each with an anchor (`deelnemer-{id}`) and its values.
fn named(h: &mut String, view: &View, lang: Lang, w: &Words) {
    let _ = writeln!(h, "<h2 id=\"named\">{}</h2>", w.named);
    if view.named.is_empty() {
        let _ = writeln!(h, "<p>{}</p>", w.named_none);
        return;
    }
    let _ = writeln!(h, "<p>{}</p>", w.named_intro);
    let tenant_lang = if lang == Lang::En { " lang=\"nl\"" } else { "" };
    // Each participant's shown values, by metric in the registry's order.
    let mut values: BTreeMap<&Code, Vec<(&Metric, f64)>> = BTreeMap::new();
    for f in &view.public.figures.figures {
        if let Some(by_id) = view.public.named.get(&f.metric.reference()) {
            for (id, x) in by_id {
                values.entry(id).or_default().push((&f.metric, *x));
            }
        }
    }
    for (k, id) in view.named.keys().enumerate() {
        let _ = writeln!(
            h,
            "<section class=\"participant\" id=\"{}\" aria-labelledby=\"p{k}-name\">\
             <h3 id=\"p{k}-name\"{tenant_lang}>{}</h3>",
            escape(&anchor(id.as_str())),
            escape(view.name_of(id))
        );
        match values.get(id) {
            None => {
                let _ = writeln!(h, "<p>{}</p>", w.no_value);
            }
            Some(shown) => {
                let _ = write!(
                    h,
                    "<div class=\"scroll\" role=\"region\" aria-labelledby=\"p{k}-values\" tabindex=\"0\">\
                     <table><caption id=\"p{k}-values\">{}</caption><thead><tr>\
                     <th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
                    w.value, w.metric, w.value
                );
                for (m, x) in shown {
                    let _ = write!(
                        h,
                        "<tr><th scope=\"row\"><a href=\"#m-{}\">{}</a></th><td>{}</td></tr>",
                        escape(m.id),
                        escape(title(m, lang)),
                        escape(&text::value(lang, m.unit, *x))
                    );
                }
                h.push_str("</tbody></table></div>\n");
            }
        }
        h.push_str("</section>\n");
    }
}
