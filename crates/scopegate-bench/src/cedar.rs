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
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, Policy,
    PolicyId, PolicySet, Request, RestrictedExpression,
};
use serde_json::{json, Value};

use crate::facts::{Action, Facts, Object, PeerRequest};

/// Which policy encoding a [`CedarModel`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// One `permit` per scope of the action's scope map (and per team role and scope),
    /// each testing `contains` on the role's scopes and on the token's.
    PerScope,
    /// One `permit` for the role path and one per team role, each testing
    /// `containsAny(context.scopes)`, where the request carries the action's scope map
    /// bounded by the credential (the whole map for a session, its intersection with the
    /// token's scopes for a token; Cedar has no set intersection).
    ContainsAny,
}

impl Form {
    /// The row name in the output.
    pub fn name(self) -> &'static str {
        match self {
            Form::PerScope => "cedar",
            Form::ContainsAny => "cedar-containsAny",
        }
    }
}

/// Cedar's view of the model: one policy set per action (Cedar's guidance is to scope
/// policies so that only the relevant ones are evaluated), over one entity store.
pub struct CedarModel {
    form: Form,
    authorizer: Authorizer,
    /// One policy set per action, by action index.
    sets: Vec<PolicySet>,
    /// Action id → index into `sets`.
    action_index: BTreeMap<String, usize>,
    entities: Entities,
}

/// A pre-built Cedar request and the policy set of its action.
pub struct CedarRequest {
    /// Index of the action's policy set.
    pub set: usize,
    /// Cedar's request.
    pub request: Request,
}

impl std::fmt::Debug for CedarRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CedarRequest")
            .field("set", &self.set)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for CedarModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CedarModel")
            .field("form", &self.form)
            .finish_non_exhaustive()
    }
}

/// Policy ids of the denials Cedar can name (the application maps them to reasons, in
/// scopegate's order of checks).
pub mod ids {
    /// The token holds no scope of the action's scope map.
    pub const TOKEN_GATE: &str = "token_gate";
    /// The user is not a member of the organization called.
    pub const NOT_A_MEMBER: &str = "not_a_member";
    /// The member is disabled over the member limit.
    pub const RESTRICTED: &str = "restricted";
    /// The replay allowlist.
    pub const REPLAY: &str = "replay";
}

/// One policy with its id.
#[derive(Debug, Clone)]
pub struct PolicyText {
    /// The id (`ids::*` for the forbids).
    pub id: String,
    /// The Cedar source.
    pub text: String,
}

/// The team roles' scopes over every organization (scopes that some action maps to).
fn team_role_scopes(facts: &Facts) -> BTreeMap<&str, BTreeSet<&str>> {
    let used = facts.used_scopes();
    let mut out: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for org in facts.orgs.values() {
        for (role, scopes) in &org.team_roles {
            out.entry(role).or_default().extend(
                scopes
                    .iter()
                    .map(String::as_str)
                    .filter(|s| used.contains(s)),
            );
        }
    }
    out
}

fn quoted_set<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<String> = items.into_iter().map(|s| format!("\"{s}\"")).collect();
    format!("[{}]", items.join(", "))
}

