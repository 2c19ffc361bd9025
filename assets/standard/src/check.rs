//! Config checks for the standard ops: every problem names the op-relative field, what was wrong
//! and what is allowed; Teraslice's defaults are written back into the op config.
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use teraslice_runtime::ops::{OpContext, OpError};

/// Reads one op config, collecting problems and filling defaults.
pub struct Check<'a> {
    cfg: &'a mut Map<String, Value>,
    pub errors: Vec<ValidationError>,
}

/// How a config value is shown in a message.
pub fn shown(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

impl<'a> Check<'a> {
    pub fn new(cfg: &'a mut Map<String, Value>) -> Self {
        Check {
            cfg,
            errors: Vec::new(),
        }
    }
    /// The value of `key` unless absent or null.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.cfg.get(key).filter(|v| !v.is_null()).cloned()
    }
    /// The whole config (e.g. for keys the op reads dynamically).
    pub fn raw(&self) -> &Map<String, Value> {
        self.cfg
    }
    pub fn fail(&mut self, key: &str, message: impl Into<String>) {
        self.errors.push(ValidationError {
            path: key.into(),
            message: message.into(),
        });
    }
    fn set_default(&mut self, key: &str, value: Value) {
        if self.cfg.get(key).is_none_or(Value::is_null) {
            self.cfg.insert(key.into(), value);
        }
    }
    /// Runs `parse` on the value, or stores `default` when there is none.
    fn field<T>(
        &mut self,
        key: &str,
        default: Option<(T, Value)>,
        parse: impl Fn(&Value) -> Result<T, String>,
    ) -> Option<T> {
        match self.get(key) {
            None => default.map(|(t, v)| {
                self.set_default(key, v);
                t
            }),
            Some(v) => match parse(&v) {
                Ok(t) => Some(t),
                Err(m) => {
                    self.fail(key, m);
                    None
                }
            },
        }
    }
    /// A required non-empty string.
    pub fn required_string(&mut self, key: &str) -> String {
        if self.get(key).is_none() {
            self.fail(key, "is required: a non-empty string");
            return String::new();
        }
        self.field(key, None, non_empty_string).unwrap_or_default()
    }
    pub fn optional_string(&mut self, key: &str) -> Option<String> {
        self.field(key, None, non_empty_string)
    }
    /// A string (empty allowed) with a default.
    pub fn string(&mut self, key: &str, default: &str) -> String {
        let d = Some((default.to_string(), Value::from(default)));
        self.field(key, d, |v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("must be a string, got {}", shown(v)))
        })
        .unwrap_or_else(|| default.to_string())
    }
    pub fn bool(&mut self, key: &str, default: bool) -> bool {
        self.field(key, Some((default, Value::Bool(default))), |v| {
            v.as_bool()
                .ok_or_else(|| format!("must be true or false, got {}", shown(v)))
        })
        .unwrap_or(default)
    }
    /// One of `allowed` (exact spelling).
    pub fn one_of(&mut self, key: &str, allowed: &[&str], default: &str) -> String {
        let d = Some((default.to_string(), Value::from(default)));
        self.field(key, d, |v| match v.as_str() {
            Some(s) if allowed.contains(&s) => Ok(s.to_string()),
            _ => Err(format!(
                "must be one of {}, got {}",
                allowed.join(", "),
                shown(v)
            )),
        })
        .unwrap_or_else(|| default.to_string())
    }
    /// An array of non-empty strings (default `[]`).
    pub fn strings(&mut self, key: &str) -> Vec<String> {
        self.field(key, Some((Vec::new(), Value::Array(Vec::new()))), |v| {
            string_list(v, false)
        })
        .unwrap_or_default()
    }
    /// A required string or non-empty array of strings.
    pub fn required_strings(&mut self, key: &str) -> Vec<String> {
        if self.get(key).is_none() {
            self.fail(
                key,
                "is required: a field name or a non-empty array of field names",
            );
            return Vec::new();
        }
        self.field(key, None, |v| string_list(v, true))
            .unwrap_or_default()
    }
    /// An integer of at least `min`.
    pub fn int(&mut self, key: &str, default: Option<i64>, min: i64) -> Option<i64> {
        let d = default.map(|d| (d, Value::from(d)));
        self.field(key, d, |v| match v.as_f64() {
            Some(n) if n.fract() == 0.0 && n >= min as f64 && n < 9.0e15 => Ok(n as i64),
            _ => Err(format!(
                "must be an integer of at least {min}, got {}",
                shown(v)
            )),
        })
    }
}

fn non_empty_string(v: &Value) -> Result<String, String> {
    match v.as_str() {
        Some(s) if !s.is_empty() => Ok(s.to_string()),
        _ => Err(format!("must be a non-empty string, got {}", shown(v))),
    }
}

/// A string (when `single`) or an array of non-empty strings.
fn string_list(v: &Value, single: bool) -> Result<Vec<String>, String> {
    let rule = if single {
        "a non-empty string or a non-empty array of non-empty strings"
    } else {
        "an array of non-empty strings"
    };
    match v {
        Value::String(s) if single && !s.is_empty() => Ok(vec![s.clone()]),
        Value::Array(items) if !(single && items.is_empty()) => items
            .iter()
            .map(|i| match i.as_str() {
                Some(s) if !s.is_empty() => Ok(s.to_string()),
                _ => Err(format!("must be {rule}, got {}", shown(v))),
            })
            .collect(),
        _ => Err(format!("must be {rule}, got {}", shown(v))),
    }
}

/// Validates an op config with `parse`, leaving Teraslice's defaults in it.
pub fn validate<C>(
    cfg: &mut Map<String, Value>,
    parse: impl Fn(&mut Check) -> C,
) -> Vec<ValidationError> {
    let mut check = Check::new(cfg);
    parse(&mut check);
    check.errors
}

/// Parses the op's config when the processor is built (the job was validated, but a library
/// user may build a `JobConfig` by hand).
pub fn at_run<C>(ctx: &OpContext, parse: impl Fn(&mut Check) -> C) -> Result<C, OpError> {
    let mut map = ctx.config.0.clone();
    let mut check = Check::new(&mut map);
    let cfg = parse(&mut check);
    if check.errors.is_empty() {
        return Ok(cfg);
    }
    let list: Vec<String> = check.errors.iter().map(ToString::to_string).collect();
    Err(OpError::non_retryable(format!(
        "{}: {}",
        ctx.config.op_name(),
        list.join("; ")
    )))
}
