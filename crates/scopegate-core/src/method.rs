//! HTTP methods.

use std::fmt;
use std::str::FromStr;

/// An HTTP method that a scope map can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    /// GET
    Get,
    /// HEAD
    Head,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
    /// OPTIONS
    Options,
}

impl Method {
    /// Every method, in a fixed order (the index order of [`Method::index`]).
    pub const ALL: [Method; 7] = [
        Method::Get,
        Method::Head,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
        Method::Options,
    ];

    /// The mutation methods of the readonly-mutation guard.
    pub const MUTATIONS: [Method; 4] = [Method::Post, Method::Put, Method::Patch, Method::Delete];

    /// A dense index, `0..7`.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
        }
    }

    /// GET, HEAD and OPTIONS: the methods that change nothing.
    pub fn is_safe(self) -> bool {
        matches!(self, Method::Get | Method::Head | Method::Options)
    }

    /// GET and OPTIONS: the methods a read-only superuser may use (Sentry's
    /// `superuser_has_permission`; HEAD is not among them).
    pub fn is_superuser_read_only(self) -> bool {
        matches!(self, Method::Get | Method::Options)
    }

    /// POST, PUT, PATCH and DELETE.
    pub fn is_mutation(self) -> bool {
        !self.is_safe()
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a method name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown HTTP method `{0}`; expected one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")]
pub struct UnknownMethod(pub String);

impl FromStr for Method {
    type Err = UnknownMethod;

    /// Parses an upper-case method name (the only spelling manifests and requests use).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| UnknownMethod(s.to_string()))
    }
}
