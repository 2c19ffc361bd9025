//! Reading a config document: the top level and the `terafoundation` section. Every bad value is
//! collected with its full key; unknown keys are warned about and kept.
use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::parse_teraslice::teraslice;
use super::{LogDestination, LogLevelSetting, SystemConfig, TerafoundationConfig};
use crate::job::validate::fields::{describe, Fields, Problems};
use crate::job::validate::{ValidationError, LOG_LEVELS};

const TERAFOUNDATION_KEYS: &[&str] = &[
    "connectors",
    "log_level",
    "logging",
    "log_path",
    "workers",
    "prom_metrics_enabled",
    "prom_metrics_port",
    "prom_metrics_add_default",
    "prom_metrics_display_url",
];

const DESTINATIONS: &[(&str, LogDestination)] = &[
    ("console", LogDestination::Console),
    ("file", LogDestination::File),
];

pub(super) fn system_config(doc: &Value) -> Result<SystemConfig, Vec<ValidationError>> {
    let empty = Map::new();
    let root = match doc {
        Value::Null => &empty,
        Value::Object(m) => m,
        other => {
            return Err(vec![ValidationError {
                path: "(config)".into(),
                message: format!(
                    "must be a mapping with terafoundation and teraslice sections, got {}",
                    describe(other)
                ),
            }])
        }
    };
    warn_unknown(root, "", &["terafoundation", "teraslice"]);
    let mut problems = Problems::default();
    let terafoundation = terafoundation(
        section(root, "terafoundation", &mut problems),
        &mut problems,
    );
    let teraslice = teraslice(
        section(root, "teraslice", &mut problems),
        &terafoundation,
        &mut problems,
    );
    if problems.is_empty() {
        Ok(SystemConfig {
            terafoundation,
            teraslice,
        })
    } else {
        Err(problems.0)
    }
}

/// A top-level section; absent or empty (`teraslice:`) means all defaults.
fn section<'a>(
    root: &'a Map<String, Value>,
    key: &str,
    problems: &mut Problems,
) -> &'a Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    let empty = EMPTY.get_or_init(Map::new);
    match root.get(key) {
        None | Some(Value::Null) => empty,
        Some(Value::Object(m)) => m,
        Some(other) => {
            problems.add(
                key,
                format!("must be a mapping of settings, got {}", describe(other)),
            );
            empty
        }
    }
}

/// Logs each key of `obj` not in `known`, by its full path.
pub(super) fn warn_unknown(obj: &Map<String, Value>, prefix: &str, known: &[&str]) {
    for key in obj.keys().filter(|k| !known.contains(&k.as_str())) {
        tracing::warn!(key = %format!("{prefix}{key}"), "unknown config key; kept but not used");
    }
}

/// The keys of `obj` not in `known`, as given.
pub(super) fn unknown(obj: &Map<String, Value>, known: &[&str]) -> Map<String, Value> {
    obj.iter()
        .filter(|(k, _)| !known.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn terafoundation(obj: &Map<String, Value>, problems: &mut Problems) -> TerafoundationConfig {
    warn_unknown(obj, "terafoundation.", TERAFOUNDATION_KEYS);
    let d = TerafoundationConfig::default();
    let mut f = Fields::new(obj, "terafoundation.", problems).null_is_default();
    TerafoundationConfig {
        connectors: connectors(&mut f),
        log_level: log_level(&mut f).unwrap_or(d.log_level),
        logging: logging(&mut f).unwrap_or(d.logging),
        log_path: f.required_string("log_path", &d.log_path),
        workers: f.nat("workers", d.workers),
        prom_metrics_enabled: f.bool("prom_metrics_enabled", d.prom_metrics_enabled),
        prom_metrics_port: f.port("prom_metrics_port", d.prom_metrics_port),
        prom_metrics_add_default: f.bool("prom_metrics_add_default", d.prom_metrics_add_default),
        prom_metrics_display_url: f
            .optional_string("prom_metrics_display_url", Some(""))
            .unwrap_or_default(),
        extra: unknown(obj, TERAFOUNDATION_KEYS),
    }
}

/// `{<type>: {<name>: {…}}}`.
fn connectors(f: &mut Fields) -> Map<String, Value> {
    let Some(obj) = f.object("connectors") else {
        return Map::new();
    };
    let prefix = f.path("connectors");
    for (kind, by_name) in obj {
        match by_name {
            Value::Object(names) => {
                for (name, cfg) in names.iter().filter(|(_, c)| !c.is_object() && !c.is_null()) {
                    f.problems.add(
                        format!("{prefix}.{kind}.{name}"),
                        format!("must be a mapping of connector settings, got {}", describe(cfg)),
                    );
                }
            }
            other => f.problems.add(
                format!("{prefix}.{kind}"),
                format!(
                    "must be a mapping of connector names to settings (e.g. default: {{…}}), got {}",
                    describe(other)
                ),
            ),
        }
    }
    obj.clone()
}

/// A level, or `[{console: <level>}, {file: <level>}]`.
fn log_level(f: &mut Fields) -> Option<LogLevelSetting> {
    let allowed = "must be a level (trace, debug, info, warn, error, fatal) or a list like [{console: info}, {file: debug}]";
    match f.get("log_level")? {
        Value::String(_) => f
            .opt_one_of("log_level", LOG_LEVELS)
            .map(LogLevelSetting::Level),
        Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                let entry = item.as_object().and_then(|m| {
                    m.iter()
                        .map(|(dest, lvl)| {
                            Some((find(DESTINATIONS, dest)?, find(LOG_LEVELS, lvl.as_str()?)?))
                        })
                        .collect::<Option<BTreeMap<_, _>>>()
                });
                match entry {
                    Some(e) => out.push(e),
                    None => {
                        f.fail("log_level", format!("{allowed}, got {}", describe(item)));
                        return None;
                    }
                }
            }
            Some(LogLevelSetting::PerDestination(out))
        }
        other => {
            f.fail("log_level", format!("{allowed}, got {}", describe(other)));
            None
        }
    }
}

fn logging(f: &mut Fields) -> Option<Vec<LogDestination>> {
    let items = f.array("logging", "must be a list of console and/or file")?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_str().and_then(|s| find(DESTINATIONS, s)) {
            Some(d) => out.push(d),
            None => f.problems.add(
                format!("terafoundation.logging[{i}]"),
                format!("must be console or file, got {}", describe(item)),
            ),
        }
    }
    Some(out)
}

fn find<T: Copy>(choices: &[(&str, T)], name: &str) -> Option<T> {
    choices.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}
