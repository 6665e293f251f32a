//! HTTP hygiene (issue 15 §5): a method a route does not have is 405 with `Allow` and a JSON
//! body; list pages take `per_page` and link with absolute URLs, as Sentry's do.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};

use crate::{app, App};

async fn get(app: &App, uri: &str, headers: &[(&str, &str)]) -> crate::Resp {
    let mut req = Request::builder().method("GET").uri(uri).header(
        header::AUTHORIZATION,
        format!("Bearer {}", app.tokens["owner"]),
    );
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    app.send(req.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow_and_a_json_body() {
    let app = app().await;
    for who in ["owner", ""] {
        let r = app.call("DELETE", "/api/0/organizations/", who, None).await;
        assert_eq!(
            r.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{who:?}: {:?}",
            r.body
        );
        let allow = r.headers[header::ALLOW].to_str().unwrap();
        let mut methods: Vec<&str> = allow.split(',').map(str::trim).collect();
        methods.sort_unstable();
        assert!(
            methods.contains(&"GET") && methods.contains(&"POST"),
            "{allow}"
        );
        assert!(!methods.contains(&"DELETE"), "{allow}");
        assert_eq!(r.detail(), "Method \"DELETE\" not allowed.");
        assert_eq!(
            r.headers[header::CONTENT_TYPE].to_str().unwrap(),
            "application/json"
        );
    }
    let r = app
        .call("PATCH", "/api/0/organizations/demo/", "owner", Some("{}"))
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.headers.contains_key(header::ALLOW));
    assert_eq!(r.detail(), "Method \"PATCH\" not allowed.");
}

#[tokio::test]
async fn pages_take_per_page_and_link_absolutely_as_sentry_does() {
    let app = app().await;
    for name in ["Alpha", "Beta"] {
        let body = format!(r#"{{"name": "{name}"}}"#);
        let r = app
            .call("POST", "/api/0/organizations/", "owner", Some(&body))
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let all = get(&app, "/api/0/organizations/", &[]).await;
    let total = all.body.as_array().unwrap().len();
    assert!(total >= 2, "{:?}", all.body);

    let host = [("host", "api.example.test:8080")];
    let r = get(&app, "/api/0/organizations/?per_page=1", &host).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    assert_eq!(
        r.headers[header::LINK].to_str().unwrap(),
        "<http://api.example.test:8080/api/0/organizations/?per_page=1&cursor=1:0:1>; \
         rel=\"previous\"; results=\"false\"; cursor=\"1:0:1\", \
         <http://api.example.test:8080/api/0/organizations/?per_page=1&cursor=1:1:0>; \
         rel=\"next\"; results=\"true\"; cursor=\"1:1:0\""
    );
    // The next link, followed: the second item.
    let r = get(&app, "/api/0/organizations/?per_page=1&cursor=1:1:0", &host).await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    assert_eq!(r.body[0], all.body[1]);

    // No query: Sentry's `?&cursor=`; the scheme a TLS-terminating proxy reports.
    let r = get(
        &app,
        "/api/0/organizations/",
        &[
            ("host", "sentry.example.test"),
            ("x-forwarded-proto", "https"),
        ],
    )
    .await;
    let link = r.headers[header::LINK].to_str().unwrap();
    assert!(
        link.starts_with(
            "<https://sentry.example.test/api/0/organizations/?&cursor=100:0:1>; rel=\"previous\""
        ),
        "{link}"
    );
    // Without a host the links stay relative; a host that is not a plain `host:port` is not
    // echoed into them.
    for headers in [&[][..], &[("host", "evil.test/<x>")][..]] {
        let r = get(&app, "/api/0/organizations/", headers).await;
        let link = r.headers[header::LINK].to_str().unwrap();
        assert!(
            link.starts_with("</api/0/organizations/?&cursor="),
            "{link}"
        );
    }

    for bad in ["0", "101", "x", "-1"] {
        let r = get(
            &app,
            &format!("/api/0/organizations/?per_page={bad}"),
            &host,
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(
            r.detail(),
            "per_page: must be an integer from 1 to 100",
            "{bad}"
        );
    }
}
