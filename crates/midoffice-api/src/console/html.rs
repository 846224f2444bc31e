//! The console's screens as HTML: built on the server, no script, every text escaped by
//! the thermometer's `escape`, the thermometer's style block (design tokens) with the
//! console's rules added. Dutch.
//!
//! A form field is named by the request field it fills (`start.topic`,
//! `completion.story`), so a `BadRequest` field violation is shown next to the field it
//! names; violations no field shows are listed in the summary at the top.

use super::{PREFIX, encode};
use crate::pb;
use crate::thermometer::html::{STYLE, escape};
use midoffice_domain::TenantId;
use std::fmt::Write;

/// The console's rules, after the thermometer's.
const CONSOLE_STYLE: &str = "\
form{margin:.5rem 0 1rem}\
.field{display:flex;flex-direction:column;margin:.5rem 0;max-inline-size:30rem}\
label{font-weight:700}\
.hint{margin:0;font-size:.9rem}\
input,select,textarea,button{font:inherit;max-inline-size:100%}\
input[type=text],input[type=datetime-local],select,textarea{\
border:2px solid var(--midoffice-thermometer-border-color);padding:.25rem}\
.check{flex-direction:row;gap:.5rem;align-items:center}\
button{border:2px solid var(--midoffice-thermometer-primary-color);\
background:var(--midoffice-thermometer-primary-color);color:#ffffff;padding:.4rem 1rem;\
cursor:pointer;margin-block-start:.5rem}\
input:focus-visible,select:focus-visible,textarea:focus-visible,button:focus-visible{\
outline:3px solid var(--midoffice-thermometer-focus-color);outline-offset:2px}\
.error{color:var(--midoffice-thermometer-red-color);font-weight:700;margin:0}\
.errors{border:3px solid var(--midoffice-thermometer-red-color);padding:.5rem 1rem;margin:1rem 0}\
.errors:focus{outline:3px solid var(--midoffice-thermometer-focus-color)}\
.notice{border-inline-start:6px solid var(--midoffice-thermometer-primary-color);\
padding:.5rem 1rem;margin:1rem 0}\
.signals{list-style:none;padding:0;margin:.5rem 0}\
.signals li{border:2px solid var(--midoffice-thermometer-amber-color);\
border-inline-start-width:8px;padding:.25rem .75rem;margin:.25rem 0;font-weight:700}\
.signals .sig{display:inline-block;min-inline-size:1.6em;text-align:center;\
margin-inline-end:.4em;border-radius:.3em;color:#ffffff;\
background:var(--midoffice-thermometer-amber-color)}\
.case{border:1px solid var(--midoffice-thermometer-border-color);padding:.5rem 1rem;margin:1rem 0}\
.story{margin:.5rem 0;padding-inline-start:.75rem;\
border-inline-start:3px solid var(--midoffice-thermometer-border-color);overflow-wrap:anywhere}\
.story p{margin:0}\
td,th{vertical-align:top}\
.scroll table{min-inline-size:40rem}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}\
dt{font-weight:700}dd{margin:0;overflow-wrap:anywhere}";

/// A page and the contents of its one `<style>` block (for the CSP hash).
pub struct Screen {
    pub page: String,
    pub style: String,
}

/// A form's state: its fresh token, the values to show and the violations to show.
#[derive(Debug, Default)]
pub struct Form {
    pub token: String,
    pub values: Vec<(String, String)>,
    /// `(field, description)`; the field as the API names it.
    pub errors: Vec<(String, String)>,
}

