//! The model in Cedar (cedar-policy crate), over every organization.
//!
//! Entities: `Org` (replay state, team roles' scopes after the organization's option
//! trimming), `Role` (one per organization and org role: its scopes after trimming), `Team`
//! and `Project` (ids `<org>/<slug>`; a project's parents are its owning teams), and
//! `Member` (id `<org>/<user>`, parent its `Org`: the user acting in that organization; its
//! `Role`, global reach, restricted flag, replay listing, teams, and teams per effective team
//! role). A user who is not a member of the organization called has no `Member` entity, so
//! `principal in resource.org` is false. Actions are `"<METHOD> <endpoint>"` whose parents
//! are the action groups `scope:<s>` for every scope `s` of the scope map and
//! `granular:replay` for replay-guarded endpoints.
//!
//! Policies, one per scope (Cedar has no set intersection): the role path (on the
//! organization, or on a reachable project of it), the team-role path per team role, each
//! bounded by the token's scopes from the context; `forbid` for restricted members and for
//! the replay allowlist.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::str::FromStr;

use anyhow::Context as _;
use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid,
    PolicySet, Request, RestrictedExpression,
};
use serde_json::{json, Value};

use crate::facts::{Facts, Object, PeerRequest};

/// Cedar's view of the model.
pub struct CedarModel {
    authorizer: Authorizer,
    policies: PolicySet,
    entities: Entities,
}

impl std::fmt::Debug for CedarModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CedarModel").finish_non_exhaustive()
    }
}

/// The Cedar policies for `facts`: one `permit` per scope that some scope map names (a
/// scope no action maps to cannot grant anything) for the role path, one per (team role,
/// scope) for the team-role path (scopes the team role holds in some organization).
pub fn policies_text(facts: &Facts) -> String {
    let mut out = String::new();
    let used = facts.used_scopes();
    let bounded = |s: &str| format!("(context.session || context.token_scopes.contains(\"{s}\"))");
    for s in facts
        .all_scopes
        .iter()
        .filter(|s| used.contains(s.as_str()))
    {
        let b = bounded(s);
        let _ = writeln!(
            out,
            "permit(principal, action in Action::\"scope:{s}\", resource)\n  \
             when {{ principal in resource.org && principal.role.scopes.contains(\"{s}\") && {b} &&\n    \
             (resource is Org || principal.global || resource in principal.teams) }};"
        );
    }
    let mut team_role_scopes: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for org in facts.orgs.values() {
        for (role, scopes) in &org.team_roles {
            team_role_scopes.entry(role).or_default().extend(
                scopes
                    .iter()
                    .map(String::as_str)
                    .filter(|s| used.contains(s)),
            );
        }
    }
    for (role, scopes) in &team_role_scopes {
        let r = ident(role);
        for s in scopes {
            let b = bounded(s);
            let _ = writeln!(
                out,
                "permit(principal, action in Action::\"scope:{s}\", resource is Project)\n  \
                 when {{ principal in resource.org && resource in principal.team_role_{r} &&\n    \
                 principal.org.team_role_scopes.{r}.contains(\"{s}\") && {b} }};"
            );
        }
    }
    out.push_str(
        "forbid(principal, action, resource)\n  \
         when { principal in resource.org && principal.restricted };\n\
         forbid(principal, action in Action::\"granular:replay\", resource)\n  \
         when { principal in resource.org && resource.org.replay_enforced }\n  \
         unless { resource.org.replay_nonempty &&\n    \
         (principal.replay_listed || principal.teams.containsAny(resource.org.replay_teams)) };\n",
    );
    out
}

