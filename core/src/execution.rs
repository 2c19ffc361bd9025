//! Job and execution records as Teraslice stores them (`<name>__jobs`, `<name>__ex`).
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::job::JobConfig;
use crate::status::ExecutionStatus;

/// `teraslice_version` (in `GET /`, `/cluster/state` and execution records): the Teraslice
/// release whose API and records this master is compatible with. Teraslice's clients read it to
/// decide what the cluster can do, so it is Teraslice's version, not ours.
pub const TERASLICE_VERSION: &str = "v3.18.0";

/// `teraslice_rs_version`: the version of teraslice-rs itself.
pub const TERASLICE_RS_VERSION: &str = concat!("v", env!("CARGO_PKG_VERSION"));

/// A stored job: the submitted spec verbatim (its keys in the order submitted) followed by
/// Teraslice's bookkeeping fields, as Teraslice's `Object.assign(spec, {job_id, ...})` orders them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The job JSON as submitted (name, operations, workers, …).
    #[serde(flatten)]
    pub spec: Map<String, Value>,
    pub job_id: String,
    #[serde(rename = "_context")]
    pub context: String,
    #[serde(rename = "_created", with = "crate::time::millis")]
    pub created: DateTime<Utc>,
    #[serde(rename = "_updated", with = "crate::time::millis")]
    pub updated: DateTime<Utc>,
    #[serde(
        rename = "_deleted",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub deleted: bool,
    #[serde(
        rename = "_deleted_on",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::time::millis_opt"
    )]
    pub deleted_on: Option<DateTime<Utc>>,
}

impl JobRecord {
    pub fn new(job_id: String, spec: Map<String, Value>) -> Self {
        let now = crate::time::now();
        let mut spec = spec;
        // The bookkeeping fields are ours; a submitted `job_id` or `_created` must not shadow them.
        for k in [
            "job_id",
            "_context",
            "_created",
            "_updated",
            "_deleted",
            "_deleted_on",
        ] {
            spec.shift_remove(k);
        }
        JobRecord {
            job_id,
            context: "job".into(),
            created: now,
            updated: now,
            deleted: false,
            deleted_on: None,
            spec,
        }
    }
    pub fn name(&self) -> &str {
        self.spec
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("Custom Job")
    }
}

/// A stored execution: the validated job plus the execution's fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionRecord {
    pub ex_id: String,
    pub job_id: String,
    #[serde(rename = "_status")]
    pub status: ExecutionStatus,
    #[serde(rename = "_context")]
    pub context: String,
    #[serde(rename = "_created", with = "crate::time::millis")]
    pub created: DateTime<Utc>,
    #[serde(rename = "_updated", with = "crate::time::millis")]
    pub updated: DateTime<Utc>,
    #[serde(rename = "_has_errors")]
    pub has_errors: bool,
    #[serde(rename = "_failureReason")]
    pub failure_reason: String,
    #[serde(rename = "_slicer_stats")]
    pub slicer_stats: Map<String, Value>,
    pub metadata: Map<String, Value>,
    pub teraslice_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slicer_hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slicer_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered_execution: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered_slice_type: Option<String>,
    #[serde(
        rename = "_deleted",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub deleted: bool,
    /// Ours: the secret the master sends to this execution's controller on its control routes
    /// (`Authorization: Bearer`), made with the record. Never shown by the API; records made
    /// before it existed have none, and their controllers take control requests without one.
    #[serde(
        rename = "_control_secret",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub control_secret: Option<String>,
    #[serde(flatten)]
    pub job: JobConfig,
}

/// The key of [`ExecutionRecord::control_secret`] in a record's JSON.
pub const CONTROL_SECRET_KEY: &str = "_control_secret";

/// 244 random bits as hex (two v4 UUIDs, from the OS's random source).
fn new_control_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

impl ExecutionRecord {
    /// A new `pending` execution of `job` (Teraslice `ExecutionStorage.create`).
    pub fn new(job_id: &str, job: JobConfig) -> Self {
        let now = crate::time::now();
        let mut job = job;
        // A job key of that name must not shadow (or set) the secret.
        job.extra.shift_remove(CONTROL_SECRET_KEY);
        ExecutionRecord {
            ex_id: uuid::Uuid::new_v4().to_string(),
            job_id: job_id.to_string(),
            status: ExecutionStatus::Pending,
            context: "ex".into(),
            created: now,
            updated: now,
            has_errors: false,
            failure_reason: String::new(),
            slicer_stats: Map::new(),
            metadata: Map::new(),
            teraslice_version: TERASLICE_VERSION.into(),
            slicer_hostname: None,
            slicer_port: None,
            recovered_execution: None,
            recovered_slice_type: None,
            deleted: false,
            control_secret: Some(new_control_secret()),
            job,
        }
    }
}

/// Fields written together with a status change (Teraslice `setStatus(ex, status, extra)`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusUpdate {
    /// `Some(reason)` sets `_has_errors:true, _failureReason:reason`.
    pub failure_reason: Option<String>,
    pub slicer_stats: Option<Map<String, Value>>,
    pub slicer_hostname: Option<String>,
    pub slicer_port: Option<u16>,
}

impl StatusUpdate {
    pub fn failed(reason: impl Into<String>) -> Self {
        StatusUpdate {
            failure_reason: Some(reason.into()),
            ..Default::default()
        }
    }

    /// Applies the update and the new status to `ex` (the caller has checked the transition).
    pub fn apply(&self, ex: &mut ExecutionRecord, status: ExecutionStatus) {
        ex.status = status;
        ex.updated = crate::time::now();
        if let Some(reason) = &self.failure_reason {
            ex.has_errors = true;
            // Errors can quote connector URLs; what is stored and shown holds no credentials.
            ex.failure_reason = crate::redact::redact(reason);
        }
        if let Some(stats) = &self.slicer_stats {
            ex.slicer_stats = stats.clone();
        }
        if let Some(host) = &self.slicer_hostname {
            ex.slicer_hostname = Some(host.clone());
        }
        if let Some(port) = self.slicer_port {
            ex.slicer_port = Some(port);
        }
    }
}