/// The policies of one action in `form`: exactly those that can apply to it.
pub fn action_policies(facts: &Facts, action: &Action, form: Form) -> Vec<PolicyText> {
    let mut out = Vec::new();
    let a = &action.id;
    let project = action.object == Object::Project;
    let reach = if project {
        " &&\n    (principal.global || resource in principal.teams)"
    } else {
        ""
    };
    let team_roles = team_role_scopes(facts);
    match form {
        Form::PerScope => {
            for s in &action.scopes {
                out.push(PolicyText {
                    id: format!("role:{s}"),
                    text: format!(
                        "permit(principal, action == Action::\"{a}\", resource)\n  \
                         when {{ principal in resource.org && principal.role.scopes.contains(\"{s}\") &&\n    \
                         (context.session || context.token_scopes.contains(\"{s}\")){reach} }};"
                    ),
                });
            }
            if project {
                for (role, scopes) in &team_roles {
                    let r = ident(role);
                    for s in action.scopes.iter().filter(|s| scopes.contains(s.as_str())) {
                        out.push(PolicyText {
                            id: format!("team_role:{r}:{s}"),
                            text: format!(
                                "permit(principal, action == Action::\"{a}\", resource)\n  \
                                 when {{ principal in resource.org && resource in principal.team_role_{r} &&\n    \
                                 principal.org.team_role_scopes.{r}.contains(\"{s}\") &&\n    \
                                 (context.session || context.token_scopes.contains(\"{s}\")) }};"
                            ),
                        });
                    }
                }
            }
            out.push(PolicyText {
                id: ids::TOKEN_GATE.into(),
                text: format!(
                    "forbid(principal, action == Action::\"{a}\", resource)\n  \
                     when {{ !context.session && !context.token_scopes.containsAny({}) }};",
                    quoted_set(action.scopes.iter().map(String::as_str))
                ),
            });
        }
        Form::ContainsAny => {
            out.push(PolicyText {
                id: "role".into(),
                text: format!(
                    "permit(principal, action == Action::\"{a}\", resource)\n  \
                     when {{ principal in resource.org && principal.role.scopes.containsAny(context.scopes){reach} }};"
                ),
            });
            if project {
                for (role, scopes) in &team_roles {
                    if !action.scopes.iter().any(|s| scopes.contains(s.as_str())) {
                        continue;
                    }
                    let r = ident(role);
                    out.push(PolicyText {
                        id: format!("team_role:{r}"),
                        text: format!(
                            "permit(principal, action == Action::\"{a}\", resource)\n  \
                             when {{ principal in resource.org && resource in principal.team_role_{r} &&\n    \
                             principal.org.team_role_scopes.{r}.containsAny(context.scopes) }};"
                        ),
                    });
                }
            }
            out.push(PolicyText {
                id: ids::TOKEN_GATE.into(),
                text: format!(
                    "forbid(principal, action == Action::\"{a}\", resource)\n  \
                     when {{ !context.session && context.scopes.isEmpty() }};"
                ),
            });
        }
    }
    out.push(PolicyText {
        id: ids::NOT_A_MEMBER.into(),
        text: format!(
            "forbid(principal, action == Action::\"{a}\", resource)\n  \
             unless {{ principal in resource.org }};"
        ),
    });
    out.push(PolicyText {
        id: ids::RESTRICTED.into(),
        text: format!(
            "forbid(principal, action == Action::\"{a}\", resource)\n  \
             when {{ principal in resource.org && principal.restricted }};"
        ),
    });
    if action.granular {
        out.push(PolicyText {
            id: ids::REPLAY.into(),
            text: format!(
                "forbid(principal, action == Action::\"{a}\", resource)\n  \
                 when {{ principal in resource.org && resource.org.replay_enforced }}\n  \
                 unless {{ resource.org.replay_nonempty &&\n    \
                 (principal.replay_listed || principal.teams.containsAny(resource.org.replay_teams)) }};"
            ),
        });
    }
    out
}

