//! Document operations shared by the stores: get with version, create, conditional replace,
//! sorted search with paging past `max_result_window`, count, refresh.
use serde_json::{json, Value};
use teraslice_core::store::{StoreError, StoreResult};
use teraslice_es::{Body, Method, StatusCode};

use super::error::unexpected;
use super::ElasticsearchStore;

/// Largest `from + size` a plain search may ask for (the default `index.max_result_window`).
const MAX_WINDOW: usize = 10_000;
/// Hits per scroll page when a listing goes past [`MAX_WINDOW`].
const SCROLL_PAGE: usize = 5_000;

/// A document's `_source` and the version to compare-and-set against.
pub(crate) struct Versioned {
    pub source: Value,
    pub seq_no: u64,
    pub primary_term: u64,
}

/// What a conditional write found.
pub(crate) enum Written {
    Done,
    /// Another writer changed the document since it was read (409).
    Conflict,
}

impl ElasticsearchStore {
    /// `GET <index>/_doc/<id>`; `kind` names the record in a `NotFound`.
    pub(crate) async fn get_versioned(
        &self,
        index: &str,
        id: &str,
        kind: &'static str,
    ) -> StoreResult<Versioned> {
        let what = format!("reading {kind} {id} from {index}");
        let answer = self
            .client()
            .request(Method::GET, &[index, "_doc", id], &[], Body::None, &what)
            .await?;
        let found = answer.body.get("found").and_then(Value::as_bool);
        if answer.status == StatusCode::NOT_FOUND && found == Some(false) {
            return Err(StoreError::NotFound {
                kind,
                id: id.to_string(),
            });
        }
        if !answer.status.is_success() {
            return Err(unexpected(&what, &answer));
        }
        let body = answer.body;
        let (Some(seq_no), Some(primary_term), Some(source)) = (
            body.get("_seq_no").and_then(Value::as_u64),
            body.get("_primary_term").and_then(Value::as_u64),
            body.get("_source"),
        ) else {
            return Err(StoreError::Data(format!(
                "{what}: the answer lacks _source, _seq_no or _primary_term: {body}"
            )));
        };
        Ok(Versioned {
            source: source.clone(),
            seq_no,
            primary_term,
        })
    }

    /// `PUT <index>/_create/<id>?refresh=true`: `AlreadyExists` when the id is taken.
    pub(crate) async fn create_doc(
        &self,
        index: &str,
        id: &str,
        kind: &'static str,
        doc: &Value,
    ) -> StoreResult<()> {
        let what = format!("creating {kind} {id} in {index}");
        let query = [("refresh", "true".to_string())];
        let answer = self
            .client()
            .request(
                Method::PUT,
                &[index, "_create", id],
                &query,
                Body::Json(doc),
                &what,
            )
            .await?;
        if answer.status == StatusCode::CONFLICT {
            // After a retried request, the 409 may be our own earlier try that landed unanswered.
            if answer.attempts > 1 {
                let stored = self.get_versioned(index, id, kind).await?;
                if stored.source == *doc {
                    return Ok(());
                }
            }
            return Err(StoreError::AlreadyExists {
                kind,
                id: id.to_string(),
            });
        }
        if !answer.status.is_success() {
            return Err(unexpected(&what, &answer));
        }
        Ok(())
    }

    /// Replaces the document if it is still at `seq_no`/`primary_term`; refreshes (forceRefresh).
    pub(crate) async fn replace_if(
        &self,
        index: &str,
        id: &str,
        doc: &Value,
        read: &Versioned,
    ) -> StoreResult<Written> {
        let what = format!("writing {id} to {index}");
        let query = [
            ("if_seq_no", read.seq_no.to_string()),
            ("if_primary_term", read.primary_term.to_string()),
            ("refresh", "true".to_string()),
        ];
        let answer = self
            .client()
            .request(
                Method::PUT,
                &[index, "_doc", id],
                &query,
                Body::Json(doc),
                &what,
            )
            .await?;
        if answer.status == StatusCode::CONFLICT {
            return Ok(Written::Conflict);
        }
        if !answer.status.is_success() {
            return Err(unexpected(&what, &answer));
        }
        Ok(Written::Done)
    }

