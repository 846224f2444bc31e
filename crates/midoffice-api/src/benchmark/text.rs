//! Every word of the public benchmark page, in Dutch (the default) and English; the
//! words it shares with the thermometer (periods, numbers, the skip link) are the
//! thermometer's (`crate::thermometer::text`).

use crate::thermometer::text::Lang;
use midoffice_domain::benchmark::{BenchmarkPeriod, Direction, ItemKind, Unit};

/// The fixed texts of one language.
#[derive(Debug)]
pub struct Words {
    pub title: &'static str,
    pub intro: &'static str,
    pub group: &'static str,
    pub participants: &'static str,
    /// In place of the count of a group smaller than the least allowed.
    pub too_few: &'static str,
    pub composed: &'static str,
    pub periods: &'static str,
    pub metrics: &'static str,
    pub definition: &'static str,
    pub id_version: &'static str,
    pub above: &'static str,
    pub below: &'static str,
    pub unit: &'static str,
    pub better: &'static str,
    pub least: &'static str,
    pub share: &'static str,
    pub mean: (&'static str, &'static str),
    pub per_thousand: &'static str,
    pub higher: &'static str,
    pub lower: &'static str,
    pub neither: &'static str,
    pub contacts: &'static str,
    pub answers: &'static str,
    pub group_figure: &'static str,
    pub q1: &'static str,
    pub median: &'static str,
    pub q3: &'static str,
    pub contributors: &'static str,
    pub withheld: &'static str,
    pub withheld_why: &'static str,
    pub spread: &'static str,
    pub named: &'static str,
    pub named_none: &'static str,
    pub named_intro: &'static str,
    pub participant: &'static str,
    pub value: &'static str,
    pub no_value: &'static str,
    pub metric: &'static str,
    pub not_found: &'static str,
    pub bad_period: &'static str,
}

pub static NL: Words = Words {
    title: "Benchmark dienstverlening",
    intro: "Organisaties die meedoen vergelijken hun dienstverlening over alle kanalen, \
            elk met dezelfde gepubliceerde definities. U ziet per maatstaf de mediaan en de \
            kwartielen van de groep, en de waarden van deelnemers die ervoor kozen met naam \
            mee te doen. Er is geen ranglijst. Een groepscijfer staat er alleen als genoeg \
            deelnemers eraan bijdragen.",
    group: "Groep",
    participants: "Deelnemers in deze periode",
    too_few: "te weinig om te tonen",
    composed: "Vastgesteld op",
    periods: "Andere perioden van deze groep",
    metrics: "Maatstaven",
    definition: "Definitie",
    id_version: "Code en versie",
    above: "Boven de streep",
    below: "Onder de streep",
    unit: "Eenheid",
    better: "Beter is",
    least: "Een waarde telt mee vanaf",
    share: "aandeel (procent)",
    mean: ("gemiddelde op een schaal van ", " tot "),
    per_thousand: "per 1.000 inwoners",
    higher: "hoger",
    lower: "lager",
    neither: "geen van beide (een volume)",
    contacts: "registraties",
    answers: "antwoorden",
    group_figure: "Groepscijfer",
    q1: "Eerste kwartiel (Q1)",
    median: "Mediaan",
    q3: "Derde kwartiel (Q3)",
    contributors: "Bijdragende deelnemers",
    withheld: "niet genoeg deelnemers",
    withheld_why: "Te weinig deelnemers dragen bij om een groepscijfer te tonen.",
    spread: "Spreiding in de groep",
    named: "Deelnemers met naam",
    named_none: "Geen deelnemer doet met naam mee.",
    named_intro: "Deze deelnemers kozen ervoor met naam en eigen waarden getoond te worden. \
                  Een waarde staat er alleen als die op genoeg registraties rust.",
    participant: "Deelnemer",
    value: "Waarde",
    no_value: "geen waarde getoond",
    metric: "Maatstaf",
    not_found: "Deze pagina bestaat niet. Het adres is /benchmark/ gevolgd door de code \
                van een groep waarvan een periode is vastgesteld, zoals /benchmark/g4-plus.",
    bad_period: "period moet een maand (2026-03), een kwartaal (2026-Q1) of een jaar \
                 (2026) zijn",
};

