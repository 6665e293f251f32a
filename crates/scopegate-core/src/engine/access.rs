//! Step 4 of `docs/decision.md`: access — what the principal holds in the organization
//! (global scopes, membership, bounds), and the member-state denials (SSO, 2FA, member limit).

use super::lookup::{Lookups, Who};
use super::{Access, Engine, Tracer};
use crate::decision::{GrantPath, Reason};
use crate::method::Method;
use crate::request::{Principal, Superuser};
use crate::scope::ScopeSet;
use crate::world::Org;

impl<'a> Engine<'a> {
    /// Step 4 of `docs/decision.md`: what `principal` (the request's own or an org token's
    /// creator: `who`) holds in `org`, or the member-state denial.
    pub(super) fn access<T: Tracer, L: Lookups<'a>>(
        &self,
        principal: &Principal,
        who: Who,
        method: Method,
        org: Option<&'a Org>,
        l: &L,
        t: &mut T,
    ) -> Result<Access<'a>, Reason> {
        let all = self.policy.scopes.all();
        let mut access = Access {
            global_scopes: ScopeSet::EMPTY,
            global_path: GrantPath::Superuser,
            member: None,
            bound: all,
            staff: false,
            superuser_read_only_unsafe: false,
            user_backed: false,
        };
        let org_slug = org.map(|o| o.slug.as_str());
        match principal {
            Principal::Anonymous => return Err(Reason::Unauthenticated),
            Principal::System => {
                access.global_scopes = all;
                access.global_path = GrantPath::System;
                t.step("access", true, || {
                    "system: every scope, every object".into()
                });
            }
            Principal::OrgToken { organization, .. } | Principal::ApiKey { organization, .. } => {
                let path = if matches!(principal, Principal::OrgToken { .. }) {
                    GrantPath::OrgToken
                } else {
                    GrantPath::ApiKey
                };
                if org_slug.is_some_and(|s| s != organization) {
                    t.step("access", false, || {
                        format!(
                            "the {} belongs to organization `{organization}`",
                            path.as_str()
                        )
                    });
                    return Err(Reason::WrongOrganization);
                }
                access.global_scopes = all;
                access.global_path = path;
                t.step("access", true, || {
                    format!(
                        "{} of this organization: every scope, every object",
                        path.as_str()
                    )
                });
            }
            Principal::Integration { integration } => {
                let it = l.integration(*integration).ok_or(Reason::Unauthenticated)?;
                if let Some(o) = org {
                    if !it.installed_on.contains(&o.id) {
                        t.step("access", false, || {
                            format!("integration {integration} is not installed on `{}`", o.slug)
                        });
                        return Err(Reason::WrongOrganization);
                    }
                }
                access.global_scopes = it.scopes;
                access.global_path = GrantPath::Integration;
                t.step("access", true, || {
                    "integration installed here: the app's scopes, every object".into()
                });
            }
            Principal::Session {
                user,
                superuser,
                staff,
                sso_ok,
            } => {
                access.user_backed = true;
                access.staff = *staff;
                match superuser {
                    Superuser::Write => access.global_scopes = all,
                    Superuser::Read if method.is_superuser_read_only() => {
                        access.global_scopes = self.policy.readonly
                    }
                    Superuser::Read => access.superuser_read_only_unsafe = true,
                    Superuser::None => {}
                }
                access.global_path = GrantPath::Superuser;
                let active_superuser = *superuser != Superuser::None;
                if let Some(o) = org {
                    access.member = l.member(who, o, *user);
                    if let Some(m) = access.member {
                        if !active_superuser {
                            if o.require_sso && !(*sso_ok && m.sso_linked) {
                                t.step("member_state", false, || {
                                    "the organization requires SSO and it is not satisfied".into()
                                });
                                return Err(Reason::SsoRequired);
                            }
                            let has_2fa = l.user(who, *user).is_some_and(|u| u.has_2fa);
                            member_state(o, has_2fa || *staff, m.restricted, t)?;
                        }
                    }
                }
                t.step("access", true, || match access.member {
                    Some(m) => format!(
                        "member with role `{}`: [{}]",
                        self.role_id(m.record),
                        self.policy.scopes.sorted_names(m.scopes).join(", ")
                    ),
                    None => "not a member of the organization".into(),
                });
            }
            Principal::UserToken { user, scopes, .. } => {
                access.user_backed = true;
                access.bound = *scopes;
                if let Some(o) = org {
                    access.member = l.member(who, o, *user);
                    if let Some(m) = access.member {
                        let has_2fa = l.user(who, *user).is_some_and(|u| u.has_2fa);
                        member_state(o, has_2fa, m.restricted, t)?;
                    }
                }
                t.step("access", true, || match access.member {
                    Some(m) => format!(
                        "member with role `{}`, bounded by the token: [{}]",
                        self.role_id(m.record),
                        self.policy
                            .scopes
                            .sorted_names(m.scopes.intersection(*scopes))
                            .join(", ")
                    ),
                    None => "not a member of the organization".into(),
                });
            }
        }
        Ok(access)
    }
}

/// The member-state denials a session and a user token share, in order: the organization
/// requires 2FA and the user has none (`two_factor_ok`: has it, or is exempt), then the
/// member is disabled over the member limit (`restricted`).
fn member_state<T: Tracer>(
    o: &Org,
    two_factor_ok: bool,
    restricted: bool,
    t: &mut T,
) -> Result<(), Reason> {
    if o.require_2fa && !two_factor_ok {
        t.step("member_state", false, || {
            "the organization requires 2FA and the user has none".into()
        });
        return Err(Reason::TwoFactorRequired);
    }
    if restricted {
        t.step("member_state", false, || {
            "the member is disabled over the member limit".into()
        });
        return Err(Reason::MemberDisabledOverLimit);
    }
    Ok(())
}