/// Every action's policies in `form`, as one text (for review and counting).
pub fn policies_text(facts: &Facts, form: Form) -> String {
    let mut out = String::new();
    for a in facts.actions.values() {
        let _ = writeln!(out, "// {}", a.id);
        for p in action_policies(facts, a, form) {
            let _ = writeln!(out, "@id(\"{}\")\n{}", p.id, p.text);
        }
    }
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
    /// Builds one policy set per action and the entity store.
    pub fn new(facts: &Facts, form: Form) -> anyhow::Result<CedarModel> {
        let mut sets = Vec::new();
        let mut action_index = BTreeMap::new();
        for a in facts.actions.values() {
            let mut set = PolicySet::new();
            for p in action_policies(facts, a, form) {
                let policy = Policy::parse(Some(PolicyId::new(&p.id)), &p.text)
                    .map_err(|e| anyhow::anyhow!("cedar policy `{}` of `{}`: {e}", p.id, a.id))?;
                set.add(policy)
                    .map_err(|e| anyhow::anyhow!("cedar policy `{}` of `{}`: {e}", p.id, a.id))?;
            }
            action_index.insert(a.id.clone(), sets.len());
            sets.push(set);
        }
        let entities = entities(facts)?;
        Ok(CedarModel {
            form,
            authorizer: Authorizer::new(),
            sets,
            action_index,
            entities,
        })
    }

    /// The encoding.
    pub fn form(&self) -> Form {
        self.form
    }

    /// Policies per action set: (fewest, most).
    pub fn set_sizes(&self) -> (usize, usize) {
        let sizes = self.sets.iter().map(|s| s.policies().count());
        let min = sizes.clone().min().unwrap_or(0);
        (min, sizes.max().unwrap_or(0))
    }

    /// Builds Cedar's native request for `r`, with its action's policy set.
    pub fn request(&self, r: &PeerRequest, facts: &Facts) -> anyhow::Result<CedarRequest> {
        let principal = euid("Member", &format!("{}/{}", r.org, r.user))?;
        let action = euid("Action", &r.action)?;
        let resource = match (&r.project, r.object) {
            (Some(p), Object::Project) => euid("Project", &format!("{}/{p}", r.org))?,
            _ => euid("Org", &r.org)?,
        };
        let context = match self.form {
            Form::PerScope => json!({
                "session": r.token.is_none(),
                "token_scopes": r.token.clone().unwrap_or_default(),
            }),
            Form::ContainsAny => {
                let map = facts
                    .actions
                    .get(&r.action)
                    .map(|a| a.scopes.clone())
                    .unwrap_or_default();
                let scopes: Vec<String> = match &r.token {
                    None => map,
                    Some(t) => map.into_iter().filter(|s| t.contains(s)).collect(),
                };
                json!({"session": r.token.is_none(), "scopes": scopes})
            }
        };
        let context = Context::from_json_value(context, None).context("cedar context")?;
        let set = *self
            .action_index
            .get(&r.action)
            .with_context(|| format!("no cedar policy set for `{}`", r.action))?;
        let request = Request::new(principal, action, resource, context, None)
            .map_err(|e| anyhow::anyhow!("cedar request: {e}"))?;
        Ok(CedarRequest { set, request })
    }

    /// Decides a pre-built request.
    #[inline]
    pub fn decide(&self, r: &CedarRequest) -> bool {
        self.sets.get(r.set).is_some_and(|set| {
            self.authorizer
                .is_authorized(&r.request, set, &self.entities)
                .decision()
                == Decision::Allow
        })
    }

    /// Decides a pre-built request and names the reason where Cedar can: the forbid that
    /// fired first in scopegate's order of checks; a denial no forbid explains is
    /// `object_check` (scopegate's `missing_scope` or `no_project_access`, which Cedar does
    /// not tell apart), and a replay forbid alone is `granular_access_denied` only when
    /// scopegate's object check passed, which Cedar cannot tell either: it is reported as
    /// `object_check_or_granular`.
    pub fn decide_with_reason(&self, r: &CedarRequest) -> anyhow::Result<(bool, &'static str)> {
        let set = self.sets.get(r.set).context("cedar policy set")?;
        let response = self
            .authorizer
            .is_authorized(&r.request, set, &self.entities);
        if let Some(e) = response.diagnostics().errors().next() {
            anyhow::bail!("cedar evaluation error: {e}");
        }
        if response.decision() == Decision::Allow {
            return Ok((true, "allowed"));
        }
        let fired: BTreeSet<String> = response
            .diagnostics()
            .reason()
            .map(|id| id.to_string())
            .collect();
        let reason = [
            (ids::TOKEN_GATE, "insufficient_scope"),
            (ids::NOT_A_MEMBER, "not_a_member"),
            (ids::RESTRICTED, "member_disabled_over_limit"),
            (ids::REPLAY, "object_check_or_granular"),
        ]
        .into_iter()
        .find(|(id, _)| fired.contains(*id))
        .map_or("object_check", |(_, reason)| reason);
        Ok((false, reason))
    }
}
