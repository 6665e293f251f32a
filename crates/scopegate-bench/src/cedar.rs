//! The model in Cedar (cedar-policy crate).
//!
//! Entities: `User` (role scopes after option trimming, global reach, restricted flag, team
//! memberships as sets of `Team` per effective team role, replay listing), `Team`,
//! `Project` (parents: its owning teams), `Org`; actions `"<METHOD> <endpoint>"` whose
//! parents are the action groups `scope:<s>` for every scope `s` of the scope map (the scope
//! map, per action) and `granular:replay` for replay-guarded endpoints.
//!
//! Policies, one per scope (Cedar has no set intersection): the role path (on the
//! organization, or on a reachable project), the team-role path per team role, each bounded
//! by the token's scopes from the context; `forbid` for restricted members and for the
//! replay allowlist.

use std::fmt::Write as _;
use std::str::FromStr;

use anyhow::Context as _;
use cedar_policy::{Authorizer, Context, Decision, Entities, EntityUid, PolicySet, Request};
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

fn uid(kind: &str, id: &str) -> Value {
    json!({"type": kind, "id": id})
}

fn entity_ref(kind: &str, id: &str) -> Value {
    json!({"__entity": uid(kind, id)})
}

/// The Cedar policies for `facts`: one `permit` per scope that some scope map names (a
/// scope no action maps to cannot grant anything) for the role path, one per (team role,
/// scope) for the team-role path.
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
             when {{ principal.role_scopes.contains(\"{s}\") && {b} &&\n    \
             (resource is Org || principal.global || resource in principal.teams) }};"
        );
    }
    for (role, scopes) in &facts.team_roles {
        for s in scopes.iter().filter(|s| used.contains(s.as_str())) {
            let b = bounded(s);
            let _ = writeln!(
                out,
                "permit(principal, action in Action::\"scope:{s}\", resource is Project)\n  \
                 when {{ resource in principal.team_role_{} && {b} }};",
                ident(role)
            );
        }
    }
    out.push_str(
        "forbid(principal, action, resource) when { principal.restricted };\n\
         forbid(principal, action in Action::\"granular:replay\", resource)\n  \
         when { resource.org.replay_enforced }\n  \
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

/// The Cedar entities for `facts`.
pub fn entities_json(facts: &Facts) -> Value {
    let mut out = Vec::new();
    let org = &facts.org;
    out.push(json!({
        "uid": uid("Org", org),
        "attrs": {
            "org": entity_ref("Org", org),
            "replay_enforced": facts.replay.enforced,
            "replay_nonempty": facts.replay.nonempty,
            "replay_teams": facts.replay.teams.iter().map(|t| entity_ref("Team", t)).collect::<Vec<_>>(),
        },
        "parents": [],
    }));
    for t in &facts.teams {
        out.push(json!({"uid": uid("Team", t), "attrs": {}, "parents": []}));
    }
    for (slug, owners) in &facts.projects {
        out.push(json!({
            "uid": uid("Project", slug),
            "attrs": {"org": entity_ref("Org", org)},
            "parents": owners.iter().map(|t| uid("Team", t)).collect::<Vec<_>>(),
        }));
    }
    for user in &facts.users {
        let mut attrs = serde_json::Map::new();
        let m = facts.members.get(user);
        attrs.insert(
            "role_scopes".into(),
            json!(m.map(|m| m.role_scopes.clone()).unwrap_or_default()),
        );
        attrs.insert("global".into(), json!(m.is_some_and(|m| m.global)));
        attrs.insert("restricted".into(), json!(m.is_some_and(|m| m.restricted)));
        attrs.insert(
            "replay_listed".into(),
            json!(m.is_some_and(|m| m.replay_listed)),
        );
        let teams = |want: Option<&str>| -> Vec<Value> {
            m.map(|m| {
                m.teams
                    .iter()
                    .filter(|(_, r)| want.is_none() || r.as_deref() == want)
                    .map(|(t, _)| entity_ref("Team", t))
                    .collect()
            })
            .unwrap_or_default()
        };
        attrs.insert("teams".into(), Value::Array(teams(None)));
        for role in facts.team_roles.keys() {
            attrs.insert(
                format!("team_role_{}", ident(role)),
                Value::Array(teams(Some(role))),
            );
        }
        out.push(json!({"uid": uid("User", &user.to_string()), "attrs": attrs, "parents": []}));
    }
    for a in facts.actions.values() {
        let mut parents: Vec<Value> = a
            .scopes
            .iter()
            .map(|s| uid("Action", &format!("scope:{s}")))
            .collect();
        if a.granular {
            parents.push(uid("Action", "granular:replay"));
        }
        out.push(json!({"uid": uid("Action", &a.id), "attrs": {}, "parents": parents}));
    }
    for s in &facts.all_scopes {
        out.push(json!({"uid": uid("Action", &format!("scope:{s}")), "attrs": {}, "parents": []}));
    }
    out.push(json!({"uid": uid("Action", "granular:replay"), "attrs": {}, "parents": []}));
    Value::Array(out)
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
        let entities =
            Entities::from_json_value(entities_json(facts), None).context("cedar entities")?;
        Ok(CedarModel {
            authorizer: Authorizer::new(),
            policies,
            entities,
        })
    }

    /// Builds Cedar's native request for `r`.
    pub fn request(&self, facts: &Facts, r: &PeerRequest) -> anyhow::Result<Request> {
        let principal = euid("User", &r.user.to_string())?;
        let action = euid("Action", &r.action)?;
        let resource = match (&r.project, r.object) {
            (Some(p), Object::Project) => euid("Project", p)?,
            _ => euid("Org", &facts.org)?,
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
