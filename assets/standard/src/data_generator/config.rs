//! `data_generator`'s config (standard-assets `schema.ts`): parsed from the op's JSON, with
//! Teraslice's defaults, every problem reported with its op-relative field name.
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use super::id_pattern::{IdPattern, SET_IDS};
use teraslice_runtime::ops::dates::{self, DATE_RULE};
use teraslice_runtime::ops::read_check::ReadCheck;

pub const DEFAULT_SIZE: u64 = 5000;
pub const FORMATS: &[&str] = &["dateNow", "isoBetween", "utcDate", "utcBetween"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateFormat {
    DateNow,
    IsoBetween,
    UtcDate,
    UtcBetween,
}

#[derive(Debug, Clone)]
pub struct GenConfig {
    pub size: u64,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub format: DateFormat,
    pub stress_test: bool,
    /// Seconds each fetch sleeps first.
    pub delay: f64,
    pub date_key: String,
    pub id: Option<IdPattern>,
    /// Not in Teraslice: makes every slice's records reproducible (tests, benchmarks).
    pub seed: Option<u64>,
}

impl GenConfig {
    /// Parses (and checks) a config; `now` resolves date math in `start`/`end`.
    pub fn parse(
        cfg: &Map<String, Value>,
        now: DateTime<Utc>,
    ) -> Result<Self, Vec<ValidationError>> {
        let mut c = ReadCheck::new(cfg);
        let size = match c.get("size") {
            None => DEFAULT_SIZE,
            Some(v) => match positive(v) {
                Some(n) => n,
                None => {
                    c.fail("size", format!("must be an integer >= 1, got {v}"));
                    DEFAULT_SIZE
                }
            },
        };
        let mut date = |key: &str| {
            let v = c.get(key)?.clone();
            parse_date(&v, now).map_err(|m| c.fail(key, m)).ok()
        };
        let (start, end) = (date("start"), date("end"));
        if let (Some(s), Some(e)) = (start, end) {
            if s > e {
                c.fail(
                    "start",
                    format!(
                        "Invalid start and end times, start must be before end (start {}, end {})",
                        iso(s),
                        iso(e)
                    ),
                );
            }
        }
        let format = match c.one_of("format", FORMATS).as_deref() {
            Some("isoBetween") => DateFormat::IsoBetween,
            Some("utcDate") => DateFormat::UtcDate,
            Some("utcBetween") => DateFormat::UtcBetween,
            _ => DateFormat::DateNow,
        };
        let stress_test = c.bool("stress_test", false);
        let delay = match c.get("delay") {
            None => 0.0,
            Some(v) => match v.as_f64().filter(|d| *d >= 0.0 && d.is_finite()) {
                Some(d) => d,
                None => {
                    c.fail(
                        "delay",
                        format!("must be a number of seconds >= 0, got {v}"),
                    );
                    0.0
                }
            },
        };
        if stress_test && delay != 0.0 {
            c.fail(
                "delay",
                format!("must be 0 when stress_test is true (stress_test repeats one record without waiting), got {delay}"),
            );
        }
        let date_key = c.string("date_key", "created", true);
        let set_id = c.one_of("set_id", SET_IDS);
        let start_key = c.get("id_start_key").cloned();
        let id = match (&set_id, &start_key) {
            (None, Some(_)) if c.errors.iter().all(|e| e.path != "set_id") => {
                c.fail(
                    "id_start_key",
                    format!("requires set_id (one of {})", SET_IDS.join(", ")),
                );
                None
            }
            (Some(kind), start) => {
                let start = match start {
                    None => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.as_str())),
                    Some(v) => Err(format!("must be a string (a regex fragment), got {v}")),
                };
                match start.and_then(|s| IdPattern::new(kind, s)) {
                    Ok(p) => Some(p),
                    Err(m) => {
                        c.fail("id_start_key", m);
                        None
                    }
                }
            }
            _ => None,
        };
        // `""` (Teraslice's default) and null mean no custom schema.
        let custom_schema = c
            .get("json_schema")
            .filter(|v| !v.is_null() && v.as_str() != Some(""))
            .cloned();
        if let Some(v) = custom_schema {
            c.fail(
                "json_schema",
                format!("is not supported: custom mocker schemas are JavaScript modules; remove it to use the default record shape, got {v}"),
            );
        }
        let seed = match c.get("seed") {
            None => None,
            Some(v) => {
                let seed = v.as_u64();
                if seed.is_none() {
                    c.fail("seed", format!("must be an integer >= 0, got {v}"));
                }
                seed
            }
        };
        if !c.errors.is_empty() {
            return Err(c.errors);
        }
        Ok(GenConfig {
            size,
            start,
            end,
            format,
            stress_test,
            delay,
            date_key,
            id,
            seed,
        })
    }

    /// Writes the normalised values and Teraslice's defaults back into the op config.
    pub fn fill(&self, cfg: &mut Map<String, Value>) {
        let date = |d: Option<DateTime<Utc>>| d.map(iso).map_or(Value::Null, Value::String);
        cfg.insert("size".into(), Value::from(self.size));
        cfg.insert("start".into(), date(self.start));
        cfg.insert("end".into(), date(self.end));
        let defaults = [
            ("json_schema", Value::Null),
            ("format", Value::Null),
            ("stress_test", Value::Bool(false)),
            ("delay", Value::from(0)),
            ("date_key", Value::from("created")),
            ("set_id", Value::Null),
            ("id_start_key", Value::Null),
        ];
        for (key, value) in defaults {
            if cfg.get(key).is_none_or(Value::is_null) {
                cfg.insert(key.into(), value);
            }
        }
    }
}

/// A `start`/`end` value (ISO 8601, epoch ms or date math, as the elasticsearch reader reads it).
fn parse_date(v: &Value, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let ms = dates::parse_date(v, now)?;
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| format!("{DATE_RULE}, got {v}"))
}

/// The ISO form start/end are normalised to at validation.
fn iso(t: DateTime<Utc>) -> String {
    dates::iso(t.timestamp_millis())
}

/// A positive integer, from a number or a string of digits (Teraslice only needs `> 0`).
pub fn positive(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n| *n >= 1)
}