impl Form {
    fn value(&self, name: &str) -> String {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// The violations of the field `name` (after [`Form::placed`]).
    fn errors_of(&self, name: &str) -> Vec<&str> {
        self.errors
            .iter()
            .filter(|(f, _)| f == name)
            .map(|(_, d)| d.as_str())
            .collect()
    }

    /// The form with each violation named by the input that shows it: the input it
    /// names or is part of, or, for a violation of a message (`identifiers`,
    /// `completion.referred_to`), the first input inside it; else as the API named it.
    fn placed(&self, fields: &[(&str, &str)]) -> Form {
        let errors = self
            .errors
            .iter()
            .map(|(f, d)| {
                let inside = |n: &&(&str, &str)| f == n.0 || f.starts_with(&format!("{}.", n.0));
                let parent = |n: &&(&str, &str)| n.0.starts_with(&format!("{f}."));
                let at = fields
                    .iter()
                    .find(inside)
                    .or_else(|| fields.iter().find(parent))
                    .map_or(f.clone(), |n| n.0.to_owned());
                (at, d.clone())
            })
            .collect();
        Form {
            token: self.token.clone(),
            values: self.values.clone(),
            errors,
        }
    }
}

/// A message above the look-up form.
#[derive(Clone, Copy, Debug)]
pub enum Notice {
    /// The identifiers lead to more than one citizen.
    Ambiguous,
    /// A start or record was sent without a citizen looked up.
    LookUpFirst,
}

fn id_of(name: &str) -> String {
    name.replace('.', "-")
}

fn page(tenant: &TenantId, title: &str, body: &str) -> Screen {
    let style = format!("{STYLE}{CONSOLE_STYLE}");
    let t = escape(tenant.as_str());
    let base = format!("{PREFIX}/{t}");
    let page = format!(
        "<!DOCTYPE html><html lang=\"nl\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\">\
         <title>{title} – console {t}</title><style>{style}</style></head>\
         <body><a class=\"skip\" href=\"#main\">Naar de inhoud</a>\
         <div class=\"page\"><header class=\"masthead\"><p class=\"org\">Console {t}</p>\
         <nav aria-label=\"Console\"><ul><li><a href=\"{base}\">Burger opzoeken</a></li>\
         <li><a href=\"{base}/worklist\">Werkvoorraad</a></li></ul></nav></header>\
         <main id=\"main\" tabindex=\"-1\"><h1>{title}</h1>{body}</main></div></body></html>"
    );
    Screen { page, style }
}

/// The error summary of a form, when it has violations: each linked to its field, or
/// as the API named it when no field of the form shows it.
fn summary(out: &mut String, form: &Form, fields: &[(&str, &str)]) {
    if form.errors.is_empty() {
        return;
    }
    out.push_str("<div class=\"errors\" role=\"alert\"><h2>Controleer het formulier</h2><ul>");
    for (f, d) in &form.errors {
        let shown = fields.iter().find(|(name, _)| f == name);
        match shown {
            Some((name, label)) => {
                let _ = write!(
                    out,
                    "<li><a href=\"#{}\">{}: {}</a></li>",
                    id_of(name),
                    escape(label),
                    escape(d)
                );
            }
            None if f.is_empty() => {
                let _ = write!(out, "<li>{}</li>", escape(d));
            }
            None => {
                let _ = write!(out, "<li>{}: {}</li>", escape(f), escape(d));
            }
        }
    }
    out.push_str("</ul></div>");
}

enum Input<'a> {
    Text,
    Numeric,
    Email,
    Tel,
    Area,
    Time,
    Check,
    Choice(&'a [(&'a str, &'a str)]),
}

fn input(out: &mut String, form: &Form, name: &str, label: &str, kind: Input, hint: &str) {
    let id = id_of(name);
    let value = escape(&form.value(name));
    let errors = form.errors_of(name);
    let mut described = Vec::new();
    if !hint.is_empty() {
        described.push(format!("{id}-hint"));
    }
    if !errors.is_empty() {
        described.push(format!("{id}-error"));
    }
    let aria = if described.is_empty() {
        String::new()
    } else {
        format!(" aria-describedby=\"{}\"", described.join(" "))
    };
    let invalid = if errors.is_empty() {
        ""
    } else {
        " aria-invalid=\"true\""
    };
    let class = if matches!(kind, Input::Check) {
        "field check"
    } else {
        "field"
    };
    let _ = write!(
        out,
        "<div class=\"{class}\"><label for=\"{id}\">{}</label>",
        escape(label)
    );
    if !hint.is_empty() {
        let _ = write!(
            out,
            "<p class=\"hint\" id=\"{id}-hint\">{}</p>",
            escape(hint)
        );
    }
    if !errors.is_empty() {
        let _ = write!(out, "<p class=\"error\" id=\"{id}-error\">");
        for e in &errors {
            let _ = write!(
                out,
                "<span aria-hidden=\"true\">✖ </span>Fout: {} ",
                escape(e)
            );
        }
        out.push_str("</p>");
    }
    let common = format!("id=\"{id}\" name=\"{name}\"{aria}{invalid}");
    match kind {
        Input::Text => {
            let _ = write!(out, "<input type=\"text\" {common} value=\"{value}\">");
        }
        Input::Numeric => {
            let _ = write!(
                out,
                "<input type=\"text\" inputmode=\"numeric\" autocomplete=\"off\" {common} \
                 value=\"{value}\">"
            );
        }
        Input::Email => {
            let _ = write!(
                out,
                "<input type=\"text\" inputmode=\"email\" autocomplete=\"off\" {common} \
                 value=\"{value}\">"
            );
        }
        Input::Tel => {
            let _ = write!(
                out,
                "<input type=\"text\" inputmode=\"tel\" autocomplete=\"off\" {common} \
                 value=\"{value}\">"
            );
        }
        Input::Area => {
            let _ = write!(out, "<textarea rows=\"4\" {common}>{value}</textarea>");
        }
        Input::Time => {
            let _ = write!(
                out,
                "<input type=\"datetime-local\" {common} value=\"{value}\">"
            );
        }
        Input::Check => {
            let checked = if value == "on" { " checked" } else { "" };
            let _ = write!(out, "<input type=\"checkbox\" {common}{checked}>");
        }
        Input::Choice(options) => {
            let _ = write!(out, "<select {common}>");
            for (v, text) in options {
                let selected = if *v == value { " selected" } else { "" };
                let _ = write!(
                    out,
                    "<option value=\"{v}\"{selected}>{}</option>",
                    escape(text)
                );
            }
            out.push_str("</select>");
        }
    }
    out.push_str("</div>");
}

const CHANNELS: [(&str, &str); 4] = [
    ("CHANNEL_PHONE", "Telefoon"),
    ("CHANNEL_COUNTER", "Balie"),
    ("CHANNEL_EMAIL", "E-mail"),
    ("CHANNEL_WEB", "Web"),
];

const OUTCOMES: [(&str, &str); 5] = [
    ("OUTCOME_RESOLVED", "Afgehandeld"),
    ("OUTCOME_REFERRED", "Doorverwezen"),
    ("OUTCOME_HANDED_OFF", "Doorgezet naar de backoffice"),
    ("OUTCOME_CALLBACK", "Terugbelverzoek"),
    ("OUTCOME_ABANDONED", "Afgebroken"),
];

fn channel_text(c: i32) -> &'static str {
    match pb::Channel::try_from(c).unwrap_or_default() {
        pb::Channel::Phone => "Telefoon",
        pb::Channel::Counter => "Balie",
        pb::Channel::Email => "E-mail",
        pb::Channel::Web => "Web",
        pb::Channel::Unspecified => "onbekend",
    }
}

