//! A tenant's settings: norms (servicenormen) with explanations, calendar and windows.

use crate::calendar::Calendar;
use crate::contact::Channel;
use crate::limits::{
    MAX_EXPLANATION_CHARS, MAX_NORMS, MAX_RETENTION_MONTHS, MAX_TITLE_CHARS, MAX_WINDOW_SECS,
    MAX_WORKING_DAYS, MIN_RETENTION_MONTHS,
};
use crate::processing::ProcessingActivities;
use crate::{Code, Instant, Violations};
use chrono::TimeDelta;
use std::collections::{BTreeMap, BTreeSet};

/// A threshold: elapsed time, or working days as in DOMAIN.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Within {
    /// Elapsed seconds.
    Elapsed(i64),
    /// Working days.
    WorkingDays(u32),
}

impl Within {
    /// The deadline for something that began at `from`.
    pub fn deadline(self, calendar: &Calendar, from: Instant) -> Instant {
        match self {
            Within::Elapsed(secs) => from + TimeDelta::seconds(secs),
            Within::WorkingDays(n) => calendar.working_days_deadline(from, n),
        }
    }

    /// Words for a title: "25 seconden", "2 werkdagen".
    fn dutch(self) -> String {
        match self {
            Within::Elapsed(s) if s % 3600 == 0 && s >= 3600 => plural(s / 3600, "uur", "uur"),
            Within::Elapsed(s) if s % 60 == 0 && s >= 60 => plural(s / 60, "minuut", "minuten"),
            Within::Elapsed(s) => plural(s, "seconde", "seconden"),
            Within::WorkingDays(n) => plural(i64::from(n), "werkdag", "werkdagen"),
        }
    }
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What a norm measures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Measure {
    /// Inbound contacts on a channel answered within a threshold.
    ResponseTime { channel: Channel, within: Within },
    /// Cases resolved in their first contact, with no repeat contact.
    FirstContactResolution,
    /// Cases referred at most `max` times.
    ReferredAtMost { max: u32 },
    /// Follow-ups in which the citizen did not have to tell the story again.
    StoryToldOnce,
    /// Commitments fulfilled on time; `within` is the default due time of a callback.
    CommitmentOnTime { within: Option<Within> },
}

impl Measure {
    /// The name of the kind of measure, as the API's oneof and the scenario files
    /// write it: `response_time`, `first_contact_resolution`, ...
    pub fn as_str(&self) -> &'static str {
        match self {
            Measure::ResponseTime { .. } => "response_time",
            Measure::FirstContactResolution => "first_contact_resolution",
            Measure::ReferredAtMost { .. } => "referred_at_most",
            Measure::StoryToldOnce => "story_told_once",
            Measure::CommitmentOnTime { .. } => "commitment_on_time",
        }
    }
}

/// A public promise (servicenorm).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Norm {
    pub id: Code,
    pub title: String,
    pub measure: Measure,
    /// Whole percent, 0..=100.
    pub target_percent: u32,
    /// Why the norm is not met and what the tenant does about it.
    pub explanation: Option<String>,
    /// Whether the public thermometer page shows the norm (default true). An unpublished
    /// norm is still measured and shown to credentialed users (GetThermometer, the
    /// dashboard); it is left out of the page's HTML, JSON and CSV only.
    pub published: bool,
}

/// A tenant's settings, replaced together by an admin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantSettings {
    pub norms: Vec<Norm>,
    pub calendar: Calendar,
    /// Seconds; default 7 days.
    pub repeat_window_secs: i64,
    /// Seconds; default 48 hours.
    pub channel_hop_window_secs: i64,
    /// The processing-activity URIs of the processing log (defaults when unset).
    pub processing_activities: ProcessingActivities,
    /// How long contacts are kept, in calendar months (`crate::retention`); default 24.
    pub retention_months: u32,
    /// How the public thermometer page presents the tenant; changes no figure.
    pub public_page: PublicPage,
    /// Whether and how the tenant takes part in the benchmark between organisations;
    /// changes no figure of its own.
    pub benchmark: BenchmarkSettings,
}

/// The largest size of a benchmark participant (inhabitants or stated population).
pub const MAX_BENCHMARK_SIZE: u64 = 100_000_000;

/// Taking part in the benchmark between organisations (`crate::benchmark`,
/// `docs/benchmark.md`). Off by default: a public body decides itself to take part.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BenchmarkSettings {
    /// Whether the tenant takes part (default false).
    pub opted_in: bool,
    /// Its inhabitants, or for an agency its stated population: what volumes per 1,000
    /// inhabitants divide by. Required to take part; 0 is unset.
    pub size: u64,
    /// Whether `size` is a stated population (an agency) rather than inhabitants.
    pub stated_population: bool,
    /// The peer group it asks to be compared in. Required to take part. A group's
    /// membership is taken when the period's group is composed (after the period's end
    /// plus the grace) and then fixed: a change before that applies to the period.
    pub peer_group: Option<Code>,
    /// Whether public pages may name it with its own values (default false: the public
    /// sees only group figures).
    pub named: bool,
}

