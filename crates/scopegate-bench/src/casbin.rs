//! The model in casbin (casbin crate): a `model.conf` and policy lines, over every
//! organization.
//!
//! Requests are `(sub, obj, act, tok)`: the user acting in the organization called
//! (`m:<org>/<user>`), the object (`org:<org>` or `project:<org>/<slug>`), the action
//! (`"<METHOD> <endpoint>"`) and the credential (`session` or a stored token id). Every name
//! about an organization's members, teams and projects is prefixed with the organization's
//! slug, so a user who is not a member of the organization called has no links at all.
//! Policy lines (`p`) are one allow line per scope for the role path and per (team role
//! variant, scope) for the team-role path, and two deny lines (restricted members, the
//! replay allowlist). The facts are role-manager links, which is what an application feeds
//! casbin in practice:
//!
//! - `g`: member → role-scope group `rs:<k>` → scope (the org role's scopes after the
//!   organization's option trimming; one group per distinct scope set); member →
//!   `restricted`; member → `replay:listed`, directly or through a listed team;
//! - `g2`: action → scope (the scope map), action → `granular:replay`;
//! - `g3`: credential → scope (a session holds every scope; a token its own);
//! - `g4`: reach: member → org, member → team → project, member → `reach:<org>` → project
//!   (global reach);
//! - `g5`: member has team role `tr:<role>/v<k>` in domain `project:<org>/<slug>` (a team of
//!   the member with that effective role owns the project; `v<k>` names the role's scope set
//!   after the organization's trimming);
//! - `g6`: object → org → `replay:enforced` / `replay:nonempty`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use casbin::prelude::*;

use crate::facts::{Facts, PeerRequest};

/// The casbin model.
pub const MODEL: &str = r#"[request_definition]
r = sub, obj, act, tok

[policy_definition]
p = sub, scope, eft

[role_definition]
g = _, _
g2 = _, _
g3 = _, _
g4 = _, _
g5 = _, _, _
g6 = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = (p.sub == "role" && g2(r.act, p.scope) && g3(r.tok, p.scope) && g(r.sub, p.scope) && g4(r.sub, r.obj)) || (p.sub != "role" && p.eft == "allow" && g2(r.act, p.scope) && g3(r.tok, p.scope) && g5(r.sub, p.sub, r.obj)) || (p.sub == "restricted" && g(r.sub, "restricted")) || (p.sub == "replay" && g2(r.act, "granular:replay") && g6(r.obj, "replay:enforced") && !(g6(r.obj, "replay:nonempty") && g(r.sub, "replay:listed")))
"#;

/// casbin's view of the model.
pub struct CasbinModel {
    enforcer: Enforcer,
}

impl std::fmt::Debug for CasbinModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CasbinModel").finish_non_exhaustive()
    }
}

/// A pre-built casbin request: `(sub, obj, act, tok)`.
pub type CasbinRequest = [String; 4];

/// The credential id of a peer request.
fn credential(r: &PeerRequest) -> String {
    match r.token {
        None => "session".into(),
        Some(_) => format!("tok:{}", r.index),
    }
}

