//! `object_store`'s S3 client, as the file asset's S3 ops use it, against the server of
//! `cargo xtask s3 up` (path-style requests, plain HTTP on loopback).
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use teraslice_services_smoke::{s3_env, unique};

fn store() -> impl ObjectStore {
    let env = s3_env();
    let bucket = std::env::var("S3_BUCKET")
        .expect("S3_BUCKET is not set: `cargo xtask s3 env` prints it (the bucket `up` creates)");
    AmazonS3Builder::new()
        .with_endpoint(&env.endpoint)
        .with_allow_http(true)
        .with_access_key_id(env.access_key_id)
        .with_secret_access_key(env.secret_access_key)
        .with_region(env.region)
        .with_bucket_name(bucket)
        .build()
        .expect("S3 client")
}

#[tokio::test]
async fn object_store_puts_gets_ranges_lists_and_deletes_an_object() {
    let store = store();
    let prefix = unique("smoke");
    let path = Path::from(format!("{prefix}/part-0.ldjson"));
    let body: String = (0..1_000).map(|i| format!("{{\"id\":{i}}}\n")).collect();
    store
        .put(&path, PutPayload::from(body.clone()))
        .await
        .expect("put");

    let whole = store
        .get(&path)
        .await
        .expect("get")
        .bytes()
        .await
        .expect("body");
    assert_eq!(whole, body.as_bytes());
    // The byte ranges the s3_reader's slices read.
    let range = store.get_range(&path, 0..9).await.expect("range get");
    assert_eq!(&range[..], b"{\"id\":0}\n");

    let listed: Vec<_> = store
        .list(Some(&Path::from(prefix.clone())))
        .try_collect()
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].size, body.len() as u64);

    store.delete(&path).await.expect("delete");
    let missing = store.head(&path).await;
    assert!(
        matches!(missing, Err(object_store::Error::NotFound { .. })),
        "deleted object still there: {missing:?}"
    );
}
