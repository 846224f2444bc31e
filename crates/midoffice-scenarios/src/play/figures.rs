//! `metrics` and `thermometer` steps: the figure service.

use std::collections::BTreeMap;

use midoffice_api::pb;

use super::check::{check_count, check_ratio, norm_status_name, outcome_of};
use super::wire::{channel, opt_channel, period, status};
use super::{Checked, Player, request, settle};
use crate::scenario::{
    ChannelName, Expect, MetricsExpect, MetricsStep, NormExpect, Step, ThermometerStep,
};

impl Player {
    pub(super) async fn metrics(&mut self, s: &MetricsStep, step: &Step, tenant: &str) -> Checked {
        let message = pb::GetFiguresRequest {
            period: Some(period(&s.from, &s.to, &s.as_of)),
            channel: opt_channel(s.channel),
            topic: s.topic.clone().unwrap_or_default(),
            department: s.department.clone().unwrap_or_default(),
        };
        let result = self
            .clients
            .figures
            .get_figures(request(tenant, message)?)
            .await;
        let Some(answer) = settle(result, &step.expect)? else {
            return Ok(());
        };
        match &step.expect {
            Expect::Metrics(e) => match &answer.figures {
                Some(figures) => check_figures(e, figures),
                None => Err(vec!["the answer has no figures".to_string()]),
            },
            _ => Ok(()),
        }
    }

    pub(super) async fn thermometer(
        &mut self,
        s: &ThermometerStep,
        step: &Step,
        tenant: &str,
    ) -> Checked {
        let message = pb::GetThermometerRequest {
            period: Some(period(&s.from, &s.to, &s.as_of)),
        };
        let result = self
            .clients
            .figures
            .get_thermometer(request(tenant, message)?)
            .await;
        let Some(answer) = settle(result, &step.expect)? else {
            return Ok(());
        };
        match &step.expect {
            Expect::Thermometer(e) => check_thermometer(e, &answer.norms),
            _ => Ok(()),
        }
    }
}

pub(super) fn check_figures(e: &MetricsExpect, f: &pb::Figures) -> Checked {
    let mut out = Vec::new();
    check_count(&mut out, "contacts", e.contacts, f.contacts);
    check_count(&mut out, "cases", e.cases, f.cases);
    check_ratio(
        &mut out,
        "first_contact_resolution",
        e.first_contact_resolution,
        f.first_contact_resolution,
    );
    check_ratio(
        &mut out,
        "repeat_contact_rate",
        e.repeat_contact_rate,
        f.repeat_contact_rate,
    );
    check_ratio(&mut out, "referral_rate", e.referral_rate, f.referral_rate);
    check_count(
        &mut out,
        "cases_referred_more_than_once",
        e.cases_referred_more_than_once,
        f.cases_referred_more_than_once,
    );
    check_ratio(
        &mut out,
        "repeat_story_rate",
        e.repeat_story_rate,
        f.repeat_story_rate,
    );
    check_count(&mut out, "channel_hops", e.channel_hops, f.channel_hops);
    check_ratio(
        &mut out,
        "satisfaction_score",
        e.satisfaction_score,
        f.satisfaction_score,
    );
    check_ratio(&mut out, "effort_score", e.effort_score, f.effort_score);
    check_response_times(
        &mut out,
        "response_time_p50",
        &e.response_time_p50,
        f,
        |r| r.p50_seconds,
    );
    check_response_times(
        &mut out,
        "response_time_p90",
        &e.response_time_p90,
        f,
        |r| r.p90_seconds,
    );
    outcome_of(out)
}

