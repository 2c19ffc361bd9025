//! The elasticsearch ops against `OPENSEARCH_URL` (issue #8): data_generator → elasticsearch_bulk,
//! and elasticsearch_reader → elasticsearch_bulk (reindex), each against a plain reqwest loop doing
//! the same work (`_bulk`, sliced `_search` scroll + `_bulk`) on the same documents in this run.
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use reqwest::Method;
use serde_json::{json, Map, Value};
use teraslice_core::config::SystemConfig;
use teraslice_core::job::validate_job;
use teraslice_core::store::{MemoryStore, StateStore};
use teraslice_core::{ExecutionRecord, ExecutionStatus, JobConfig};
use teraslice_runtime::{
    ControllerOptions, ExecutionController, OpRegistry, RuntimeTimeouts, Worker, WorkerOptions,
};

use crate::report::{ratio, Report};

const TITLE: &str = "Elasticsearch asset";
const WORKERS: usize = 2;
const BATCH: usize = 5_000;
const WRITE: &str = "records/s, data_generator → elasticsearch_bulk";
const REINDEX: &str = "records/s, elasticsearch_reader → elasticsearch_bulk (reindex)";

pub async fn run(report: &mut Report, scale: u64) -> anyhow::Result<()> {
    let records = 50_000 * usize::try_from(scale).unwrap_or(1);
    let intro = format!(
        "Against the OpenSearch of `OPENSEARCH_URL`: {records} generated records in slices of {BATCH} on {WORKERS} \
         in-process workers, elasticsearch_bulk `size` {BATCH} (one `_bulk` request per slice), from the EC's start \
         to its end. Baselines in the same run on the same documents: {WORKERS} concurrent reqwest senders posting \
         `_bulk` requests of {BATCH} documents (write), and {WORKERS} sliced `_search` scrolls of {BATCH} hits each \
         posting every page as one `_bulk` (reindex, ids kept). Every index has 1 shard, 0 replicas. Target: ≥ 0.8."
    );
    let Some(url) = std::env::var("OPENSEARCH_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        let s = report.section(TITLE, &intro);
        for metric in [WRITE, REINDEX] {
            s.row(
                metric,
                "not measured: OPENSEARCH_URL not set".into(),
                "-".into(),
                "-".into(),
            );
        }
        return Ok(());
    };
    let es = Es {
        http: reqwest::Client::new(),
        url: url.trim_end_matches('/').to_string(),
    };
    let tag = format!(
        "{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    );
    let names: [String; 4] =
        ["gen", "raw-write", "reindex", "raw-reindex"].map(|what| format!("ts-bench-{what}-{tag}"));
    let measured = measure(&es, &names, records).await;
    for name in &names {
        if let Err(e) = es.call(Method::DELETE, name, None).await {
            eprintln!("bench: could not delete index {name}: {e:#}");
        }
    }
    let m = measured?;
    let s = report.section(TITLE, &intro);
    s.row(
        WRITE,
        format!("{:.0}", m.write),
        format!("{:.0} plain `_bulk` loop", m.raw_write),
        ratio(m.write, m.raw_write),
    );
    s.row(
        REINDEX,
        format!("{:.0}", m.reindex),
        format!("{:.0} plain scroll + `_bulk` loop", m.raw_reindex),
        ratio(m.reindex, m.raw_reindex),
    );
    Ok(())
}

struct Measured {
    write: f64,
    raw_write: f64,
    reindex: f64,
    raw_reindex: f64,
}

async fn measure(es: &Es, names: &[String; 4], records: usize) -> anyhow::Result<Measured> {
    let [generated, raw_written, reindexed, raw_reindexed] = names;
    let settings = json!({
        "settings": {"number_of_shards": 1, "number_of_replicas": 0},
        "mappings": {"properties": {"created": {"type": "date"}}}
    });
    for name in names {
        es.call(Method::PUT, name, Some(settings.to_string()))
            .await
            .with_context(|| format!("creating index {name}"))?;
    }
    let connectors = connectors(&es.url);

    let write_job = json!({"name": "bench-es-write", "workers": WORKERS, "analytics": false, "operations": [
        {"_op": "data_generator", "size": records, "format": "utcBetween",
         "start": "2024-01-01T00:00:00Z", "end": "2024-01-02T00:00:00Z"},
        {"_op": "elasticsearch_bulk", "index": generated, "size": BATCH}
    ]});
    let write = records as f64 / run_execution(&connectors, write_job).await?;
    es.expect_count(generated, records).await?;

    // The baseline writes the very documents the op wrote (without ids, as the op sent them).
    let docs: Vec<Value> = es
        .scroll_all(generated)
        .await?
        .into_iter()
        .map(|(_, doc)| doc)
        .collect();
    let raw_write = records as f64 / raw_bulk_write(es, raw_written, &docs).await?;
    es.expect_count(raw_written, records).await?;

    let reindex_job = json!({"name": "bench-es-reindex", "workers": WORKERS, "analytics": false, "operations": [
        {"_op": "elasticsearch_reader", "index": generated, "date_field_name": "created", "size": BATCH},
        {"_op": "elasticsearch_bulk", "index": reindexed, "size": BATCH}
    ]});
    let reindex = records as f64 / run_execution(&connectors, reindex_job).await?;
    es.expect_count(reindexed, records).await?;

    let raw_reindex = records as f64 / raw_scroll_reindex(es, generated, raw_reindexed).await?;
    es.expect_count(raw_reindexed, records).await?;
    Ok(Measured {
        write,
        raw_write,
        reindex,
        raw_reindex,
    })
}

fn connectors(url: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "elasticsearch-next".into(),
        json!({"default": {"node": [url]}}),
    );
    m
}

