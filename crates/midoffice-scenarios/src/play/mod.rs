//! Plays one parsed scenario through the generated gRPC clients and checks every
//! expectation a step states, stopping at the first step whose answer differs.

use std::collections::{BTreeMap, HashMap, HashSet};

use midoffice_api::pb;
use midoffice_api::pb::contact_service_client::ContactServiceClient;
use midoffice_api::pb::figure_service_client::FigureServiceClient;
use midoffice_api::pb::party_service_client::PartyServiceClient;
use midoffice_api::pb::tenant_service_client::TenantServiceClient;
use tonic::transport::Channel;

use crate::scenario::{
    Action, CalendarSpec, CaseExpect, ChannelName, CompleteStep, ContactExpect, ContextExpect,
    ContextStep, Day, DirectionName, Expect, HolidaysName, MeasureName, MetricsExpect, NormExpect,
    NormSpec, OutcomeName, PartyExpect, RecordStep, Scenario, SignalName, StartStep, StatusName,
    Step, TargetSpec, Time, WithinSpec, code_name,
};

/// Ratios, shares and means match within this distance.
const TOLERANCE: f64 = 0.0001;

/// Where a scenario stopped.
#[derive(Debug)]
pub(crate) struct Failure {
    /// 1-based step number and its label (`start c3`); `None` for the tenant settings.
    pub step: Option<(usize, String)>,
    /// One line per differing key.
    pub messages: Vec<String>,
}

type Checked = Result<(), Vec<String>>;

/// The clients of one server, all on one connection.
#[derive(Clone)]
pub(crate) struct Clients {
    contacts: ContactServiceClient<Channel>,
    parties: PartyServiceClient<Channel>,
    tenants: TenantServiceClient<Channel>,
    figures: FigureServiceClient<Channel>,
}

impl Clients {
    pub(crate) fn new(channel: Channel) -> Self {
        Clients {
            contacts: ContactServiceClient::new(channel.clone()),
            parties: PartyServiceClient::new(channel.clone()),
            tenants: TenantServiceClient::new(channel.clone()),
            figures: FigureServiceClient::new(channel),
        }
    }
}

/// A contact a step named with `ref`.
#[derive(Debug, Clone)]
struct Known {
    contact_id: String,
    /// The tenant the contact was made for; look-ups of it use this tenant.
    tenant: String,
}

struct Player {
    clients: Clients,
    refs: HashMap<String, Known>,
    /// Every party and case id any step has shown so far, for `new`.
    seen_parties: HashSet<String>,
    seen_cases: HashSet<String>,
}

/// Plays every step of `scenario`; answers the number of steps played.
pub(crate) async fn play(scenario: &Scenario, clients: Clients) -> Result<usize, Failure> {
    let mut player = Player {
        clients,
        refs: HashMap::new(),
        seen_parties: HashSet::new(),
        seen_cases: HashSet::new(),
    };
    player
        .apply_settings(scenario)
        .await
        .map_err(|messages| Failure {
            step: None,
            messages,
        })?;
    for (i, step) in scenario.steps.iter().enumerate() {
        let tenant = step.tenant.as_deref().unwrap_or(&scenario.tenant);
        player
            .step(step, tenant)
            .await
            .map_err(|messages| Failure {
                step: Some((i + 1, step.action.label())),
                messages,
            })?;
    }
    Ok(scenario.steps.len())
}

fn request<T>(tenant: &str, message: T) -> Result<tonic::Request<T>, Vec<String>> {
    let mut request = tonic::Request::new(message);
    let value = tenant.parse().map_err(|_| {
        vec![format!(
            "tenant `{tenant}` cannot be sent as x-tenant metadata"
        )]
    })?;
    request.metadata_mut().insert("x-tenant", value);
    Ok(request)
}

fn failed(status: &tonic::Status) -> String {
    format!("{}: {}", code_name(status.code()), status.message())
}

