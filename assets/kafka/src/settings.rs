//! Where an op's settings are (teraslice-kafka-s3.md §0, §10): the `apis[]` entry its
//! `_api_name` (legacy `api_name`) names, or, in the ≤ 5.x layout, the op itself (connection
//! key `connection`).
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;
use teraslice_runtime::ops::fields::ConfigCheck;

/// The merged settings of an op: its api entry with op-level overrides, or the legacy op.
pub struct Resolved {
    pub map: Map<String, Value>,
}

/// The op's settings. `op_keys` are op-level keys that win over the entry's (`topic` for
/// `kafka_sender`).
pub fn resolve(op: &Map<String, Value>, job: &Value, op_keys: &[&str]) -> Result<Resolved, String> {
    let name = ["_api_name", "api_name"]
        .iter()
        .find_map(|k| op.get(*k).and_then(Value::as_str));
    let Some(name) = name else {
        let mut map = op.clone();
        if let Some(c) = map.shift_remove("connection") {
            map.entry("_connection").or_insert(c);
        }
        return Ok(Resolved { map });
    };
    let entry = job
        .get("apis")
        .and_then(Value::as_array)
        .and_then(|apis| {
            apis.iter()
                .find(|a| a.get("_name").and_then(Value::as_str) == Some(name))
        })
        .and_then(Value::as_object)
        .ok_or_else(|| format!("could not find api configuration for api {name}"))?;
    let mut map = entry.clone();
    if let Some(c) = map.shift_remove("connection") {
        map.entry("_connection").or_insert(c);
    }
    for key in op_keys {
        if let Some(v) = op.get(*key).filter(|v| !v.is_null()) {
            map.insert((*key).into(), v.clone());
        }
    }
    Ok(Resolved { map })
}

/// Fields checked by hand: collects problems next to [`ConfigCheck`]'s.
pub struct Problems(pub Vec<ValidationError>);

impl Problems {
    pub fn push(&mut self, path: &str, message: impl Into<String>) {
        self.0.push(ValidationError {
            path: path.into(),
            message: message.into(),
        });
    }
}

/// A required non-empty string.
pub fn required_string(map: &Map<String, Value>, key: &str, p: &mut Problems) -> String {
    match map.get(key) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        other => {
            p.push(
                key,
                format!(
                    "must be provided and be of type string, got {}",
                    other.unwrap_or(&Value::Null)
                ),
            );
            String::new()
        }
    }
}

/// `rdkafka_options`: an object (anything else becomes `{}`, as `create` does).
pub fn rdkafka_options(map: &mut Map<String, Value>) -> Map<String, Value> {
    match map.get("rdkafka_options") {
        Some(Value::Object(o)) => o.clone(),
        _ => {
            map.insert("rdkafka_options".into(), Value::Object(Map::new()));
            Map::new()
        }
    }
}

/// Runs the common checks and returns a number field filled by them.
pub fn u64_of(map: &Map<String, Value>, key: &str) -> Option<u64> {
    map.get(key).and_then(Value::as_u64)
}

/// `ConfigCheck` over the map, returning its problems.
pub fn check(
    map: &mut Map<String, Value>,
    f: impl FnOnce(&mut ConfigCheck<'_>),
) -> Vec<ValidationError> {
    let mut c = ConfigCheck::new(map);
    f(&mut c);
    c.finish()
}