/// The `teraslice` binary's operations, configured with `connectors`.
fn connected_ops(connectors: &Map<String, Value>) -> OpRegistry {
    let mut config = SystemConfig::default();
    config.terafoundation.connectors = connectors.clone();
    crate::dispatch::builtin_ops().configured(&config)
}

fn validated(connectors: &Map<String, Value>, spec: &Value) -> anyhow::Result<JobConfig> {
    let registry: Arc<dyn teraslice_core::job::validate::OpCatalog> =
        Arc::new(connected_ops(connectors));
    let mut ctx = SystemConfig::default().validation_context(Some(registry));
    ctx.connectors = connectors.clone();
    validate_job(spec, &ctx).map_err(|e| anyhow::anyhow!("bench job: {e}"))
}

/// Runs one execution in-process on a memory store; returns seconds from the EC's start to its end.
pub(crate) async fn run_execution(
    connectors: &Map<String, Value>,
    spec: Value,
) -> anyhow::Result<f64> {
    run_execution_until(connectors, spec, std::future::pending()).await
}

/// As [`run_execution`], but an execution that does not end by itself (a reader that never runs
/// out, like kafka_reader) is stopped once `done` resolves: seconds from the EC's start to then.
pub(crate) async fn run_execution_until(
    connectors: &Map<String, Value>,
    spec: Value,
    done: impl std::future::Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<f64> {
    let job = validated(connectors, &spec)?;
    let workers_wanted = job.workers;
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let ex = ExecutionRecord::new("bench", job);
    store.create_execution(&ex).await?;
    let registry = Arc::new(connected_ops(connectors));
    let timeouts = RuntimeTimeouts {
        slicer_timeout: std::time::Duration::from_secs(60),
        ..RuntimeTimeouts::default()
    };
    let opts = ControllerOptions {
        registry: registry.clone(),
        timeouts: timeouts.clone(),
        bind_host: "127.0.0.1".into(),
    };
    let ec = ExecutionController::new(ex.clone(), store.clone(), opts).await?;
    let addr = ec.local_addr().to_string();
    let handle = ec.handle();
    let started = Instant::now();
    let mut ec_task = tokio::spawn(ec.run());
    let mut workers = Vec::new();
    for i in 0..workers_wanted {
        let opts = WorkerOptions {
            registry: registry.clone(),
            timeouts: timeouts.clone(),
        };
        let worker = Worker::new(ex.clone(), store.clone(), &addr, format!("bench-{i}"), opts);
        workers.push(tokio::spawn(worker.run()));
    }
    let (outcome, elapsed, stopped) = tokio::select! {
        ended = &mut ec_task => (ended.context("EC task")??, started.elapsed().as_secs_f64(), false),
        finished = done => {
            let elapsed = started.elapsed().as_secs_f64();
            let stop = handle.stop().await;
            let outcome = ec_task.await.context("EC task")??;
            finished?;
            stop.map_err(|e| anyhow::anyhow!("stopping the bench execution: {e}"))?;
            (outcome, elapsed, true)
        }
    };
    for w in workers {
        let _ = w.await;
    }
    // A stopped execution whose slicer never finishes ends `terminated`.
    let expected: &[ExecutionStatus] = if stopped {
        &[ExecutionStatus::Stopped, ExecutionStatus::Terminated]
    } else {
        &[ExecutionStatus::Completed]
    };
    if !expected.contains(&outcome.status) {
        bail!(
            "bench execution ended {}: {:?}",
            outcome.status,
            outcome.failure_reason
        );
    }
    Ok(elapsed)
}

/// `WORKERS` senders, each posting every `WORKERS`-th batch of `BATCH` documents; returns seconds.
async fn raw_bulk_write(es: &Es, index: &str, docs: &[Value]) -> anyhow::Result<f64> {
    let batches: Vec<&[Value]> = docs.chunks(BATCH).collect();
    let action = json!({"index": {"_index": index}}).to_string();
    let started = Instant::now();
    let senders = (0..WORKERS).map(|k| {
        let (batches, action) = (&batches, &action);
        async move {
            for batch in batches.iter().skip(k).step_by(WORKERS) {
                let mut body = String::new();
                for doc in batch.iter() {
                    body.push_str(action);
                    body.push('\n');
                    body.push_str(&doc.to_string());
                    body.push('\n');
                }
                es.bulk(body).await?;
            }
            anyhow::Ok(())
        }
    });
    for result in futures::future::join_all(senders).await {
        result?;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// `WORKERS` sliced scrolls of `BATCH` hits, each page posted to `to` as one `_bulk` with its ids.
async fn raw_scroll_reindex(es: &Es, from: &str, to: &str) -> anyhow::Result<f64> {
    let started = Instant::now();
    let readers = (0..WORKERS).map(|k| async move {
        let query = json!({"size": BATCH, "sort": ["_doc"], "slice": {"id": k, "max": WORKERS}});
        let mut page = es.scroll_start(from, query).await?;
        while !page.hits.is_empty() {
            let mut body = String::new();
            for (id, doc) in &page.hits {
                body.push_str(&json!({"index": {"_index": to, "_id": id}}).to_string());
                body.push('\n');
                body.push_str(&doc.to_string());
                body.push('\n');
            }
            es.bulk(body).await?;
            page = es.scroll_next(&page.scroll_id).await?;
        }
        es.scroll_clear(&page.scroll_id).await;
        anyhow::Ok(())
    });
    for result in futures::future::join_all(readers).await {
        result?;
    }
    Ok(started.elapsed().as_secs_f64())
}

struct Es {
    http: reqwest::Client,
    url: String,
}

struct Page {
    scroll_id: String,
    hits: Vec<(String, Value)>,
}

impl Es {
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> anyhow::Result<Value> {
        let mut req = self.http.request(method, format!("{}/{path}", self.url));
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let resp = req.send().await.with_context(|| path.to_string())?;
        let status = resp.status();
        let text = resp.text().await.with_context(|| path.to_string())?;
        if !status.is_success() {
            bail!("{path}: HTTP {status}: {text}");
        }
        serde_json::from_str(&text).with_context(|| format!("{path}: not JSON: {text}"))
    }

    async fn bulk(&self, ndjson: String) -> anyhow::Result<()> {
        let resp = self
            .http
            .post(format!("{}/_bulk", self.url))
            .header("content-type", "application/x-ndjson")
            .body(ndjson)
            .send()
            .await
            .context("_bulk")?;
        let status = resp.status();
        let text = resp.text().await.context("_bulk")?;
        if !status.is_success() {
            bail!("_bulk: HTTP {status}: {text}");
        }
        let v: Value = serde_json::from_str(&text).context("_bulk: not JSON")?;
        if v.get("errors") != Some(&Value::Bool(false)) {
            let first: String = text.chars().take(500).collect();
            bail!("_bulk: some items failed: {first}");
        }
        Ok(())
    }

    async fn expect_count(&self, index: &str, want: usize) -> anyhow::Result<()> {
        self.call(Method::POST, &format!("{index}/_refresh"), None)
            .await?;
        let v = self
            .call(Method::GET, &format!("{index}/_count"), None)
            .await?;
        let got = v.get("count").and_then(Value::as_u64);
        if got != Some(want as u64) {
            bail!("index {index} holds {got:?} documents, expected {want}");
        }
        Ok(())
    }

    async fn scroll_all(&self, index: &str) -> anyhow::Result<Vec<(String, Value)>> {
        let mut page = self
            .scroll_start(index, json!({"size": BATCH, "sort": ["_doc"]}))
            .await?;
        let mut out = Vec::new();
        while !page.hits.is_empty() {
            out.append(&mut page.hits);
            page = self.scroll_next(&page.scroll_id).await?;
        }
        self.scroll_clear(&page.scroll_id).await;
        Ok(out)
    }

    async fn scroll_start(&self, index: &str, query: Value) -> anyhow::Result<Page> {
        let v = self
            .call(
                Method::POST,
                &format!("{index}/_search?scroll=1m"),
                Some(query.to_string()),
            )
            .await?;
        page(&v)
    }

    async fn scroll_next(&self, scroll_id: &str) -> anyhow::Result<Page> {
        let body = json!({"scroll": "1m", "scroll_id": scroll_id}).to_string();
        let v = self
            .call(Method::POST, "_search/scroll", Some(body))
            .await?;
        page(&v)
    }

    async fn scroll_clear(&self, scroll_id: &str) {
        let body = json!({"scroll_id": scroll_id}).to_string();
        let _ = self
            .call(Method::DELETE, "_search/scroll", Some(body))
            .await;
    }
}

fn page(v: &Value) -> anyhow::Result<Page> {
    let scroll_id = v
        .get("_scroll_id")
        .and_then(Value::as_str)
        .context("search answer without _scroll_id")?
        .to_string();
    let hits = v
        .pointer("/hits/hits")
        .and_then(Value::as_array)
        .context("search answer without hits.hits")?
        .iter()
        .map(|h| {
            let id = h
                .get("_id")
                .and_then(Value::as_str)
                .context("hit without _id")?;
            let doc = h.get("_source").cloned().context("hit without _source")?;
            anyhow::Ok((id.to_string(), doc))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Page { scroll_id, hits })
}
