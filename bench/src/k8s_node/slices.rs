//! What an execution's slice state records (`<cluster>__state*` in OpenSearch) say: how many
//! slices completed and when the first and the last one did.
use anyhow::{bail, Context};
use serde_json::{json, Value};

/// The `completed` slice records of one execution.
pub struct Completed {
    pub count: u64,
    /// `_updated` of the first and the last, ms since the epoch.
    pub first_ms: f64,
    pub last_ms: f64,
}

impl Completed {
    /// Slices per second between the first and the last `completed`.
    pub fn rate(&self) -> anyhow::Result<f64> {
        let span = (self.last_ms - self.first_ms) / 1000.0;
        if span <= 0.0 || self.count < 2 {
            bail!("no time between the first and the last slice");
        }
        Ok((self.count - 1) as f64 / span)
    }
}

pub async fn completed(
    http: &reqwest::Client,
    store: &str,
    cluster: &str,
    ex_id: &str,
) -> anyhow::Result<Completed> {
    let index = format!("{store}/{cluster}__state*");
    http.post(format!("{index}/_refresh")).send().await?;
    let body = json!({
        "size": 0,
        "track_total_hits": true,
        "query": {"bool": {"filter": [
            {"term": {"ex_id": ex_id}},
            {"term": {"state": "completed"}}
        ]}},
        "aggs": {"first": {"min": {"field": "_updated"}}, "last": {"max": {"field": "_updated"}}}
    });
    let res: Value = http
        .post(format!("{index}/_search"))
        .json(&body)
        .send()
        .await?
        .json()
        .await
        .context("the state search's answer")?;
    let ms = |agg: &str| {
        res.pointer(&format!("/aggregations/{agg}/value"))
            .and_then(Value::as_f64)
    };
    let count = res.pointer("/hits/total/value").and_then(Value::as_u64);
    match (count, ms("first"), ms("last")) {
        (Some(count), Some(first_ms), Some(last_ms)) if count > 0 => Ok(Completed {
            count,
            first_ms,
            last_ms,
        }),
        _ => bail!("no completed slice of {ex_id} in {cluster}__state*: {res}"),
    }
}

/// Deletes the indices of `cluster` (`<cluster>__*`) from the shared store.
pub async fn delete_indices(http: &reqwest::Client, store: &str, cluster: &str) {
    let listed = http
        .get(format!(
            "{store}/_cat/indices/{cluster}__*?format=json&h=index"
        ))
        .send()
        .await;
    let indices: Value = match listed {
        Ok(res) => res.json().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    let names: Vec<&str> = indices
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i.get("index").and_then(Value::as_str))
        .collect();
    if names.is_empty() {
        return;
    }
    let deleted = http
        .delete(format!("{store}/{}", names.join(",")))
        .send()
        .await;
    if let Err(e) = deleted {
        eprintln!("bench: deleting the indices of {cluster} failed: {e}");
    }
}