/// Turns a call's result into its answer, or nothing when it failed as expected.
fn settle<T>(
    result: Result<tonic::Response<T>, tonic::Status>,
    expect: &Expect,
) -> Result<Option<T>, Vec<String>> {
    match (result, expect.error()) {
        (Ok(response), None) => Ok(Some(response.into_inner())),
        (Ok(_), Some(code)) => Err(vec![format!(
            "error: expected {}, but the call succeeded",
            code_name(code)
        )]),
        (Err(status), Some(code)) if status.code() == code => Ok(None),
        (Err(status), Some(code)) => Err(vec![format!(
            "error: expected {}, got {}",
            code_name(code),
            failed(&status)
        )]),
        (Err(status), None) => Err(vec![format!("the call failed: {}", failed(&status))]),
    }
}

// ---------------------------------------------------------------------------------
// Conversions to the wire

fn timestamp(time: &Time) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.0.timestamp(),
        nanos: time.0.timestamp_subsec_nanos() as i32,
    }
}

fn opt_timestamp(time: &Option<Time>) -> Option<prost_types::Timestamp> {
    time.as_ref().map(timestamp)
}

fn date(day: &Day) -> pb::Date {
    use chrono::Datelike;
    pb::Date {
        year: day.0.year(),
        month: day.0.month() as i32,
        day: day.0.day() as i32,
    }
}

fn channel(name: ChannelName) -> pb::Channel {
    match name {
        ChannelName::Phone => pb::Channel::Phone,
        ChannelName::Counter => pb::Channel::Counter,
        ChannelName::Web => pb::Channel::Web,
        ChannelName::Email => pb::Channel::Email,
    }
}

fn opt_channel(name: Option<ChannelName>) -> i32 {
    name.map(channel).unwrap_or(pb::Channel::Unspecified) as i32
}

fn direction(name: Option<DirectionName>) -> i32 {
    match name {
        None | Some(DirectionName::Inbound) => pb::Direction::Inbound as i32,
        Some(DirectionName::Outbound) => pb::Direction::Outbound as i32,
    }
}

fn outcome(name: Option<OutcomeName>) -> i32 {
    let outcome = match name {
        None => pb::Outcome::Unspecified,
        Some(OutcomeName::Resolved) => pb::Outcome::Resolved,
        Some(OutcomeName::Referred) => pb::Outcome::Referred,
        Some(OutcomeName::HandedOff) => pb::Outcome::HandedOff,
        Some(OutcomeName::Callback) => pb::Outcome::Callback,
        Some(OutcomeName::Abandoned) => pb::Outcome::Abandoned,
    };
    outcome as i32
}

fn signal(name: SignalName) -> pb::Signal {
    match name {
        SignalName::ReferredAgain => pb::Signal::ReferredAgain,
        SignalName::ReferralLoop => pb::Signal::ReferralLoop,
        SignalName::StoryAlreadyTold => pb::Signal::StoryAlreadyTold,
        SignalName::RepeatContact => pb::Signal::RepeatContact,
        SignalName::ChannelHop => pb::Signal::ChannelHop,
        SignalName::CommitmentPending => pb::Signal::CommitmentPending,
        SignalName::CommitmentOverdue => pb::Signal::CommitmentOverdue,
    }
}

fn status(name: StatusName) -> pb::NormStatus {
    match name {
        StatusName::Green => pb::NormStatus::Green,
        StatusName::Amber => pb::NormStatus::Amber,
        StatusName::Red => pb::NormStatus::Red,
        StatusName::NoData => pb::NormStatus::NoData,
    }
}

fn target(spec: &Option<TargetSpec>) -> Option<pb::ReferralTarget> {
    use pb::referral_target::Target;
    spec.as_ref().map(|t| pb::ReferralTarget {
        target: Some(match t {
            TargetSpec::Department(d) => Target::Department(d.clone()),
            TargetSpec::Organisation(o) => Target::Organisation(o.clone()),
            TargetSpec::Channel(c) => Target::Channel(channel(*c) as i32),
        }),
    })
}

fn identifiers(
    bsn: &Option<String>,
    kvk: &Option<String>,
    email: &Option<String>,
    phone: &Option<String>,
) -> pb::Identifiers {
    pb::Identifiers {
        bsn: bsn.clone().unwrap_or_default(),
        kvk: kvk.clone().unwrap_or_default(),
        email: email.clone().unwrap_or_default(),
        phone: phone.clone().unwrap_or_default(),
    }
}

