//! Unit tests of the granular planner.

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

fn t(id: u64, slug: &str, granted: bool) -> TeamRef<'_> {
    TeamRef { id, slug, granted }
}

#[test]
fn team_replacement_grants_and_revokes_by_id_with_id_targets() {
    let teams = [
        t(7, "backend", true),
        t(3, "frontend", false),
        t(9, "ops", false),
    ];
    let plan = plan_team_slugs(&teams, &["ops".into(), "frontend".into(), "ops".into()]).unwrap();
    assert_eq!(
        (plan.grant.as_slice(), plan.revoke.as_slice()),
        (&[3, 9][..], &[7][..])
    );
    let entries = plan.entries("replay");
    let seen: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e.event, e.target.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("granular.grant", "team:3"),
            ("granular.grant", "team:9"),
            ("granular.revoke", "team:7")
        ]
    );
    assert_eq!(
        entries[2].data,
        serde_json::json!({"kind": "replay", "teamId": 7})
    );
    // Deleting the team writes the same revoke entry as an edit that drops it.
    assert_eq!(AuditEntry::revoke("replay", Holder::Team, 7), entries[2]);
    assert!(plan_team_slugs(&teams, &["backend".into()])
        .unwrap()
        .is_noop());
}

#[test]
fn unknown_team_slugs_are_rejected_sorted_and_distinct() {
    let teams = [t(1, "backend", false)];
    let slugs = [
        "nope".to_string(),
        "backend".into(),
        "also-nope".into(),
        "nope".into(),
    ];
    assert_eq!(
        plan_team_slugs(&teams, &slugs),
        Err(vec!["also-nope".to_string(), "nope".to_string()])
    );
}

#[test]
fn member_entries_name_the_member_id() {
    let members = [m(1, Some(10), true), m(2, Some(20), false)];
    let plan = plan_user_ids(&members, Some(&[20])).unwrap();
    let entries = plan.entries("replay");
    assert_eq!(entries[0], AuditEntry::grant("replay", Holder::Member, 2));
    assert_eq!(entries[0].target, "member:2");
    assert_eq!(
        entries[0].data,
        serde_json::json!({"kind": "replay", "memberId": 2})
    );
    assert_eq!(entries[1].event, "granular.revoke");
    assert_eq!(entries[1].target, "member:1");
}

#[test]
fn the_old_toggle_value_is_read_with_python_truthiness() {
    use serde_json::json;
    // A stored 1 / "yes" is on, as the engine and the server read it: no change, no entry.
    for on in [json!(true), json!(1), json!("yes"), json!([0])] {
        let plan = plan_toggle("replay", Some(&on), true);
        assert_eq!((plan.summary, plan.entry), (None, None), "{on}");
    }
    for off in [json!(false), json!(0), json!(""), json!(null), json!({})] {
        let plan = plan_toggle("replay", Some(&off), true);
        assert_eq!(plan.summary.as_deref(), Some("from False to True"), "{off}");
        assert_eq!(plan.entry, Some(AuditEntry::toggle("replay", false, true)));
    }
    // A stored 1 switched off: "from True to False", one entry.
    let plan = plan_toggle("replay", Some(&json!(1)), false);
    assert_eq!(plan.summary.as_deref(), Some("from True to False"));
    assert_eq!(
        plan.entry.map(|e| (e.target, e.data)),
        Some((
            "granular:replay".to_string(),
            json!({"kind": "replay", "from": true, "to": false})
        ))
    );
    // No option yet: Sentry's "to False" text, but nothing effective changed.
    let plan = plan_toggle("replay", None, false);
    assert_eq!(plan.summary.as_deref(), Some("to False"));
    assert_eq!(plan.entry, None);
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
