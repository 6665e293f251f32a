//! Granular allowlist edits (product.md §5, sentry-model.md §5.4–§5.8), as pure functions.
//!
//! The service stores grants; this module decides what a Sentry-compatible edit changes and
//! what the audit log says about it.
//!
//! # The invited-member bug, fixed by design
//!
//! Sentry's read side lists *user ids* of granted members and skips members without a user
//! (pending invites); its write side computed "current" over every granted member, so a null
//! user id landed in the removals, matched nothing, and the audit text claimed a removal that
//! never happened. Here both sides are computed over exactly the same set — granted members
//! that have a user — so writing back what was read is a no-op and the audit text reports only
//! real changes. Grants of pending invites are managed by member id
//! ([`plan_member_ids`]) and are never touched by a user-id edit.

use std::collections::BTreeSet;

/// A member as the planner sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberRef {
    /// The member's id.
    pub member: u64,
    /// The member's user; `None` for a pending invite.
    pub user: Option<u64>,
    /// The member holds a direct grant for the resource kind.
    pub granted: bool,
}

/// What an edit changes: member ids to grant and to revoke, both sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Members to grant.
    pub grant: Vec<u64>,
    /// Members to revoke.
    pub revoke: Vec<u64>,
    /// The size of the submitted list (distinct entries): Sentry's "total" in the audit text.
    pub submitted: usize,
}

impl Plan {
    /// Whether the edit changes nothing.
    pub fn is_noop(&self) -> bool {
        self.grant.is_empty() && self.revoke.is_empty()
    }

    /// The org-edit audit text of the edit, as Sentry writes it:
    /// `added 2 user(s) and removed 1 user(s) (total: 5 user(s) with access)`;
    /// `None` when nothing changed.
    pub fn summary(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.grant.is_empty() {
            parts.push(format!("added {} user(s)", self.grant.len()));
        }
        if !self.revoke.is_empty() {
            parts.push(format!("removed {} user(s)", self.revoke.len()));
        }
        (!parts.is_empty()).then(|| {
            format!(
                "{} (total: {} user(s) with access)",
                parts.join(" and "),
                self.submitted
            )
        })
    }
}

/// The read side of `replayAccessMembers`: user ids of granted members that have a user,
/// sorted ascending, without duplicates; empty while the toggle is off.
pub fn listed_user_ids(members: &[MemberRef], toggle_on: bool) -> Vec<u64> {
    if !toggle_on {
        return Vec::new();
    }
    let ids: BTreeSet<u64> = members
        .iter()
        .filter(|m| m.granted)
        .filter_map(|m| m.user)
        .collect();
    ids.into_iter().collect()
}

/// Plans a full replacement of the allowlist by user ids (`replayAccessMembers`; `None` is
/// Sentry's `null`, an empty list). Only members with a user are considered, on both sides.
///
/// Errors with the sorted user ids that are not members of the organization.
pub fn plan_user_ids(members: &[MemberRef], requested: Option<&[u64]>) -> Result<Plan, Vec<u64>> {
    let wanted: BTreeSet<u64> = requested.unwrap_or(&[]).iter().copied().collect();
    let known: BTreeSet<u64> = members.iter().filter_map(|m| m.user).collect();
    let invalid: Vec<u64> = wanted.difference(&known).copied().collect();
    if !invalid.is_empty() {
        return Err(invalid);
    }
    let mut grant = BTreeSet::new();
    let mut revoke = BTreeSet::new();
    for m in members {
        let Some(user) = m.user else { continue };
        match (m.granted, wanted.contains(&user)) {
            (false, true) => {
                grant.insert(m.member);
            }
            (true, false) => {
                revoke.insert(m.member);
            }
            _ => {}
        }
    }
    Ok(Plan {
        grant: grant.into_iter().collect(),
        revoke: revoke.into_iter().collect(),
        submitted: wanted.len(),
    })
}

/// Plans a full replacement of the allowlist by member ids (`replayAccessMemberIds` and the
/// generic granular-access route), pending invites included.
///
/// Errors with the sorted member ids that are not members of the organization.
pub fn plan_member_ids(members: &[MemberRef], requested: &[u64]) -> Result<Plan, Vec<u64>> {
    let wanted: BTreeSet<u64> = requested.iter().copied().collect();
    let known: BTreeSet<u64> = members.iter().map(|m| m.member).collect();
    let invalid: Vec<u64> = wanted.difference(&known).copied().collect();
    if !invalid.is_empty() {
        return Err(invalid);
    }
    let grant = members
        .iter()
        .filter(|m| !m.granted && wanted.contains(&m.member))
        .map(|m| m.member);
    let revoke = members
        .iter()
        .filter(|m| m.granted && !wanted.contains(&m.member))
        .map(|m| m.member);
    Ok(Plan {
        grant: grant.collect::<BTreeSet<_>>().into_iter().collect(),
        revoke: revoke.collect::<BTreeSet<_>>().into_iter().collect(),
        submitted: wanted.len(),
    })
}

