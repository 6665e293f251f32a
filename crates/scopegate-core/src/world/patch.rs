//! [`WorldPatch`] and [`World::patched`]: a new world that rebuilds only the organizations
//! a patch names and shares every other shard (and every untouched bucket of users) with
//! the world it starts from.

use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use super::build::{integrations, shards, IdsMut};
use super::edit::{self, IdsEdit, OrgEdit};
use super::error::{Errors, Section};
use super::shard::{Context, OrgInput};
use super::{Org, User, World, WorldErrors};
use crate::policy::Policy;
use crate::wire::{IntegrationDoc, UserDoc, WorldDoc};

/// What to change in a [`World`] ([`World::patched`]).
///
/// Applying a patch to the world's document means: drop every organization whose id is in
/// `removed_orgs` or in `orgs.organizations`, with its teams, projects, members and grants;
/// append `orgs`' organizations, teams, projects, members and grants; drop the users whose
/// id is in `removed_users` or in `users`, then append `users`; replace the integrations
/// when `integrations` is set. [`World::patched`] gives the world [`World::build`] would
/// build from that document, or the same problems (named by their place in the patch).
#[derive(Debug, Clone, Default)]
pub struct WorldPatch {
    /// Organizations to add or replace, each complete: its row and all of its teams,
    /// projects, members and granular grants (the document's `users` and `integrations`
    /// are ignored). Error paths name entries of this document (`orgs.members[3].user`).
    pub orgs: WorldDoc,
    /// Organization ids to drop (an id also in `orgs` is replaced, not dropped; an unknown
    /// id is ignored).
    pub removed_orgs: Vec<u64>,
    /// Users to add or replace.
    pub users: Vec<UserDoc>,
    /// User ids to drop (an unknown id is ignored).
    pub removed_users: Vec<u64>,
    /// When set, replaces every integration.
    pub integrations: Option<Vec<IntegrationDoc>>,
    /// Organizations of which only some members, teams or projects changed ([`OrgEdit`]):
    /// applied to their shards without rebuilding them. Error paths name entries of these
    /// (`edits[0].members[1].role`).
    pub edits: Vec<OrgEdit>,
}

impl WorldPatch {
    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.orgs.organizations.is_empty()
            && self.removed_orgs.is_empty()
            && self.users.is_empty()
            && self.removed_users.is_empty()
            && self.integrations.is_none()
            && self.edits.iter().all(OrgEdit::is_empty)
    }
}

impl World {
    /// A new world sharing every part the patch does not touch; validated like
    /// [`World::build`] (every problem reported, paths into the patch: `orgs.teams[2].slug`,
    /// `users[0].id`, `removed_users[1]`, `integrations[0].installed_on[0]`).
    ///
    /// INVARIANT (property-tested): `w.patched(p)` equals, and decides every request
    /// exactly as, [`World::build`] of the patched document ([`WorldPatch`]), and fails
    /// exactly when that build fails. `policy` is the policy `self` was built against.
    ///
    /// Cost: the organizations of the patch are built as by [`World::build`]; every other
    /// shard is shared (one pointer copy per organization for the maps of shards); the
    /// users copy only the buckets holding a changed user.
    pub fn patched(&self, patch: &WorldPatch, policy: &Policy) -> Result<World, WorldErrors> {
        let mut err = Errors::new(true);
        let doc = &patch.orgs;

        // The shards that go: every removed or replaced organization this world has.
        let gone: FxHashSet<u64> = patch
            .removed_orgs
            .iter()
            .copied()
            .chain(doc.organizations.iter().map(|o| o.id))
            .filter(|id| self.org_by_id.contains_key(id))
            .collect();
        let kept = |id: u64| self.org_by_id.contains_key(&id) && !gone.contains(&id);

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
            let clash = self
                .org_by_slug
                .get(o.slug.as_str())
                .is_some_and(|x| kept(x.id));
            if !slugs.insert(&o.slug) || clash {
                err.at(
                    Section::Organizations,
                    i,
                    ".slug",
                    format!("duplicate organization slug `{}`", o.slug),
                );
            }
            inputs.push(OrgInput::new(o));
        }

        let mut users = self.users.edit();
        for u in &patch.removed_users {
            users.remove(*u);
        }
        let mut given: FxHashSet<u64> = FxHashSet::default();
        for (i, u) in patch.users.iter().enumerate() {
            if !given.insert(u.id) {
                err.at(
                    Section::Users,
                    i,
                    ".id",
                    format!("duplicate user id {}", u.id),
                );
            }
            let user = User {
                id: u.id,
                has_2fa: u.has_2fa,
            };
            users.insert(u.id, user);
        }
        let users = users.finish();

