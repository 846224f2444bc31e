//! `midoffice demo`: a living demo. Fills an empty tenant with a quarter of contacts
//! through `seed` (the same shape, the same rules, saved in bulk), under a calendar with
//! the Dutch public holidays and the organisation's own closing days, then explains every
//! norm the quarter does not meet, so that the thermometer and the dashboard show a
//! realistic organisation at once.

use crate::config::{Settings, StoreArgs};
use crate::seed::{self, Fill};
use chrono::{Datelike, Months, NaiveDate, TimeDelta, Weekday};
use clap::Args;
use midoffice_domain::calendar::easter_sunday;
use midoffice_domain::figures::{NormStatus, Period};
use midoffice_domain::settings::Measure;
use midoffice_domain::{Code, Instant, TenantId};
use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

/// The prefix of what `midoffice demo` prints.
const WHO: &str = "midoffice demo";
/// The name the demo tenant's public page shows.
const DISPLAY_NAME: &str = "Gemeente Voorbeeld";

/// Contacts per saved batch: small, so that a server already serving the same SQLite
/// file waits for the write lock one short save at a time (well under its 5 s), not for
/// the whole quarter in one transaction.
const BATCH_CONTACTS: usize = 1_000;

/// Contacts per citizen on average (the default of `--parties`).
const CONTACTS_PER_PARTY: usize = 5;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to fill, as for serve: the database and the identifier-hashing secret the
    /// server will use.
    #[command(flatten)]
    pub store: StoreArgs,
    /// The tenant to fill; it must have no contacts yet.
    #[arg(long, default_value = "demo")]
    pub tenant: String,
    /// Contacts in all, about 7 % of them anonymous.
    #[arg(long, value_name = "M", default_value_t = 15_000)]
    pub contacts: usize,
    /// Citizens (people and businesses that contact the tenant). [default: a fifth of
    /// --contacts]
    #[arg(long, value_name = "N")]
    pub parties: Option<usize>,
    /// The same seed fills the same citizens and matters (up to the moment it runs).
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub random_seed: u64,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Runs the demo; progress on stderr, what to do next on stdout.
pub async fn run(args: DemoArgs) -> ExitCode {
    let telemetry = match crate::telemetry::init(None, tracing::Level::WARN) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{WHO}: cannot set up logging: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = match demo(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{WHO}: {e}");
            ExitCode::FAILURE
        }
    };
    telemetry.shutdown().await;
    code
}

async fn demo(args: DemoArgs) -> Result<(), BoxError> {
    let tenant = TenantId::parse(&args.tenant).map_err(|e| format!("--tenant: {e}"))?;
    let parties = args
        .parties
        .unwrap_or(args.contacts / CONTACTS_PER_PARTY)
        .max(1);
    let opened = seed::open(&args.store).await?;
    let store = &opened.store;
    if store.has_contacts(&tenant).await? {
        return Err(format!(
            "tenant {} in {} has contacts already; the demo fills only an empty tenant: \
             name another one (--tenant) or use a fresh data folder (--data-dir)",
            tenant.as_str(),
            opened.shown
        )
        .into());
    }

    // The calendar first: it changes what is tallied, so it is set while the tenant has
    // no contacts, and the rebuild then has nothing to refresh; it records that the
    // rollups are current with it, and the fill's tallies answer at once.
    let now = chrono::Utc::now();
    let mut settings = store.settings(&tenant).await?;
    let today = settings.calendar.local_date(now);
    let (from, to) = quarter(today);
    settings
        .calendar
        .closing_days
        .extend(closing_days(from, to));
    // The demo publishes its page (a real tenant chooses to), with the name the page
    // shows (a tenant's own name is kept).
    settings.public_page.published = true;
    settings
        .public_page
        .display_name
        .get_or_insert_with(|| DISPLAY_NAME.to_owned());
    settings
        .validate()
        .map_err(|v| format!("the demo's settings are not valid: {v}"))?;
    store.replace_settings(&tenant, settings).await?;
    store.rebuild_figures(&tenant).await?;

    let filled = seed::fill(
        &opened,
        Fill {
            tenant: tenant.clone(),
            parties,
            contacts: args.contacts,
            from: Some(from),
            to: Some(to),
            random_seed: args.random_seed,
            batch_contacts: BATCH_CONTACTS,
        },
        WHO,
    )
    .await?;
    filled.summary(WHO);

    // Explanations do not change what is tallied: the rollups stay current.
    let missed = missed_norms(store, &tenant, from, to, now).await?;
    let mut settings = store.settings(&tenant).await?;
    for norm in &mut settings.norms {
        if missed.contains_key(&norm.id) {
            norm.explanation = Some(explanation(&norm.measure).to_owned());
        }
    }
    store.replace_settings(&tenant, settings).await?;
    if !store.figures_current(&tenant).await? {
        store.rebuild_figures(&tenant).await?;
    }

    let explained: Vec<String> = missed
        .iter()
        .map(|(id, status)| format!("{} ({status})", id.as_str()))
        .collect();
    println!(
        "{WHO}: tenant {} holds {} contacts from {from} up to today; norms not met in the \
         quarter or one of its months, each with an explanation: {}",
        tenant.as_str(),
        filled.saved.contacts,
        if explained.is_empty() {
            "none".to_owned()
        } else {
            explained.join(", ")
        }
    );
    println!();
    println!("Next:");
    println!(
        "  1. serve this store:  {}  (unless a server already does: it sees the demo)",
        serve_command(&args.store)
    );
    println!(
        "  2. open the page:     {}",
        page_url(&opened.settings, &tenant)
    );
    println!(
        "  gRPC clients name the tenant in the metadata: x-tenant: {}",
        tenant.as_str()
    );
    Ok(())
}