    /// `_source` of the hits of `query` in `sort` order, skipping `from`, at most `size`.
    /// Within 10,000 hits a plain search; past that a sorted scroll.
    pub(crate) async fn search_sorted(
        &self,
        index: &str,
        query: &Value,
        sort: &Value,
        from: usize,
        size: usize,
    ) -> StoreResult<Vec<Value>> {
        if size == 0 {
            return Ok(vec![]);
        }
        let what = format!("searching {index}");
        if from.saturating_add(size) <= MAX_WINDOW {
            let body = json!({"query": query, "sort": sort, "from": from, "size": size});
            let answer = self.search_request(index, &body, &[], &what).await?;
            return Ok(sources(&answer, &what)?.0);
        }
        let body = json!({"query": query, "sort": sort, "size": SCROLL_PAGE});
        let keep = [("scroll", "1m".to_string())];
        let first = self.search_request(index, &body, &keep, &what).await?;
        let (mut page, mut scroll_id) = sources(&first, &what)?;
        let (mut skip, mut out) = (from, Vec::new());
        loop {
            let n = page.len();
            let take = page.drain(skip.min(n)..).take(size - out.len());
            out.extend(take);
            skip = skip.saturating_sub(n);
            if n == 0 || out.len() >= size {
                break;
            }
            let Some(id) = scroll_id.clone() else { break };
            let next = json!({"scroll": "1m", "scroll_id": id});
            let answer = self
                .client()
                .request(
                    Method::POST,
                    &["_search", "scroll"],
                    &[],
                    Body::Json(&next),
                    &what,
                )
                .await?;
            if !answer.status.is_success() {
                return Err(unexpected(&what, &answer));
            }
            (page, scroll_id) = sources(&answer.body, &what)?;
        }
        if let Some(id) = scroll_id {
            let body = json!({"scroll_id": [id]});
            // Only frees server memory early; the scroll expires by itself otherwise.
            let _ = self
                .client()
                .request(
                    Method::DELETE,
                    &["_search", "scroll"],
                    &[],
                    Body::Json(&body),
                    &what,
                )
                .await;
        }
        Ok(out)
    }

    async fn search_request(
        &self,
        index: &str,
        body: &Value,
        query: &[(&str, String)],
        what: &str,
    ) -> StoreResult<Value> {
        let answer = self
            .client()
            .request(
                Method::POST,
                &[index, "_search"],
                query,
                Body::Json(body),
                what,
            )
            .await?;
        if !answer.status.is_success() {
            return Err(unexpected(what, &answer));
        }
        Ok(answer.body)
    }

    /// Aggregations of a size-0 search.
    pub(crate) async fn aggregate(
        &self,
        index: &str,
        query: &Value,
        aggs: &Value,
    ) -> StoreResult<Value> {
        let what = format!("aggregating {index}");
        let body = json!({"query": query, "size": 0, "aggs": aggs});
        let answer = self.search_request(index, &body, &[], &what).await?;
        Ok(answer.get("aggregations").cloned().unwrap_or(Value::Null))
    }

    /// `POST <index>/_count`.
    pub(crate) async fn count(&self, index: &str, query: &Value) -> StoreResult<u64> {
        let what = format!("counting in {index}");
        let body = json!({"query": query});
        let answer = self
            .client()
            .request(
                Method::POST,
                &[index, "_count"],
                &[],
                Body::Json(&body),
                &what,
            )
            .await?;
        if !answer.status.is_success() {
            return Err(unexpected(&what, &answer));
        }
        answer
            .body
            .get("count")
            .and_then(Value::as_u64)
            .ok_or_else(|| StoreError::Data(format!("{what}: no count in {}", answer.body)))
    }

    /// Makes every write to `index` visible to searches (state and analytics are written without
    /// refresh, as Teraslice does; their reads refresh first to see the caller's own writes).
    pub(crate) async fn refresh(&self, index: &str) -> StoreResult<()> {
        let what = format!("refreshing {index}");
        let answer = self
            .client()
            .request(Method::POST, &[index, "_refresh"], &[], Body::None, &what)
            .await?;
        if !answer.status.is_success() {
            return Err(unexpected(&what, &answer));
        }
        Ok(())
    }
}

/// The hits' `_source` values and the scroll id, if any.
fn sources(body: &Value, what: &str) -> StoreResult<(Vec<Value>, Option<String>)> {
    let hits = body
        .pointer("/hits/hits")
        .and_then(Value::as_array)
        .ok_or_else(|| StoreError::Data(format!("{what}: the answer has no hits.hits: {body}")))?;
    let docs = hits
        .iter()
        .filter_map(|h| h.get("_source").cloned())
        .collect();
    let scroll_id = body
        .get("_scroll_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok((docs, scroll_id))
}