fn outcome_text(o: i32) -> &'static str {
    match pb::Outcome::try_from(o).unwrap_or_default() {
        pb::Outcome::Resolved => "Afgehandeld",
        pb::Outcome::Referred => "Doorverwezen",
        pb::Outcome::HandedOff => "Doorgezet naar de backoffice",
        pb::Outcome::Callback => "Terugbelverzoek",
        pb::Outcome::Abandoned => "Afgebroken",
        pb::Outcome::Unspecified => "nog niet afgerond",
    }
}

/// A timestamp in Dutch local time.
fn when(t: Option<&prost_types::Timestamp>) -> String {
    let Some(t) = t else {
        return "–".to_owned();
    };
    match chrono::DateTime::from_timestamp(t.seconds, 0) {
        Some(d) => d
            .with_timezone(&chrono_tz::Europe::Amsterdam)
            .format("%d-%m-%Y %H:%M")
            .to_string(),
        None => "–".to_owned(),
    }
}

/// The text of a signal (with the referral count for "referred again").
fn signal_text(s: i32, referrals: Option<u32>) -> (&'static str, String) {
    match pb::Signal::try_from(s).unwrap_or_default() {
        pb::Signal::ReferredAgain => (
            "↻",
            match referrals {
                Some(n) => format!("Opnieuw: eerder doorverwezen ({n} keer)"),
                None => "Opnieuw: eerder doorverwezen".to_owned(),
            },
        ),
        pb::Signal::ReferralLoop => (
            "⟲",
            "Rondje: terugverwezen naar een afdeling die al doorverwees".to_owned(),
        ),
        pb::Signal::StoryAlreadyTold => (
            "✎",
            "Verhaal al verteld: lees het eerst, laat het niet opnieuw vertellen".to_owned(),
        ),
        pb::Signal::RepeatContact => ("⟳", "Herhaalcontact over deze zaak".to_owned()),
        pb::Signal::ChannelHop => ("⇄", "Kanaalwissel: eerst via het web geprobeerd".to_owned()),
        pb::Signal::CommitmentPending => ("⏲", "Toezegging staat open".to_owned()),
        pb::Signal::CommitmentOverdue => ("!", "Toezegging over tijd".to_owned()),
        pb::Signal::Unspecified => ("?", "Onbekend signaal".to_owned()),
    }
}

fn signals(out: &mut String, list: &[i32], referrals: Option<u32>) {
    if list.is_empty() {
        out.push_str("<p>Geen signalen.</p>");
        return;
    }
    out.push_str("<ul class=\"signals\" aria-label=\"Signalen\">");
    for s in list {
        let (icon, text) = signal_text(*s, referrals);
        let _ = write!(
            out,
            "<li><span class=\"sig\" aria-hidden=\"true\">{icon}</span>{}</li>",
            escape(&text)
        );
    }
    out.push_str("</ul>");
}