impl BenchmarkSettings {
    /// The peer group it takes part in: only when opted in, with a size and a group.
    pub fn taking_part_in(&self) -> Option<&Code> {
        self.peer_group
            .as_ref()
            .filter(|_| self.opted_in && self.size > 0)
    }

    /// What is wrong with each field (`size`, `peer_group`).
    pub fn violations(&self) -> Violations {
        let mut v = Violations::default();
        if self.size > MAX_BENCHMARK_SIZE {
            v.add("size", format!("must be at most {MAX_BENCHMARK_SIZE}"));
        } else if self.opted_in && self.size == 0 {
            v.add(
                "size",
                "must be given (inhabitants or stated population, more than 0) to take part",
            );
        }
        if self.opted_in && self.peer_group.is_none() {
            v.add("peer_group", "must be given to take part");
        }
        v
    }
}

/// The longest public display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 100;
/// The longest URL of a logo or an accessibility statement, in bytes.
pub const MAX_PUBLIC_URL_LEN: usize = 512;
/// The least contrast of the primary colour against white (WCAG 2.1 AA, normal text).
pub const MIN_PRIMARY_CONTRAST: f64 = 4.5;

/// How the public service thermometer presents the tenant: whether it is published at
/// all, its name, logo, theme and accessibility statement. Public by nature; none of it
/// changes a figure (it is not in `rollup::fingerprint`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PublicPage {
    /// Whether the tenant publishes its page (default false: a public body decides
    /// itself when its norms go public). Unpublished, the page's addresses answer as
    /// for an unknown tenant.
    pub published: bool,
    /// The name shown on the page, such as "Gemeente Voorbeeld" (default: the tenant id).
    pub display_name: Option<String>,
    /// The logo, an `https://` URL.
    pub logo_url: Option<String>,
    /// The tenant's accessibility statement (toegankelijkheidsverklaring), `https://`.
    pub accessibility_statement_url: Option<String>,
    /// The primary colour of bars, links and headings, `#rrggbb` in lower case, with a
    /// contrast of at least [`MIN_PRIMARY_CONTRAST`] against white.
    pub primary_colour: Option<String>,
    /// The tenant's own values of the page's design tokens ([`DESIGN_TOKENS`], by name
    /// without the `--midoffice-thermometer-` prefix), such as its NL Design System
    /// theme's colours and font: each checked for its kind, and every pair of colours
    /// that must stay readable checked for contrast ([`TOKEN_CONTRASTS`]).
    pub design_tokens: BTreeMap<String, String>,
}

/// What a design token holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// `#rrggbb` in lower case.
    Colour,
    /// A CSS font-family list of names: letters, digits, spaces, hyphens, quotes and
    /// commas only.
    FontFamily,
}

/// A design token of the public page that a tenant may set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DesignToken {
    /// Its name without the `--midoffice-thermometer-` prefix.
    pub name: &'static str,
    pub kind: TokenKind,
    /// Its value when the tenant sets none.
    pub default: &'static str,
}

/// The design tokens a tenant may set, with their defaults (the page's style declares
/// these defaults; a test in the API crate holds them equal).
pub const DESIGN_TOKENS: &[DesignToken] = &[
    DesignToken {
        name: "font-family",
        kind: TokenKind::FontFamily,
        default: "system-ui,-apple-system,\"Segoe UI\",Roboto,Arial,sans-serif",
    },
    DesignToken {
        name: "text-color",
        kind: TokenKind::Colour,
        default: "#1a1a1a",
    },
    DesignToken {
        name: "background-color",
        kind: TokenKind::Colour,
        default: "#ffffff",
    },
    DesignToken {
        name: "primary-color",
        kind: TokenKind::Colour,
        default: "#01689b",
    },
    DesignToken {
        name: "border-color",
        kind: TokenKind::Colour,
        default: "#595959",
    },
    DesignToken {
        name: "target-color",
        kind: TokenKind::Colour,
        default: "#1a1a1a",
    },
    DesignToken {
        name: "focus-color",
        kind: TokenKind::Colour,
        default: "#1a1a1a",
    },
    DesignToken {
        name: "focus-background-color",
        kind: TokenKind::Colour,
        default: "#ffdd00",
    },
    DesignToken {
        name: "green-color",
        kind: TokenKind::Colour,
        default: "#0b6b32",
    },
    DesignToken {
        name: "amber-color",
        kind: TokenKind::Colour,
        default: "#8a4b00",
    },
    DesignToken {
        name: "red-color",
        kind: TokenKind::Colour,
        default: "#b3141d",
    },
    DesignToken {
        name: "no-data-color",
        kind: TokenKind::Colour,
        default: "#595959",
    },
];

