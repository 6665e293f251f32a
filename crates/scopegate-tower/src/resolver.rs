//! Who is asking: the application's [`PrincipalResolver`].
//!
//! The layer does not know how the application authenticates (bearer tokens, sessions,
//! mTLS, …); the application says, once, by implementing [`PrincipalResolver`].
//! [`crate::Replica::tokens`] is a ready resolver for scopegate's own stored tokens.
//!
//! Secrets must not reach logs: a resolver reads the credential and returns a
//! [`Principal`], which carries no secret.

use async_trait::async_trait;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use scopegate_core::Principal;

/// A credential the resolver refuses, or cannot check now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// A malformed or unknown credential: 401 with this `detail` and `WWW-Authenticate:
    /// Bearer`, as the service answers an invalid token.
    #[error("invalid credential: {0}")]
    Invalid(String),
    /// A credential that is no principal here (e.g. a service token): 403 with this
    /// `detail`.
    #[error("forbidden credential: {0}")]
    Forbidden(String),
    /// The credential cannot be checked now (its store is down): 503, fail closed.
    #[error("cannot resolve the credential: {0}")]
    Unavailable(String),
}

/// Resolves a request's credential into the principal the engine decides for.
///
/// No credential is [`Principal::Anonymous`] (the engine then denies what needs one,
/// with its own status).
///
/// A resolver implements one of the two methods: [`PrincipalResolver::resolve_now`] when
/// it answers without waiting (a signed cookie, an in-memory table: the layer then makes no
/// allocation for its future), [`PrincipalResolver::resolve`] when it must wait (a
/// database, a session store).
#[async_trait]
pub trait PrincipalResolver: Send + Sync + 'static {
    /// The principal at once, or `None` (the default) when the resolver must wait: the
    /// layer then awaits [`PrincipalResolver::resolve`].
    fn resolve_now(&self, parts: &Parts) -> Option<Result<Principal, ResolveError>> {
        let _ = parts;
        None
    }

    /// The principal of the request whose head is `parts`, waiting if need be. The default
    /// answers with [`PrincipalResolver::resolve_now`] (and refuses, 503, for a resolver
    /// that implements neither).
    async fn resolve(&self, parts: &Parts) -> Result<Principal, ResolveError> {
        self.resolve_now(parts).unwrap_or_else(|| {
            Err(ResolveError::Unavailable(
                "the resolver implements neither resolve_now nor resolve".into(),
            ))
        })
    }
}

/// The bearer secret of a request, as the service reads it: `None` without an
/// `Authorization` header; a header that is not `Bearer <token>` is
/// [`ResolveError::Invalid`].
pub fn bearer(headers: &HeaderMap) -> Result<Option<&str>, ResolveError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let invalid = || ResolveError::Invalid("Invalid authorization header".into());
    let value = value.to_str().map_err(|_| invalid())?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn bearer_reads_the_header_as_the_service_does() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), Ok(None));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer  abc "),
        );
        assert_eq!(bearer(&h), Ok(Some("abc")));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert!(matches!(bearer(&h), Err(ResolveError::Invalid(_))));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert!(matches!(bearer(&h), Err(ResolveError::Invalid(_))));
    }
}
