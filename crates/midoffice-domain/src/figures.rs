//! Norms on the thermometer and dashboard figures (DOMAIN.md "Norms and the
//! thermometer", "Dashboard figures").

use crate::case::CaseFacts;
use crate::contact::{Channel, ContactFacts};
use crate::settings::{Measure, TenantSettings};
use crate::{Code, Instant};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// A range of the tenant's local dates, `to` exclusive, judged as known at `as_of`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub as_of: Instant,
}

/// The instants a store must load for a period: contacts that started in
/// `[starts_from, starts_to)`, and every case with a commitment due in
/// `(due_after, due_until]`; each case with all its contacts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadWindow {
    pub starts_from: Instant,
    pub starts_to: Instant,
    pub due_after: Instant,
    pub due_until: Instant,
}

/// What the figures are computed from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FigureFacts {
    /// Contacts that started in the load window (anonymous included).
    pub contacts: Vec<ContactFacts>,
    /// Every case of those contacts, and every case with a commitment due in the window,
    /// each with all its contacts.
    pub cases: BTreeMap<Uuid, CaseFacts>,
}

/// Dashboard filters; a filter keeps the contacts started in the period that match it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub channel: Option<Channel>,
    pub topic: Option<Code>,
    pub department: Option<Code>,
}

/// Traffic-light status of a norm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NormStatus {
    Green,
    Amber,
    Red,
    NoData,
}

/// One norm on the thermometer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NormResult {
    pub norm_id: Code,
    pub title: String,
    pub measure: Measure,
    pub target_percent: u32,
    pub met: u64,
    pub items: u64,
    pub status: NormStatus,
    /// Only when the status is not GREEN.
    pub explanation: Option<String>,
}

impl NormResult {
    /// met / items, or `None` without items.
    pub fn share(&self) -> Option<f64> {
        ratio(self.met, self.items)
    }
}

/// Response times of one channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResponseTimes {
    pub channel: Channel,
    pub answered: u64,
    pub p50_seconds: u64,
    pub p90_seconds: u64,
}

/// Dashboard figures. A ratio with nothing to divide by is `None`, never 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub contacts: u64,
    pub cases: u64,
    pub first_contact_resolution: Option<f64>,
    pub repeat_contact_rate: Option<f64>,
    pub referral_rate: Option<f64>,
    pub cases_referred_more_than_once: u64,
    pub repeat_story_rate: Option<f64>,
    pub channel_hops: u64,
    pub response_times: Vec<ResponseTimes>,
    pub satisfaction_score: Option<f64>,
    pub effort_score: Option<f64>,
}

/// `num / den`, or `None` when `den` is 0.
pub fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// The instants to load for a period in the tenant's calendar.
pub fn load_window(period: &Period, settings: &TenantSettings) -> LoadWindow {
    let _ = (period, settings);
    todo!()
}

/// The service thermometer: every norm of the tenant over the period.
pub fn thermometer(facts: &FigureFacts, period: &Period, settings: &TenantSettings) -> Vec<NormResult> {
    let _ = (facts, period, settings);
    todo!()
}

/// The dashboard figures over the period with a filter.
pub fn figures(
    facts: &FigureFacts,
    period: &Period,
    filter: &Filter,
    settings: &TenantSettings,
) -> Figures {
    let _ = (facts, period, filter, settings);
    todo!()
}
