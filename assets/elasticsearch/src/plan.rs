//! What every slicer stream of one reader shares, computed once on the EC (§3.3): the index's
//! `max_result_window`, and the job's date range (`once`) or start time (`persistent`).
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::sync::OnceCell;

use super::client::EsClient;
use super::error::EsError;
use super::query::{self, Scope};
use super::reader_config::ReaderConfig;
use teraslice_runtime::ops::dates::parse_date;

#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// `[start, limit)` of a `once` job; `None` when the index has no matching document.
    pub range: Option<(i64, i64)>,
    /// When the slicers were created (persistent windows trail it by `delay`).
    pub created: i64,
}

/// The reader's config and client, shared by its slicer streams (and the plan they share).
pub struct Shared {
    pub cfg: ReaderConfig,
    pub client: EsClient,
    pub slicers: usize,
    pub persistent: bool,
    pub created: i64,
    pub plan: OnceCell<Plan>,
}

impl Shared {
    pub async fn plan(self: &Arc<Self>) -> Result<Plan, EsError> {
        self.plan
            .get_or_try_init(|| self.make_plan())
            .await
            .copied()
    }

    async fn make_plan(&self) -> Result<Plan, EsError> {
        let cfg = &self.cfg;
        if !cfg.index.contains('*') && !self.client.index_exists(&cfg.index).await? {
            return Err(EsError::Config(format!(
                "index \"{}\" specified in reader does not exist",
                cfg.index
            )));
        }
        let window = self.client.max_result_window(&cfg.index).await?;
        if cfg.size > window {
            return Err(EsError::Config(format!(
                "size {} is larger than index.max_result_window {window} of {}: lower size or raise the index setting",
                cfg.size, cfg.index
            )));
        }
        let range = if self.persistent || cfg.date_field_name.is_none() {
            None
        } else {
            self.date_range().await?
        };
        if range.is_none() && !self.persistent && cfg.date_field_name.is_some() {
            tracing::info!(index = %cfg.index, "No data was found in index {}; the reader has nothing to slice", cfg.index);
        }
        Ok(Plan {
            range,
            created: self.created,
        })
    }

    /// `start` (config, else the first doc's date) to `end` (config, else the last doc's date plus
    /// one resolution unit), both truncated to the resolution.
    async fn date_range(&self) -> Result<Option<(i64, i64)>, EsError> {
        let cfg = &self.cfg;
        let now = chrono::Utc::now();
        let parse = |v: &Value| parse_date(v, now).map_err(EsError::Config);
        let start = match &cfg.start {
            Some(v) => Some(parse(v)?),
            None => self.edge_date("asc").await?,
        };
        let limit = match &cfg.end {
            Some(v) => Some(parse(v)?),
            None => self
                .edge_date("desc")
                .await?
                .map(|t| cfg.resolution.trunc(t) + cfg.resolution.unit_ms()),
        };
        Ok(match (start, limit) {
            (Some(s), Some(l)) if cfg.resolution.trunc(s) < cfg.resolution.trunc(l) => {
                Some((cfg.resolution.trunc(s), cfg.resolution.trunc(l)))
            }
            _ => None,
        })
    }

    /// The date of the first (`asc`) or last (`desc`) matching document.
    async fn edge_date(&self, order: &str) -> Result<Option<i64>, EsError> {
        let cfg = &self.cfg;
        let Some(field) = &cfg.date_field_name else {
            return Ok(None);
        };
        let body = json!({
            "size": 1,
            "query": query::build(cfg, &Scope::default()),
            "sort": [{field: {"order": order}}],
            "_source": [field],
        });
        let answer = self.client.search(&cfg.index, body).await?;
        let Some(hit) = answer.pointer("/hits/hits/0") else {
            return Ok(None);
        };
        // Sort values are epoch ms for date fields; the source value is the fallback.
        let sorted = hit.pointer("/sort/0").and_then(Value::as_i64);
        let from_source = hit
            .get("_source")
            .and_then(|s| lookup(s, field))
            .and_then(|v| parse_date(v, chrono::Utc::now()).ok());
        match sorted.or(from_source) {
            Some(t) => Ok(Some(t)),
            None => Err(EsError::Config(format!(
                "Invalid date_field_name \"{field}\": document {} of {} has no date there",
                hit.get("_id").cloned().unwrap_or_default(),
                cfg.index
            ))),
        }
    }
}

/// A dotted path in a document.
fn lookup<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    doc.get(path)
        .or_else(|| path.split('.').try_fold(doc, |v, k| v.get(k)))
}

/// Slicer `i`'s part of `[start, limit)` split `n` ways, in the resolution (the last part ends at `limit`).
pub fn part(start: i64, limit: i64, i: usize, n: usize, unit: i64) -> (i64, i64) {
    let len = (limit - start) as i128;
    let at = |k: usize| {
        let t = start as i128 + len * k as i128 / n.max(1) as i128;
        let t = t as i64;
        t - t.rem_euclid(unit)
    };
    let s = if i == 0 { start } else { at(i) };
    let e = if i + 1 >= n { limit } else { at(i + 1) };
    (s, e)
}

#[cfg(test)]
mod tests {
    #[test]
    fn parts_cover_the_range_without_gaps() {
        let (s, l) = (1_000, 11_500);
        let parts: Vec<_> = (0..3).map(|i| super::part(s, l, i, 3, 1000)).collect();
        assert_eq!(parts, [(1_000, 4_000), (4_000, 8_000), (8_000, 11_500)]);
    }
}
