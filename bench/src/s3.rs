//! The `file` asset's S3 ops against the S3 server of `S3_ENDPOINT` (issue #17):
//! data_generator → s3_exporter and s3_reader → noop, each against a plain `object_store` loop
//! doing the same work (PUT the same ldjson objects; GET and parse every object) in this run.
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde_json::{json, Map, Value};

use crate::es_asset::run_execution;
use crate::report::{ratio, Report};

const TITLE: &str = "S3 (file asset)";
const WORKERS: usize = 2;
const BATCH: usize = 5_000;
const WRITE: &str = "records/s, data_generator → s3_exporter (ldjson)";
const WRITE_OWN: &str =
    "records/s, s3_exporter's own work (the write's time less data_generator → noop's)";
const READ_WHOLE: &str =
    "records/s, s3_reader → noop (ldjson, default size 10 MB: one slice per object)";
const READ: &str = "records/s, s3_reader → noop (ldjson, 1 MB ranges)";
const READ_OWN: &str =
    "records/s, s3_reader's own work, default size (the read's time less an execution over no objects)";

struct Server {
    endpoint: String,
    key: String,
    secret: String,
    region: String,
    bucket: String,
}

fn server() -> Option<Server> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    Some(Server {
        endpoint: var("S3_ENDPOINT")?,
        key: var("S3_ACCESS_KEY_ID")?,
        secret: var("S3_SECRET_ACCESS_KEY")?,
        region: var("S3_REGION").unwrap_or_else(|| "us-east-1".into()),
        bucket: var("S3_BUCKET")?,
    })
}

