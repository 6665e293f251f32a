//! Impact replay: logged decisions decided again under a candidate policy and/or manifest,
//! and what flips (issue 18; `scopegate replay`, `docs/replay.md`).
//!
//! Every logged request is decided twice over the world of today: under the **current**
//! policy and manifest (what the service decides with now) and under the **candidate**.
//! A **flip** is a logged decision whose `allowed` the candidate answers otherwise:
//! *lost* (allowed → denied) or *gained* (denied → allowed). A flip the current pair also
//! makes today is the world's doing, not the candidate's (a member removed since, a role
//! changed): it is counted as `world_changed` and kept apart from the flips the candidate
//! causes. A request whose principal or objects (organization, project, team) are not in
//! today's world is `stale`.
//!
//! Pure: the caller reads the lines ([`line::read_line`]) and hands each one to
//! [`Replay::add`]; [`Replay::finish`] gives the [`Report`]. Lines are independent: a caller
//! may split them into runs, decide each run into its own [`Replay::fork`] (on its own
//! thread) and [`Replay::merge`] the runs back in input order; the report is the one a
//! single replay of every line in that order gives.

use std::collections::HashMap;

use serde::Serialize;

use crate::decision::{Decision, Reason};
use crate::engine::Engine;
use crate::method::Method;
use crate::request::{Principal, Request};
use crate::world::World;

pub mod line;
pub mod translate;

pub use line::{read_line, Line, LineError, LoggedDecision};
pub use translate::ScopeMap;

/// How many example decision ids a group keeps by default (the first ones seen;
/// [`Replay::with_examples`]).
pub const EXAMPLES: usize = 3;

/// Which way a decision flipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Allowed when logged, denied by the candidate.
    Lost,
    /// Denied when logged, allowed by the candidate.
    Gained,
}

impl Direction {
    /// `lost` or `gained`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Lost => "lost",
            Direction::Gained => "gained",
        }
    }

    /// The direction of a change from `before` to `after` (`None`: no flip).
    pub fn of(before: bool, after: bool) -> Option<Direction> {
        match (before, after) {
            (true, false) => Some(Direction::Lost),
            (false, true) => Some(Direction::Gained),
            _ => None,
        }
    }
}

/// The wire name of a principal's kind (`docs/wire.md` §3).
pub fn principal_kind(p: &Principal) -> &'static str {
    match p {
        Principal::Anonymous => "anonymous",
        Principal::Session { .. } => "session",
        Principal::UserToken { .. } => "user_token",
        Principal::OrgToken { .. } => "org_token",
        Principal::ApiKey { .. } => "api_key",
        Principal::Integration { .. } => "integration",
        Principal::System => "system",
    }
}

/// What of a request is missing from `world`: its principal, its objects, both, or nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Missing {
    /// The user, integration or token organization (or an org token's creator) is gone.
    pub principal: bool,
    /// The organization, project or team the request names is gone.
    pub objects: bool,
}

impl Missing {
    /// Whether anything is missing.
    pub fn any(self) -> bool {
        self.principal || self.objects
    }

    /// What of `request` is not in `world`.
    pub fn of(request: &Request, world: &World) -> Missing {
        let org_gone = |slug: &str| world.org_by_slug(slug).is_none();
        let principal = match &request.principal {
            Principal::Anonymous | Principal::System => false,
            Principal::Session { user, .. } | Principal::UserToken { user, .. } => {
                world.user(*user).is_none()
            }
            Principal::OrgToken {
                organization,
                creator,
                ..
            } => org_gone(organization) || creator.is_some_and(|u| world.user(u).is_none()),
            Principal::ApiKey { organization, .. } => org_gone(organization),
            Principal::Integration { integration } => world.integration(*integration).is_none(),
        };
        let objects = match request.organization.as_deref() {
            None => false,
            Some(slug) => match world.org_by_slug(slug) {
                None => true,
                Some(org) => {
                    request
                        .project
                        .as_deref()
                        .is_some_and(|p| world.project_by_slug(org, p).is_none())
                        || request
                            .team
                            .as_deref()
                            .is_some_and(|t| world.team_by_slug(org, t).is_none())
                }
            },
        };
        Missing { principal, objects }
    }
}

/// What groups flips: direction, endpoint and method, principal kind, old and new reason.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKey {
    /// Lost or gained.
    pub direction: Direction,
    /// The endpoint name.
    pub endpoint: String,
    /// The method.
    pub method: Method,
    /// The principal's kind ([`principal_kind`]).
    pub principal_kind: &'static str,
    /// The logged reason.
    pub old_reason: Reason,
    /// The candidate's reason.
    pub new_reason: Reason,
}

