//! Reads config fields with Teraslice's defaults, collecting every problem by field name and
//! writing the defaults back so the stored job shows the full config.
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

pub struct Check<'a> {
    pub cfg: &'a mut Map<String, Value>,
    pub errors: Vec<ValidationError>,
}

impl<'a> Check<'a> {
    pub fn new(cfg: &'a mut Map<String, Value>) -> Self {
        Check {
            cfg,
            errors: Vec::new(),
        }
    }
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.cfg.get(key).filter(|v| !v.is_null())
    }
    pub fn fail(&mut self, key: &str, message: impl Into<String>) {
        self.errors.push(ValidationError {
            path: key.into(),
            message: message.into(),
        });
    }
    fn default(&mut self, key: &str, v: Value) {
        if self.get(key).is_none() {
            self.cfg.insert(key.into(), v);
        }
    }

    /// An index name: required, non-empty, no upper-case letters.
    pub fn index(&mut self) -> String {
        match self.get("index").cloned() {
            Some(Value::String(s)) if !s.is_empty() && !s.chars().any(char::is_uppercase) => s,
            None => {
                self.cfg.insert("index".into(), Value::Null);
                self.fail(
                    "index",
                    "is required: the name of an index (lower case), e.g. \"logs-2024\"",
                );
                String::new()
            }
            Some(v) => {
                self.fail(
                    "index",
                    format!("must be a non-empty index name without upper-case letters, got {v}"),
                );
                String::new()
            }
        }
    }

    /// `_connection` (legacy `connection`, moved to `_connection`), default `default`.
    pub fn connection(&mut self) -> String {
        if let Some(legacy) = self.cfg.shift_remove("connection") {
            self.cfg.entry("_connection").or_insert(legacy);
        }
        self.default("_connection", Value::from("default"));
        match self.get("_connection").cloned() {
            Some(Value::String(s)) if !s.is_empty() => s,
            v => {
                self.fail("_connection", format!("must name a connector of terafoundation.connectors.elasticsearch-next, got {}", v.unwrap_or_default()));
                String::new()
            }
        }
    }

    pub fn bool(&mut self, key: &str, default: bool) -> bool {
        self.default(key, Value::Bool(default));
        match self.get(key) {
            Some(Value::Bool(b)) => *b,
            v => {
                let v = v.cloned().unwrap_or_default();
                self.fail(key, format!("must be true or false, got {v}"));
                default
            }
        }
    }

    /// A whole number `>= min`.
    pub fn int(&mut self, key: &str, default: u64, min: u64) -> u64 {
        self.default(key, Value::from(default));
        let v = self.get(key).cloned().unwrap_or_default();
        match v.as_u64().or_else(|| {
            v.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                .map(|f| f as u64)
        }) {
            Some(n) if n >= min => n,
            _ => {
                self.fail(
                    key,
                    format!("must be a whole number of at least {min}, got {v}"),
                );
                default
            }
        }
    }

    /// A string (`""` allowed) with a default.
    pub fn string(&mut self, key: &str, default: &str) -> String {
        self.default(key, Value::from(default));
        match self.get(key) {
            Some(Value::String(s)) => s.clone(),
            v => {
                let v = v.cloned().unwrap_or_default();
                self.fail(key, format!("must be a string, got {v}"));
                default.to_string()
            }
        }
    }

    /// A string that may be unset (`null` by default).
    pub fn opt_string(&mut self, key: &str) -> Option<String> {
        self.cfg.entry(key).or_insert(Value::Null);
        match self.get(key) {
            None => None,
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::String(_)) => None,
            Some(v) => {
                let v = v.clone();
                self.fail(key, format!("must be a string, got {v}"));
                None
            }
        }
    }

    /// One of `allowed`.
    pub fn one_of(&mut self, key: &str, allowed: &[&str], default: &str) -> String {
        let s = self.string(key, default);
        if allowed.contains(&s.as_str()) {
            return s;
        }
        if self.errors.last().is_none_or(|e| e.path != key) {
            self.fail(
                key,
                format!("must be one of {}, got \"{s}\"", allowed.join(", ")),
            );
        }
        default.to_string()
    }

    /// A list of strings, `null` by default.
    pub fn strings(&mut self, key: &str, non_empty: bool) -> Option<Vec<String>> {
        self.cfg.entry(key).or_insert(Value::Null);
        let v = self.get(key)?.clone();
        let list: Option<Vec<String>> = v
            .as_array()
            .and_then(|a| a.iter().map(|x| x.as_str().map(str::to_string)).collect());
        match list {
            Some(l) if !(non_empty && l.is_empty()) => Some(l),
            _ => {
                let what = if non_empty {
                    "a non-empty array of strings"
                } else {
                    "an array of strings"
                };
                self.fail(key, format!("must be {what}, got {v}"));
                None
            }
        }
    }
}
