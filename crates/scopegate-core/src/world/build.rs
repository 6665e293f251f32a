//! [`World::build`]: a whole document, grouped by organization, each organization built
//! into its shard; the users and integrations beside them.

use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use super::buckets::{Buckets, BucketsMut};
use super::error::{Errors, Section};
use super::shard::{build_org, Context, OrgInput};
use super::{Ids, Integration, Org, User, World, WorldErrors};
use crate::policy::Policy;
use crate::wire::{IntegrationDoc, WorldDoc};

impl World {
    /// Builds the index, validating every reference; reports every problem, in document
    /// order.
    pub fn build(doc: &WorldDoc, policy: &Policy) -> Result<World, WorldErrors> {
        let mut err = Errors::new(false);

        // Organizations: an id given twice keeps the last row (the duplicate is reported).
        let mut inputs: Vec<OrgInput<'_>> = Vec::with_capacity(doc.organizations.len());
        let mut org_at: FxHashMap<u64, usize> = FxHashMap::default();
        let mut slugs: FxHashSet<&str> = FxHashSet::default();
        for (i, o) in doc.organizations.iter().enumerate() {
            if org_at.insert(o.id, inputs.len()).is_some() {
                err.at(
                    Section::Organizations,
                    i,
                    ".id",
                    format!("duplicate organization id {}", o.id),
                );
            }
            if !slugs.insert(&o.slug) {
                err.at(
                    Section::Organizations,
                    i,
                    ".slug",
                    format!("duplicate organization slug `{}`", o.slug),
                );
            }
            inputs.push(OrgInput::new(o));
        }

        let mut users = BucketsMut::with_capacity(doc.users.len());
        for (i, u) in doc.users.iter().enumerate() {
            let user = User {
                id: u.id,
                has_2fa: u.has_2fa,
            };
            if users.insert(u.id, user).is_some() {
                err.at(
                    Section::Users,
                    i,
                    ".id",
                    format!("duplicate user id {}", u.id),
                );
            }
        }
        let users = users.finish();

        // Every entry to its organization; ids unique across the world.
        let ids = IdsMut {
            teams: BucketsMut::with_capacity(doc.teams.len()),
            projects: BucketsMut::with_capacity(doc.projects.len()),
            members: BucketsMut::with_capacity(doc.members.len()),
        };
        let locate = |org: u64| {
            org_at
                .get(&org)
                .copied()
                .ok_or_else(|| format!("unknown organization id {org}"))
        };
        let (ids, shards) = shards(doc, inputs, locate, ids, policy, &users, &mut err);
        let integrations = integrations(
            &doc.integrations,
            |id| org_at.contains_key(&id),
            policy,
            &mut err,
        );
        err.finish(|| World::assemble(shards, users, integrations, ids))
    }

    /// A world of valid parts.
    fn assemble(
        shards: Vec<Org>,
        users: Buckets<User>,
        integrations: FxHashMap<u64, Integration>,
        ids: Ids,
    ) -> World {
        let mut w = World {
            users,
            integrations: Arc::new(integrations),
            ids,
            ..World::default()
        };
        w.org_by_slug.reserve(shards.len());
        w.org_by_id.reserve(shards.len());
        for org in shards {
            w.insert_org(Arc::new(org));
        }
        w
    }

    /// Adds the shard `org` (its id and slug unused so far).
    pub(super) fn insert_org(&mut self, org: Arc<Org>) {
        self.member_count += org.members.len();
        self.org_by_slug
            .insert(Arc::from(org.slug.as_str()), org.clone());
        self.org_by_id.insert(org.id, org);
    }
}

/// The maps of [`Ids`] being filled.
pub(super) struct IdsMut {
    pub teams: BucketsMut<u64>,
    pub projects: BucketsMut<u64>,
    pub members: BucketsMut<u64>,
}

impl IdsMut {
    pub(super) fn finish(self) -> Ids {
        Ids {
            teams: self.teams.finish(),
            projects: self.projects.finish(),
            members: self.members.finish(),
        }
    }
}

/// Groups `doc`'s entries by organization ([`group`]), checks the policy's limits and builds
/// each organization's shard, in the order of `inputs`: the part [`World::build`] and
/// [`World::patched`] share. Returns the finished id registry with the shards.
pub(super) fn shards<'d>(
    doc: &'d WorldDoc,
    mut inputs: Vec<OrgInput<'d>>,
    locate: impl Fn(u64) -> Result<usize, String>,
    mut ids: IdsMut,
    policy: &Policy,
    users: &Buckets<User>,
    err: &mut Errors,
) -> (Ids, Vec<Org>) {
    group(doc, &mut inputs, locate, &mut ids, err);
    check_policy(policy, err);
    let ids = ids.finish();
    let cx = Context {
        policy,
        users,
        ids: &ids,
    };
    let shards = inputs
        .iter()
        .map(|input| build_org(input, &cx, err))
        .collect();
    (ids, shards)
}

