//! The model in Rego, evaluated by regorus (Microsoft's Rust OPA interpreter), over every
//! organization.
//!
//! Data: actions (object kind, scope map as a set, replay guard) and, keyed by organization
//! slug: org roles and team roles → scopes after the organization's option trimming,
//! members keyed by user (org role, global reach, restricted, replay listing, team →
//! effective team role), projects → owning teams, the replay state. Input: the
//! organization, the user, the action, the project, and either `session: true` or the
//! token's scopes. A user who is not a member of the organization called has no entry there.

use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::vm::RegoVM;
use regorus::{Engine, Rc, Value};
use serde_json::{json, Map};

use crate::facts::{Facts, Object, PeerRequest};

/// The Rego policy.
pub const POLICY: &str = r#"package scopegate

default allow := false

action := data.actions[input.action]

org := data.orgs[input.org]

member := org.members[input.user]

role_scopes := org.roles[member.role]

bounded(s) if input.session

bounded(s) if input.token_scopes[s]

reach if member.global

reach if {
	some t in org.projects[input.project]
	member.teams[t]
}

class_ok if {
	action.object == "organization"
	some s, _ in action.scopes
	role_scopes[s]
	bounded(s)
}

class_ok if {
	action.object == "project"
	reach
	some s, _ in action.scopes
	role_scopes[s]
	bounded(s)
}

class_ok if {
	action.object == "project"
	some t in org.projects[input.project]
	role := member.teams[t]
	some s, _ in action.scopes
	org.team_roles[role][s]
	bounded(s)
}

listed if member.replay_listed

listed if {
	some t, _ in member.teams
	org.replay.teams[t]
}

granular_ok if not action.granular

granular_ok if not org.replay.enforced

granular_ok if {
	org.replay.nonempty
	listed
}

allow if {
	not member.restricted
	class_ok
	granular_ok
}

# The reason, in scopegate's order of checks (used by the agreement pass, not timed).
token_any if {
	some s, _ in action.scopes
	input.token_scopes[s]
}

role_holds if {
	some s, _ in action.scopes
	role_scopes[s]
	bounded(s)
}

reason := "insufficient_scope" if {
	not input.session
	not token_any
} else := "not_a_member" if {
	not member
} else := "member_disabled_over_limit" if {
	member.restricted
} else := "no_project_access" if {
	not class_ok
	action.object == "project"
	role_holds
} else := "missing_scope" if {
	not class_ok
} else := "granular_access_denied" if {
	not granular_ok
} else := "allowed"
"#;

/// regorus's view of the model: its interpreter (`Engine::eval_rule`) and its bytecode VM
/// (RVM: the policy compiled once to a `Program`, a `RegoVM` loaded with it and the data,
/// then `set_input` + `execute` per decision, the "hot" mode of regorus's own RVM
/// benchmarks).
pub struct RegoModel {
    engine: Engine,
    rule: String,
    vm: RegoVM,
}

impl std::fmt::Debug for RegoModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegoModel").finish_non_exhaustive()
    }
}

fn set(items: &[String]) -> serde_json::Value {
    serde_json::Value::Object(items.iter().map(|s| (s.clone(), json!(true))).collect())
}

/// The data document for `facts`.
pub fn data_json(facts: &Facts) -> serde_json::Value {
    let actions: Map<String, serde_json::Value> = facts
        .actions
        .values()
        .map(|a| {
            let object = match a.object {
                Object::Organization => "organization",
                Object::Project => "project",
            };
            (
                a.id.clone(),
                json!({"object": object, "scopes": set(&a.scopes), "granular": a.granular}),
            )
        })
        .collect();
    let orgs: Map<String, serde_json::Value> = facts
        .orgs
        .iter()
        .map(|(slug, o)| {
            let members: Map<String, serde_json::Value> = o
                .members
                .iter()
                .map(|(user, m)| {
                    // A team membership without a team role (team-roles feature off) maps to
                    // the empty role "", which has no scopes.
                    let teams: Map<String, serde_json::Value> = m
                        .teams
                        .iter()
                        .map(|(t, r)| (t.clone(), json!(r.clone().unwrap_or_default())))
                        .collect();
                    (
                        user.to_string(),
                        json!({
                            "role": m.role,
                            "global": m.global,
                            "restricted": m.restricted,
                            "replay_listed": m.replay_listed,
                            "teams": teams,
                        }),
                    )
                })
                .collect();
            let roles = |r: &std::collections::BTreeMap<String, Vec<String>>| {
                r.iter()
                    .map(|(id, s)| (id.clone(), set(s)))
                    .collect::<Map<String, serde_json::Value>>()
            };
            (
                slug.clone(),
                json!({
                    "roles": roles(&o.roles),
                    "team_roles": roles(&o.team_roles),
                    "members": members,
                    "projects": o.projects,
                    "replay": {
                        "enforced": o.replay.enforced,
                        "nonempty": o.replay.nonempty,
                        "teams": set(&o.replay.teams),
                    },
                }),
            )
        })
        .collect();
    json!({"actions": actions, "orgs": orgs})
}

impl RegoModel {
    /// Loads the policy and data.
    pub fn new(facts: &Facts) -> anyhow::Result<RegoModel> {
        let rule = "data.scopegate.allow";
        let mut engine = Engine::new();
        engine.add_policy("scopegate.rego".into(), POLICY.into())?;
        let data = Value::from(data_json(facts));
        engine.add_data(data.clone())?;
        let compiled = engine.compile_with_entrypoint(&Rc::from(rule))?;
        let program = Compiler::compile_from_policy(&compiled, &[rule])?;
        let mut vm = RegoVM::new();
        vm.load_program(program);
        vm.set_data(data)?;
        Ok(RegoModel {
            engine,
            rule: rule.into(),
            vm,
        })
    }

    /// Builds regorus's native input for `r`.
    pub fn request(&self, r: &PeerRequest) -> Value {
        let mut input = json!({"org": r.org, "user": r.user.to_string(), "action": r.action});
        if let Some(obj) = input.as_object_mut() {
            if let Some(p) = &r.project {
                obj.insert("project".into(), json!(p));
            }
            match &r.token {
                None => {
                    obj.insert("session".into(), json!(true));
                }
                Some(scopes) => {
                    obj.insert("token_scopes".into(), set(scopes));
                }
            }
        }
        Value::from(input)
    }

    /// Decides a pre-built input.
    pub fn try_decide(&mut self, input: &Value) -> anyhow::Result<bool> {
        self.engine.set_input(input.clone());
        let v = self.engine.eval_rule(self.rule.clone())?;
        Ok(v == Value::from(true))
    }

    /// Decides a pre-built input; an evaluation error denies.
    #[inline]
    pub fn decide(&mut self, input: &Value) -> bool {
        self.try_decide(input).unwrap_or(false)
    }

    /// Decides a pre-built input with the bytecode VM.
    pub fn try_decide_vm(&mut self, input: &Value) -> anyhow::Result<bool> {
        self.vm.set_input(input.clone());
        let v = self.vm.execute()?;
        Ok(v == Value::from(true))
    }

    /// Decides a pre-built input with the bytecode VM; an evaluation error denies.
    #[inline]
    pub fn decide_vm(&mut self, input: &Value) -> bool {
        self.try_decide_vm(input).unwrap_or(false)
    }

    /// The reason rule (interpreter), in scopegate's reason codes.
    pub fn reason(&mut self, input: &Value) -> anyhow::Result<String> {
        self.engine.set_input(input.clone());
        let v = self.engine.eval_rule("data.scopegate.reason".into())?;
        Ok(v.as_string().map(|s| s.to_string()).unwrap_or_default())
    }
}
