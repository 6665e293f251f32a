//! The Sentry manifest of the benchmark: the corpus copy (or the built-in one), augmented
//! with the replay guard, and compiled.

use anyhow::Context;
use scopegate_core::{Manifest, Policy, Source};

/// The built-in manifest: a copy of `shared/corpora/sentry/sentry-manifest.json`.
const BUILTIN_MANIFEST: &str = include_str!("../../data/sentry-manifest.json");

/// The manifest text and where it came from: `shared/corpora/sentry/sentry-manifest.json`
/// when the workspace has it beside it, else the built-in copy; see [`augment_manifest`].
pub fn manifest_json() -> anyhow::Result<(String, String)> {
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/sentry/sentry-manifest.json");
    let (origin, text) = match std::fs::read_to_string(&shared) {
        Ok(text) => (
            "shared/corpora/sentry/sentry-manifest.json".to_string(),
            text,
        ),
        Err(_) => (
            "built-in copy of the Sentry manifest".to_string(),
            BUILTIN_MANIFEST.to_string(),
        ),
    };
    let augmented = augment_manifest(&text).with_context(|| format!("cannot parse {origin}"))?;
    Ok((origin, augmented))
}

/// The built-in copy of the Sentry manifest, as shipped with this crate.
pub fn builtin_manifest_json() -> &'static str {
    BUILTIN_MANIFEST
}

/// Adds the replay guard to a Sentry manifest (JSON form): the corpus marks no endpoint with
/// the granular replay resource, so the replay details endpoint gets it (as Sentry's
/// `has_replay_permission` guards it) and three endpoints are added: project keys
/// (`ProjectSettingPermission`), a project replay endpoint and an organization replay
/// endpoint, both replay-guarded.
pub fn augment_manifest(text: &str) -> anyhow::Result<String> {
    let mut doc: serde_json::Value = serde_json::from_str(text)?;
    let extra: serde_json::Value = serde_json::json!({
        "permissions": {
            "sentry.api.bases.project.ProjectSettingPermission": {
                "object": "project",
                "scope_map": {
                    "GET": ["project:read", "project:write", "project:admin"],
                    "POST": ["project:write", "project:admin"],
                    "PUT": ["project:write", "project:admin"],
                    "DELETE": ["project:admin"]
                }
            },
            "sentry.api.bases.project.ProjectEventPermission": {
                "object": "project",
                "scope_map": {
                    "GET": ["event:read", "event:write", "event:admin"],
                    "POST": ["event:write", "event:admin"],
                    "PUT": ["event:write", "event:admin"],
                    "DELETE": ["event:admin"]
                }
            }
        },
        "endpoints": [
            {
                "name": "sentry.api.endpoints.project_keys.ProjectKeysEndpoint",
                "permissions": ["sentry.api.bases.project.ProjectSettingPermission"],
                "publish_status": {"GET": "public", "POST": "public"},
                "owner": "ingest"
            },
            {
                "name": "sentry.replays.endpoints.project_replay_recording_segment_index.ProjectReplayRecordingSegmentIndexEndpoint",
                "permissions": ["sentry.api.bases.project.ProjectEventPermission"],
                "publish_status": {"GET": "public", "DELETE": "public"},
                "owner": "replay",
                "granular_resource": "replay"
            },
            {
                "name": "sentry.replays.endpoints.organization_replay_index.OrganizationReplayIndexEndpoint",
                "permissions": ["sentry.replays.endpoints.project_replay_details.ReplayDetailsPermission"],
                "publish_status": {"GET": "public"},
                "owner": "replay",
                "granular_resource": "replay"
            }
        ]
    });
    if let (Some(perms), Some(extra_perms)) = (
        doc.get_mut("permissions").and_then(|p| p.as_object_mut()),
        extra.get("permissions").and_then(|p| p.as_object()),
    ) {
        for (k, v) in extra_perms {
            perms.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    if let (Some(eps), Some(extra_eps)) = (
        doc.get_mut("endpoints").and_then(|e| e.as_array_mut()),
        extra.get("endpoints").and_then(|e| e.as_array()),
    ) {
        for e in eps.iter_mut() {
            let replay = e
                .get("name")
                .and_then(|n| n.as_str())
                .is_some_and(|n| n.ends_with("ProjectReplayDetailsEndpoint"));
            if let (true, Some(obj)) = (replay, e.as_object_mut()) {
                obj.entry("granular_resource")
                    .or_insert_with(|| serde_json::Value::String("replay".into()));
            }
        }
        for extra in extra_eps {
            let name = extra.get("name");
            if !eps.iter().any(|e| e.get("name") == name) {
                eps.push(extra.clone());
            }
        }
    }
    Ok(serde_json::to_string_pretty(&doc)?)
}

/// Compiles the manifest against `policy`.
pub fn manifest(policy: &Policy) -> anyhow::Result<(String, Manifest)> {
    let (origin, text) = manifest_json()?;
    let m = Manifest::load(&Source::new("sentry-manifest.json", text), policy)
        .map_err(|d| anyhow::anyhow!("{d}"))?;
    Ok((origin, m))
}
