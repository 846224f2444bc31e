//! One period's dashboard figures as kept in `figure_answer.body` (m0017), so that any
//! process answers a period that any process computed before (`crate::figure_cache`).
//!
//! Version 1: `{"v": 1, "n": [contacts, cases, cases referred more than once, channel
//! hops], "r": [six ratios], "t": [[channel, answered, p50, p90], ...], "c": [eleven
//! counts]}`. The ratios are, in order, first-contact resolution, repeat contact rate,
//! referral rate, repeat story rate, satisfaction score and effort score, each the bits
//! of its `f64` (`f64::to_bits`, exact where a decimal would round) or `null` for none.
//! The counts are the met and items of first-contact resolution, repeat contacts,
//! referrals and repeated stories, then the satisfaction answers and their score and
//! effort sums.
//!
//! A kept answer is a cache, not a record: a row this release cannot read (another
//! version, damaged) is not an error; the store computes the answer again and replaces
//! the row. So a change of `Figures` (a field added) is a new version here, and rows of
//! the old version are simply computed again: never read as something they are not.

use super::names_v1::ChannelV1;
use super::{RowError, Tag, from_value, parse, to_text, version_of};
use midoffice_domain::figures::{FigureCounts, Figures, ResponseTimes, Share};
use serde::{Deserialize, Serialize};

/// Every version a figure answer row was ever written in, oldest first; the last is
/// written.
pub const VERSIONS: [u64; 1] = [1];

/// One channel's response times: channel, answered, p50 and p90 seconds.
type TimesV1 = (ChannelV1, u64, u64, u64);

/// A period's figures, version 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FigureAnswerV1 {
    #[serde(rename = "v")]
    version: Tag<1>,
    #[serde(rename = "n")]
    numbers: [u64; 4],
    #[serde(rename = "r")]
    ratios: [Option<u64>; 6],
    #[serde(rename = "t")]
    times: Vec<TimesV1>,
    #[serde(rename = "c")]
    counts: [u64; 11],
}

/// Whether anything at all was counted in a period's figures: a period filtered by a
/// topic or department code (any caller may make one up) gets a row only then, so
/// made-up codes add no rows.
pub fn worth_keeping(figures: &Figures) -> bool {
    figures.contacts > 0
        || figures.cases > 0
        || figures.channel_hops > 0
        || figures.cases_referred_more_than_once > 0
        || !figures.response_times.is_empty()
        || figures.counts != FigureCounts::default()
}

/// The row to store for a period's figures.
pub fn encode(figures: &Figures) -> Result<String, RowError> {
    // No `..`: a field added to `Figures` fails to compile here (and needs a version).
    let Figures {
        contacts,
        cases,
        first_contact_resolution,
        repeat_contact_rate,
        referral_rate,
        cases_referred_more_than_once,
        repeat_story_rate,
        channel_hops,
        response_times,
        satisfaction_score,
        effort_score,
        counts,
    } = figures;
    let FigureCounts {
        first_contact_resolution: fcr,
        repeat_contacts,
        referrals,
        repeated_stories,
        answers,
        score_sum,
        effort_sum,
    } = counts;
    let bits = |r: &Option<f64>| r.map(f64::to_bits);
    to_text(&FigureAnswerV1 {
        version: Tag,
        numbers: [
            *contacts,
            *cases,
            *cases_referred_more_than_once,
            *channel_hops,
        ],
        ratios: [
            bits(first_contact_resolution),
            bits(repeat_contact_rate),
            bits(referral_rate),
            bits(repeat_story_rate),
            bits(satisfaction_score),
            bits(effort_score),
        ],
        times: response_times
            .iter()
            .map(|t| (t.channel.into(), t.answered, t.p50_seconds, t.p90_seconds))
            .collect(),
        counts: [
            fcr.met,
            fcr.items,
            repeat_contacts.met,
            repeat_contacts.items,
            referrals.met,
            referrals.items,
            repeated_stories.met,
            repeated_stories.items,
            *answers,
            *score_sum,
            *effort_sum,
        ],
    })
}

