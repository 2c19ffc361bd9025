//! The jobs service's answers and parameters, and job documents as the API shows them.
use serde_json::{Map, Value};
use teraslice_core::JobRecord;

/// `{job_id, ex_id?}` of submit, start and recover.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Started {
    pub job_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ex_id: Option<String>,
}

/// `recovered_slice_type`: which slices of the old execution a recovery re-runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CleanupType {
    All,
    Errors,
    Pending,
}

impl CleanupType {
    pub const ALLOWED: &'static str = "all, errors, pending";

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "all" => Some(Self::All),
            "errors" => Some(Self::Errors),
            "pending" => Some(Self::Pending),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Errors => "errors",
            Self::Pending => "pending",
        }
    }
}

pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A job record as the API shows it: as stored, `_deleted` only once deleted (as Teraslice).
pub fn job_doc(job: &JobRecord) -> Value {
    serde_json::to_value(job).unwrap_or(Value::Null)
}

/// Keeps only `fields` of a document (Teraslice's `ex=` field list); no field names (`ex=`)
/// keeps the whole document.
pub fn pick(doc: &Value, fields: &[&str]) -> Value {
    let fields: Vec<&str> = fields.iter().copied().filter(|f| !f.is_empty()).collect();
    if fields.is_empty() {
        return doc.clone();
    }
    let mut out = Map::new();
    for f in fields {
        if let Some(v) = doc.get(f) {
            out.insert((*f).to_string(), v.clone());
        }
    }
    Value::Object(out)
}