/// Checks the channels given (and only those) against `figures.response_times`.
pub(super) fn check_response_times(
    out: &mut Vec<String>,
    key: &str,
    expected: &Option<BTreeMap<ChannelName, u64>>,
    figures: &pb::Figures,
    pick: fn(&pb::ResponseTime) -> u64,
) {
    for (name, seconds) in expected.iter().flatten() {
        let wire = channel(*name);
        let label = wire.as_str_name().trim_start_matches("CHANNEL_");
        match figures.response_times.iter().find(|r| r.channel == wire as i32) {
            None => out.push(format!(
                "{key}: {label}: expected {seconds}, but the figures have no response time for {label}"
            )),
            Some(r) if pick(r) != *seconds => {
                out.push(format!("{key}: {label}: expected {seconds}, got {}", pick(r)));
            }
            Some(_) => {}
        }
    }
}

pub(super) fn check_thermometer(
    expected: &BTreeMap<String, NormExpect>,
    norms: &[pb::NormResult],
) -> Checked {
    let mut out = Vec::new();
    for (id, e) in expected {
        let Some(result) = norms.iter().find(|n| &n.norm_id == id) else {
            let ids: Vec<&str> = norms.iter().map(|n| n.norm_id.as_str()).collect();
            out.push(format!(
                "{id}: the thermometer has no such norm (it has: {})",
                ids.join(", ")
            ));
            continue;
        };
        if let Some(want) = e.status
            && result.status != status(want) as i32
        {
            out.push(format!(
                "{id}.status: expected {}, got {}",
                norm_status_name(status(want) as i32),
                norm_status_name(result.status)
            ));
        }
        check_ratio(&mut out, &format!("{id}.share"), e.share, result.share);
        check_count(&mut out, &format!("{id}.items"), e.items, result.items);
    }
    outcome_of(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{ChannelName, StatusName};

    #[test]
    fn a_thermometer_without_the_norm_fails() {
        let mut expected = BTreeMap::new();
        expected.insert(
            "phone-answered".to_string(),
            NormExpect {
                status: Some(StatusName::Green),
                share: None,
                items: Some(2),
            },
        );
        let norms = vec![pb::NormResult {
            norm_id: "other".into(),
            ..Default::default()
        }];
        let out = check_thermometer(&expected, &norms).unwrap_err();
        assert_eq!(
            out,
            ["phone-answered: the thermometer has no such norm (it has: other)"]
        );
        let norms = vec![pb::NormResult {
            norm_id: "phone-answered".into(),
            status: pb::NormStatus::Red as i32,
            items: 2,
            ..Default::default()
        }];
        let out = check_thermometer(&expected, &norms).unwrap_err();
        assert_eq!(out, ["phone-answered.status: expected GREEN, got RED"]);
    }

    #[test]
    fn response_times_are_checked_per_channel_given() {
        let mut p50 = BTreeMap::new();
        p50.insert(ChannelName::Phone, 15);
        let e = MetricsExpect {
            contacts: Some(2),
            cases: None,
            first_contact_resolution: None,
            repeat_contact_rate: None,
            referral_rate: None,
            cases_referred_more_than_once: None,
            repeat_story_rate: Some(None),
            channel_hops: None,
            satisfaction_score: None,
            effort_score: None,
            response_time_p50: Some(p50),
            response_time_p90: None,
        };
        let f = pb::Figures {
            contacts: 2,
            response_times: vec![
                pb::ResponseTime {
                    channel: pb::Channel::Phone as i32,
                    answered: 2,
                    p50_seconds: 15,
                    p90_seconds: 40,
                },
                pb::ResponseTime {
                    channel: pb::Channel::Email as i32,
                    answered: 1,
                    p50_seconds: 9,
                    p90_seconds: 9,
                },
            ],
            ..Default::default()
        };
        assert!(check_figures(&e, &f).is_ok());
        let f = pb::Figures {
            contacts: 3,
            repeat_story_rate: Some(0.5),
            ..Default::default()
        };
        assert_eq!(
            check_figures(&e, &f).unwrap_err(),
            [
                "contacts: expected 2, got 3",
                "repeat_story_rate: expected null, got 0.5",
                "response_time_p50: PHONE: expected 15, but the figures have no response time for PHONE"
            ]
        );
    }
}
