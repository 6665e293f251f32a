//! The writers of the write-path benchmark (`bench/writes.sh`, BENCHMARKS.md "Write path"):
//! one pending **owner** invite per chosen organization, added to a generated world before
//! it is imported, so that a user created afterwards with the invite's placeholder email
//! (`scopegate user create invite-{member id}@import.invalid`) can accept it through the API
//! and then write to that organization as its owner. World import keeps every id and gives a
//! pending invite exactly that email (scopegate-store's `import` module), and nothing else
//! in the CLI creates a credential for a member of an imported organization.

use std::collections::HashSet;

use scopegate_core::wire::{MemberDoc, MemberFlagsDoc};
use scopegate_core::WorldDoc;

/// How many users of its organization a writer lists for granular replay PUTs: two
/// overlapping lists of ten (`users[0..10]` and `users[1..11]`) alternate, so every PUT
/// changes the allowlist and `users[0]` gains and loses access in turn.
pub const GRANULAR_USERS: usize = 11;

/// One writer: a pending owner invite in one organization, and what its writes need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Writer {
    /// The organization's id.
    pub org: u64,
    /// The organization's slug.
    pub slug: String,
    /// Members of the organization (the invite not counted).
    pub members: usize,
    /// The invite's member id.
    pub member: u64,
    /// The email the accepting user must have (import's placeholder for an invite).
    pub email: String,
    /// Up to [`GRANULAR_USERS`] user ids of members of the organization, ascending;
    /// members with the role `member`, not over the member limit and on no team holding a
    /// replay grant come first, so that `users[0]`'s replay access follows its own grant.
    pub users: Vec<u64>,
}

impl Writer {
    /// The writer as one JSON object (`writers.json` of `scopegate-bench --dump`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "org": self.org,
            "slug": self.slug,
            "members": self.members,
            "member": self.member,
            "email": self.email,
            "users": self.users,
        })
    }
}

/// The indexes of `n` organizations out of `orgs`, spread evenly from the first (the
/// largest, as the world's sizes are Zipf-like): `i * orgs / n`. Organization `n / 2` of
/// them sits at the middle of the size ranking.
pub fn spread(orgs: usize, n: usize) -> Vec<usize> {
    let n = n.min(orgs);
    (0..n).map(|i| i * orgs / n).collect()
}

/// Adds a pending owner invite to each organization of `spread(organizations, n)` (member
/// ids after the largest in `doc`) and returns the writers, in that order.
pub fn add_writers(doc: &mut WorldDoc, n: usize) -> Vec<Writer> {
    let mut next_member = doc.members.iter().map(|m| m.id).max().unwrap_or(0) + 1;
    let mut writers = Vec::new();
    for i in spread(doc.organizations.len(), n) {
        let Some(org) = doc.organizations.get(i) else {
            continue;
        };
        let (org_id, slug) = (org.id, org.slug.clone());
        let granted_teams: HashSet<u64> = doc
            .granular_grants
            .iter()
            .filter(|g| g.organization == org_id)
            .filter_map(|g| g.team)
            .collect();
        let mut plain = Vec::new();
        let mut others = Vec::new();
        let mut members = 0usize;
        for m in doc.members.iter().filter(|m| m.organization == org_id) {
            members += 1;
            let Some(user) = m.user else { continue };
            let is_plain = m.role == "member"
                && !m.flags.member_limit_restricted
                && !m.teams.iter().any(|t| granted_teams.contains(&t.team));
            if is_plain {
                plain.push(user);
            } else {
                others.push(user);
            }
        }
        plain.sort_unstable();
        others.sort_unstable();
        let users: Vec<u64> = plain
            .into_iter()
            .chain(others)
            .take(GRANULAR_USERS)
            .collect();
        let member = next_member;
        next_member += 1;
        doc.members.push(MemberDoc {
            id: member,
            organization: org_id,
            user: None,
            role: "owner".into(),
            teams: Vec::new(),
            flags: MemberFlagsDoc {
                member_limit_restricted: false,
                sso_linked: true,
            },
        });
        writers.push(Writer {
            org: org_id,
            slug,
            members,
            member,
            email: format!("invite-{member}@import.invalid"),
            users,
        });
    }
    writers
}
