//! Route coverage over a recorded router.

use scopegate_tower::coverage::{coverage, RouteMethod};
use scopegate_tower::RouteRecorder;

use crate::common::{policy, routes, MANIFEST};

#[tokio::test]
async fn coverage_reports_unmapped_routes_and_methods_and_unrouted_endpoints() {
    let recorder = routes()
        .into_iter()
        .filter(|(p, _)| !p.contains("/teams/"))
        .fold(RouteRecorder::new(), |r, (path, mr)| r.route(path, mr));
    let (_router, recorded) = recorder.finish();
    let methods = recorded.methods(()).await;
    assert!(methods.contains(&RouteMethod {
        path: "/api/0/organizations/{organization_id_or_slug}/".into(),
        method: "PUT".into()
    }));
    assert!(!methods.iter().any(|m| m.method == "PATCH"));
    let report = recorded
        .coverage((), "examples/manifest.toml", MANIFEST, &policy())
        .await
        .unwrap();
    assert!(!report.is_clean());
    assert_eq!(
        report.unmapped_routes,
        vec![RouteMethod {
            path: "/api/0/internal/health/".into(),
            method: "GET".into()
        }]
    );
    assert_eq!(
        report.unrouted_endpoints,
        vec!["TeamDetailsEndpoint".to_string()]
    );
    // The example's one read-only mutation has its note.
    assert!(report.readonly_mutations.is_empty());
    let text = report.to_string();
    assert!(text.contains("GET /api/0/internal/health/: route with no manifest endpoint"));
}

#[test]
fn a_readonly_mutation_without_a_note_is_reported_through_the_lint_rule() {
    let manifest = r#"
[permissions.P]
object = "organization"
scope_map = { GET = ["org:read"], POST = ["org:read", "org:write"] }

[[endpoints]]
name = "E"
path = "/x/{organization_id_or_slug}/"
permissions = ["P"]
publish_status = { GET = "public", POST = "public" }
"#;
    let routes = vec![
        RouteMethod {
            path: "/x/{organization_id_or_slug}/".into(),
            method: "POST".into(),
        },
        RouteMethod {
            path: "/x/{organization_id_or_slug}/".into(),
            method: "DELETE".into(),
        },
    ];
    let report = coverage(&routes, "m.toml", manifest, &policy()).unwrap();
    assert_eq!(report.readonly_mutations.len(), 1);
    assert_eq!(report.readonly_mutations[0].code, "SG001");
    assert_eq!(report.readonly_mutations[0].line, 10); // its `publish_status` entry
                                                       // DELETE is routed but no class maps it.
    assert_eq!(report.unmapped_methods, vec![routes[1].clone()]);
    let err = coverage(&routes, "m.toml", "[[endpoints]]\nname = 1\n", &policy()).unwrap_err();
    assert!(err.to_string().contains("m.toml:"), "{err}");
}

#[tokio::test]
#[should_panic(expected = "route with no manifest endpoint")]
async fn assert_clean_fails_the_test_with_the_report() {
    let (_r, recorded) = RouteRecorder::<()>::new()
        .route("/nowhere/", axum::routing::get(|| async { "" }))
        .finish();
    recorded
        .coverage((), "examples/manifest.toml", MANIFEST, &policy())
        .await
        .unwrap()
        .assert_clean();
}
