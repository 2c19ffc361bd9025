//! [`ReadCheck`]: reads an op config map without changing it (used by `data_generator` and the
//! file ops), collecting every problem under its op-relative field name. `null` counts as unset.
//! [`super::fields::ConfigCheck`] is the variant that fills defaults in.
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

/// Typed reads of a config map; the problems pile up in [`ReadCheck::errors`].
pub struct ReadCheck<'a> {
    cfg: &'a Map<String, Value>,
    /// Every problem found so far, op-relative.
    pub errors: Vec<ValidationError>,
}

impl<'a> ReadCheck<'a> {
    /// Reads `cfg`.
    pub fn new(cfg: &'a Map<String, Value>) -> Self {
        ReadCheck {
            cfg,
            errors: Vec::new(),
        }
    }

    /// The value of `key` unless absent or null.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.cfg.get(key).filter(|v| !v.is_null())
    }

    /// Records a problem of `key`.
    pub fn fail(&mut self, key: &str, message: String) {
        self.errors.push(ValidationError {
            path: key.into(),
            message,
        });
    }

    /// A boolean, or `default` when unset or wrong.
    pub fn bool(&mut self, key: &str, default: bool) -> bool {
        match self.get(key) {
            None => default,
            Some(Value::Bool(b)) => *b,
            Some(v) => {
                self.fail(key, format!("must be true or false, got {v}"));
                default
            }
        }
    }

    /// A string (non-empty when `non_empty`), or `default` when unset or wrong.
    pub fn string(&mut self, key: &str, default: &str, non_empty: bool) -> String {
        match self.get(key) {
            None => default.into(),
            Some(Value::String(s)) if !(non_empty && s.is_empty()) => s.clone(),
            Some(v) => {
                let what = if non_empty {
                    "a non-empty string"
                } else {
                    "a string"
                };
                self.fail(key, format!("must be {what}, got {v}"));
                default.into()
            }
        }
    }

    /// One of `allowed` (exact spelling); `None` when unset or wrong.
    pub fn one_of(&mut self, key: &str, allowed: &[&str]) -> Option<String> {
        let v = self.get(key)?;
        match v.as_str() {
            Some(s) if allowed.contains(&s) => Some(s.to_string()),
            _ => {
                self.fail(
                    key,
                    format!("must be one of {}, got {v}", allowed.join(", ")),
                );
                None
            }
        }
    }

    /// An integer `>= 1`; `what` says what it counts.
    pub fn positive(&mut self, key: &str, default: u64, what: &str) -> u64 {
        match self.get(key) {
            None => default,
            Some(v) => match v.as_u64().filter(|n| *n >= 1) {
                Some(n) => n,
                None => {
                    self.fail(key, format!("must be an integer >= 1 ({what}), got {v}"));
                    default
                }
            },
        }
    }
}