/// The pairs of colours that must stay readable (WCAG 2.1 AA): a foreground token, a
/// background token (or `#ffffff`, the status icons' white text) and the least
/// contrast: 4.5:1 for text, 3:1 for borders and marks (non-text contrast, 1.4.11).
pub const TOKEN_CONTRASTS: &[(&str, &str, f64)] = &[
    ("text-color", "background-color", 4.5),
    ("primary-color", "background-color", 4.5),
    ("border-color", "background-color", 3.0),
    ("target-color", "background-color", 3.0),
    ("focus-color", "focus-background-color", 4.5),
    // The focus outline is drawn on the page's background too (non-text contrast).
    ("focus-color", "background-color", 3.0),
    ("green-color", "#ffffff", 4.5),
    ("amber-color", "#ffffff", 4.5),
    ("red-color", "#ffffff", 4.5),
    ("no-data-color", "#ffffff", 4.5),
];

/// The longest value of a design token, in bytes.
pub const MAX_TOKEN_VALUE_LEN: usize = 200;

impl PublicPage {
    /// What is wrong with each field (`display_name`, `logo_url`,
    /// `accessibility_statement_url`, `primary_colour`).
    pub fn violations(&self) -> Violations {
        let mut v = Violations::default();
        if let Some(name) = &self.display_name {
            if name.trim().is_empty() {
                v.add("display_name", "must not be blank");
            } else if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
                v.add(
                    "display_name",
                    format!("must be at most {MAX_DISPLAY_NAME_CHARS} characters"),
                );
            } else if name.chars().any(char::is_control) {
                v.add(
                    "display_name",
                    "must be one line without control characters",
                );
            }
        }
        for (field, url) in [
            ("logo_url", &self.logo_url),
            (
                "accessibility_statement_url",
                &self.accessibility_statement_url,
            ),
        ] {
            if let Some(url) = url
                && let Err(why) = check_https_url(url)
            {
                v.add(field, why);
            }
        }
        if let Some(colour) = &self.primary_colour {
            match rgb(colour) {
                None => v.add(
                    "primary_colour",
                    "must be a colour written #rrggbb in lower case, such as #01689b",
                ),
                Some(c) if contrast_with_white(c) < MIN_PRIMARY_CONTRAST => v.add(
                    "primary_colour",
                    format!(
                        "must have a contrast of at least {MIN_PRIMARY_CONTRAST}:1 against white \
                         (WCAG 2.1 AA); this colour has {:.2}:1",
                        contrast_with_white(c)
                    ),
                ),
                Some(_) => {}
            }
        }
        for (name, value) in &self.design_tokens {
            let field = format!("design_tokens.{name}");
            match DESIGN_TOKENS.iter().find(|t| t.name == name) {
                None => v.add(
                    &field,
                    format!(
                        "is not a design token of the page; the tokens are {}",
                        DESIGN_TOKENS
                            .iter()
                            .map(|t| t.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
                Some(t) => {
                    if let Err(why) = check_token(t.kind, value) {
                        v.add(&field, why);
                    }
                }
            }
        }
        if self.primary_colour.is_some() && self.design_tokens.contains_key("primary-color") {
            v.add(
                "design_tokens.primary-color",
                "must not be set together with primary_colour: set one of them",
            );
        }
        // Contrast only between colours that are valid (the others are named above); a
        // violation elsewhere (a URL, say) does not hide it.
        let theme_ok =
            !v.0.iter()
                .any(|f| f.field.starts_with("design_tokens") || f.field == "primary_colour");
        if theme_ok {
            for (fg, bg, least) in TOKEN_CONTRASTS {
                let (Some(a), Some(b)) = (
                    self.token(fg).and_then(rgb),
                    self.token(bg).or(Some(bg)).and_then(rgb),
                ) else {
                    continue;
                };
                let ratio = contrast(a, b);
                if ratio < *least {
                    // The token the tenant set; with neither set (primary_colour on the
                    // default background) its own check above has spoken.
                    let set = if self.design_tokens.contains_key(*fg) {
                        fg
                    } else if self.design_tokens.contains_key(*bg) {
                        bg
                    } else {
                        continue;
                    };
                    v.add(
                        format!("design_tokens.{set}"),
                        format!(
                            "{fg} on {bg} must have a contrast of at least {least}:1 (WCAG 2.1 \
                             AA); these colours have {ratio:.2}:1"
                        ),
                    );
                }
            }
        }
        v
    }

    /// A design token's value on the page: the tenant's, else (for `primary-color`) its
    /// `primary_colour`, else the default; `None` for a name that is not a token.
    pub fn token(&self, name: &str) -> Option<&str> {
        let token = DESIGN_TOKENS.iter().find(|t| t.name == name)?;
        Some(
            self.design_tokens
                .get(name)
                .map(String::as_str)
                .or(if name == "primary-color" {
                    self.primary_colour.as_deref()
                } else {
                    None
                })
                .unwrap_or(token.default),
        )
    }

    /// The tokens the tenant set (its `primary_colour` as `primary-color`), by name:
    /// what the page declares over its defaults.
    pub fn token_overrides(&self) -> Vec<(&'static str, &str)> {
        DESIGN_TOKENS
            .iter()
            .filter_map(|t| {
                let own = self.design_tokens.get(t.name).map(String::as_str).or(
                    if t.name == "primary-color" {
                        self.primary_colour.as_deref()
                    } else {
                        None
                    },
                )?;
                Some((t.name, own))
            })
            .collect()
    }
}

/// Whether `value` is a valid value of a token of `kind`.
fn check_token(kind: TokenKind, value: &str) -> Result<(), String> {
    match kind {
        TokenKind::Colour => rgb(value).map(|_| ()).ok_or_else(|| {
            "must be a colour written #rrggbb in lower case, such as #01689b".into()
        }),
        TokenKind::FontFamily => {
            if value.trim().is_empty() || value.len() > MAX_TOKEN_VALUE_LEN {
                return Err(format!(
                    "must be a font-family list of 1 to {MAX_TOKEN_VALUE_LEN} characters"
                ));
            }
            if !value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | ',' | '"' | '\''))
            {
                return Err(
                    "must be a font-family list of names: letters, digits, spaces, hyphens, \
                     quotes and commas only, such as \"RijksoverheidSans\",Arial,sans-serif"
                        .into(),
                );
            }
            if value.split(',').any(|f| f.trim().is_empty()) {
                return Err("must not hold an empty name between commas".into());
            }
            // Quotes must pair, so a value cannot leave its declaration.
            if !value.matches('"').count().is_multiple_of(2)
                || !value.matches('\'').count().is_multiple_of(2)
            {
                return Err("must close every quote it opens".into());
            }
            Ok(())
        }
    }
}