fn norm(spec: &NormSpec) -> pb::Norm {
    use pb::within::Within;
    let measure = match spec.measure {
        MeasureName::ResponseTime => pb::Measure::ResponseTime,
        MeasureName::FirstContactResolution => pb::Measure::FirstContactResolution,
        MeasureName::ReferredAtMost => pb::Measure::ReferredAtMost,
        MeasureName::StoryToldOnce => pb::Measure::StoryToldOnce,
        MeasureName::CommitmentOnTime => pb::Measure::CommitmentOnTime,
    };
    let within = spec.within.map(|w| pb::Within {
        within: Some(match w {
            WithinSpec::Seconds(s) => Within::Elapsed(prost_types::Duration {
                seconds: i64::try_from(s).unwrap_or(i64::MAX),
                nanos: 0,
            }),
            WithinSpec::WorkingDays(d) => Within::WorkingDays(d),
        }),
    });
    pb::Norm {
        id: spec.id.clone(),
        title: spec.title.clone().unwrap_or_default(),
        measure: measure as i32,
        channel: opt_channel(spec.channel),
        within,
        max: spec.max.unwrap_or(0),
        target: spec.target,
        explanation: spec.explanation.clone().unwrap_or_default(),
    }
}

fn calendar(spec: &CalendarSpec) -> pb::Calendar {
    let holidays = match spec.holidays {
        None => pb::HolidaySet::Unspecified,
        Some(HolidaysName::Nl) => pb::HolidaySet::Nl,
        Some(HolidaysName::Be) => pb::HolidaySet::Be,
    };
    pb::Calendar {
        time_zone: spec.time_zone.clone().unwrap_or_default(),
        holidays: holidays as i32,
        closing_days: spec.closing_days.iter().flatten().map(date).collect(),
    }
}

// ---------------------------------------------------------------------------------
// Names of what came back

fn signal_name(value: i32) -> String {
    match pb::Signal::try_from(value) {
        Ok(s) => s.as_str_name().trim_start_matches("SIGNAL_").to_string(),
        Err(_) => format!("SIGNAL({value})"),
    }
}

fn party_status_name(value: i32) -> String {
    match pb::PartyStatus::try_from(value) {
        Ok(s) => s
            .as_str_name()
            .trim_start_matches("PARTY_STATUS_")
            .to_string(),
        Err(_) => format!("PARTY_STATUS({value})"),
    }
}

fn norm_status_name(value: i32) -> String {
    match pb::NormStatus::try_from(value) {
        Ok(s) => s
            .as_str_name()
            .trim_start_matches("NORM_STATUS_")
            .to_string(),
        Err(_) => format!("NORM_STATUS({value})"),
    }
}

fn describe_party(party: &pb::Party) -> String {
    if party.id.is_empty() {
        format!(
            "a party without id (status {})",
            party_status_name(party.status)
        )
    } else {
        format!("{} (status {})", party.id, party_status_name(party.status))
    }
}

fn show_ratio(value: Option<f64>) -> String {
    value
        .map(|v| format!("{v:?}"))
        .unwrap_or_else(|| "null".to_string())
}