fn hidden_token(out: &mut String, form: &Form) {
    let _ = write!(
        out,
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape(&form.token)
    );
}

fn lookup_form(out: &mut String, tenant: &TenantId, form: &Form) {
    let fields = [
        ("identifiers.bsn", "BSN"),
        ("identifiers.phone", "Telefoonnummer"),
        ("identifiers.email", "E-mailadres"),
    ];
    let form = &form.placed(&fields);
    summary(out, form, &fields);
    let _ = write!(
        out,
        "<form method=\"post\" action=\"{PREFIX}/{}/lookup\" aria-labelledby=\"lookup-h\">\
         <h2 id=\"lookup-h\">Burger opzoeken</h2><p>Vul minstens één gegeven in.</p>",
        escape(tenant.as_str())
    );
    hidden_token(out, form);
    input(
        out,
        form,
        "identifiers.bsn",
        "BSN",
        Input::Numeric,
        "9 cijfers",
    );
    input(
        out,
        form,
        "identifiers.phone",
        "Telefoonnummer",
        Input::Tel,
        "",
    );
    input(
        out,
        form,
        "identifiers.email",
        "E-mailadres",
        Input::Email,
        "",
    );
    out.push_str("<button type=\"submit\">Opzoeken</button></form>");
}

/// The look-up screen.
pub fn home(tenant: &TenantId, form: &Form, notice: Option<Notice>) -> Screen {
    let mut body = String::new();
    match notice {
        Some(Notice::Ambiguous) => body.push_str(
            "<div class=\"notice\" role=\"status\"><p>Deze gegevens horen bij meer dan één \
             burger. Vraag naar het BSN.</p></div>",
        ),
        Some(Notice::LookUpFirst) => body.push_str(
            "<div class=\"notice\" role=\"alert\"><p>Zoek de burger eerst op; daarna kunt u \
             een contact starten.</p></div>",
        ),
        None => {}
    }
    lookup_form(&mut body, tenant, form);
    page(tenant, "Burger opzoeken", &body)
}

fn start_form(out: &mut String, tenant: &TenantId, form: &Form) {
    let fields = [
        ("start.channel", "Kanaal"),
        ("start.topic", "Onderwerp"),
        ("start.department", "Afdeling"),
    ];
    let form = &form.placed(&fields);
    summary(out, form, &fields);
    let _ = write!(
        out,
        "<form method=\"post\" action=\"{PREFIX}/{}/start\" aria-labelledby=\"start-h\">\
         <h2 id=\"start-h\">Contact starten</h2>",
        escape(tenant.as_str())
    );
    hidden_token(out, form);
    input(
        out,
        form,
        "start.channel",
        "Kanaal",
        Input::Choice(&CHANNELS),
        "",
    );
    input(
        out,
        form,
        "start.topic",
        "Onderwerp",
        Input::Text,
        "Een code, zoals parkeervergunning",
    );
    input(out, form, "start.department", "Afdeling", Input::Text, "");
    out.push_str("<button type=\"submit\">Contact starten</button></form>");
}

fn completion_fields(out: &mut String, form: &Form) {
    input(
        out,
        form,
        "completion.outcome",
        "Resultaat",
        Input::Choice(&OUTCOMES),
        "",
    );
    input(
        out,
        form,
        "completion.story",
        "Verhaal",
        Input::Area,
        "Wat vertelde de burger? Noem geen BSN, e-mailadres of telefoonnummer.",
    );
    input(
        out,
        form,
        "completion.department",
        "Behandelende afdeling",
        Input::Text,
        "",
    );
    input(
        out,
        form,
        "completion.referred_to.department",
        "Doorverwezen naar afdeling",
        Input::Text,
        "Bij Doorverwezen: de afdeling",
    );
    input(
        out,
        form,
        "completion.referred_to.organisation",
        "Of doorverwezen naar organisatie",
        Input::Text,
        "",
    );
    input(
        out,
        form,
        "completion.due_at",
        "Uiterlijk (terugbellen of doorzetten)",
        Input::Time,
        "Leeg: de standaardtermijn",
    );
    input(
        out,
        form,
        "completion.story_repeated",
        "De burger moest het verhaal opnieuw vertellen",
        Input::Check,
        "",
    );
}

