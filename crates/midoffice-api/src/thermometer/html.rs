//! The page as HTML: built on the server, no script, every tenant-provided text escaped
//! by [`escape`]. The style is one `<style>` block the Content-Security-Policy allows by
//! its hash (so no inline style attribute and no script can run); it sets the design
//! tokens (CSS custom properties `--midoffice-thermometer-*`, in the manner of NL Design
//! System) that a tenant's theme overrides.

use super::View;
use super::request::{Days, Format};
use super::text::{Lang, Texts};
use midoffice_domain::figures::{NormResult, NormStatus};
use std::fmt::Write;

/// Escapes text for HTML content and quoted attribute values: `&`, `<`, `>`, `"`, `'`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escaped text whose line breaks become `<br>`.
fn escape_lines(text: &str) -> String {
    text.lines().map(escape).collect::<Vec<_>>().join("<br>")
}

/// The design tokens and the rules that use them.
pub(crate) const STYLE: &str = "\
:root{\
--midoffice-thermometer-font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,Arial,sans-serif;\
--midoffice-thermometer-font-size:1rem;\
--midoffice-thermometer-text-color:#1a1a1a;\
--midoffice-thermometer-background-color:#ffffff;\
--midoffice-thermometer-primary-color:#01689b;\
--midoffice-thermometer-border-color:#595959;\
--midoffice-thermometer-target-color:#1a1a1a;\
--midoffice-thermometer-focus-color:#1a1a1a;\
--midoffice-thermometer-focus-background-color:#ffdd00;\
--midoffice-thermometer-green-color:#0b6b32;\
--midoffice-thermometer-amber-color:#8a4b00;\
--midoffice-thermometer-red-color:#b3141d;\
--midoffice-thermometer-no-data-color:#595959;\
--midoffice-thermometer-max-inline-size:60rem}\
*,*::before,*::after{box-sizing:border-box}\
body{margin:0;font-family:var(--midoffice-thermometer-font-family);\
font-size:var(--midoffice-thermometer-font-size);line-height:1.5;\
color:var(--midoffice-thermometer-text-color);\
background:var(--midoffice-thermometer-background-color)}\
.page{max-inline-size:var(--midoffice-thermometer-max-inline-size);margin:0 auto;padding:1rem}\
a{color:var(--midoffice-thermometer-primary-color);text-decoration:underline}\
a:focus-visible,[tabindex]:focus-visible{outline:3px solid var(--midoffice-thermometer-focus-color);\
outline-offset:2px;background:var(--midoffice-thermometer-focus-background-color);\
color:var(--midoffice-thermometer-focus-color)}\
.skip{position:absolute;inset-inline-start:-100vw}\
.skip:focus{position:static}\
.masthead{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;\
border-block-end:4px solid var(--midoffice-thermometer-primary-color);padding-block-end:.5rem}\
.masthead img{max-block-size:3rem;max-inline-size:12rem;block-size:auto}\
.org{font-weight:700;font-size:1.25rem;margin:0;overflow-wrap:anywhere}\
h1{font-size:1.75rem;line-height:1.2;margin:1rem 0 .5rem;overflow-wrap:anywhere}\
h2{font-size:1.25rem;line-height:1.3;margin:0 0 .5rem;overflow-wrap:anywhere}\
nav ul{list-style:none;padding:0;margin:.5rem 0;display:flex;flex-wrap:wrap;gap:.25rem 1.25rem}\
.norm{border:1px solid var(--midoffice-thermometer-border-color);\
border-inline-start:6px solid var(--midoffice-thermometer-primary-color);padding:1rem;margin:1rem 0}\
.meter{display:flex;flex-wrap:wrap;align-items:center;gap:.25rem 1rem;margin:.75rem 0}\
.bar{position:relative;flex:1 1 10rem;block-size:1.5rem;margin:.5rem 0;\
border:2px solid var(--midoffice-thermometer-border-color);\
background:var(--midoffice-thermometer-background-color)}\
.fill{position:absolute;inset-block:0;inset-inline-start:0;inline-size:0;\
background:var(--midoffice-thermometer-primary-color)}\
.mark{position:absolute;inset-block:-.5rem;inline-size:4px;margin-inline-start:-2px;\
background:var(--midoffice-thermometer-target-color)}\
.figures{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:.5rem 0}\
.figures dt{font-weight:700}\
.figures dd{margin:0}\
.share{font-size:1.5rem;font-weight:700;line-height:1.2;margin:0;min-inline-size:5ch}\
.icon{display:inline-block;min-inline-size:1.6em;text-align:center;border-radius:.3em;\
color:#ffffff;font-weight:700;margin-inline-end:.3em;padding:0 .2em}\
.green .icon{background:var(--midoffice-thermometer-green-color)}\
.amber .icon{background:var(--midoffice-thermometer-amber-color)}\
.red .icon{background:var(--midoffice-thermometer-red-color)}\
.no-data .icon{background:var(--midoffice-thermometer-no-data-color)}\
.explanation{margin:.75rem 0;padding-inline-start:.75rem;\
border-inline-start:3px solid var(--midoffice-thermometer-border-color)}\
.explanation h4{font-size:1rem;margin:0}\
.explanation p{margin:0;overflow-wrap:anywhere}\
.scroll{overflow-x:auto}\
table{border-collapse:collapse;margin:.5rem 0}\
caption{text-align:start;font-weight:700}\
th,td{text-align:start;padding:.25rem .75rem .25rem 0;\
border-block-end:1px solid var(--midoffice-thermometer-border-color)}\
footer{margin-block-start:2rem;padding-block-start:.5rem;\
border-block-start:1px solid var(--midoffice-thermometer-border-color)}\
@media (forced-colors:active){.fill{background:CanvasText}.mark{background:Highlight}\
.icon{border:1px solid CanvasText}}";

