//! Token secrets: generation, hashing and comparison.
//!
//! # What this module guarantees
//!
//! - A secret is 32 random bytes from the operating system's CSPRNG (through `rand`'s
//!   thread generator), hex-encoded behind a kind prefix (`sgu_` for user tokens, `sntrys_`
//!   for org auth tokens, as Sentry prefixes its org tokens).
//! - Only `hash_secret(secret)` (SHA-256, lower-case hex) is stored.
//! - [`Secret`]'s `Debug` and `Display` never print the secret; [`Secret::expose`] is the
//!   one way to read it, used once to show it to its owner.
//! - [`hashes_match`] compares in constant time.

use std::fmt;

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The prefix of personal user tokens.
pub const USER_TOKEN_PREFIX: &str = "sgu_";
/// The prefix of org auth tokens (Sentry's `sntrys_`).
pub const ORG_TOKEN_PREFIX: &str = "sntrys_";
/// The prefix of service tokens (callers of the decision API, `/v1/`).
pub const SERVICE_TOKEN_PREFIX: &str = "sgs_";

/// The kinds of stored token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A personal token of a user.
    User,
    /// An organization auth token.
    Org,
    /// A service token: may call the decision API (`/v1/`) and nothing else.
    Service,
}

impl TokenKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::User => "user",
            TokenKind::Org => "org",
            TokenKind::Service => "service",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<TokenKind> {
        match s {
            "user" => Some(TokenKind::User),
            "org" => Some(TokenKind::Org),
            "service" => Some(TokenKind::Service),
            _ => None,
        }
    }

    /// The secret prefix of this kind.
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::User => USER_TOKEN_PREFIX,
            TokenKind::Org => ORG_TOKEN_PREFIX,
            TokenKind::Service => SERVICE_TOKEN_PREFIX,
        }
    }
}

/// A token secret. Printing it prints `Secret(***)`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A fresh random secret of `kind`.
    pub fn generate(kind: TokenKind) -> Secret {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Secret(format!("{}{}", kind.prefix(), hex::encode(bytes)))
    }

    /// The secret itself: show it once to its owner, never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The display prefix stored with the token (kind prefix plus four characters).
    pub fn display_prefix(&self) -> String {
        let cut = self
            .0
            .char_indices()
            .nth(self.0.find('_').map_or(4, |i| i + 5))
            .map_or(self.0.len(), |(i, _)| i);
        self.0.get(..cut).unwrap_or_default().to_string()
    }

    /// The last four characters of the secret, stored for display (Sentry's
    /// `token_last_characters`).
    pub fn last_characters(&self) -> String {
        let start = self.0.char_indices().rev().nth(3).map_or(0, |(i, _)| i);
        self.0.get(start..).unwrap_or_default().to_string()
    }

    /// The hash to store.
    pub fn hash(&self) -> String {
        hash_secret(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// SHA-256 of `secret`, lower-case hex.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether two stored hashes are equal, compared in constant time.
pub fn hashes_match(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_random_and_redacted() {
        let a = Secret::generate(TokenKind::Org);
        let b = Secret::generate(TokenKind::Org);
        assert!(a.expose().starts_with("sntrys_"));
        assert_eq!(a.expose().len(), "sntrys_".len() + 64);
        assert_ne!(a, b);
        assert_eq!(format!("{a:?} {a}"), "Secret(***) ***");
        assert_eq!(a.display_prefix().len(), "sntrys_".len() + 4);
        assert!(a.expose().starts_with(&a.display_prefix()));
        assert_eq!(a.last_characters().len(), 4);
        assert!(a.expose().ends_with(&a.last_characters()));
        assert_eq!(a.hash(), hash_secret(a.expose()));
        assert_eq!(a.hash().len(), 64);
        assert!(hashes_match(&a.hash(), &hash_secret(a.expose())));
        assert!(!hashes_match(&a.hash(), &b.hash()));
        assert!(!hashes_match("ab", "abc"));
    }
}
