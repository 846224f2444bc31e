//! The open data of a group's page: its figures as JSON, each with its metric's
//! published definition, and the named participants' values. Nobody else's value.

use super::View;
use midoffice_domain::benchmark::{Direction, GroupValue, Metric, Unit};
use serde::Serialize;

#[derive(Serialize)]
struct OpenData<'a> {
    group: &'a str,
    period: String,
    composed_at: String,
    /// The group's members in the period; null for a group smaller than the least
    /// allowed, of which nothing is said.
    participants: Option<usize>,
    /// The group's composed periods, newest first.
    periods: Vec<String>,
    metrics: Vec<Figure<'a>>,
}

#[derive(Serialize)]
struct Definition {
    id: &'static str,
    version: u32,
    title_nl: &'static str,
    title_en: &'static str,
    numerator: &'static str,
    denominator: &'static str,
    unit: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scale: Option<[u8; 2]>,
    direction: &'static str,
    min_items: u64,
}

#[derive(Serialize)]
struct Group {
    contributors: usize,
    q1: f64,
    median: f64,
    q3: f64,
}

#[derive(Serialize)]
struct Named<'a> {
    participant: &'a str,
    name: &'a str,
    value: f64,
}

#[derive(Serialize)]
struct Figure<'a> {
    metric: Definition,
    /// The group figure; absent when withheld (then `withheld` is true, and nothing
    /// more is said).
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<Group>,
    withheld: bool,
    named: Vec<Named<'a>>,
}

/// A metric's published definition as the open data writes it.
fn definition(m: &Metric) -> Definition {
    let (unit, scale) = match m.unit {
        Unit::Share => ("share", None),
        Unit::Mean { min, max } => ("mean", Some([min, max])),
        Unit::PerThousandInhabitants => ("per_1000_inhabitants", None),
    };
    Definition {
        id: m.id,
        version: m.version,
        title_nl: m.title_nl,
        title_en: m.title_en,
        numerator: m.numerator,
        denominator: m.denominator,
        unit,
        scale,
        direction: match m.direction {
            Direction::HigherIsBetter => "higher_is_better",
            Direction::LowerIsBetter => "lower_is_better",
            Direction::Neither => "neither",
        },
        min_items: m.min_items,
    }
}

/// The page as JSON.
pub fn json(view: &View) -> String {
    let figures = &view.public.figures;
    let data = OpenData {
        group: view.group.as_str(),
        period: view.period.key(),
        composed_at: view
            .composed_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        participants: view.public.participants,
        periods: view.periods.iter().map(|p| p.key()).collect(),
        metrics: figures
            .figures
            .iter()
            .map(|f| {
                let group = match f.value {
                    GroupValue::Shown {
                        contributors,
                        quartiles,
                    } => Some(Group {
                        contributors,
                        q1: quartiles.q1,
                        median: quartiles.median,
                        q3: quartiles.q3,
                    }),
                    GroupValue::Withheld => None,
                };
                let named = view
                    .public
                    .named
                    .get(&f.metric.reference())
                    .map(|values| {
                        values
                            .iter()
                            .map(|(id, value)| Named {
                                participant: id.as_str(),
                                name: view.name_of(id),
                                value: *value,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Figure {
                    metric: definition(&f.metric),
                    withheld: group.is_none(),
                    group,
                    named,
                }
            })
            .collect(),
    };
    serde_json::to_string_pretty(&data).unwrap_or_else(|_| "{}".to_owned())
}