/// The demo's quarter: the last three whole months and this month up to today, `to`
/// exclusive (tomorrow). Any month, the calendar quarter so far and the last 13 weeks
/// lie in it.
pub fn quarter(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first = today.with_day(1).unwrap_or(today);
    let from = first.checked_sub_months(Months::new(3)).unwrap_or(first);
    (from, today + TimeDelta::days(1))
}

/// The organisation's own closing days around the quarter: the Friday after Ascension
/// Day (a bridge day many municipalities close on) of the years it touches, and a staff
/// day (the second Friday of its second month), so that every quarter has a day off
/// beside the public holidays of the calendar's Dutch holiday set.
pub fn closing_days(from: NaiveDate, to: NaiveDate) -> BTreeSet<NaiveDate> {
    let mut days: BTreeSet<NaiveDate> = (from.year()..=to.year())
        .map(|y| easter_sunday(y) + TimeDelta::days(40))
        .collect();
    if let Some(month) = from.checked_add_months(Months::new(1)) {
        let first_friday = (0..7)
            .map(|d| month + TimeDelta::days(d))
            .find(|d| d.weekday() == Weekday::Fri)
            .unwrap_or(month);
        days.insert(first_friday + TimeDelta::days(7));
    }
    days
}

/// The norms that are amber or red in the quarter, in the calendar quarter so far, in the
/// last 13 weeks or in one of its months, with the worst status seen: a page showing any
/// of those periods has an explanation for every norm it does not show green.
async fn missed_norms(
    store: &midoffice_store::Store,
    tenant: &TenantId,
    from: NaiveDate,
    to: NaiveDate,
    as_of: Instant,
) -> Result<BTreeMap<Code, &'static str>, BoxError> {
    let mut periods = vec![(from, to), (to - TimeDelta::weeks(13), to)];
    let today = to - TimeDelta::days(1);
    let quarter_month = (today.month0() / 3) * 3 + 1;
    if let Some(q) = NaiveDate::from_ymd_opt(today.year(), quarter_month, 1) {
        periods.push((q, to));
    }
    let mut month = from;
    while month < to {
        let next = month
            .checked_add_months(Months::new(1))
            .unwrap_or(to)
            .min(to);
        periods.push((month, next));
        month = next;
    }
    let mut missed: BTreeMap<Code, &'static str> = BTreeMap::new();
    for (from, to) in periods {
        let period = Period { from, to, as_of };
        for result in store.thermometer(tenant, period, false).await?.answer {
            let status = match result.status {
                NormStatus::Red => "red",
                NormStatus::Amber => "amber",
                NormStatus::Green | NormStatus::NoData => continue,
            };
            let worst = missed.entry(result.norm_id).or_insert(status);
            if status == "red" {
                *worst = status;
            }
        }
    }
    Ok(missed)
}