/// The flips of one [`GroupKey`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// `lost` or `gained`.
    pub direction: Direction,
    /// The endpoint name.
    pub endpoint: String,
    /// The method.
    pub method: &'static str,
    /// The principal's kind.
    pub principal_kind: &'static str,
    /// The logged reason's code.
    pub old_reason: &'static str,
    /// The candidate's reason's code.
    pub new_reason: &'static str,
    /// How many logged decisions flipped so.
    pub count: u64,
    /// Of them, how many the current policy and manifest also flip today (the world
    /// changed since; not the candidate's doing).
    pub world_changed: u64,
    /// Of them, how many name a principal or objects missing from today's world.
    pub stale: u64,
    /// The earliest `timestamp` among them.
    pub first_seen: String,
    /// The latest.
    pub last_seen: String,
    /// The ids of the first ones seen ([`EXAMPLES`] unless [`Replay::with_examples`]).
    pub examples: Vec<String>,
}

impl Group {
    /// The flips the candidate causes: `count - world_changed`.
    pub fn caused(&self) -> u64 {
        self.count - self.world_changed
    }

    /// Adds `later`'s flips (of the same key, seen after this group's) to this group's,
    /// keeping at most `examples` example ids, the earliest in input order.
    fn merge(&mut self, later: Group, examples: usize) {
        self.count += later.count;
        self.world_changed += later.world_changed;
        self.stale += later.stale;
        if later.first_seen < self.first_seen {
            self.first_seen = later.first_seen;
        }
        if later.last_seen > self.last_seen {
            self.last_seen = later.last_seen;
        }
        let room = examples.saturating_sub(self.examples.len());
        self.examples.extend(later.examples.into_iter().take(room));
    }
}

/// The totals of a replay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Decisions replayed.
    pub replayed: u64,
    /// Of them, decided alike (allowed or denied) by the candidate.
    pub unchanged: u64,
    /// Allowed → denied.
    pub lost: u64,
    /// Denied → allowed.
    pub gained: u64,
    /// Lost flips the candidate causes (the current pair keeps them allowed today).
    pub lost_caused: u64,
    /// Gained flips the candidate causes.
    pub gained_caused: u64,
    /// Decisions still denied (or allowed) but for another reason.
    pub reason_changed: u64,
    /// Decisions the current pair decides otherwise today than the log says (the world
    /// changed since, or the log was written under another policy or manifest).
    pub drifted: u64,
    /// Decisions naming a principal or objects missing from today's world.
    pub stale: u64,
    /// Of them, a missing principal.
    pub stale_principal: u64,
    /// Of them, missing objects.
    pub stale_objects: u64,
    /// Requests holding a scope the candidate policy does not declare (dropped from the
    /// request before deciding).
    pub scopes_dropped: u64,
    /// Decisions logged under another policy version than the current pair's.
    pub other_policy_version: u64,
}

impl Totals {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &Totals) {
        // Destructured: a new field cannot be forgotten here.
        let Totals {
            replayed,
            unchanged,
            lost,
            gained,
            lost_caused,
            gained_caused,
            reason_changed,
            drifted,
            stale,
            stale_principal,
            stale_objects,
            scopes_dropped,
            other_policy_version,
        } = other;
        self.replayed += replayed;
        self.unchanged += unchanged;
        self.lost += lost;
        self.gained += gained;
        self.lost_caused += lost_caused;
        self.gained_caused += gained_caused;
        self.reason_changed += reason_changed;
        self.drifted += drifted;
        self.stale += stale;
        self.stale_principal += stale_principal;
        self.stale_objects += stale_objects;
        self.scopes_dropped += scopes_dropped;
        self.other_policy_version += other_policy_version;
    }
}

/// The result of a replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The totals.
    pub totals: Totals,
    /// Every group of flips: lost before gained, then by endpoint, method, principal kind
    /// and reasons.
    pub groups: Vec<Group>,
}

/// A replay in progress.
#[derive(Debug)]
pub struct Replay<'a> {
    current: Engine<'a>,
    candidate: Engine<'a>,
    /// The log's scopes (the current policy's) into the candidate's.
    scopes: ScopeMap,
    /// The current pair's policy version: lines under another one are counted.
    current_version: String,
    examples: usize,
    totals: Totals,
    groups: HashMap<GroupKey, Group>,
}

