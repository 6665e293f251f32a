//! Granular allowlist edits (docs/sentry-model.md §5.4–§5.8), as pure functions.
//!
//! Every granular edit is planned here — member grants, team grants, the toggle, and the
//! audit entries each of them writes — and the store only applies a plan in bulk. Whatever
//! changes a grant (an organization edit, or deleting a member or a team) names the holder
//! the same way in the audit log: [`Holder::target`] (`member:<id>`, `team:<id>`), with the
//! holder's id under `memberId` / `teamId` in the entry's data.
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

use serde_json::{json, Value};

use crate::world::truthy;

/// What holds a granular grant besides its organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// An organization member (a direct grant).
    Member,
    /// A team: every member on it holds the grant.
    Team,
}

impl Holder {
    /// The audit target naming the holder: `member:<id>` or `team:<id>` (Sentry's
    /// `target_object` is the object's id, never its slug).
    pub fn target(self, id: u64) -> String {
        match self {
            Holder::Member => format!("member:{id}"),
            Holder::Team => format!("team:{id}"),
        }
    }

    /// The key of the holder's id in a grant entry's data.
    fn id_field(self) -> &'static str {
        match self {
            Holder::Member => "memberId",
            Holder::Team => "teamId",
        }
    }

    /// The audit event of the holder's removal from the organization.
    pub fn remove_event(self) -> &'static str {
        match self {
            Holder::Member => "member.remove",
            Holder::Team => "team.remove",
        }
    }
}

/// One audit-log entry that a granular edit writes, in the transaction of the edit.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// The event (`granular.grant`, `granular.revoke`, `granular.toggle`).
    pub event: &'static str,
    /// What the entry is about ([`Holder::target`], or `granular:<kind>` for the toggle).
    pub target: String,
    /// The entry's data.
    pub data: Value,
}

impl AuditEntry {
    /// `granular.grant` of `kind` to the holder `id`.
    pub fn grant(kind: &str, holder: Holder, id: u64) -> AuditEntry {
        AuditEntry::grant_change("granular.grant", kind, holder, id)
    }

    /// `granular.revoke` of `kind` from the holder `id` (also written when deleting the
    /// holder drops its grants, so that replaying the log still yields the allowlists).
    pub fn revoke(kind: &str, holder: Holder, id: u64) -> AuditEntry {
        AuditEntry::grant_change("granular.revoke", kind, holder, id)
    }

    fn grant_change(event: &'static str, kind: &str, holder: Holder, id: u64) -> AuditEntry {
        AuditEntry {
            event,
            target: holder.target(id),
            data: json!({"kind": kind, holder.id_field(): id}),
        }
    }

    /// `granular.toggle` of `kind` from `from` to `to`.
    pub fn toggle(kind: &str, from: bool, to: bool) -> AuditEntry {
        AuditEntry {
            event: "granular.toggle",
            target: format!("granular:{kind}"),
            data: json!({"kind": kind, "from": from, "to": to}),
        }
    }
}

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

/// What an edit of one holder list changes: holder ids to grant and to revoke, both sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Whose grants these are.
    pub holder: Holder,
    /// Holders to grant.
    pub grant: Vec<u64>,
    /// Holders to revoke.
    pub revoke: Vec<u64>,
    /// The size of the submitted list (distinct entries): Sentry's "total" in the audit text.
    pub submitted: usize,
}

impl Plan {
    /// Whether the edit changes nothing.
    pub fn is_noop(&self) -> bool {
        self.grant.is_empty() && self.revoke.is_empty()
    }

    /// The audit entries of the edit of `kind`: one `granular.grant` per grant, then one
    /// `granular.revoke` per revocation, each in id order.
    pub fn entries(&self, kind: &str) -> Vec<AuditEntry> {
        let grants = self
            .grant
            .iter()
            .map(|id| AuditEntry::grant(kind, self.holder, *id));
        let revokes = self
            .revoke
            .iter()
            .map(|id| AuditEntry::revoke(kind, self.holder, *id));
        grants.chain(revokes).collect()
    }

    /// The org-edit audit text of a member edit, as Sentry writes it:
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
        holder: Holder::Member,
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
        holder: Holder::Member,
        grant: grant.collect::<BTreeSet<_>>().into_iter().collect(),
        revoke: revoke.collect::<BTreeSet<_>>().into_iter().collect(),
        submitted: wanted.len(),
    })
}

/// A team as the planner sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TeamRef<'a> {
    /// The team's id.
    pub id: u64,
    /// The team's slug (what the edit names).
    pub slug: &'a str,
    /// The team holds a grant for the resource kind.
    pub granted: bool,
}

/// Plans a full replacement of the team allowlist by slugs (the generic granular-access
/// route's `teams`).
///
/// Errors with the sorted, distinct slugs that are not teams of the organization.
pub fn plan_team_slugs(teams: &[TeamRef<'_>], slugs: &[String]) -> Result<Plan, Vec<String>> {
    let wanted: BTreeSet<&str> = slugs.iter().map(String::as_str).collect();
    let unknown: Vec<String> = wanted
        .iter()
        .filter(|s| !teams.iter().any(|t| t.slug == **s))
        .map(|s| (*s).to_string())
        .collect();
    if !unknown.is_empty() {
        return Err(unknown);
    }
    let ids = |want: bool| -> Vec<u64> {
        let set: BTreeSet<u64> = teams
            .iter()
            .filter(|t| t.granted != want && wanted.contains(t.slug) == want)
            .map(|t| t.id)
            .collect();
        set.into_iter().collect()
    };
    Ok(Plan {
        holder: Holder::Team,
        grant: ids(true),
        revoke: ids(false),
        submitted: wanted.len(),
    })
}

/// What setting a kind's toggle changes.
#[derive(Debug, Clone, PartialEq)]
pub struct TogglePlan {
    /// The value to store in the toggle's option.
    pub value: bool,
    /// The org-edit audit text ([`toggle_summary`]); `None` when there is none.
    pub summary: Option<String>,
    /// The `granular.toggle` entry, when the effective value changes.
    pub entry: Option<AuditEntry>,
}

/// Plans setting the toggle of `kind` to `new`, given the option's stored value (`None` when
/// the option does not exist). The stored value is read with Python truthiness, as every
/// other reader of options does ([`truthy`]): a stored `1` or `"yes"` is on.
pub fn plan_toggle(kind: &str, stored: Option<&Value>, new: bool) -> TogglePlan {
    let old = stored.map(truthy);
    let was = old.unwrap_or(false);
    TogglePlan {
        value: new,
        summary: toggle_summary(old, new),
        entry: (was != new).then(|| AuditEntry::toggle(kind, was, new)),
    }
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
mod tests;
