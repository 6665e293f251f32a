//! The writers of the write-path benchmark (`scopegate-bench --dump DIR --writers N`): a
//! pending owner invite in each chosen organization, and users fit for granular PUTs.

use std::collections::HashSet;

use scopegate_bench::world::writers::{add_writers, spread, GRANULAR_USERS};
use scopegate_bench::world::{world, Size};
use scopegate_core::{Policy, World};

#[test]
fn scaled_size_of_the_bench_proportions_is_the_bench_size() {
    assert_eq!(Size::scaled(1_000, 100_000), Size::BENCH);
    let big = Size::scaled(10_000, 1_000_000);
    assert_eq!((big.teams, big.projects), (100_000, 200_000));
}

#[test]
fn spread_starts_at_the_largest_and_puts_the_middle_at_half() {
    let s = spread(1_000, 32);
    assert_eq!(s.len(), 32);
    assert_eq!(s.first(), Some(&0));
    assert_eq!(s.get(16), Some(&500));
    assert_eq!(s.iter().collect::<HashSet<_>>().len(), 32, "{s:?}");
    assert_eq!(
        spread(3, 8),
        vec![0, 1, 2],
        "never more writers than organizations"
    );
}

#[test]
fn each_writer_is_a_pending_owner_invite_in_its_own_organization() {
    let mut doc = world(Size::TEST, 1);
    let before = doc.members.len();
    let writers = add_writers(&mut doc, 4);
    assert_eq!(writers.len(), 4);
    assert_eq!(doc.members.len(), before + 4);
    assert_eq!(writers.first().map(|w| w.slug.as_str()), Some("org-0"));
    let orgs: HashSet<u64> = writers.iter().map(|w| w.org).collect();
    assert_eq!(orgs.len(), 4, "one writer per organization");
    for w in &writers {
        let invite: Vec<_> = doc.members.iter().filter(|m| m.id == w.member).collect();
        assert_eq!(invite.len(), 1, "member ids stay unique");
        let m = invite[0];
        assert_eq!(
            (m.organization, m.user, m.role.as_str()),
            (w.org, None, "owner")
        );
        assert_eq!(w.email, format!("invite-{}@import.invalid", w.member));
        let in_org: HashSet<u64> = doc
            .members
            .iter()
            .filter(|m| m.organization == w.org)
            .filter_map(|m| m.user)
            .collect();
        assert!(!w.users.is_empty() && w.users.len() <= GRANULAR_USERS);
        assert!(w.users.iter().all(|u| in_org.contains(u)), "{w:?}");
        assert_eq!(
            w.members + 1,
            doc.members
                .iter()
                .filter(|m| m.organization == w.org)
                .count()
        );
    }
    // The largest organization's first user is a plain member: its replay access follows
    // its own grant.
    let first = &writers[0];
    let user = first.users[0];
    let m = doc
        .members
        .iter()
        .find(|m| m.organization == first.org && m.user == Some(user))
        .expect("a member");
    assert_eq!(m.role, "member");
    assert!(!m.flags.member_limit_restricted);
    // The document with the invites is still a valid world.
    World::build(&doc, &Policy::sentry()).expect("the world with writers builds");
}
