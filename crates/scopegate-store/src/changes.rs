//! Revisions and the change log: what each committed write changed, and the one-snapshot read
//! that brings an index up to date ([`Store::catch_up`](crate::Store::catch_up)).
//!
//! Every write transaction that changes what the decision index reads ends with one bump of
//! the database-wide revision (`store_revision`, one row) and one row of `store_changes`
//! naming what it [`Touched`]; on PostgreSQL the bump's row lock is held to the commit, so
//! revisions are in commit order, and the same transaction notifies
//! [`CHANGE_CHANNEL`](crate::CHANGE_CHANNEL) with `{"revision":N,"orgs":[…],…}` (delivered at
//! commit, only then). The log is pruned: rows older than [`CHANGE_RETENTION_SECS`] or more
//! than [`CHANGE_RETENTION_ROWS`] revisions behind are deleted, and an index further behind
//! than the log reaches is given everything ([`CatchUp::Full`]).

use std::collections::{BTreeMap, BTreeSet};

use scopegate_core::wire::{IntegrationDoc, UserDoc};
use scopegate_core::world::OrgEdit;
use scopegate_core::WorldDoc;
use serde::{Deserialize, Serialize};

use crate::Token;

/// How many revisions the change log keeps at least reaching back (older rows are pruned).
pub const CHANGE_RETENTION_ROWS: i64 = 100_000;

/// How long (seconds) a row of the change log is kept at most.
pub const CHANGE_RETENTION_SECS: i64 = 24 * 60 * 60;

/// What one committed write changed, recorded in its transaction (a row of `store_changes`),
/// or the union of several ([`Touched::merge`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Touched {
    /// Organizations whose row, members, teams, projects, grants or tokens changed (their
    /// whole part of the index is re-read).
    pub orgs: BTreeSet<i64>,
    /// Organizations (not in `orgs`) of which only some rows changed, by id: only those rows
    /// are re-read and patched into the organization's part of the index ([`OrgParts`]).
    /// An organization with no parts changed nothing the index reads (a rename): its write
    /// still has a revision.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub parts: BTreeMap<i64, OrgParts>,
    /// Users whose row changed.
    pub users: BTreeSet<i64>,
    /// Tokens created, changed or deleted.
    pub tokens: BTreeSet<i64>,
    /// Whether any integration or installation changed (they are re-read all).
    pub integrations: bool,
    /// Whether everything may have changed (an import): the whole world is re-read.
    pub everything: bool,
}

impl Touched {
    /// Whether nothing was touched (the write changed nothing the index reads).
    pub fn is_empty(&self) -> bool {
        self.orgs.is_empty()
            && self.parts.is_empty()
            && self.users.is_empty()
            && self.tokens.is_empty()
            && !self.integrations
            && !self.everything
    }

    /// Adds what `other` touched (an organization touched whole keeps no parts).
    pub fn merge(&mut self, other: Touched) {
        self.orgs.extend(other.orgs);
        for (org, parts) in other.parts {
            let mine = self.parts.entry(org).or_default();
            mine.members.extend(parts.members);
            mine.teams.extend(parts.teams);
            mine.projects.extend(parts.projects);
        }
        self.settle();
        self.users.extend(other.users);
        self.tokens.extend(other.tokens);
        self.integrations |= other.integrations;
        self.everything |= other.everything;
    }

    /// Drops the parts of the organizations touched whole.
    pub(crate) fn settle(&mut self) {
        let whole = &self.orgs;
        self.parts.retain(|org, _| !whole.contains(org));
    }
}

/// The rows of one organization a write changed (created, edited or deleted), when the
/// rest of the organization is as it was ([`Touched::parts`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrgParts {
    /// Members (with their team memberships and member grants).
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub members: BTreeSet<i64>,
    /// Teams created or renamed (a deleted team touches its organization whole).
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub teams: BTreeSet<i64>,
    /// Projects (with their teams).
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub projects: BTreeSet<i64>,
}

impl OrgParts {
    /// Whether no part is named: the organization changed in nothing the index reads
    /// (a rename; the write still has its revision).
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.teams.is_empty() && self.projects.is_empty()
    }
}