/// Hands every team, project, member and grant of `doc` to its organization's input
/// (`locate`: the input's index, or why there is none), recording each id's organization in
/// `ids` and reporting an id already there.
fn group<'d>(
    doc: &'d WorldDoc,
    inputs: &mut [OrgInput<'d>],
    locate: impl Fn(u64) -> Result<usize, String>,
    ids: &mut IdsMut,
    err: &mut Errors,
) {
    for (i, t) in doc.teams.iter().enumerate() {
        if let Some(k) = at(&locate, Section::Teams, i, t.organization, err) {
            if let Some(input) = inputs.get_mut(k) {
                input.teams.push((i, t));
            }
            if ids.teams.insert(t.id, t.organization).is_some() {
                err.at(
                    Section::Teams,
                    i,
                    ".id",
                    format!("duplicate team id {}", t.id),
                );
            }
        }
    }
    for (i, p) in doc.projects.iter().enumerate() {
        if let Some(k) = at(&locate, Section::Projects, i, p.organization, err) {
            if let Some(input) = inputs.get_mut(k) {
                input.projects.push((i, p));
            }
            if ids.projects.insert(p.id, p.organization).is_some() {
                err.at(
                    Section::Projects,
                    i,
                    ".id",
                    format!("duplicate project id {}", p.id),
                );
            }
        }
    }
    for (i, m) in doc.members.iter().enumerate() {
        if let Some(k) = at(&locate, Section::Members, i, m.organization, err) {
            if let Some(input) = inputs.get_mut(k) {
                input.members.push((i, m));
            }
            if ids.members.insert(m.id, m.organization).is_some() {
                err.at(
                    Section::Members,
                    i,
                    ".id",
                    format!("duplicate member id {}", m.id),
                );
            }
        }
    }
    for (i, g) in doc.granular_grants.iter().enumerate() {
        if let Some(k) = at(&locate, Section::GranularGrants, i, g.organization, err) {
            if let Some(input) = inputs.get_mut(k) {
                input.grants.push((i, g));
            }
        }
    }
}

/// The input index of organization `org` for entry `i` of `section`, or the problem.
fn at(
    locate: &impl Fn(u64) -> Result<usize, String>,
    section: Section,
    i: usize,
    org: u64,
    err: &mut Errors,
) -> Option<usize> {
    match locate(org) {
        Ok(k) => Some(k),
        Err(message) => {
            err.at(section, i, ".organization", message);
            None
        }
    }
}

/// Policy limits the index relies on.
fn check_policy(policy: &Policy, err: &mut Errors) {
    if policy.granular_resources.len() > 64 {
        err.whole(
            Section::GranularResources,
            "at most 64 granular resource kinds are supported".into(),
        );
    }
}

/// The integrations of `list`, each installed on organizations `org_exists` knows.
pub(super) fn integrations(
    list: &[IntegrationDoc],
    org_exists: impl Fn(u64) -> bool,
    policy: &Policy,
    err: &mut Errors,
) -> FxHashMap<u64, Integration> {
    let mut out = FxHashMap::default();
    for (i, it) in list.iter().enumerate() {
        let scopes = match policy
            .scopes
            .parse_set(it.scopes.iter().map(String::as_str))
        {
            Ok(s) => s,
            Err(bad) => {
                err.at(
                    Section::Integrations,
                    i,
                    ".scopes",
                    format!("unknown scope `{bad}`"),
                );
                continue;
            }
        };
        let mut installed_on = Vec::with_capacity(it.installed_on.len());
        for (j, o) in it.installed_on.iter().enumerate() {
            if org_exists(*o) {
                installed_on.push(*o);
            } else {
                err.at(
                    Section::Integrations,
                    i,
                    format_args!(".installed_on[{j}]"),
                    format!("unknown organization id {o}"),
                );
            }
        }
        installed_on.sort_unstable();
        let integration = Integration {
            id: it.id,
            scopes,
            installed_on,
        };
        if out.insert(it.id, integration).is_some() {
            err.at(
                Section::Integrations,
                i,
                ".id",
                format!("duplicate integration id {}", it.id),
            );
        }
    }
    out
}
