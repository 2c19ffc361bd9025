//! Records the store conformance checks write: fixed timestamps, Teraslice-shaped job specs.
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Map, Value};

use crate::execution::{ExecutionRecord, JobRecord};
use crate::job::JobConfig;
use crate::status::ExecutionStatus;
use crate::store::{AnalyticsRecord, SliceState, SliceStateRecord};

/// `2024-05-17T10:00:00.123Z` plus `secs`: millisecond precision, like Teraslice's dates.
pub fn at(secs: i64) -> DateTime<Utc> {
    let base = Utc.with_ymd_and_hms(2024, 5, 17, 10, 0, 0).single();
    // A fixed, valid calendar date: `single()` cannot be `None` here.
    base.unwrap_or_default() + Duration::milliseconds(123) + Duration::seconds(secs)
}

/// A unique id, so checks can share one store without colliding.
pub fn unique_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4())
}

/// A job spec as a user submits it: nested operations, apis, unicode, an undeclared key.
pub fn job_spec(name: &str) -> Map<String, Value> {
    let spec = json!({
        "name": name,
        "lifecycle": "once",
        "workers": 2,
        "slicers": 1,
        "analytics": true,
        "assets": ["standard"],
        "operations": [
            {"_op": "data_generator", "size": 5000, "format": "isoBetween"},
            {"_op": "noop", "note": "naïve ✓ 日本"}
        ],
        "apis": [{"_name": "elasticsearch_sender_api", "size": 100}],
        "custom_key": {"nested": [1, 2.5, null, true]}
    });
    match spec {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

pub fn job(job_id: &str, created: DateTime<Utc>) -> JobRecord {
    let mut job = JobRecord::new(job_id.to_string(), job_spec(&format!("job {job_id}")));
    job.created = created;
    job.updated = created;
    job
}

/// A validated job as an execution embeds it.
pub fn job_config(name: &str) -> JobConfig {
    let value = json!({
        "name": name,
        "lifecycle": "persistent",
        "active": true,
        "analytics": true,
        "assets": ["standard"],
        "autorecover": false,
        "max_retries": 3,
        "operations": [
            {"_op": "data_generator", "size": 5000},
            {"_op": "noop", "note": "naïve ✓ 日本"}
        ],
        "apis": [],
        "probation_window": 300000,
        "slicers": 1,
        "workers": 2,
        "stateful": false,
        "labels": {"team": "data"},
        "env_vars": {"TZ": "UTC"},
        "log_level": "info",
        "cpu": 0.5,
        "memory": 268435456.0,
        "custom_key": {"kept": "as given"}
    });
    match serde_json::from_value(value) {
        Ok(config) => config,
        Err(e) => panic!("the conformance suite's sample job no longer matches JobConfig: {e}"),
    }
}

pub fn execution(job_id: &str, status: ExecutionStatus, created: DateTime<Utc>) -> ExecutionRecord {
    let mut ex = ExecutionRecord::new(job_id, job_config(&format!("job {job_id}")));
    ex.status = status;
    ex.created = created;
    ex.updated = created;
    ex
}

pub fn slice(ex_id: &str, n: u64, state: SliceState) -> SliceStateRecord {
    SliceStateRecord {
        slice_id: format!("{ex_id}-slice-{n:06}"),
        slicer_id: (n % 2) as u32,
        slicer_order: n,
        request: json!({"start": n * 10, "end": n * 10 + 10, "key": "ä"}).to_string(),
        state,
        ex_id: ex_id.to_string(),
        created: at(n as i64),
        updated: at(n as i64),
        error: None,
        retry_count: None,
    }
}

pub fn analytics(ex_id: &str, job_id: &str, slice_id: &str, order: u32) -> AnalyticsRecord {
    AnalyticsRecord {
        timestamp: at(i64::from(order)),
        ex_id: ex_id.to_string(),
        job_id: job_id.to_string(),
        worker_id: "host-1__3".into(),
        slice_id: slice_id.to_string(),
        slicer_id: 0,
        op: format!("op_{order}"),
        order,
        count: 5000,
        time: 12 + i64::from(order),
        memory: 1 << 20,
        state: "success".into(),
    }
}