/// The org-edit audit text of a toggle change, as Sentry writes it (an f-string of Python
/// booleans: `True`, `False`): `to <new>` when the option did not exist (even if the new
/// value is false), `from <old> to <new>` when it changed, `None` when it did not change.
pub fn toggle_summary(old: Option<bool>, new: bool) -> Option<String> {
    let py = |b: bool| if b { "True" } else { "False" };
    match old {
        None => Some(format!("to {}", py(new))),
        Some(o) if o != new => Some(format!("from {} to {}", py(o), py(new))),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(member: u64, user: Option<u64>, granted: bool) -> MemberRef {
        MemberRef {
            member,
            user,
            granted,
        }
    }

    #[test]
    fn writing_back_what_was_read_is_a_noop_even_with_invited_members() {
        // Member 3 is a pending invite holding a grant: Sentry's bug case.
        let members = [
            m(1, Some(10), true),
            m(2, Some(20), false),
            m(3, None, true),
        ];
        let read = listed_user_ids(&members, true);
        assert_eq!(read, [10]);
        let plan = plan_user_ids(&members, Some(&read)).unwrap();
        assert!(plan.is_noop());
        assert_eq!(plan.summary(), None);
    }

    #[test]
    fn replacement_adds_and_removes_with_sentry_text() {
        let members = [
            m(1, Some(10), true),
            m(2, Some(20), false),
            m(3, Some(30), false),
            m(4, Some(40), true),
        ];
        let plan = plan_user_ids(&members, Some(&[20, 30, 10, 20])).unwrap();
        assert_eq!(plan.grant, [2, 3]);
        assert_eq!(plan.revoke, [4]);
        assert_eq!(
            plan.summary().unwrap(),
            "added 2 user(s) and removed 1 user(s) (total: 3 user(s) with access)"
        );
        let only_removal = plan_user_ids(&members, None).unwrap();
        assert_eq!(only_removal.revoke, [1, 4]);
        assert_eq!(
            only_removal.summary().unwrap(),
            "removed 2 user(s) (total: 0 user(s) with access)"
        );
    }

    #[test]
    fn non_members_are_rejected_sorted() {
        let members = [m(1, Some(10), false), m(2, None, false)];
        assert_eq!(plan_user_ids(&members, Some(&[9, 10, 3])), Err(vec![3, 9]));
        assert_eq!(plan_member_ids(&members, &[7, 2, 5]), Err(vec![5, 7]));
    }

    #[test]
    fn member_ids_reach_pending_invites() {
        let members = [m(1, Some(10), false), m(2, None, false)];
        let plan = plan_member_ids(&members, &[2]).unwrap();
        assert_eq!(plan.grant, [2]);
        assert!(
            listed_user_ids(&[m(2, None, true)], true).is_empty(),
            "invites never appear as null"
        );
    }

    #[test]
    fn reads_are_empty_while_the_toggle_is_off() {
        assert!(listed_user_ids(&[m(1, Some(10), true)], false).is_empty());
    }

    #[test]
    fn toggle_text() {
        // Sentry's tests: "to True", "to False", exactly "from False to True".
        assert_eq!(toggle_summary(None, false).unwrap(), "to False");
        assert_eq!(toggle_summary(None, true).unwrap(), "to True");
        assert_eq!(
            toggle_summary(Some(false), true).unwrap(),
            "from False to True"
        );
        assert_eq!(toggle_summary(Some(true), true), None);
    }

    proptest::proptest! {
        /// For any sequence of user-id replacements: replaying the grants and revocations from
        /// empty gives the final state, and a read after each write returns what was written,
        /// restricted to members with a user.
        #[test]
        fn replayed_changes_equal_the_final_state(
            users in proptest::collection::vec(proptest::option::of(0u64..12), 1..10),
            puts in proptest::collection::vec(proptest::collection::vec(0u64..12, 0..8), 1..8),
        ) {
            let mut members: Vec<MemberRef> = users.iter().enumerate().map(|(i, u)| m(i as u64, *u, false)).collect();
            // Users are unique per organization.
            let mut seen = BTreeSet::new();
            for mem in &mut members {
                if let Some(u) = mem.user {
                    if !seen.insert(u) { mem.user = None; }
                }
            }
            let mut replayed: BTreeSet<u64> = BTreeSet::new();
            for put in puts {
                match plan_user_ids(&members, Some(&put)) {
                    Ok(plan) => {
                        for g in &plan.grant { proptest::prop_assert!(replayed.insert(*g)); }
                        for r in &plan.revoke { proptest::prop_assert!(replayed.remove(r)); }
                        for mem in &mut members {
                            if plan.grant.contains(&mem.member) { mem.granted = true; }
                            if plan.revoke.contains(&mem.member) { mem.granted = false; }
                        }
                        let wanted: BTreeSet<u64> = put.iter().copied().collect();
                        let read: BTreeSet<u64> = listed_user_ids(&members, true).into_iter().collect();
                        proptest::prop_assert_eq!(read, wanted);
                    }
                    Err(invalid) => {
                        proptest::prop_assert!(!invalid.is_empty());
                        proptest::prop_assert!(invalid.iter().all(|u| !seen.contains(u)));
                    }
                }
                let state: BTreeSet<u64> = members.iter().filter(|m| m.granted).map(|m| m.member).collect();
                proptest::prop_assert_eq!(&replayed, &state);
            }
        }
    }
}
