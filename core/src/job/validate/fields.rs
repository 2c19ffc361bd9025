//! Typed readers for the fields of one JSON object. Every problem is recorded with the field's full
//! path and what is allowed, and reading goes on, so a caller can report all problems at once.
use serde_json::{Map, Value};

use super::ValidationError;
use crate::duration::parse_duration_ms;

/// Problems found so far.
#[derive(Debug, Default)]
pub(crate) struct Problems(pub Vec<ValidationError>);

impl Problems {
    pub fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ValidationError {
            path: path.into(),
            message: message.into(),
        });
    }

    /// Adds problems whose paths are relative to `prefix` (e.g. `operations[1]`).
    pub fn extend_under(&mut self, prefix: &str, errors: Vec<ValidationError>) {
        for e in errors {
            let path = match e.path.as_str() {
                "" => prefix.to_string(),
                p if p.starts_with('[') => format!("{prefix}{p}"),
                p => format!("{prefix}.{p}"),
            };
            self.add(path, e.message);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// How a value is shown after "got": scalars as JSON, containers by kind (they can be huge).
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Object(_) => "an object".to_string(),
        Value::Array(a) => format!("an array of {} items", a.len()),
        Value::String(s) if s.chars().count() > 80 => {
            let cut: String = s.chars().take(80).collect();
            format!("\"{cut}…\"")
        }
        other => other.to_string(),
    }
}

