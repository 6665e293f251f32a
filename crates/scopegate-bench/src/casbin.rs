//! The model in casbin (casbin crate): a `model.conf` and policy lines.
//!
//! Requests are `(sub, obj, act, tok)`: the user, the object (`org:<slug>` or
//! `project:<slug>`), the action (`"<METHOD> <endpoint>"`) and the credential (`session` or
//! a stored token id). Policy lines (`p`) are one allow line per scope for the role path and
//! per (team role, scope) for the team-role path, and two deny lines (restricted members,
//! the replay allowlist). The facts are role-manager links, which is what an application
//! feeds casbin in practice:
//!
//! - `g`: user → role-scope group → scope (role scopes after option trimming); user →
//!   `restricted`; user → `replay:listed`, directly or through a listed team;
//! - `g2`: action → scope (the scope map), action → `granular:replay`;
//! - `g3`: credential → scope (a session holds every scope; a token its own);
//! - `g4`: reach: user → org, user → team → project, user → `reach:global` → project;
//! - `g5`: user has team role `tr:<role>` in domain `project:<slug>` (a team of the user with
//!   that effective role owns the project);
//! - `g6`: object → org → `replay:enforced` / `replay:nonempty`.

use std::collections::{BTreeMap, BTreeSet};

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
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    // A scope that no scope map names cannot grant anything: no policy line for it.
    let used = facts.used_scopes();
    for s in facts
        .all_scopes
        .iter()
        .filter(|s| used.contains(s.as_str()))
    {
        line(format!("p, role, {s}, allow"));
    }
    for (role, scopes) in &facts.team_roles {
        for s in scopes.iter().filter(|s| used.contains(s.as_str())) {
            line(format!("p, tr:{role}, {s}, allow"));
        }
    }
    line("p, restricted, -, deny".into());
    line("p, replay, -, deny".into());

    let org = format!("org:{}", facts.org);
    let mut groups: BTreeMap<&[String], usize> = BTreeMap::new();
    let mut owned_by: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (p, owners) in &facts.projects {
        for t in owners {
            owned_by.entry(t.as_str()).or_default().push(p.as_str());
        }
    }
    for (user, m) in &facts.members {
        let n = groups.len();
        let g = *groups.entry(m.role_scopes.as_slice()).or_insert(n);
        line(format!("g, user:{user}, rs:{g}"));
        if m.restricted {
            line(format!("g, user:{user}, restricted"));
        }
        if m.replay_listed {
            line(format!("g, user:{user}, replay:listed"));
        }
        line(format!("g4, user:{user}, {org}"));
        if m.global {
            line(format!("g4, user:{user}, reach:global"));
        }
        let mut team_role_lines = BTreeSet::new();
        for (t, role) in &m.teams {
            line(format!("g, user:{user}, t:{t}"));
            line(format!("g4, user:{user}, t:{t}"));
            if let Some(role) = role {
                for p in owned_by.get(t.as_str()).into_iter().flatten() {
                    team_role_lines.insert(format!("g5, user:{user}, tr:{role}, project:{p}"));
                }
            }
        }
        for l in team_role_lines {
            line(l);
        }
    }
    for (scopes, g) in &groups {
        for s in scopes.iter() {
            line(format!("g, rs:{g}, {s}"));
        }
    }
    for t in &facts.replay.teams {
        line(format!("g, t:{t}, replay:listed"));
    }
    for a in facts.actions.values() {
        for s in &a.scopes {
            line(format!("g2, {}, {s}", a.id));
        }
        if a.granular {
            line(format!("g2, {}, granular:replay", a.id));
        }
    }
    for s in &facts.all_scopes {
        line(format!("g3, session, {s}"));
    }
    for r in requests {
        if let Some(scopes) = &r.token {
            let c = credential(r);
            for s in scopes {
                line(format!("g3, {c}, {s}"));
            }
        }
    }
    for (p, owners) in &facts.projects {
        for t in owners {
            line(format!("g4, t:{t}, project:{p}"));
        }
        line(format!("g4, reach:global, project:{p}"));
        line(format!("g6, project:{p}, {org}"));
    }
    if facts.replay.enforced {
        line(format!("g6, {org}, replay:enforced"));
    }
    if facts.replay.nonempty {
        line(format!("g6, {org}, replay:nonempty"));
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
    pub fn request(&self, facts: &Facts, r: &PeerRequest) -> CasbinRequest {
        [
            format!("user:{}", r.user),
            r.resource(&facts.org),
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