/// Opens a public page: the document's head with its `title` (escaped HTML) and one
/// style block, the body, the page's frame, and unless `embed` the skip link to
/// `#main`.
pub(crate) fn open(h: &mut String, lang: Lang, title: &str, style: &str, embed: bool) {
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{style}</style>\n</head>\n<body{}>\n<div class=\"page\">\n",
        lang.code(),
        if embed { " class=\"embed\"" } else { "" },
    );
    if !embed {
        let _ = writeln!(
            h,
            "<a class=\"skip\" href=\"#main\">{}</a>",
            lang.texts().skip_link
        );
    }
}

/// Closes what [`open`] opened.
pub(crate) fn close(h: &mut String) {
    h.push_str("</div>\n</body>\n</html>\n");
}

/// The page and the contents of its one `<style>` block (for the CSP hash).
pub struct Html {
    pub page: String,
    pub style: String,
}

/// The page as HTML in `lang`; `embed` leaves out the masthead, the skip link and the
/// footer.
pub fn html(view: &View, lang: Lang, embed: bool) -> Html {
    let t = lang.texts();
    let name = escape(view.name());
    let style = style(view);
    // Tenant-provided text is Dutch; on an English page it says so (WCAG 3.1.2).
    let tenant_lang = if lang == Lang::En { " lang=\"nl\"" } else { "" };
    let period = t.period(view.days.from, view.days.to);
    let query = |days: Days| {
        let mut q = days.query();
        if lang == Lang::En {
            q.push_str("&lang=en");
        }
        if embed {
            q.push_str("&embed=1");
        }
        q
    };
    let mut h = String::with_capacity(16 * 1024);
    let title = format!("{} {} – {}", t.title, escape(&period), name);
    open(&mut h, lang, &title, &style, embed);
    if !embed {
        h.push_str("<header class=\"masthead\">");
        if let Some(logo) = &view.public.logo_url {
            // The name is beside it in text: the logo itself is decoration.
            let _ = write!(h, "<img src=\"{}\" alt=\"\">", escape(logo));
        }
        let _ = writeln!(h, "<p class=\"org\"{tenant_lang}>{name}</p></header>");
    }
    let _ = write!(
        h,
        "<main id=\"main\">\n<h1>{} <span{tenant_lang}>{name}</span></h1>\n\
         <p>{}: <strong>{}</strong></p>\n<p>{}</p>\n",
        t.title,
        t.period,
        escape(&period),
        t.intro
    );
    let _ = write!(h, "<nav aria-label=\"{}\"><ul>", escape(t.other_periods));
    for (label, days) in super::request::links(view.days, view.this_month, t) {
        let _ = write!(
            h,
            "<li><a href=\"?{}\">{} <span class=\"period\">({})</span></a></li>",
            escape(&query(days)),
            label,
            escape(&t.period(days.from, days.to))
        );
    }
    h.push_str("</ul></nav>\n");
    let _ = writeln!(h, "<h2 class=\"norms\">{}</h2>", t.norms);
    if view.norms.is_empty() {
        let _ = writeln!(h, "<p>{}</p>", t.no_norms);
    }
    for (i, n) in view.norms.iter().enumerate() {
        norm(&mut h, view, i, n, t, tenant_lang);
    }
    if let Some((group, period)) = &view.benchmark {
        let mut href = format!(
            "{}/{}?period={}",
            crate::benchmark::PREFIX,
            group.as_str(),
            period.key()
        );
        if lang == Lang::En {
            href.push_str("&lang=en");
        }
        href.push('#');
        href.push_str(&crate::benchmark::anchor(view.tenant.as_str()));
        // The benchmark page is not framed: from an embedded page it opens in the
        // window, not in the frame.
        let _ = writeln!(
            h,
            "<h2 class=\"benchmark\">{}</h2>\n<p><a href=\"{}\" target=\"_top\">{}</a></p>",
            t.benchmark,
            escape(&href),
            t.benchmark_named
        );
    }
    let _ = write!(h, "<p>{}: ", t.open_data);
    for (k, format) in [Format::Json, Format::Csv].into_iter().enumerate() {
        let _ = write!(
            h,
            "{}<a href=\"{}{}?{}\">{}</a>",
            if k > 0 { ", " } else { "" },
            view.tenant,
            format.suffix(),
            escape(&view.days.query()),
            &format.suffix()[1..].to_uppercase()
        );
    }
    h.push_str("</p>\n</main>\n");
    if !embed && let Some(url) = &view.public.accessibility_statement_url {
        let _ = writeln!(
            h,
            "<footer><p><a href=\"{}\">{}</a></p></footer>",
            escape(url),
            t.accessibility
        );
    }
    close(&mut h);
    Html { page: h, style }
}

