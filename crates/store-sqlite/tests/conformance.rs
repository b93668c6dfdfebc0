//! The store conformance suite, run against the SQLite engine.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use portcullis_store_sqlite::SqliteStore;

portcullis_store::store_conformance_tests!(|| async {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    (store, dir)
});
