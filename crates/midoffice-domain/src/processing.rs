//! The processing log (Logboek Dataverwerkingen 1.0): which calls are a processing of
//! personal data, of which data subjects, under which of the tenant's processing
//! activities.
//!
//! A processing is decided here, like every other write: a plan (or, for a read, the
//! function the store calls with what it read) returns a [`Processing`], and the store
//! writes one record per data subject in the same transaction as the processing itself.
//!
//! The data subject is named by its party id: a UUIDv7 the midoffice made up, with no
//! meaning outside it (never a BSN, nor a hash of one, which an identifier list could
//! test). An access request by identifier finds the party through the identifier table,
//! and with it every party that was merged into it, so records written before a merge are
//! found as well.

use crate::identifier::IdentKey;
use crate::party::{self, KnownParties, PartyChoice, Resolution};
use crate::settings::TenantSettings;
use crate::{DomainError, Precondition, Violations};
use uuid::Uuid;

/// `dpl.core.data_subject_id_type` of every record: the subject is a midoffice party id.
pub const DATA_SUBJECT_ID_TYPE: &str = "midoffice-party-id";

/// The longest processing-activity URI a tenant can configure.
pub const MAX_ACTIVITY_URI_LEN: usize = 512;

/// The kinds of processing of personal data the midoffice does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProcessingKind {
    /// A party's context shown to an agent: by StartContact, RecordContact, GetContext.
    ContextRead,
    /// A contact read by id (GetContact).
    ContactRead,
    /// A party erased on request (EraseParty).
    Erase,
    /// Personal data about a party recorded on its contact, and the contact answered:
    /// the story and outcome of a completion (CompleteContact), a satisfaction answer
    /// and its comment (SubmitFeedback).
    ContactRecording,
    /// A data subject's processing records listed for an access request
    /// (ListProcessingRecords by identifiers or `data_subject_id`).
    AccessRequest,
}

impl ProcessingKind {
    /// Every kind.
    pub const ALL: [ProcessingKind; 5] = [
        ProcessingKind::ContextRead,
        ProcessingKind::ContactRead,
        ProcessingKind::Erase,
        ProcessingKind::ContactRecording,
        ProcessingKind::AccessRequest,
    ];

    /// The kind's one text, used in the default activity URI and the settings.
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessingKind::ContextRead => "context-read",
            ProcessingKind::ContactRead => "contact-read",
            ProcessingKind::Erase => "erase",
            ProcessingKind::ContactRecording => "contact-recording",
            ProcessingKind::AccessRequest => "access-request",
        }
    }

    /// The record's `name` (the span name).
    pub fn span_name(self) -> &'static str {
        match self {
            ProcessingKind::ContextRead => "midoffice context read",
            ProcessingKind::ContactRead => "midoffice contact read",
            ProcessingKind::Erase => "midoffice party erase",
            ProcessingKind::ContactRecording => "midoffice contact recording",
            ProcessingKind::AccessRequest => "midoffice access request",
        }
    }

    /// The activity a tenant that configured none processes under: a URN that names the
    /// kind, so records are never without an activity and can be re-attributed later.
    pub fn default_activity(self) -> String {
        format!("urn:midoffice:processing-activity:{}", self.as_str())
    }
}

/// The status of a record, as the standard defines it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProcessingStatus {
    /// The input was refused after a data subject was already known.
    Unset,
    /// Answered.
    Ok,
    /// A technical failure (never for refused input).
    Error,
}

impl ProcessingStatus {
    /// The status's one text (the standard's spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessingStatus::Unset => "Unset",
            ProcessingStatus::Ok => "Ok",
            ProcessingStatus::Error => "Error",
        }
    }

    /// The status of a stored text.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "Unset" => Some(ProcessingStatus::Unset),
            "Ok" => Some(ProcessingStatus::Ok),
            "Error" => Some(ProcessingStatus::Error),
            _ => None,
        }
    }
}

