//! Recovery of an earlier execution (`recovered_execution`): every unfinished slice of every
//! slicer is queued again, and each slicer stream restarts after the last slice it made that is
//! completed or queued again (so no slice is made twice).
//! Fixed on purpose: Teraslice only recovered the first 5000 slices of slicer 0, and left the
//! recovered records under the old `ex_id`; here they move to the new execution.
use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use teraslice_core::store::{SliceQuery, SliceState, StateStore};
use teraslice_core::ExecutionRecord;

use super::slicers::QueuedSlice;
use crate::ops::{Slice, SlicerRecoveryData};

pub struct RecoveryPlan {
    pub slices: Vec<QueuedSlice>,
    pub starting_points: Vec<SlicerRecoveryData>,
    /// Each slicer's highest `slicer_order` in the old execution (completed or moved here):
    /// its new slices are numbered after it, so no two slices of this execution share one.
    pub last_orders: std::collections::BTreeMap<u32, u64>,
    /// A cleanup run (`recovered_slice_type` set, no `autorecover`): no new slices afterwards.
    pub exit_after: bool,
}

/// Which states a cleanup type re-runs.
fn states_for(cleanup: Option<&str>) -> Result<Vec<SliceState>, String> {
    match cleanup {
        None | Some("all") => Ok(vec![
            SliceState::Pending,
            SliceState::Start,
            SliceState::Error,
        ]),
        Some("errors") => Ok(vec![SliceState::Error]),
        Some("pending") => Ok(vec![SliceState::Pending]),
        Some(other) => Err(format!(
            "recovered_slice_type \"{other}\" is not valid: must be one of all, errors, pending"
        )),
    }
}

fn parse_request(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

pub async fn plan(
    store: &Arc<dyn StateStore>,
    ex: &ExecutionRecord,
    old_ex_id: &str,
) -> Result<RecoveryPlan, String> {
    let states = states_for(ex.recovered_slice_type.as_deref())?;
    let fail = |e: teraslice_core::StoreError| {
        format!("cannot read the slices of execution {old_ex_id} to recover: {e}")
    };
    let old = store.get_execution(old_ex_id).await.map_err(fail)?;
    let unfinished = store
        .list_slice_states(&SliceQuery {
            states,
            ..SliceQuery::all(old_ex_id)
        })
        .await
        .map_err(fail)?;
    let completed = store
        .list_slice_states(&SliceQuery {
            states: vec![SliceState::Completed],
            ..SliceQuery::all(old_ex_id)
        })
        .await
        .map_err(fail)?;
    // Each slicer resumes after the last slice it made that is either completed or queued again
    // here, so a re-queued slice is not also made anew by the slicer.
    let mut last: BTreeMap<u32, (u64, String)> = BTreeMap::new();
    for r in completed.iter().chain(unfinished.iter()) {
        let entry = last.entry(r.slicer_id).or_insert((0, String::new()));
        if r.slicer_order >= entry.0 {
            *entry = (r.slicer_order, r.request.clone());
        }
    }
    let slices = unfinished
        .into_iter()
        .map(|mut record| {
            let slice = Slice {
                slice_id: record.slice_id.clone(),
                slicer_id: record.slicer_id,
                slicer_order: record.slicer_order,
                request: parse_request(&record.request),
                created: record.created,
            };
            record.ex_id = ex.ex_id.clone();
            record.state = SliceState::Pending;
            record.error = None;
            record.updated = teraslice_core::time::now();
            QueuedSlice {
                slice,
                record,
                _permit: None,
            }
        })
        .collect();
    let starting_points = (0..old.job.slicers.max(1))
        .map(|slicer_id| SlicerRecoveryData {
            slicer_id,
            last_slice: last.get(&slicer_id).map(|(_, req)| parse_request(req)),
        })
        .collect();
    let last_orders = last.iter().map(|(id, (order, _))| (*id, *order)).collect();
    Ok(RecoveryPlan {
        slices,
        starting_points,
        last_orders,
        exit_after: !ex.job.autorecover && ex.recovered_slice_type.is_some(),
    })
}
