//! The domain's hot paths under `cargo bench -p midoffice-domain`: what every contact
//! start costs for a citizen with a long history (the plan, its context, its signals),
//! the figures and the thermometer over 10,000 contacts of a month, identifiers parsed
//! and hashed, and a story masked. Pure functions over facts built here, so these
//! measure the rules alone; the store's and the network's share is measured by
//! `midoffice bench` (docs/benchmarks.md).

use chrono::{NaiveDate, TimeDelta, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use midoffice_domain::case::CaseFacts;
use midoffice_domain::command::StartCommand;
use midoffice_domain::contact::{
    Channel, Completion, ContactFacts, Direction, Outcome, ReferralTarget,
};
use midoffice_domain::figures::{self, FigureFacts, Filter, Period};
use midoffice_domain::identifier::{IdentKey, IdentifierKind, Pseudonymiser, parse_identifiers};
use midoffice_domain::mask::mask_identifiers;
use midoffice_domain::party::{KnownParties, PartySummary};
use midoffice_domain::plan::start::{AskedCase, FreshIds, StartFacts, plan_start};
use midoffice_domain::settings::TenantSettings;
use midoffice_domain::signals::{Probe, signals};
use midoffice_domain::view::{self, PartyStatus, PartyView};
use midoffice_domain::{Code, Instant};
use std::collections::BTreeMap;
use std::hint::black_box;
use uuid::Uuid;

const TOPICS: [&str; 6] = [
    "paspoort",
    "verhuizing",
    "parkeervergunning",
    "afvalcontainer",
    "bijstand",
    "gemeentelijke-belastingen",
];

fn at(minutes: i64) -> Instant {
    Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap() + TimeDelta::minutes(minutes)
}

fn code(s: &str) -> Code {
    Code::parse(s).unwrap()
}

/// Contact `n` of a case, started at `minute`, ended with `outcome` 10 minutes later.
fn contact(
    n: u128,
    party: Option<Uuid>,
    case: Option<Uuid>,
    minute: i64,
    outcome: Outcome,
) -> ContactFacts {
    let channel = Channel::ALL[(n % 4) as usize];
    let answered = (outcome != Outcome::Abandoned)
        .then(|| at(minute) + TimeDelta::seconds(20 + (n % 60) as i64));
    ContactFacts {
        id: Uuid::from_u128(n),
        party_id: party,
        case_id: case,
        channel,
        direction: if n.is_multiple_of(7) {
            Direction::Outbound
        } else {
            Direction::Inbound
        },
        started_at: at(minute),
        topic: Some(code(TOPICS[(n % 6) as usize])),
        department: Some(code(if n.is_multiple_of(3) {
            "burgerzaken"
        } else {
            "kcc"
        })),
        case_chosen_at_completion: false,
        recorded: false,
        context_seen: true,
        ambiguous: false,
        completion: Some(Completion {
            ended_at: at(minute + 10),
            answered_at: answered,
            outcome,
            story: (outcome != Outcome::Abandoned && !n.is_multiple_of(4))
                .then(|| "Vraagt naar de status van de aanvraag.".to_owned()),
            department: Some(code("kcc")),
            topic: None,
            referred_to: (outcome == Outcome::Referred)
                .then(|| ReferralTarget::Department(code("burgerzaken"))),
            due_at: outcome
                .is_commitment()
                .then(|| at(minute + 10) + TimeDelta::days(1)),
            story_repeated: n.is_multiple_of(11),
        }),
        feedback: None,
    }
}

fn outcome_of(n: u128) -> Outcome {
    match n % 10 {
        0 => Outcome::Referred,
        1 => Outcome::HandedOff,
        2 => Outcome::Callback,
        3 => Outcome::Abandoned,
        _ => Outcome::Resolved,
    }
}

/// One party with `cases` cases of `per_case` contacts each, a day apart.
fn long_history(party: Uuid, cases: u128, per_case: u128) -> Vec<CaseFacts> {
    (0..cases)
        .map(|k| {
            let id = Uuid::from_u128(1_000_000 + k);
            let start = (k as i64) * 24 * 60;
            CaseFacts {
                id,
                party_id: party,
                topic: Some(code(TOPICS[(k % 6) as usize])),
                reference: None,
                created_at: at(start),
                contacts: (0..per_case)
                    .map(|c| {
                        let n = k * 1000 + c;
                        contact(
                            n,
                            Some(party),
                            Some(id),
                            start + c as i64 * 60,
                            outcome_of(n),
                        )
                    })
                    .collect(),
            }
        })
        .collect()
}

fn bsn_key() -> IdentKey {
    IdentKey {
        kind: IdentifierKind::Bsn,
        hash: "a".repeat(64),
        display: Some("******019".into()),
    }
}

fn start_facts(cases: Vec<CaseFacts>, party: Uuid) -> StartFacts {
    let mut known = KnownParties::default();
    known.owners.insert(bsn_key(), vec![party]);
    known.parties.insert(
        party,
        PartySummary {
            id: party,
            created_at: at(0),
            strong: Some(bsn_key()),
        },
    );
    StartFacts {
        known,
        asked_case: AskedCase::NotAsked,
        cases: BTreeMap::from([(party, cases)]),
        settings: TenantSettings::default(),
        fresh: FreshIds {
            party: Uuid::from_u128(1),
            case: Uuid::from_u128(2),
            contact: Uuid::from_u128(3),
        },
        stored_at: at(400 * 24 * 60),
    }
}

fn plan_and_context(c: &mut Criterion) {
    let party = Uuid::from_u128(42);
    // 200 cases of 5 contacts: a frequent citizen's years.
    let cases = long_history(party, 200, 5);
    let facts = start_facts(cases.clone(), party);
    let start = StartCommand {
        channel: Channel::Phone,
        direction: Direction::Inbound,
        started_at: at(200 * 24 * 60 + 30),
        identifiers: vec![bsn_key()],
        topic: Some(code("paspoort")),
        case_id: None,
        case_reference: None,
        department: Some(code("kcc")),
    };
    c.bench_function("plan_start, 1,000 contacts in the history", |b| {
        b.iter(|| plan_start(black_box(&facts), black_box(&start), false, true))
    });
    let settings = TenantSettings::default();
    let summary = facts.known.parties[&party].clone();
    let probe = Probe {
        contact_id: None,
        at: start.started_at,
        channel: Some(Channel::Phone),
        direction: Direction::Inbound,
        department: Some(code("kcc")),
    };
    c.bench_function("view::context, 1,000 contacts in the history", |b| {
        b.iter(|| {
            view::context(
                PartyView::of(&summary, PartyStatus::Known),
                black_box(&cases),
                &probe,
                None,
                &settings,
            )
        })
    });
    // One busy case: 100 contacts.
    let busy = long_history(party, 1, 100).remove(0);
    c.bench_function("signals, a case of 100 contacts", |b| {
        b.iter(|| signals(black_box(&busy), &probe, &settings))
    });
}

/// 10,000 contacts in March 2026: 2,500 cases of 4 contacts, and some anonymous.
fn month_of_contacts() -> FigureFacts {
    let mut facts = FigureFacts::default();
    let month = 30 * 24 * 60;
    for k in 0..2_400u128 {
        let party = Uuid::from_u128(10_000_000 + k);
        let id = Uuid::from_u128(20_000_000 + k);
        let start = (k as i64 * 17) % (month - 6000);
        let contacts: Vec<ContactFacts> = (0..4u128)
            .map(|c| {
                let n = k * 10 + c;
                contact(
                    n,
                    Some(party),
                    Some(id),
                    start + c as i64 * 1440,
                    outcome_of(n),
                )
            })
            .collect();
        facts.contacts.extend(contacts.iter().cloned());
        facts.cases.insert(
            id,
            CaseFacts {
                id,
                party_id: party,
                topic: Some(code(TOPICS[(k % 6) as usize])),
                reference: None,
                created_at: at(start),
                contacts,
            },
        );
    }
    for n in 0..400u128 {
        facts.contacts.push(contact(
            90_000_000 + n,
            None,
            None,
            (n as i64 * 97) % month,
            Outcome::Resolved,
        ));
    }
    facts
}

fn figures_over_a_month(c: &mut Criterion) {
    let facts = month_of_contacts();
    let settings = TenantSettings::default();
    let period = Period {
        from: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        to: NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
        as_of: at(60 * 24 * 60),
    };
    c.bench_function("figures::thermometer, 10,000 contacts", |b| {
        b.iter(|| figures::thermometer(black_box(&facts), &period, &settings))
    });
    c.bench_function("figures::figures, 10,000 contacts", |b| {
        b.iter(|| figures::figures(black_box(&facts), &period, &Filter::default(), &settings))
    });
    let phone = Filter {
        channel: Some(Channel::Phone),
        ..Filter::default()
    };
    c.bench_function("figures::figures by channel, 10,000 contacts", |b| {
        b.iter(|| figures::figures(black_box(&facts), &period, &phone, &settings))
    });
}

fn identifiers_and_mask(c: &mut Criterion) {
    let pseudonymiser = Pseudonymiser::new(&[7u8; 32]);
    c.bench_function("identifiers parsed and hashed (bsn, e-mail, phone)", |b| {
        b.iter(|| {
            let ids = parse_identifiers(
                black_box("111222333"),
                "",
                black_box(" Burger@Voorbeeld.NL "),
                black_box("+31 (0)6 1234 5678"),
            )
            .unwrap();
            ids.iter().map(|i| pseudonymiser.key(i)).collect::<Vec<_>>()
        })
    });
    let story = "Burger belde over de aanvraag van zijn paspoort. Hij gaf zijn BSN 111222333 \
                 en vroeg terugbellen op 06-12345678 of mailen naar burger@voorbeeld.nl; \
                 de aanvraag is nog in behandeling bij burgerzaken, uitleg gegeven over de \
                 termijn en de benodigde documenten.";
    c.bench_function("mask a story with three identifiers", |b| {
        b.iter(|| mask_identifiers(black_box(story)))
    });
    let clean = "Vraagt naar de status van de aanvraag. Uitleg gegeven over de termijn.";
    c.bench_function("mask a story without identifiers", |b| {
        b.iter(|| mask_identifiers(black_box(clean)))
    });
}

criterion_group!(
    benches,
    plan_and_context,
    figures_over_a_month,
    identifiers_and_mask
);
criterion_main!(benches);
