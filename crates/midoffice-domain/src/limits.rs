//! Every limit on what a request may carry, in one place: the longest texts, the most
//! items, the widest ranges. The API, the domain and the store refer to these; none
//! keeps a number of its own.

use std::ops::RangeInclusive;

/// The years a date or an instant may lie in. A contact centre has no events before
/// 1970, and a `google.protobuf.Timestamp` ends with 9999.
pub const YEARS: RangeInclusive<i32> = 1970..=9999;
/// How far ahead of the server clock an event may be, in seconds.
pub const MAX_CLOCK_SKEW_SECS: i64 = 5 * 60;

/// The longest code (topic, department, tenant, norm id), in bytes.
pub const MAX_CODE_LEN: usize = 64;
/// The longest e-mail address, in bytes (RFC 5321).
pub const MAX_EMAIL_LEN: usize = 254;
/// The longest idempotency key (`request_id`), in characters.
pub const MAX_REQUEST_ID_CHARS: usize = 100;
/// The longest story, in characters.
pub const MAX_STORY_CHARS: usize = 10_000;
/// The longest case reference or organisation, in characters.
pub const MAX_REFERENCE_CHARS: usize = 200;
/// The longest comment of a satisfaction answer, in characters.
pub const MAX_COMMENT_CHARS: usize = 2000;
/// The longest public title of a norm, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// The longest explanation of a norm, in characters.
pub const MAX_EXPLANATION_CHARS: usize = 2000;

/// The most norms a tenant may have.
pub const MAX_NORMS: usize = 100;
/// The most closing days a calendar may list.
pub const MAX_CLOSING_DAYS: usize = 1000;
/// The longest window or elapsed threshold, in seconds: a year.
pub const MAX_WINDOW_SECS: i64 = 366 * 24 * 3600;
/// The shortest retention period a tenant may set, in months.
pub const MIN_RETENTION_MONTHS: u32 = 1;
/// The longest retention period a tenant may set, in months: ten years.
pub const MAX_RETENTION_MONTHS: u32 = 120;
/// The most working days in a threshold.
pub const MAX_WORKING_DAYS: u32 = 250;
/// The longest period of figures, in days: three years (with leap days).
pub const MAX_PERIOD_DAYS: i64 = 3 * 366;
/// The most points of a figure series: a daily series of a year and a month (a
/// trailing 13 months), a weekly or monthly one of the longest period. Every point is
/// a full set of figures, computed from the facts one by one when the rollups do not
/// answer, so a daily series of three years (1,098 points) is not offered: its weeks
/// or months draw the same trend.
pub const MAX_SERIES_POINTS: usize = 400;

/// The most earlier stories a case shows in a context, newest first; the case says how
/// many there are in all, and `ListPartyContacts` pages through the rest. With
/// [`MAX_CASES_SHOWN`] and [`MAX_STORY_CHARS`] this keeps a context under 1 MB.
pub const MAX_STORIES_SHOWN: usize = 3;
/// The most active cases a context lists (besides the chosen case), most recent first;
/// the context says how many there are in all.
pub const MAX_CASES_SHOWN: usize = 5;
/// The most open commitments a case shows, soonest due first; the case says how many
/// there are in all.
pub const MAX_COMMITMENTS_SHOWN: usize = 10;
/// The default page of `ListPartyContacts`, in contacts.
pub const DEFAULT_PAGE_SIZE: usize = 20;
/// The largest page of `ListPartyContacts`, in contacts: with [`MAX_STORY_CHARS`] a
/// page stays under 1 MB. A larger `page_size` is read as this (AIP-158).
pub const MAX_PAGE_SIZE: usize = 20;
/// The default page of `ListCommitments`, in commitments.
pub const DEFAULT_WORKLIST_PAGE_SIZE: usize = 50;
/// The largest page of `ListCommitments`: an item holds no free text, so a page of
/// these stays far under 1 MB. A larger `page_size` is read as this (AIP-158).
pub const MAX_WORKLIST_PAGE_SIZE: usize = 100;
