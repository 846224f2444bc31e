//! Who a group-period's members are at composition, and whether a member is named on
//! public pages (taken when read, not fixed at composition).

use crate::Code;
use crate::settings::BenchmarkSettings;
use std::collections::{BTreeMap, BTreeSet};

/// Where a member's figures come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A tenant of this deployment, its counts computed at composition.
    Local,
    /// A summary imported from another deployment.
    Imported,
}

/// A group-period's members as composed, by participant id, and the imports dropped.
#[derive(Clone, Debug, PartialEq)]
pub struct Membership<T> {
    pub members: BTreeMap<Code, (Origin, T)>,
    /// Imported summaries left out because their participant id is a tenant of this
    /// deployment.
    pub dropped: Vec<Code>,
}

/// The members of a group-period at composition: every local tenant taking part in the
/// group (`locals`, by participant id), and every imported summary (`imports`) whose
/// participant id is not a tenant of this deployment (`local_tenants`: every tenant
/// with settings, whether it takes part or not). A tenant of this deployment thus
/// never enters a group through a summary someone imported of it: it is in a group by
/// its own settings at composition or not at all. `T` is what the store keeps of a
/// member (its figures).
pub fn members<T>(
    locals: Vec<(Code, T)>,
    imports: Vec<(Code, T)>,
    local_tenants: &BTreeSet<Code>,
) -> Membership<T> {
    let mut members = BTreeMap::new();
    let mut dropped = Vec::new();
    for (id, figures) in imports {
        if local_tenants.contains(&id) || locals.iter().any(|(l, _)| *l == id) {
            dropped.push(id);
        } else {
            members.insert(id, (Origin::Imported, figures));
        }
    }
    for (id, figures) in locals {
        members.insert(id, (Origin::Local, figures));
    }
    dropped.sort();
    dropped.dedup();
    Membership { members, dropped }
}

/// Whether a member is named on public pages, as of the read: a local member by its
/// current settings (`named`, and only while it takes part at all: a tenant that
/// leaves the benchmark is named nowhere), an imported member by the newest summary
/// kept of it for the group and period (`None`: none kept, not named). The figures
/// stay as composed; only the choice to be named follows the participant.
pub fn named_now(
    origin: Origin,
    local: Option<&BenchmarkSettings>,
    imported_named: Option<bool>,
) -> bool {
    match origin {
        Origin::Local => local.is_some_and(|s| s.named && s.taking_part_in().is_some()),
        Origin::Imported => imported_named.unwrap_or(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> Code {
        Code::parse(s).unwrap()
    }

    #[test]
    fn a_local_tenant_wins_over_an_import_of_the_same_id() {
        let locals = vec![(code("gemeente-a"), "local a")];
        let imports = vec![
            (code("gemeente-a"), "imported a"),
            (code("gemeente-b"), "imported b"),
        ];
        let tenants = BTreeSet::from([code("gemeente-a")]);
        let m = members(locals, imports, &tenants);
        assert_eq!(
            m.members,
            BTreeMap::from([
                (code("gemeente-a"), (Origin::Local, "local a")),
                (code("gemeente-b"), (Origin::Imported, "imported b")),
            ])
        );
        assert_eq!(m.dropped, [code("gemeente-a")]);
    }

    #[test]
    fn an_import_of_a_local_tenant_not_taking_part_is_dropped() {
        // gemeente-a exported, someone imported it here, and it does not take part now.
        let imports = vec![
            (code("gemeente-a"), "imported a"),
            (code("gemeente-b"), "imported b"),
        ];
        let tenants = BTreeSet::from([code("gemeente-a"), code("gemeente-c")]);
        let m = members(Vec::new(), imports, &tenants);
        assert_eq!(
            m.members,
            BTreeMap::from([(code("gemeente-b"), (Origin::Imported, "imported b"))])
        );
        assert_eq!(m.dropped, [code("gemeente-a")]);
        // Without local tenants every import is a member.
        let m = members(
            vec![(code("gemeente-c"), "local c")],
            vec![(code("gemeente-b"), "imported b")],
            &BTreeSet::new(),
        );
        assert_eq!(m.members.len(), 2);
        assert!(m.dropped.is_empty());
    }

    #[test]
    fn naming_follows_the_current_choice() {
        let mut s = BenchmarkSettings {
            opted_in: true,
            size: 81_000,
            peer_group: Some(code("g4-plus")),
            named: true,
            ..BenchmarkSettings::default()
        };
        assert!(named_now(Origin::Local, Some(&s), None));
        // An import's choice does not name a local member.
        assert!(!named_now(Origin::Local, None, Some(true)));
        s.opted_in = false;
        assert!(!named_now(Origin::Local, Some(&s), None));
        s.opted_in = true;
        s.named = false;
        assert!(!named_now(Origin::Local, Some(&s), None));
        assert!(named_now(Origin::Imported, Some(&s), Some(true)));
        assert!(!named_now(Origin::Imported, None, Some(false)));
        assert!(!named_now(Origin::Imported, None, None));
    }
}