        // Ids: the shards that go take theirs along; the patch's must be new.
        let mut teams = self.ids.teams.edit();
        let mut projects = self.ids.projects.edit();
        let mut members = self.ids.members.edit();
        for old in gone.iter().filter_map(|id| self.org_by_id.get(id)) {
            old.teams.iter().for_each(|t| _ = teams.remove(t.id));
            old.projects.iter().for_each(|p| _ = projects.remove(p.id));
            old.members.iter().for_each(|m| _ = members.remove(m.id));
        }
        let locate = |org: u64| match org_at.get(&org) {
            Some(k) => Ok(*k),
            None if kept(org) => Err(format!(
                "organization {org} is not in the patch (`orgs.organizations`): \
                 a patch gives an organization whole"
            )),
            None => Err(format!("unknown organization id {org}")),
        };
        let ids = IdsMut {
            teams,
            projects,
            members,
        };
        let (ids, shards) = shards(doc, inputs, locate, ids, policy, &users, &mut err);

        // The edits, on the shards this world keeps.
        let mut edited: FxHashMap<u64, Org> = FxHashMap::default();
        let ids = if patch.edits.is_empty() {
            ids
        } else {
            let (mut teams, mut projects, mut members) =
                (ids.teams.edit(), ids.projects.edit(), ids.members.edit());
            let cx = Context {
                policy,
                users: &users,
                ids: &ids,
            };
            for (k, e) in patch.edits.iter().enumerate() {
                let old = self.org_by_id.get(&e.org).filter(|_| kept(e.org));
                match old {
                    Some(old) if !edited.contains_key(&e.org) => {
                        let into = IdsEdit {
                            teams: &mut teams,
                            projects: &mut projects,
                            members: &mut members,
                        };
                        let org = edit::apply(old, e, k, &cx, into, &mut err);
                        edited.insert(e.org, org);
                    }
                    _ => err.at(
                        Section::Edits,
                        k,
                        ".org",
                        format!(
                            "organization {} is not one the patch keeps (unknown, removed, \
                             sent whole or edited twice)",
                            e.org
                        ),
                    ),
                }
            }
            IdsMut {
                teams,
                projects,
                members,
            }
            .finish()
        };

        // A user dropped for good must not stay a member of an organization kept as is
        // (the patch's own organizations were checked against the users above).
        for (k, u) in patch.removed_users.iter().enumerate() {
            if users.contains(*u) {
                continue;
            }
            let mut holders: Vec<&Org> = self
                .org_by_id
                .values()
                .filter(|o| kept(o.id))
                .map(|o| edited.get(&o.id).unwrap_or(&**o))
                .filter(|o| o.member_by_user.contains_key(u))
                .collect();
            holders.sort_unstable_by_key(|o| o.id);
            for o in holders {
                err.at(
                    Section::RemovedUsers,
                    k,
                    "",
                    format!(
                        "user {u} is still a member of organization `{}`, which the patch keeps",
                        o.slug
                    ),
                );
            }
        }

        let exists = |id: u64| kept(id) || org_at.contains_key(&id);
        let integrations = match &patch.integrations {
            Some(list) => Arc::new(integrations(list, exists, policy, &mut err)),
            None if patch.removed_orgs.iter().all(|o| exists(*o)) => self.integrations.clone(),
            None => {
                // An organization dropped for good must not keep an integration installed.
                let mut installed: Vec<(u64, u64)> = self
                    .integrations
                    .values()
                    .flat_map(|it| it.installed_on.iter().map(move |o| (*o, it.id)))
                    .filter(|(o, _)| !exists(*o))
                    .collect();
                installed.sort_unstable();
                for (k, o) in patch.removed_orgs.iter().enumerate() {
                    let first = patch.removed_orgs.iter().position(|x| x == o);
                    if first != Some(k) {
                        continue;
                    }
                    for (_, it) in installed.iter().filter(|(x, _)| x == o) {
                        err.at(
                            Section::RemovedOrgs,
                            k,
                            "",
                            format!("integration {it} is still installed on organization {o}"),
                        );
                    }
                }
                self.integrations.clone()
            }
        };

        err.finish(|| {
            let mut w = World {
                org_by_slug: self.org_by_slug.clone(),
                org_by_id: self.org_by_id.clone(),
                users,
                integrations,
                ids,
                member_count: self.member_count,
            };
            for id in &gone {
                if let Some(old) = w.org_by_id.remove(id) {
                    w.org_by_slug.remove(old.slug.as_str());
                    w.member_count -= old.members.len();
                }
            }
            for org in shards {
                w.insert_org(Arc::new(org));
            }
            for (id, org) in edited {
                if let Some(old) = w.org_by_id.remove(&id) {
                    w.org_by_slug.remove(old.slug.as_str());
                    w.member_count -= old.members.len();
                }
                w.insert_org(Arc::new(org));
            }
            w
        })
    }
}
