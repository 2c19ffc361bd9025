//! Where an op's settings live (teraslice-assets.md §7): in a `job.apis` entry named by the op's
//! `_api_name` (current layout), or on the op itself (legacy layout, assets v2–v4).
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

/// Keys that belong to the op, never to the API settings.
const OP_ONLY: &[&str] = &[
    "_op",
    "_encoding",
    "_dead_letter_action",
    "_api_name",
    "api_name",
    "type",
];

pub const READER_API: &str = "elasticsearch_reader_api";
pub const SENDER_API: &str = "elasticsearch_sender_api";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// `elasticsearch_reader`, `id_reader`: op keys clashing with the entry are errors.
    Reader,
    /// `elasticsearch_bulk`: op keys override the entry (the op passes its config as overrides).
    Sender,
}

/// The settings an op runs with, and the API entry they came from (`None` = legacy layout).
pub struct Settings {
    pub map: Map<String, Value>,
    pub api_name: Option<String>,
}

fn err(path: &str, message: String) -> ValidationError {
    ValidationError {
        path: path.into(),
        message,
    }
}

/// Resolves `op`'s settings against the job's `apis` (a JSON array).
pub fn resolve(
    op: &Map<String, Value>,
    apis: Option<&Value>,
    kind: OpKind,
) -> Result<Settings, Vec<ValidationError>> {
    let (key, named) = match (op.get("_api_name"), op.get("api_name")) {
        (Some(v), _) => ("_api_name", Some(v)),
        (None, Some(v)) => ("api_name", Some(v)),
        (None, None) => ("_api_name", None),
    };
    let module = match kind {
        OpKind::Reader => READER_API,
        OpKind::Sender => SENDER_API,
    };
    let entries: Vec<&Map<String, Value>> = apis
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .collect();
    let find = |name: &str| {
        entries
            .iter()
            .find(|e| e.get("_name").and_then(Value::as_str) == Some(name))
            .copied()
    };
    let own: Map<String, Value> = op
        .iter()
        .filter(|(k, _)| !OP_ONLY.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let name = match named {
        Some(Value::String(n)) => n.clone(),
        Some(v) => {
            return Err(vec![err(
                key,
                format!("must be the _name of a {module} entry in apis, got {v}"),
            )])
        }
        // A bulk op without _api_name uses an `elasticsearch_sender_api` entry when the job has one.
        None if kind == OpKind::Sender && find(SENDER_API).is_some() => SENDER_API.to_string(),
        None => {
            return Ok(Settings {
                map: legacy(own),
                api_name: None,
            })
        }
    };
    let module_ok = match kind {
        OpKind::Reader => teraslice_runtime::ops::api_module_name(&name) == READER_API,
        OpKind::Sender => name.contains(SENDER_API),
    };
    if !module_ok {
        let rule = match kind {
            OpKind::Reader => "an elasticsearch_reader_api entry (elasticsearch_reader_api or elasticsearch_reader_api:<tag>)",
            OpKind::Sender => "a name containing elasticsearch_sender_api",
        };
        return Err(vec![err(key, format!("must name {rule}, got \"{name}\""))]);
    }
    let Some(entry) = find(&name) else {
        return Err(vec![err(key, format!("Could not find the associated api for {name}: add an entry with \"_name\": \"{name}\" to the job's apis"))]);
    };
    let mut map: Map<String, Value> = entry
        .iter()
        .filter(|(k, _)| k.as_str() != "_name")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut clashes = Vec::new();
    for (k, v) in legacy(own) {
        match (kind, map.get(&k)) {
            (OpKind::Reader, Some(existing)) if existing != &v && !v.is_null() => clashes.push(err(
                &k,
                format!("clashes with apis entry \"{name}\" ({k} is {existing} there, {v} here): set it in one place"),
            )),
            (OpKind::Reader, Some(_)) => {}
            _ => {
                map.insert(k, v);
            }
        }
    }
    if !clashes.is_empty() {
        return Err(clashes);
    }
    Ok(Settings {
        map,
        api_name: Some(name),
    })
}

/// Legacy key names: `connection` → `_connection`, `field` → `id_field_name`.
fn legacy(mut m: Map<String, Value>) -> Map<String, Value> {
    if let Some(c) = m.shift_remove("connection") {
        m.entry("_connection").or_insert(c);
    }
    if let Some(f) = m.shift_remove("field") {
        m.entry("id_field_name").or_insert(f);
    }
    m
}

/// The job-level facts the settings checks need, from a typed job.
pub fn job_facts(job: &teraslice_core::job::JobConfig) -> Value {
    let lifecycle = match job.lifecycle {
        teraslice_core::job::Lifecycle::Persistent => "persistent",
        _ => "once",
    };
    let apis: Vec<Value> = job
        .apis
        .iter()
        .map(|a| Value::Object(a.0.clone()))
        .collect();
    serde_json::json!({"slicers": job.slicers, "lifecycle": lifecycle, "apis": apis})
}