/// An absolute `https://host/...` URL of visible ASCII, without quotes, angle brackets,
/// backslashes or credentials, at most [`MAX_PUBLIC_URL_LEN`] long.
fn check_https_url(url: &str) -> Result<(), String> {
    if url.len() > MAX_PUBLIC_URL_LEN {
        return Err(format!("must be at most {MAX_PUBLIC_URL_LEN} characters"));
    }
    let Some(rest) = url.strip_prefix("https://") else {
        return Err("must be an https:// URL".into());
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() {
        return Err("must name a host after https://".into());
    }
    if host.contains('@') {
        return Err("must not hold a user name or password".into());
    }
    if !url
        .bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b'<' | b'>' | b'\\' | b'`'))
    {
        return Err(
            "must be visible ASCII without spaces, quotes, angle brackets or backslashes \
             (percent-encode them)"
                .into(),
        );
    }
    Ok(())
}

/// The red, green and blue of `#rrggbb` (lower case).
pub fn rgb(colour: &str) -> Option<[u8; 3]> {
    let hex = colour.strip_prefix('#')?;
    if hex.len() != 6
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let part = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([part(0)?, part(2)?, part(4)?])
}

/// The relative luminance of a colour (WCAG 2.1).
fn luminance([r, g, b]: [u8; 3]) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
}

/// The contrast ratio of two colours (WCAG 2.1), 1 to 21, whichever is lighter.
pub fn contrast(a: [u8; 3], b: [u8; 3]) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// The contrast ratio of a colour against white (WCAG 2.1, relative luminance).
pub fn contrast_with_white(c: [u8; 3]) -> f64 {
    contrast(c, [255, 255, 255])
}

/// The default repeat window: 7 days.
pub const DEFAULT_REPEAT_WINDOW_SECS: i64 = 7 * 24 * 3600;
/// The default channel-hop window: 48 hours.
pub const DEFAULT_CHANNEL_HOP_WINDOW_SECS: i64 = 48 * 3600;
/// The default retention period: 24 months.
pub const DEFAULT_RETENTION_MONTHS: u32 = 24;
/// Working days for a callback's due time when the tenant has no commitment norm.
pub const DEFAULT_CALLBACK_WORKING_DAYS: u32 = 1;
/// Working days for a hand-off's due time.
pub const DEFAULT_HANDOFF_WORKING_DAYS: u32 = 5;

impl Default for TenantSettings {
    fn default() -> Self {
        TenantSettings {
            norms: default_norms(),
            calendar: Calendar::default(),
            repeat_window_secs: DEFAULT_REPEAT_WINDOW_SECS,
            channel_hop_window_secs: DEFAULT_CHANNEL_HOP_WINDOW_SECS,
            processing_activities: ProcessingActivities::default(),
            retention_months: DEFAULT_RETENTION_MONTHS,
            public_page: PublicPage::default(),
            benchmark: BenchmarkSettings::default(),
        }
    }
}

impl TenantSettings {
    /// The repeat window.
    pub fn repeat_window(&self) -> TimeDelta {
        TimeDelta::seconds(self.repeat_window_secs)
    }

    /// The channel-hop window.
    pub fn channel_hop_window(&self) -> TimeDelta {
        TimeDelta::seconds(self.channel_hop_window_secs)
    }

    /// Whether the public page shows the norm `id`: the page is published and so is the
    /// norm. Results of norms no longer in the settings are not shown either.
    pub fn shows_publicly(&self, id: &Code) -> bool {
        self.public_page.published && self.norms.iter().any(|n| n.id == *id && n.published)
    }

