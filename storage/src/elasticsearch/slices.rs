//! Slice state (`<name>__state-<date of _created>`, id `slice_id`) and analytics
//! (`<name>__analytics-<date of now>`, automatic ids), written with `_bulk`, searched with `*`.
use std::collections::BTreeSet;

use chrono::Utc;
use serde_json::{json, Value};
use teraslice_core::store::{
    AnalyticsRecord, SliceQuery, SliceState, SliceStateRecord, StoreError, StoreResult,
};

use super::bulk::BulkItem;
use super::jobs::{from_doc, to_doc};
use super::mappings::StoreIndex;
use super::ElasticsearchStore;

impl ElasticsearchStore {
    pub(crate) async fn es_write_slice_states(
        &self,
        records: &[SliceStateRecord],
    ) -> StoreResult<()> {
        let cluster = self.cluster_name();
        let every = self.inner.config.rollover.state;
        let mut items = Vec::with_capacity(records.len());
        for r in records {
            let index = StoreIndex::State.dated_name(cluster, r.created, every);
            items.push(BulkItem {
                doc: to_doc(r, &index)?,
                index,
                id: Some(r.slice_id.clone()),
                label: format!("slice {}", r.slice_id),
            });
        }
        self.ensure_dated_indices(StoreIndex::State, &items).await?;
        self.bulk_index(&items, "slice state").await
    }

    /// Records of one execution ordered by `(slicer_id, slicer_order)`. `slicer_id` is a keyword,
    /// so its numeric order is made here: one sorted search per slicer, in slicer order.
    pub(crate) async fn es_list_slice_states(
        &self,
        query: &SliceQuery,
    ) -> StoreResult<Vec<SliceStateRecord>> {
        let index = self.index_pattern(StoreIndex::State);
        self.refresh(&index).await?;
        let filter = slice_filter(&query.ex_id, &query.states);
        let aggs = json!({"slicers": {"terms": {"field": "slicer_id", "size": 10_000}}});
        let found = self.aggregate(&index, &filter, &aggs).await?;
        let mut slicers: Vec<(Option<u64>, String, u64)> = found
            .pointer("/slicers/buckets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|b| {
                let key = match b.get("key")? {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                Some((key.parse().ok(), key, b.get("doc_count")?.as_u64()?))
            })
            .collect();
        slicers.sort();
        let (mut skip, mut out) = (query.from as u64, Vec::new());
        for (_, slicer, n) in slicers {
            if out.len() >= query.size {
                break;
            }
            if skip >= n {
                skip -= n;
                continue;
            }
            let mut one = filter.clone();
            if let Some(f) = one
                .pointer_mut("/bool/filter")
                .and_then(Value::as_array_mut)
            {
                f.push(json!({"term": {"slicer_id": slicer}}));
            }
            let sort = json!([{"slicer_order": "asc"}, {"slice_id": "asc"}]);
            let from = usize::try_from(skip).unwrap_or(usize::MAX);
            let docs = self
                .search_sorted(&index, &one, &sort, from, query.size - out.len())
                .await?;
            skip = 0;
            for d in docs {
                let id = d
                    .get("slice_id")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_string();
                out.push(from_doc(d, &index, &id)?);
            }
        }
        Ok(out)
    }

    /// Teraslice `countByState`: `ex_id:"<ex>" AND state:<state>`.
    pub(crate) async fn es_count_slice_states(
        &self,
        ex_id: &str,
        state: Option<SliceState>,
    ) -> StoreResult<u64> {
        let index = self.index_pattern(StoreIndex::State);
        self.refresh(&index).await?;
        let states: Vec<SliceState> = state.into_iter().collect();
        self.count(&index, &slice_filter(ex_id, &states)).await
    }

    pub(crate) async fn es_write_analytics(&self, records: &[AnalyticsRecord]) -> StoreResult<()> {
        let every = self.inner.config.rollover.analytics;
        let index = StoreIndex::Analytics.dated_name(self.cluster_name(), Utc::now(), every);
        let items = records
            .iter()
            .map(|r| {
                Ok(BulkItem {
                    doc: to_doc(r, &index)?,
                    index: index.clone(),
                    // Chosen before the first try: a request the client resends (lost answer,
                    // 5xx) replaces instead of duplicating. Two writes stay two documents, as
                    // with Teraslice's auto ids (the store conformance suite checks that).
                    id: Some(uuid::Uuid::new_v4().simple().to_string()),
                    label: format!("analytics of slice {} op {}", r.slice_id, r.op),
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        self.ensure_dated_indices(StoreIndex::Analytics, &items)
            .await?;
        self.bulk_index(&items, "analytics").await
    }

    pub(crate) async fn es_list_analytics(&self, ex_id: &str) -> StoreResult<Vec<AnalyticsRecord>> {
        let index = self.index_pattern(StoreIndex::Analytics);
        self.refresh(&index).await?;
        let query = json!({"bool": {"filter": [{"term": {"ex_id": ex_id}}]}});
        let sort = json!([{"@timestamp": "asc"}, {"slice_id": "asc"}, {"order": "asc"}]);
        let docs = self
            .search_sorted(&index, &query, &sort, 0, usize::MAX)
            .await?;
        docs.into_iter()
            .map(|d| from_doc(d, &index, ex_id))
            .collect()
    }

    /// Creates the dated indices `items` go to, once per process (already existing is fine), so
    /// they get their settings and mapping even where index auto-creation is off.
    async fn ensure_dated_indices(&self, store: StoreIndex, items: &[BulkItem]) -> StoreResult<()> {
        let wanted: BTreeSet<&str> = items.iter().map(|i| i.index.as_str()).collect();
        let mut known = self.inner.known_indices.lock().await;
        for index in wanted {
            if known.contains(index) {
                continue;
            }
            self.create_index(store, index)
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            known.insert(index.to_string());
        }
        Ok(())
    }
}

/// `ex_id` and, when given, one of `states`.
fn slice_filter(ex_id: &str, states: &[SliceState]) -> Value {
    let mut filter = vec![json!({"term": {"ex_id": ex_id}})];
    if !states.is_empty() {
        let names: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
        filter.push(json!({"terms": {"state": names}}));
    }
    json!({"bool": {"filter": filter}})
}