/// The tenant's processing-activity URIs (its register of processing activities, AVG
/// art. 30), one per kind; a kind without one uses [`ProcessingKind::default_activity`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessingActivities {
    pub context_read: Option<String>,
    pub contact_read: Option<String>,
    pub erase: Option<String>,
    pub contact_recording: Option<String>,
    pub access_request: Option<String>,
}

impl ProcessingActivities {
    /// The configured URI of a kind, if any.
    pub fn configured(&self, kind: ProcessingKind) -> Option<&str> {
        match kind {
            ProcessingKind::ContextRead => self.context_read.as_deref(),
            ProcessingKind::ContactRead => self.contact_read.as_deref(),
            ProcessingKind::Erase => self.erase.as_deref(),
            ProcessingKind::ContactRecording => self.contact_recording.as_deref(),
            ProcessingKind::AccessRequest => self.access_request.as_deref(),
        }
    }

    /// The URI a processing of this kind is recorded under.
    pub fn uri(&self, kind: ProcessingKind) -> String {
        self.configured(kind)
            .map(str::to_owned)
            .unwrap_or_else(|| kind.default_activity())
    }

    /// Every URI must be an absolute URI (`scheme:rest`, RFC 3986) of printable ASCII
    /// without spaces, at most [`MAX_ACTIVITY_URI_LEN`] long. Fields are named
    /// `context_read`, `contact_read`, `erase`, `contact_recording`, `access_request`.
    pub fn violations(&self) -> Violations {
        let mut v = Violations::default();
        for kind in ProcessingKind::ALL {
            let Some(uri) = self.configured(kind) else {
                continue;
            };
            let field = kind.as_str().replace('-', "_");
            if uri.len() > MAX_ACTIVITY_URI_LEN {
                v.add(
                    field,
                    format!("must be at most {MAX_ACTIVITY_URI_LEN} characters"),
                );
            } else if !is_absolute_uri(uri) {
                v.add(
                    field,
                    "must be an absolute URI (such as https://... or urn:...) into the \
                     register of processing activities",
                );
            }
        }
        v
    }
}

/// `scheme ":" rest`: the scheme a letter then letters, digits, `+`, `-`, `.`; the rest
/// not empty, visible ASCII only.
fn is_absolute_uri(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once(':') else {
        return false;
    };
    let mut s = scheme.chars();
    s.next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && uri.bytes().all(|b| b.is_ascii_graphic())
}

/// One processing of personal data: its kind, the activity it falls under and its data
/// subjects (one record each).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Processing {
    pub kind: ProcessingKind,
    /// `dpl.core.processing_activity_id`.
    pub activity: String,
    /// The parties processed, each once, in the order they were met.
    pub subjects: Vec<Uuid>,
    /// The contact the processing was for, if it was for one (its audit record says
    /// so: "for which contact").
    pub contact: Option<Uuid>,
}

impl Processing {
    /// This processing, for the contact `id`.
    pub fn for_contact(mut self, id: Uuid) -> Self {
        self.contact = Some(id);
        self
    }
}

/// The processing of `subjects` by a call of this kind, under the tenant's activity;
/// `None` when no data subject was processed (an anonymous contact, an unknown
/// identifier): nothing personal, nothing to log.
pub fn processing(
    settings: &TenantSettings,
    kind: ProcessingKind,
    subjects: impl IntoIterator<Item = Uuid>,
) -> Option<Processing> {
    let mut unique: Vec<Uuid> = Vec::new();
    for s in subjects {
        if !unique.contains(&s) {
            unique.push(s);
        }
    }
    (!unique.is_empty()).then(|| Processing {
        kind,
        activity: settings.processing_activities.uri(kind),
        subjects: unique,
        contact: None,
    })
}

