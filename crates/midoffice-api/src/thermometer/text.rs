//! Every word of the public page, in Dutch (the default) and English, in one place.

use chrono::{Datelike, NaiveDate};
use midoffice_domain::figures::NormStatus;

/// The page's language: Dutch unless `?lang=en`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    Nl,
    En,
}

impl Lang {
    /// The `lang` attribute and query value.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Nl => "nl",
            Lang::En => "en",
        }
    }

    /// The language of a `lang` query value.
    pub fn parse(value: &str) -> Option<Lang> {
        match value {
            "nl" => Some(Lang::Nl),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The texts of this language.
    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Nl => &NL,
            Lang::En => &EN,
        }
    }
}

/// The fixed texts of one language.
#[derive(Debug)]
pub struct Texts {
    pub title: &'static str,
    pub skip_link: &'static str,
    pub intro: &'static str,
    pub period: &'static str,
    pub other_periods: &'static str,
    pub previous_month: &'static str,
    pub previous_quarter: &'static str,
    pub previous_year: &'static str,
    pub this_month: &'static str,
    pub norms: &'static str,
    pub achieved: &'static str,
    pub target: &'static str,
    pub items: &'static str,
    pub status: &'static str,
    pub explanation: &'static str,
    pub earlier: &'static str,
    pub no_earlier: &'static str,
    pub no_norms: &'static str,
    pub open_data: &'static str,
    /// The heading and links to the tenant's benchmark group (when it takes part): to its
    /// own row when it is named, else to the group's figures.
    pub benchmark: &'static str,
    pub benchmark_named: &'static str,
    pub accessibility: &'static str,
    pub no_share: &'static str,
    pub through: &'static str,
    pub months: [&'static str; 12],
    /// "3e kwartaal 2026", "Q3 2026": the words before and after the quarter's number.
    pub quarter: (&'static str, &'static str),
    /// The status words: green, amber, red, no data.
    pub statuses: [&'static str; 4],
    /// Decimal separator.
    pub decimal: char,
    /// Thousands separator.
    pub thousands: char,
    pub bad_request: &'static str,
    pub bad_date: &'static str,
    pub bad_lang: &'static str,
    pub bad_embed: &'static str,
    pub both_dates: &'static str,
    pub order: &'static str,
    pub too_long: &'static str,
    pub bad_year: &'static str,
    pub shape: &'static str,
    pub repeated: &'static str,
    pub not_found: &'static str,
    pub busy: &'static str,
    pub failed: &'static str,
    pub method: &'static str,
}

/// Dutch, the default.
pub static NL: Texts = Texts {
    title: "Servicethermometer",
    skip_link: "Naar de cijfers",
    intro: "Wij beloven u hoe snel en hoe goed we u helpen. Hieronder ziet u per belofte \
            hoe vaak we die hebben waargemaakt, onze norm, en hoe het eerder ging.",
    period: "Periode",
    other_periods: "Andere perioden",
    previous_month: "Vorige maand",
    previous_quarter: "Vorig kwartaal",
    previous_year: "Vorig jaar",
    this_month: "Deze maand",
    norms: "Onze beloften",
    achieved: "Behaald",
    target: "Norm",
    items: "Aantal",
    status: "Status",
    explanation: "Waarom, en wat we eraan doen",
    earlier: "Eerdere perioden",
    no_earlier: "Geen eerdere perioden.",
    no_norms: "Deze organisatie heeft geen beloften gepubliceerd.",
    open_data: "Deze cijfers als open data",
    benchmark: "Vergeleken met andere organisaties",
    benchmark_named: "Onze cijfers naast die van vergelijkbare organisaties",
    accessibility: "Toegankelijkheidsverklaring",
    no_share: "geen gegevens",
    through: "t/m",
    months: [
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ],
    quarter: ("", "e kwartaal"),
    statuses: ["Gehaald", "Bijna gehaald", "Niet gehaald", "Geen gegevens"],
    decimal: ',',
    thousands: '.',
    bad_request: "Deze vraag kunnen we niet beantwoorden",
    bad_date: "is geen datum; schrijf JJJJ-MM-DD, zoals 2026-03-01",
    bad_lang: "lang moet nl of en zijn",
    bad_embed: "embed moet 0 of 1 zijn",
    both_dates: "geef from en to allebei, of geen van beide",
    order: "to mag niet voor from liggen",
    too_long: "een periode duurt hooguit een jaar (366 dagen)",
    bad_year: "ligt niet tussen 1970 en 9999",
    shape: "kies hele maanden (from op de eerste van een maand) of hooguit 31 dagen",
    repeated: "staat meer dan eens in de vraag",
    not_found: "Deze pagina bestaat niet. Het adres is /thermometer/ gevolgd door de code \
                van een organisatie die haar servicethermometer publiceert, zoals \
                /thermometer/gemeente-a.",
    busy: "Het is op dit moment te druk. Probeer het over een paar seconden opnieuw.",
    failed: "Er ging iets mis bij het ophalen van de cijfers. Probeer het later opnieuw.",
    method: "Deze pagina kan alleen worden opgevraagd (GET of HEAD).",
};

/// English, with `?lang=en`.
pub static EN: Texts = Texts {
    title: "Service thermometer",
    skip_link: "Skip to the figures",
    intro: "We promise how quickly and how well we help you. Below, for each promise, \
            you see how often we kept it, our target, and how it went before.",
    period: "Period",
    other_periods: "Other periods",
    previous_month: "Previous month",
    previous_quarter: "Previous quarter",
    previous_year: "Previous year",
    this_month: "This month",
    norms: "Our promises",
    achieved: "Achieved",
    target: "Target",
    items: "Number",
    status: "Status",
    explanation: "Why, and what we are doing about it",
    earlier: "Earlier periods",
    no_earlier: "No earlier periods.",
    no_norms: "This organisation has published no promises.",
    open_data: "These figures as open data",
    benchmark: "Compared with other organisations",
    benchmark_named: "Our figures beside those of similar organisations",
    accessibility: "Accessibility statement",
    no_share: "no data",
    through: "to",
    months: [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    quarter: ("Q", ""),
    statuses: ["Met", "Nearly met", "Not met", "No data"],
    decimal: '.',
    thousands: ',',
    bad_request: "We cannot answer this request",
    bad_date: "is not a date; write YYYY-MM-DD, such as 2026-03-01",
    bad_lang: "lang must be nl or en",
    bad_embed: "embed must be 0 or 1",
    both_dates: "give both from and to, or neither",
    order: "to must not lie before from",
    too_long: "a period spans at most a year (366 days)",
    bad_year: "is not between 1970 and 9999",
    shape: "choose whole months (from on the first of a month) or at most 31 days",
    repeated: "appears more than once in the request",
    not_found: "This page does not exist. The address is /thermometer/ followed by the \
                code of an organisation that publishes its service thermometer, such as \
                /thermometer/gemeente-a.",
    busy: "It is too busy at the moment. Please try again in a few seconds.",
    failed: "Something went wrong while reading the figures. Please try again later.",
    method: "This page can only be read (GET or HEAD).",
};

impl Texts {
    /// The status in words.
    pub fn status_word(&self, status: NormStatus) -> &'static str {
        self.statuses[match status {
            NormStatus::Green => 0,
            NormStatus::Amber => 1,
            NormStatus::Red => 2,
            NormStatus::NoData => 3,
        }]
    }

    /// A date in words: "7 december 2026", "7 December 2026".
    pub fn date(&self, d: NaiveDate) -> String {
        format!(
            "{} {} {}",
            d.day(),
            self.months[d.month0() as usize],
            d.year()
        )
    }

    /// A period (`to` included) in words: "december 2026", "3e kwartaal 2026",
    /// "2025", or "1 t/m 14 december 2026".
    pub fn period(&self, from: NaiveDate, to: NaiveDate) -> String {
        let next = to.succ_opt();
        let whole_months = from.day() == 1 && next.is_some_and(|n| n.day() == 1);
        let months = next.map_or(0, |n| {
            (n.year() - from.year()) * 12 + n.month0() as i32 - from.month0() as i32
        });
        if whole_months && months == 1 {
            format!("{} {}", self.months[from.month0() as usize], from.year())
        } else if whole_months && months == 3 && from.month0().is_multiple_of(3) {
            let q = from.month0() / 3 + 1;
            format!("{}{q}{} {}", self.quarter.0, self.quarter.1, from.year())
        } else if whole_months && months == 12 && from.month0() == 0 {
            from.year().to_string()
        } else {
            format!("{} {} {}", self.date(from), self.through, self.date(to))
        }
    }

    /// A share as a percentage with one decimal, rounded down so that a share just
    /// below a target never reads as the target: "87,5%".
    pub fn percent(&self, met: u64, items: u64) -> Option<String> {
        if items == 0 {
            return None;
        }
        let tenths = u128::from(met) * 1000 / u128::from(items);
        Some(format!("{}{}{}%", tenths / 10, self.decimal, tenths % 10))
    }

    /// A count with thousands separators: "12.345", "12,345".
    pub fn count(&self, n: u64) -> String {
        let digits = n.to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(self.thousands);
            }
            out.push(c);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn periods_read_as_people_say_them() {
        assert_eq!(NL.period(d(2026, 12, 1), d(2026, 12, 31)), "december 2026");
        assert_eq!(EN.period(d(2026, 7, 1), d(2026, 9, 30)), "Q3 2026");
        assert_eq!(NL.period(d(2026, 7, 1), d(2026, 9, 30)), "3e kwartaal 2026");
        assert_eq!(NL.period(d(2025, 1, 1), d(2025, 12, 31)), "2025");
        assert_eq!(
            NL.period(d(2026, 12, 1), d(2026, 12, 14)),
            "1 december 2026 t/m 14 december 2026"
        );
    }

    #[test]
    fn shares_round_down_and_counts_are_grouped() {
        assert_eq!(NL.percent(7, 8).as_deref(), Some("87,5%"));
        // 79.99%: never shown as the 80% it did not reach.
        assert_eq!(EN.percent(7999, 10000).as_deref(), Some("79.9%"));
        assert_eq!(EN.percent(0, 0), None);
        assert_eq!(NL.count(1234567), "1.234.567");
        assert_eq!(EN.count(999), "999");
    }
}
