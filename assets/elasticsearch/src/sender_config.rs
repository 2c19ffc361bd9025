//! `elasticsearch_sender_api` settings (teraslice-assets.md §5.1), with Teraslice's defaults.
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use super::check::Check;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Index,
    Create,
    Update,
    Upsert,
    Delete,
}

#[derive(Debug, Clone)]
pub struct SenderConfig {
    pub index: String,
    pub connection: String,
    pub size: u64,
    pub action: Action,
    pub update_fields: Vec<String>,
    pub retry_on_conflict: u64,
    pub script: String,
    pub script_file: String,
    /// `{param name: record field}`.
    pub script_params: Vec<(String, String)>,
}

impl SenderConfig {
    pub fn parse(cfg: &mut Map<String, Value>) -> Result<SenderConfig, Vec<ValidationError>> {
        let mut c = Check::new(cfg);
        let index = c.index();
        let connection = c.connection();
        let size = c.int("size", 500, 1);
        let flags = [
            ("delete", Action::Delete),
            ("create", Action::Create),
            ("update", Action::Update),
            ("upsert", Action::Upsert),
        ];
        let set: Vec<(&str, Action)> = flags
            .into_iter()
            .filter(|(k, _)| c.bool(k, false))
            .collect();
        if set.len() > 1 {
            let names: Vec<&str> = set.iter().map(|(k, _)| *k).collect();
            c.fail(
                names[1],
                format!("Invalid parameters, only one of delete, create, update, upsert may be set at a time (set: {})", names.join(", ")),
            );
        }
        let action = set.first().map_or(Action::Index, |(_, a)| *a);
        c.cfg
            .entry("update_fields")
            .or_insert(Value::Array(Vec::new()));
        let update_fields = c.strings("update_fields", false).unwrap_or_default();
        let retry_on_conflict = c.int("update_retry_on_conflict", 0, 0);
        let script = c.string("script", "");
        let script_file = c.string("script_file", "");
        c.cfg
            .entry("script_params")
            .or_insert(Value::Object(Map::new()));
        let script_params = match c.get("script_params").cloned() {
            None => Vec::new(),
            Some(Value::Object(m)) => {
                let mut out = Vec::new();
                for (k, v) in m {
                    match v {
                        Value::String(field) => out.push((k, field)),
                        other => c.fail("script_params", format!("must map each script parameter to a record field name (a string); \"{k}\" is {other}")),
                    }
                }
                out
            }
            Some(other) => {
                c.fail(
                    "script_params",
                    format!("must be an object {{param: record field}}, got {other}"),
                );
                Vec::new()
            }
        };
        // `type` is a mapping type for Elasticsearch 6, which is not supported: ignored.
        let errors = std::mem::take(&mut c.errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(SenderConfig {
            index,
            connection,
            size,
            action,
            update_fields,
            retry_on_conflict,
            script,
            script_file,
            script_params,
        })
    }
}