/// Joins names for "must be one of …" / "have: …" lists.
pub(crate) fn list<S: AsRef<str>>(names: &[S]) -> String {
    if names.is_empty() {
        return "none".to_string();
    }
    names
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads the fields of `obj`, naming them `<prefix><key>`.
pub(crate) struct Fields<'a, 'p> {
    obj: &'a Map<String, Value>,
    prefix: String,
    /// YAML writes `key:` as null, meaning "use the default"; in a job, null is a wrong value.
    null_is_default: bool,
    pub problems: &'p mut Problems,
}

impl<'a, 'p> Fields<'a, 'p> {
    pub fn new(obj: &'a Map<String, Value>, prefix: &str, problems: &'p mut Problems) -> Self {
        Self {
            obj,
            prefix: prefix.to_string(),
            null_is_default: false,
            problems,
        }
    }

    pub fn null_is_default(mut self) -> Self {
        self.null_is_default = true;
        self
    }

    pub fn path(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    pub fn raw(&self, key: &str) -> Option<&'a Value> {
        self.obj.get(key)
    }

    /// The value, or `None` when absent (or null, where null means the default).
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        match self.obj.get(key) {
            Some(Value::Null) if self.null_is_default => None,
            other => other,
        }
    }

    pub fn fail(&mut self, key: &str, message: impl Into<String>) {
        let path = self.path(key);
        self.problems.add(path, message);
    }

    fn wrong(&mut self, key: &str, allowed: &str, got: &Value) {
        self.fail(key, format!("{allowed}, got {}", describe(got)));
    }

    pub fn bool(&mut self, key: &str, default: bool) -> bool {
        match self.get(key) {
            None => default,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                self.wrong(key, "must be true or false", other);
                default
            }
        }
    }

    /// A boolean without a default: absent or null → `None`.
    pub fn opt_bool(&mut self, key: &str) -> Option<bool> {
        match self.obj.get(key)? {
            Value::Null => None,
            Value::Bool(b) => Some(*b),
            other => {
                self.wrong(key, "must be true or false", other);
                None
            }
        }
    }

    /// Teraslice `positive_int`: an integer >= 1; numeric strings are coerced.
    pub fn positive_int(&mut self, key: &str, default: u32) -> u32 {
        let Some(v) = self.get(key) else {
            return default;
        };
        match integer(v, true).filter(|n| *n >= 1 && *n <= i64::from(u32::MAX)) {
            Some(n) => u32::try_from(n).unwrap_or(default),
            None => {
                self.wrong(key, "must be an integer >= 1", v);
                default
            }
        }
    }

    /// Teraslice `nat`: an integer >= 0.
    pub fn nat(&mut self, key: &str, default: u32) -> u32 {
        let Some(v) = self.get(key) else {
            return default;
        };
        match integer(v, false).filter(|n| *n >= 0 && *n <= i64::from(u32::MAX)) {
            Some(n) => u32::try_from(n).unwrap_or(default),
            None => {
                self.wrong(key, "must be an integer >= 0", v);
                default
            }
        }
    }

    /// A TCP port, 1..=65535.
    pub fn port(&mut self, key: &str, default: u16) -> u16 {
        self.opt_port(key).unwrap_or(default)
    }

    pub fn opt_port(&mut self, key: &str) -> Option<u16> {
        let v = self.get(key)?;
        if v.is_null() {
            return None;
        }
        let port = integer(v, false).and_then(|n| u16::try_from(n).ok());
        match port.filter(|p| *p >= 1) {
            Some(p) => Some(p),
            None => {
                self.wrong(key, "must be a port number between 1 and 65535", v);
                None
            }
        }
    }

    /// Teraslice `duration`: ms, or a string like `"5 minutes"`; returns ms.
    pub fn duration_ms(&mut self, key: &str, default: u64) -> u64 {
        let Some(v) = self.get(key) else {
            return default;
        };
        match parse_duration_ms(v) {
            Ok(ms) => ms,
            Err(message) => {
                self.fail(key, message);
                default
            }
        }
    }

    /// Teraslice `required_string`.
    pub fn required_string(&mut self, key: &str, default: &str) -> String {
        match self.get(key) {
            None => default.to_string(),
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            Some(other) => {
                self.wrong(key, "required, must be a non-empty string", other);
                default.to_string()
            }
        }
    }

    /// A non-empty string that has no default: absence is a problem too.
    pub fn required(&mut self, key: &str) -> Option<String> {
        if self.get(key).is_none() {
            self.fail(key, "required, must be a non-empty string");
            return None;
        }
        Some(self.required_string(key, "")).filter(|s| !s.is_empty())
    }

    /// Teraslice `optional_string`: null or a string.
    /// Where null means the default (configuration files), `""` does too: Teraslice's config
    /// schemas default optional strings to `""`.
    pub fn optional_string(&mut self, key: &str, default: Option<&str>) -> Option<String> {
        match self.obj.get(key) {
            None => default.map(str::to_string),
            Some(Value::Null) if self.null_is_default => default.map(str::to_string),
            Some(Value::String(s)) if self.null_is_default && s.trim().is_empty() => {
                default.map(str::to_string)
            }
            Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.wrong(key, "must be a string or null", other);
                default.map(str::to_string)
            }
        }
    }

    /// A number >= 0 (CPU cores, bytes), absent or null → `None`.
    pub fn non_negative_number(&mut self, key: &str) -> Option<f64> {
        match self.obj.get(key)? {
            Value::Null => None,
            Value::Number(n) => match n.as_f64().filter(|f| *f >= 0.0) {
                Some(f) => Some(f),
                None => {
                    self.fail(key, format!("must be a number >= 0, got {n}"));
                    None
                }
            },
            other => {
                self.wrong(key, "must be a number >= 0", other);
                None
            }
        }
    }

    /// One of a fixed set of strings.
    pub fn one_of<T: Copy>(&mut self, key: &str, choices: &[(&str, T)], default: T) -> T {
        self.opt_one_of(key, choices).unwrap_or(default)
    }

    pub fn opt_one_of<T: Copy>(&mut self, key: &str, choices: &[(&str, T)]) -> Option<T> {
        let v = self.get(key)?;
        if let Some(found) = v
            .as_str()
            .and_then(|s| choices.iter().find(|(name, _)| *name == s))
        {
            return Some(found.1);
        }
        let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
        self.wrong(key, &format!("must be one of {}", list(&names)), v);
        None
    }

    /// A plain object; absent → `None`, anything else → a problem.
    pub fn object(&mut self, key: &str) -> Option<&'a Map<String, Value>> {
        match self.get(key)? {
            Value::Object(m) => Some(m),
            other => {
                self.wrong(key, "must be an object", other);
                None
            }
        }
    }

    /// An array; absent → `None`, anything else → a problem.
    pub fn array(&mut self, key: &str, allowed: &str) -> Option<&'a Vec<Value>> {
        match self.get(key)? {
            Value::Array(a) => Some(a),
            other => {
                self.wrong(key, allowed, other);
                None
            }
        }
    }
}

/// An integral JSON number (or, with `coerce`, a numeric string) as i64.
fn integer(v: &Value, coerce: bool) -> Option<i64> {
    let f = match v {
        Value::Number(n) => return n.as_i64().or_else(|| whole(n.as_f64()?)),
        Value::String(s) if coerce => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    whole(f)
}

fn whole(f: f64) -> Option<i64> {
    // Teraslice runs on JS numbers, where 5.0 is the integer 5.
    (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
}
