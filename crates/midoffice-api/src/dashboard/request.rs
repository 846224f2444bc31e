//! What a request to the dashboard asks: the tenant, HTML or CSV, the period, the step,
//! the filter and the language. The period follows the thermometer page's convention
//! (`from` and `to`, both days included; neither: the current month).

use crate::thermometer::request::{Days, Refusal, pairs, period};
use crate::thermometer::text::Lang;
use midoffice_domain::TenantId;
use midoffice_domain::code::Code;
use midoffice_domain::contact::Channel;
use midoffice_domain::figures::Filter;
use midoffice_domain::rollup::Step;

/// A period longer than this many days defaults to monthly points, else weekly.
pub const WEEKLY_UP_TO_DAYS: i64 = 92;

/// A parsed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ask {
    pub tenant: TenantId,
    pub csv: bool,
    /// `None`: the current month in the tenant's calendar.
    pub days: Option<Days>,
    /// `None`: the default for the period ([`default_step`]).
    pub step: Option<Step>,
    pub filter: Filter,
    pub lang: Lang,
}

/// The step's query value.
pub fn step_name(step: Step) -> &'static str {
    match step {
        Step::Day => "day",
        Step::Week => "week",
        Step::Month => "month",
    }
}

/// Weekly points, or monthly ones for a period longer than [`WEEKLY_UP_TO_DAYS`].
pub fn default_step(days: Days) -> Step {
    if (days.to - days.from).num_days() + 1 > WEEKLY_UP_TO_DAYS {
        Step::Month
    } else {
        Step::Week
    }
}

/// Reads the path after `/dashboard/` and the query (without `?`).
pub fn parse(rest: &str, query: Option<&str>) -> Result<Ask, Refusal> {
    let pairs = pairs(query);
    let mut wrong = Vec::new();
    let single = |key: &str, wrong: &mut Vec<String>, repeated: &str| -> Option<String> {
        let mut values = pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v);
        let one = values.next().cloned();
        if values.next().is_some() {
            wrong.push(format!("{key} {repeated}"));
            return None;
        }
        one
    };
    let nl = Lang::Nl.texts();
    let lang = match single("lang", &mut wrong, nl.repeated).as_deref() {
        None => Lang::Nl,
        Some(v) => Lang::parse(v).unwrap_or_else(|| {
            wrong.push(nl.bad_lang.to_owned());
            Lang::Nl
        }),
    };
    let t = lang.texts();
    let (csv, tenant) = match rest.strip_suffix(".csv") {
        Some(tenant) => (true, tenant),
        None => (false, rest),
    };
    let Ok(tenant) = TenantId::parse(tenant) else {
        return Err(Refusal::NotFound(lang));
    };
    let from = single("from", &mut wrong, t.repeated);
    let to = single("to", &mut wrong, t.repeated);
    let days = period(from, to, t, &mut wrong);
    let step = match single("step", &mut wrong, t.repeated).as_deref() {
        None | Some("") => None,
        Some("day") => Some(Step::Day),
        Some("week") => Some(Step::Week),
        Some("month") => Some(Step::Month),
        Some(_) => {
            wrong.push("step: day, week or month".to_owned());
            None
        }
    };
    let channel = match single("channel", &mut wrong, t.repeated).as_deref() {
        None | Some("") => None,
        Some(v) => {
            let found = Channel::parse(&v.to_ascii_uppercase());
            if found.is_none() {
                let names: Vec<&str> = Channel::ALL.iter().map(|c| c.as_str()).collect();
                wrong.push(format!("channel: {}", names.join(", ")));
            }
            found
        }
    };
    let mut code = |key: &str| match single(key, &mut wrong, t.repeated) {
        None => None,
        Some(v) => match Code::parse_optional(v.trim()) {
            Ok(c) => c,
            Err(why) => {
                wrong.push(format!("{key} {why}"));
                None
            }
        },
    };
    let topic = code("topic");
    let department = code("department");
    if !wrong.is_empty() {
        return Err(Refusal::BadQuery(lang, wrong));
    }
    Ok(Ask {
        tenant,
        csv,
        days,
        step,
        filter: Filter {
            channel,
            topic,
            department,
        },
        lang,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_names_a_period_a_step_and_a_filter() {
        let a = parse(
            "gemeente-a.csv",
            Some("from=2026-01-01&to=2026-03-31&step=month&channel=phone&topic=afval&lang=en"),
        )
        .unwrap();
        assert!(a.csv);
        assert_eq!(a.step, Some(Step::Month));
        assert_eq!(a.filter.channel, Some(Channel::Phone));
        assert_eq!(a.filter.topic.as_ref().map(|c| c.as_str()), Some("afval"));
        assert_eq!(a.lang, Lang::En);
        let b = parse("gemeente-a", Some("channel=&topic=&department=")).unwrap();
        assert_eq!(b.filter, Filter::default());
        for q in [
            "step=year",
            "channel=fax",
            "topic=a%20b",
            "from=2026-01-01",
            "lang=de",
            "step=day&step=week",
        ] {
            assert!(
                matches!(parse("a", Some(q)), Err(Refusal::BadQuery(..))),
                "{q}"
            );
        }
        assert!(matches!(parse("A", None), Err(Refusal::NotFound(_))));
    }
}