impl<'a> Replay<'a> {
    /// A replay deciding under `candidate` the requests logged under `current`
    /// (whose policy version is `current_version`); both engines over today's world.
    pub fn new(current: Engine<'a>, candidate: Engine<'a>, current_version: &str) -> Replay<'a> {
        Replay {
            scopes: ScopeMap::between(current.policy, candidate.policy),
            current,
            candidate,
            current_version: current_version.to_string(),
            examples: EXAMPLES,
            totals: Totals::default(),
            groups: HashMap::new(),
        }
    }

    /// Keeps the ids of the first `n` flips of each group (default [`EXAMPLES`]).
    #[must_use]
    pub fn with_examples(mut self, n: usize) -> Replay<'a> {
        self.examples = n;
        self
    }

    /// An empty replay over the same engines and settings: a run of lines decided apart
    /// (on another thread), to [`Replay::merge`] back.
    pub fn fork(&self) -> Replay<'a> {
        Replay {
            current: self.current,
            candidate: self.candidate,
            scopes: self.scopes.clone(),
            current_version: self.current_version.clone(),
            examples: self.examples,
            totals: Totals::default(),
            groups: HashMap::new(),
        }
    }

    /// Adds `later` (a [`Replay::fork`] of this replay that decided the lines following
    /// this one's) to this replay: counts added, first and last seen widened, example ids
    /// the earliest in input order. Merging the runs of a split log in order gives the
    /// report of one replay of the whole log.
    pub fn merge(&mut self, later: Replay<'a>) {
        self.totals.add(&later.totals);
        for (key, group) in later.groups {
            match self.groups.get_mut(&key) {
                Some(mine) => mine.merge(group, self.examples),
                None => {
                    self.groups.insert(key, group);
                }
            }
        }
    }

    /// Decides `logged` again under both pairs and counts it.
    pub fn add(&mut self, logged: LoggedDecision<'_>) {
        let t = &mut self.totals;
        t.replayed += 1;
        if *logged.policy_version != *self.current_version {
            t.other_policy_version += 1;
        }
        let now: Decision = self.current.decide(&logged.request);
        let missing = Missing::of(&logged.request, self.current.world);
        if missing.any() {
            t.stale += 1;
            t.stale_principal += u64::from(missing.principal);
            t.stale_objects += u64::from(missing.objects);
        }
        if now.allowed() != logged.allowed {
            t.drifted += 1;
        }
        let LoggedDecision {
            decision_id,
            timestamp,
            request,
            allowed,
            reason,
            ..
        } = logged;
        let (request, dropped) = self.scopes.request(request);
        t.scopes_dropped += u64::from(dropped);
        let new = self.candidate.decide(&request);
        let Some(direction) = Direction::of(allowed, new.allowed()) else {
            t.unchanged += 1;
            if new.reason != reason {
                t.reason_changed += 1;
            }
            return;
        };
        let world_changed = now.allowed() == new.allowed();
        match direction {
            Direction::Lost => {
                t.lost += 1;
                t.lost_caused += u64::from(!world_changed);
            }
            Direction::Gained => {
                t.gained += 1;
                t.gained_caused += u64::from(!world_changed);
            }
        }
        let key = GroupKey {
            direction,
            endpoint: request.endpoint,
            method: request.method,
            principal_kind: principal_kind(&request.principal),
            old_reason: reason,
            new_reason: new.reason,
        };
        let group = self.groups.entry(key).or_insert_with_key(|k| Group {
            direction: k.direction,
            endpoint: k.endpoint.clone(),
            method: k.method.as_str(),
            principal_kind: k.principal_kind,
            old_reason: k.old_reason.as_str(),
            new_reason: k.new_reason.as_str(),
            count: 0,
            world_changed: 0,
            stale: 0,
            first_seen: timestamp.to_string(),
            last_seen: timestamp.to_string(),
            examples: Vec::new(),
        });
        group.count += 1;
        group.world_changed += u64::from(world_changed);
        group.stale += u64::from(missing.any());
        if *timestamp < *group.first_seen {
            group.first_seen = timestamp.to_string();
        }
        if *timestamp > *group.last_seen {
            group.last_seen = timestamp.to_string();
        }
        if group.examples.len() < self.examples {
            group.examples.push(decision_id.into_owned());
        }
    }

    /// The report.
    pub fn finish(self) -> Report {
        let mut keyed: Vec<(GroupKey, Group)> = self.groups.into_iter().collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        Report {
            totals: self.totals,
            groups: keyed.into_iter().map(|(_, g)| g).collect(),
        }
    }
}