const COMPLETION_LABELS: [(&str, &str); 7] = [
    ("completion.outcome", "Resultaat"),
    ("completion.story", "Verhaal"),
    ("completion.department", "Behandelende afdeling"),
    (
        "completion.referred_to.department",
        "Doorverwezen naar afdeling",
    ),
    (
        "completion.referred_to.organisation",
        "Doorverwezen naar organisatie",
    ),
    ("completion.due_at", "Uiterlijk"),
    ("completion.story_repeated", "Verhaal opnieuw verteld"),
];

fn complete_form(out: &mut String, tenant: &TenantId, id: &str, form: &Form) {
    let form = &form.placed(&COMPLETION_LABELS);
    summary(out, form, &COMPLETION_LABELS);
    let _ = write!(
        out,
        "<form method=\"post\" action=\"{PREFIX}/{}/contact/{}/complete\" \
         aria-labelledby=\"complete-h\"><h2 id=\"complete-h\">Contact afronden</h2>",
        escape(tenant.as_str()),
        escape(&encode(id))
    );
    hidden_token(out, form);
    completion_fields(out, form);
    out.push_str("<button type=\"submit\">Contact afronden</button></form>");
}

/// Now in the tenant's local time (Europe/Amsterdam, as the console reads the times it is
/// given), as a `datetime-local` value.
fn local_now() -> String {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Amsterdam)
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

fn record_form(out: &mut String, tenant: &TenantId, form: &Form) {
    let mut labels = vec![
        ("start.channel", "Kanaal"),
        ("start.topic", "Onderwerp"),
        ("start.started_at", "Begin"),
        ("completion.ended_at", "Einde"),
    ];
    labels.extend(COMPLETION_LABELS);
    labels.push(("context_seen", "Klantbeeld vooraf gezien"));
    let mut form = form.placed(&labels);
    // The times default to now; a form sent back keeps what the agent gave.
    for name in ["start.started_at", "completion.ended_at"] {
        if !form.values.iter().any(|(n, _)| n == name) {
            form.values.push((name.to_owned(), local_now()));
        }
    }
    let form = &form;
    summary(out, form, &labels);
    let _ = write!(
        out,
        "<details><summary>Een heel contact achteraf vastleggen</summary>\
         <form method=\"post\" action=\"{PREFIX}/{}/record\" aria-labelledby=\"record-h\">\
         <h2 id=\"record-h\">Contact vastleggen</h2>",
        escape(tenant.as_str())
    );
    hidden_token(out, form);
    input(
        out,
        form,
        "start.channel",
        "Kanaal",
        Input::Choice(&CHANNELS),
        "",
    );
    input(out, form, "start.topic", "Onderwerp", Input::Text, "");
    input(
        out,
        form,
        "start.started_at",
        "Begin van het contact",
        Input::Time,
        "Leeg: nu",
    );
    input(
        out,
        form,
        "completion.ended_at",
        "Einde van het contact",
        Input::Time,
        "Leeg: nu",
    );
    completion_fields(out, form);
    input(
        out,
        form,
        "context_seen",
        "De medewerker zag het klantbeeld vóór het contact",
        Input::Check,
        "",
    );
    out.push_str("<button type=\"submit\">Vastleggen</button></form></details>");
}

/// The screen of a citizen the look-up did not find.
pub fn new_citizen(tenant: &TenantId, known: bool, start: &Form, record: &Form) -> Screen {
    let mut body = String::new();
    if known {
        body.push_str(
            "<div class=\"notice\" role=\"status\"><p>Niemand gevonden met deze gegevens. \
             Een contact starten legt deze burger vast.</p></div>",
        );
        start_form(&mut body, tenant, start);
        record_form(&mut body, tenant, record);
    } else {
        let _ = write!(
            body,
            "<p><a href=\"{PREFIX}/{}\">Zoek eerst een burger op.</a></p>",
            escape(tenant.as_str())
        );
    }
    page(tenant, "Nieuwe burger", &body)
}

/// The start form again, with the API's violations.
pub fn start_again(tenant: &TenantId, form: &Form) -> Screen {
    let mut body = String::new();
    start_form(&mut body, tenant, form);
    page(tenant, "Contact starten", &body)
}

/// The record form again, with the violations.
pub fn record_again(tenant: &TenantId, form: &Form) -> Screen {
    let mut body = String::new();
    record_form(&mut body, tenant, form);
    // Shown open: the details element would hide the errors.
    let body = body.replacen("<details>", "<details open>", 1);
    page(tenant, "Contact vastleggen", &body)
}

/// The completion form again, with the violations.
pub fn complete_again(tenant: &TenantId, id: &str, form: &Form) -> Screen {
    let mut body = String::new();
    complete_form(&mut body, tenant, id, form);
    let _ = write!(
        body,
        "<p><a href=\"{PREFIX}/{}/contact/{}\">Terug naar het contact</a></p>",
        escape(tenant.as_str()),
        escape(&encode(id))
    );
    page(tenant, "Contact afronden", &body)
}

