//! The service manifest: every route declared, every mutation guarded by a write scope
//! unless an exception note says why.

use scopegate_core::{Method, Policy};
use scopegate_server::AppState;

#[tokio::test]
async fn read_only_scopes_on_mutations_carry_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = scopegate_store::connect(&url).await.unwrap();
    let policy = Policy::sentry();
    let state = AppState::new(store, policy.clone()).unwrap();
    let mut checked = 0;
    for endpoint in &state.manifest.endpoints {
        assert!(endpoint.path.is_some(), "{} has no path", endpoint.name);
        for class in endpoint.classes.iter().map(|c| &state.manifest.classes[*c]) {
            for method in Method::MUTATIONS {
                let map = class.scopes_for(method);
                if map.intersects(policy.readonly) {
                    checked += 1;
                    assert!(
                        class
                            .notes
                            .iter()
                            .chain(&endpoint.notes)
                            .any(|(m, n)| *m == method && !n.is_empty()),
                        "{} {method:?} ({}) accepts a read-only scope without a note",
                        endpoint.name,
                        class.name
                    );
                }
            }
        }
    }
    assert!(checked > 0, "the exceptions are exercised");
    assert_eq!(
        state.endpoints.len(),
        state.manifest.endpoints.len(),
        "paths are unique"
    );
}