/// One norm: its promise, the share as a bar with the number beside it, target, items,
/// status in words and with an icon, the explanation, and the trend as a table.
fn norm(h: &mut String, view: &View, i: usize, n: &NormResult, t: &Texts, tenant_lang: &str) {
    let share = t.percent(n.met, n.items);
    let share_text = share.clone().unwrap_or_else(|| t.no_share.to_owned());
    let target = format!("{}%", n.target_percent);
    let _ = write!(
        h,
        "<section class=\"norm {}\" id=\"n{i}\" aria-labelledby=\"n{i}-title\">\n\
         <h3 class=\"promise\" id=\"n{i}-title\"{tenant_lang}>{}</h3>\n",
        status_class(n.status),
        escape(&n.title)
    );
    // The bar with the share beside it; the bar's text alternative says both numbers.
    let _ = writeln!(
        h,
        "<div class=\"meter\"><div class=\"bar\" role=\"img\" aria-label=\"{}: {}; {}: {}\">\
         <span class=\"fill\"></span><span class=\"mark\"></span></div>\
         <p class=\"share\">{}</p></div>",
        t.achieved,
        escape(&share_text),
        t.target,
        target,
        escape(&share_text),
    );
    let _ = writeln!(
        h,
        "<dl class=\"figures\">\
         <dt>{}</dt><dd>{}</dd>\
         <dt>{}</dt><dd>{}</dd>\
         <dt>{}</dt><dd class=\"status\">{}</dd></dl>",
        t.target,
        target,
        t.items,
        t.count(n.items),
        t.status,
        status(n.status, t),
    );
    if let Some(why) = &n.explanation {
        let _ = writeln!(
            h,
            "<div class=\"explanation\"><h4>{}</h4><p{tenant_lang}>{}</p></div>",
            t.explanation,
            escape_lines(why)
        );
    }
    let trend = view.trend_of(n);
    if trend.is_empty() {
        let _ = writeln!(h, "<p>{}</p>", t.no_earlier);
    } else {
        let _ = write!(
            h,
            "<div class=\"scroll\" role=\"region\" aria-labelledby=\"n{i}-trend\" tabindex=\"0\">\
             <table><caption id=\"n{i}-trend\">{}</caption>\
             <thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            t.earlier, t.period, t.achieved, t.items, t.status
        );
        for (days, r) in trend {
            let _ = write!(
                h,
                "<tr class=\"{}\"><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
                status_class(r.status),
                escape(&t.period(days.from, days.to)),
                escape(
                    &t.percent(r.met, r.items)
                        .unwrap_or_else(|| t.no_share.to_owned())
                ),
                t.count(r.items),
                status(r.status, t)
            );
        }
        h.push_str("</tbody></table></div>\n");
    }
    h.push_str("</section>\n");
}