fn party_line(party: Option<&pb::Party>) -> String {
    match party {
        Some(p) if !p.bsn_masked.is_empty() => format!("BSN {}", escape(&p.bsn_masked)),
        Some(p) if p.has_kvk => "bekend met KvK-nummer".to_owned(),
        _ => "zonder BSN bekend".to_owned(),
    }
}

fn stories(out: &mut String, list: &[pb::Story]) {
    for s in list {
        let _ = write!(
            out,
            "<div class=\"story\"><p><strong>{} via {}{}</strong> – {}</p><p>{}</p></div>",
            when(s.started_at.as_ref()),
            channel_text(s.channel),
            if s.department.is_empty() {
                String::new()
            } else {
                format!(", {}", escape(&s.department))
            },
            outcome_text(s.outcome),
            escape(&s.text)
        );
    }
}

fn case_block(out: &mut String, c: &pb::Case, heading: &str) {
    let topic = if c.topic.is_empty() {
        "zonder onderwerp".to_owned()
    } else {
        escape(&c.topic)
    };
    let status = if c.status == pb::CaseStatus::Open as i32 {
        "open"
    } else {
        "afgehandeld"
    };
    let _ = write!(
        out,
        "<section class=\"case\" aria-label=\"{heading}: {topic}\"><h3>{heading}: {topic} \
         ({status})</h3>"
    );
    signals(out, &c.signals, Some(c.referral_count));
    if c.referral_count > 0 {
        let _ = write!(out, "<p>Doorverwezen: {} keer.</p>", c.referral_count);
    }
    if !c.open_commitments.is_empty() {
        let _ = write!(
            out,
            "<h4>Open toezeggingen ({})</h4><ul>",
            c.open_commitment_count
        );
        for m in &c.open_commitments {
            let kind = if m.kind == pb::CommitmentKind::Callback as i32 {
                "Terugbellen"
            } else {
                "Doorgezet"
            };
            let late = if m.overdue {
                " – <strong><span aria-hidden=\"true\">! </span>over tijd</strong>"
            } else {
                ""
            };
            let _ = write!(
                out,
                "<li>{kind}, uiterlijk {}{late}</li>",
                when(m.due_at.as_ref())
            );
        }
        out.push_str("</ul>");
    }
    if c.story_count > 0 {
        let n = c.story_count;
        let word = if n == 1 { "verhaal" } else { "verhalen" };
        let _ = write!(out, "<h4>Eerder verteld ({n} {word})</h4>");
        stories(out, &c.stories);
    }
    out.push_str("</section>");
}

fn history_table(out: &mut String, contacts: &[pb::Contact], tenant: &TenantId) {
    if contacts.is_empty() {
        out.push_str("<p>Geen contacten.</p>");
        return;
    }
    out.push_str(
        "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Geschiedenis\">\
         <table><caption>Contacten, nieuwste eerst</caption><thead><tr>\
         <th scope=\"col\">Begonnen</th><th scope=\"col\">Kanaal</th>\
         <th scope=\"col\">Onderwerp</th><th scope=\"col\">Resultaat</th>\
         <th scope=\"col\">Verhaal</th><th scope=\"col\">Signalen</th></tr></thead><tbody>",
    );
    for c in contacts {
        let done = c.completion.as_ref();
        let signals: Vec<String> = c
            .signals
            .iter()
            .map(|s| escape(&signal_text(*s, None).1))
            .collect();
        let _ = write!(
            out,
            "<tr><td><a href=\"{PREFIX}/{}/contact/{}\">{}</a></td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(tenant.as_str()),
            escape(&encode(&c.id)),
            when(c.started_at.as_ref()),
            channel_text(c.channel),
            escape(&c.topic),
            outcome_text(done.map_or(0, |d| d.outcome)),
            escape(done.map_or("", |d| d.story.as_str())),
            signals.join("; ")
        );
    }
    out.push_str("</tbody></table></div>");
}

