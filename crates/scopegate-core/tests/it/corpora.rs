//! The real inputs: Sentry's manifest from `fixtures/sentry/` loads unchanged,
//! and the repository's `examples/` decide as expected.

use std::path::{Path, PathBuf};

use scopegate_core::{
    Engine, Manifest, ManifestDoc, Policy, Request, RequestDoc, Source, World, WorldDoc,
};

use crate::reference::{self, RefDecision, RefManifest};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &Path) -> Source {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Source::new(path.display().to_string(), text)
}

#[test]
fn sentry_manifests_load_unchanged() {
    let dir = repo().join("fixtures/sentry");
    let policy = Policy::sentry();
    for (file, notes) in [
        ("sentry-manifest.json", true),
        ("sentry-manifest-before-notes.json", false),
    ] {
        let source = read(&dir.join(file));
        let manifest = Manifest::load(&source, &policy).unwrap_or_else(|d| panic!("{file}:\n{d}"));
        let doc = ManifestDoc::parse(&source).unwrap_or_else(|d| panic!("{file}:\n{d}"));
        // Nothing lost between the document and the compiled manifest.
        assert_eq!(manifest.endpoints.len(), doc.endpoints.len(), "{file}");
        assert_eq!(manifest.classes.len(), doc.classes.len(), "{file}");
        assert_eq!(
            manifest.endpoints.len(),
            51,
            "{file}: the corpus README says 51 endpoints"
        );
        assert_eq!(
            manifest.classes.len(),
            36,
            "{file}: the corpus README says 36 classes"
        );
        let noted = manifest.classes.iter().any(|c| !c.notes.is_empty())
            || manifest.endpoints.iter().any(|e| !e.notes.is_empty());
        assert_eq!(noted, notes, "{file}: exception notes");
        for e in &manifest.endpoints {
            assert!(manifest.endpoint_id(&e.name).is_some());
            assert!(!e.classes.is_empty(), "{file}: {} has no class", e.name);
        }
    }
}

#[test]
fn examples_decide_as_expected() {
    let policy = Policy::sentry();
    let examples = repo().join("examples");
    let manifest = Manifest::load(&read(&examples.join("manifest.toml")), &policy)
        .unwrap_or_else(|d| panic!("{d}"));
    let world_doc: WorldDoc = serde_json::from_str(read(&examples.join("world.json")).text())
        .expect("examples/world.json");
    let world = World::build(&world_doc, &policy).expect("examples/world.json builds");
    let engine = Engine::new(&policy, &manifest, &world);
    let model = RefManifest::from_compiled(&manifest, &policy);

    // One expectation per line of examples/requests.jsonl, from docs/decision.md.
    let expected: [(&str, &[&str]); 13] = [
        // member 12 reads the organization
        ("allowed", &["role_scope"]),
        // member 12 may not write it
        ("missing_scope", &[]),
        // owner 10's token holds only org:read: stopped at the gate
        ("insufficient_scope", &[]),
        // org token with org:read creates a token (a documented read-only mutation)
        ("allowed", &["org_token"]),
        // member 12 reads `api`, owned by its team
        ("allowed", &["role_scope"]),
        // ...but not `web`
        ("no_project_access", &[]),
        // member 13 is team admin of `web`'s team, with team roles on
        ("allowed", &["team_role_scope"]),
        // member 12 is on the replay allowlist
        ("allowed", &["role_scope", "granular_grant"]),
        // the owner is not
        ("granular_access_denied", &[]),
        // the integration holds event:read
        ("allowed", &["integration", "granular_bypass"]),
        // a read-only superuser may not PUT
        ("superuser_read_only", &[]),
        // the owner of globex is nobody in acme
        ("not_a_member", &[]),
        // `old` is inactive
        ("not_found", &[]),
    ];
    let text = read(&examples.join("requests.jsonl"));
    let lines: Vec<&str> = text
        .text()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), expected.len());
    for (line, (reason, grant)) in lines.iter().zip(expected) {
        let doc: RequestDoc = serde_json::from_str(line).expect("a request");
        let request = Request::from_doc(doc.clone(), &policy).expect("a valid request");
        let got = RefDecision::from_doc(&engine.decide(&request).to_doc(&policy));
        assert_eq!(got.reason, reason, "{line}");
        if got.allowed() {
            assert_eq!(
                got.grant.as_deref(),
                Some(&grant.iter().map(|s| s.to_string()).collect::<Vec<_>>()[..]),
                "{line}"
            );
        }
        assert_eq!(
            got,
            reference::decide(&policy, &model, &world_doc, &doc),
            "{line}"
        );
    }

    // examples/request.json: member 12 reads the organization.
    let request = Request::from_json(read(&examples.join("request.json")).text(), &policy)
        .expect("examples/request.json");
    assert!(engine.decide(&request).allowed());
}

#[test]
fn builtin_sentry_policy_loads_cleanly() {
    // `Policy::sentry()` falls back to an empty policy rather than panic: make sure it never
    // has to.
    let source = Source::new(
        "policies/sentry.toml",
        scopegate_core::policy::SENTRY_POLICY_TOML,
    );
    let policy = Policy::load(&source).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(policy, Policy::sentry());
    assert_eq!(policy.scopes.len(), 25);
    assert_eq!(
        policy.scopes.sorted_names(policy.readonly),
        [
            "alerts:read",
            "event:read",
            "member:read",
            "org:read",
            "project:read",
            "team:read"
        ]
    );
    assert_eq!(
        policy.scopes.sorted_names(policy.token_only),
        ["project:distribution"]
    );
    let roles: Vec<_> = policy
        .org_roles
        .iter()
        .map(|r| (r.id.as_str(), r.scopes.len(), r.global, r.retired))
        .collect();
    assert_eq!(
        roles,
        [
            ("member", 11, false, false),
            ("admin", 16, false, true),
            ("manager", 19, true, false),
            ("owner", 20, true, false)
        ]
    );
    let team: Vec<_> = policy
        .team_roles
        .iter()
        .map(|r| (r.id.as_str(), r.scopes.len()))
        .collect();
    assert_eq!(team, [("contributor", 8), ("admin", 15)]);
    // Minimum team roles (docs/sentry-model.md §2.3): member → contributor, the rest → admin.
    let minimum: Vec<_> = (0..4).map(|i| policy.minimum_team_role(i)).collect();
    assert_eq!(minimum, [Some(0), Some(1), Some(1), Some(1)]);
}