/// Why a norm of this kind was missed and what the organisation does about it, as a
/// municipality would write it on its public thermometer.
pub fn explanation(measure: &Measure) -> &'static str {
    use midoffice_domain::contact::Channel;
    match measure {
        Measure::ResponseTime {
            channel: Channel::Phone,
            ..
        } => {
            "Op maandag en in de ochtenden bellen veel meer inwoners dan we tegelijk kunnen \
             opnemen, en door ziekte was het team kleiner dan gepland. We zetten tussen 9 en \
             11 uur extra medewerkers in en bieden bellers bij drukte een terugbelafspraak aan."
        }
        Measure::ResponseTime {
            channel: Channel::Counter,
            ..
        } => {
            "Aan de balie komen veel inwoners zonder afspraak, vooral voor paspoorten en \
             identiteitskaarten. We vragen inwoners vaker vooraf een afspraak te maken en openen \
             op drukke dagen een extra balie."
        }
        Measure::ResponseTime {
            channel: Channel::Email,
            ..
        } => {
            "Veel e-mails gaan over vragen die een vakafdeling moet beantwoorden, en die \
             doorlooptijd telt mee. We hebben met de afdelingen afgesproken dat zij binnen één \
             werkdag reageren, en we maken standaardantwoorden voor de meest gestelde vragen."
        }
        Measure::ResponseTime {
            channel: Channel::Web,
            ..
        } => {
            "Webformulieren die in het weekend en op feestdagen binnenkomen, bleven liggen tot \
             de drukte van de eerste werkdag voorbij was. We behandelen ze nu elke ochtend als \
             eerste."
        }
        Measure::FirstContactResolution => {
            "Een deel van de vragen kan het KCC niet zelf beantwoorden, omdat de informatie van \
             de vakafdeling ontbreekt. We breiden de kennisbank uit en geven KCC-medewerkers \
             meer bevoegdheden, zodat minder vragen hoeven te worden doorgezet."
        }
        Measure::ReferredAtMost { .. } => {
            "Bij vragen over belastingen, vergunningen en inkomen werden inwoners soms tussen \
             afdelingen heen en weer verwezen. Per onderwerp is nu één afdeling eigenaar van de \
             vraag, en we bespreken elke dubbele verwijzing in het wekelijkse overleg."
        }
        Measure::StoryToldOnce => {
            "Na een doorverwijzing of bij een terugbelafspraak zag de volgende medewerker niet \
             altijd wat er al besproken was. Medewerkers leggen de vraag nu kort vast en lezen \
             het verslag voordat ze een inwoner terugbellen."
        }
        Measure::CommitmentOnTime { .. } => {
            "Terugbelafspraken werden niet altijd op tijd nagekomen als de vakafdeling druk was. \
             Het KCC ziet nu elke dag welke afspraken dreigen te verlopen en belt zelf terug als \
             de afdeling dat niet lukt."
        }
    }
}

/// The `serve` command for the store the demo filled: the same store flags.
fn serve_command(store: &StoreArgs) -> String {
    let mut command = String::from("midoffice serve");
    let mut flag = |name: &str, value: Option<&str>| {
        if let Some(v) = value {
            command.push_str(&format!(" --{name} {v}"));
        }
    };
    flag("config", store.config.as_deref().and_then(|p| p.to_str()));
    flag("data-dir", store.data_dir.as_deref());
    // The URL may hold a password: named, not repeated.
    flag(
        "database-url",
        store.database_url.as_ref().map(|_| "<the same URL>"),
    );
    flag("secret-file", store.secret_file.as_deref());
    flag("mode", store.mode.as_deref());
    command
}

/// The thermometer page of the tenant on the address `serve` listens on.
fn page_url(settings: &Settings, tenant: &TenantId) -> String {
    let mut addr = settings.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    }
    let scheme = if settings.tls.is_some() {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{addr}/thermometer/{}", tenant.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use midoffice_domain::calendar::Calendar;
    use midoffice_domain::settings::default_norms;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_quarter_is_three_whole_months_and_this_one_up_to_today() {
        assert_eq!(
            quarter(day(2026, 12, 7)),
            (day(2026, 9, 1), day(2026, 12, 8))
        );
        assert_eq!(
            quarter(day(2027, 2, 28)),
            (day(2026, 11, 1), day(2027, 3, 1))
        );
        assert_eq!(
            quarter(day(2026, 3, 31)),
            (day(2025, 12, 1), day(2026, 4, 1))
        );
    }

    #[test]
    fn closing_days_are_working_days_otherwise_and_one_lies_in_every_quarter() {
        let calendar = Calendar::default();
        // Ascension Day 2026 is 14 May.
        assert!(closing_days(day(2026, 3, 1), day(2026, 6, 2)).contains(&day(2026, 5, 15)));
        for (y, m) in [(2026, 1), (2026, 7), (2026, 9), (2026, 12), (2027, 5)] {
            let (from, to) = quarter(day(y, m, 10));
            let days = closing_days(from, to);
            assert!(days.iter().all(|d| calendar.is_working_day(*d)), "{days:?}");
            assert!(
                days.iter().any(|d| (from..to).contains(d)),
                "{from} .. {to}: {days:?}"
            );
        }
    }

    #[test]
    fn every_default_norm_has_an_explanation_within_the_limit() {
        let mut seen = BTreeSet::new();
        for norm in default_norms() {
            let text = explanation(&norm.measure);
            assert!(
                text.chars().count() <= midoffice_domain::limits::MAX_EXPLANATION_CHARS,
                "{}",
                norm.id.as_str()
            );
            assert!(!text.contains("  "), "{text}");
            assert!(seen.insert(text), "one text per norm: {}", norm.id.as_str());
        }
    }
}