/// The klantbeeld: the citizen's active cases with their signals (when the citizen
/// looked up is this party), the start and record forms, and the history.
pub fn party(
    tenant: &TenantId,
    id: &str,
    context: Option<&pb::Context>,
    history: &pb::ListPartyContactsResponse,
    paged: bool,
    start: &Form,
    record: &Form,
) -> Screen {
    let mut body = String::new();
    let t = escape(tenant.as_str());
    let _ = write!(
        body,
        "<p>Burger {}.</p>",
        party_line(history.party.as_ref())
    );
    match context {
        Some(ctx) => {
            body.push_str("<h2>Lopende zaken</h2>");
            let mut cases: Vec<&pb::Case> = ctx.case.iter().collect();
            cases.extend(ctx.active_cases.iter());
            if cases.is_empty() {
                body.push_str("<p>Geen lopende zaken.</p>");
            }
            for c in cases {
                case_block(&mut body, c, "Zaak");
            }
            if (ctx.active_case_count as usize) > ctx.active_cases.len() + 1 {
                let _ = write!(
                    body,
                    "<p>{} lopende zaken in totaal; de geschiedenis toont alle contacten.</p>",
                    ctx.active_case_count
                );
            }
            start_form(&mut body, tenant, start);
            record_form(&mut body, tenant, record);
        }
        None => {
            let _ = write!(
                body,
                "<div class=\"notice\"><p>Om de lopende zaken te zien of een contact te \
                 starten: <a href=\"{PREFIX}/{t}\">zoek deze burger op</a>.</p></div>"
            );
        }
    }
    body.push_str("<h2 id=\"history\">Geschiedenis</h2>");
    history_table(&mut body, &history.contacts, tenant);
    let self_path = format!("{PREFIX}/{t}/party/{}", escape(&encode(id)));
    body.push_str("<nav aria-label=\"Pagina's van de geschiedenis\"><ul>");
    if paged {
        let _ = write!(
            body,
            "<li><a href=\"{self_path}#history\">Nieuwste contacten</a></li>"
        );
    }
    if !history.next_page_token.is_empty() {
        let _ = write!(
            body,
            "<li><a href=\"{self_path}?page={}#history\">Oudere contacten</a></li>",
            escape(&encode(&history.next_page_token))
        );
    }
    body.push_str("</ul></nav>");
    page(tenant, "Klantbeeld", &body)
}

/// One contact: its signals first, the stories of its case, and the completion form
/// while it is open.
pub fn contact(
    tenant: &TenantId,
    c: &pb::Contact,
    case: Option<&pb::ListPartyContactsResponse>,
    form: &Form,
) -> Screen {
    let mut body = String::new();
    let t = escape(tenant.as_str());
    let referrals = case.map(|l| {
        l.contacts
            .iter()
            .filter(|x| x.id != c.id)
            .filter(|x| {
                x.completion
                    .as_ref()
                    .is_some_and(|d| d.outcome == pb::Outcome::Referred as i32)
            })
            .count() as u32
    });
    body.push_str("<h2>Signalen</h2>");
    signals(&mut body, &c.signals, referrals);
    let _ = write!(
        body,
        "<dl><dt>Kanaal</dt><dd>{}</dd><dt>Begonnen</dt><dd>{}</dd>\
         <dt>Onderwerp</dt><dd>{}</dd><dt>Resultaat</dt><dd>{}</dd></dl>",
        channel_text(c.channel),
        when(c.started_at.as_ref()),
        if c.topic.is_empty() {
            "–".to_owned()
        } else {
            escape(&c.topic)
        },
        outcome_text(c.completion.as_ref().map_or(0, |d| d.outcome))
    );
    if let Some(l) = case {
        let told: Vec<&pb::Contact> = l
            .contacts
            .iter()
            .filter(|x| x.id != c.id)
            .filter(|x| x.completion.as_ref().is_some_and(|d| !d.story.is_empty()))
            .collect();
        if !told.is_empty() {
            let _ = write!(body, "<h2>Eerder verteld ({})</h2>", told.len());
            for x in told {
                let d = x.completion.as_ref();
                let _ = write!(
                    body,
                    "<div class=\"story\"><p><strong>{} via {}</strong> – {}</p><p>{}</p></div>",
                    when(x.started_at.as_ref()),
                    channel_text(x.channel),
                    outcome_text(d.map_or(0, |d| d.outcome)),
                    escape(d.map_or("", |d| d.story.as_str()))
                );
            }
        }
    }
    match &c.completion {
        None => complete_form(&mut body, tenant, &c.id, form),
        Some(d) => {
            let _ = write!(body, "<p>Afgerond op {}.</p>", when(d.ended_at.as_ref()));
            if !d.story.is_empty() {
                let _ = write!(
                    body,
                    "<div class=\"story\"><p>{}</p></div>",
                    escape(&d.story)
                );
            }
        }
    }
    if !c.party_id.is_empty() {
        let _ = write!(
            body,
            "<p><a href=\"{PREFIX}/{t}/party/{}\">Naar het klantbeeld</a></p>",
            escape(&encode(&c.party_id))
        );
    }
    page(tenant, "Contact", &body)
}