pub async fn run(report: &mut Report, scale: u64) -> anyhow::Result<()> {
    let records = 50_000 * usize::try_from(scale).unwrap_or(1);
    let intro = format!(
        "Against the S3 server of `S3_ENDPOINT` (moto from `cargo xtask s3 up` unless set): {records} generated \
         records in slices of {BATCH} on {WORKERS} in-process workers, one ldjson object per slice, from the EC's \
         start to its end; then s3_reader over those objects (about 1.9 MB each) with the default `size` (10 MB: one \
         whole-object GET per object) and in 1 MB byte ranges (two ranged GETs per object). Baselines in the same run: \
         {WORKERS} concurrent `object_store` loops serialising the same records to ldjson and PUTting one object per {BATCH} (write; the ops also generate the records, so a data_generator → noop run \
         is timed too and the exporter's own share is the difference), and GETting every object and \
         parsing each line as JSON (read). Target: ≥ 0.8."
    );
    let Some(s) = server() else {
        let sec = report.section(TITLE, &intro);
        for metric in [WRITE, WRITE_OWN, READ_WHOLE, READ, READ_OWN] {
            sec.row(
                metric,
                "not measured: S3_ENDPOINT not set".into(),
                "-".into(),
                "-".into(),
            );
        }
        return Ok(());
    };
    let store: Arc<dyn ObjectStore> = Arc::new(
        AmazonS3Builder::new()
            .with_endpoint(&s.endpoint)
            .with_allow_http(true)
            .with_access_key_id(&s.key)
            .with_secret_access_key(&s.secret)
            .with_region(&s.region)
            .with_bucket_name(&s.bucket)
            .build()
            .context("S3 client")?,
    );
    let tag = format!(
        "ts-bench-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    );
    let mut connectors = Map::new();
    connectors.insert(
        "s3".into(),
        json!({"default": {"endpoint": s.endpoint, "accessKeyId": s.key, "secretAccessKey": s.secret,
                           "region": s.region, "forcePathStyle": true, "sslEnabled": false}}),
    );

    let written = format!("{}/{tag}/ops", s.bucket);
    let write_job = json!({"name": "bench-s3-write", "workers": WORKERS, "analytics": false,
    "apis": [{"_name": "s3_sender_api", "path": written, "format": "ldjson", "size": BATCH}],
    "operations": [
        {"_op": "data_generator", "size": records},
        {"_op": "s3_exporter", "_api_name": "s3_sender_api"}
    ]});
    let write_secs = run_execution(&connectors, write_job).await?;
    let write = records as f64 / write_secs;
    // The same execution with noop in place of s3_exporter: what generating the records and
    // running the execution cost, which the plain loop does not do.
    let gen_job = json!({"name": "bench-s3-gen", "workers": WORKERS, "analytics": false,
        "operations": [{"_op": "data_generator", "size": records}, {"_op": "noop", "size": BATCH}]});
    let gen_secs = run_execution(&connectors, gen_job).await?;
    let objects = fetch_all(&store, &format!("{tag}/ops")).await?;
    let count: usize = objects.iter().map(|(_, b)| lines(b)).sum();
    if count != records {
        bail!("s3_exporter wrote {count} records, expected {records}");
    }

    // The same records as values: the plain loop serialises them as s3_exporter does.
    let batches: Vec<Vec<Value>> = objects
        .iter()
        .map(|(_, body)| {
            body.split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .map(serde_json::from_slice)
                .collect::<Result<Vec<Value>, _>>()
        })
        .collect::<Result<_, _>>()?;
    let started = Instant::now();
    let writers = (0..WORKERS).map(|k| {
        let (store, batches, tag) = (&store, &batches, &tag);
        async move {
            for (i, batch) in batches.iter().enumerate().skip(k).step_by(WORKERS) {
                let mut body = String::new();
                for record in batch {
                    body.push_str(&record.to_string());
                    body.push('\n');
                }
                let key = Path::from(format!("{tag}/plain/{i}.ldjson"));
                store.put(&key, PutPayload::from(body.into_bytes())).await?;
            }
            anyhow::Ok(())
        }
    });
    for r in futures::future::join_all(writers).await {
        r?;
    }
    let raw_write = records as f64 / started.elapsed().as_secs_f64();

    // The plain read loop runs before and after the reader executions (the mean is the
    // baseline), so neither side gains from running first or last against the server.
    let read_before = plain_read(
        &store,
        &objects.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
        records,
    )
    .await?;
    let read_job = |size: u64| {
        json!({"name": "bench-s3-read", "workers": WORKERS, "analytics": false,
        "apis": [{"_name": "s3_reader_api", "path": written, "format": "ldjson", "size": size}],
        "operations": [{"_op": "s3_reader", "_api_name": "s3_reader_api"}, {"_op": "noop"}]})
    };
    let read_whole_secs = run_execution(&connectors, read_job(10_000_000)).await?;
    let read_whole = records as f64 / read_whole_secs;
    let read = records as f64 / run_execution(&connectors, read_job(1_000_000)).await?;

    // Starting and ending an execution whose slicer lists no objects: the fixed cost in the rows
    // above that the plain loop does not pay.
    let empty_job = json!({"name": "bench-s3-empty", "workers": WORKERS, "analytics": false,
        "apis": [{"_name": "s3_reader_api", "path": format!("{}/{tag}/none", s.bucket), "format": "ldjson"}],
        "operations": [{"_op": "s3_reader", "_api_name": "s3_reader_api"}, {"_op": "noop"}]});
    let empty_secs = run_execution(&connectors, empty_job).await?;

    let keys: Vec<Path> = objects.iter().map(|(k, _)| k.clone()).collect();
    let raw_read =
        records as f64 / ((read_before + plain_read(&store, &keys, records).await?) / 2.0);

    for prefix in ["ops", "plain"] {
        let listed: Vec<_> = store
            .list(Some(&Path::from(format!("{tag}/{prefix}"))))
            .try_collect()
            .await
            .unwrap_or_default();
        for m in listed {
            let _ = store.delete(&m.location).await;
        }
    }
    let sec = report.section(TITLE, &intro);
    sec.row(
        WRITE,
        format!("{write:.0}"),
        format!("{raw_write:.0} plain PUT loop"),
        ratio(write, raw_write),
    );
    let own = (write_secs > gen_secs).then(|| records as f64 / (write_secs - gen_secs));
    sec.row(
        WRITE_OWN,
        own.map_or_else(|| "-".into(), |o| format!("{o:.0}")),
        format!("{raw_write:.0} plain PUT loop"),
        own.map_or_else(|| "-".into(), |o| ratio(o, raw_write)),
    );
    sec.row(
        READ_WHOLE,
        format!("{read_whole:.0}"),
        format!("{raw_read:.0} plain GET + parse loop"),
        ratio(read_whole, raw_read),
    );
    sec.row(
        READ,
        format!("{read:.0}"),
        format!("{raw_read:.0} plain GET + parse loop"),
        ratio(read, raw_read),
    );
    let read_own =
        (read_whole_secs > empty_secs).then(|| records as f64 / (read_whole_secs - empty_secs));
    sec.row(
        READ_OWN,
        read_own.map_or_else(|| "-".into(), |o| format!("{o:.0}")),
        format!("{raw_read:.0} plain GET + parse loop"),
        read_own.map_or_else(|| "-".into(), |o| ratio(o, raw_read)),
    );
    Ok(())
}

/// Seconds for `WORKERS` concurrent loops to GET every object of `keys` and parse each line.
async fn plain_read(
    store: &Arc<dyn ObjectStore>,
    keys: &[Path],
    records: usize,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    let readers = (0..WORKERS).map(|k| async move {
        let mut n = 0;
        for key in keys.iter().skip(k).step_by(WORKERS) {
            let body = store.get(key).await?.bytes().await?;
            for line in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                let _: Value = serde_json::from_slice(line)?;
                n += 1;
            }
        }
        anyhow::Ok(n)
    });
    let mut parsed = 0;
    for r in futures::future::join_all(readers).await {
        parsed += r?;
    }
    let secs = started.elapsed().as_secs_f64();
    if parsed != records {
        bail!("the plain read loop parsed {parsed} records, expected {records}");
    }
    Ok(secs)
}

fn lines(body: &[u8]) -> usize {
    body.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count()
}

/// Every object under `prefix` with its body.
async fn fetch_all(
    store: &Arc<dyn ObjectStore>,
    prefix: &str,
) -> anyhow::Result<Vec<(Path, Vec<u8>)>> {
    let listed: Vec<_> = store.list(Some(&Path::from(prefix))).try_collect().await?;
    let mut out = Vec::new();
    for m in listed {
        let body = store.get(&m.location).await?.bytes().await?.to_vec();
        out.push((m.location, body));
    }
    Ok(out)
}
