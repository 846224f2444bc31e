//! The file's tenant settings: its norms and its calendar.

use super::*;

/// A norm of the file's tenant.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormSpec {
    pub id: String,
    pub title: Option<String>,
    pub measure: MeasureName,
    pub channel: Option<ChannelName>,
    pub within: Option<WithinSpec>,
    pub max: Option<u32>,
    pub target: f64,
    /// Shown on the thermometer when the norm is not green.
    pub explanation: Option<String>,
}

/// The file's tenant's calendar.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    pub time_zone: Option<String>,
    pub holidays: Option<HolidaysName>,
    pub closing_days: Option<Vec<Day>>,
}
