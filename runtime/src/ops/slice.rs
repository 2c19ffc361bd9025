//! A slice: one unit of work the EC hands to a worker.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a slicer produces and a fetcher reads: any JSON (a range, a file chunk, a query…).
pub type SliceRequest = Value;

/// `{slice_id, slicer_id, slicer_order, request, _created}` as Teraslice sends it to workers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slice {
    /// A uuid v4.
    pub slice_id: String,
    /// The slicer stream that made it.
    pub slicer_id: u32,
    /// Its position in that stream.
    pub slicer_order: u64,
    /// What the slicer produced, for the fetcher.
    pub request: SliceRequest,
    /// When it was made.
    #[serde(rename = "_created", with = "teraslice_core::time::millis")]
    pub created: DateTime<Utc>,
}

impl Slice {
    /// A new slice with a fresh uuid v4 id.
    pub fn new(slicer_id: u32, slicer_order: u64, request: SliceRequest) -> Self {
        Slice {
            slice_id: uuid::Uuid::new_v4().to_string(),
            slicer_id,
            slicer_order,
            request,
            created: teraslice_core::time::now(),
        }
    }
}

/// Where a recovered slicer stream starts: the request of the last slice it completed, if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlicerRecoveryData {
    /// The stream.
    pub slicer_id: u32,
    /// The request of the stream's last completed slice; `None` if it completed none.
    #[serde(rename = "lastSlice", default, skip_serializing_if = "Option::is_none")]
    pub last_slice: Option<SliceRequest>,
}