/// The department's worklist: open callbacks and hand-offs, soonest due first.
pub fn worklist(
    tenant: &TenantId,
    department: &str,
    answer: Option<&pb::ListCommitmentsResponse>,
    errors: Vec<(String, String)>,
    token: &dyn Fn() -> String,
) -> Screen {
    let mut body = String::new();
    let t = escape(tenant.as_str());
    let form = Form {
        token: String::new(),
        values: vec![("department".to_owned(), department.to_owned())],
        errors,
    };
    let form = form.placed(&[("department", "Afdeling")]);
    summary(&mut body, &form, &[("department", "Afdeling")]);
    let _ = write!(
        body,
        "<form method=\"get\" action=\"{PREFIX}/{t}/worklist\" aria-label=\"Afdeling kiezen\">"
    );
    input(&mut body, &form, "department", "Afdeling", Input::Text, "");
    body.push_str("<button type=\"submit\">Toon</button></form>");
    if let Some(a) = answer {
        if a.commitments.is_empty() {
            body.push_str("<p>Geen open toezeggingen.</p>");
        } else {
            body.push_str(
                "<div class=\"scroll\" tabindex=\"0\" role=\"region\" \
                 aria-label=\"Werkvoorraad\"><table><caption>Open toezeggingen, eerst de \
                 vroegste</caption><thead><tr><th scope=\"col\">Uiterlijk</th>\
                 <th scope=\"col\">Soort</th><th scope=\"col\">Onderwerp</th>\
                 <th scope=\"col\">Burger</th><th scope=\"col\">Actie</th></tr></thead>\
                 <tbody>",
            );
            for i in &a.commitments {
                let m = i.commitment.as_ref();
                let kind = if m.is_some_and(|m| m.kind == pb::CommitmentKind::Callback as i32) {
                    "Terugbellen"
                } else {
                    "Doorgezet"
                };
                let late = if m.is_some_and(|m| m.overdue) {
                    " <strong><span aria-hidden=\"true\">! </span>over tijd</strong>"
                } else {
                    ""
                };
                let party = i.party.as_ref();
                let who = match party.filter(|p| !p.id.is_empty()) {
                    Some(p) => format!(
                        "<a href=\"{PREFIX}/{t}/party/{}\">{}</a>",
                        escape(&encode(&p.id)),
                        party_line(Some(p))
                    ),
                    None => "onbekend".to_owned(),
                };
                // Call back: an outbound phone contact on the commitment's case (a form
                // token of its own per row: its nonce is the start's request id).
                let action = if i.case_id.is_empty() {
                    String::new()
                } else {
                    format!(
                        "<form method=\"post\" action=\"{PREFIX}/{t}/callback\">\
                         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
                         <input type=\"hidden\" name=\"start.case_id\" value=\"{}\">\
                         <input type=\"hidden\" name=\"start.department\" value=\"{}\">\
                         <button type=\"submit\">Terugbellen</button></form>",
                        escape(&token()),
                        escape(&i.case_id),
                        escape(&i.department)
                    )
                };
                let _ = write!(
                    body,
                    "<tr><td>{}{late}</td><td>{kind}</td><td>{}</td><td>{who}</td>\
                     <td>{action}</td></tr>",
                    when(m.and_then(|m| m.due_at.as_ref())),
                    escape(&i.topic)
                );
            }
            body.push_str("</tbody></table></div>");
        }
        if !a.next_page_token.is_empty() {
            let _ = write!(
                body,
                "<p><a href=\"{PREFIX}/{t}/worklist?department={}&amp;page={}\">Volgende \
                 pagina</a></p>",
                escape(&encode(department)),
                escape(&encode(&a.next_page_token))
            );
        }
    }
    page(tenant, "Werkvoorraad", &body)
}

/// A call that failed for another reason than a form's fields.
pub fn failure(tenant: &TenantId, status: &tonic::Status) -> Screen {
    let text = match status.code() {
        tonic::Code::NotFound => "Niet gevonden.",
        tonic::Code::PermissionDenied => "Deze credential mag dit niet.",
        tonic::Code::Unauthenticated => "Geen geldige credential.",
        tonic::Code::FailedPrecondition => "Dit kan nu niet.",
        tonic::Code::Unavailable
        | tonic::Code::ResourceExhausted
        | tonic::Code::DeadlineExceeded => "Even niet beschikbaar; probeer het zo opnieuw.",
        _ => "Er ging iets mis.",
    };
    let body = format!(
        "<div class=\"errors\" role=\"alert\"><p>{text}</p><p>{}</p></div>",
        escape(status.message())
    );
    page(tenant, "Dat lukte niet", &body)
}
