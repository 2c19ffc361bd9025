//! Writing one object: a single PUT up to a part's size, else a multipart upload in parts of
//! that size (Teraslice's `s3_exporter`: 100 MiB parts, parts uploaded one at a time, the
//! upload aborted on any error so no parts are left behind).
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

/// Teraslice's chunk size.
pub const PART_SIZE: usize = 100 * 1024 * 1024;

/// S3's smallest part (every part but the last).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

/// Writes `body` at `key`, in parts of `part_size` (at least [`MIN_PART_SIZE`]) when larger.
/// The client's own retry policy applies to every request, parts included.
pub async fn put_object(
    store: &dyn ObjectStore,
    key: &Path,
    body: Vec<u8>,
    part_size: usize,
) -> object_store::Result<()> {
    let part_size = part_size.max(MIN_PART_SIZE);
    if body.len() <= part_size {
        store.put(key, PutPayload::from(body)).await?;
        return Ok(());
    }
    let body = bytes::Bytes::from(body);
    let mut upload = store.put_multipart(key).await?;
    let mut parts = Ok(());
    for start in (0..body.len()).step_by(part_size) {
        let end = (start + part_size).min(body.len());
        if let Err(e) = upload
            .put_part(PutPayload::from(body.slice(start..end)))
            .await
        {
            parts = Err(e);
            break;
        }
    }
    let completed = match parts {
        Ok(()) => upload.complete().await.map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = completed {
        if let Err(abort) = upload.abort().await {
            tracing::warn!(key = %key, error = %abort, "s3_exporter: could not abort a failed multipart upload");
        }
        return Err(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    async fn round_trip(len: usize) -> Vec<u8> {
        let store = InMemory::new();
        let body: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let key = Path::from("a/b.ldjson");
        let written = put_object(&store, &key, body.clone(), MIN_PART_SIZE).await;
        assert!(written.is_ok(), "{written:?}");
        let read = match store.get(&key).await {
            Ok(got) => got.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
            Err(e) => panic!("{e}"),
        };
        assert_eq!(read.len(), body.len());
        assert!(read == body, "the object differs from what was written");
        read
    }

    #[tokio::test]
    async fn objects_of_every_size_around_the_part_size_read_back_whole() {
        for len in [
            0,
            1,
            MIN_PART_SIZE - 1,
            MIN_PART_SIZE,
            MIN_PART_SIZE + 1,
            2 * MIN_PART_SIZE,
            2 * MIN_PART_SIZE + 7,
        ] {
            round_trip(len).await;
        }
    }
}