/// The data subjects an access request by identifiers is about: the party they lead to
/// and the parties a contact with them would merge in (the same person, as an erasure
/// finds them), each once. Identifiers that find nobody are about no one (an empty
/// list); weak identifiers shared by more than one party are FAILED_PRECONDITION
/// (`PartyAmbiguous`), as for an erasure: listing every owner would show one citizen the
/// records of another.
pub fn access_subjects(
    identifiers: &[IdentKey],
    known: &KnownParties,
) -> Result<Vec<Uuid>, DomainError> {
    match party::resolve(identifiers, known) {
        Resolution::Anonymous => Ok(Vec::new()),
        Resolution::Ambiguous => Err(DomainError::FailedPrecondition(
            Precondition::PartyAmbiguous,
        )),
        Resolution::Party(plan) => Ok(match plan.party {
            PartyChoice::New => Vec::new(),
            PartyChoice::Existing(id) => std::iter::once(id).chain(plan.merge).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn no_subject_is_no_processing() {
        let s = TenantSettings::default();
        assert_eq!(processing(&s, ProcessingKind::ContextRead, []), None);
    }

    #[test]
    fn each_subject_once_in_order() {
        let s = TenantSettings::default();
        let p = processing(&s, ProcessingKind::Erase, [id(2), id(1), id(2)]).unwrap();
        assert_eq!(p.subjects, vec![id(2), id(1)]);
        assert_eq!(p.activity, "urn:midoffice:processing-activity:erase");
    }

    #[test]
    fn the_tenants_uri_wins_over_the_default() {
        let mut s = TenantSettings::default();
        s.processing_activities.contact_read = Some("https://register.example/va/7".into());
        let p = processing(&s, ProcessingKind::ContactRead, [id(1)]).unwrap();
        assert_eq!(p.activity, "https://register.example/va/7");
        let p = processing(&s, ProcessingKind::ContextRead, [id(1)]).unwrap();
        assert_eq!(p.activity, "urn:midoffice:processing-activity:context-read");
    }

    #[test]
    fn activity_uris_are_checked() {
        let a = ProcessingActivities {
            context_read: Some("not a uri".into()),
            contact_read: Some("urn:x".into()),
            erase: Some(format!("https://{}", "a".repeat(MAX_ACTIVITY_URI_LEN))),
            contact_recording: Some("urn:ok".into()),
            access_request: None,
        };
        let v = a.violations();
        let fields: Vec<&str> = v.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["context_read", "erase"]);
        for bad in ["", ":x", "1a:x", "urn:", "urn:a b", "urn:ä"] {
            assert!(!is_absolute_uri(bad), "{bad}");
        }
        for good in [
            "urn:a",
            "https://x.example/a?b#c",
            "tag:gemeente.nl,2026:va-12",
        ] {
            assert!(is_absolute_uri(good), "{good}");
        }
    }

    #[test]
    fn an_access_request_is_about_one_person_or_refused() {
        use crate::identifier::IdentifierKind;
        use crate::party::PartySummary;
        let key = |kind, h: &str| IdentKey {
            kind,
            hash: h.into(),
            display: None,
        };
        let shared = key(IdentifierKind::Email, "shared");
        let mut known = KnownParties::default();
        for n in [1, 2] {
            known.parties.insert(
                id(n),
                PartySummary {
                    id: id(n),
                    created_at: chrono::DateTime::UNIX_EPOCH,
                    strong: Some(key(IdentifierKind::Bsn, &format!("b{n}"))),
                },
            );
            known
                .owners
                .insert(key(IdentifierKind::Bsn, &format!("b{n}")), vec![id(n)]);
        }
        known.owners.insert(shared.clone(), vec![id(1), id(2)]);
        assert_eq!(
            access_subjects(std::slice::from_ref(&shared), &known),
            Err(DomainError::FailedPrecondition(
                Precondition::PartyAmbiguous
            ))
        );
        let one = [key(IdentifierKind::Bsn, "b2"), shared];
        assert_eq!(access_subjects(&one, &known), Ok(vec![id(2)]));
        let nobody = [key(IdentifierKind::Phone, "p")];
        assert_eq!(access_subjects(&nobody, &known), Ok(vec![]));
    }

    #[test]
    fn statuses_read_back() {
        for s in [
            ProcessingStatus::Unset,
            ProcessingStatus::Ok,
            ProcessingStatus::Error,
        ] {
            assert_eq!(ProcessingStatus::parse(s.as_str()), Some(s));
        }
    }
}
