//! `_bulk` writes with per-item error handling: items refused for a passing reason (429, 5xx,
//! rejected execution) are sent again with backoff; what still fails is reported by id.
use std::time::Duration;

use serde_json::{json, Value};
use teraslice_core::store::{StoreError, StoreResult};
use teraslice_es::{Body, Method};

use super::error::unexpected;
use super::ElasticsearchStore;

/// Documents per `_bulk` request (Teraslice flushes its bulk queue at 1000 records).
const CHUNK: usize = 2_000;
/// Rounds of re-sending the items that failed for a passing reason.
const ITEM_ATTEMPTS: u32 = 5;
const FIRST_ITEM_DELAY: Duration = Duration::from_millis(200);
/// Failed ids listed in an error message; the rest are counted.
const IDS_SHOWN: usize = 10;

/// One document to index: into `index`, with `id` (or an automatic id), named `label` in errors.
pub(crate) struct BulkItem {
    pub index: String,
    pub id: Option<String>,
    pub doc: Value,
    pub label: String,
}

/// An item the server refused.
struct ItemFailure {
    item: usize,
    status: u16,
    reason: String,
}

impl ItemFailure {
    fn is_transient(&self) -> bool {
        self.status == 429 || self.status >= 500
    }
}

impl ElasticsearchStore {
    /// Indexes every item (create or replace by id); `what` names the records, e.g. "slice state".
    pub(crate) async fn bulk_index(&self, items: &[BulkItem], what: &str) -> StoreResult<()> {
        for chunk in items.chunks(CHUNK) {
            self.bulk_chunk(chunk, what).await?;
        }
        Ok(())
    }

    async fn bulk_chunk(&self, items: &[BulkItem], what: &str) -> StoreResult<()> {
        let mut pending: Vec<usize> = (0..items.len()).collect();
        let mut delay = FIRST_ITEM_DELAY;
        for round in 1..=ITEM_ATTEMPTS {
            let failures = self.bulk_request(items, &pending, what).await?;
            let (transient, permanent): (Vec<_>, Vec<_>) =
                failures.into_iter().partition(ItemFailure::is_transient);
            if !permanent.is_empty() {
                return Err(StoreError::Data(report(items, &permanent, what, round)));
            }
            if transient.is_empty() {
                return Ok(());
            }
            if round == ITEM_ATTEMPTS {
                return Err(StoreError::Unavailable(report(
                    items, &transient, what, round,
                )));
            }
            tracing::warn!(
                what,
                failed = transient.len(),
                round,
                retry_in_ms = delay.as_millis() as u64,
                "state store refused some bulk items for now; sending them again"
            );
            pending = transient.iter().map(|f| f.item).collect();
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
        Ok(())
    }

    /// Sends `pending` (indices into `items`) and returns the items that failed.
    async fn bulk_request(
        &self,
        items: &[BulkItem],
        pending: &[usize],
        what: &str,
    ) -> StoreResult<Vec<ItemFailure>> {
        let mut lines = String::new();
        for &i in pending {
            let item = &items[i];
            let action = match &item.id {
                Some(id) => json!({"index": {"_index": item.index, "_id": id}}),
                None => json!({"index": {"_index": item.index}}),
            };
            lines.push_str(&action.to_string());
            lines.push('\n');
            lines.push_str(&item.doc.to_string());
            lines.push('\n');
        }
        let label = format!("bulk writing {} {what} record(s)", pending.len());
        let answer = self
            .client()
            .request(Method::POST, &["_bulk"], &[], Body::NdJson(lines), &label)
            .await?;
        if !answer.status.is_success() {
            return Err(unexpected(&label, &answer));
        }
        if answer.body.get("errors").and_then(Value::as_bool) != Some(true) {
            return Ok(vec![]);
        }
        let results = answer
            .body
            .get("items")
            .and_then(Value::as_array)
            .ok_or_else(|| StoreError::Data(format!("{label}: the answer has no items")))?;
        let mut failures = Vec::new();
        // Bulk answers list the items in the order they were sent.
        for (&i, result) in pending.iter().zip(results) {
            let Some(outcome) = result.get("index") else {
                continue;
            };
            let Some(error) = outcome.get("error") else {
                continue;
            };
            let status = outcome.get("status").and_then(Value::as_u64).unwrap_or(500);
            let reason = error
                .get("reason")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| error.to_string());
            failures.push(ItemFailure {
                item: i,
                status: u16::try_from(status).unwrap_or(500),
                reason,
            });
        }
        Ok(failures)
    }
}

/// "3 slice state record(s) could not be written after 5 attempt(s): ts__state-2024.05 slice a (400 …)".
fn report(items: &[BulkItem], failures: &[ItemFailure], what: &str, attempts: u32) -> String {
    let shown: Vec<String> = failures
        .iter()
        .take(IDS_SHOWN)
        .map(|f| {
            let item = &items[f.item];
            format!(
                "{} in {} ({}: {})",
                item.label, item.index, f.status, f.reason
            )
        })
        .collect();
    let more = failures.len().saturating_sub(IDS_SHOWN);
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!(
        "{} {what} record(s) could not be written after {attempts} attempt(s): {}{tail}",
        failures.len(),
        shown.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(n: usize) -> BulkItem {
        BulkItem {
            index: "ts__state-2024.05".into(),
            id: Some(format!("s{n}")),
            doc: json!({}),
            label: format!("slice s{n}"),
        }
    }

    #[test]
    fn report_names_the_failed_slices_and_counts_the_rest() {
        let items: Vec<BulkItem> = (0..15).map(item).collect();
        let failures: Vec<ItemFailure> = (0..12)
            .map(|n| ItemFailure {
                item: n,
                status: 429,
                reason: "rejected execution".into(),
            })
            .collect();
        let text = report(&items, &failures, "slice state", 5);
        assert!(
            text.starts_with("12 slice state record(s) could not be written after 5 attempt(s): "),
            "{text}"
        );
        assert!(
            text.contains("slice s0 in ts__state-2024.05 (429: rejected execution)"),
            "{text}"
        );
        assert!(
            text.contains("slice s9 in") && !text.contains("slice s10 in"),
            "{text}"
        );
        assert!(text.ends_with(" and 2 more"), "{text}");
        assert!(failures.iter().all(ItemFailure::is_transient));
        let permanent = ItemFailure {
            item: 0,
            status: 400,
            reason: String::new(),
        };
        assert!(!permanent.is_transient());
    }
}
