//! What the core's sharded world provides to the incremental index (`WorldPatch`,
//! `World::patched`, structural `World` equality: branch `world-shards`), stood in for
//! until that branch is merged: [`patched`] answers `None` (the caller then reads the whole
//! world, as before issue 13) and [`same_world`] compares the worlds' debug renderings
//! (equal for worlds built alike from equal documents).

use scopegate_core::wire::{IntegrationDoc, UserDoc};
use scopegate_core::world::WorldErrors;
use scopegate_core::{Policy, World, WorldDoc};

/// What to change in a [`World`]: the design's `scopegate_core::world::WorldPatch`.
#[derive(Debug, Clone, Default)]
#[allow(
    dead_code,
    reason = "read by `World::patched` once the sharded world is merged"
)]
pub(super) struct WorldPatch {
    /// Organizations to add or replace, each complete.
    pub orgs: WorldDoc,
    /// Organization ids to drop.
    pub removed_orgs: Vec<u64>,
    /// Users to add or replace.
    pub users: Vec<UserDoc>,
    /// User ids to drop.
    pub removed_users: Vec<u64>,
    /// When set, replaces every integration.
    pub integrations: Option<Vec<IntegrationDoc>>,
}

/// `world.patched(patch, policy)`, or `None` where the core cannot patch a world.
pub(super) fn patched(
    world: &World,
    patch: &WorldPatch,
    policy: &Policy,
) -> Option<Result<World, WorldErrors>> {
    let _ = (world, patch, policy);
    None
}

/// Whether two worlds hold the same (`World: PartialEq` once sharded).
pub(super) fn same_world(a: &World, b: &World) -> bool {
    format!("{a:?}") == format!("{b:?}")
}
