//! The dashboard as HTML: built on the server, no script, every text escaped by the
//! thermometer's `escape`, the thermometer's style block (design tokens) with the
//! charts' rules added. Each chart is followed by a table of the same figures.

use super::View;
use super::chart::{Line, svg};
use super::request::step_name;
use crate::thermometer::html::{STYLE, escape};
use crate::thermometer::text::Lang;
use midoffice_domain::contact::Channel;
use midoffice_domain::figures::{Figures, Period};
use midoffice_domain::rollup::Step;
use std::fmt::Write;

/// The charts' rules, after the thermometer's.
const CHART_STYLE: &str = "\
.chart{inline-size:100%;max-inline-size:40rem;block-size:auto;display:block}\
.chart .grid{stroke:var(--midoffice-thermometer-border-color);stroke-width:.5}\
.chart .axis{font-size:11px;fill:var(--midoffice-thermometer-text-color)}\
.chart .line{fill:none;stroke-width:2}\
.l0{stroke:#01689b;fill:#01689b}.l1{stroke:#b3141d;fill:#b3141d}\
.l2{stroke:#0b6b32;fill:#0b6b32}.l3{stroke:#8a4b00;fill:#8a4b00}\
.l4{stroke:#5b2c83;fill:#5b2c83}.l5{stroke:#1a1a1a;fill:#1a1a1a}\
.chart .line{fill:none}\
.family{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start;\
border-block-start:1px solid var(--midoffice-thermometer-border-color);padding-block:1rem}\
.family>div{flex:1 1 20rem}\
form{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:flex-end}\
input:focus-visible,select:focus-visible,button:focus-visible{\
outline:3px solid var(--midoffice-thermometer-focus-color);outline-offset:2px}\
label{display:flex;flex-direction:column;font-weight:700}";

