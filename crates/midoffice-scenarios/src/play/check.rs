//! Comparing answers with a step's expectations: one line per differing key.

use midoffice_api::pb;

use super::wire::signal;
use super::{Checked, Player};
use crate::scenario::{CaseExpect, ContactExpect, ContextExpect, PartyExpect};

/// Ratios, shares and means match within this distance.
const TOLERANCE: f64 = 0.0001;

pub(super) fn signal_name(value: i32) -> String {
    match pb::Signal::try_from(value) {
        Ok(s) => s.as_str_name().trim_start_matches("SIGNAL_").to_string(),
        Err(_) => format!("SIGNAL({value})"),
    }
}

pub(super) fn party_status_name(value: i32) -> String {
    match pb::PartyStatus::try_from(value) {
        Ok(s) => s
            .as_str_name()
            .trim_start_matches("PARTY_STATUS_")
            .to_string(),
        Err(_) => format!("PARTY_STATUS({value})"),
    }
}

pub(super) fn norm_status_name(value: i32) -> String {
    match pb::NormStatus::try_from(value) {
        Ok(s) => s
            .as_str_name()
            .trim_start_matches("NORM_STATUS_")
            .to_string(),
        Err(_) => format!("NORM_STATUS({value})"),
    }
}

pub(super) fn describe_party(party: &pb::Party) -> String {
    if party.id.is_empty() {
        format!(
            "a party without id (status {})",
            party_status_name(party.status)
        )
    } else {
        format!("{} (status {})", party.id, party_status_name(party.status))
    }
}

pub(super) fn show_ratio(value: Option<f64>) -> String {
    value
        .map(|v| format!("{v:?}"))
        .unwrap_or_else(|| "null".to_string())
}

pub(super) fn check_count<T: PartialEq + std::fmt::Display>(
    out: &mut Vec<String>,
    key: &str,
    expected: Option<T>,
    got: T,
) {
    if let Some(expected) = expected
        && expected != got
    {
        out.push(format!("{key}: expected {expected}, got {got}"));
    }
}

pub(super) fn check_ratio(
    out: &mut Vec<String>,
    key: &str,
    expected: Option<Option<f64>>,
    got: Option<f64>,
) {
    let Some(expected) = expected else { return };
    let matches = match (expected, got) {
        (None, None) => true,
        (Some(e), Some(g)) => (e - g).abs() <= TOLERANCE + f64::EPSILON * e.abs().max(1.0),
        _ => false,
    };
    if !matches {
        out.push(format!(
            "{key}: expected {}, got {}",
            show_ratio(expected),
            show_ratio(got)
        ));
    }
}

pub(super) fn outcome_of(out: Vec<String>) -> Checked {
    if out.is_empty() { Ok(()) } else { Err(out) }
}

impl Player {
    pub(super) async fn check_party(
        &mut self,
        expected: &PartyExpect,
        party: Option<&pb::Party>,
    ) -> Result<(), String> {
        let Some(party) = party else {
            return Err(format!("expected {expected}, but the answer has no party"));
        };
        let status = pb::PartyStatus::try_from(party.status).ok();
        let has_status = |want: pb::PartyStatus| {
            if status == Some(want) {
                Ok(())
            } else {
                Err(format!(
                    "expected {expected}, got {}",
                    describe_party(party)
                ))
            }
        };
        match expected {
            PartyExpect::New => {
                if party.id.is_empty() {
                    return Err(format!("expected new, got {}", describe_party(party)));
                }
                self.refresh_seen().await;
                if self.seen_parties.contains(&party.id) {
                    return Err(format!(
                        "expected new, got {} which an earlier step already had",
                        party.id
                    ));
                }
                Ok(())
            }
            PartyExpect::SameAs(r) => {
                let now = self.now(r).await?;
                if now.party_id.is_empty() {
                    return Err(format!(
                        "expected same_as {r}, but contact {r} has no party now"
                    ));
                }
                if now.party_id != party.id {
                    return Err(format!(
                        "expected same_as {r} ({}), got {}",
                        now.party_id,
                        describe_party(party)
                    ));
                }
                Ok(())
            }
            PartyExpect::Anonymous => has_status(pb::PartyStatus::Anonymous),
            PartyExpect::Ambiguous => has_status(pb::PartyStatus::Ambiguous),
            PartyExpect::None => has_status(pb::PartyStatus::NotFound),
        }
    }

    pub(super) async fn check_case(
        &mut self,
        expected: &CaseExpect,
        case: Option<&pb::Case>,
    ) -> Result<(), String> {
        let id = case.map(|c| c.id.as_str()).filter(|id| !id.is_empty());
        let got = || {
            id.map(|id| id.to_string())
                .unwrap_or_else(|| "no case".to_string())
        };
        match expected {
            CaseExpect::None => match id {
                None => Ok(()),
                Some(id) => Err(format!("expected none, got {id}")),
            },
            CaseExpect::New => {
                let Some(id) = id else {
                    return Err("expected new, got no case".to_string());
                };
                self.refresh_seen().await;
                if self.seen_cases.contains(id) {
                    return Err(format!(
                        "expected new, got {id} which an earlier step already had"
                    ));
                }
                Ok(())
            }
            CaseExpect::SameAs(r) => {
                let now = self.now(r).await?;
                if now.case_id.is_empty() {
                    return Err(format!(
                        "expected same_as {r}, but contact {r} has no case now"
                    ));
                }
                if Some(now.case_id.as_str()) != id {
                    return Err(format!(
                        "expected same_as {r} ({}), got {}",
                        now.case_id,
                        got()
                    ));
                }
                Ok(())
            }
        }
    }