pub static EN: Words = Words {
    title: "Service benchmark",
    intro: "Participating organisations compare their service across all channels, each \
            with the same published definitions. For each metric you see the group's \
            median and quartiles, and the values of participants that chose to be named. \
            There is no league table. A group figure is shown only when enough \
            participants contribute to it.",
    group: "Peer group",
    participants: "Participants in this period",
    too_few: "too few to show",
    composed: "Fixed on",
    periods: "Other periods of this group",
    metrics: "Metrics",
    definition: "Definition",
    id_version: "Id and version",
    above: "Above the line",
    below: "Below the line",
    unit: "Unit",
    better: "Better is",
    least: "A value counts from",
    share: "share (percent)",
    mean: ("mean on a scale from ", " to "),
    per_thousand: "per 1,000 inhabitants",
    higher: "higher",
    lower: "lower",
    neither: "neither (a volume)",
    contacts: "registrations",
    answers: "answers",
    group_figure: "Group figure",
    q1: "First quartile (Q1)",
    median: "Median",
    q3: "Third quartile (Q3)",
    contributors: "Contributing participants",
    withheld: "not enough participants",
    withheld_why: "Too few participants contribute to show a group figure.",
    spread: "Spread in the group",
    named: "Named participants",
    named_none: "No participant takes part by name.",
    named_intro: "These participants chose to be shown by name with their own values. A \
                  value is shown only when it rests on enough registrations.",
    participant: "Participant",
    value: "Value",
    no_value: "no value shown",
    metric: "Metric",
    not_found: "This page does not exist. The address is /benchmark/ followed by the code \
                of a group with a fixed period, such as /benchmark/g4-plus.",
    bad_period: "period must be a month (2026-03), a quarter (2026-Q1) or a year (2026)",
};

/// The words of `lang`.
pub fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::Nl => &NL,
        Lang::En => &EN,
    }
}

impl Words {
    /// A unit in words.
    pub fn unit(&self, unit: Unit) -> String {
        match unit {
            Unit::Share => self.share.to_owned(),
            Unit::Mean { min, max } => format!("{}{min}{}{max}", self.mean.0, self.mean.1),
            Unit::PerThousandInhabitants => self.per_thousand.to_owned(),
        }
    }

    /// Which way is better, in words.
    pub fn direction(&self, d: Direction) -> &'static str {
        match d {
            Direction::HigherIsBetter => self.higher,
            Direction::LowerIsBetter => self.lower,
            Direction::Neither => self.neither,
        }
    }

    /// What items are, in words.
    pub fn items(&self, kind: ItemKind) -> &'static str {
        match kind {
            ItemKind::Contacts => self.contacts,
            ItemKind::Answers => self.answers,
        }
    }
}

/// A period in words: "maart 2026", "1e kwartaal 2026", "2026".
pub fn period(lang: Lang, p: BenchmarkPeriod) -> String {
    let (from, to) = p.dates();
    lang.texts().period(from, to.pred_opt().unwrap_or(to))
}

/// A value in its unit, in `lang`'s notation: a share as a percentage with one
/// decimal ("87,5%"), a mean with two ("4,20"), a volume with one ("123,4").
pub fn value(lang: Lang, unit: Unit, v: f64) -> String {
    let (scaled, decimals, suffix) = match unit {
        Unit::Share => (v * 100.0, 1, "%"),
        Unit::Mean { .. } => (v, 2, ""),
        Unit::PerThousandInhabitants => (v, 1, ""),
    };
    let text = format!("{scaled:.decimals$}");
    let t = lang.texts();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let (sign, digits) = match whole.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("", whole),
    };
    let grouped = digits
        .parse::<u64>()
        .map(|n| t.count(n))
        .unwrap_or_else(|_| digits.to_owned());
    if fraction.is_empty() {
        format!("{sign}{grouped}{suffix}")
    } else {
        format!("{sign}{grouped}{}{fraction}{suffix}", t.decimal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_in_their_unit_and_language() {
        assert_eq!(value(Lang::Nl, Unit::Share, 0.875), "87,5%");
        assert_eq!(value(Lang::En, Unit::Share, 0.875), "87.5%");
        assert_eq!(value(Lang::Nl, Unit::Mean { min: 1, max: 5 }, 4.2), "4,20");
        assert_eq!(
            value(Lang::En, Unit::PerThousandInhabitants, 1234.56),
            "1,234.6"
        );
        assert_eq!(
            period(Lang::Nl, BenchmarkPeriod::parse("2026-Q1").unwrap()),
            "1e kwartaal 2026"
        );
        assert_eq!(
            period(Lang::En, BenchmarkPeriod::parse("2026-03").unwrap()),
            "March 2026"
        );
        assert_eq!(
            EN.unit(Unit::Mean { min: 1, max: 5 }),
            "mean on a scale from 1 to 5"
        );
    }
}
