//! scopegate-core: the pure decision engine.
//!
//! - [`policy`]: scopes, roles, options and granular resources ([`Policy`]).
//! - [`manifest`]: endpoints and permission classes ([`ManifestDoc`], [`Manifest`]).
//! - [`world`]: the data a decision reads, indexed ([`World`]).
//! - [`engine`]: the decision algorithm ([`Engine`]).
//! - [`wire`]: the JSON shapes of worlds, requests and principals.
//! - [`codec`]: requests read from JSON and decisions written to JSON, for every caller.
//! - [`replay`]: logged decisions decided again under a candidate policy or manifest.
//!
//! This crate does no IO, has no clock and no async: every input is a parameter.

pub mod canonical;
pub mod codec;
pub mod decision;
pub mod engine;
pub mod granular;
pub mod manifest;
pub mod method;
pub mod policy;
pub mod replay;
pub mod request;
pub mod scope;
pub mod source;
pub mod wire;
pub mod world;

pub use decision::{Decision, DecisionDoc, Grant, GrantPath, GranularPath, Reason, TraceStep};
pub use engine::{Engine, Resolved};
pub use manifest::{Manifest, ManifestDoc};
pub use method::Method;
pub use policy::Policy;
pub use request::{Principal, Request, Superuser};
pub use scope::{ScopeId, ScopeRegistry, ScopeSet};
pub use source::{Diagnostics, Source};
pub use wire::{PrincipalDoc, RequestDoc, WorldDoc};
pub use world::World;
