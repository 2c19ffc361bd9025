//! Helpers to validate op config fields (filling Teraslice's defaults) and to read them back.
//! Validation errors use op-relative paths (`ms`), which job validation prefixes with
//! `operations[i].`.
use serde_json::{Map, Value};
use teraslice_core::duration::parse_duration_ms;
use teraslice_core::job::{OpConfig, ValidationError};

use super::OpError;

/// Collects the problems of one op config while normalising its fields.
pub struct ConfigCheck<'a> {
    cfg: &'a mut Map<String, Value>,
    /// The problems found so far.
    pub errors: Vec<ValidationError>,
}

impl<'a> ConfigCheck<'a> {
    /// Starts checking `cfg` (an op's or API's config).
    pub fn new(cfg: &'a mut Map<String, Value>) -> Self {
        ConfigCheck {
            cfg,
            errors: Vec::new(),
        }
    }
    fn field<T>(
        &mut self,
        key: &str,
        default: Option<Value>,
        parse: impl Fn(&Value) -> Result<T, String>,
        store: impl Fn(T) -> Value,
    ) -> &mut Self {
        match self.cfg.get(key).filter(|v| !v.is_null()) {
            None => {
                if let Some(d) = default {
                    self.cfg.insert(key.into(), d);
                }
            }
            Some(v) => match parse(v) {
                Ok(t) => {
                    self.cfg.insert(key.into(), store(t));
                }
                Err(message) => self.errors.push(ValidationError {
                    path: key.into(),
                    message,
                }),
            },
        }
        self
    }
    /// A duration in ms (`1500` or `"5 seconds"`), stored as ms.
    pub fn duration(&mut self, key: &str, default: Option<u64>) -> &mut Self {
        self.field(
            key,
            default.map(Value::from),
            parse_duration_ms,
            Value::from,
        )
    }
    /// `true` or `false`; absent or null becomes `default`.
    pub fn bool(&mut self, key: &str, default: bool) -> &mut Self {
        self.field(key, Some(Value::Bool(default)), parse_bool, Value::Bool)
    }
    /// An integer ≥ 1 (strings of digits are accepted, as Teraslice's `positive_int`).
    pub fn positive_int(&mut self, key: &str, default: Option<u64>) -> &mut Self {
        self.field(
            key,
            default.map(Value::from),
            parse_positive_int,
            Value::from,
        )
    }
    /// A string when present (absent or null stays absent).
    pub fn optional_string(&mut self, key: &str) -> &mut Self {
        self.field(key, None, parse_string, Value::String)
    }
    /// One of `allowed`.
    pub fn one_of(&mut self, key: &str, allowed: &[&str], default: &str) -> &mut Self {
        let allowed: Vec<String> = allowed.iter().map(|s| s.to_string()).collect();
        self.field(
            key,
            Some(Value::String(default.into())),
            move |v| match v.as_str() {
                Some(s) if allowed.iter().any(|a| a == s) => Ok(s.to_string()),
                _ => Err(format!("must be one of {}, got {v}", allowed.join(", "))),
            },
            Value::String,
        )
    }
    /// The problems found, op-relative; empty when the config is good.
    pub fn finish(&mut self) -> Vec<ValidationError> {
        std::mem::take(&mut self.errors)
    }
}

fn parse_bool(v: &Value) -> Result<bool, String> {
    v.as_bool()
        .ok_or_else(|| format!("must be true or false, got {v}"))
}

fn parse_positive_int(v: &Value) -> Result<u64, String> {
    let n = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    n.filter(|n| *n >= 1)
        .ok_or_else(|| format!("must be an integer of at least 1, got {v}"))
}

fn parse_string(v: &Value) -> Result<String, String> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("must be a string, got {v}"))
}

fn field_error(cfg: &OpConfig, key: &str, msg: String) -> OpError {
    OpError::non_retryable(format!("op \"{}\" field \"{key}\" {msg}", cfg.op_name()))
}

/// Reads a duration field at run time (the config may not have been validated).
pub fn duration(cfg: &OpConfig, key: &str) -> Result<Option<u64>, OpError> {
    read(cfg, key, parse_duration_ms)
}
/// Reads a boolean field at run time.
pub fn bool(cfg: &OpConfig, key: &str) -> Result<Option<bool>, OpError> {
    read(cfg, key, parse_bool)
}
/// Reads an integer ≥ 1 at run time.
pub fn positive_int(cfg: &OpConfig, key: &str) -> Result<Option<u64>, OpError> {
    read(cfg, key, parse_positive_int)
}
/// Reads a string field at run time.
pub fn string(cfg: &OpConfig, key: &str) -> Result<Option<String>, OpError> {
    read(cfg, key, parse_string)
}

fn read<T>(
    cfg: &OpConfig,
    key: &str,
    parse: impl Fn(&Value) -> Result<T, String>,
) -> Result<Option<T>, OpError> {
    match cfg.get(key).filter(|v| !v.is_null()) {
        None => Ok(None),
        Some(v) => parse(v).map(Some).map_err(|m| field_error(cfg, key, m)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fills_defaults_normalises_and_reports_paths() {
        let mut cfg = json!({"ms": "2 seconds", "size": 0})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let errors = ConfigCheck::new(&mut cfg)
            .duration("ms", Some(100))
            .positive_int("size", None)
            .bool("flag", false)
            .finish();
        assert_eq!(cfg.get("ms"), Some(&json!(2000)));
        assert_eq!(cfg.get("flag"), Some(&json!(false)));
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, "size");
        assert!(
            errors[0].message.contains("at least 1"),
            "{}",
            errors[0].message
        );
    }
}
