//! Requests carried from one policy's scopes to another's, by scope name.
//!
//! A [`ScopeSet`] is a bit set numbered by its policy's declaration order, so a request read
//! under one policy means nothing to another until its scopes are renumbered. A scope the
//! target policy does not declare cannot be held under it: it is dropped (and counted by the
//! callers: `scopegate replay`, the service's shadow mode).

use crate::policy::Policy;
use crate::request::{Principal, Request};
use crate::scope::{ScopeId, ScopeSet};

/// The renumbering of one policy's scopes into another's.
#[derive(Debug, Clone)]
pub struct ScopeMap {
    /// `to[i]`: the target id of the source scope with index `i`, if the target declares it.
    to: Vec<Option<ScopeId>>,
    /// Whether every scope keeps its id (the same declaration order): nothing to do.
    identity: bool,
}

impl ScopeMap {
    /// The map from `from`'s scopes to `to`'s.
    pub fn between(from: &Policy, to: &Policy) -> ScopeMap {
        let ids: Vec<(ScopeId, Option<ScopeId>)> = from
            .scopes
            .all()
            .iter()
            .map(|id| (id, to.scopes.id(from.scopes.name(id))))
            .collect();
        let identity =
            from.scopes.len() == to.scopes.len() && ids.iter().all(|(a, b)| Some(*a) == *b);
        let mut map = vec![None; ids.iter().map(|(a, _)| a.index() + 1).max().unwrap_or(0)];
        for (a, b) in ids {
            if let Some(slot) = map.get_mut(a.index()) {
                *slot = b;
            }
        }
        ScopeMap { to: map, identity }
    }

    /// Whether the map changes nothing.
    pub fn is_identity(&self) -> bool {
        self.identity
    }

    /// `set` renumbered, and whether a scope was dropped (the target lacks it).
    pub fn set(&self, set: ScopeSet) -> (ScopeSet, bool) {
        if self.identity {
            return (set, false);
        }
        let mut out = ScopeSet::default();
        let mut dropped = false;
        for id in set.iter() {
            match self.to.get(id.index()).copied().flatten() {
                Some(to) => out.insert(to),
                None => dropped = true,
            }
        }
        (out, dropped)
    }

    /// `request` with its principal's scopes renumbered, and whether a scope was dropped.
    pub fn request(&self, mut request: Request) -> (Request, bool) {
        let dropped = match &mut request.principal {
            Principal::UserToken { scopes, .. }
            | Principal::OrgToken { scopes, .. }
            | Principal::ApiKey { scopes, .. } => {
                let (set, dropped) = self.set(*scopes);
                *scopes = set;
                dropped
            }
            Principal::Anonymous
            | Principal::Session { .. }
            | Principal::Integration { .. }
            | Principal::System => false,
        };
        (request, dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENTRY: &str = include_str!("../../policies/sentry.toml");

    #[test]
    fn scopes_are_renumbered_by_name_and_unknown_ones_dropped() {
        let from = Policy::sentry();
        // The candidate drops `openid` and declares `email` before `profile`.
        let text = SENTRY.replace(
            "\"openid\", \"profile\", \"email\",",
            "\"email\", \"profile\",",
        );
        assert_ne!(text, SENTRY);
        let to = match Policy::load(&crate::Source::new("candidate.toml", text)) {
            Ok(p) => p,
            Err(d) => panic!("candidate policy: {d}"),
        };
        let map = ScopeMap::between(&from, &to);
        assert!(!map.is_identity());
        let set = from
            .scopes
            .parse_set(["org:read", "openid", "profile", "email"])
            .unwrap_or_default();
        let (out, dropped) = map.set(set);
        assert!(dropped);
        assert_eq!(
            to.scopes.sorted_names(out),
            vec!["email", "org:read", "profile"]
        );
        let kept = from.scopes.parse_set(["email"]).unwrap_or_default();
        assert_eq!(
            map.set(kept),
            (to.scopes.parse_set(["email"]).unwrap_or_default(), false)
        );
        assert!(ScopeMap::between(&from, &Policy::sentry()).is_identity());
    }
}
