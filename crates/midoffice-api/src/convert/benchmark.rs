//! The benchmark (`BenchmarkService`): the request's period and peer group in, a
//! member's view of its group (`benchmark::own_view`) out.

use super::{take, timestamp};
use crate::pb;
use midoffice_domain::benchmark::{
    BenchmarkPeriod, Direction, Flag, GroupValue, Metric, Own, OwnFigure, OwnView, Quarter, Unit,
};
use midoffice_domain::{Code, Instant, Violations};

/// A valid request: the period, and the peer group when one is named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BenchmarkAsk {
    pub period: BenchmarkPeriod,
    pub peer_group: Option<Code>,
}

/// The request's fields, every violation named (`period`, `peer_group`).
pub fn ask(req: &pb::GetBenchmarkRequest) -> Result<BenchmarkAsk, Violations> {
    let mut v = Violations::default();
    let period = if req.period.is_empty() {
        v.add("period", "is required");
        None
    } else {
        take(BenchmarkPeriod::parse(&req.period), "period", &mut v)
    };
    let peer_group = take(Code::parse_optional(&req.peer_group), "peer_group", &mut v);
    match (period, peer_group, v.is_empty()) {
        (Some(period), Some(peer_group), true) => Ok(BenchmarkAsk { period, peer_group }),
        _ => Err(v),
    }
}

impl From<&Metric> for pb::MetricDefinition {
    fn from(m: &Metric) -> Self {
        let (unit, scale_min, scale_max) = match m.unit {
            Unit::Share => (pb::MetricUnit::Share, 0, 0),
            Unit::Mean { min, max } => (pb::MetricUnit::Mean, u32::from(min), u32::from(max)),
            Unit::PerThousandInhabitants => (pb::MetricUnit::PerThousandInhabitants, 0, 0),
        };
        pb::MetricDefinition {
            id: m.id.to_owned(),
            version: m.version,
            title_nl: m.title_nl.to_owned(),
            title_en: m.title_en.to_owned(),
            numerator: m.numerator.to_owned(),
            denominator: m.denominator.to_owned(),
            unit: unit as i32,
            scale_min,
            scale_max,
            direction: pb::MetricDirection::from(m.direction) as i32,
            min_items: m.min_items,
        }
    }
}

impl From<Direction> for pb::MetricDirection {
    fn from(d: Direction) -> Self {
        match d {
            Direction::HigherIsBetter => pb::MetricDirection::HigherIsBetter,
            Direction::LowerIsBetter => pb::MetricDirection::LowerIsBetter,
            Direction::Neither => pb::MetricDirection::Neither,
        }
    }
}

impl From<Flag> for pb::RegistrationFlag {
    fn from(f: Flag) -> Self {
        match f {
            Flag::MostlyAnonymous => pb::RegistrationFlag::MostlyAnonymous,
            Flag::WithoutOutcome => pb::RegistrationFlag::WithoutOutcome,
        }
    }
}

impl From<Quarter> for pb::BenchmarkQuarter {
    fn from(q: Quarter) -> Self {
        match q {
            Quarter::Lowest => pb::BenchmarkQuarter::Lowest,
            Quarter::LowerMiddle => pb::BenchmarkQuarter::LowerMiddle,
            Quarter::UpperMiddle => pb::BenchmarkQuarter::UpperMiddle,
            Quarter::Highest => pb::BenchmarkQuarter::Highest,
        }
    }
}

/// The quarter counted from the better end, as the API names it.
fn standing(position: Option<Quarter>, direction: Direction) -> pb::BenchmarkStanding {
    match position.and_then(|q| q.from_better_end(direction)) {
        Some(1) => pb::BenchmarkStanding::BestQuarter,
        Some(2) => pb::BenchmarkStanding::SecondQuarter,
        Some(3) => pb::BenchmarkStanding::ThirdQuarter,
        Some(4) => pb::BenchmarkStanding::WorstQuarter,
        _ => pb::BenchmarkStanding::Unspecified,
    }
}

/// The group figure as the API says it: the quartiles, or withheld and nothing more.
pub fn group(value: &GroupValue) -> pb::benchmark_figure::Group {
    use pb::benchmark_figure::Group;
    match value {
        GroupValue::Shown {
            contributors,
            quartiles,
        } => Group::GroupFigure(pb::GroupFigure {
            contributors: u32::try_from(*contributors).unwrap_or(u32::MAX),
            q1: quartiles.q1,
            median: quartiles.median,
            q3: quartiles.q3,
        }),
        GroupValue::Withheld => Group::GroupWithheld(pb::GroupWithheld {}),
    }
}

impl From<&OwnFigure> for pb::BenchmarkFigure {
    fn from(f: &OwnFigure) -> Self {
        use pb::benchmark_figure::Own as PbOwn;
        let own = match f.own {
            Own::Shown { value, count } => PbOwn::OwnValue(pb::OwnValue {
                value,
                numerator: count.numerator,
                denominator: count.denominator,
                items: count.items,
            }),
            Own::TooFewItems { items, min } => PbOwn::TooFewItems(pb::TooFewItems {
                items,
                min_items: min,
            }),
        };
        pb::BenchmarkFigure {
            metric: Some(pb::MetricDefinition::from(&f.metric)),
            own: Some(own),
            group: Some(group(&f.group)),
            position: f.position.map_or(
                pb::BenchmarkQuarter::Unspecified,
                pb::BenchmarkQuarter::from,
            ) as i32,
            standing: standing(f.position, f.metric.direction) as i32,
        }
    }
}

/// The answer: a member's view of its group for the period, composed at `composed_at`.
pub fn response(
    group: &Code,
    period: BenchmarkPeriod,
    composed_at: Instant,
    view: &OwnView,
) -> pb::GetBenchmarkResponse {
    pb::GetBenchmarkResponse {
        peer_group: group.as_str().to_owned(),
        period: period.key(),
        composed_at: Some(timestamp(composed_at)),
        participants: u32::try_from(view.participants).unwrap_or(u32::MAX),
        flags: view
            .flags
            .iter()
            .map(|f| pb::RegistrationFlag::from(*f) as i32)
            .collect(),
        figures: view.figures.iter().map(pb::BenchmarkFigure::from).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_of_a_bad_request_is_named() {
        let bad = pb::GetBenchmarkRequest {
            period: "2026-13".into(),
            peer_group: "Not A Code".into(),
        };
        let fields: Vec<String> = ask(&bad)
            .unwrap_err()
            .0
            .into_iter()
            .map(|f| f.field)
            .collect();
        assert_eq!(fields, ["period", "peer_group"]);
        let missing = ask(&pb::GetBenchmarkRequest::default()).unwrap_err();
        assert_eq!(missing.0[0].field, "period");
        let good = ask(&pb::GetBenchmarkRequest {
            period: "2026-Q1".into(),
            peer_group: String::new(),
        })
        .unwrap();
        assert_eq!(good.period.key(), "2026-Q1");
        assert_eq!(good.peer_group, None);
    }

    #[test]
    fn the_standing_is_counted_from_the_better_end() {
        assert_eq!(
            standing(Some(Quarter::Highest), Direction::HigherIsBetter),
            pb::BenchmarkStanding::BestQuarter
        );
        assert_eq!(
            standing(Some(Quarter::Highest), Direction::LowerIsBetter),
            pb::BenchmarkStanding::WorstQuarter
        );
        assert_eq!(
            standing(Some(Quarter::Lowest), Direction::Neither),
            pb::BenchmarkStanding::Unspecified
        );
        assert_eq!(
            standing(None, Direction::HigherIsBetter),
            pb::BenchmarkStanding::Unspecified
        );
    }
}