    /// The default threshold for a callback: the `within` of the commitment norm, else
    /// one working day.
    pub fn callback_within(&self) -> Within {
        self.norms
            .iter()
            .find_map(|n| match n.measure {
                Measure::CommitmentOnTime { within } => within,
                _ => None,
            })
            .unwrap_or(Within::WorkingDays(DEFAULT_CALLBACK_WORKING_DAYS))
    }

    /// Checks what the types cannot: unique norm ids, windows and thresholds in range.
    pub fn validate(&self) -> Result<(), Violations> {
        let mut v = Violations::default();
        let mut seen = BTreeSet::new();
        for (i, norm) in self.norms.iter().enumerate() {
            if !seen.insert(norm.id.clone()) {
                v.add(
                    format!("norms[{i}].id"),
                    "is used by another norm of this tenant",
                );
            }
            if norm.target_percent > 100 {
                v.add(
                    format!("norms[{i}].target"),
                    "must be a share between 0 and 1",
                );
            }
            let within = match &norm.measure {
                Measure::ResponseTime { within, .. } => Some(*within),
                Measure::CommitmentOnTime { within } => *within,
                _ => None,
            };
            let within_field = || format!("norms[{i}].measure.{}.within", norm.measure.as_str());
            match within {
                Some(Within::Elapsed(s)) if s <= 0 || s > MAX_WINDOW_SECS => {
                    v.add(within_field(), "must be more than 0 and at most a year")
                }
                Some(Within::WorkingDays(d)) if d == 0 || d > MAX_WORKING_DAYS => v.add(
                    within_field(),
                    format!("must be 1 to {MAX_WORKING_DAYS} working days"),
                ),
                _ => {}
            }
            if norm.title.chars().count() > MAX_TITLE_CHARS {
                v.add(
                    format!("norms[{i}].title"),
                    format!("must be at most {MAX_TITLE_CHARS} characters"),
                );
            }
            if norm
                .explanation
                .as_ref()
                .is_some_and(|e| e.chars().count() > MAX_EXPLANATION_CHARS)
            {
                v.add(
                    format!("norms[{i}].explanation"),
                    format!("must be at most {MAX_EXPLANATION_CHARS} characters"),
                );
            }
        }
        for (field, secs) in [
            ("repeat_window", self.repeat_window_secs),
            ("channel_hop_window", self.channel_hop_window_secs),
        ] {
            if secs <= 0 || secs > MAX_WINDOW_SECS {
                v.add(field, "must be more than 0 and at most a year");
            }
        }
        if !(MIN_RETENTION_MONTHS..=MAX_RETENTION_MONTHS).contains(&self.retention_months) {
            v.add(
                "retention_months",
                format!("must be {MIN_RETENTION_MONTHS} to {MAX_RETENTION_MONTHS} months"),
            );
        }
        if self.norms.len() > MAX_NORMS {
            v.add("norms", format!("at most {MAX_NORMS} norms"));
        }
        v.0.extend(
            self.processing_activities
                .violations()
                .prefixed("processing_activities")
                .0,
        );
        v.0.extend(self.public_page.violations().prefixed("public_page").0);
        v.0.extend(self.benchmark.violations().prefixed("benchmark").0);
        if v.is_empty() { Ok(()) } else { Err(v) }
    }
}

/// Rounds a target fraction (0.82) to whole percent as a decimal number, a half up:
/// 0.825 is 83 and 0.8249 is 82. The fraction is read as the decimal number it was
/// written as (the shortest text that reads back as the same `f64`), since `0.825`
/// as a binary float is a little below 0.825. NaN, infinities and anything outside
/// 0..=1 are refused.
pub fn target_percent(fraction: f64) -> Result<u32, String> {
    const REFUSED: &str = "must be a share between 0 and 1, such as 0.8";
    if !fraction.is_finite() || !(0.0..=1.0).contains(&fraction) {
        return Err(REFUSED.into());
    }
    if fraction == 0.0 {
        // Also -0.0, whose text has a sign.
        return Ok(0);
    }
    // Rust prints an f64 as the shortest decimal that reads back the same, never in
    // exponent notation.
    let text = fraction.to_string();
    let (whole, decimals) = text.split_once('.').unwrap_or((text.as_str(), ""));
    let digit = |i: usize| {
        decimals
            .as_bytes()
            .get(i)
            .map_or(0, |b| u32::from(b.wrapping_sub(b'0')))
    };
    let whole: u32 = match whole {
        "0" => 0,
        "1" => 1,
        _ => return Err(REFUSED.into()),
    };
    let percent = whole * 100 + digit(0) * 10 + digit(1);
    // The rest, from the third decimal on, is at least a half percent when that
    // decimal is 5 or more.
    Ok(percent + u32::from(digit(2) >= 5))
}