/// A team role id as an attribute-name suffix.
fn ident(role: &str) -> String {
    role.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Entity uids of one entity type.
struct Kind(EntityTypeName);

impl Kind {
    fn new(name: &str) -> anyhow::Result<Kind> {
        EntityTypeName::from_str(name)
            .map(Kind)
            .map_err(|e| anyhow::anyhow!("bad entity type `{name}`: {e}"))
    }

    fn uid(&self, id: &str) -> EntityUid {
        EntityUid::from_type_name_and_id(self.0.clone(), EntityId::new(id))
    }

    fn val(&self, id: &str) -> RestrictedExpression {
        RestrictedExpression::new_entity_uid(self.uid(id))
    }
}

fn strings(items: &[String]) -> RestrictedExpression {
    RestrictedExpression::new_set(items.iter().cloned().map(RestrictedExpression::new_string))
}

fn entity(
    uid: EntityUid,
    attrs: Vec<(String, RestrictedExpression)>,
    parents: Vec<EntityUid>,
) -> anyhow::Result<Entity> {
    Entity::new(
        uid,
        attrs.into_iter().collect(),
        parents.into_iter().collect(),
    )
    .context("cedar entity")
}

/// The Cedar entities for `facts`, built in memory (the JSON entity format takes several
/// times longer to load 100,000 members).
pub fn entities(facts: &Facts) -> anyhow::Result<Entities> {
    let (org_k, role_k, team_k, project_k, member_k, action_k) = (
        Kind::new("Org")?,
        Kind::new("Role")?,
        Kind::new("Team")?,
        Kind::new("Project")?,
        Kind::new("Member")?,
        Kind::new("Action")?,
    );
    let mut out = Vec::new();
    let team_role_names: BTreeSet<&String> = facts
        .orgs
        .values()
        .flat_map(|o| o.team_roles.keys())
        .collect();
    let b = RestrictedExpression::new_bool;
    for (org, o) in &facts.orgs {
        let scoped = |slug: &str| format!("{org}/{slug}");
        let team_role_scopes = RestrictedExpression::new_record(
            o.team_roles.iter().map(|(r, s)| (ident(r), strings(s))),
        )
        .context("cedar record")?;
        out.push(entity(
            org_k.uid(org),
            vec![
                ("org".into(), org_k.val(org)),
                ("replay_enforced".into(), b(o.replay.enforced)),
                ("replay_nonempty".into(), b(o.replay.nonempty)),
                (
                    "replay_teams".into(),
                    RestrictedExpression::new_set(
                        o.replay.teams.iter().map(|t| team_k.val(&scoped(t))),
                    ),
                ),
                ("team_role_scopes".into(), team_role_scopes),
            ],
            Vec::new(),
        )?);
        for (role, scopes) in &o.roles {
            out.push(entity(
                role_k.uid(&scoped(role)),
                vec![("scopes".into(), strings(scopes))],
                Vec::new(),
            )?);
        }
        for t in &o.teams {
            out.push(Entity::new_no_attrs(
                team_k.uid(&scoped(t)),
                Default::default(),
            ));
        }
        for (slug, owners) in &o.projects {
            out.push(entity(
                project_k.uid(&scoped(slug)),
                vec![("org".into(), org_k.val(org))],
                owners.iter().map(|t| team_k.uid(&scoped(t))).collect(),
            )?);
        }
        for (user, m) in &o.members {
            let teams = |want: Option<&str>| {
                RestrictedExpression::new_set(
                    m.teams
                        .iter()
                        .filter(|(_, r)| want.is_none() || r.as_deref() == want)
                        .map(|(t, _)| team_k.val(&scoped(t))),
                )
            };
            let mut attrs = vec![
                ("org".into(), org_k.val(org)),
                ("role".into(), role_k.val(&scoped(&m.role))),
                ("global".into(), b(m.global)),
                ("restricted".into(), b(m.restricted)),
                ("replay_listed".into(), b(m.replay_listed)),
                ("teams".into(), teams(None)),
            ];
            for role in &team_role_names {
                attrs.push((format!("team_role_{}", ident(role)), teams(Some(role))));
            }
            out.push(entity(
                member_k.uid(&scoped(&user.to_string())),
                attrs,
                vec![org_k.uid(org)],
            )?);
        }
    }
    for a in facts.actions.values() {
        let mut parents: Vec<EntityUid> = a
            .scopes
            .iter()
            .map(|s| action_k.uid(&format!("scope:{s}")))
            .collect();
        if a.granular {
            parents.push(action_k.uid("granular:replay"));
        }
        out.push(Entity::new_no_attrs(
            action_k.uid(&a.id),
            parents.into_iter().collect(),
        ));
    }
    for s in &facts.all_scopes {
        out.push(Entity::new_no_attrs(
            action_k.uid(&format!("scope:{s}")),
            Default::default(),
        ));
    }
    out.push(Entity::new_no_attrs(
        action_k.uid("granular:replay"),
        Default::default(),
    ));
    Entities::from_entities(out, None).context("cedar entities")
}

fn euid(kind: &str, id: &str) -> anyhow::Result<EntityUid> {
    let text = format!("{kind}::{}", Value::String(id.to_string()));
    EntityUid::from_str(&text).map_err(|e| anyhow::anyhow!("bad entity uid `{text}`: {e}"))
}

impl CedarModel {
    /// Builds the policy set and entity store.
    pub fn new(facts: &Facts) -> anyhow::Result<CedarModel> {
        let policies = PolicySet::from_str(&policies_text(facts))
            .map_err(|e| anyhow::anyhow!("cedar policies: {e}"))?;
        let entities = entities(facts)?;
        Ok(CedarModel {
            authorizer: Authorizer::new(),
            policies,
            entities,
        })
    }

    /// Builds Cedar's native request for `r`.
    pub fn request(&self, r: &PeerRequest) -> anyhow::Result<Request> {
        let principal = euid("Member", &format!("{}/{}", r.org, r.user))?;
        let action = euid("Action", &r.action)?;
        let resource = match (&r.project, r.object) {
            (Some(p), Object::Project) => euid("Project", &format!("{}/{p}", r.org))?,
            _ => euid("Org", &r.org)?,
        };
        let context = Context::from_json_value(
            json!({
                "session": r.token.is_none(),
                "token_scopes": r.token.clone().unwrap_or_default(),
            }),
            None,
        )
        .context("cedar context")?;
        Request::new(principal, action, resource, context, None)
            .map_err(|e| anyhow::anyhow!("cedar request: {e}"))
    }

    /// Decides a pre-built request.
    #[inline]
    pub fn decide(&self, request: &Request) -> bool {
        self.authorizer
            .is_authorized(request, &self.policies, &self.entities)
            .decision()
            == Decision::Allow
    }
}