/// The words of the dashboard.
struct Words {
    title: &'static str,
    filter: &'static str,
    from: &'static str,
    to: &'static str,
    step: &'static str,
    steps: [&'static str; 3],
    channel: &'static str,
    all: &'static str,
    topic: &'static str,
    department: &'static str,
    show: &'static str,
    csv: &'static str,
    period: &'static str,
    fcr: &'static str,
    repeat: &'static str,
    repeat_story: &'static str,
    repeat_contact: &'static str,
    referral: &'static str,
    referred: &'static str,
    hops: &'static str,
    mix: &'static str,
    contacts: &'static str,
    response: &'static str,
    satisfaction_effort: &'static str,
    satisfaction: &'static str,
    effort: &'static str,
    norms: &'static str,
    no_norms: &'static str,
}

const NL: Words = Words {
    title: "Dashboard",
    filter: "Filter",
    from: "Van",
    to: "Tot en met",
    step: "Stap",
    steps: ["dag", "week", "maand"],
    channel: "Kanaal",
    all: "alle",
    topic: "Onderwerp",
    department: "Afdeling",
    show: "Toon",
    csv: "Download als CSV",
    period: "Periode",
    fcr: "Afgehandeld bij eerste contact",
    repeat: "Herhaald verhaal en herhaalcontact",
    repeat_story: "Herhaald verhaal",
    repeat_contact: "Herhaalcontact",
    referral: "Doorverwijzingen",
    referred: "Zaken vaker dan eens doorverwezen",
    hops: "Kanaalwisselingen",
    mix: "Contacten per kanaal",
    contacts: "Contacten",
    response: "Reactietijd (mediaan) per kanaal",
    satisfaction_effort: "Tevredenheid en moeite",
    satisfaction: "Tevredenheid",
    effort: "Moeite",
    norms: "Normen: aandeel binnen de norm",
    no_norms: "De normen zijn nu niet beschikbaar.",
};

const EN: Words = Words {
    title: "Dashboard",
    filter: "Filter",
    from: "From",
    to: "To (included)",
    step: "Step",
    steps: ["day", "week", "month"],
    channel: "Channel",
    all: "all",
    topic: "Topic",
    department: "Department",
    show: "Show",
    csv: "Download as CSV",
    period: "Period",
    fcr: "First-contact resolution",
    repeat: "Repeat story and repeat contact",
    repeat_story: "Repeat story",
    repeat_contact: "Repeat contact",
    referral: "Referral rate",
    referred: "Cases referred more than once",
    hops: "Channel hops",
    mix: "Contacts per channel",
    contacts: "Contacts",
    response: "Response time (median) per channel",
    satisfaction_effort: "Satisfaction and effort",
    satisfaction: "Satisfaction",
    effort: "Effort",
    norms: "Norms: share within the norm",
    no_norms: "The norms are not available now.",
};

/// The page and the contents of its one `<style>` block (for the CSP hash).
pub struct Html {
    pub page: String,
    pub style: String,
}

/// How a chart's values read in its table.
#[derive(Clone, Copy)]
enum Kind {
    Share,
    Count,
    Seconds,
    Score,
}

impl Kind {
    fn cell(self, v: Option<f64>) -> String {
        match (self, v) {
            (_, None) => "–".to_owned(),
            (Kind::Share, Some(v)) => format!("{:.1}%", v * 100.0),
            (Kind::Count, Some(v)) => format!("{v:.0}"),
            (Kind::Seconds, Some(v)) => format!("{v:.0} s"),
            (Kind::Score, Some(v)) => format!("{v:.2}"),
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Kind::Share => "%",
            Kind::Seconds => " s",
            Kind::Count | Kind::Score => "",
        }
    }
}

/// The label of a period on the axis and in the tables.
fn label(period: &Period, step: Step) -> String {
    match step {
        Step::Month => period.from.format("%Y-%m").to_string(),
        Step::Week => period.from.format("%G-W%V").to_string(),
        Step::Day => period.from.to_string(),
    }
}

/// A chart and its table, in one section.
fn family(
    out: &mut String,
    title: &str,
    period: &str,
    labels: &[String],
    lines: &[Line],
    kind: Kind,
) {
    let chart = svg(
        title,
        labels,
        lines,
        matches!(kind, Kind::Share),
        kind.unit(),
    );
    let _ = write!(
        out,
        "<section class=\"family\"><div><h2>{}</h2>{chart}</div>\
         <div class=\"scroll\" role=\"region\" aria-label=\"{}\" tabindex=\"0\"><table>\
         <caption>{}</caption><thead><tr><th scope=\"col\">{}</th>",
        escape(title),
        escape(title),
        escape(title),
        escape(period)
    );
    for l in lines {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(&l.name));
    }
    out.push_str("</tr></thead><tbody>");
    for (i, label) in labels.iter().enumerate() {
        let _ = write!(out, "<tr><th scope=\"row\">{}</th>", escape(label));
        for l in lines {
            let _ = write!(
                out,
                "<td>{}</td>",
                kind.cell(l.values.get(i).copied().flatten())
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div></section>");
}

fn line(name: &str, series: &[(Period, Figures)], f: impl Fn(&Figures) -> Option<f64>) -> Line {
    Line {
        name: name.to_owned(),
        values: series.iter().map(|(_, fig)| f(fig)).collect(),
    }
}

/// The dashboard as HTML in `lang`.
pub fn html(view: &View, lang: Lang) -> Html {
    let w = if lang == Lang::En { &EN } else { &NL };
    let style = format!("{STYLE}{CHART_STYLE}");
    let tenant = escape(view.tenant.as_str());
    let name = escape(&view.name);
    let labels: Vec<String> = view
        .series
        .iter()
        .map(|(p, _)| label(p, view.step))
        .collect();
    let s = &view.series;
    let mut body = String::new();

    // The filter: a plain GET form, so it works without script.
    let _ = write!(
        body,
        "<form method=\"get\" action=\"{tenant}\" aria-label=\"{}\">\
         <input type=\"hidden\" name=\"lang\" value=\"{}\">\
         <label>{}<input type=\"date\" name=\"from\" value=\"{}\" required></label>\
         <label>{}<input type=\"date\" name=\"to\" value=\"{}\" required></label>\
         <label>{}<select name=\"step\">",
        w.filter,
        lang.code(),
        w.from,
        view.days.from,
        w.to,
        view.days.to,
        w.step
    );
    for (step, word) in [Step::Day, Step::Week, Step::Month]
        .into_iter()
        .zip(w.steps)
    {
        let selected = if step == view.step { " selected" } else { "" };
        let _ = write!(
            body,
            "<option value=\"{}\"{selected}>{word}</option>",
            step_name(step)
        );
    }
    let _ = write!(
        body,
        "</select></label><label>{}<select name=\"channel\"><option value=\"\">{}</option>",
        w.channel, w.all
    );
    for c in Channel::ALL {
        let selected = if view.filter.channel == Some(c) {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            body,
            "<option value=\"{}\"{selected}>{}</option>",
            c.as_str().to_ascii_lowercase(),
            c.as_str()
        );
    }
    let code = |c: &Option<midoffice_domain::Code>| {
        c.as_ref().map(|c| escape(c.as_str())).unwrap_or_default()
    };
    let topic = code(&view.filter.topic);
    let department = code(&view.filter.department);
    let _ = write!(
        body,
        "</select></label>\
         <label>{}<input type=\"text\" name=\"topic\" value=\"{topic}\"></label>\
         <label>{}<input type=\"text\" name=\"department\" value=\"{department}\"></label>\
         <button type=\"submit\">{}</button></form>",
        w.topic, w.department, w.show
    );
    let channel = view
        .filter
        .channel
        .map(|c| c.as_str().to_ascii_lowercase())
        .unwrap_or_default();
    let _ = write!(
        body,
        "<p><a href=\"{tenant}.csv?from={}&amp;to={}&amp;step={}&amp;channel={channel}\
         &amp;topic={topic}&amp;department={department}\" download>{}</a></p>",
        view.days.from,
        view.days.to,
        step_name(view.step),
        w.csv
    );

    family(
        &mut body,
        w.fcr,
        w.period,
        &labels,
        &[line(w.fcr, s, |f| f.first_contact_resolution)],
        Kind::Share,
    );
    family(
        &mut body,
        w.repeat,
        w.period,
        &labels,
        &[
            line(w.repeat_story, s, |f| f.repeat_story_rate),
            line(w.repeat_contact, s, |f| f.repeat_contact_rate),
        ],
        Kind::Share,
    );
    family(
        &mut body,
        w.referral,
        w.period,
        &labels,
        &[line(w.referral, s, |f| f.referral_rate)],
        Kind::Share,
    );
    family(
        &mut body,
        w.referred,
        w.period,
        &labels,
        &[line(w.referred, s, |f| {
            Some(f.cases_referred_more_than_once as f64)
        })],
        Kind::Count,
    );
    // Where self-service fails citizens: the hops by the assisted channel they went to
    // (a hop is an inbound contact on an assisted channel after a web contact), beside
    // the total.
    let mut hops = vec![line(w.hops, s, |f| Some(f.channel_hops as f64))];
    hops.extend(
        view.by_channel
            .iter()
            .filter(|(c, _)| *c != Channel::Web)
            .map(|(c, each)| Line {
                name: c.as_str().to_owned(),
                values: each.iter().map(|f| Some(f.channel_hops as f64)).collect(),
            }),
    );
    family(&mut body, w.hops, w.period, &labels, &hops, Kind::Count);
    let mix: Vec<Line> = if view.by_channel.is_empty() {
        vec![line(w.contacts, s, |f| Some(f.contacts as f64))]
    } else {
        view.by_channel
            .iter()
            .map(|(c, each)| Line {
                name: c.as_str().to_owned(),
                values: each.iter().map(|f| Some(f.contacts as f64)).collect(),
            })
            .collect()
    };
    family(&mut body, w.mix, w.period, &labels, &mix, Kind::Count);
    let response: Vec<Line> = Channel::ALL
        .into_iter()
        .filter(|c| view.filter.channel.is_none_or(|only| only == *c))
        .map(|c| {
            line(c.as_str(), s, |f| {
                f.response_times
                    .iter()
                    .find(|r| r.channel == c && r.answered > 0)
                    .map(|r| r.p50_seconds as f64)
            })
        })
        .collect();
    family(
        &mut body,
        w.response,
        w.period,
        &labels,
        &response,
        Kind::Seconds,
    );
    family(
        &mut body,
        w.satisfaction_effort,
        w.period,
        &labels,
        &[
            line(w.satisfaction, s, |f| f.satisfaction_score),
            line(w.effort, s, |f| f.effort_score),
        ],
        Kind::Score,
    );
    match &view.norms {
        Some(norms) => {
            let norm_labels: Vec<String> = norms.iter().map(|(p, _)| label(p, view.step)).collect();
            // One line per norm, in the order of the most recent period.
            let ids: Vec<(String, String)> = norms
                .last()
                .map(|(_, rs)| {
                    rs.iter()
                        .map(|r| (r.norm_id.to_string(), r.title.clone()))
                        .collect()
                })
                .unwrap_or_default();
            let lines: Vec<Line> = ids
                .iter()
                .map(|(id, title)| Line {
                    name: title.clone(),
                    values: norms
                        .iter()
                        .map(|(_, rs)| {
                            rs.iter()
                                .find(|r| r.norm_id.as_str() == id)
                                .and_then(|r| r.share())
                        })
                        .collect(),
                })
                .collect();
            family(
                &mut body,
                w.norms,
                w.period,
                &norm_labels,
                &lines,
                Kind::Share,
            );
        }
        None => {
            let _ = write!(body, "<h2>{}</h2><p>{}</p>", w.norms, w.no_norms);
        }
    }

    let page = format!(
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\">\
         <title>{} – {name}</title><style>{style}</style></head>\
         <body><main class=\"page\"><h1>{} – {name}</h1>{body}</main></body></html>",
        lang.code(),
        w.title,
        w.title
    );
    Html { page, style }
}