/// A public title made from the measure, for a norm given without one.
pub fn default_title(measure: &Measure) -> String {
    match measure {
        Measure::ResponseTime { channel, within } => {
            let what = match channel {
                Channel::Phone => "We nemen de telefoon op",
                Channel::Counter => "Aan de balie bent u aan de beurt",
                Channel::Email => "We beantwoorden uw e-mail",
                Channel::Web => "We beantwoorden uw webformulier",
            };
            format!("{what} binnen {}", within.dutch())
        }
        Measure::FirstContactResolution => "Uw vraag is in één keer beantwoord".into(),
        Measure::ReferredAtMost { max } => format!("U wordt hoogstens {max} keer doorverwezen"),
        Measure::StoryToldOnce => "U hoeft uw verhaal maar één keer te vertellen".into(),
        Measure::CommitmentOnTime { .. } => "We komen onze afspraken op tijd na".into(),
    }
}

fn norm(id: &str, measure: Measure, target_percent: u32) -> Norm {
    Norm {
        // The ids below are valid codes.
        id: Code::parse(id).unwrap_or_else(|_| unreachable!("default norm id {id} is a code")),
        title: default_title(&measure),
        measure,
        target_percent,
        explanation: None,
        published: true,
    }
}

/// The norms of a new tenant (DOMAIN.md).
pub fn default_norms() -> Vec<Norm> {
    use Channel::*;
    vec![
        norm(
            "phone-answered",
            Measure::ResponseTime {
                channel: Phone,
                within: Within::Elapsed(25),
            },
            80,
        ),
        norm(
            "counter-served",
            Measure::ResponseTime {
                channel: Counter,
                within: Within::Elapsed(15 * 60),
            },
            80,
        ),
        norm(
            "email-answered",
            Measure::ResponseTime {
                channel: Email,
                within: Within::WorkingDays(2),
            },
            90,
        ),
        norm(
            "web-answered",
            Measure::ResponseTime {
                channel: Web,
                within: Within::WorkingDays(5),
            },
            90,
        ),
        norm(
            "first-contact-resolution",
            Measure::FirstContactResolution,
            80,
        ),
        norm(
            "referred-at-most-twice",
            Measure::ReferredAtMost { max: 2 },
            95,
        ),
        norm("story-told-once", Measure::StoryToldOnce, 95),
        norm(
            "commitments-on-time",
            Measure::CommitmentOnTime {
                within: Some(Within::WorkingDays(1)),
            },
            90,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taking_part_in_the_benchmark_needs_a_size_and_a_peer_group() {
        let mut s = TenantSettings::default();
        assert_eq!(s.benchmark, BenchmarkSettings::default());
        assert!(!s.benchmark.opted_in);
        assert!(s.validate().is_ok());
        s.benchmark.opted_in = true;
        let fields = |s: &TenantSettings| -> Vec<String> {
            s.validate()
                .err()
                .map(|v| v.0.into_iter().map(|f| f.field).collect())
                .unwrap_or_default()
        };
        assert_eq!(fields(&s), ["benchmark.size", "benchmark.peer_group"]);
        assert_eq!(s.benchmark.taking_part_in(), None);
        s.benchmark.size = 81_000;
        assert_eq!(s.benchmark.taking_part_in(), None);
        s.benchmark.peer_group = Some(Code::parse("g4-plus").unwrap());
        assert!(s.validate().is_ok());
        assert_eq!(
            s.benchmark.taking_part_in(),
            s.benchmark.peer_group.as_ref()
        );
        s.benchmark.opted_in = false;
        assert_eq!(s.benchmark.taking_part_in(), None);
        s.benchmark.opted_in = true;
        s.benchmark.size = MAX_BENCHMARK_SIZE + 1;
        assert_eq!(fields(&s), ["benchmark.size"]);
        // Not taking part, a size and group may stay set (but not out of range).
        s.benchmark.opted_in = false;
        assert_eq!(fields(&s), ["benchmark.size"]);
        s.benchmark.size = 0;
        s.benchmark.peer_group = None;
        assert!(s.validate().is_ok());
    }

    #[test]
    fn targets_round_to_whole_percent_and_refuse_out_of_range() {
        assert_eq!(target_percent(0.82), Ok(82));
        assert_eq!(target_percent(0.825), Ok(83));
        assert_eq!(target_percent(0.8), Ok(80));
        assert_eq!(target_percent(1.0), Ok(100));
        assert_eq!(target_percent(0.0), Ok(0));
        assert!(target_percent(1.2).is_err());
        assert!(target_percent(-0.1).is_err());
        assert!(target_percent(f64::NAN).is_err());
        assert!(target_percent(82.0).is_err());
    }

    #[test]
    fn targets_round_as_decimal_numbers_a_half_up() {
        // 0.575 as an f64 is a little below 0.575, and 0.575 * 100.0 is 57.49999...: a
        // rounding in floating point would say 57.
        let fraction: f64 = "0.575".parse().unwrap();
        assert_eq!((fraction * 100.0).round(), 57.0);
        assert_eq!(target_percent(0.825), Ok(83));
        assert_eq!(target_percent(0.8249), Ok(82));
        assert_eq!(target_percent(0.82499999), Ok(82));
        assert_eq!(target_percent(0.8250001), Ok(83));
        assert_eq!(target_percent(0.005), Ok(1));
        assert_eq!(target_percent(0.0049), Ok(0));
        assert_eq!(target_percent(0.995), Ok(100));
        assert_eq!(target_percent(0.575), Ok(58));
        assert_eq!(target_percent(0.145), Ok(15));
        assert_eq!(target_percent(0.1 + 0.2), Ok(30));
        assert_eq!(target_percent(1e-7), Ok(0));
        assert_eq!(target_percent(-0.0), Ok(0));
        assert!(target_percent(f64::INFINITY).is_err());
        assert!(target_percent(f64::NEG_INFINITY).is_err());
        assert!(target_percent(1.0000001).is_err());
        assert!(target_percent(-1e-300).is_err());
    }

    proptest::proptest! {
        #[test]
        fn prop_target_percent_is_the_decimal_half_up(thousandths in 0u32..=1000, tail in 0u32..10) {
            // A fraction written with up to four decimals rounds as that decimal number.
            let ten_thousandths = thousandths * 10 + if thousandths < 1000 { tail } else { 0 };
            let fraction: f64 = format!("{}.{:04}", ten_thousandths / 10000, ten_thousandths % 10000)
                .parse()
                .unwrap();
            let expected = (ten_thousandths + 50) / 100;
            proptest::prop_assert_eq!(target_percent(fraction), Ok(expected));
        }

        #[test]
        fn prop_target_percent_refuses_outside_zero_to_one(x in proptest::num::f64::ANY) {
            let result = target_percent(x);
            proptest::prop_assert_eq!(result.is_ok(), (0.0..=1.0).contains(&x));
            if let Ok(p) = result {
                proptest::prop_assert!(p <= 100);
                // Never more than half a percent (plus float noise) from the value.
                proptest::prop_assert!((f64::from(p) - x * 100.0).abs() <= 0.5 + 1e-9);
            }
        }
    }

    #[test]
    fn design_tokens_are_known_valid_and_keep_their_contrast() {
        let page = |tokens: &[(&str, &str)]| PublicPage {
            design_tokens: tokens
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..PublicPage::default()
        };
        let fields = |p: &PublicPage| -> Vec<String> {
            p.violations().0.into_iter().map(|f| f.field).collect()
        };
        // A dark theme: light text on a dark background, a light primary colour.
        let dark = page(&[
            ("background-color", "#1a1a1a"),
            ("text-color", "#f5f5f5"),
            ("primary-color", "#8fcaff"),
            ("border-color", "#a0a0a0"),
            ("target-color", "#ffffff"),
            ("focus-color", "#ffdd00"),
            ("focus-background-color", "#1a1a1a"),
            ("font-family", "\"RijksoverheidSans\", Arial, sans-serif"),
        ]);
        assert!(dark.violations().is_empty(), "{:?}", dark.violations());
        assert_eq!(dark.token("text-color"), Some("#f5f5f5"));
        assert_eq!(dark.token("focus-color"), Some("#ffdd00"));
        assert_eq!(dark.token("red-color"), Some("#b3141d"));
        assert_eq!(dark.token("nope"), None);
        assert_eq!(dark.token_overrides().len(), 8);
        // A dark background alone leaves the default dark text unreadable.
        assert_eq!(
            fields(&page(&[("background-color", "#1a1a1a")])),
            [
                "design_tokens.background-color",
                "design_tokens.background-color",
                "design_tokens.background-color",
                "design_tokens.background-color",
                "design_tokens.background-color"
            ]
        );
        // A bad logo URL does not hide an unreadable theme.
        let both_wrong = PublicPage {
            logo_url: Some("http://x.nl/logo.svg".into()),
            ..page(&[("green-color", "#66ff66")])
        };
        assert_eq!(
            fields(&both_wrong),
            ["logo_url", "design_tokens.green-color"]
        );
        // A light status colour under the icons' white text.
        assert_eq!(
            fields(&page(&[("green-color", "#66ff66")])),
            ["design_tokens.green-color"]
        );
        for (name, value) in [
            ("text-colour", "#000000"),
            ("text-color", "black"),
            ("text-color", "#FFFFFF"),
            ("font-family", "Arial;}body{display:none"),
            ("font-family", "\"Arial"),
            ("font-family", "Arial,,serif"),
            ("font-family", ""),
        ] {
            assert_eq!(
                fields(&page(&[(name, value)])),
                [format!("design_tokens.{name}")],
                "{name}: {value}"
            );
        }
        // primary_colour and its token: one or the other.
        let both = PublicPage {
            primary_colour: Some("#01689b".into()),
            ..page(&[("primary-color", "#01689b")])
        };
        assert_eq!(fields(&both), ["design_tokens.primary-color"]);
        let old = PublicPage {
            primary_colour: Some("#154273".into()),
            ..PublicPage::default()
        };
        assert_eq!(old.token("primary-color"), Some("#154273"));
        assert_eq!(old.token_overrides(), [("primary-color", "#154273")]);
        // Every default passes its own checks and contrasts.
        assert!(page(&[]).violations().is_empty());
        for t in DESIGN_TOKENS {
            assert!(check_token(t.kind, t.default).is_ok(), "{}", t.name);
        }
        assert!((contrast([0, 0, 0], [255, 255, 255]) - 21.0).abs() < 1e-9);
        assert_eq!(
            contrast([1, 2, 3], [200, 100, 50]),
            contrast([200, 100, 50], [1, 2, 3])
        );
    }

    #[test]
    fn a_public_page_takes_https_urls_and_a_readable_colour() {
        let good = PublicPage {
            published: true,
            display_name: Some("Gemeente Voorbeeld".into()),
            logo_url: Some("https://www.voorbeeld.nl/logo.svg".into()),
            accessibility_statement_url: Some(
                "https://www.toegankelijkheidsverklaring.nl/register/1".into(),
            ),
            primary_colour: Some("#01689b".into()),
            design_tokens: BTreeMap::new(),
        };
        assert!(good.violations().is_empty());
        let bad = PublicPage {
            published: true,
            display_name: Some("  ".into()),
            logo_url: Some("http://www.voorbeeld.nl/logo.svg".into()),
            accessibility_statement_url: Some("https://x.nl/\"><script>".into()),
            primary_colour: Some("#ffff00".into()),
            design_tokens: BTreeMap::new(),
        };
        let v = bad.violations();
        let fields: Vec<&str> = v.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "display_name",
                "logo_url",
                "accessibility_statement_url",
                "primary_colour"
            ]
        );
        for (url, ok) in [
            ("https://", false),
            ("https://user:pw@x.nl/", false),
            ("javascript:alert(1)", false),
            ("https://x.nl/a b", false),
            ("https://x.nl/a%20b?c=d#e", true),
        ] {
            assert_eq!(check_https_url(url).is_ok(), ok, "{url}");
        }
        for (colour, ok) in [("#01689B", false), ("#0168", false), ("red", false)] {
            assert_eq!(rgb(colour).is_some(), ok, "{colour}");
        }
        // Black on white is 21:1, white on white 1:1.
        assert!((contrast_with_white([0, 0, 0]) - 21.0).abs() < 1e-9);
        assert!((contrast_with_white([255, 255, 255]) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn defaults_have_the_eight_norms_of_the_domain() {
        let s = TenantSettings::default();
        let ids: Vec<&str> = s.norms.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "phone-answered",
                "counter-served",
                "email-answered",
                "web-answered",
                "first-contact-resolution",
                "referred-at-most-twice",
                "story-told-once",
                "commitments-on-time"
            ]
        );
        assert!(s.validate().is_ok());
        assert_eq!(s.callback_within(), Within::WorkingDays(1));
        assert_eq!(
            s.norms[0].title,
            "We nemen de telefoon op binnen 25 seconden"
        );
    }

    #[test]
    fn duplicate_ids_and_bad_windows_are_refused() {
        let mut s = TenantSettings::default();
        s.norms.push(s.norms[0].clone());
        s.repeat_window_secs = 0;
        let v = s.validate().unwrap_err();
        let fields: Vec<&str> = v.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["norms[8].id", "repeat_window"]);
    }

    #[test]
    fn retention_is_one_month_to_ten_years() {
        let mut s = TenantSettings::default();
        assert_eq!(s.retention_months, 24);
        for (months, ok) in [(0, false), (1, true), (120, true), (121, false)] {
            s.retention_months = months;
            let fields: Vec<String> = s
                .validate()
                .err()
                .map(|v| v.0.into_iter().map(|f| f.field).collect())
                .unwrap_or_default();
            let expected: Vec<String> = if ok {
                vec![]
            } else {
                vec!["retention_months".into()]
            };
            assert_eq!(fields, expected, "{months} months");
        }
    }

    #[test]
    fn the_public_page_shows_published_norms_of_a_published_page_only() {
        let mut s = TenantSettings::default();
        let phone = s.norms[0].id.clone();
        let counter = s.norms[1].id.clone();
        // A new tenant has not published its page: nothing is shown.
        assert!(!s.public_page.published);
        assert!(s.norms.iter().all(|n| n.published));
        assert!(!s.shows_publicly(&phone));
        s.public_page.published = true;
        assert!(s.shows_publicly(&phone) && s.shows_publicly(&counter));
        s.norms[1].published = false;
        assert!(s.shows_publicly(&phone) && !s.shows_publicly(&counter));
        let gone = Code::parse("not-a-norm-any-more").unwrap();
        assert!(!s.shows_publicly(&gone));
    }

    #[test]
    fn callback_default_falls_back_to_one_working_day() {
        let mut s = TenantSettings::default();
        s.norms
            .retain(|n| !matches!(n.measure, Measure::CommitmentOnTime { .. }));
        assert_eq!(s.callback_within(), Within::WorkingDays(1));
        s.norms.push(norm(
            "cb",
            Measure::CommitmentOnTime {
                within: Some(Within::Elapsed(3600)),
            },
            90,
        ));
        assert_eq!(s.callback_within(), Within::Elapsed(3600));
    }
}
