//! `OpenMode`: a store opened with `MustExist` never creates its database.

use scopegate_store::{connect_with, OpenMode, StoreError};

#[tokio::test]
async fn must_exist_refuses_a_missing_sqlite_file_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.db");
    let url = format!("sqlite://{}", path.display());
    let err = connect_with(&url, OpenMode::MustExist).await.err().unwrap();
    match &err {
        StoreError::Connect { address, cause } => {
            assert_eq!(address, &path.display().to_string());
            assert_eq!(cause, "no such database file");
        }
        other => panic!("expected Connect, got {other:?}"),
    }
    assert!(!path.exists(), "nothing created");

    // Created by the default mode, then opened by `MustExist`, with its data.
    let store = connect_with(&url, OpenMode::CreateIfMissing).await.unwrap();
    store.create_user("a@example.com", false).await.unwrap();
    drop(store);
    assert!(path.exists());
    let store = connect_with(&url, OpenMode::MustExist).await.unwrap();
    assert!(store.user_by_email("a@example.com").await.is_ok());
}
