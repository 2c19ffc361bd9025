//! Slice state and analytics records (Teraslice's `__state` and `__analytics` documents) and queries.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::status::ExecutionStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SliceState {
    Pending,
    Start,
    Error,
    Completed,
}

impl SliceState {
    pub fn as_str(self) -> &'static str {
        match self {
            SliceState::Pending => "pending",
            SliceState::Start => "start",
            SliceState::Error => "error",
            SliceState::Completed => "completed",
        }
    }
}

/// `{slice_id, slicer_id, slicer_order, request, state, ex_id, _created, _updated, error?, retry_count?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceStateRecord {
    pub slice_id: String,
    pub slicer_id: u32,
    pub slicer_order: u64,
    /// The slice request as a JSON string (Teraslice stores `JSON.stringify(request)`).
    pub request: String,
    pub state: SliceState,
    pub ex_id: String,
    #[serde(rename = "_created", with = "crate::time::millis")]
    pub created: DateTime<Utc>,
    #[serde(rename = "_updated", with = "crate::time::millis")]
    pub updated: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_count: Option<u32>,
}

/// One document per op per slice: `{"@timestamp", ex_id, job_id, worker_id, slice_id, slicer_id, op, order, count, time, memory, state}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyticsRecord {
    #[serde(rename = "@timestamp", with = "crate::time::millis")]
    pub timestamp: DateTime<Utc>,
    pub ex_id: String,
    pub job_id: String,
    pub worker_id: String,
    pub slice_id: String,
    pub slicer_id: u32,
    pub op: String,
    pub order: u32,
    pub count: i64,
    pub time: i64,
    pub memory: i64,
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub from: usize,
    pub size: usize,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery { from: 0, size: 100 }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecutionQuery {
    pub job_id: Option<String>,
    /// Empty = every status.
    pub statuses: Vec<ExecutionStatus>,
    pub page: ListQuery,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SliceQuery {
    pub ex_id: String,
    /// Empty = every state.
    pub states: Vec<SliceState>,
    pub from: usize,
    pub size: usize,
}

impl SliceQuery {
    pub fn all(ex_id: &str) -> Self {
        SliceQuery {
            ex_id: ex_id.to_string(),
            states: vec![],
            from: 0,
            size: usize::MAX,
        }
    }
}