/// Reads a figure answer row of any version.
pub fn decode(text: &str) -> Result<Figures, RowError> {
    let value = parse(text)?;
    let row = match version_of(&value)? {
        1 => from_value::<FigureAnswerV1>(value)?,
        v => {
            return Err(RowError::new(format!(
                "a figure answer of version {v}, which this release does not know"
            )));
        }
    };
    let [contacts, cases, cases_referred_more_than_once, channel_hops] = row.numbers;
    let [fcr, repeat, referral, story, satisfaction, effort] =
        row.ratios.map(|r| r.map(f64::from_bits));
    let [
        c0,
        c1,
        c2,
        c3,
        c4,
        c5,
        c6,
        c7,
        answers,
        score_sum,
        effort_sum,
    ] = row.counts;
    let share = |met, items| Share { met, items };
    Ok(Figures {
        contacts,
        cases,
        first_contact_resolution: fcr,
        repeat_contact_rate: repeat,
        referral_rate: referral,
        cases_referred_more_than_once,
        repeat_story_rate: story,
        channel_hops,
        response_times: row
            .times
            .into_iter()
            .map(|(channel, answered, p50, p90)| ResponseTimes {
                channel: channel.into(),
                answered,
                p50_seconds: p50,
                p90_seconds: p90,
            })
            .collect(),
        satisfaction_score: satisfaction,
        effort_score: effort,
        counts: FigureCounts {
            first_contact_resolution: share(c0, c1),
            repeat_contacts: share(c2, c3),
            referrals: share(c4, c5),
            repeated_stories: share(c6, c7),
            answers,
            score_sum,
            effort_sum,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use midoffice_domain::contact::Channel;

    fn figures() -> Figures {
        Figures {
            contacts: 7,
            cases: 5,
            first_contact_resolution: Some(2.0 / 3.0),
            repeat_contact_rate: None,
            referral_rate: Some(0.1),
            cases_referred_more_than_once: 1,
            repeat_story_rate: Some(1.0),
            channel_hops: 2,
            response_times: vec![ResponseTimes {
                channel: Channel::Email,
                answered: 3,
                p50_seconds: 3600,
                p90_seconds: 86_400,
            }],
            satisfaction_score: Some(13.0 / 3.0),
            effort_score: None,
            counts: FigureCounts {
                first_contact_resolution: share(2, 3),
                repeat_contacts: share(0, 0),
                referrals: share(1, 10),
                repeated_stories: share(1, 1),
                answers: 3,
                score_sum: 13,
                effort_sum: 0,
            },
        }
    }

    fn share(met: u64, items: u64) -> Share {
        Share { met, items }
    }

    #[test]
    fn figures_read_back_exactly_as_written() {
        let text = encode(&figures()).unwrap();
        assert_eq!(decode(&text).unwrap(), figures());
    }

    #[test]
    fn only_a_period_with_anything_counted_is_worth_a_row() {
        assert!(worth_keeping(&figures()));
        let empty = Figures {
            contacts: 0,
            cases: 0,
            first_contact_resolution: None,
            repeat_contact_rate: None,
            referral_rate: None,
            cases_referred_more_than_once: 0,
            repeat_story_rate: None,
            channel_hops: 0,
            response_times: Vec::new(),
            satisfaction_score: None,
            effort_score: None,
            counts: FigureCounts::default(),
        };
        assert!(!worth_keeping(&empty));
        let answered = FigureCounts {
            answers: 1,
            score_sum: 4,
            ..FigureCounts::default()
        };
        assert!(worth_keeping(&Figures {
            counts: answered,
            ..empty
        }));
    }

    #[test]
    fn a_row_of_another_version_or_damaged_is_refused() {
        let text = encode(&figures()).unwrap();
        let other = text.replacen("\"v\":1", "\"v\":2", 1);
        assert_ne!(other, text);
        assert!(decode(&other).is_err());
        assert!(decode(&text[..text.len() - 2]).is_err());
        assert!(decode("{\"v\":1}").is_err());
        assert!(decode("not json").is_err());
    }
}
