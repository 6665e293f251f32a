//! The management plane (`scopegate_server::plane`): the management API runs on it, the
//! decision API does not, so decisions are answered while management is busy.

use std::time::Duration;

use axum::http::StatusCode;
use scopegate_server::plane::ManagementPlane;
use serde_json::json;

use crate::app;

/// Long enough to tell "answered" from "waiting", never a performance bound: a request that
/// is still waiting after this is asserted to be waiting; one asserted to be answered may
/// take up to [`PATIENCE`].
const A_MOMENT: Duration = Duration::from_millis(200);
const PATIENCE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn decisions_are_answered_while_the_management_plane_is_wedged() {
    let plane = ManagementPlane::start(1, 0).unwrap();
    let app = app().await.on_plane(plane.handle());
    // Before: both planes answer.
    let org = app
        .call("GET", "/api/0/organizations/demo/", "owner", None)
        .await;
    assert_eq!(org.status, StatusCode::OK, "{:?}", org.body);

    // Wedge the plane's only worker thread until told to go on.
    let (release, wedge) = std::sync::mpsc::channel::<()>();
    let (wedged, is_wedged) = tokio::sync::oneshot::channel();
    let _wedge = plane.handle().spawn(async move {
        let _ = wedged.send(());
        let _ = wedge.recv();
    });
    is_wedged.await.unwrap();

    // A management request waits for the plane…
    let router = app.router.clone();
    let request = app.request("GET", "/api/0/organizations/demo/", "owner", None);
    let pending = tokio::spawn(async move {
        use tower::ServiceExt;
        router.oneshot(request).await.unwrap().status()
    });
    tokio::time::sleep(A_MOMENT).await;
    assert!(
        !pending.is_finished(),
        "a management request was answered while the management plane was wedged: it did not run there"
    );

    // …while a decision does not.
    let body = json!({
        "principal": {"kind": "bearer", "token": app.tokens["owner"]},
        "endpoint": "OrganizationDetailsEndpoint",
        "method": "GET",
        "organization": "demo"
    });
    let decided = tokio::time::timeout(
        PATIENCE,
        app.call("POST", "/v1/check", "service", Some(&body.to_string())),
    )
    .await
    .expect("a decision waited for the wedged management plane");
    assert_eq!(decided.status, StatusCode::OK, "{:?}", decided.body);
    assert_eq!(decided.body["allowed"], json!(true), "{:?}", decided.body);
    assert!(!pending.is_finished());

    // Released, the management request is answered.
    release.send(()).unwrap();
    let status = tokio::time::timeout(PATIENCE, pending)
        .await
        .expect("the management request was answered once the plane was free")
        .unwrap();
    assert_eq!(status, StatusCode::OK);
}