    pub(super) async fn check_contact(
        &mut self,
        e: &ContactExpect,
        contact: &pb::Contact,
        context: Option<&pb::Context>,
    ) -> Checked {
        let mut out = Vec::new();
        let wants_context = e.party.is_some()
            || e.case.is_some()
            || e.signals.is_some()
            || e.referral_count.is_some()
            || e.stories.is_some()
            || e.active_cases.is_some();
        let Some(context) = context else {
            if wants_context {
                out.push("the answer has no context".to_string());
            }
            if let Some(same) = &e.contact {
                self.check_same_contact(&mut out, &same.0, contact);
            }
            return outcome_of(out);
        };
        let case = context.case.as_ref();
        if let Some(expected) = &e.party
            && let Err(m) = self.check_party(expected, context.party.as_ref()).await
        {
            out.push(format!("party: {m}"));
        }
        if let Some(expected) = &e.case
            && let Err(m) = self.check_case(expected, case).await
        {
            out.push(format!("case: {m}"));
        }
        if let Some(same) = &e.contact {
            self.check_same_contact(&mut out, &same.0, contact);
        }
        if let Some(expected) = &e.signals {
            let mut want: Vec<i32> = expected.iter().map(|s| signal(*s) as i32).collect();
            want.sort_unstable();
            let mut got: Vec<i32> = case.map(|c| c.signals.clone()).unwrap_or_default();
            got.sort_unstable();
            if want != got {
                let show = |v: &[i32]| {
                    format!(
                        "[{}]",
                        v.iter()
                            .map(|s| signal_name(*s))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                out.push(format!(
                    "signals: expected {}, got {}",
                    show(&want),
                    show(&got)
                ));
            }
        }
        let no_case = if case.is_none() {
            " (no case chosen)"
        } else {
            ""
        };
        if let Some(expected) = e.referral_count {
            let got = case.map(|c| c.referral_count).unwrap_or(0);
            if expected != got {
                out.push(format!(
                    "referral_count: expected {expected}, got {got}{no_case}"
                ));
            }
        }
        if let Some(expected) = e.stories {
            // All earlier stories, also those the bounded context leaves out.
            let got = case.map(|c| c.story_count as usize).unwrap_or(0);
            if expected != got {
                out.push(format!("stories: expected {expected}, got {got}{no_case}"));
            }
        }
        check_count(
            &mut out,
            "active_cases",
            e.active_cases,
            context.active_case_count as usize,
        );
        outcome_of(out)
    }

    pub(super) fn check_same_contact(
        &self,
        out: &mut Vec<String>,
        contact_ref: &str,
        contact: &pb::Contact,
    ) {
        match self.refs.get(contact_ref) {
            None => out.push(format!("contact: unknown ref `{contact_ref}`: no earlier start or record step made that contact")),
            Some(known) if known.contact_id != contact.id => out.push(format!(
                "contact: expected same_as {contact_ref} ({}), got {}",
                known.contact_id, contact.id
            )),
            Some(_) => {}
        }
    }

    pub(super) async fn check_context(
        &mut self,
        e: &ContextExpect,
        context: &pb::Context,
    ) -> Checked {
        let mut out = Vec::new();
        if let Some(expected) = &e.party
            && let Err(m) = self.check_party(expected, context.party.as_ref()).await
        {
            out.push(format!("party: {m}"));
        }
        let cases = &context.active_cases;
        let open = cases
            .iter()
            .filter(|c| c.status == pb::CaseStatus::Open as i32)
            .count();
        check_count(&mut out, "open_cases", e.open_cases, open);
        check_count(
            &mut out,
            "active_cases",
            e.active_cases,
            context.active_case_count as usize,
        );
        let commitments = cases.iter().flat_map(|c| c.open_commitments.iter());
        let overdue = commitments.clone().filter(|c| c.overdue).count();
        let pending = commitments.filter(|c| !c.overdue).count();
        check_count(
            &mut out,
            "commitments_pending",
            e.commitments_pending,
            pending,
        );
        check_count(
            &mut out,
            "commitments_overdue",
            e.commitments_overdue,
            overdue,
        );
        outcome_of(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_match_within_the_tolerance_and_null_only_null() {
        let mut out = Vec::new();
        check_ratio(&mut out, "a", Some(Some(0.6667)), Some(2.0 / 3.0));
        check_ratio(&mut out, "b", Some(Some(0.3333)), Some(1.0 / 3.0));
        check_ratio(&mut out, "c", Some(None), None);
        check_ratio(&mut out, "d", None, Some(1.0));
        assert!(out.is_empty(), "{out:?}");
        check_ratio(&mut out, "e", Some(Some(0.5)), Some(0.5002));
        check_ratio(&mut out, "f", Some(None), Some(0.0));
        check_ratio(&mut out, "g", Some(Some(0.0)), None);
        assert_eq!(
            out,
            [
                "e: expected 0.5, got 0.5002",
                "f: expected null, got 0.0",
                "g: expected 0.0, got null"
            ]
        );
    }
}
