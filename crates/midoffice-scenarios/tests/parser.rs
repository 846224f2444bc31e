//! The parser refuses what it does not know; no server is needed here.

use midoffice_scenarios::folders::{scenario_files, scenario_folders};
use midoffice_scenarios::scenario::{
    Action, CaseExpect, Expect, PartyExpect, SignalName, WithinSpec,
};
use midoffice_scenarios::{ParseError, parse};

/// A small valid file with `step` as its only step.
fn with_step(step: &str) -> String {
    format!("name: t\nabout: a test\nsteps:\n{step}")
}

fn refused(text: &str) -> String {
    match parse(text) {
        Ok(s) => panic!("expected a refusal, parsed {s:?}"),
        Err(ParseError(reason)) => reason,
    }
}

const START: &str = r#"  - start: {ref: c1, at: "2026-03-02T09:00:00+01:00", channel: PHONE, bsn: "999990019", topic: paspoort}"#;

/// The project's scenarios always, the shared ones when they are there.
#[test]
fn every_scenario_file_parses() {
    for file in scenario_files(&scenario_folders()) {
        let scenario =
            midoffice_scenarios::load(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(!scenario.steps.is_empty(), "{}", file.display());
    }
}

#[test]
fn a_valid_step_is_read_with_its_expectations() {
    let s = parse(&with_step(&format!(
        "{START}\n    tenant: other\n    expect: {{party: new, case: same_as c0, signals: [REFERRED_AGAIN], stories: 1}}\n"
    )))
    .unwrap();
    assert_eq!(s.tenant, "default");
    let step = &s.steps[0];
    assert_eq!(step.tenant.as_deref(), Some("other"));
    assert!(
        matches!(&step.action, Action::Start(start) if start.contact == "c1" && start.bsn.as_deref() == Some("999990019"))
    );
    let Expect::Contact(e) = &step.expect else {
        panic!("{:?}", step.expect)
    };
    assert_eq!(e.party, Some(PartyExpect::New));
    assert_eq!(e.case, Some(CaseExpect::SameAs("c0".into())));
    assert_eq!(e.signals.as_deref(), Some(&[SignalName::ReferredAgain][..]));
    assert_eq!(e.stories, Some(1));
    assert_eq!(step.action.label(), "start c1");
}

#[test]
fn an_unknown_key_is_refused() {
    // At the top, in an action, in an expectation, in a norm.
    assert!(refused(&format!("name: t\ncolour: blue\nsteps:\n{START}\n")).contains("colour"));
    let typo = START.replace("topic:", "topik:");
    assert!(refused(&with_step(&format!("{typo}\n"))).contains("topik"));
    assert!(
        refused(&with_step(&format!(
            "{START}\n    expect: {{parti: new}}\n"
        )))
        .contains("parti")
    );
    let norms = "name: t\nnorms:\n  - {id: a, measure: story_told_once, target: 0.9, colour: red}\nsteps:\n";
    assert!(refused(&format!("{norms}{START}\n")).contains("colour"));
    // A key next to the action.
    assert!(
        refused(&with_step(&format!(
            "{START}\n    expected: {{party: new}}\n"
        )))
        .contains("expected")
    );
}

#[test]
fn an_unknown_step_kind_is_refused() {
    let reason = refused(&with_step("  - begin: {ref: c1}\n"));
    assert!(reason.contains("begin"), "{reason}");
    let reason = refused(&with_step("  - expect: {party: new}\n"));
    assert!(reason.contains("one action"), "{reason}");
}

#[test]
fn two_actions_in_one_step_are_refused() {
    let two = format!("{START}\n    metrics: {{from: \"2026-03-01\", to: \"2026-04-01\"}}\n");
    assert!(refused(&with_step(&two)).contains("exactly one action"));
}

#[test]
fn an_unknown_signal_is_refused() {
    let reason = refused(&with_step(&format!(
        "{START}\n    expect: {{signals: [REFERED_AGAIN]}}\n"
    )));
    assert!(reason.contains("REFERED_AGAIN"), "{reason}");
}

#[test]
fn unknown_outcomes_channels_measures_and_values_are_refused() {
    let complete = r#"  - complete: {ref: c1, at: "2026-03-02T09:05:00+01:00", outcome: SOLVED}"#;
    assert!(refused(&with_step(&format!("{complete}\n"))).contains("SOLVED"));
    assert!(refused(&with_step(&format!("{}\n", START.replace("PHONE", "FAX")))).contains("FAX"));
    let norms = "name: t\nnorms:\n  - {id: a, measure: speed, target: 0.9}\nsteps:\n";
    assert!(refused(&format!("{norms}{START}\n")).contains("speed"));
    let norms = "name: t\nnorms:\n  - {id: a, measure: response_time, channel: PHONE, within: 25 s, target: 0.9}\nsteps:\n";
    assert!(refused(&format!("{norms}{START}\n")).contains("25 s"));
    assert!(
        refused(&with_step(&format!(
            "{START}\n    expect: {{party: old}}\n"
        )))
        .contains("old")
    );
    assert!(
        refused(&with_step(&format!(
            "{START}\n    expect: {{case: same_as}}\n"
        )))
        .contains("same_as")
    );
    assert!(
        refused(&with_step(&format!(
            "{START}\n    expect: {{error: INVALID}}\n"
        )))
        .contains("INVALID")
    );
    let thermometer = "  - thermometer: {from: \"2026-03-01\", to: \"2026-04-01\"}\n    expect: {a: {status: BLUE}}\n";
    assert!(refused(&with_step(thermometer)).contains("BLUE"));
}

#[test]
fn a_duplicate_key_is_refused() {
    // In a struct (the action), and in a free map (the thermometer's norm ids).
    let twice = START.replace("topic: paspoort", "topic: paspoort, topic: rijbewijs");
    let reason = refused(&with_step(&format!("{twice}\n")));
    assert!(reason.contains("duplicate"), "{reason}");
    let thermometer = "  - thermometer: {from: \"2026-03-01\", to: \"2026-04-01\"}\n    expect:\n      a: {items: 1}\n      a: {items: 2}\n";
    let reason = refused(&with_step(thermometer));
    assert!(reason.contains("duplicate"), "{reason}");
    let reason = refused(&format!("name: t\nname: u\nsteps:\n{START}\n"));
    assert!(reason.contains("duplicate"), "{reason}");
    let reason = refused(&with_step(&format!(
        "{START}\n    expect: {{party: new}}\n    expect: {{case: new}}\n"
    )));
    assert!(reason.contains("duplicate"), "{reason}");
}

#[test]
fn error_stands_alone_and_only_fits_where_it_can() {
    assert!(
        refused(&with_step(&format!(
            "{START}\n    expect: {{error: NOT_FOUND, party: new}}\n"
        )))
        .contains("error")
    );
    let complete = r#"  - complete: {ref: c1, at: "2026-03-02T09:05:00+01:00", outcome: RESOLVED}"#;
    assert!(
        refused(&with_step(&format!(
            "{complete}\n    expect: {{party: new}}\n"
        )))
        .contains("only expect `error`")
    );
    let s = parse(&with_step(&format!(
        "{complete}\n    expect: {{error: FAILED_PRECONDITION}}\n"
    )))
    .unwrap();
    assert_eq!(
        s.steps[0].expect,
        Expect::Error(tonic::Code::FailedPrecondition)
    );
    // `none` is for look-ups, `new` for contacts.
    assert!(
        refused(&with_step(&format!(
            "{START}\n    expect: {{party: none}}\n"
        )))
        .contains("none")
    );
    let context = "  - context: {at: \"2026-03-04T10:00:00+01:00\", bsn: \"999990019\"}\n    expect: {party: new}\n";
    assert!(refused(&with_step(context)).contains("new"));
}

#[test]
fn times_dates_and_thresholds_are_strict() {
    assert!(
        refused(&with_step(&format!("{}\n", START.replace("+01:00", "")))).contains("RFC 3339")
    );
    let metrics = "  - metrics: {from: \"2026-3-1\", to: \"2026-04-01\"}\n";
    assert!(refused(&with_step(metrics)).contains("YYYY-MM-DD"));
    let norms = "name: t\nnorms:\n  - {id: a, measure: response_time, channel: EMAIL, within: 2wd, target: 0.9}\n  - {id: b, measure: response_time, channel: PHONE, within: 2h, target: 0.9}\nsteps:\n";
    let s = parse(&format!("{norms}{START}\n")).unwrap();
    let norms = s.norms.unwrap();
    assert_eq!(norms[0].within, Some(WithinSpec::WorkingDays(2)));
    assert_eq!(norms[1].within, Some(WithinSpec::Seconds(7200)));
    let dup = "name: t\nnorms:\n  - {id: a, measure: story_told_once, target: 0.9}\n  - {id: a, measure: story_told_once, target: 0.9}\nsteps:\n";
    assert!(refused(&format!("{dup}{START}\n")).contains("twice"));
}

#[test]
fn ratios_may_be_null_and_referral_targets_are_exactly_one() {
    let metrics = "  - metrics: {from: \"2026-03-01\", to: \"2026-04-01\"}\n    expect: {repeat_story_rate: null, referral_rate: 1, response_time_p50: {PHONE: 15}}\n";
    let s = parse(&with_step(metrics)).unwrap();
    let Expect::Metrics(m) = &s.steps[0].expect else {
        panic!()
    };
    assert_eq!(m.repeat_story_rate, Some(None));
    assert_eq!(m.referral_rate, Some(Some(1.0)));
    assert_eq!(m.first_contact_resolution, None);
    let both = r#"  - complete: {ref: c1, outcome: REFERRED, referred_to: {department: a, organisation: b}}"#;
    assert!(refused(&with_step(&format!("{both}\n"))).contains("exactly one"));
    let bad = "  - metrics: {from: \"2026-03-01\", to: \"2026-04-01\"}\n    expect: {response_time_p50: {FAX: 15}}\n";
    assert!(refused(&with_step(bad)).contains("FAX"));
}

#[test]
fn an_empty_scenario_is_refused() {
    assert!(refused("name: t\nsteps: []\n").contains("at least one step"));
}