/// The policy lines for `facts` and the tokens of `requests`.
pub fn policy_text(facts: &Facts, requests: &[PeerRequest]) -> String {
    let mut out = String::new();
    let mut line = |s: std::fmt::Arguments<'_>| {
        let _ = out.write_fmt(s);
        out.push('\n');
    };
    // A scope that no scope map names cannot grant anything: no policy line for it.
    let used = facts.used_scopes();
    for s in facts
        .all_scopes
        .iter()
        .filter(|s| used.contains(s.as_str()))
    {
        line(format_args!("p, role, {s}, allow"));
    }
    // Team roles: one variant per distinct scope set over the organizations.
    let mut variants: BTreeMap<(&str, &[String]), usize> = BTreeMap::new();
    for o in facts.orgs.values() {
        for (role, scopes) in &o.team_roles {
            let n = variants.len();
            variants
                .entry((role.as_str(), scopes.as_slice()))
                .or_insert(n);
        }
    }
    for ((role, scopes), k) in &variants {
        for s in scopes.iter().filter(|s| used.contains(s.as_str())) {
            line(format_args!("p, tr:{role}/v{k}, {s}, allow"));
        }
    }
    line(format_args!("p, restricted, -, deny"));
    line(format_args!("p, replay, -, deny"));

    let mut groups: BTreeMap<&[String], usize> = BTreeMap::new();
    for (org, o) in &facts.orgs {
        let mut owned_by: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (p, owners) in &o.projects {
            for t in owners {
                owned_by.entry(t.as_str()).or_default().push(p.as_str());
            }
        }
        let mut role_group: BTreeMap<&str, usize> = BTreeMap::new();
        for (role, scopes) in &o.roles {
            let n = groups.len();
            let g = *groups.entry(scopes.as_slice()).or_insert(n);
            role_group.insert(role, g);
        }
        let team_variant = |role: &str| -> Option<usize> {
            let scopes = o.team_roles.get(role)?;
            variants.get(&(role, scopes.as_slice())).copied()
        };
        for (user, m) in &o.members {
            let sub = format!("m:{org}/{user}");
            if let Some(g) = role_group.get(m.role.as_str()) {
                line(format_args!("g, {sub}, rs:{g}"));
            }
            if m.restricted {
                line(format_args!("g, {sub}, restricted"));
            }
            if m.replay_listed {
                line(format_args!("g, {sub}, replay:listed"));
            }
            line(format_args!("g4, {sub}, org:{org}"));
            if m.global {
                line(format_args!("g4, {sub}, reach:{org}"));
            }
            let mut team_role_lines = BTreeSet::new();
            for (t, role) in &m.teams {
                line(format_args!("g, {sub}, t:{org}/{t}"));
                line(format_args!("g4, {sub}, t:{org}/{t}"));
                if let Some(k) = role.as_deref().and_then(team_variant) {
                    let role = role.as_deref().unwrap_or_default();
                    for p in owned_by.get(t.as_str()).into_iter().flatten() {
                        team_role_lines.insert((role, k, *p));
                    }
                }
            }
            for (role, k, p) in team_role_lines {
                line(format_args!("g5, {sub}, tr:{role}/v{k}, project:{org}/{p}"));
            }
        }
        for t in &o.replay.teams {
            line(format_args!("g, t:{org}/{t}, replay:listed"));
        }
        for (p, owners) in &o.projects {
            for t in owners {
                line(format_args!("g4, t:{org}/{t}, project:{org}/{p}"));
            }
            line(format_args!("g4, reach:{org}, project:{org}/{p}"));
            line(format_args!("g6, project:{org}/{p}, org:{org}"));
        }
        if o.replay.enforced {
            line(format_args!("g6, org:{org}, replay:enforced"));
        }
        if o.replay.nonempty {
            line(format_args!("g6, org:{org}, replay:nonempty"));
        }
    }
    for (scopes, g) in &groups {
        for s in scopes.iter() {
            line(format_args!("g, rs:{g}, {s}"));
        }
    }
    for a in facts.actions.values() {
        for s in &a.scopes {
            line(format_args!("g2, {}, {s}", a.id));
        }
        if a.granular {
            line(format_args!("g2, {}, granular:replay", a.id));
        }
    }
    for s in &facts.all_scopes {
        line(format_args!("g3, session, {s}"));
    }
    for r in requests {
        if let Some(scopes) = &r.token {
            let c = credential(r);
            for s in scopes {
                line(format_args!("g3, {c}, {s}"));
            }
        }
    }
    out
}

impl CasbinModel {
    /// Builds the enforcer (model and policy lines) for `facts` and the tokens of
    /// `requests`.
    pub fn new(facts: &Facts, requests: &[PeerRequest]) -> anyhow::Result<CasbinModel> {
        let runtime = tokio::runtime::Builder::new_current_thread().build()?;
        let enforcer = runtime.block_on(async {
            let model = DefaultModel::from_str(MODEL).await?;
            let adapter = StringAdapter::new(policy_text(facts, requests));
            Enforcer::new(model, adapter).await
        })?;
        Ok(CasbinModel { enforcer })
    }

    /// Builds casbin's native request for `r`.
    pub fn request(&self, r: &PeerRequest) -> CasbinRequest {
        [
            format!("m:{}/{}", r.org, r.user),
            r.resource(),
            r.action.clone(),
            credential(r),
        ]
    }

    /// Decides a pre-built request.
    #[inline]
    pub fn try_decide(&self, r: &CasbinRequest) -> anyhow::Result<bool> {
        let [sub, obj, act, tok] = r;
        Ok(self
            .enforcer
            .enforce((sub.as_str(), obj.as_str(), act.as_str(), tok.as_str()))?)
    }

    /// Decides a pre-built request; an evaluation error denies.
    #[inline]
    pub fn decide(&self, r: &CasbinRequest) -> bool {
        self.try_decide(r).unwrap_or(false)
    }
}
