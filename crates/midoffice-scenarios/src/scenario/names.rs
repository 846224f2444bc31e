//! The names a file uses: channels, directions, outcomes, signals, statuses, measures
//! and holiday sets.

use super::*;

/// A contact channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChannelName {
    Phone,
    Counter,
    Web,
    Email,
}

/// Who started a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DirectionName {
    Inbound,
    Outbound,
}

/// How a contact ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OutcomeName {
    Resolved,
    Referred,
    HandedOff,
    Callback,
    Abandoned,
}

/// A signal on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SignalName {
    ReferredAgain,
    ReferralLoop,
    StoryAlreadyTold,
    RepeatContact,
    ChannelHop,
    CommitmentPending,
    CommitmentOverdue,
}

/// A norm's traffic light.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StatusName {
    Green,
    Amber,
    Red,
    NoData,
}

/// What a norm measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureName {
    ResponseTime,
    FirstContactResolution,
    ReferredAtMost,
    StoryToldOnce,
    CommitmentOnTime,
}

/// A holiday set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HolidaysName {
    Nl,
    Be,
}
