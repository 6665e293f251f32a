//! `matrix` and `diff`, computed with the engine on the synthetic world.

use scopegate_core::{Manifest, Policy, Source};
use scopegate_lint::matrix::diff::diff;
use scopegate_lint::matrix::{compute, render, Matrix, MatrixFormat};

use crate::fixture;

fn matrix(name: &str) -> Matrix {
    let policy = Policy::sentry();
    let path = fixture(&format!("matrix/{name}"));
    let source = Source::new(
        path.display().to_string(),
        std::fs::read_to_string(&path).unwrap(),
    );
    let manifest = Manifest::load(&source, &policy).unwrap();
    compute(&policy, &manifest).unwrap()
}

fn cell(m: &Matrix, endpoint: &str, method: &str, column: &str) -> bool {
    let c = m.columns.iter().position(|c| c.id == column).unwrap();
    let r = m
        .rows
        .iter()
        .find(|r| r.endpoint == endpoint && r.method == method)
        .unwrap();
    r.allowed[c]
}

#[test]
fn columns_cover_every_principal_class_of_the_policy() {
    let m = matrix("old.toml");
    let policy = Policy::sentry();
    let ids: Vec<&str> = m.columns.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids.len(),
        policy.org_roles.len() + policy.team_roles.len() + policy.readonly.len() + 2
    );
    for r in &policy.org_roles {
        assert!(ids.contains(&format!("role:{}", r.id).as_str()));
    }
    for r in &policy.team_roles {
        assert!(ids.contains(&format!("team:{}", r.id).as_str()));
    }
    for s in policy.scopes.sorted_names(policy.readonly) {
        assert!(ids.contains(&format!("token:{s}").as_str()));
    }
    assert!(ids.contains(&"org_token") && ids.contains(&"superuser:read"));
    assert_eq!(m.rows.len(), 5);
}

#[test]
fn cells_follow_the_scope_maps() {
    let m = matrix("old.toml");
    let ep = "app.SavedSearchEndpoint";
    // a token holding one scope: exactly the methods whose scope map lists it
    assert!(cell(&m, ep, "GET", "token:org:read"));
    assert!(cell(&m, ep, "POST", "token:org:read"));
    assert!(!cell(&m, ep, "DELETE", "token:org:read"));
    assert!(!cell(&m, ep, "GET", "token:project:read"));
    // owners may do everything; read-only superusers only read
    for method in ["GET", "POST", "DELETE"] {
        assert!(cell(&m, ep, method, "role:owner"));
    }
    assert!(cell(&m, ep, "GET", "superuser:read"));
    assert!(!cell(&m, ep, "POST", "superuser:read"));
    let proj = "app.ProjectDetailsEndpoint";
    assert!(cell(&m, proj, "GET", "token:project:read"));
    assert!(!cell(&m, proj, "PUT", "role:member"));
    assert!(cell(&m, proj, "PUT", "team:admin"));
}

#[test]
fn matrix_formats() {
    let m = matrix("old.toml");
    insta::assert_snapshot!(render(&m, MatrixFormat::Text));
    insta::assert_snapshot!(render(&m, MatrixFormat::Csv));
    insta::assert_snapshot!(render(&m, MatrixFormat::Markdown));
    let json: serde_json::Value = serde_json::from_str(&render(&m, MatrixFormat::Json)).unwrap();
    assert_eq!(json["rows"].as_array().unwrap().len(), 5);
}

#[test]
fn diff_lists_gains_and_losses_both_ways() {
    let (old, new) = (matrix("old.toml"), matrix("new.toml"));
    let d = diff(&old, &new);
    assert!(d.gained > 0 && d.lost > 0);
    assert!(d
        .changes
        .iter()
        .any(|c| c.gained && c.principal == "token:project:read" && c.method == "PUT"));
    assert!(d
        .changes
        .iter()
        .any(|c| !c.gained && c.principal == "token:org:read" && c.method == "POST"));
    let back = diff(&new, &old);
    assert_eq!((back.gained, back.lost), (d.lost, d.gained));
    assert_eq!(diff(&old, &old).changes, Vec::new());
    insta::assert_snapshot!(d.text());
}
