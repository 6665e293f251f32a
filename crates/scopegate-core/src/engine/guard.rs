//! Step 6 of `docs/decision.md`: the granular guard (the replay allowlist, generalized).

use super::lookup::Lookups;
use super::{Access, Engine, Tracer};
use crate::decision::GranularPath;
use crate::method::Method;
use crate::policy::Bypass;
use crate::request::{Principal, Superuser};
use crate::scope::ScopeSet;
use crate::world::Org;

impl<'a> Engine<'a> {
    /// The guard for granular resource `kind` in `org`: the granular path, or `None` to
    /// deny (`granular_access_denied`).
    #[allow(
        clippy::too_many_arguments,
        reason = "the decision's state, passed down"
    )]
    pub(super) fn granular<T: Tracer, L: Lookups<'a>>(
        &self,
        kind: usize,
        principal: &Principal,
        method: Method,
        org: &'a Org,
        a: &Access<'a>,
        l: &L,
        t: &mut T,
    ) -> Option<GranularPath> {
        let resource = self.policy.granular_resources.get(kind)?;
        let state = l.granular(org, kind);
        let bypass = |want: fn(&Bypass) -> bool| resource.bypass.iter().any(want);
        if !state.feature {
            t.step("granular", true, || {
                format!("feature `{}` is off", resource.feature)
            });
            return Some(GranularPath::GranularOff);
        }
        let superuser_ok = match principal {
            Principal::Session {
                superuser: Superuser::Write,
                ..
            } => true,
            Principal::Session {
                superuser: Superuser::Read,
                ..
            } => method.is_superuser_read_only(),
            _ => false,
        };
        if matches!(principal, Principal::System)
            || (superuser_ok && bypass(|b| matches!(b, Bypass::Superuser)))
        {
            t.step("granular", true, || {
                "an active superuser or the system bypasses the allowlist".into()
            });
            return Some(GranularPath::GranularBypass);
        }
        if !state.toggle {
            t.step("granular", true, || {
                format!("option `{}` is off", resource.toggle_option)
            });
            return Some(GranularPath::GranularOff);
        }
        let holds = |scopes: ScopeSet, want: Option<crate::scope::ScopeId>| {
            want.is_none_or(|s| scopes.contains(s))
        };
        let bypassed = resource.bypass.iter().any(|b| match (b, principal) {
            (Bypass::OrgToken(s), Principal::OrgToken { scopes, .. }) => holds(*scopes, *s),
            (Bypass::ApiKey(s), Principal::ApiKey { scopes, .. }) => holds(*scopes, *s),
            (Bypass::Integration(s), Principal::Integration { .. }) => holds(a.global_scopes, *s),
            _ => false,
        });
        if bypassed {
            t.step("granular", true, || {
                "a bypass principal of the policy holding its scope".into()
            });
            return Some(GranularPath::GranularBypass);
        }
        let Some(member) = a.member else {
            t.step("granular", false, || {
                "the caller is not a member of the organization".into()
            });
            return None;
        };
        if !state.nonempty {
            t.step("granular", false, || {
                format!(
                    "the `{}` allowlist is empty: nobody has access",
                    resource.kind
                )
            });
            return None;
        }
        if member.is_listed(kind) {
            t.step("granular", true, || {
                format!(
                    "member {} is on the `{}` allowlist",
                    member.record.id, resource.kind
                )
            });
            Some(GranularPath::GranularGrant)
        } else {
            t.step("granular", false, || {
                format!(
                    "member {} is not on the `{}` allowlist",
                    member.record.id, resource.kind
                )
            });
            None
        }
    }
}