/// One read snapshot for the index ([`Store::catch_up`](crate::Store::catch_up)): either
/// everything, or the parts named by the changes committed after the index's revision.
#[derive(Debug, Clone)]
pub enum CatchUp {
    /// Everything as of `revision`: the world as [`Store::full_world`](crate::Store::full_world)
    /// exports it and every token, as [`Store::all_tokens`](crate::Store::all_tokens).
    Full {
        /// The revision the snapshot is at.
        revision: u64,
        /// The whole world.
        world: WorldDoc,
        /// Every token, by id.
        tokens: Vec<Token>,
    },
    /// What changed after the index's revision, as of `revision`.
    Partial {
        /// The revision the snapshot is at (equal to the one asked for when nothing changed).
        revision: u64,
        /// The union of what the changes after the asked revision touched.
        touched: Touched,
        /// The touched organizations that still exist (and are not pending deletion), each
        /// complete, as [`Store::full_world`](crate::Store::full_world) exports it; a touched
        /// organization missing here is gone. Its `users` and `integrations` are those the
        /// organizations reference and may be ignored.
        orgs: WorldDoc,
        /// The touched users that still exist; a touched user missing here is gone.
        users: Vec<UserDoc>,
        /// The tokens that still exist among the touched ones and those of the touched
        /// organizations (a token's principal carries its organization's slug), by id.
        tokens: Vec<Token>,
        /// Every integration (installations on pending organizations left out), when any was
        /// touched.
        integrations: Option<Vec<IntegrationDoc>>,
        /// The organizations of `touched.parts` (that still exist and are not pending
        /// deletion: the others are read whole, in `orgs`), each with its touched rows as
        /// they are now and the ids of those that are gone.
        edits: Vec<OrgEdit>,
    },
}

impl CatchUp {
    /// The revision the snapshot is at.
    pub fn revision(&self) -> u64 {
        match self {
            CatchUp::Full { revision, .. } | CatchUp::Partial { revision, .. } => *revision,
        }
    }
}

/// The notification payload of a committed change on PostgreSQL is `{"revision":N` (written
/// by `scopegate_record_change`, in the transaction) followed by this tail: what the write
/// touched (`,"orgs":[…],…}`, from `touched`, the change's JSON object), or `}` alone when
/// that would not fit NOTIFY's payload limit.
pub(crate) fn notify_tail(touched: &str) -> String {
    match touched.strip_prefix('{') {
        Some("}") | None => "}".to_string(),
        Some(_) if touched.len() > 7_000 => "}".to_string(),
        Some(fields) => format!(",{fields}"),
    }
}

/// The revision named by a notification payload ([`notify_payload`]), if it names one.
pub(crate) fn payload_revision(payload: &str) -> Option<u64> {
    #[derive(Deserialize)]
    struct Payload {
        revision: u64,
    }
    serde_json::from_str::<Payload>(payload)
        .ok()
        .map(|p| p.revision)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_names_the_revision_and_what_was_touched() {
        let mut t = Touched::default();
        t.orgs.insert(3);
        t.integrations = true;
        // As `scopegate_record_change` writes it.
        let payload = |revision: i64, t: &Touched| {
            let text = serde_json::to_string(t).unwrap_or_default();
            format!("{{\"revision\":{revision}{}", notify_tail(&text))
        };
        assert_eq!(payload_revision(&payload(6, &Touched::default())), Some(6));
        assert_eq!(notify_tail("{}"), "}");
        let p = payload(7, &t);
        assert!(p.starts_with("{\"revision\":7,\"orgs\":[3]"), "{p}");
        assert!(serde_json::from_str::<serde_json::Value>(&p).is_ok(), "{p}");
        assert_eq!(payload_revision(&p), Some(7));
        t.tokens.extend(0..2_000);
        assert_eq!(payload(8, &t), "{\"revision\":8}");
        assert_eq!(payload_revision("users"), None);
    }

    #[test]
    fn an_organization_touched_whole_keeps_no_parts() {
        let mut a = Touched::default();
        a.parts.entry(1).or_default().members.insert(10);
        a.parts.entry(2).or_default().teams.insert(20);
        assert!(!a.is_empty());
        let text = serde_json::to_string(&a).unwrap_or_default();
        assert_eq!(
            text,
            r#"{"orgs":[],"parts":{"1":{"members":[10]},"2":{"teams":[20]}},"users":[],"tokens":[],"integrations":false,"everything":false}"#
        );
        assert_eq!(
            serde_json::from_str::<Touched>(&text).ok().as_ref(),
            Some(&a)
        );
        let mut b = Touched::default();
        b.orgs.insert(1);
        b.parts.entry(2).or_default().members.insert(21);
        a.merge(b);
        assert_eq!(a.parts.keys().copied().collect::<Vec<_>>(), vec![2]);
        let two = a.parts.get(&2).cloned().unwrap_or_default();
        assert_eq!((two.members.len(), two.teams.len()), (1, 1));
        // A change logged before the field existed reads as no parts.
        let old: Touched = serde_json::from_str(r#"{"orgs":[3]}"#).unwrap_or_default();
        assert!(old.parts.is_empty() && old.orgs.contains(&3));
    }

    #[test]
    fn merge_is_a_union() {
        let mut a = Touched::default();
        assert!(a.is_empty());
        a.orgs.insert(1);
        let mut b = Touched::default();
        b.orgs.insert(2);
        b.everything = true;
        a.merge(b);
        assert_eq!(a.orgs.iter().copied().collect::<Vec<_>>(), vec![1, 2]);
        assert!(a.everything && !a.is_empty());
    }
}