/// The status with its icon; the icon is hidden from screen readers, as the word says
/// the same.
fn status(status: NormStatus, t: &Texts) -> String {
    let icon = match status {
        NormStatus::Green => "✓",
        NormStatus::Amber => "!",
        NormStatus::Red => "✗",
        NormStatus::NoData => "–",
    };
    format!(
        "<span class=\"icon\" aria-hidden=\"true\">{icon}</span>{}",
        t.status_word(status)
    )
}

fn status_class(status: NormStatus) -> &'static str {
    match status {
        NormStatus::Green => "green",
        NormStatus::Amber => "amber",
        NormStatus::Red => "red",
        NormStatus::NoData => "no-data",
    }
}

/// The style: the tokens and rules, the tenant's colour, and each bar's fill and
/// target mark (rules, not style attributes, which the CSP does not allow).
fn style(view: &View) -> String {
    let mut s = String::from(STYLE);
    // The tenant's theme over the defaults; each value was checked for its kind (a
    // colour, or a font list that cannot leave its declaration) when the settings were
    // stored.
    let overrides = view.public.token_overrides();
    if !overrides.is_empty() {
        s.push_str(":root{");
        for (name, value) in overrides {
            let _ = write!(s, "--midoffice-thermometer-{name}:{value};");
        }
        s.push('}');
    }
    for (i, n) in view.norms.iter().enumerate() {
        let tenths = if n.items == 0 {
            0
        } else {
            u128::from(n.met) * 1000 / u128::from(n.items)
        };
        let _ = write!(
            s,
            "#n{i} .fill{{inline-size:{}.{}%}}#n{i} .mark{{inset-inline-start:{}%}}",
            tenths / 10,
            tenths % 10,
            n.target_percent.min(100)
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_leaves_no_markup() {
        assert_eq!(
            escape(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
        assert_eq!(
            escape("Gemeente Súdwest-Fryslân"),
            "Gemeente Súdwest-Fryslân"
        );
        assert_eq!(escape_lines("a<b\nc"), "a&lt;b<br>c");
    }

    #[test]
    fn the_style_declares_every_design_token_with_its_default() {
        let root = STYLE
            .strip_prefix(":root{")
            .and_then(|r| r.split_once('}'))
            .map(|(decls, _)| decls)
            .unwrap();
        let declared: std::collections::BTreeMap<&str, &str> = root
            .split(';')
            .filter_map(|d| d.strip_prefix("--midoffice-thermometer-")?.split_once(':'))
            .collect();
        for token in midoffice_domain::settings::DESIGN_TOKENS {
            assert_eq!(
                declared.get(token.name),
                Some(&token.default),
                "{}",
                token.name
            );
        }
    }
}