fn check_count<T: PartialEq + std::fmt::Display>(
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

fn check_ratio(out: &mut Vec<String>, key: &str, expected: Option<Option<f64>>, got: Option<f64>) {
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

fn outcome_of(out: Vec<String>) -> Checked {
    if out.is_empty() { Ok(()) } else { Err(out) }
}

// ---------------------------------------------------------------------------------
// Playing

impl Player {
    async fn apply_settings(&mut self, scenario: &Scenario) -> Checked {
        if scenario.norms.is_none() && scenario.calendar.is_none() {
            return Ok(());
        }
        let tenant = &scenario.tenant;
        // Start from what the tenant has, so a file that gives only norms keeps the
        // default calendar and windows, and one that gives only a calendar the norms.
        let mut settings = self
            .clients
            .tenants
            .get_tenant_settings(request(tenant, pb::GetTenantSettingsRequest {})?)
            .await
            .map_err(|s| vec![format!("GetTenantSettings failed: {}", failed(&s))])?
            .into_inner()
            .settings
            .unwrap_or_default();
        if let Some(norms) = &scenario.norms {
            settings.norms = norms.iter().map(norm).collect();
        }
        if let Some(spec) = &scenario.calendar {
            settings.calendar = Some(calendar(spec));
        }
        let replace = pb::ReplaceTenantSettingsRequest {
            settings: Some(settings),
        };
        self.clients
            .tenants
            .replace_tenant_settings(request(tenant, replace)?)
            .await
            .map_err(|s| vec![format!("ReplaceTenantSettings failed: {}", failed(&s))])?;
        Ok(())
    }

    async fn step(&mut self, step: &Step, tenant: &str) -> Checked {
        match &step.action {
            Action::Start(s) => self.start(s, step, tenant).await,
            Action::Complete(s) => self.complete(s, step, tenant).await,
            Action::Record(s) => self.record(s, step, tenant).await,
            Action::Context(s) => self.context(s, step, tenant).await,
            Action::Feedback(s) => {
                let contact_id = self.known(&s.contact)?.contact_id;
                let message = pb::SubmitFeedbackRequest {
                    request_id: String::new(),
                    contact_id,
                    score: s.score.unwrap_or(0),
                    effort: s.effort.unwrap_or(0),
                    story_repeated: s.repeated_story.unwrap_or(false),
                    comment: s.comment.clone().unwrap_or_default(),
                };
                let result = self
                    .clients
                    .contacts
                    .submit_feedback(request(tenant, message)?)
                    .await;
                settle(result, &step.expect).map(|_| ())
            }
            Action::Erase(s) => {
                let message = pb::ErasePartyRequest {
                    identifiers: Some(identifiers(&s.bsn, &s.kvk, &s.email, &s.phone)),
                };
                let result = self
                    .clients
                    .parties
                    .erase_party(request(tenant, message)?)
                    .await;
                if let Some(answer) = settle(result, &step.expect)? {
                    self.observe_party(&answer.party_id);
                }
                Ok(())
            }
            Action::Metrics(s) => {
                let message = pb::GetFiguresRequest {
                    period: Some(pb::Period {
                        from: s.from.as_ref().map(date),
                        to: s.to.as_ref().map(date),
                        as_of: opt_timestamp(&s.as_of),
                    }),
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
            Action::Thermometer(s) => {
                let message = pb::GetThermometerRequest {
                    period: Some(pb::Period {
                        from: s.from.as_ref().map(date),
                        to: s.to.as_ref().map(date),
                        as_of: opt_timestamp(&s.as_of),
                    }),
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
    }

    async fn start(&mut self, s: &StartStep, step: &Step, tenant: &str) -> Checked {
        let case_id = self.case_of(&s.case_of).await?;
        let message = pb::StartContactRequest {
            request_id: s.request_id.clone().unwrap_or_default(),
            start: Some(pb::ContactStart {
                channel: opt_channel(s.channel),
                direction: direction(s.direction),
                started_at: opt_timestamp(&s.at),
                identifiers: Some(identifiers(&s.bsn, &s.kvk, &s.email, &s.phone)),
                topic: s.topic.clone().unwrap_or_default(),
                case_id,
                case_reference: s.case_reference.clone().unwrap_or_default(),
                department: s.department.clone().unwrap_or_default(),
            }),
        };
        let result = self
            .clients
            .contacts
            .start_contact(request(tenant, message)?)
            .await;
        let Some(answer) = settle(result, &step.expect)? else {
            return Ok(());
        };
        self.after_contact(
            &s.contact,
            tenant,
            answer.contact,
            answer.context,
            &step.expect,
        )
        .await
    }

    async fn record(&mut self, s: &RecordStep, step: &Step, tenant: &str) -> Checked {
        let case_id = self.case_of(&s.case_of).await?;
        let department = s.department.clone().unwrap_or_default();
        let message = pb::RecordContactRequest {
            request_id: s.request_id.clone().unwrap_or_default(),
            start: Some(pb::ContactStart {
                channel: opt_channel(s.channel),
                direction: direction(s.direction),
                started_at: opt_timestamp(&s.started_at),
                identifiers: Some(identifiers(&s.bsn, &s.kvk, &s.email, &s.phone)),
                topic: s.topic.clone().unwrap_or_default(),
                case_id,
                case_reference: s.case_reference.clone().unwrap_or_default(),
                // One `department` in a record: the department that took and handled it.
                department: department.clone(),
            }),
            end: Some(pb::ContactEnd {
                ended_at: opt_timestamp(&s.at),
                answered_at: opt_timestamp(&s.answered_at),
                outcome: outcome(s.outcome),
                story: s.story.clone().unwrap_or_default(),
                department,
                topic: String::new(),
                referred_to: target(&s.referred_to),
                due_at: opt_timestamp(&s.due),
                story_repeated: s.repeated_story.unwrap_or(false),
            }),
            context_seen: s.context_seen,
        };
        let result = self
            .clients
            .contacts
            .record_contact(request(tenant, message)?)
            .await;
        let Some(answer) = settle(result, &step.expect)? else {
            return Ok(());
        };
        self.after_contact(
            &s.contact,
            tenant,
            answer.contact,
            answer.context,
            &step.expect,
        )
        .await
    }

    async fn complete(&mut self, s: &CompleteStep, step: &Step, tenant: &str) -> Checked {
        let contact_id = self.known(&s.contact)?.contact_id;
        let message = pb::CompleteContactRequest {
            request_id: String::new(),
            contact_id,
            end: Some(pb::ContactEnd {
                ended_at: opt_timestamp(&s.at),
                answered_at: opt_timestamp(&s.answered_at),
                outcome: outcome(s.outcome),
                story: s.story.clone().unwrap_or_default(),
                department: s.department.clone().unwrap_or_default(),
                topic: s.topic.clone().unwrap_or_default(),
                referred_to: target(&s.referred_to),
                due_at: opt_timestamp(&s.due),
                story_repeated: s.repeated_story.unwrap_or(false),
            }),
        };
        let result = self
            .clients
            .contacts
            .complete_contact(request(tenant, message)?)
            .await;
        if let Some(answer) = settle(result, &step.expect)?
            && let Some(contact) = &answer.contact
        {
            self.observe_contact(contact);
        }
        Ok(())
    }

    async fn context(&mut self, s: &ContextStep, step: &Step, tenant: &str) -> Checked {
        let message = pb::GetContextRequest {
            identifiers: Some(identifiers(&s.bsn, &s.kvk, &s.email, &s.phone)),
            as_of: opt_timestamp(&s.at),
        };
        let result = self
            .clients
            .parties
            .get_context(request(tenant, message)?)
            .await;
        let Some(answer) = settle(result, &step.expect)? else {
            return Ok(());
        };
        let Some(context) = answer.context else {
            return match step.expect {
                Expect::Context(_) => Err(vec!["the answer has no context".to_string()]),
                _ => Ok(()),
            };
        };
        if let Expect::Context(e) = &step.expect {
            self.check_context(e, &context).await?;
        }
        self.observe_context(&context);
        Ok(())
    }

    /// Checks a start's or record's answer, then registers its ref.
    async fn after_contact(
        &mut self,
        contact_ref: &str,
        tenant: &str,
        contact: Option<pb::Contact>,
        context: Option<pb::Context>,
        expect: &Expect,
    ) -> Checked {
        let Some(contact) = contact else {
            return Err(vec!["the answer has no contact".to_string()]);
        };
        if let Expect::Contact(e) = expect {
            self.check_contact(e, &contact, context.as_ref()).await?;
        }
        if let Some(earlier) = self.refs.get(contact_ref)
            && earlier.contact_id != contact.id
        {
            return Err(vec![format!(
                "ref {contact_ref} already names contact {}, this step made contact {}",
                earlier.contact_id, contact.id
            )]);
        }
        self.refs.insert(
            contact_ref.to_string(),
            Known {
                contact_id: contact.id.clone(),
                tenant: tenant.to_string(),
            },
        );
        self.observe_contact(&contact);
        if let Some(context) = &context {
            self.observe_context(context);
        }
        Ok(())
    }

    // --- refs and ids

    fn known(&self, contact_ref: &str) -> Result<Known, Vec<String>> {
        self.refs.get(contact_ref).cloned().ok_or_else(|| {
            vec![format!(
                "unknown ref `{contact_ref}`: no earlier start or record step made that contact"
            )]
        })
    }

    /// Contact `<ref>` as the server has it now, after any merge.
    async fn now(&mut self, contact_ref: &str) -> Result<pb::Contact, String> {
        let known = self.known(contact_ref).map_err(|m| m.join("; "))?;
        let message = pb::GetContactRequest {
            contact_id: known.contact_id.clone(),
        };
        let req = request(&known.tenant, message).map_err(|m| m.join("; "))?;
        let answer = self.clients.contacts.get_contact(req).await.map_err(|s| {
            format!(
                "GetContact for {contact_ref} ({}) failed: {}",
                known.contact_id,
                failed(&s)
            )
        })?;
        answer
            .into_inner()
            .contact
            .ok_or_else(|| format!("GetContact for {contact_ref} answered without a contact"))
    }

    async fn case_of(&mut self, case_of: &Option<String>) -> Result<String, Vec<String>> {
        let Some(contact_ref) = case_of else {
            return Ok(String::new());
        };
        let contact = self
            .now(contact_ref)
            .await
            .map_err(|m| vec![format!("case_of: {m}")])?;
        if contact.case_id.is_empty() {
            return Err(vec![format!("case_of: contact {contact_ref} has no case")]);
        }
        Ok(contact.case_id)
    }

    fn observe_party(&mut self, id: &str) {
        if !id.is_empty() {
            self.seen_parties.insert(id.to_string());
        }
    }

    fn observe_case(&mut self, id: &str) {
        if !id.is_empty() {
            self.seen_cases.insert(id.to_string());
        }
    }

    fn observe_contact(&mut self, contact: &pb::Contact) {
        self.observe_party(&contact.party_id);
        self.observe_case(&contact.case_id);
    }

    fn observe_context(&mut self, context: &pb::Context) {
        if let Some(party) = &context.party {
            self.observe_party(&party.id);
        }
        for case in context.active_cases.iter().chain(context.case.iter()) {
            self.observe_case(&case.id);
        }
    }

    /// Adds the current party and case of every earlier ref to the ids seen, so
    /// that `new` also refuses an id an earlier contact has only since a merge.
    async fn refresh_seen(&mut self) {
        let refs: Vec<String> = self.refs.keys().cloned().collect();
        for contact_ref in refs {
            if let Ok(contact) = self.now(&contact_ref).await {
                self.observe_contact(&contact);
            }
        }
    }

    // --- checks

    async fn check_party(
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

    async fn check_case(
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

    async fn check_contact(
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
            let got = case.map(|c| c.stories.len()).unwrap_or(0);
            if expected != got {
                out.push(format!("stories: expected {expected}, got {got}{no_case}"));
            }
        }
        check_count(
            &mut out,
            "active_cases",
            e.active_cases,
            context.active_cases.len(),
        );
        outcome_of(out)
    }

    fn check_same_contact(&self, out: &mut Vec<String>, contact_ref: &str, contact: &pb::Contact) {
        match self.refs.get(contact_ref) {
            None => out.push(format!("contact: unknown ref `{contact_ref}`: no earlier start or record step made that contact")),
            Some(known) if known.contact_id != contact.id => out.push(format!(
                "contact: expected same_as {contact_ref} ({}), got {}",
                known.contact_id, contact.id
            )),
            Some(_) => {}
        }
    }

    async fn check_context(&mut self, e: &ContextExpect, context: &pb::Context) -> Checked {
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
        check_count(&mut out, "active_cases", e.active_cases, cases.len());
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

fn check_figures(e: &MetricsExpect, f: &pb::Figures) -> Checked {
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
fn check_response_times(
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

fn check_thermometer(expected: &BTreeMap<String, NormExpect>, norms: &[pb::NormResult]) -> Checked {
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
mod runner_tests;

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
